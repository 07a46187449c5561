package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

const realm = "realm1"

// metaRealm is the realm of the meta API scenario alone, where the
// session, registration and subscription counts are exactly its own.
const metaRealm = "realm.meta"

// adminRealm is the realm of the go_admin scenario alone, where its meta
// API counts are exact and wamp.session.kill_all ends only its sessions.
// It admits anonymous sessions and the ticket users of adminUsers.
const adminRealm = "realm.admin"

// adminUsers are the ticket users of adminRealm: ticket "<authid>-ticket",
// authrole staff or guest.
var adminUsers = map[string]server.TicketPrincipal{
	"ann": {Role: "staff", Ticket: "ann-ticket"},
	"bob": {Role: "staff", Ticket: "bob-ticket"},
	"eve": {Role: "staff", Ticket: "eve-ticket"},
	"cid": {Role: "guest", Ticket: "cid-ticket"},
	"dan": {Role: "guest", Ticket: "dan-ticket"},
}

// serializers are the serializers Autobahn|JS 26 speaks in Node.js: JSON,
// MessagePack (msgpack5) and CBOR (node-cbor); see its lib/serializer.js.
var serializers = []string{"json", "msgpack", "cbor"}

// TestAutobahn runs every scenario script against an in-process router, once
// per serializer, the Go client joining with the same serializer. The
// scenarios of one router run in parallel: each uses URIs of its own, and
// the meta API scenario a realm of its own.
func TestAutobahn(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			env := startRouter(t, ser)
			for _, sc := range []struct {
				name string
				run  func(*testing.T)
			}{
				{"go_peer", env.goPeer},
				{"js_pair", env.jsPair},
				{"mixed", env.mixed},
				{"router_errors", env.routerErrors},
				{"leave", env.leave},
				{"typed_array", env.typedArray},
				{"rpc_advanced", env.rpcAdvanced},
				{"shared_patterns", env.sharedPatterns},
				{"pubsub_advanced", env.pubsubAdvanced},
				{"meta", env.meta},
				{"go_advanced", env.goAdvanced},
				{"go_admin", env.goAdmin},
				{"testaments_history", env.testamentsHistory},
			} {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.run(t)
				})
			}
		})
	}
}

// env is a router on 127.0.0.1 and the serializer of a run of scenarios.
type env struct {
	url string
	ser string
	log *routerLog
}

// startRouter runs a router with realm1, metaRealm and adminRealm behind a
// real HTTP server on 127.0.0.1, logging into a buffer that failure
// messages show.
func startRouter(t *testing.T, ser string) *env {
	t.Helper()
	log := &routerLog{}
	r, err := server.New(server.Config{
		Realms: []server.RealmConfig{{Name: realm, EventHistory: []server.EventHistoryConfig{{Topic: "com.example.history.", Match: wamp.MatchPrefix, Limit: 3}}}, {Name: metaRealm}, {
			Name: adminRealm,
			Auth: server.AuthConfig{Anonymous: &server.AnonymousAuth{}, Ticket: &server.TicketAuth{Principals: adminUsers}},
		}},
		Logger: slog.New(log.handler()),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	t.Cleanup(func() {
		r.Close()
		hs.Close()
	})
	return &env{url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", ser: ser, log: log}
}

// start starts a scenario script against realm1 of this router.
func (e *env) start(t *testing.T, name string) *script {
	t.Helper()
	return e.startIn(t, name, realm)
}

// startIn starts a scenario script against realm rlm of this router.
func (e *env) startIn(t *testing.T, name, rlm string) *script {
	t.Helper()
	s := startScript(t, name, e.url, rlm, e.ser)
	s.logMark = e.log.loudMark()
	return s
}

// run runs a script that needs nothing from Go while it runs.
func (e *env) run(t *testing.T, name string) {
	t.Helper()
	e.wait(t, e.start(t, name))
}

// wait waits for a script to pass and checks that meanwhile the router
// logged nothing at INFO or above (an abort, a protocol violation, a
// dropped connection), for this scenario or one running alongside.
func (e *env) wait(t *testing.T, s *script) {
	t.Helper()
	<-s.done
	if s.err != nil || !s.stdout.hasPrefix("PASS ") {
		t.Fatalf("node js/%s failed (%v)\n%s--- router log ---\n%s", s.name, s.err, s.transcript(), e.log.text())
	}
	if loud := e.log.loudSince(s.logMark); loud != "" {
		t.Fatalf("the router logged trouble during js/%s:\n%s%s", s.name, loud, s.transcript())
	}
}

// fatal fails the test with the script's output and the router's log.
func (e *env) fatal(t *testing.T, s *script, format string, a ...any) {
	t.Helper()
	t.Fatalf(format+"\n%s--- router log ---\n%s", append(a, s.transcript(), e.log.text())...)
}

// join joins realm1 with the Go client.
func (e *env) join(t *testing.T) *client.Session {
	t.Helper()
	return e.joinIn(t, realm)
}

// joinIn joins realm rlm anonymously with the Go client.
func (e *env) joinIn(t *testing.T, rlm string) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := client.Join(ctx, e.url, rlm, &client.Config{Serializer: e.ser})
	if err != nil {
		t.Fatalf("Go client: join %s over %s: %v", rlm, e.ser, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Leave(ctx); err != nil && !errors.Is(err, client.ErrSessionClosed) {
			t.Errorf("Go client: leave: %v", err)
		}
	})
	return s
}

// goPeer: Autobahn|JS calls procedures the Go client registered, the Go
// client calls procedures Autobahn|JS registered, and each publishes to the
// other, with args, kwargs and binary values everywhere (js/go_peer.mjs).
func (e *env) goPeer(t *testing.T) {
	ctx := t.Context()
	gs := e.join(t)

	register(t, gs, "com.example.add2", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		if len(inv.Args) != 2 {
			return nil, wamp.NewError("com.example.error.bad_input", fmt.Sprintf("want 2 args, got %#v", inv.Args))
		}
		a, aok := wamp.AsInt(inv.Args[0])
		b, bok := wamp.AsInt(inv.Args[1])
		if !aok || !bok {
			return nil, wamp.NewError("com.example.error.bad_input", fmt.Sprintf("want integers, got %#v", inv.Args))
		}
		return &client.Result{Args: wamp.List{a + b}}, nil
	})
	register(t, gs, "com.example.go.fail", func(context.Context, *client.Invocation) (*client.Result, error) {
		return nil, &wamp.Error{
			URI:    "com.example.error.go_failed",
			Args:   wamp.List{"go says no", 42},
			Kwargs: wamp.Dict{"code": 7, "blob": []byte{0xde, 0xad}},
		}
	})
	register(t, gs, "com.example.go.bytes", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		wantArgs := wamp.List{[]byte{0, 1, 2, 0xff}}
		wantKwargs := wamp.Dict{"blob": []byte{0xca, 0xfe}}
		if !reflect.DeepEqual(inv.Args, wantArgs) || !reflect.DeepEqual(inv.Kwargs, wantKwargs) {
			return nil, wamp.NewError("com.example.error.bad_input",
				fmt.Sprintf("Go got args %s kwargs %s, want %s %s", show(inv.Args), show(inv.Kwargs), show(wantArgs), show(wantKwargs)))
		}
		return &client.Result{
			Args:   wamp.List{[]byte{0xff, 0xfe, 0}, "ok"},
			Kwargs: wamp.Dict{"blob": []byte{0xbe, 0xef}, "len": 4},
		}, nil
	})
	fromJS := make(chan *client.Event, 10)
	if _, err := gs.Subscribe(ctx, "com.example.from_js", func(ev *client.Event) { fromJS <- ev }); err != nil {
		t.Fatalf("Go client: subscribe: %v", err)
	}

	s := e.start(t, "go_peer.mjs")
	fail := func(format string, a ...any) {
		t.Helper()
		e.fatal(t, s, format, a...)
	}
	if err := s.waitLine("READY", 15*time.Second); err != nil {
		fail("%v", err)
	}

	// Both publications reach the Go subscriber, in order.
	for i, want := range []struct {
		args   wamp.List
		kwargs wamp.Dict
	}{
		{wamp.List{[]byte{0x10, 0x20}, "first", int64(1)}, wamp.Dict{"blob": []byte{0x30}, "exclude_me": "default"}},
		{wamp.List{[]byte{0x11}, "second", int64(2)}, wamp.Dict{"blob": []byte{0x31}, "exclude_me": false}},
	} {
		select {
		case ev := <-fromJS:
			if !reflect.DeepEqual(ev.Args, want.args) || !reflect.DeepEqual(ev.Kwargs, want.kwargs) {
				fail("event %d from JS: got %s %s, want %s %s", i+1, show(ev.Args), show(ev.Kwargs), show(want.args), show(want.kwargs))
			}
		case <-time.After(5 * time.Second):
			fail("event %d from JS did not reach the Go subscriber", i+1)
		}
	}

	echoArgs := wamp.List{int64(1), "two", 2.5, true, nil, []byte{0, 0xff}, wamp.List{"nested", []byte{1}}, wamp.Dict{"k": []byte{2}}}
	echoKwargs := wamp.Dict{"blob": []byte{5, 6}, "s": "x", "list": wamp.List{int64(-3), false}}
	res, err := gs.Call(ctx, "com.example.js.echo", echoArgs, echoKwargs)
	if err != nil {
		fail("Go calls com.example.js.echo: %v", err)
	}
	if !reflect.DeepEqual(res.Args, echoArgs) || !reflect.DeepEqual(res.Kwargs, echoKwargs) {
		fail("com.example.js.echo: got %s %s, want %s %s", show(res.Args), show(res.Kwargs), show(echoArgs), show(echoKwargs))
	}

	_, err = gs.Call(ctx, "com.example.js.fail", wamp.List{"please"}, nil)
	wantErr := &wamp.Error{
		URI:    "com.example.error.x",
		Args:   wamp.List{"js says no", int64(7), []byte{1, 2}},
		Kwargs: wamp.Dict{"reason": "test", "blob": []byte{3, 4}},
	}
	if got, ok := errors.AsType[*wamp.Error](err); !ok || !reflect.DeepEqual(got, wantErr) {
		fail("com.example.js.fail: got error %T %s, want %s", err, showErr(err), showErr(wantErr))
	}

	res, err = gs.Call(ctx, "com.example.js.bytes", wamp.List{[]byte{9, 8, 7}}, wamp.Dict{"blob": []byte{6, 5}})
	if err != nil {
		fail("Go calls com.example.js.bytes: %s", showErr(err))
	}
	if want := (wamp.List{[]byte{0xaa, 0xbb}}); !reflect.DeepEqual(res.Args, want) {
		fail("com.example.js.bytes: got args %s, want %s", show(res.Args), show(want))
	}
	if want := (wamp.Dict{"blob": []byte{0xcc}}); !reflect.DeepEqual(res.Kwargs, want) {
		fail("com.example.js.bytes: got kwargs %s, want %s", show(res.Kwargs), show(want))
	}

	err = gs.Publish(ctx, "com.example.to_js", wamp.List{[]byte{1, 2}, "from go", 3}, wamp.Dict{"blob": []byte{3}, "n": 1.5}, client.Acknowledge())
	if err != nil {
		fail("Go publishes to com.example.to_js with acknowledge: %v", err)
	}
	e.wait(t, s)
}

// jsPair: two Autobahn|JS sessions in one process through the router
// (js/js_pair.mjs).
func (e *env) jsPair(t *testing.T) { e.run(t, "js_pair.mjs") }

// mixed: an Autobahn|JS session with this serializer serves sessions with
// each other serializer (js/mixed.mjs).
func (e *env) mixed(t *testing.T) { e.run(t, "mixed.mjs") }

// routerErrors: the router's error URIs as Autobahn|JS sees them
// (js/router_errors.mjs).
func (e *env) routerErrors(t *testing.T) { e.run(t, "router_errors.mjs") }

// leave: connection.close() ends the session cleanly on both sides
// (js/leave.mjs); afterwards the router has dropped its registration, so
// the Go client can register the same procedure.
func (e *env) leave(t *testing.T) {
	e.run(t, "leave.mjs")
	gs := e.join(t)
	register(t, gs, "com.example.leave.proc", func(context.Context, *client.Invocation) (*client.Result, error) {
		return nil, nil
	})
}

// typedArray: a plain Uint8Array (not a Buffer) as an argument, to a Go
// procedure that echoes (js/typed_array.mjs).
func (e *env) typedArray(t *testing.T) {
	gs := e.join(t)
	register(t, gs, "com.example.go.echo", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	})
	e.run(t, "typed_array.mjs")
}

func register(t *testing.T, s *client.Session, procedure wamp.URI, h client.Handler, opts ...client.Option) {
	t.Helper()
	if _, err := s.Register(t.Context(), procedure, h, opts...); err != nil {
		t.Fatalf("Go client: register %s: %v", procedure, err)
	}
}

// show renders a WAMP value for a failure message, with types, so that
// int64(1) and 1.0 or []byte and a string tell apart.
func show(v any) string {
	switch v := v.(type) {
	case []byte:
		return fmt.Sprintf("[]byte{% x}", v)
	case wamp.List:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case wamp.Dict:
		var b strings.Builder
		b.WriteString("{")
		first := true
		for k, e := range v {
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&b, "%q: %s", k, show(e))
		}
		b.WriteString("}")
		return b.String()
	case string:
		return fmt.Sprintf("%q", v)
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func showErr(err error) string {
	if e, ok := errors.AsType[*wamp.Error](err); ok {
		return fmt.Sprintf("*wamp.Error{%s, %s, %s}", e.URI, show(e.Args), show(e.Kwargs))
	}
	return fmt.Sprint(err)
}

// routerLog keeps the router's log as text and, apart, what it logged at
// INFO or above: in this router that is never routine (aborts, protocol
// violations, dropped connections).
type routerLog struct {
	mu        sync.Mutex
	all, loud bytes.Buffer
}

// handler returns the slog.Handler that writes into l.
func (l *routerLog) handler() slog.Handler {
	return logTee{
		all:  slog.NewTextHandler(lockedWriter{&l.mu, &l.all}, &slog.HandlerOptions{Level: slog.LevelDebug}),
		loud: slog.NewTextHandler(lockedWriter{&l.mu, &l.loud}, &slog.HandlerOptions{Level: slog.LevelInfo}),
	}
}

// text returns everything the router logged.
func (l *routerLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// loudSince returns what the router logged at INFO or above after mark, a
// value of loudMark.
func (l *routerLog) loudSince(mark int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.loud.Bytes()[mark:])
}

// loudMark marks the end of the INFO-or-above log so far.
func (l *routerLog) loudMark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loud.Len()
}

// logTee sends every record to all and those at INFO or above to loud.
type logTee struct{ all, loud slog.Handler }

func (h logTee) Enabled(context.Context, slog.Level) bool { return true }

func (h logTee) Handle(ctx context.Context, r slog.Record) error {
	if err := h.all.Handle(ctx, r); err != nil {
		return err
	}
	if h.loud.Enabled(ctx, r.Level) {
		return h.loud.Handle(ctx, r)
	}
	return nil
}

func (h logTee) WithAttrs(as []slog.Attr) slog.Handler {
	return logTee{h.all.WithAttrs(as), h.loud.WithAttrs(as)}
}

func (h logTee) WithGroup(name string) slog.Handler {
	return logTee{h.all.WithGroup(name), h.loud.WithGroup(name)}
}

// lockedWriter serializes writes to a buffer that is read concurrently.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
