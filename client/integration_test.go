//go:build !js

package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
)

// testRouter is a real router behind a real HTTP server on 127.0.0.1,
// with WebSocket at /ws and long-poll at /lp, plus endpoints that refuse
// WebSocket. It records the REGISTERs and SUBSCRIBEs it receives and can
// kill every connection, go down or restart.
type testRouter struct {
	t      *testing.T
	router atomic.Pointer[server.Router]
	hs     *httptest.Server
	lp     *longpoll.Handler
	down   atomic.Bool // refuse every transport with 503

	mu    sync.Mutex
	peers []transport.Peer
	got   []wamp.Message // REGISTER and SUBSCRIBE, in order
}

func newServerRouter(t *testing.T, realms ...wamp.URI) *server.Router {
	t.Helper()
	if len(realms) == 0 {
		realms = []wamp.URI{"realm1"}
	}
	cfg := server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, r := range realms {
		cfg.Realms = append(cfg.Realms, server.RealmConfig{Name: r})
	}
	r, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func startRouter(t *testing.T) *testRouter {
	t.Helper()
	tr := &testRouter{t: t}
	tr.router.Store(newServerRouter(t))
	tr.lp = longpoll.NewHandler(nil, func(p transport.Peer) { go tr.serve(p) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if tr.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		peer, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		tr.serve(peer)
	})
	lp := http.StripPrefix("/lp", tr.lp)
	mux.HandleFunc("/lp/", func(w http.ResponseWriter, r *http.Request) {
		if tr.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		lp.ServeHTTP(w, r)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no WebSocket for you", http.StatusForbidden)
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a proxy that strips Upgrade")
	})
	tr.hs = httptest.NewServer(mux)
	t.Cleanup(func() {
		tr.router.Load().Close()
		tr.lp.Close()
		tr.hs.Close()
	})
	return tr
}

func (tr *testRouter) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(tr.hs.URL, "http") + path
}

func (tr *testRouter) lpURL() string { return tr.hs.URL + "/lp" }

// serve runs a session of the current router on p, recorded.
func (tr *testRouter) serve(p transport.Peer) {
	rp := &recordingPeer{Peer: p, tr: tr}
	tr.mu.Lock()
	tr.peers = append(tr.peers, p)
	tr.mu.Unlock()
	tr.router.Load().Serve(rp)
}

// kill closes every transport from the server side, without GOODBYE.
func (tr *testRouter) kill() { tr.killOnly("") }

// killOnly closes the transports of one kind ("websocket", "longpoll"),
// or all with "".
func (tr *testRouter) killOnly(kind string) {
	tr.mu.Lock()
	var kill []transport.Peer
	keep := tr.peers[:0]
	for _, p := range tr.peers {
		if kind == "" || p.Info().Transport == kind {
			kill = append(kill, p)
		} else {
			keep = append(keep, p)
		}
	}
	tr.peers = keep
	tr.mu.Unlock()
	for _, p := range kill {
		p.Close()
	}
}

// restart shuts the router down gracefully (GOODBYE
// wamp.close.system_shutdown) and puts a new one with realms in its place.
func (tr *testRouter) restart(realms ...wamp.URI) {
	old := tr.router.Swap(newServerRouter(tr.t, realms...))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.Shutdown(ctx); err != nil {
		tr.t.Errorf("shutdown: %v", err)
	}
}

// received returns the REGISTERs and SUBSCRIBEs received for uri.
func (tr *testRouter) received(uri wamp.URI) []wamp.Message {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []wamp.Message
	for _, m := range tr.got {
		switch m := m.(type) {
		case *wamp.Register:
			if m.Procedure == uri {
				out = append(out, m)
			}
		case *wamp.Subscribe:
			if m.Topic == uri {
				out = append(out, m)
			}
		}
	}
	return out
}

// recordingPeer is the router's end of a connection; it records what the
// client registers and subscribes.
type recordingPeer struct {
	transport.Peer
	tr *testRouter
}

func (p *recordingPeer) Recv() (wamp.Message, error) {
	m, err := p.Peer.Recv()
	switch m.(type) {
	case *wamp.Register, *wamp.Subscribe:
		p.tr.mu.Lock()
		p.tr.got = append(p.tr.got, m)
		p.tr.mu.Unlock()
	}
	return m, err
}

func joinURL(t *testing.T, url string, cfg *Config) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := Join(ctx, url, "realm1", cfg)
	if err != nil {
		t.Fatalf("Join %s: %v", url, err)
	}
	t.Cleanup(func() {
		s.Leave(context.Background())
		<-s.Done()
	})
	return s
}

func echo(_ context.Context, inv *Invocation) (*Result, error) {
	return &Result{Args: inv.Args}, nil
}

func TestJoinURLSchemes(t *testing.T) {
	tr := startRouter(t)
	for url, want := range map[string]string{tr.wsURL("/ws"): "websocket", tr.lpURL(): "longpoll"} {
		s := joinURL(t, url, &Config{Serializer: "msgpack"})
		info := s.Transport()
		if info.Transport != want || info.Serializer != "msgpack" {
			t.Errorf("%s: Transport() = %+v, want %s with msgpack", url, info, want)
		}
		if _, err := s.Register(t.Context(), wamp.URI("com.example.echo."+want), echo); err != nil {
			t.Fatal(err)
		}
		res, err := s.Call(t.Context(), wamp.URI("com.example.echo."+want), wamp.List{"hi", []byte{1, 2}}, nil)
		if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"hi", []byte{1, 2}}) {
			t.Errorf("%s: call = %+v, %v", url, res, err)
		}
	}
}

// TestBatchedWebSocket: Config.Batched joins over the batched subprotocol,
// and calls and a burst of events (several in a frame) arrive whole.
func TestBatchedWebSocket(t *testing.T) {
	tr := startRouter(t)
	for _, serializer := range []string{"json", "msgpack"} {
		s := joinURL(t, tr.wsURL("/ws"), &Config{Serializer: serializer, Batched: true})
		if info := s.Transport(); !info.Batched || info.Serializer != serializer {
			t.Fatalf("%s: Transport() = %+v, want batched", serializer, info)
		}
		proc := wamp.URI("com.example.batched." + serializer)
		if _, err := s.Register(t.Context(), proc, echo); err != nil {
			t.Fatal(err)
		}
		res, err := s.Call(t.Context(), proc, wamp.List{"hi", []byte{1, 2}}, nil)
		if err != nil || !reflect.DeepEqual(res.Args, wamp.List{"hi", []byte{1, 2}}) {
			t.Fatalf("%s: call = %+v, %v", serializer, res, err)
		}
		const n = 50
		got := make(chan int64, n)
		topic := wamp.URI("com.example.burst." + serializer)
		sub := joinURL(t, tr.wsURL("/ws"), &Config{Serializer: serializer, Batched: true})
		if _, err := sub.Subscribe(t.Context(), topic, func(e *Event) { got <- e.Args[0].(int64) }); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := s.Publish(t.Context(), topic, wamp.List{int64(i)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			select {
			case v := <-got:
				if v != int64(i) {
					t.Fatalf("%s: event %d carries %d", serializer, i, v)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: %d of %d events", serializer, i, n)
			}
		}
	}
}

func TestJoinBadURLs(t *testing.T) {
	for _, tt := range []struct {
		url  string
		cfg  *Config
		want string
	}{
		{"tcp://127.0.0.1:1", nil, `unsupported URL scheme "tcp"`},
		{"ws:///ws", nil, "no host"},
		{"ws://127.0.0.1:1/ws", &Config{FallbackURLs: []string{"ftp://x/lp"}}, `unsupported URL scheme "ftp"`},
		{"ws://127.0.0.1:1/ws", &Config{Reconnect: &Reconnect{Factor: 0.5}}, "Factor 0.5 is below 1"},
		{"ws://127.0.0.1:1/ws", &Config{Reconnect: &Reconnect{Jitter: 2}}, "Jitter 2 is above 1"},
		{"ws://127.0.0.1:1/ws", &Config{Reconnect: &Reconnect{MaxRetries: -1}}, "MaxRetries -1"},
		{"ws://127.0.0.1:1/ws", &Config{Reconnect: &Reconnect{InitialDelay: -time.Second}}, "must not be negative"},
		{"ws://127.0.0.1:1/ws", &Config{Reconnect: &Reconnect{InitialDelay: time.Minute, MaxDelay: time.Second}}, "exceeds MaxDelay"},
	} {
		_, err := Join(t.Context(), tt.url, "realm1", tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Join(%q): err = %v, want %q", tt.url, err, tt.want)
		}
	}
}

// blackHole returns the address of a TCP listener that accepts
// connections and never answers.
func blackHole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFallbackToLongPoll(t *testing.T) {
	tr := startRouter(t)
	for name, main := range map[string]string{
		"403":        tr.wsURL("/forbidden"),
		"404":        tr.wsURL("/nowhere"),
		"no upgrade": tr.wsURL("/plain"),
		"refused":    "ws://" + closedPort(t) + "/ws",
		"timeout":    "ws://" + blackHole(t) + "/ws",
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			ev := newEvents()
			cfg := ev.config(&Config{FallbackURLs: []string{tr.lpURL()}, ConnectTimeout: 300 * time.Millisecond})
			s := joinURL(t, main, cfg)
			if got := s.Transport().Transport; got != "longpoll" {
				t.Fatalf("Transport() = %q, want longpoll", got)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("fallback took %v", d)
			}
			if id := within(t, ev.joins); id != s.ID() {
				t.Errorf("OnJoin saw session %d, ID() = %d", id, s.ID())
			}
			proc := wamp.URI("com.example.echo." + strings.ReplaceAll(name, " ", "_"))
			if _, err := s.Register(t.Context(), proc, echo); err != nil {
				t.Fatal(err)
			}
			if res, err := s.Call(t.Context(), proc, wamp.List{"x"}, nil); err != nil || res.Args[0] != "x" {
				t.Errorf("call over the fallback = %+v, %v", res, err)
			}
		})
	}
}

func TestNoURLOpens(t *testing.T) {
	tr := startRouter(t)
	main, fallback := tr.wsURL("/forbidden"), "http://"+closedPort(t)+"/lp"
	_, err := Join(t.Context(), main, "realm1", &Config{FallbackURLs: []string{fallback}})
	if err == nil || !strings.Contains(err.Error(), main) || !strings.Contains(err.Error(), fallback) ||
		!strings.Contains(err.Error(), "no WebSocket for you") {
		t.Fatalf("err = %v, want both URLs' failures", err)
	}

	// A router's refusal is an answer: no fallback is tried.
	_, err = Join(t.Context(), tr.wsURL("/ws"), "nowhere", &Config{FallbackURLs: []string{tr.lpURL()}})
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNoSuchRealm {
		t.Fatalf("err = %v, want ABORT no_such_realm", err)
	}
}

func TestReconnect(t *testing.T) {
	for _, how := range []string{"kill", "restart"} {
		for _, tp := range []string{"websocket", "longpoll"} {
			t.Run(how+"/"+tp, func(t *testing.T) {
				tr := startRouter(t)
				url := tr.wsURL("/ws")
				if tp == "longpoll" {
					url = tr.lpURL()
				}
				testReconnect(t, tr, url, tp, how)
			})
		}
	}
}

func testReconnect(t *testing.T, tr *testRouter, url, tp, how string) {
	ev := newEvents()
	s := joinURL(t, url, ev.config(&Config{Reconnect: fastRetry()}))
	first := within(t, ev.joins)
	if first != s.ID() {
		t.Fatalf("OnJoin saw %d, ID() = %d", first, s.ID())
	}
	reg, err := s.Register(t.Context(), "com.example.echo", echo, Match(wamp.MatchExact), WithOption("x_tag", "kept"))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	sub, err := s.Subscribe(t.Context(), "com.example.news", func(ev *Event) { got <- ev.Args[0].(string) },
		WithOption("x_tag", "sub"))
	if err != nil {
		t.Fatal(err)
	}
	oldReg := reg.ID()

	if how == "kill" {
		tr.kill()
	} else {
		tr.restart()
	}
	l := within(t, ev.leaves)
	if !l.retry || l.err == nil {
		t.Fatalf("OnLeave(%v, %v), want an error and willRetry", l.err, l.retry)
	}
	if ce, ok := errors.AsType[*CloseError](l.err); how == "restart" && (!ok || ce.Reason != wamp.ErrSystemShutdown) {
		t.Errorf("OnLeave err = %v, want GOODBYE system_shutdown", l.err)
	}
	second := within(t, ev.joins)
	if second == first || second != s.ID() {
		t.Errorf("session IDs: first %d, after reconnect %d, ID() = %d", first, second, s.ID())
	}
	if got := s.Transport().Transport; got != tp {
		t.Errorf("Transport() = %q after reconnect, want %q", got, tp)
	}
	select {
	case <-s.Done():
		t.Fatalf("Done closed after a reconnect: %v", s.Err())
	default:
	}
	if reg.ID() == 0 || (how == "kill" && reg.ID() == oldReg) {
		t.Errorf("registration ID %d after reconnect, %d before", reg.ID(), oldReg)
	}

	// The router received the same REGISTER and SUBSCRIBE options twice.
	for _, uri := range []wamp.URI{"com.example.echo", "com.example.news"} {
		ms := tr.received(uri)
		if len(ms) != 2 {
			t.Fatalf("%s: router received %d messages, want 2", uri, len(ms))
		}
		opts := func(m wamp.Message) wamp.Dict {
			if r, ok := m.(*wamp.Register); ok {
				return r.Options
			}
			return m.(*wamp.Subscribe).Options
		}
		if !reflect.DeepEqual(opts(ms[0]), opts(ms[1])) || opts(ms[1])["x_tag"] == nil {
			t.Errorf("%s: options %v, then %v", uri, opts(ms[0]), opts(ms[1]))
		}
	}

	// Another client reaches the procedure and the subscription again.
	other := joinURL(t, tr.wsURL("/ws"), nil)
	res, err := other.Call(t.Context(), "com.example.echo", wamp.List{"back"}, nil)
	if err != nil || res.Args[0] != "back" {
		t.Fatalf("call after reconnect = %+v, %v", res, err)
	}
	if err := other.Publish(t.Context(), "com.example.news", wamp.List{"news"}, nil, Acknowledge()); err != nil {
		t.Fatal(err)
	}
	if ev := within(t, got); ev != "news" {
		t.Errorf("event %q", ev)
	}

	// Unsubscribe and Unregister use the new IDs.
	if err := s.Unsubscribe(t.Context(), sub); err != nil {
		t.Errorf("Unsubscribe after reconnect: %v", err)
	}
	if err := s.Unregister(t.Context(), reg); err != nil {
		t.Errorf("Unregister after reconnect: %v", err)
	}
	if _, err := other.Call(t.Context(), "com.example.echo", nil, nil); !errors.Is(err, &wamp.Error{URI: wamp.ErrNoSuchProcedure}) {
		t.Errorf("call after Unregister: %v", err)
	}

	if err := s.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := within(t, ev.leaves); l.err != nil || l.retry {
		t.Errorf("OnLeave(%v, %v) after Leave", l.err, l.retry)
	}
	within(t, s.Done())
	if s.Err() != nil {
		t.Errorf("Err() = %v after Leave", s.Err())
	}
	if err := other.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	if g := sessionGoroutines(); g != "" {
		t.Fatalf("session goroutines after a reconnect and Leave:\n%s", g)
	}
}

func TestNotConnected(t *testing.T) {
	tr := startRouter(t)
	ev := newEvents()
	// A long first delay keeps the session disconnected.
	s := joinURL(t, tr.wsURL("/ws"), ev.config(&Config{Reconnect: &Reconnect{InitialDelay: time.Hour, MaxDelay: time.Hour}}))
	within(t, ev.joins)
	reg, err := s.Register(t.Context(), "com.example.echo", echo)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(t.Context(), "com.example.news", func(*Event) {})
	if err != nil {
		t.Fatal(err)
	}
	id := s.ID()
	tr.kill()
	if l := within(t, ev.leaves); !l.retry {
		t.Fatalf("OnLeave(%v, false)", l.err)
	}

	start := time.Now()
	for name, f := range map[string]func() error{
		"call": func() error { _, err := s.Call(t.Context(), "com.example.echo", nil, nil); return err },
		"publish": func() error {
			return s.Publish(t.Context(), "com.example.news", nil, nil)
		},
		"publish ack": func() error {
			return s.Publish(t.Context(), "com.example.news", nil, nil, Acknowledge())
		},
		"register":    func() error { _, err := s.Register(t.Context(), "com.example.x", echo); return err },
		"subscribe":   func() error { _, err := s.Subscribe(t.Context(), "com.example.x", func(*Event) {}); return err },
		"unregister":  func() error { return s.Unregister(t.Context(), reg) },
		"unsubscribe": func() error { return s.Unsubscribe(t.Context(), sub) },
	} {
		if err := f(); !errors.Is(err, ErrNotConnected) || !errors.Is(err, transport.ErrClosed) {
			t.Errorf("%s while disconnected: %v, want ErrNotConnected and the cause", name, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("requests took %v while disconnected", d)
	}
	if s.ID() != id || s.Err() != nil {
		t.Errorf("while reconnecting: ID() = %d (was %d), Err() = %v", s.ID(), id, s.Err())
	}

	// Leave stops reconnecting at once.
	start = time.Now()
	if err := s.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Leave while reconnecting took %v", d)
	}
	if l := within(t, ev.leaves); l.err != nil || l.retry {
		t.Errorf("OnLeave(%v, %v) after Leave", l.err, l.retry)
	}
	within(t, s.Done())
	if s.Err() != nil {
		t.Errorf("Err() = %v after Leave", s.Err())
	}
	if _, err := s.Call(t.Context(), "x", nil, nil); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("call after Leave: %v", err)
	}
	if g := sessionGoroutines(); g != "" {
		t.Fatalf("session goroutines after Leave:\n%s", g)
	}
}

func TestPendingCallFailsOnLoss(t *testing.T) {
	tr := startRouter(t)
	ev := newEvents()
	callee := joinURL(t, tr.wsURL("/ws"), nil)
	entered := make(chan struct{})
	if _, err := callee.Register(t.Context(), "com.example.slow", func(ctx context.Context, _ *Invocation) (*Result, error) {
		close(entered)
		<-ctx.Done()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	s := joinURL(t, tr.lpURL(), ev.config(&Config{Reconnect: &Reconnect{InitialDelay: time.Hour, MaxDelay: time.Hour}}))
	call := async(func() error { _, err := s.Call(t.Context(), "com.example.slow", nil, nil); return err })
	within(t, entered)
	tr.killOnly("longpoll") // the caller's, not the callee's
	if err := within(t, call); !errors.Is(err, ErrNotConnected) {
		t.Errorf("pending call: %v, want ErrNotConnected", err)
	}
}

func TestGiveUp(t *testing.T) {
	t.Run("retries exhausted", func(t *testing.T) {
		tr := startRouter(t)
		ev := newEvents()
		rc := fastRetry()
		rc.MaxRetries = 3
		s := joinURL(t, tr.wsURL("/ws"), ev.config(&Config{Reconnect: rc, FallbackURLs: []string{tr.lpURL()}}))
		within(t, ev.joins)
		tr.down.Store(true)
		tr.kill()
		if l := within(t, ev.leaves); !l.retry {
			t.Fatalf("OnLeave(%v, false) at the loss", l.err)
		}
		last := within(t, ev.leaves)
		within(t, s.Done())
		err := s.Err()
		if last.retry || last.err != err || err == nil ||
			!strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "HTTP 503") {
			t.Errorf("OnLeave(%v, %v), Err() = %v", last.err, last.retry, err)
		}
		if _, err := s.Call(t.Context(), "x", nil, nil); !errors.Is(err, ErrSessionClosed) {
			t.Errorf("call after giving up: %v", err)
		}
	})
	t.Run("rejoin refused", func(t *testing.T) {
		tr := startRouter(t)
		ev := newEvents()
		s := joinURL(t, tr.lpURL(), ev.config(&Config{Reconnect: fastRetry()}))
		within(t, ev.joins)
		tr.restart("other") // realm1 is gone
		if l := within(t, ev.leaves); !l.retry {
			t.Fatalf("OnLeave(%v, false) at the shutdown", l.err)
		}
		last := within(t, ev.leaves)
		within(t, s.Done())
		if e, ok := errors.AsType[*wamp.Error](s.Err()); !ok || e.URI != wamp.ErrNoSuchRealm || last.retry || last.err != s.Err() {
			t.Errorf("OnLeave(%v, %v), Err() = %v", last.err, last.retry, s.Err())
		}
	})
}
