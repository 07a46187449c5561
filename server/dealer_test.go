package server

import (
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

func TestCallYieldResult(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller := join(t, r), join(t, r)
	regID := callee.register("com.example.add", nil)
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.add",
		Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"bin": []byte{0, 1}}})
	inv := expect[*wamp.Invocation](callee)
	if inv.Registration != regID || inv.Args[0] != int64(2) || inv.Args[1] != int64(3) {
		t.Fatalf("INVOCATION %+v", inv)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{int64(5)}})
	res := expect[*wamp.Result](caller)
	if res.Request != 3 || res.Args[0] != int64(5) {
		t.Fatalf("RESULT %+v", res)
	}
}

func TestCalleeErrorReachesCallerUnchanged(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller := join(t, r), join(t, r)
	callee.register("com.example.fail", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.fail"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{},
		Error: "com.example.error.overflow", Args: wamp.List{"too big", int64(7)}, Kwargs: wamp.Dict{"limit": int64(5)}})
	e := caller.expectError(wamp.TypeCall, 1, "com.example.error.overflow")
	if e.Args[0] != "too big" || e.Args[1] != int64(7) || e.Kwargs["limit"] != int64(5) {
		t.Fatalf("ERROR payload %v %v", e.Args, e.Kwargs)
	}
}

func TestRegistrationErrors(t *testing.T) {
	r := newTestRouter(t, Config{})
	a, b := join(t, r), join(t, r)
	id := a.register("com.example.p", nil)
	b.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.p"})
	b.expectError(wamp.TypeRegister, 1, wamp.ErrProcedureAlreadyExists)
	b.send(&wamp.Register{Request: 2, Options: wamp.Dict{}, Procedure: "com..p"})
	b.expectError(wamp.TypeRegister, 2, wamp.ErrInvalidURI)
	b.send(&wamp.Register{Request: 3, Options: wamp.Dict{}, Procedure: "wamp.session.count"})
	b.expectError(wamp.TypeRegister, 3, wamp.ErrNotAuthorized)
	// Another session cannot unregister a's registration.
	b.send(&wamp.Unregister{Request: 4, Registration: id})
	b.expectError(wamp.TypeUnregister, 4, wamp.ErrNoSuchRegistration)
	a.send(&wamp.Unregister{Request: 5, Registration: id})
	if u := expect[*wamp.Unregistered](a); u.Request != 5 {
		t.Fatalf("UNREGISTERED %+v", u)
	}
	b.send(&wamp.Call{Request: 6, Options: wamp.Dict{}, Procedure: "com.example.p"})
	b.expectError(wamp.TypeCall, 6, wamp.ErrNoSuchProcedure)
	b.send(&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "not a uri"})
	b.expectError(wamp.TypeCall, 7, wamp.ErrInvalidURI)
	b.register("com.example.p", nil)
}

func TestCalleeLeavingFailsPendingCalls(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := join(t, r)
	callers := []*rawClient{join(t, r), join(t, r)}
	callee.register("com.example.slow", nil)
	for i, c := range callers {
		c.send(&wamp.Call{Request: wamp.ID(10 + i), Options: wamp.Dict{}, Procedure: "com.example.slow"})
		expect[*wamp.Invocation](callee)
	}
	callee.peer.Close()
	for i, c := range callers {
		c.expectError(wamp.TypeCall, wamp.ID(10+i), wamp.ErrCanceled)
	}
	callers[0].send(&wamp.Call{Request: 20, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	callers[0].expectError(wamp.TypeCall, 20, wamp.ErrNoSuchProcedure)
}

func TestCallerLeavingInterruptsCallee(t *testing.T) {
	r := newTestRouter(t, Config{})
	roles := wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"call_canceling": true}}}
	callee := joinWith(t, r, "realm1", roles)
	caller := join(t, r)
	callee.register("com.example.slow", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	inv := expect[*wamp.Invocation](callee)
	caller.peer.Close()
	in := expect[*wamp.Interrupt](callee)
	if in.Request != inv.Request || in.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v, want killnowait for %d", in, inv.Request)
	}
	// The late YIELD goes nowhere and harms nothing.
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	callee.register("com.example.other", nil)
}

// TestCallerLeavingSparesPlainCallee: a callee that did not announce call
// canceling gets no INTERRUPT when its caller leaves; its later YIELD is
// dropped, and it goes on serving.
func TestCallerLeavingSparesPlainCallee(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := join(t, r) // announces no call canceling
	caller := join(t, r)
	callee.register("com.example.slow", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.slow", Args: wamp.List{"first"}})
	inv := callee.invocation("first")
	caller.peer.Close()
	select {
	case <-caller.done: // the router has withdrawn the caller's calls
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's session did not end")
	}
	callee.sync() // no INTERRUPT came first

	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"late"}})
	callee.sync() // nor an ERROR or ABORT for the late YIELD
	if n := r.Stats().CallsInFlight; n != 0 {
		t.Fatalf("%d calls in flight, want 0", n)
	}

	other := join(t, r)
	other.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.slow", Args: wamp.List{"second"}})
	inv = callee.invocation("second")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"done"}})
	if res := expect[*wamp.Result](other); res.Request != 1 || res.Args[0] != "done" {
		t.Fatalf("RESULT %+v", res)
	}
}

func TestYieldFromAnotherSessionIsIgnored(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller, intruder := join(t, r), join(t, r), join(t, r)
	callee.register("com.example.p", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.p"})
	inv := expect[*wamp.Invocation](callee)
	intruder.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"forged"}})
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"real"}})
	if res := expect[*wamp.Result](caller); res.Args[0] != "real" {
		t.Fatalf("caller got %v", res.Args)
	}
}

func TestDuplicatePendingRequestIDAborts(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller := join(t, r), join(t, r)
	callee.register("com.example.p", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.p"})
	expect[*wamp.Invocation](callee)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.p"})
	caller.expectAbort(wamp.ErrProtocolViolation)
	// The callee's invocation was withdrawn when the caller went.
	callee.register("com.example.q", nil)
}

func TestMaxPendingCalls(t *testing.T) {
	r := newTestRouter(t, Config{MaxPendingCalls: 2})
	callee, caller := join(t, r), join(t, r)
	callee.register("com.example.p", nil)
	for i := 1; i <= 2; i++ {
		caller.send(&wamp.Call{Request: wamp.ID(i), Options: wamp.Dict{}, Procedure: "com.example.p"})
		expect[*wamp.Invocation](callee)
	}
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.p"})
	caller.expectError(wamp.TypeCall, 3, wamp.ErrUnavailable)
}

func TestCancelModes(t *testing.T) {
	r := newTestRouter(t, Config{})
	roles := wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"call_cancelling": true}}}
	callee := joinWith(t, r, "realm1", roles)
	plain := join(t, r) // announces no call canceling
	caller := join(t, r)
	callee.register("com.example.c", nil)
	plain.register("com.example.plain", nil)

	// killnowait: INTERRUPT to the callee, ERROR canceled to the caller now.
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.c"})
	inv := expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: 1, Options: wamp.Dict{"mode": "killnowait"}})
	caller.expectError(wamp.TypeCall, 1, wamp.ErrCanceled)
	if in := expect[*wamp.Interrupt](callee); in.Request != inv.Request || in.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v, want mode killnowait", in)
	}

	// kill: the callee's answer to INTERRUPT ends the call.
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.c"})
	inv = expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: 2, Options: wamp.Dict{"mode": "kill"}})
	if in := expect[*wamp.Interrupt](callee); in.Request != inv.Request || in.Options["mode"] != "kill" {
		t.Fatalf("INTERRUPT %+v, want mode kill", in)
	}
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: wamp.ErrCanceled, Args: wamp.List{"stopped"}})
	if e := caller.expectError(wamp.TypeCall, 2, wamp.ErrCanceled); e.Args[0] != "stopped" {
		t.Fatalf("ERROR %v", e.Args)
	}

	// A callee without call canceling gets no INTERRUPT, whatever the mode.
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.plain"})
	inv = expect[*wamp.Invocation](plain)
	caller.send(&wamp.Cancel{Request: 3, Options: wamp.Dict{"mode": "kill"}})
	caller.expectError(wamp.TypeCall, 3, wamp.ErrCanceled)
	plain.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	if m := plain.register("com.example.after", nil); m == 0 {
		t.Fatal("no registration")
	}

	// Bad mode.
	caller.send(&wamp.Cancel{Request: 9, Options: wamp.Dict{"mode": "nuke"}})
	caller.expectError(wamp.TypeCancel, 9, wamp.ErrInvalidArgument)
}

func TestOrderBetweenPairIsKept(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub, sub := join(t, r), join(t, r)
	sub.subscribe("com.example.seq", nil)
	const n = 500
	go func() {
		for i := range n {
			pub.peer.Send(&wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Topic: "com.example.seq", Args: wamp.List{int64(i)}})
		}
	}()
	for i := range n {
		ev := expect[*wamp.Event](sub)
		if ev.Args[0] != int64(i) {
			t.Fatalf("event %d carries %v", i, ev.Args[0])
		}
	}
}

func TestMaxSubscriptionsAndRegistrations(t *testing.T) {
	r := newTestRouter(t, Config{MaxSubscriptions: 2, MaxRegistrations: 2})
	c := join(t, r)
	c.subscribe("com.example.t1", nil)
	c.subscribe("com.example.t2", nil)
	c.subscribe("com.example.t1", nil) // already held: not a new one
	c.send(&wamp.Subscribe{Request: 100, Options: wamp.Dict{}, Topic: "com.example.t3"})
	c.expectError(wamp.TypeSubscribe, 100, wamp.ErrUnavailable)
	c.register("com.example.p1", nil)
	c.register("com.example.p2", nil)
	c.send(&wamp.Register{Request: 101, Options: wamp.Dict{}, Procedure: "com.example.p3"})
	c.expectError(wamp.TypeRegister, 101, wamp.ErrUnavailable)
	// Another session has its own allowance.
	join(t, r).subscribe("com.example.t3", nil)
}
