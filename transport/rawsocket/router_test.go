//go:build !js

package rawsocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/syncbuf"
	"github.com/wampkit/wampkit/internal/testcert"
	wampserver "github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// rawRouter is a real router serving raw sockets on TCP and on a Unix
// socket, and WebSocket over HTTP, pinging every session often.
type rawRouter struct {
	tcp, unix, ws string
	log           *syncbuf.Buffer
}

func startRawRouter(t *testing.T) *rawRouter {
	t.Helper()
	return startRouterWith(t, 20*time.Millisecond, 2*time.Second)
}

// startRouterWith starts a rawRouter with the given ping settings and the
// raw socket server's defaults.
func startRouterWith(t *testing.T, pingInterval, pingTimeout time.Duration) *rawRouter {
	t.Helper()
	log := &syncbuf.Buffer{}
	r, err := wampserver.New(wampserver.Config{
		Realms:       []wampserver.RealmConfig{{Name: "realm1"}},
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
		Logger:       slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rawsocket.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	var lns []net.Listener
	for _, network := range networks {
		ln := listen(t, network)
		lns = append(lns, ln)
		serving.Go(func() { srv.Serve(ln, r.Serve) })
	}
	hs := httptest.NewServer(r.Handler(wampserver.HTTPConfig{}))
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		serving.Wait()
		r.Close()
		hs.Close()
	})
	return &rawRouter{
		tcp:  "rs://" + lns[0].Addr().String(),
		unix: "unix://" + lns[1].Addr().String(),
		ws:   "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws",
		log:  log,
	}
}

func join(t *testing.T, url, ser string) *client.Session {
	t.Helper()
	s, err := client.Join(t.Context(), url, "realm1", &client.Config{Serializer: ser})
	if err != nil {
		t.Fatalf("Join(%s, %s): %v", url, ser, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Leave(ctx)
	})
	return s
}

// TestGoClientOverRawSocket: Go clients over rs:// and unix:// (and one
// over WebSocket) call, register, publish and subscribe through the real
// router, with each serializer, while the router pings them.
func TestGoClientOverRawSocket(t *testing.T) {
	rr := startRawRouter(t)
	for _, c := range codec.All {
		ser := c.Name()
		t.Run(ser, func(t *testing.T) {
			callee := join(t, rr.unix, ser)
			caller := join(t, rr.tcp, ser)
			browserish := join(t, rr.ws, ser)
			for s, want := range map[*client.Session]string{callee: "rawsocket", caller: "rawsocket", browserish: "websocket"} {
				if info := s.Transport(); info.Transport != want || info.Serializer != ser {
					t.Errorf("Transport() = %+v, want %s with %s", info, want, ser)
				}
			}
			proc := wamp.URI("com.example.concat." + ser)
			if _, err := callee.Register(t.Context(), proc, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
				return &client.Result{Args: wamp.List{inv.Args[0].(string) + inv.Args[1].(string)}, Kwargs: inv.Kwargs}, nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*client.Session{caller, browserish} {
				res, err := s.Call(t.Context(), proc, wamp.List{"raw", "socket"}, wamp.Dict{"blob": []byte{0, 0xff}})
				if err != nil {
					t.Fatalf("call over %s: %v", s.Transport().Transport, err)
				}
				if !reflect.DeepEqual(res.Args, wamp.List{"rawsocket"}) || !reflect.DeepEqual(res.Kwargs, wamp.Dict{"blob": []byte{0, 0xff}}) {
					t.Errorf("call over %s: %#v %#v", s.Transport().Transport, res.Args, res.Kwargs)
				}
			}

			topic := wamp.URI("com.example.news." + ser)
			events := make(chan *client.Event, 10)
			for _, s := range []*client.Session{caller, browserish} {
				if _, err := s.Subscribe(t.Context(), topic, func(ev *client.Event) { events <- ev }); err != nil {
					t.Fatal(err)
				}
			}
			if err := callee.Publish(t.Context(), topic, wamp.List{"hello", int64(42)}, nil, client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				select {
				case ev := <-events:
					if !reflect.DeepEqual(ev.Args, wamp.List{"hello", int64(42)}) {
						t.Errorf("event args %#v", ev.Args)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("an event did not arrive")
				}
			}

			// The router pings every 20 ms; the sessions answer and live on.
			time.Sleep(100 * time.Millisecond)
			if _, err := caller.Call(t.Context(), proc, wamp.List{"still ", "here"}, nil); err != nil {
				t.Fatalf("call after the pings: %v", err)
			}
		})
	}
	if strings.Contains(rr.log.String(), "ping failed") {
		t.Errorf("the router logged failed pings:\n%s", rr.log)
	}
}

func TestJoinRawSocketURLs(t *testing.T) {
	rr := startRawRouter(t)
	// rss:// speaks TLS: a plain listener and an untrusted certificate fail
	// in the TLS handshake.
	_, err := client.Join(t.Context(), strings.Replace(rr.tcp, "rs://", "rss://", 1), "realm1", nil)
	if err == nil || !strings.Contains(err.Error(), "over TLS") {
		t.Errorf("rss:// to a plain listener: %v, want a TLS error", err)
	}
	cert := testcert.NewCA(t, "wampkit raw socket test CA").Issue(t, "127.0.0.1")
	ln := tls.NewListener(listen(t, "tcp"), &tls.Config{Certificates: []tls.Certificate{cert}})
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	_, err = client.Join(t.Context(), "rss://"+ln.Addr().String(), "realm1", nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("rss:// with an untrusted certificate: %v, want a certificate error", err)
	}

	for _, tt := range []struct{ url, want string }{
		{"rs://127.0.0.1", "needs a host and a port"},
		{"rss://:8080", "needs a host and a port"},
		{"unix://host/path", "absolute socket path"},
		{"unix://", "absolute socket path"},
		{"tcp://127.0.0.1:1", "want ws, wss, http, https, rs, rss or unix"},
	} {
		if _, err := client.Join(t.Context(), tt.url, "realm1", nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Join(%q): %v, want %q", tt.url, err, tt.want)
		}
	}
}

// rawJoin opens a bare TCP connection to the router at rsURL, runs the
// handshake announcing lengthOctet (the high nibble of the second octet;
// JSON) and returns the connection and the router's reply.
func rawJoin(t *testing.T, rsURL string, lengthOctet byte) (net.Conn, [4]byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(rsURL, "rs://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	reply := handshake(t, c, 0x7F, lengthOctet<<4|0x01, 0, 0)
	if reply[1]&0x0F != 0x01 {
		return c, reply
	}
	hello, err := codec.JSON.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(frame(0, hello)); err != nil {
		t.Fatal(err)
	}
	typ, payload := readFrame(t, c)
	if typ != 0 {
		t.Fatalf("first frame after HELLO has type %d, want a message", typ)
	}
	m, err := codec.JSON.Decode(payload)
	if err != nil || m.Type() != wamp.TypeWelcome {
		t.Fatalf("first message after HELLO: %v %v, want WELCOME", m, err)
	}
	return c, reply
}

// TestRouterMinClientLimit: with the raw socket server's defaults, a
// client that announces the protocol's minimum of 512 bytes is refused in
// the handshake (it could not even read the WELCOME), and one that
// announces 4 KiB, the default minimum, joins: the WELCOME fits.
func TestRouterMinClientLimit(t *testing.T) {
	rr := startRouterWith(t, -1, 0)
	c, reply := rawJoin(t, rr.tcp, 0) // 2^9 = 512 bytes
	if want := [4]byte{0x7F, byte(rawsocket.LengthUnacceptable) << 4, 0, 0}; reply != want {
		t.Fatalf("512-byte client: reply % x, want % x", reply, want)
	}
	expectEOF(t, c)
	if _, reply := rawJoin(t, rr.tcp, 3); reply != [4]byte{0x7F, 0xB1, 0, 0} { // 2^12 = 4 KiB
		t.Errorf("4 KiB client: reply % x, want 7f b1 00 00", reply)
	}
}

// TestRouterPingsRawSocket: a session joined with raw bytes gets a PING
// frame from the router every PingInterval; while it answers, it lives on,
// and once it stops, the router closes the connection within PingInterval
// + PingTimeout, and not before PingTimeout after the first ping left
// unanswered.
func TestRouterPingsRawSocket(t *testing.T) {
	const (
		interval = 200 * time.Millisecond
		timeout  = 400 * time.Millisecond
		answered = 4
		slack    = 300 * time.Millisecond
	)
	rr := startRouterWith(t, interval, timeout)
	c, _ := rawJoin(t, rr.tcp, 0xF)
	joined := time.Now()

	var pings []time.Time
	var payloads = map[string]bool{}
	for len(pings) < answered {
		typ, payload := readFrame(t, c)
		if typ != 1 {
			t.Fatalf("frame of type %d (% x) while idle, want only PINGs", typ, payload)
		}
		pings = append(pings, time.Now())
		if payloads[string(payload)] {
			t.Errorf("PING payload %q repeated", payload)
		}
		payloads[string(payload)] = true
		if _, err := c.Write(frame(2, payload)); err != nil {
			t.Fatal(err)
		}
	}
	if first := pings[0].Sub(joined); first > interval+slack {
		t.Errorf("first PING %v after WELCOME, want within PingInterval %v", first, interval)
	}
	for i := 1; i < len(pings); i++ {
		if gap := pings[i].Sub(pings[i-1]); gap < interval/2 || gap > interval+slack {
			t.Errorf("PING %d came %v after the one before, want about PingInterval %v", i, gap, interval)
		}
	}

	// Stop answering: the next PING starts the timeout.
	stopped := time.Now()
	var unanswered time.Time
	for {
		var h [4]byte
		_, err := io.ReadFull(c, h[:])
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("waiting for the router to close: %v, want EOF", err)
			}
			break
		}
		payload := make([]byte, int(h[1])<<16|int(h[2])<<8|int(h[3]))
		if _, err := io.ReadFull(c, payload); err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		if h[0] != 1 {
			t.Fatalf("frame of type %d (% x) while unanswered, want only PINGs", h[0], payload)
		}
		if unanswered.IsZero() {
			unanswered = time.Now()
		}
	}
	closed := time.Now()
	if unanswered.IsZero() {
		t.Fatal("the router closed the connection without pinging it again")
	}
	if d := closed.Sub(stopped); d > interval+timeout+slack {
		t.Errorf("closed %v after the last PONG, want within PingInterval + PingTimeout = %v", d, interval+timeout)
	}
	if d := closed.Sub(unanswered); d < timeout-20*time.Millisecond {
		t.Errorf("closed %v after the unanswered PING, want no sooner than PingTimeout %v", d, timeout)
	}
	if !strings.Contains(rr.log.String(), "ping failed") {
		t.Errorf("the router did not log the failed ping:\n%s", rr.log)
	}
}
