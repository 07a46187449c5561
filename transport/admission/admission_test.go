package admission_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/transport/admission"
)

// pipeListener hands out one end of a net.Pipe per dial; its Accept
// blocks on a channel, which synctest sees as durably blocked.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn, 100), closed: make(chan struct{})}
}

func (l *pipeListener) dial(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	l.conns <- a
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { close(l.closed); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

// acceptTimes accepts n connections and returns when each was accepted,
// counted from the call.
func acceptTimes(t *testing.T, l net.Listener, n int) ([]time.Duration, []*admission.Conn) {
	t.Helper()
	start := time.Now()
	var at []time.Duration
	var conns []*admission.Conn
	for range n {
		c, err := l.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		ac, ok := c.(*admission.Conn)
		if !ok {
			t.Fatalf("Accept returned a %T, want *admission.Conn", c)
		}
		at = append(at, time.Since(start))
		conns = append(conns, ac)
	}
	return at, conns
}

// wantTimes checks when each connection was accepted.
func wantTimes(t *testing.T, at, want []time.Duration) {
	t.Helper()
	for i := range want {
		if at[i] != want[i] {
			t.Errorf("connection %d accepted after %v, want %v", i, at[i], want[i])
		}
	}
}

func TestBurstThenRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		for range 8 {
			in.dial(t)
		}
		l := admission.NewListener(in, 10, 3)
		at, _ := acceptTimes(t, l, 8)
		// Three at once, then one every 100 ms.
		want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}
		wantTimes(t, at, want)
		if got := l.Waited(); got != 5 {
			t.Errorf("Waited() = %d, want 5", got)
		}
	})
}

func TestIdleListenerRefillsUpToBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 10, 2)
		for range 2 {
			in.dial(t)
		}
		acceptTimes(t, l, 2)
		time.Sleep(10 * time.Second) // 100 tokens' worth, but the bucket holds 2
		for range 3 {
			in.dial(t)
		}
		at, _ := acceptTimes(t, l, 3)
		want := []time.Duration{0, 0, 100 * time.Millisecond}
		wantTimes(t, at, want)
	})
}

func TestJoinedGivesTheTokenBackOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 1, 2)
		for range 4 {
			in.dial(t)
		}
		_, conns := acceptTimes(t, l, 2)
		conns[0].Joined()
		conns[1].Joined()
		// Both tokens are back: two more at once.
		at, conns := acceptTimes(t, l, 2)
		if at[1] != 0 {
			t.Errorf("after two joins, the second next connection was accepted after %v, want at once", at[1])
		}
		// One join gives one token back, however often it is told: the
		// second next connection waits the full second.
		conns[0].Joined()
		conns[0].Joined()
		in.dial(t)
		in.dial(t)
		at, _ = acceptTimes(t, l, 2)
		want := []time.Duration{0, time.Second}
		wantTimes(t, at, want)
	})
}

func TestMisbehavedTakesTheTokenAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 1, 2)
		for range 3 {
			in.dial(t)
		}
		_, conns := acceptTimes(t, l, 2)
		conns[0].Misbehaved() // before Joined: still holds its token, nothing to take
		conns[1].Joined()
		conns[1].Misbehaved()
		conns[1].Misbehaved() // once only
		conns[1].Joined()     // no second refund after the charge
		// The bucket is empty: the next connection waits a second.
		at, _ := acceptTimes(t, l, 1)
		if at[0] != time.Second {
			t.Errorf("after a join and a charge, the next connection was accepted after %v, want 1s", at[0])
		}
	})
}

func TestCloseEndsAWaitingAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 0.001, 1) // a token every 1000 s
		in.dial(t)
		in.dial(t)
		acceptTimes(t, l, 1)
		errc := make(chan error, 1)
		go func() {
			_, err := l.Accept()
			errc <- err
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Accept returned %v while the bucket was empty", err)
		default:
		}
		l.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
	})
}

func TestAcceptErrorKeepsTheToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 1, 1)
		in.Close()
		for range 3 {
			if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept: %v, want net.ErrClosed", err)
			}
		}
		if got := l.Waited(); got != 0 {
			t.Errorf("Waited() = %d after failed accepts, want 0: a failed accept spends no token", got)
		}
	})
}

// TestConnKeepsTCPAbilities: the raw connection and the half-close that
// the router's transports use reach the TCP connection inside.
func TestConnKeepsTCPAbilities(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := admission.NewListener(tcp, 1, 1)
	defer l.Close()
	client, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.(syscall.Conn).SyscallConn(); err != nil {
		t.Errorf("SyscallConn: %v", err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	// The client reads EOF: the FIN went out, the connection is still open.
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("client read after CloseWrite: %d, %v; want 0, EOF", n, err)
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Errorf("client write after the server's half-close: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Errorf("server read after its half-close: %v", err)
	}
}

func TestOfLooksThroughWrappers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newPipeListener()
		l := admission.NewListener(in, 1, 1)
		in.dial(t)
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ac := c.(*admission.Conn)
		if got := admission.Of(c); got != ac {
			t.Errorf("Of(the accepted conn) = %p, want %p", got, ac)
		}
		if got := admission.Of(tls.Server(c, &tls.Config{})); got != ac {
			t.Errorf("Of(a *tls.Conn over it) = %p, want %p", got, ac)
		}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		if got := admission.Of(a); got != nil {
			t.Errorf("Of(a conn no Listener accepted) = %p, want nil", got)
		}
		// A nil *Conn's methods do nothing.
		admission.Of(a).Joined()
		admission.Of(a).Misbehaved()
	})
}
