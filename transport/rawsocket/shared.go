//go:build !js

package rawsocket

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/transport/internal/nbconn"
)

// DefaultPeekTimeout is the default wait of [NewSharedListener] for a
// connection's first octet.
const DefaultPeekTimeout = 5 * time.Second

// NewSharedListener splits ln by the first octet that each connection
// sends: raw socket connections (0x7F, which no HTTP request begins with)
// are accepted from rawLn, every other from httpLn. Serve httpLn with
// net/http and rawLn with a [Server], and one port carries WebSocket,
// long-poll and raw sockets.
//
// Each new connection is read on a goroutine of its own, for at most
// peekTimeout (zero means DefaultPeekTimeout), so that a silent client
// holds up no other. A connection silent that long goes to httpLn, whose
// server has its own timeouts (a browser may open a connection before it
// needs one).
//
// Closing ln closes both; closing one of them stops its share of
// connections (they are closed), and closing both closes ln.
func NewSharedListener(ln net.Listener, peekTimeout time.Duration) (httpLn, rawLn net.Listener) {
	if peekTimeout <= 0 {
		peekTimeout = DefaultPeekTimeout
	}
	s := &shared{base: ln, peekTimeout: peekTimeout}
	s.http = s.newSide()
	s.raw = s.newSide()
	go s.acceptLoop()
	return s.http, s.raw
}

type shared struct {
	base        net.Listener
	peekTimeout time.Duration
	http, raw   *side

	mu     sync.Mutex
	closed int // sides closed
}

func (s *shared) newSide() *side {
	return &side{shared: s, conns: make(chan net.Conn), done: make(chan struct{})}
}

// acceptLoop accepts from the base listener until it fails.
func (s *shared) acceptLoop() {
	var delay time.Duration
	for {
		conn, err := s.base.Accept()
		if err != nil {
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.http.fail(err)
			s.raw.fail(err)
			return
		}
		delay = 0
		go s.route(conn)
	}
}

// route reads the first octet of conn and hands conn, that octet in front,
// to its side.
func (s *shared) route(conn net.Conn) {
	to := s.http
	var first [1]byte
	rw := nbconn.Wrap(conn)
	conn.SetReadDeadline(time.Now().Add(s.peekTimeout))
	n, err := rw.Read(first[:])
	switch {
	case n == 1:
		if first[0] == magic {
			to = s.raw
		}
	case isTimeout(err):
	default: // closed by the client, or broken
		conn.Close()
		return
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		conn.Close()
		return
	}
	c := &peekedConn{Conn: conn, first: first[:n], rw: rw}
	select {
	case to.conns <- c:
	case <-to.done:
		conn.Close()
	}
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// side is one of the two listeners of a shared listener.
type side struct {
	shared *shared
	conns  chan net.Conn

	once sync.Once
	done chan struct{} // closed when the side stops
	err  error         // why it stopped; set before done is closed
}

// Accept waits for the next connection of this side.
func (l *side) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// fail stops the side with the base listener's error.
func (l *side) fail(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

// Close stops this side; the base listener is closed once both sides are.
func (l *side) Close() error {
	closed := false
	l.once.Do(func() {
		l.err = net.ErrClosed
		close(l.done)
		closed = true
	})
	if !closed {
		return nil
	}
	s := l.shared
	s.mu.Lock()
	s.closed++
	both := s.closed == 2
	s.mu.Unlock()
	if both {
		return s.base.Close()
	}
	return nil
}

// Addr is the base listener's address.
func (l *side) Addr() net.Addr { return l.shared.base.Addr() }

// peekedConn is a connection whose first octet was read already. It
// reads and writes with raw system calls where it can (nbconn.Wrap): the
// HTTP server's responses, long-poll's among them, then cost no hand-off
// to Go's scheduler, whose monitor thread a system call wakes whenever it
// sleeps.
type peekedConn struct {
	net.Conn
	first []byte   // read before the connection itself; only the reader touches it
	rw    net.Conn // the connection's reads and writes after first
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 && len(p) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.rw.Read(p)
}

func (c *peekedConn) Write(p []byte) (int, error) { return c.rw.Write(p) }

// NetConn returns the connection that the base listener accepted.
func (c *peekedConn) NetConn() net.Conn { return c.Conn }

// reader is what a connection of the raw socket server is read through:
// raw reads where they are at hand (see nbconn.Reader), which a
// peekedConn makes itself.
func reader(conn net.Conn) io.Reader {
	if _, peeked := conn.(*peekedConn); !peeked {
		if r := nbconn.NewReader(conn); r != nil {
			return r
		}
	}
	return conn
}

// SyscallConn gives the raw connection, for non-blocking writes, and for
// raw reads once the peeked octet was read: an HTTP server has read it
// with the request by the time it upgrades the connection to a WebSocket.
func (c *peekedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite shuts down the writing side where the connection can (TCP,
// Unix), which net/http does for a graceful close.
func (c *peekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// ReadFrom lets net/http send files with sendfile(2) where the connection
// can.
func (c *peekedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
