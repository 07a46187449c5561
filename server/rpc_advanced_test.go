package server

import (
	"fmt"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

func TestProgressiveCallResults(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinAs(t, r, "callee", "progressive_call_results", "call_canceling")
	caller := join(t, r)
	callee.register("com.example.stream", nil)

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.stream", Args: wamp.List{"go"}})
	inv := callee.invocation("go")
	if inv.Details["receive_progress"] != true {
		t.Fatalf("INVOCATION.Details %v lacks receive_progress", inv.Details)
	}
	for i := range 3 {
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{int64(i)}})
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"done"}})
	for i := range 3 {
		res := expect[*wamp.Result](caller)
		if res.Request != 1 || res.Details["progress"] != true || res.Args[0] != int64(i) {
			t.Fatalf("progressive RESULT %d: %+v", i, res)
		}
	}
	res := expect[*wamp.Result](caller)
	if res.Request != 1 || res.Details["progress"] != nil || res.Args[0] != "done" {
		t.Fatalf("final RESULT %+v", res)
	}

	// A caller that did not ask gets no progressive RESULT: the final one
	// comes alone, and the callee was not told it could stream.
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.stream", Args: wamp.List{"quiet"}})
	inv = callee.invocation("quiet")
	if _, ok := inv.Details["receive_progress"]; ok {
		t.Fatalf("INVOCATION.Details %v has receive_progress", inv.Details)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{"partial"}})
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"all"}})
	if res := expect[*wamp.Result](caller); res.Request != 2 || res.Args[0] != "all" || len(res.Details) != 0 {
		t.Fatalf("RESULT %+v", res)
	}

	// A callee that cannot be interrupted is not offered progressive
	// results (the specification ties them to call canceling).
	plain := joinAs(t, r, "callee", "progressive_call_results")
	plain.register("com.example.plain", nil)
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.plain", Args: wamp.List{"x"}})
	if inv := plain.invocation("x"); inv.Details["receive_progress"] != nil {
		t.Fatalf("INVOCATION.Details %v offers progress to a callee without call canceling", inv.Details)
	}
}

func TestProgressiveCallInvocations(t *testing.T) {
	r := newTestRouter(t, Config{})
	streaming := []string{"progressive_call_invocations", "progressive_call_results", "call_canceling"}
	a := joinAs(t, r, "callee", streaming...)
	b := joinAs(t, r, "callee", streaming...)
	caller := joinAs(t, r, "caller", "progressive_call_invocations")
	regID := a.register("com.example.upload", wamp.Dict{"invoke": "roundrobin"})
	b.register("com.example.upload", wamp.Dict{"invoke": "roundrobin"})

	// Every chunk goes to the callee of the first, with the same request ID.
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{"progress": true, "disclose_me": true, "receive_progress": true}, Procedure: "com.example.upload", Args: wamp.List{"chunk1"}})
	first := a.invocation("chunk1")
	if first.Registration != regID || first.Details["progress"] != true || first.Details["caller"] != id64(caller.id) || first.Details["receive_progress"] != true {
		t.Fatalf("first INVOCATION %+v", first)
	}
	a.send(&wamp.Yield{Request: first.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{"got 1"}})
	if res := expect[*wamp.Result](caller); res.Request != 7 || res.Details["progress"] != true || res.Args[0] != "got 1" {
		t.Fatalf("progressive RESULT %+v", res)
	}
	// Later chunks' options other than progress do not count.
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{"progress": true, "timeout": "ignored"}, Procedure: "com.example.upload", Args: wamp.List{"chunk2"}})
	second := a.invocation("chunk2")
	if second.Request != first.Request || second.Details["progress"] != true || second.Details["caller"] != id64(caller.id) {
		t.Fatalf("second INVOCATION %+v", second)
	}
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.upload", Args: wamp.List{"chunk3"}})
	last := a.invocation("chunk3")
	if last.Request != first.Request || last.Details["progress"] != nil {
		t.Fatalf("final INVOCATION %+v", last)
	}
	a.send(&wamp.Yield{Request: first.Request, Options: wamp.Dict{}, Args: wamp.List{"stored"}})
	if res := expect[*wamp.Result](caller); res.Request != 7 || res.Args[0] != "stored" || len(res.Details) != 0 {
		t.Fatalf("final RESULT %+v", res)
	}
	b.sync() // b got none of it

	// Once the last chunk is sent, the request ID is pending like any
	// other: a CALL reusing it breaks the protocol.
	caller.send(&wamp.Call{Request: 8, Options: wamp.Dict{}, Procedure: "com.example.upload", Args: wamp.List{"whole"}})
	inv := b.invocation("whole")
	caller.send(&wamp.Call{Request: 8, Options: wamp.Dict{"progress": true}, Procedure: "com.example.upload", Args: wamp.List{"more"}})
	caller.expectAbort(wamp.ErrProtocolViolation)
	if in := expect[*wamp.Interrupt](b); in.Request != inv.Request {
		t.Fatalf("INTERRUPT %+v", in)
	}
}

func TestProgressiveCallCanceledMidStream(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := joinAs(t, r, "callee", "progressive_call_invocations", "call_canceling")
	caller := joinAs(t, r, "caller", "progressive_call_invocations")
	callee.register("com.example.upload", nil)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"progress": true}, Procedure: "com.example.upload", Args: wamp.List{"part1"}})
	inv := callee.invocation("part1")
	caller.send(&wamp.Cancel{Request: 1, Options: wamp.Dict{}})
	caller.expectError(wamp.TypeCall, 1, wamp.ErrCanceled)
	if in := expect[*wamp.Interrupt](callee); in.Request != inv.Request {
		t.Fatalf("INTERRUPT %+v", in)
	}
	// Parts still in flight are dropped: they start no new call.
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"progress": true}, Procedure: "com.example.upload", Args: wamp.List{"part2"}})
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.upload", Args: wamp.List{"part3"}})
	caller.sync()
	callee.sync()
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.upload", Args: wamp.List{"next"}})
	callee.invocation("next")
}

func TestProgressiveCallInvocationsRefused(t *testing.T) {
	r := newTestRouter(t, Config{})
	plain := joinAs(t, r, "callee", "call_canceling")
	plain.register("com.example.p", nil)
	caller := joinAs(t, r, "caller", "progressive_call_invocations")
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"progress": true}, Procedure: "com.example.p"})
	caller.expectError(wamp.TypeCall, 1, wamp.ErrFeatureNotSupported)

	// A caller that did not announce the feature breaks the protocol.
	other := join(t, r)
	other.send(&wamp.Call{Request: 1, Options: wamp.Dict{"progress": true}, Procedure: "com.example.p"})
	other.expectAbort(wamp.ErrProtocolViolation)
}

// TestStreamedCallRefusedOnce: a streamed call whose first part is
// refused gets that one ERROR; its later parts are dropped, not refused
// one by one.
func TestStreamedCallRefusedOnce(t *testing.T) {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	user := RoleConfig{Name: "user", Permissions: []Permission{
		{URI: "", Match: "prefix", Allow: all},
		{URI: "com.example.denied", Allow: Actions{}},
	}}
	r := newTestRouter(t, Config{MaxPendingCalls: 1, Realms: []RealmConfig{
		{Name: "realm1", Roles: []RoleConfig{user}, Auth: AuthConfig{Anonymous: &AnonymousAuth{Role: "user"}}},
	}})
	plain := joinAs(t, r, "callee", "call_canceling") // takes no streamed calls
	plain.register("com.example.plain", nil)
	streaming := joinAs(t, r, "callee", "call_canceling", "progressive_call_invocations")
	streaming.register("com.example.stream", nil)
	caller := joinAs(t, r, "caller", "progressive_call_invocations")
	busy := joinAs(t, r, "caller", "progressive_call_invocations")
	busy.send(&wamp.Call{Request: 1000, Options: wamp.Dict{}, Procedure: "com.example.stream", Args: wamp.List{"pending"}})
	streaming.invocation("pending")

	for i, c := range []struct {
		caller *rawClient
		proc   wamp.URI
		opts   wamp.Dict
		want   wamp.URI
	}{
		{caller, "com.example.nobody", nil, wamp.ErrNoSuchProcedure},
		{caller, "com.example.plain", nil, wamp.ErrFeatureNotSupported},
		{caller, "wamp.session.count", nil, wamp.ErrFeatureNotSupported},
		{caller, "com.example.stream", wamp.Dict{"timeout": "soon"}, wamp.ErrInvalidArgument},
		{caller, "com.example..stream", nil, wamp.ErrInvalidURI},
		{caller, "com.example.denied", nil, wamp.ErrNotAuthorized},
		{busy, "com.example.stream", nil, wamp.ErrUnavailable}, // over MaxPendingCalls
	} {
		req := wamp.ID(100 + i)
		opts := wamp.Dict{"progress": true}
		maps.Copy(opts, c.opts)
		c.caller.send(&wamp.Call{Request: req, Options: opts, Procedure: c.proc, Args: wamp.List{"part1"}})
		c.caller.expectError(wamp.TypeCall, req, c.want)
		c.caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": true}, Procedure: c.proc, Args: wamp.List{"part2"}})
		c.caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": true}, Procedure: c.proc, Args: wamp.List{"part3"}})
		c.caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: c.proc, Args: wamp.List{"last"}})
		c.caller.sync() // its RESULT comes next: no ERROR for the later parts
		plain.sync()
	}
	streaming.sync() // none of the parts reached the callee
}

func TestCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestRouter(t, Config{})
		callee := joinAs(t, r, "callee", "call_canceling", "progressive_call_results")
		plain := join(t, r)
		caller := join(t, r)
		callee.register("com.example.slow", nil)
		plain.register("com.example.plain", nil)

		start := time.Now()
		caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"timeout": int64(500)}, Procedure: "com.example.slow", Args: wamp.List{"a"}})
		inv := callee.invocation("a")
		if inv.Details["timeout"] != int64(500) {
			t.Fatalf("INVOCATION.Details %v lacks timeout 500", inv.Details)
		}
		e := caller.expectError(wamp.TypeCall, 1, wamp.ErrTimeout)
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Fatalf("timed out after %v, want 500ms", d)
		}
		if len(e.Args) == 0 {
			t.Fatal("timeout ERROR without a message")
		}
		in := expect[*wamp.Interrupt](callee)
		if in.Request != inv.Request || in.Options["mode"] != "killnowait" || in.Options["reason"] != string(wamp.ErrTimeout) {
			t.Fatalf("INTERRUPT %+v", in)
		}
		// The late answer goes nowhere.
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"late"}})
		caller.sync()

		// A callee without call canceling gets no INTERRUPT.
		caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{"timeout": 300.0}, Procedure: "com.example.plain", Args: wamp.List{"b"}})
		plain.invocation("b")
		caller.expectError(wamp.TypeCall, 2, wamp.ErrTimeout)
		plain.sync()

		// An answer in time stops the timer.
		caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"timeout": int64(1000)}, Procedure: "com.example.slow", Args: wamp.List{"c"}})
		inv = callee.invocation("c")
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"ok"}})
		if res := expect[*wamp.Result](caller); res.Request != 3 {
			t.Fatalf("RESULT %+v", res)
		}
		time.Sleep(2 * time.Second)
		caller.sync()
		callee.sync()

		// Each progressive result restarts the timeout.
		caller.send(&wamp.Call{Request: 4, Options: wamp.Dict{"timeout": int64(100), "receive_progress": true}, Procedure: "com.example.slow", Args: wamp.List{"d"}})
		inv = callee.invocation("d")
		for i := range 3 {
			time.Sleep(80 * time.Millisecond)
			callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Args: wamp.List{int64(i)}})
			if res := expect[*wamp.Result](caller); res.Details["progress"] != true {
				t.Fatalf("RESULT %+v", res)
			}
		}
		start = time.Now()
		caller.expectError(wamp.TypeCall, 4, wamp.ErrTimeout)
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Fatalf("timed out %v after the last progressive result, want 100ms", d)
		}
		expect[*wamp.Interrupt](callee)

		caller.send(&wamp.Call{Request: 5, Options: wamp.Dict{"timeout": "soon"}, Procedure: "com.example.slow"})
		caller.expectError(wamp.TypeCall, 5, wamp.ErrInvalidArgument)
		caller.send(&wamp.Call{Request: 6, Options: wamp.Dict{"timeout": int64(-1)}, Procedure: "com.example.slow"})
		caller.expectError(wamp.TypeCall, 6, wamp.ErrInvalidArgument)
	})
}

func TestDefaultAndMaxCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestRouter(t, Config{DefaultCallTimeout: 2 * time.Second, MaxCallTimeout: 4 * time.Second})
		callee, caller := join(t, r), join(t, r)
		callee.register("com.example.slow", nil)

		start := time.Now()
		caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.slow", Args: wamp.List{"default"}})
		if inv := callee.invocation("default"); inv.Details["timeout"] != int64(2000) {
			t.Fatalf("INVOCATION.Details %v, want timeout 2000", inv.Details)
		}
		caller.expectError(wamp.TypeCall, 1, wamp.ErrTimeout)
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("default timeout after %v", d)
		}

		start = time.Now()
		caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{"timeout": int64(3_600_000)}, Procedure: "com.example.slow", Args: wamp.List{"capped"}})
		if inv := callee.invocation("capped"); inv.Details["timeout"] != int64(4000) {
			t.Fatalf("INVOCATION.Details %v, want timeout 4000", inv.Details)
		}
		caller.expectError(wamp.TypeCall, 2, wamp.ErrTimeout)
		if d := time.Since(start); d != 4*time.Second {
			t.Fatalf("capped timeout after %v", d)
		}
	})
}

func TestCancelStopsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestRouter(t, Config{})
		callee := joinAs(t, r, "callee", "call_canceling")
		caller := join(t, r)
		callee.register("com.example.c", nil)
		caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"timeout": int64(1000)}, Procedure: "com.example.c", Args: wamp.List{"x"}})
		inv := callee.invocation("x")
		caller.send(&wamp.Cancel{Request: 1, Options: wamp.Dict{"mode": "skip"}})
		caller.expectError(wamp.TypeCall, 1, wamp.ErrCanceled)
		time.Sleep(2 * time.Second)
		// Neither a timeout ERROR nor an INTERRUPT followed.
		caller.sync()
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		callee.sync()
	})
}

func TestCallerIdentification(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller := join(t, r), join(t, r)
	info := caller.call("wamp.session.get", wamp.List{id64(caller.id)}, nil).Args[0].(wamp.Dict)
	callee.register("com.example.who", nil)
	callee.register("com.example.always", wamp.Dict{"disclose_caller": true})

	check := func(inv *wamp.Invocation, disclosed bool) {
		t.Helper()
		if !disclosed {
			for _, k := range []string{"caller", "caller_authid", "caller_authrole"} {
				if _, ok := inv.Details[k]; ok {
					t.Fatalf("INVOCATION.Details %v discloses %s", inv.Details, k)
				}
			}
			return
		}
		if inv.Details["caller"] != id64(caller.id) || inv.Details["caller_authid"] != info["authid"] || inv.Details["caller_authrole"] != "anonymous" {
			t.Fatalf("INVOCATION.Details %v, want caller %d %v anonymous", inv.Details, caller.id, info["authid"])
		}
	}
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"disclose_me": true}, Procedure: "com.example.who", Args: wamp.List{1.0}})
	check(callee.invocation(1.0), true)
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.who", Args: wamp.List{2.0}})
	check(callee.invocation(2.0), false)
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.always", Args: wamp.List{3.0}})
	check(callee.invocation(3.0), true)
	caller.send(&wamp.Call{Request: 4, Options: wamp.Dict{"disclose_me": "yes"}, Procedure: "com.example.who"})
	caller.expectError(wamp.TypeCall, 4, wamp.ErrInvalidArgument)
}

func TestPatternRegistrationPrecedence(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee, caller := join(t, r), join(t, r)
	// The specification's example, with the wildcard registrations under
	// their own root (in the example, prefix a1.b2.c3 also matches
	// a1.b2.c3.d4.e5 and takes precedence), plus a wildcard that a prefix
	// hides.
	regs := []struct {
		uri   wamp.URI
		match string
	}{
		{"a1.b2.c3.d4.e55", "exact"},
		{"a1.b2.c3", "prefix"},
		{"a1.b2.c3.d4", "prefix"},
		{"x1.b2..d4.e5", "wildcard"},
		{"x1.b2.c3..e5", "wildcard"},
		{"x1.b2..d4.e5..g7", "wildcard"},
		{"x1.b2..d4..f6.g7", "wildcard"},
		{"a1.b2..d9", "wildcard"},
	}
	ids := make([]wamp.ID, len(regs))
	for i, reg := range regs {
		ids[i] = callee.register(reg.uri, wamp.Dict{"match": reg.match})
	}
	for i, tc := range []struct {
		call wamp.URI
		want int // index in regs
	}{
		{"a1.b2.c3.d4.e55", 0},
		{"a1.b2.c3.d98.e74", 1},
		{"a1.b2.c3.d4.e325", 2},
		{"a1.b2.c3.d4", 2},
		{"x1.b2.c55.d4.e5", 3},
		{"x1.b2.c3.d4.e5", 4},
		{"x1.b2.c88.d4.e5.f6.g7", 5},
		{"a1.b2.c3.d9", 1},
		{"a1.b2.c4.d9", 7},
	} {
		caller.send(&wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: tc.call, Args: wamp.List{int64(i)}})
		inv := callee.invocation(int64(i))
		if inv.Registration != ids[tc.want] {
			t.Fatalf("call %s went to registration %d, want %s (%d)", tc.call, inv.Registration, regs[tc.want].uri, ids[tc.want])
		}
		proc, has := inv.Details["procedure"]
		if regs[tc.want].match == "exact" && has || regs[tc.want].match != "exact" && proc != string(tc.call) {
			t.Fatalf("call %s: INVOCATION.Details %v", tc.call, inv.Details)
		}
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		expect[*wamp.Result](caller)
	}
	caller.callError("a2.b2.c2.d2.e2", nil, nil, wamp.ErrNoSuchProcedure)

	// A pattern is registered once per (URI, match) and may be unregistered.
	other := join(t, r)
	other.send(&wamp.Register{Request: 1, Options: wamp.Dict{"match": "prefix"}, Procedure: "a1.b2.c3"})
	other.expectError(wamp.TypeRegister, 1, wamp.ErrProcedureAlreadyExists)
	other.register("a1.b2.c3", wamp.Dict{"match": "wildcard"})
	other.send(&wamp.Register{Request: 2, Options: wamp.Dict{"match": "fuzzy"}, Procedure: "a1"})
	other.expectError(wamp.TypeRegister, 2, wamp.ErrInvalidArgument)
	other.send(&wamp.Register{Request: 3, Options: wamp.Dict{"match": "exact"}, Procedure: "a1..c"})
	other.expectError(wamp.TypeRegister, 3, wamp.ErrInvalidURI)
	callee.send(&wamp.Unregister{Request: 99, Registration: ids[2]})
	expect[*wamp.Unregistered](callee)
	caller.send(&wamp.Call{Request: 50, Options: wamp.Dict{}, Procedure: "a1.b2.c3.d4.e325", Args: wamp.List{"again"}})
	if inv := callee.invocation("again"); inv.Registration != ids[1] {
		t.Fatalf("after unregistering the longer prefix, call went to %d, want %d", inv.Registration, ids[1])
	}
}

// serve answers every INVOCATION c receives with YIELD [name], until the
// connection closes.
func serve(c *rawClient, name string) {
	go func() {
		for {
			m, err := c.peer.Recv()
			if err != nil {
				return
			}
			if inv, ok := m.(*wamp.Invocation); ok {
				c.peer.Send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{name}})
			}
		}
	}()
}

// spread makes n calls and counts the answers of each callee.
func spread(t *testing.T, caller *rawClient, proc wamp.URI, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		counts[caller.call(proc, nil, nil).Args[0].(string)]++
	}
	return counts
}

func TestSharedRegistrationPolicies(t *testing.T) {
	r := newTestRouter(t, Config{})
	caller := join(t, r)
	for _, policy := range []string{"roundrobin", "random", "first", "last"} {
		t.Run(policy, func(t *testing.T) {
			proc := wamp.URI("com.example." + policy)
			callees := make([]*rawClient, 3)
			for i := range callees {
				callees[i] = join(t, r)
				callees[i].register(proc, wamp.Dict{"invoke": policy})
				serve(callees[i], fmt.Sprint(i))
			}
			switch policy {
			case "roundrobin":
				if got := spread(t, caller, proc, 9); got["0"] != 3 || got["1"] != 3 || got["2"] != 3 {
					t.Fatalf("roundrobin spread 9 calls as %v", got)
				}
			case "random":
				if got := spread(t, caller, proc, 100); len(got) < 2 {
					t.Fatalf("random sent 100 calls as %v", got)
				}
			case "first":
				if got := spread(t, caller, proc, 5); got["0"] != 5 {
					t.Fatalf("first sent calls as %v", got)
				}
				callees[0].peer.Close()
				<-callees[0].done
				if got := spread(t, caller, proc, 5); got["1"] != 5 {
					t.Fatalf("first, after the first callee left, sent calls as %v", got)
				}
			case "last":
				if got := spread(t, caller, proc, 5); got["2"] != 5 {
					t.Fatalf("last sent calls as %v", got)
				}
				callees[2].peer.Close()
				<-callees[2].done
				if got := spread(t, caller, proc, 5); got["1"] != 5 {
					t.Fatalf("last, after the last callee left, sent calls as %v", got)
				}
			}
		})
	}
}

func TestSharedRegistrationConflicts(t *testing.T) {
	r := newTestRouter(t, Config{})
	a, b := join(t, r), join(t, r)
	a.register("com.example.shared", wamp.Dict{"invoke": "roundrobin"})
	b.send(&wamp.Register{Request: 1, Options: wamp.Dict{"invoke": "random"}, Procedure: "com.example.shared"})
	b.expectError(wamp.TypeRegister, 1, wamp.ErrProcedureExistsOtherPolicy)
	b.send(&wamp.Register{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.shared"})
	b.expectError(wamp.TypeRegister, 2, wamp.ErrProcedureExistsOtherPolicy)
	// The same callee cannot join a registration twice.
	a.send(&wamp.Register{Request: 3, Options: wamp.Dict{"invoke": "roundrobin"}, Procedure: "com.example.shared"})
	a.expectError(wamp.TypeRegister, 3, wamp.ErrProcedureAlreadyExists)

	a.register("com.example.single", nil)
	b.send(&wamp.Register{Request: 4, Options: wamp.Dict{"invoke": "single"}, Procedure: "com.example.single"})
	b.expectError(wamp.TypeRegister, 4, wamp.ErrProcedureAlreadyExists)
	b.send(&wamp.Register{Request: 5, Options: wamp.Dict{"invoke": "first"}, Procedure: "com.example.single"})
	b.expectError(wamp.TypeRegister, 5, wamp.ErrProcedureExistsOtherPolicy)
	b.send(&wamp.Register{Request: 6, Options: wamp.Dict{"invoke": "sometimes"}, Procedure: "com.example.x"})
	b.expectError(wamp.TypeRegister, 6, wamp.ErrInvalidArgument)
	b.send(&wamp.Register{Request: 7, Options: wamp.Dict{"invoke": int64(1)}, Procedure: "com.example.x"})
	b.expectError(wamp.TypeRegister, 7, wamp.ErrInvalidArgument)
	b.send(&wamp.Register{Request: 8, Options: wamp.Dict{"disclose_caller": "no"}, Procedure: "com.example.x"})
	b.expectError(wamp.TypeRegister, 8, wamp.ErrInvalidArgument)

	// Callees share the registration ID.
	idA := a.register("com.example.pool", wamp.Dict{"invoke": "first"})
	if idB := b.register("com.example.pool", wamp.Dict{"invoke": "first"}); idB != idA {
		t.Fatalf("shared registration IDs %d and %d", idA, idB)
	}
}

func TestRegistrationRevocation(t *testing.T) {
	r := newTestRouter(t, Config{})
	aware := joinAs(t, r, "callee", "registration_revocation")
	unaware := join(t, r)
	admin := join(t, r)
	id := aware.register("com.example.pool", wamp.Dict{"invoke": "roundrobin"})
	unaware.register("com.example.pool", wamp.Dict{"invoke": "roundrobin"})

	admin.call("wamp.registration.remove_callee", wamp.List{id64(id), id64(aware.id), "moving endpoint"}, nil)
	u := expect[*wamp.Unregistered](aware)
	if u.Request != 0 || u.Details["registration"] != id64(id) || u.Details["reason"] != "moving endpoint" {
		t.Fatalf("UNREGISTERED %+v", u)
	}
	admin.call("wamp.registration.remove_callee", wamp.List{id64(id), id64(unaware.id)}, nil)
	unaware.sync() // no UNREGISTERED for a callee that did not announce revocation
	admin.callError("com.example.pool", nil, nil, wamp.ErrNoSuchProcedure)

	admin.callError("wamp.registration.remove_callee", wamp.List{id64(id), id64(aware.id)}, nil, wamp.ErrNoSuchRegistration)
	admin.callError("wamp.registration.remove_callee", wamp.List{id64(id), int64(12345)}, nil, wamp.ErrNoSuchSession)
	admin.callError("wamp.registration.remove_callee", wamp.List{"x"}, nil, wamp.ErrInvalidArgument)
	// The revoked callee's registration ID is gone for it too.
	aware.send(&wamp.Unregister{Request: 5, Registration: id})
	aware.expectError(wamp.TypeUnregister, 5, wamp.ErrNoSuchRegistration)
}

// TestCallTrustLevels: a role with a trust level gives it to every call of
// its sessions, in INVOCATION.Details.trustlevel; other calls carry none.
func TestCallTrustLevels(t *testing.T) {
	level := 2
	everything := []Permission{{URI: "", Match: wamp.MatchPrefix, Allow: Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}
	r := newTestRouter(t, Config{Realms: []RealmConfig{
		{Name: "realm1", Roles: []RoleConfig{{Name: "anonymous", Permissions: everything, TrustLevel: &level}}},
		{Name: "realm2"},
	}})
	for _, tc := range []struct {
		realm wamp.URI
		want  any
	}{{"realm1", int64(2)}, {"realm2", nil}} {
		callee := joinWith(t, r, tc.realm, allRoles)
		caller := joinWith(t, r, tc.realm, allRoles)
		callee.register("com.example.trusted", nil)
		caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.trusted"})
		inv := expect[*wamp.Invocation](callee)
		if got := inv.Details["trustlevel"]; got != tc.want {
			t.Fatalf("%s: trustlevel %v, want %v", tc.realm, got, tc.want)
		}
	}
}
