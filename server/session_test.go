package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/syncbuf"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// dialRawSocket connects to r over a real raw socket on loopback whose
// client announces readLimit, the largest message it accepts.
func dialRawSocket(t testing.TB, r *Router, readLimit int64) *rawClient {
	t.Helper()
	srv, err := rawsocket.NewServer(&rawsocket.Config{MinClientLimit: -1}) // the tests' clients announce small limits on purpose
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rc := &rawClient{t: t, done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		if p, err := srv.Accept(conn); err == nil {
			r.Serve(p)
		}
	}()
	peer, err := rawsocket.Dial(t.Context(), "tcp", ln.Addr().String(), &rawsocket.DialOptions{ReadLimit: readLimit})
	if err != nil {
		t.Fatal(err)
	}
	rc.peer = peer
	t.Cleanup(func() {
		peer.Close()
		select {
		case <-rc.done:
		case <-time.After(5 * time.Second):
			t.Error("the router's session did not end within 5 s")
		}
	})
	return rc
}

// bigText is a string argument far above the 4 KiB the raw socket clients
// of these tests accept.
var bigText = strings.Repeat("x", 16<<10)

// TestOversizeResultAndErrorToRawSocketCaller: a RESULT or ERROR bigger
// than the caller's raw socket accepts becomes ERROR
// wamp.error.payload_size_exceeded for that request, logged at Warn; the
// caller's session goes on.
func TestOversizeResultAndErrorToRawSocketCaller(t *testing.T) {
	log := &syncbuf.Buffer{}
	r := newTestRouter(t, Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	callee := joinAs(t, r, "callee", "call_canceling", "progressive_call_results")
	callee.register("com.example.big", nil)
	caller := joinRaw(dialRawSocket(t, r, 4<<10), "realm1", rolesWith("caller", "progressive_call_results"))

	// A final RESULT.
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.big", Args: wamp.List{"result"}})
	inv := callee.invocation("result")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{bigText}})
	e := caller.expectError(wamp.TypeCall, 1, wamp.ErrPayloadSizeExceeded)
	if len(e.Args) != 1 || !strings.Contains(fmt.Sprint(e.Args[0]), "above the 4096 bytes") {
		t.Fatalf("ERROR args %v, want a message naming the limit", e.Args)
	}
	caller.sync()

	// A callee's ERROR with a big payload.
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.big", Args: wamp.List{"error"}})
	inv = callee.invocation("error")
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.error.huge", Args: wamp.List{bigText}})
	caller.expectError(wamp.TypeCall, 2, wamp.ErrPayloadSizeExceeded)
	caller.sync()

	// A progressive RESULT: the call ends, the callee is interrupted, and
	// its later answer goes nowhere.
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.big", Args: wamp.List{"progress"}})
	inv = callee.invocation("progress")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{"small"}})
	if res := expect[*wamp.Result](caller); res.Request != 3 || res.Args[0] != "small" {
		t.Fatalf("progressive RESULT %+v", res)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{bigText}})
	caller.expectError(wamp.TypeCall, 3, wamp.ErrPayloadSizeExceeded)
	in := expect[*wamp.Interrupt](callee)
	if in.Request != inv.Request || in.Options["mode"] != "killnowait" || in.Options["reason"] != string(wamp.ErrPayloadSizeExceeded) {
		t.Fatalf("INTERRUPT %+v", in)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"late"}})
	caller.sync()

	// The session is still usable for calls that fit.
	caller.send(&wamp.Call{Request: 4, Options: wamp.Dict{}, Procedure: "com.example.big", Args: wamp.List{"fits"}})
	inv = callee.invocation("fits")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"ok"}})
	if res := expect[*wamp.Result](caller); res.Request != 4 || res.Args[0] != "ok" {
		t.Fatalf("RESULT %+v", res)
	}

	out := log.String()
	for _, want := range []string{
		"level=WARN msg=\"result replaced by ERROR payload_size_exceeded",
		"level=WARN msg=\"error replaced by ERROR payload_size_exceeded",
		"level=WARN msg=\"progressive result not delivered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	session := fmt.Sprintf("session=%d", caller.id)
	for line := range strings.Lines(out) {
		if strings.Contains(line, "payload_size_exceeded") && (!strings.Contains(line, session) || !strings.Contains(line, " size=") || !strings.Contains(line, " limit=4096")) {
			t.Errorf("log line without the session, size and limit: %s", line)
		}
	}
	if strings.Contains(out, "closing session") {
		t.Errorf("the router closed a session:\n%s", out)
	}
}

// TestOversizeEventToRawSocketSubscriber: an EVENT bigger than a
// subscriber's raw socket accepts is not delivered to it, and is logged;
// the events before and after it are, in order.
func TestOversizeEventToRawSocketSubscriber(t *testing.T) {
	log := &syncbuf.Buffer{}
	r := newTestRouter(t, Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	pub := join(t, r)
	sub := joinRaw(dialRawSocket(t, r, 4<<10), "realm1", allRoles)
	subID := sub.subscribe("com.example.news", nil)
	for i, arg := range []string{"before", bigText, "after", bigText, "last"} {
		// Without acknowledgement, so that the router may write several
		// events at once.
		pub.send(&wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Topic: "com.example.news", Args: wamp.List{arg}})
	}
	sub.event(subID, "before")
	sub.event(subID, "after")
	sub.event(subID, "last")
	sub.sync()
	if n := strings.Count(log.String(), "level=WARN msg=\"event not delivered"); n != 2 {
		t.Errorf("%d warnings of an event not delivered, want 2:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), fmt.Sprintf("session=%d", sub.id)) {
		t.Errorf("the log does not name the session:\n%s", log.String())
	}
	// Only what was written counts as sent.
	if n := r.Stats().MessagesOut[wamp.TypeEvent]; n != 3 {
		t.Errorf("Stats counts %d EVENTs sent, want 3", n)
	}
}

// TestOversizeInvocationToRawSocketCallee: an INVOCATION bigger than the
// callee's raw socket accepts fails the call with ERROR
// wamp.error.payload_size_exceeded to the caller; the callee hears nothing
// of it and still serves calls that fit.
func TestOversizeInvocationToRawSocketCallee(t *testing.T) {
	log := &syncbuf.Buffer{}
	r := newTestRouter(t, Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	callee := joinRaw(dialRawSocket(t, r, 4<<10), "realm1", rolesWith("callee", "call_canceling", "progressive_call_invocations"))
	callee.register("com.example.store", nil)
	caller := joinAs(t, r, "caller", "progressive_call_invocations")

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.store", Args: wamp.List{bigText}})
	e := caller.expectError(wamp.TypeCall, 1, wamp.ErrPayloadSizeExceeded)
	if len(e.Args) != 1 || !strings.Contains(fmt.Sprint(e.Args[0]), "the callee accepts") {
		t.Fatalf("ERROR args %v", e.Args)
	}
	callee.sync() // no INVOCATION, no INTERRUPT came first

	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.store", Args: wamp.List{"small"}})
	inv := callee.invocation("small")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"stored"}})
	if res := expect[*wamp.Result](caller); res.Request != 2 || res.Args[0] != "stored" {
		t.Fatalf("RESULT %+v", res)
	}

	// A part of a streamed call: the callee, which holds the earlier
	// parts, is interrupted, and the parts after it are dropped.
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"progress": true}, Procedure: "com.example.store", Args: wamp.List{"part1"}})
	inv = callee.invocation("part1")
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"progress": true}, Procedure: "com.example.store", Args: wamp.List{bigText}})
	caller.expectError(wamp.TypeCall, 3, wamp.ErrPayloadSizeExceeded)
	in := expect[*wamp.Interrupt](callee)
	if in.Request != inv.Request || in.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v", in)
	}
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.store", Args: wamp.List{"part3"}})
	caller.sync()
	callee.sync()

	if !strings.Contains(log.String(), "level=WARN msg=\"invocation not delivered: bigger than the peer accepts; the call fails\" transport=rawsocket remote=127.0.0.1") ||
		!strings.Contains(log.String(), fmt.Sprintf("session=%d", callee.id)) {
		t.Errorf("log:\n%s", log.String())
	}
}

// TestOversizeWelcomeClosesSession: a message the session cannot do
// without, here WELCOME, still ends the session when the peer cannot take
// it, with a logged reason.
func TestOversizeWelcomeClosesSession(t *testing.T) {
	log := &syncbuf.Buffer{}
	r := newTestRouter(t, Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	c := dialRawSocket(t, r, 512)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allRoles}})
	c.expectClosed()
	if !strings.Contains(log.String(), "closing session: a message is bigger than the peer accepts") {
		t.Errorf("log:\n%s", log.String())
	}
}

// sizeLimitedPeer refuses, like a raw socket, every message whose JSON
// encoding is above limit, in Send and SendBatch alike. Once hold is set,
// sends wait until gate is closed, so that what is queued meanwhile is
// written as one batch.
type sizeLimitedPeer struct {
	transport.Peer
	limit   int
	hold    atomic.Bool
	gate    chan struct{}
	batches chan int // the length of each batch written
}

func (p *sizeLimitedPeer) Send(m wamp.Message) error {
	if p.hold.Load() {
		<-p.gate
	}
	b, err := codec.Marshal(codec.JSON, m)
	if err != nil {
		return err
	}
	if len(b) > p.limit {
		return fmt.Errorf("test: %w", &transport.SendTooBigError{Message: m, Size: len(b), Limit: p.limit})
	}
	return p.Peer.Send(m)
}

func (p *sizeLimitedPeer) SendBatch(ms []wamp.Message) error {
	p.batches <- len(ms)
	for _, m := range ms {
		if err := p.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// TestOversizeMessagesInOneBatch: when the transport refuses messages in
// the middle of a batch, the router answers for each refused one and
// writes the rest of the batch after it, in order, once.
func TestOversizeMessagesInOneBatch(t *testing.T) {
	r := newTestRouter(t, Config{})
	peer := &sizeLimitedPeer{limit: 4 << 10, gate: make(chan struct{}), batches: make(chan int, 100)}
	c := joinRaw(connectWrapped(t, r, func(p transport.Peer) transport.Peer { peer.Peer = p; return peer }), "realm1", allRoles)
	callee := join(t, r)
	callee.register("com.example.big", nil)
	pub := join(t, r)
	subID := c.subscribe("com.example.news", nil)

	// Hold the writer on a first event while the rest queue up behind it.
	c.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.big", Args: wamp.List{"call"}})
	inv := callee.invocation("call")
	peer.hold.Store(true)
	pub.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.news", Args: wamp.List{"first"}})
	expect[*wamp.Published](pub)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{bigText}})
	callee.sync() // the RESULT is queued
	for i, arg := range []string{bigText, "second", bigText, "third"} {
		pub.send(&wamp.Publish{Request: wamp.ID(i + 2), Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.news", Args: wamp.List{arg}})
		expect[*wamp.Published](pub)
	}
	close(peer.gate)

	c.event(subID, "first")
	c.expectError(wamp.TypeCall, 1, wamp.ErrPayloadSizeExceeded)
	c.event(subID, "second")
	c.event(subID, "third")
	c.sync()
	for {
		select {
		case n := <-peer.batches:
			if n >= 4 {
				return
			}
		default:
			t.Fatal("the queued messages were never written as one batch")
		}
	}
}

// TestGoClientOverSmallRawSocket: the Go client, on a raw socket that
// accepts 4 KiB, gets ERROR payload_size_exceeded for a call whose result
// is bigger, misses only the events that are bigger, and keeps its session.
func TestGoClientOverSmallRawSocket(t *testing.T) {
	r := newTestRouter(t, Config{})
	ctx := t.Context()
	callee := mustJoinGo(t, r, "realm1", nil)
	small, err := client.JoinPeer(ctx, dialRawSocket(t, r, 4<<10).peer, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { small.Leave(context.Background()) })

	_, err = callee.Register(ctx, "com.example.echo", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		if inv.Args[0] == "big" {
			return &client.Result{Args: wamp.List{bigText}}, nil
		}
		return &client.Result{Args: inv.Args}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = small.Call(ctx, "com.example.echo", wamp.List{"big"}, nil)
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrPayloadSizeExceeded {
		t.Fatalf("Call with a big result: %v, want %s", err, wamp.ErrPayloadSizeExceeded)
	}
	res, err := small.Call(ctx, "com.example.echo", wamp.List{"small"}, nil)
	if err != nil || res.Args[0] != "small" {
		t.Fatalf("Call after: %v, %v", res, err)
	}

	got := make(chan any, 4)
	if _, err := small.Subscribe(ctx, "com.example.news", func(ev *client.Event) { got <- ev.Args[0] }); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{bigText, "fits"} {
		if err := callee.Publish(ctx, "com.example.news", wamp.List{arg}, nil, client.Acknowledge()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case v := <-got:
		if v != "fits" {
			t.Fatalf("event %.20v, want the one that fits", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	if _, err := small.Call(ctx, "com.example.echo", wamp.List{"still here"}, nil); err != nil {
		t.Fatal(err)
	}
}
