package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

func TestJoin(t *testing.T) {
	c, rp := pipe()
	t.Cleanup(func() { c.Close() })
	r := &router{t: t, peer: rp}
	cfg := &Config{AuthID: "alice", AuthMethods: []string{"ticket"}, HelloDetails: wamp.Dict{"x_extra": "yes"}}
	done := async(func() error {
		s, err := JoinPeer(t.Context(), c, "realm1", cfg)
		if err != nil {
			return err
		}
		if s.ID() != sessionID {
			return fmt.Errorf("ID() = %d, want %d", s.ID(), sessionID)
		}
		if got := s.Details()["authrole"]; got != "user" {
			return fmt.Errorf(`Details()["authrole"] = %v, want "user"`, got)
		}
		return nil
	})
	hello := expect[*wamp.Hello](r)
	if hello.Realm != "realm1" {
		t.Errorf("realm = %q", hello.Realm)
	}
	d := hello.Details
	if d["agent"] != Agent || d["authid"] != "alice" || d["x_extra"] != "yes" {
		t.Errorf("HELLO details = %v", d)
	}
	if !reflect.DeepEqual(d["authmethods"], wamp.List{"ticket"}) {
		t.Errorf("authmethods = %#v", d["authmethods"])
	}
	features := func(names ...string) wamp.Dict {
		f := wamp.Dict{}
		for _, n := range names {
			f[n] = true
		}
		return wamp.Dict{"features": f}
	}
	wantRoles := wamp.Dict{
		"caller": features("progressive_call_results", "progressive_call_invocations", "call_canceling", "call_timeout",
			"caller_identification"),
		"callee": features("progressive_call_results", "progressive_call_invocations", "call_canceling",
			"caller_identification", "pattern_based_registration", "shared_registration", "registration_revocation"),
		"publisher":  features("publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing"),
		"subscriber": features("pattern_based_subscription", "publisher_identification", "subscription_revocation", "event_retention"),
	}
	if !reflect.DeepEqual(d["roles"], wantRoles) {
		t.Errorf("roles = %v, want %v", d["roles"], wantRoles)
	}
	r.send(&wamp.Welcome{Session: sessionID, Details: wamp.Dict{"authid": "alice", "authrole": "user"}})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestJoinAbort(t *testing.T) {
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	done := async(func() error {
		_, err := JoinPeer(t.Context(), c, "nowhere", nil)
		return err
	})
	expect[*wamp.Hello](r)
	r.send(&wamp.Abort{Details: wamp.Dict{"message": "no realm nowhere"}, Reason: wamp.ErrNoSuchRealm})
	err := within(t, done)
	e, ok := errors.AsType[*wamp.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *wamp.Error", err, err)
	}
	if e.URI != wamp.ErrNoSuchRealm || !reflect.DeepEqual(e.Args, wamp.List{"no realm nowhere"}) {
		t.Errorf("error = %#v", e)
	}
	r.closed()
}

func TestJoinChallenge(t *testing.T) {
	c, rp := pipe()
	t.Cleanup(func() { c.Close() })
	r := &router{t: t, peer: rp}
	cfg := &Config{
		AuthMethods: []string{"ticket"},
		OnChallenge: func(_ context.Context, ch *wamp.Challenge) (string, wamp.Dict, error) {
			if ch.AuthMethod != "ticket" {
				return "", nil, fmt.Errorf("method %q", ch.AuthMethod)
			}
			return "secret", wamp.Dict{"k": "v"}, nil
		},
	}
	done := async(func() error {
		_, err := JoinPeer(t.Context(), c, "realm1", cfg)
		return err
	})
	expect[*wamp.Hello](r)
	r.send(&wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}})
	auth := expect[*wamp.Authenticate](r)
	if auth.Signature != "secret" || auth.Extra["k"] != "v" {
		t.Errorf("AUTHENTICATE = %+v", auth)
	}
	r.send(&wamp.Welcome{Session: 7, Details: wamp.Dict{}})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestJoinChallengeWithoutHook(t *testing.T) {
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	done := async(func() error {
		_, err := JoinPeer(t.Context(), c, "realm1", &Config{AuthMethods: []string{"wampcra"}})
		return err
	})
	expect[*wamp.Hello](r)
	r.send(&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{}})
	if a := expect[*wamp.Abort](r); a.Reason != wamp.ErrAuthenticationFailed {
		t.Errorf("ABORT reason = %q", a.Reason)
	}
	if err := within(t, done); err == nil {
		t.Fatal("join succeeded")
	}
	r.closed()
}

func TestJoinBadInput(t *testing.T) {
	c, _ := pipe()
	if _, err := JoinPeer(t.Context(), c, "bad realm", nil); err == nil {
		t.Error("invalid realm accepted")
	}
	if _, err := Join(t.Context(), "tcp://127.0.0.1:1", "realm1", nil); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, err := Join(t.Context(), "ws://127.0.0.1:1/ws", "realm1", &Config{Serializer: "xml"}); err == nil {
		t.Error("unknown serializer accepted")
	}
}

func TestJoinContext(t *testing.T) {
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	ctx, cancel := context.WithCancel(t.Context())
	done := async(func() error {
		_, err := JoinPeer(ctx, c, "realm1", nil)
		return err
	})
	expect[*wamp.Hello](r)
	cancel()
	if err := within(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	r.closed()
}

func TestCallResult(t *testing.T) {
	s, r := join(t, nil)
	type out struct {
		res *Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := s.Call(t.Context(), "com.example.add", wamp.List{int64(2), int64(3)}, wamp.Dict{"k": "v"}, WithOption("disclose_me", true))
		ch <- out{res, err}
	}()
	call := expect[*wamp.Call](r)
	if call.Procedure != "com.example.add" || !reflect.DeepEqual(call.Args, wamp.List{int64(2), int64(3)}) ||
		call.Kwargs["k"] != "v" || call.Options["disclose_me"] != true {
		t.Errorf("CALL = %+v", call)
	}
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{"d": int64(1)}, Args: wamp.List{int64(5)}, Kwargs: wamp.Dict{"sum": int64(5)}})
	o := within(t, ch)
	if o.err != nil {
		t.Fatal(o.err)
	}
	want := &Result{Args: wamp.List{int64(5)}, Kwargs: wamp.Dict{"sum": int64(5)}, Details: wamp.Dict{"d": int64(1)}}
	if !reflect.DeepEqual(o.res, want) {
		t.Errorf("result = %+v, want %+v", o.res, want)
	}
}

func TestCallError(t *testing.T) {
	s, r := join(t, nil)
	done := async(func() error {
		_, err := s.Call(t.Context(), "com.example.fail", nil, nil)
		return err
	})
	call := expect[*wamp.Call](r)
	args, kwargs := wamp.List{"bad", int64(1)}, wamp.Dict{"field": "x"}
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: call.Request, Details: wamp.Dict{}, Error: "com.example.invalid", Args: args, Kwargs: kwargs})
	err := within(t, done)
	e, ok := errors.AsType[*wamp.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *wamp.Error", err, err)
	}
	if e.URI != "com.example.invalid" || !reflect.DeepEqual(e.Args, args) || !reflect.DeepEqual(e.Kwargs, kwargs) {
		t.Errorf("error = %#v", e)
	}
}

func TestCallContext(t *testing.T) {
	s, r := join(t, nil)

	ctx, cancel := context.WithCancel(t.Context())
	done := async(func() error {
		_, err := s.Call(ctx, "com.example.slow", nil, nil)
		return err
	})
	first := expect[*wamp.Call](r)
	cancel()
	if err := within(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled call: err = %v", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	done = async(func() error {
		_, err := s.Call(ctx, "com.example.slow", nil, nil)
		return err
	})
	second := expect[*wamp.Call](r)
	if err := within(t, done); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past deadline: err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("deadline took %v", d)
	}
	if second.Request == first.Request {
		t.Errorf("request IDs not distinct: %d", first.Request)
	}

	// Late answers are dropped; the session goes on.
	r.send(&wamp.Result{Request: first.Request, Details: wamp.Dict{}})
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: second.Request, Details: wamp.Dict{}, Error: "x.y"})
	ch := make(chan *Result, 1)
	go func() {
		res, err := s.Call(t.Context(), "com.example.fast", nil, nil)
		if err != nil {
			t.Error(err)
		}
		ch <- res
	}()
	third := expect[*wamp.Call](r)
	if third.Request != second.Request+1 {
		t.Errorf("request ID %d after %d: not sequential", third.Request, second.Request)
	}
	r.send(&wamp.Result{Request: third.Request, Details: wamp.Dict{}, Args: wamp.List{"ok"}})
	if res := within(t, ch); res == nil || res.Args[0] != "ok" {
		t.Errorf("result = %+v", res)
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}

	if _, err := s.Call(ctx, "com.example.slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call with an expired ctx: err = %v", err)
	}
}

// register registers handler on the fake router and returns the
// registration ID.
func register(t *testing.T, s *Session, r *router, procedure wamp.URI, regID wamp.ID, h Handler) *Registration {
	t.Helper()
	ch := make(chan *Registration, 1)
	go func() {
		reg, err := s.Register(t.Context(), procedure, h)
		if err != nil {
			t.Error(err)
		}
		ch <- reg
	}()
	m := expect[*wamp.Register](r)
	if m.Procedure != procedure {
		t.Fatalf("REGISTER %q, want %q", m.Procedure, procedure)
	}
	r.send(&wamp.Registered{Request: m.Request, Registration: regID})
	reg := within(t, ch)
	if reg.ID() != regID || reg.Procedure() != procedure {
		t.Fatalf("registration %d %q", reg.ID(), reg.Procedure())
	}
	return reg
}

func TestInvocation(t *testing.T) {
	s, r := join(t, &Config{Logger: testLogger(t)})
	register(t, s, r, "com.example.h", 9, func(ctx context.Context, inv *Invocation) (*Result, error) {
		switch inv.Args[0] {
		case "result":
			return &Result{Args: wamp.List{"a"}, Kwargs: wamp.Dict{"b": int64(2)}}, nil
		case "nil":
			return nil, nil
		case "wamp":
			return nil, fmt.Errorf("wrapped: %w", &wamp.Error{URI: "com.example.oops", Args: wamp.List{int64(1)}, Kwargs: wamp.Dict{"c": true}})
		case "plain":
			return nil, errors.New("disk full")
		case "panic":
			panic("boom")
		}
		return nil, fmt.Errorf("unexpected %v", inv.Args)
	})
	tests := []struct {
		arg  string
		want wamp.Message
	}{
		{"result", &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: wamp.List{"a"}, Kwargs: wamp.Dict{"b": int64(2)}}},
		{"nil", &wamp.Yield{Request: 2, Options: wamp.Dict{}}},
		{"wamp", &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: 3, Details: wamp.Dict{}, Error: "com.example.oops", Args: wamp.List{int64(1)}, Kwargs: wamp.Dict{"c": true}}},
		{"plain", &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: 4, Details: wamp.Dict{}, Error: RuntimeErrorURI, Args: wamp.List{"disk full"}}},
		{"panic", &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: 5, Details: wamp.Dict{}, Error: RuntimeErrorURI, Args: wamp.List{"procedure handler panicked"}}},
	}
	for i, tt := range tests {
		r.send(&wamp.Invocation{Request: wamp.ID(i + 1), Registration: 9, Details: wamp.Dict{}, Args: wamp.List{tt.arg}})
		if got := r.next(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.arg, got, tt.want)
		}
	}

	// An invocation for an unknown registration.
	r.send(&wamp.Invocation{Request: 6, Registration: 99, Details: wamp.Dict{}})
	if e := expect[*wamp.ErrorMessage](r); e.Request != 6 || e.Error != wamp.ErrNoSuchRegistration {
		t.Errorf("ERROR = %+v", e)
	}
}

func TestSlowHandlerDoesNotBlockReads(t *testing.T) {
	s, r := join(t, nil)
	release := make(chan struct{})
	handlerCtxDone := make(chan error, 1)
	register(t, s, r, "com.example.slow", 3, func(ctx context.Context, _ *Invocation) (*Result, error) {
		<-release
		return &Result{Args: wamp.List{"late"}}, nil
	})
	register(t, s, r, "com.example.stuck", 4, func(ctx context.Context, _ *Invocation) (*Result, error) {
		<-ctx.Done()
		handlerCtxDone <- ctx.Err()
		return nil, ctx.Err()
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 3, Details: wamp.Dict{}})
	r.send(&wamp.Invocation{Request: 2, Registration: 4, Details: wamp.Dict{}})

	done := async(func() error {
		_, err := s.Call(t.Context(), "com.example.other", nil, nil)
		return err
	})
	call := expect[*wamp.Call](r)
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}})
	if err := within(t, done); err != nil {
		t.Fatalf("call while a handler runs: %v", err)
	}
	close(release)
	if y := expect[*wamp.Yield](r); y.Request != 1 || y.Args[0] != "late" {
		t.Errorf("YIELD = %+v", y)
	}

	// Handler contexts end with the session.
	r.peer.Close()
	if err := within(t, handlerCtxDone); !errors.Is(err, context.Canceled) {
		t.Errorf("handler ctx: %v", err)
	}
}

func TestUnregister(t *testing.T) {
	s, r := join(t, nil)
	reg := register(t, s, r, "com.example.h", 5, func(context.Context, *Invocation) (*Result, error) { return nil, nil })
	done := async(func() error { return s.Unregister(t.Context(), reg) })
	m := expect[*wamp.Unregister](r)
	if m.Registration != 5 {
		t.Errorf("UNREGISTER %d", m.Registration)
	}
	// Invocations before UNREGISTERED are still served.
	r.send(&wamp.Invocation{Request: 1, Registration: 5, Details: wamp.Dict{}})
	expect[*wamp.Yield](r)
	r.send(&wamp.Unregistered{Request: m.Request})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	r.send(&wamp.Invocation{Request: 2, Registration: 5, Details: wamp.Dict{}})
	if e := expect[*wamp.ErrorMessage](r); e.Error != wamp.ErrNoSuchRegistration {
		t.Errorf("after unregister: %+v", e)
	}
	if err := s.Unregister(t.Context(), reg); err == nil {
		t.Error("second Unregister succeeded")
	}
	if _, err := s.Register(t.Context(), "x", nil); err == nil {
		t.Error("nil handler accepted")
	}
}

func TestRegisterAbandoned(t *testing.T) {
	s, r := join(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := async(func() error {
		_, err := s.Register(ctx, "com.example.h", func(context.Context, *Invocation) (*Result, error) { return nil, nil })
		return err
	})
	m := expect[*wamp.Register](r)
	cancel()
	if err := within(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	r.send(&wamp.Registered{Request: m.Request, Registration: 8})
	if u := expect[*wamp.Unregister](r); u.Registration != 8 {
		t.Errorf("UNREGISTER %d, want 8", u.Registration)
	}
}

// subscribe subscribes h on the fake router, which answers subID.
func subscribe(t *testing.T, s *Session, r *router, topic wamp.URI, subID wamp.ID, h EventHandler) *Subscription {
	t.Helper()
	ch := make(chan *Subscription, 1)
	go func() {
		sub, err := s.Subscribe(t.Context(), topic, h)
		if err != nil {
			t.Error(err)
		}
		ch <- sub
	}()
	m := expect[*wamp.Subscribe](r)
	if m.Topic != topic {
		t.Fatalf("SUBSCRIBE %q, want %q", m.Topic, topic)
	}
	r.send(&wamp.Subscribed{Request: m.Request, Subscription: subID})
	sub := within(t, ch)
	if sub.ID() != subID || sub.Topic() != topic {
		t.Fatalf("subscription %d %q", sub.ID(), sub.Topic())
	}
	return sub
}

func TestEventsInOrder(t *testing.T) {
	s, r := join(t, nil)
	const n = 1000
	got := make(chan int64, n)
	subscribe(t, s, r, "com.example.t", 11, func(ev *Event) {
		got <- ev.Args[0].(int64)
	})
	for i := range int64(n) {
		r.send(&wamp.Event{Subscription: 11, Publication: wamp.ID(i + 1), Details: wamp.Dict{}, Args: wamp.List{i}})
	}
	for i := range int64(n) {
		if v := within(t, got); v != i {
			t.Fatalf("event %d arrived as number %d", v, i)
		}
	}
}

func TestSlowEventHandlerDoesNotBlockReads(t *testing.T) {
	s, r := join(t, nil)
	release := make(chan struct{})
	got := make(chan string, 2)
	subscribe(t, s, r, "com.example.t", 11, func(ev *Event) {
		<-release
		got <- ev.Args[0].(string)
	})
	r.send(&wamp.Event{Subscription: 11, Publication: 1, Details: wamp.Dict{}, Args: wamp.List{"first"}})
	r.send(&wamp.Event{Subscription: 11, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{"second"}})
	done := async(func() error {
		_, err := s.Call(t.Context(), "com.example.x", nil, nil)
		return err
	})
	call := expect[*wamp.Call](r)
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	close(release)
	if a, b := within(t, got), within(t, got); a != "first" || b != "second" {
		t.Errorf("events %q, %q", a, b)
	}
}

func TestTwoHandlersOneSubscription(t *testing.T) {
	s, r := join(t, &Config{Logger: testLogger(t)})
	var mu sync.Mutex
	var got []string
	record := func(name string) EventHandler {
		return func(ev *Event) {
			mu.Lock()
			got = append(got, fmt.Sprint(name, ev.Args[0]))
			mu.Unlock()
		}
	}
	a := subscribe(t, s, r, "com.example.t", 11, record("a"))
	b := subscribe(t, s, r, "com.example.t", 11, record("b"))
	panicky := subscribe(t, s, r, "com.example.t", 11, func(*Event) { panic("event boom") })

	sync := func() {
		// A call round trip; the dispatcher runs events before their
		// handlers can observe the result, so wait for it too.
		mark := make(chan struct{})
		sub := subscribe(t, s, r, "com.example.mark", 12, func(*Event) { close(mark) })
		r.send(&wamp.Event{Subscription: 12, Publication: 99, Details: wamp.Dict{}})
		within(t, mark)
		done := async(func() error { return s.Unsubscribe(t.Context(), sub) })
		u := expect[*wamp.Unsubscribe](r)
		r.send(&wamp.Unsubscribed{Request: u.Request})
		if err := within(t, done); err != nil {
			t.Fatal(err)
		}
	}

	r.send(&wamp.Event{Subscription: 11, Publication: 1, Details: wamp.Dict{}, Args: wamp.List{int64(1)}})
	sync()
	if err := s.Unsubscribe(t.Context(), panicky); err != nil {
		t.Fatal(err)
	}
	// Not the last handler: no UNSUBSCRIBE.
	if err := s.Unsubscribe(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	r.quiet()
	r.send(&wamp.Event{Subscription: 11, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{int64(2)}})
	sync()
	mu.Lock()
	if want := []string{"a1", "b1", "b2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deliveries %v, want %v", got, want)
	}
	mu.Unlock()

	// The last handler: UNSUBSCRIBE.
	done := async(func() error { return s.Unsubscribe(t.Context(), b) })
	if u := expect[*wamp.Unsubscribe](r); u.Subscription != 11 {
		t.Errorf("UNSUBSCRIBE %d", u.Subscription)
	} else {
		r.send(&wamp.Unsubscribed{Request: u.Request})
	}
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(t.Context(), b); err == nil {
		t.Error("second Unsubscribe succeeded")
	}
}

func TestSubscribeWaitsForUnsubscribe(t *testing.T) {
	s, r := join(t, nil)
	sub := subscribe(t, s, r, "com.example.t", 11, func(*Event) {})
	unsub := async(func() error { return s.Unsubscribe(t.Context(), sub) })
	u := expect[*wamp.Unsubscribe](r)
	resub := async(func() error {
		_, err := s.Subscribe(t.Context(), "com.example.t", func(*Event) {})
		return err
	})
	// The SUBSCRIBE of the same topic waits for the UNSUBSCRIBE's answer.
	r.quiet()
	r.send(&wamp.Unsubscribed{Request: u.Request})
	if err := within(t, unsub); err != nil {
		t.Fatal(err)
	}
	m := expect[*wamp.Subscribe](r)
	r.send(&wamp.Subscribed{Request: m.Request, Subscription: 12})
	if err := within(t, resub); err != nil {
		t.Fatal(err)
	}
}

func TestPublish(t *testing.T) {
	s, r := join(t, nil)
	if err := s.Publish(t.Context(), "com.example.t", wamp.List{"x"}, nil, ExcludeMe(false)); err != nil {
		t.Fatal(err)
	}
	p := expect[*wamp.Publish](r)
	if p.Topic != "com.example.t" || p.Args[0] != "x" || p.Options["exclude_me"] != false || p.Options["acknowledge"] != nil {
		t.Errorf("PUBLISH = %+v", p)
	}

	done := async(func() error {
		return s.Publish(t.Context(), "com.example.t", nil, wamp.Dict{"k": int64(1)}, Acknowledge())
	})
	p = expect[*wamp.Publish](r)
	if p.Options["acknowledge"] != true || p.Kwargs["k"] != int64(1) {
		t.Errorf("PUBLISH = %+v", p)
	}
	r.quiet()
	r.send(&wamp.Published{Request: p.Request, Publication: 77})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}

	done = async(func() error { return s.Publish(t.Context(), "com.example.t", nil, nil, Acknowledge()) })
	p = expect[*wamp.Publish](r)
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypePublish, Request: p.Request, Details: wamp.Dict{}, Error: wamp.ErrNotAuthorized})
	if err := within(t, done); !errors.Is(err, &wamp.Error{URI: wamp.ErrNotAuthorized}) {
		t.Errorf("err = %v", err)
	}
}

func TestOptions(t *testing.T) {
	o, err := buildOptions("publish", []Option{Acknowledge(), ExcludeMe(true), Match(wamp.MatchPrefix), WithOption("x", int64(3)), nil,
		Retain(), DiscloseMe(), Exclude(7, 8), Eligible(9), ExcludeAuthID("a"), EligibleAuthID("b", "c"),
		ExcludeAuthRole("r"), EligibleAuthRole()})
	if err != nil {
		t.Fatal(err)
	}
	want := wamp.Dict{"acknowledge": true, "exclude_me": true, "match": "prefix", "x": int64(3), "retain": true,
		"disclose_me": true, "exclude": wamp.List{int64(7), int64(8)}, "eligible": wamp.List{int64(9)},
		"exclude_authid": wamp.List{"a"}, "eligible_authid": wamp.List{"b", "c"}, "exclude_authrole": wamp.List{"r"},
		"eligible_authrole": wamp.List{}}
	if !reflect.DeepEqual(o.dict, want) {
		t.Errorf("publish options = %v, want %v", o.dict, want)
	}

	o, err = buildOptions("register", []Option{Invoke("roundrobin"), DiscloseCaller(), Match(wamp.MatchWildcard)})
	if want := (wamp.Dict{"invoke": "roundrobin", "disclose_caller": true, "match": "wildcard"}); err != nil || !reflect.DeepEqual(o.dict, want) {
		t.Errorf("register options = %v, %v; want %v", o.dict, err, want)
	}
	if o, err := buildOptions("subscribe", []Option{GetRetained()}); err != nil || !reflect.DeepEqual(o.dict, wamp.Dict{"get_retained": true}) {
		t.Errorf("subscribe options = %v, %v", o.dict, err)
	}

	handler := func(*Result) {}
	o, err = buildOptions("call", []Option{WithTimeout(1500 * time.Microsecond), Progress(handler), CancelMode(CancelKill), DiscloseMe()})
	if err != nil {
		t.Fatal(err)
	}
	if want := (wamp.Dict{"timeout": int64(2), "receive_progress": true, "disclose_me": true}); !reflect.DeepEqual(o.dict, want) ||
		o.timeout != 1500*time.Microsecond || o.cancelMode != CancelKill || o.progress == nil {
		t.Errorf("call options = %+v, dict want %v", o, want)
	}
	if o, _ := buildOptions("call", []Option{WithTimeout(time.Second), WithTimeout(0)}); len(o.dict) != 0 || o.timeout != 0 {
		t.Errorf("WithTimeout(0) after WithTimeout(1s): %+v", o)
	}

	for _, tt := range []struct {
		kind string
		opt  Option
		want string
	}{
		{"publish", Progress(handler), "publish: option Progress applies to calls only"},
		{"register", WithTimeout(time.Second), "register: option WithTimeout applies to calls only"},
		{"subscribe", CancelMode(CancelSkip), "subscribe: option CancelMode applies to calls only"},
		{"call", CancelMode("nuke"), `cancel mode "nuke" is not one of skip, kill, killnowait`},
	} {
		if _, err := buildOptions(tt.kind, []Option{tt.opt}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.kind, err, tt.want)
		}
	}

	// The requests report them.
	s, _ := join(t, nil)
	if err := s.Publish(t.Context(), "com.example.t", nil, nil, Progress(handler)); !errors.Is(err, errCallOnly) {
		t.Errorf("Publish with Progress: %v", err)
	}
	if _, err := s.Register(t.Context(), "com.example.p", echoHandler, WithTimeout(time.Second)); !errors.Is(err, errCallOnly) {
		t.Errorf("Register with WithTimeout: %v", err)
	}
	if _, err := s.Subscribe(t.Context(), "com.example.t", func(*Event) {}, CancelMode(CancelKill)); !errors.Is(err, errCallOnly) {
		t.Errorf("Subscribe with CancelMode: %v", err)
	}
	if _, err := s.Call(t.Context(), "com.example.p", nil, nil, CancelMode("later")); err == nil {
		t.Error("Call with a bad cancel mode succeeded")
	}
}

func echoHandler(_ context.Context, inv *Invocation) (*Result, error) {
	return &Result{Args: inv.Args}, nil
}

func TestLeave(t *testing.T) {
	s, r := join(t, nil)
	pending := async(func() error {
		_, err := s.Call(t.Context(), "com.example.x", nil, nil)
		return err
	})
	expect[*wamp.Call](r)
	done := async(func() error { return s.Leave(t.Context()) })
	g := expect[*wamp.Goodbye](r)
	if g.Reason != wamp.ErrCloseRealm {
		t.Errorf("GOODBYE reason %q", g.Reason)
	}
	if err := s.Publish(t.Context(), "x", nil, nil); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("publish while leaving: %v", err)
	}
	r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	if err := within(t, pending); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("pending call: %v", err)
	}
	r.closed()
	if s.Err() != nil {
		t.Errorf("Err() = %v after Leave", s.Err())
	}
	if err := s.Leave(t.Context()); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("second Leave: %v", err)
	}
}

func TestLeaveTimeout(t *testing.T) {
	s, r := join(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.Leave(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Leave = %v", err)
	}
	expect[*wamp.Goodbye](r)
	r.closed()
	if s.Err() != nil {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestRouterGoodbye(t *testing.T) {
	s, r := join(t, nil)
	r.send(&wamp.Goodbye{Details: wamp.Dict{"message": "maintenance"}, Reason: wamp.ErrSystemShutdown})
	if g := expect[*wamp.Goodbye](r); g.Reason != wamp.ErrGoodbyeAndOut {
		t.Errorf("answer reason %q", g.Reason)
	}
	within(t, s.Done())
	r.closed()
	ce, ok := errors.AsType[*CloseError](s.Err())
	if !ok || ce.Reason != wamp.ErrSystemShutdown || ce.Details["message"] != "maintenance" {
		t.Fatalf("Err() = %#v", s.Err())
	}
	_, err := s.Call(t.Context(), "x", nil, nil)
	if !errors.Is(err, ErrSessionClosed) {
		t.Errorf("call after close: %v", err)
	}
	if ce, ok := errors.AsType[*CloseError](err); !ok || ce.Reason != wamp.ErrSystemShutdown {
		t.Errorf("call after close: %v does not carry the CloseError", err)
	}
}

func TestRouterAbort(t *testing.T) {
	s, r := join(t, nil)
	r.send(&wamp.Abort{Details: wamp.Dict{}, Reason: "wamp.close.killed"})
	within(t, s.Done())
	r.closed()
	if ce, ok := errors.AsType[*CloseError](s.Err()); !ok || ce.Reason != "wamp.close.killed" {
		t.Fatalf("Err() = %v", s.Err())
	}
}

func TestTransportDrop(t *testing.T) {
	s, r := join(t, nil)
	var calls []<-chan error
	for range 3 {
		calls = append(calls, async(func() error {
			_, err := s.Call(t.Context(), "com.example.x", nil, nil)
			return err
		}))
		expect[*wamp.Call](r)
	}
	sub := async(func() error {
		_, err := s.Subscribe(t.Context(), "com.example.t", func(*Event) {})
		return err
	})
	expect[*wamp.Subscribe](r)
	r.peer.Close()
	for _, c := range append(calls, sub) {
		err := within(t, c)
		if !errors.Is(err, ErrSessionClosed) || !errors.Is(err, transport.ErrClosed) {
			t.Errorf("pending request: %v", err)
		}
	}
	if !errors.Is(s.Err(), transport.ErrClosed) {
		t.Errorf("Err() = %v", s.Err())
	}
}

func TestProtocolViolation(t *testing.T) {
	for name, send := range map[string]func(r *router){
		"CALL":              func(r *router) { r.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "x"}) },
		"WELCOME":           func(r *router) { r.send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}}) },
		"malformed":         func(r *router) { r.peer.inject(fmt.Errorf("decode: %w", wamp.ErrInvalidMessage)) },
		"answer wrong type": func(r *router) { r.send(&wamp.Registered{Request: 1, Registration: 2}) },
	} {
		t.Run(name, func(t *testing.T) {
			s, r := join(t, nil)
			pending := async(func() error {
				_, err := s.Call(t.Context(), "com.example.x", nil, nil)
				return err
			})
			expect[*wamp.Call](r)
			send(r)
			if a := expect[*wamp.Abort](r); a.Reason != wamp.ErrProtocolViolation {
				t.Errorf("ABORT %q", a.Reason)
			}
			r.closed()
			if err := within(t, pending); !errors.Is(err, ErrSessionClosed) {
				t.Errorf("pending call: %v", err)
			}
			if ce, ok := errors.AsType[*CloseError](s.Err()); !ok || ce.Reason != wamp.ErrProtocolViolation {
				t.Errorf("Err() = %v", s.Err())
			}
		})
	}
}

func TestRevoked(t *testing.T) {
	s, r := join(t, nil)
	register(t, s, r, "com.example.h", 5, func(context.Context, *Invocation) (*Result, error) { return nil, nil })
	got := make(chan struct{}, 1)
	sub := subscribe(t, s, r, "com.example.t", 6, func(*Event) { got <- struct{}{} })
	r.send(&wamp.Unregistered{Details: wamp.Dict{"registration": int64(5), "reason": "wamp.error.removed"}})
	r.send(&wamp.Unsubscribed{Details: wamp.Dict{"subscription": int64(6), "reason": "wamp.error.removed"}})
	r.send(&wamp.Invocation{Request: 1, Registration: 5, Details: wamp.Dict{}})
	if e := expect[*wamp.ErrorMessage](r); e.Error != wamp.ErrNoSuchRegistration {
		t.Errorf("invocation after revocation: %+v", e)
	}
	r.send(&wamp.Event{Subscription: 6, Publication: 1, Details: wamp.Dict{}})
	select {
	case <-got:
		t.Error("event delivered after revocation")
	case <-time.After(50 * time.Millisecond):
	}
	if err := s.Unsubscribe(t.Context(), sub); err == nil {
		t.Error("Unsubscribe of a revoked subscription succeeded")
	}
}

// sessionGoroutines returns the stacks of goroutines running code of a
// Session, after waiting a little for them to end.
func sessionGoroutines() string {
	var stacks string
	for range 100 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "client.(*Session)") {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stacks
}

func TestNoGoroutineLeak(t *testing.T) {
	if g := sessionGoroutines(); g != "" {
		t.Fatalf("session goroutines left by earlier tests:\n%s", g)
	}
	before := runtime.NumGoroutine()
	s, r := join(t, nil)
	register(t, s, r, "com.example.h", 5, func(context.Context, *Invocation) (*Result, error) { return nil, nil })
	subscribe(t, s, r, "com.example.t", 6, func(*Event) {})
	r.send(&wamp.Invocation{Request: 1, Registration: 5, Details: wamp.Dict{}})
	expect[*wamp.Yield](r)
	r.send(&wamp.Event{Subscription: 6, Publication: 1, Details: wamp.Dict{}})
	done := async(func() error { return s.Leave(t.Context()) })
	expect[*wamp.Goodbye](r)
	r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	if g := sessionGoroutines(); g != "" {
		t.Fatalf("session goroutines after Leave:\n%s", g)
	}
	var after int
	for range 100 {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines: %d before, %d after Leave", before, after)
}
