//go:build !js

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// These tests run each advanced-profile feature of the client against
// the real router, over WebSocket.

// joinN joins n sessions to one router.
func joinN(t *testing.T, tr *testRouter, n int) []*Session {
	t.Helper()
	out := make([]*Session, n)
	for i := range out {
		out[i] = joinURL(t, tr.wsURL("/ws"), nil)
	}
	return out
}

func mustRegister(t *testing.T, s *Session, proc wamp.URI, h Handler, opts ...Option) *Registration {
	t.Helper()
	reg, err := s.Register(t.Context(), proc, h, opts...)
	if err != nil {
		t.Fatalf("register %s: %v", proc, err)
	}
	return reg
}

func TestWelcomeAnnouncesAdvancedRouter(t *testing.T) {
	s := joinN(t, startRouter(t), 1)[0]
	l := s.current()
	for _, f := range []string{"progressive_call_results", "progressive_call_invocations", "call_timeout", "call_canceling"} {
		if !l.routerHas("dealer", f) {
			t.Errorf("router does not announce dealer feature %s", f)
		}
	}
}

func TestProgressiveCallResults(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	var noProgress error
	mustRegister(t, callee, "com.example.count", func(ctx context.Context, inv *Invocation) (*Result, error) {
		if !inv.WantsProgress() {
			noProgress = inv.Progress(wamp.List{"x"}, nil)
			return &Result{Args: wamp.List{"final only"}}, nil
		}
		for i := range 3 {
			if err := inv.Progress(wamp.List{int64(i + 1)}, wamp.Dict{"step": int64(i + 1)}); err != nil {
				return nil, err
			}
		}
		return &Result{Args: wamp.List{"done"}}, nil
	})

	var got []any
	res, err := caller.Call(t.Context(), "com.example.count", nil, nil, Progress(func(r *Result) {
		if r.Details["progress"] != true || r.Kwargs["step"] != r.Args[0] {
			t.Errorf("progressive result %+v", r)
		}
		got = append(got, r.Args[0])
	}))
	if err != nil || res.Args[0] != "done" {
		t.Fatalf("call = %+v, %v", res, err)
	}
	if want := []any{int64(1), int64(2), int64(3)}; !reflect.DeepEqual(got, want) {
		t.Errorf("progress = %v, want %v (all before Call returned)", got, want)
	}

	res, err = caller.Call(t.Context(), "com.example.count", nil, nil)
	if err != nil || res.Args[0] != "final only" || !errors.Is(noProgress, ErrNoProgress) {
		t.Errorf("call without Progress = %+v, %v; Progress in the callee: %v", res, err, noProgress)
	}
}

func TestProgressiveCallInvocations(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	mustRegister(t, callee, "com.example.sum", func(ctx context.Context, inv *Invocation) (*Result, error) {
		sum, _ := wamp.AsInt(inv.Args[0])
		parts := 1
		for {
			if inv.WantsProgress() {
				if err := inv.Progress(wamp.List{sum}, nil); err != nil {
					return nil, err
				}
			}
			p, err := inv.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			n, _ := wamp.AsInt(p.Args[0])
			sum += n
			parts++
			if p.Final != (parts == 3) && inv.Details["progress"] == true {
				return nil, fmt.Errorf("part %d: Final %v", parts, p.Final)
			}
		}
		return &Result{Args: wamp.List{sum, int64(parts)}}, nil
	})

	var seen []any
	cs, err := caller.CallStream(t.Context(), "com.example.sum", Progress(func(r *Result) { seen = append(seen, r.Args[0]) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{1, 2} {
		if err := cs.Send(wamp.List{n}, nil); err != nil {
			t.Fatalf("Send(%d): %v", n, err)
		}
	}
	res, err := cs.Close(wamp.List{int64(3)}, nil)
	if err != nil || !reflect.DeepEqual(res.Args, wamp.List{int64(6), int64(3)}) {
		t.Fatalf("Close = %+v, %v; want sum 6 of 3 parts", res, err)
	}
	if want := []any{int64(1), int64(3), int64(6)}; !reflect.DeepEqual(seen, want) {
		t.Errorf("progress = %v, want %v", seen, want)
	}
	if err := cs.Send(wamp.List{int64(4)}, nil); err == nil {
		t.Error("Send after Close succeeded")
	}
	if _, err := cs.Close(nil, nil); err == nil {
		t.Error("second Close succeeded")
	}

	// Close without Send is a plain call.
	cs, err = caller.CallStream(t.Context(), "com.example.sum")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cs.Close(wamp.List{int64(5)}, nil); err != nil || !reflect.DeepEqual(res.Args, wamp.List{int64(5), int64(1)}) {
		t.Errorf("Close alone = %+v, %v", res, err)
	}
}

func TestCallStreamAnsweredEarly(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	var mu sync.Mutex
	var calls []any
	mustRegister(t, callee, "com.example.first", func(ctx context.Context, inv *Invocation) (*Result, error) {
		mu.Lock()
		calls = append(calls, inv.Args[0])
		mu.Unlock()
		return &Result{Args: inv.Args}, nil // without waiting for the other parts
	})
	cs, err := caller.CallStream(t.Context(), "com.example.first")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(wamp.List{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"b", "c"} {
		if err := cs.Send(wamp.List{p}, nil); err != nil && !errors.Is(err, ErrCallAnswered) {
			t.Fatalf("Send(%s): %v", p, err)
		}
	}
	if res, err := cs.Close(wamp.List{"d"}, nil); err != nil || res.Args[0] != "a" {
		t.Fatalf("Close = %+v, %v; want the early answer", res, err)
	}
	// Parts that crossed the answer start no new invocation.
	if res, err := caller.Call(t.Context(), "com.example.first", wamp.List{"next"}, nil); err != nil || res.Args[0] != "next" {
		t.Fatalf("next call = %+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []any{"a", "next"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("handler ran for %v, want %v", calls, want)
	}
}

// blocker is a procedure that blocks until its ctx ends or it is released,
// and reports how it ended.
type blocker struct {
	entered  chan struct{}
	release  chan struct{}
	causes   chan error // context.Cause when interrupted, nil when released
	finished chan struct{}
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}, 1), release: make(chan struct{}), causes: make(chan error, 1), finished: make(chan struct{}, 1)}
}

func (b *blocker) handle(ctx context.Context, _ *Invocation) (*Result, error) {
	b.entered <- struct{}{}
	defer func() { b.finished <- struct{}{} }()
	select {
	case <-ctx.Done():
		b.causes <- context.Cause(ctx)
		return nil, ctx.Err()
	case <-b.release:
		b.causes <- nil
		return &Result{Args: wamp.List{"finished"}}, nil
	}
}

func TestCallTimeout(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	b := newBlocker()
	mustRegister(t, callee, "com.example.slow", b.handle)
	start := time.Now()
	_, err := caller.Call(t.Context(), "com.example.slow", nil, nil, WithTimeout(100*time.Millisecond))
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrTimeout {
		t.Fatalf("call = %v, want wamp.error.timeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %v, want 100ms", d)
	}
	cause := within(t, b.causes)
	if ie, ok := errors.AsType[*InterruptError](cause); !ok || ie.Reason != wamp.ErrTimeout || ie.Mode != CancelKillNoWait {
		t.Errorf("callee's cause = %v, want an interrupt for timeout", cause)
	}
}

func TestCancelModes(t *testing.T) {
	tr := startRouter(t)
	for _, mode := range []string{"", CancelSkip, CancelKill, CancelKillNoWait} {
		name := mode
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			ss := joinN(t, tr, 2)
			callee, caller := ss[0], ss[1]
			b := newBlocker()
			proc := wamp.URI("com.example.cancel." + name)
			mustRegister(t, callee, proc, b.handle)
			ctx, cancel := context.WithCancel(t.Context())
			var opts []Option
			if mode != "" {
				opts = append(opts, CancelMode(mode))
			}
			done := async(func() error { _, err := caller.Call(ctx, proc, nil, nil, opts...); return err })
			within(t, b.entered)
			start := time.Now()
			cancel()
			if err := within(t, done); !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled call = %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Call returned %v after cancel", d)
			}
			if mode == CancelSkip {
				select {
				case c := <-b.causes:
					t.Fatalf("skip interrupted the callee: %v", c)
				case <-time.After(100 * time.Millisecond):
				}
				close(b.release)
				if c := within(t, b.causes); c != nil {
					t.Errorf("cause %v", c)
				}
			} else {
				want := mode
				if want == "" {
					want = CancelKillNoWait
				}
				cause := within(t, b.causes)
				if ie, ok := errors.AsType[*InterruptError](cause); !ok || ie.Mode != want || ie.Reason != wamp.ErrCanceled {
					t.Errorf("callee's cause = %v, want an interrupt in mode %s", cause, want)
				}
			}
			within(t, b.finished)
			// The caller goes on.
			mustRegister(t, callee, proc+".next", echo)
			if res, err := caller.Call(t.Context(), proc+".next", wamp.List{"ok"}, nil); err != nil || res.Args[0] != "ok" {
				t.Errorf("next call = %+v, %v", res, err)
			}
		})
	}
}

func TestCallerIdentification(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	who := func(_ context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{int64(inv.Caller()), inv.Details["caller_authid"], inv.Details["caller_authrole"]}}, nil
	}
	mustRegister(t, callee, "com.example.who", who)
	mustRegister(t, callee, "com.example.who.always", who, DiscloseCaller())
	disclosed := wamp.List{int64(caller.ID()), caller.Details()["authid"], "anonymous"}
	for _, tt := range []struct {
		proc wamp.URI
		opts []Option
		want wamp.List
	}{
		{"com.example.who", []Option{DiscloseMe()}, disclosed},
		{"com.example.who", nil, wamp.List{int64(0), nil, nil}},
		{"com.example.who.always", nil, disclosed},
	} {
		res, err := caller.Call(t.Context(), tt.proc, nil, nil, tt.opts...)
		if err != nil || !reflect.DeepEqual(res.Args, tt.want) {
			t.Errorf("%s with %d options = %+v, %v; want %v", tt.proc, len(tt.opts), res, err, tt.want)
		}
	}
}

func TestPatternBasedRegistration(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, caller := ss[0], ss[1]
	named := func(name string) Handler {
		return func(_ context.Context, inv *Invocation) (*Result, error) {
			return &Result{Args: wamp.List{name, string(inv.Procedure())}}, nil
		}
	}
	mustRegister(t, callee, "com.example.math.add", named("exact"))
	mustRegister(t, callee, "com.example.math", named("prefix"), Match(wamp.MatchPrefix))
	mustRegister(t, callee, "com.example", named("short prefix"), Match(wamp.MatchPrefix))
	mustRegister(t, callee, "com..add", named("wildcard"), Match(wamp.MatchWildcard))
	for proc, want := range map[wamp.URI]wamp.List{
		"com.example.math.add": {"exact", "com.example.math.add"},
		"com.example.math.sub": {"prefix", "com.example.math.sub"},
		"com.example.other":    {"short prefix", "com.example.other"},
		"com.other.add":        {"wildcard", "com.other.add"},
	} {
		res, err := caller.Call(t.Context(), proc, nil, nil)
		if err != nil || !reflect.DeepEqual(res.Args, want) {
			t.Errorf("call %s = %+v, %v; want %v", proc, res, err, want)
		}
	}
}

func TestSharedRegistration(t *testing.T) {
	tr := startRouter(t)
	for _, policy := range []string{"roundrobin", "first", "last", "random"} {
		t.Run(policy, func(t *testing.T) {
			ss := joinN(t, tr, 4)
			proc := wamp.URI("com.example.shared." + policy)
			for i, s := range ss[:3] {
				mustRegister(t, s, proc, func(context.Context, *Invocation) (*Result, error) {
					return &Result{Args: wamp.List{int64(i)}}, nil
				}, Invoke(policy))
			}
			var order []int64
			counts := make([]int, 3)
			calls := 9
			if policy == "random" {
				calls = 60 // each callee missed with probability 3·(2/3)^60, about 1e-10
			}
			for range calls {
				res, err := ss[3].Call(t.Context(), proc, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := res.Args[0].(int64)
				order = append(order, n)
				counts[n]++
			}
			switch policy {
			case "roundrobin":
				if !reflect.DeepEqual(order, []int64{0, 1, 2, 0, 1, 2, 0, 1, 2}) {
					t.Errorf("roundrobin order %v", order)
				}
			case "first":
				if counts[0] != 9 {
					t.Errorf("first: counts %v", counts)
				}
			case "last":
				if counts[2] != 9 {
					t.Errorf("last: counts %v", counts)
				}
			case "random":
				if slices.Contains(counts, 0) {
					t.Errorf("random: counts %v, want every callee called", counts)
				}
			}
			// Another policy for the same procedure is refused.
			_, err := ss[3].Register(t.Context(), proc, echo, Invoke("single"))
			if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrProcedureExistsOtherPolicy {
				t.Errorf("register with another policy: %v", err)
			}
		})
	}
	ss := joinN(t, tr, 2)
	mustRegister(t, ss[0], "com.example.single", echo)
	if _, err := ss[1].Register(t.Context(), "com.example.single", echo); !errors.Is(err, &wamp.Error{URI: wamp.ErrProcedureAlreadyExists}) {
		t.Errorf("second single registration: %v", err)
	}
}

func TestRegistrationRevocation(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	callee, admin := ss[0], ss[1]
	reg := mustRegister(t, callee, "com.example.revoked", echo)
	select {
	case <-reg.Revoked():
		t.Fatal("revoked at once")
	default:
	}
	if _, err := admin.Call(t.Context(), "wamp.registration.remove_callee",
		wamp.List{int64(reg.ID()), int64(callee.ID()), "maintenance"}, nil); err != nil {
		t.Fatal(err)
	}
	within(t, reg.Revoked())
	if got := reg.RevokeReason(); got != "maintenance" {
		t.Errorf("RevokeReason() = %q", got)
	}
	if _, err := admin.Call(t.Context(), "com.example.revoked", nil, nil); !errors.Is(err, &wamp.Error{URI: wamp.ErrNoSuchProcedure}) {
		t.Errorf("call after revocation: %v", err)
	}
	if err := callee.Unregister(t.Context(), reg); err == nil {
		t.Error("Unregister of a revoked registration succeeded")
	}
}

// recorder collects event labels (Args[0]) and the events.
type recorder struct {
	mu     sync.Mutex
	labels []any
	events []*Event
	got    chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 100)} }

func (r *recorder) handle(ev *Event) {
	r.mu.Lock()
	r.labels = append(r.labels, ev.Args[0])
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.got <- struct{}{}
}

// waitFor waits until label arrived and returns the labels so far.
func (r *recorder) waitFor(t *testing.T, label any) []any {
	t.Helper()
	for {
		r.mu.Lock()
		if slices.Contains(r.labels, label) {
			defer r.mu.Unlock()
			return slices.Clone(r.labels)
		}
		r.mu.Unlock()
		within(t, r.got)
	}
}

func (r *recorder) event(label any) *Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Args[0] == label {
			return ev
		}
	}
	return nil
}

func mustSubscribe(t *testing.T, s *Session, topic wamp.URI, h EventHandler, opts ...Option) *Subscription {
	t.Helper()
	sub, err := s.Subscribe(t.Context(), topic, h, opts...)
	if err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	return sub
}

func mustPublish(t *testing.T, s *Session, topic wamp.URI, label string, opts ...Option) {
	t.Helper()
	if err := s.Publish(t.Context(), topic, wamp.List{label}, nil, append(opts, Acknowledge())...); err != nil {
		t.Fatalf("publish %s: %v", label, err)
	}
}

func TestPublisherIdentificationAndExclusion(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	pub, sub := ss[0], ss[1]
	rs, rp := newRecorder(), newRecorder()
	mustSubscribe(t, sub, "com.example.news", rs.handle)
	mustSubscribe(t, pub, "com.example.news", rp.handle)
	mustPublish(t, pub, "com.example.news", "disclosed", DiscloseMe())
	mustPublish(t, pub, "com.example.news", "anonymous")
	mustPublish(t, pub, "com.example.news", "to me too", ExcludeMe(false))
	rs.waitFor(t, "to me too")
	if ev := rs.event("disclosed"); ev.Publisher() != pub.ID() || ev.Details["publisher_authid"] != pub.Details()["authid"] {
		t.Errorf("disclosed event: Publisher() = %d, details %v; want %d", ev.Publisher(), ev.Details, pub.ID())
	}
	if ev := rs.event("anonymous"); ev.Publisher() != 0 {
		t.Errorf("undisclosed event: Publisher() = %d", ev.Publisher())
	}
	if got := rp.waitFor(t, "to me too"); !reflect.DeepEqual(got, []any{"to me too"}) {
		t.Errorf("publisher received %v, want only the one with ExcludeMe(false)", got)
	}
}

func TestSubscriberBlackWhiteListing(t *testing.T) {
	ss := joinN(t, startRouter(t), 4)
	pub, subs := ss[0], ss[1:]
	recs := make([]*recorder, 3)
	for i, s := range subs {
		recs[i] = newRecorder()
		mustSubscribe(t, s, "com.example.list", recs[i].handle)
	}
	authid := func(s *Session) string { return s.Details()["authid"].(string) }
	publications := []struct {
		label string
		opt   Option
	}{
		{"exclude 0", Exclude(subs[0].ID())},
		{"eligible 0 1", Eligible(subs[0].ID(), subs[1].ID())},
		{"exclude authid 1", ExcludeAuthID(authid(subs[1]))},
		{"eligible authid 2", EligibleAuthID(authid(subs[2]))},
		{"exclude anonymous", ExcludeAuthRole("anonymous")},
		{"eligible anonymous", EligibleAuthRole("anonymous")},
		{"end", nil},
	}
	for _, p := range publications {
		mustPublish(t, pub, "com.example.list", p.label, p.opt)
	}
	want := [][]any{
		{"eligible 0 1", "exclude authid 1", "eligible anonymous", "end"},
		{"exclude 0", "eligible 0 1", "eligible anonymous", "end"},
		{"exclude 0", "exclude authid 1", "eligible authid 2", "eligible anonymous", "end"},
	}
	for i, r := range recs {
		if got := r.waitFor(t, "end"); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("subscriber %d received %v, want %v", i, got, want[i])
		}
	}
}

func TestPatternBasedSubscription(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	pub, sub := ss[0], ss[1]
	exact, prefix, wildcard := newRecorder(), newRecorder(), newRecorder()
	mustSubscribe(t, sub, "com.example.a.update", exact.handle)
	mustSubscribe(t, sub, "com.example", prefix.handle, Match(wamp.MatchPrefix))
	mustSubscribe(t, sub, "com..update", wildcard.handle, Match(wamp.MatchWildcard))
	mustPublish(t, pub, "com.example.a.update", "a")
	mustPublish(t, pub, "com.other.update", "b")
	prefix.waitFor(t, "a")
	wildcard.waitFor(t, "b")
	exact.waitFor(t, "a")
	for name, tt := range map[string]struct {
		r     *recorder
		label string
		topic wamp.URI
	}{
		"exact":    {exact, "a", "com.example.a.update"},
		"prefix":   {prefix, "a", "com.example.a.update"},
		"wildcard": {wildcard, "b", "com.other.update"},
	} {
		if got := tt.r.event(tt.label).Topic(); got != tt.topic {
			t.Errorf("%s: Topic() = %q, want %q", name, got, tt.topic)
		}
	}
	if ev := exact.event("a"); ev.Details["topic"] != nil {
		t.Errorf("exact subscription got details %v", ev.Details)
	}
}

func TestEventRetention(t *testing.T) {
	ss := joinN(t, startRouter(t), 3)
	pub, late, plain := ss[0], ss[1], ss[2]
	mustPublish(t, pub, "com.example.state", "v1", Retain())
	mustPublish(t, pub, "com.example.state", "v2", Retain())
	mustPublish(t, pub, "com.example.state", "not kept")
	r, p := newRecorder(), newRecorder()
	mustSubscribe(t, late, "com.example.state", r.handle, GetRetained())
	mustSubscribe(t, plain, "com.example.state", p.handle)
	mustPublish(t, pub, "com.example.state", "v3")
	if got := r.waitFor(t, "v3"); !reflect.DeepEqual(got, []any{"v2", "v3"}) {
		t.Errorf("late subscriber received %v, want the retained v2, then v3", got)
	}
	if !r.event("v2").Retained() || r.event("v3").Retained() {
		t.Errorf("Retained(): v2 %v, v3 %v", r.event("v2").Retained(), r.event("v3").Retained())
	}
	if got := p.waitFor(t, "v3"); !reflect.DeepEqual(got, []any{"v3"}) {
		t.Errorf("subscriber without GetRetained received %v", got)
	}
}

func TestSubscriptionRevocation(t *testing.T) {
	ss := joinN(t, startRouter(t), 2)
	sub, admin := ss[0], ss[1]
	r := newRecorder()
	s := mustSubscribe(t, sub, "com.example.revoked", r.handle)
	if _, err := admin.Call(t.Context(), "wamp.subscription.remove_subscriber",
		wamp.List{int64(s.ID()), int64(sub.ID()), "bye"}, nil); err != nil {
		t.Fatal(err)
	}
	within(t, s.Revoked())
	if got := s.RevokeReason(); got != "bye" {
		t.Errorf("RevokeReason() = %q", got)
	}
	mustSubscribe(t, sub, "com.example.marker", r.handle)
	mustPublish(t, admin, "com.example.revoked", "after")
	mustPublish(t, admin, "com.example.marker", "marker")
	if got := r.waitFor(t, "marker"); !reflect.DeepEqual(got, []any{"marker"}) {
		t.Errorf("received %v after the revocation", got)
	}
}
