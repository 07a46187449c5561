package interop

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

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// The advanced profile against Autobahn|JS 26 and wampy 8: the scripts
// assert what the JavaScript clients see; go_advanced also has the Go
// client on the other side.

// rpcAdvanced: progressive results, call timeouts and cancel (kill,
// killnowait, skip) between Autobahn|JS, wampy and a bare interruptible
// callee (js/rpc_advanced.mjs).
func (e *env) rpcAdvanced(t *testing.T) { e.run(t, "rpc_advanced.mjs") }

// sharedPatterns: shared registrations with each invocation policy and
// their conflicts, pattern-based registrations and subscriptions
// (js/shared_patterns.mjs).
func (e *env) sharedPatterns(t *testing.T) { e.run(t, "shared_patterns.mjs") }

// pubsubAdvanced: publisher identification, exclusion, black- and
// whitelisting, retention (js/pubsub_advanced.mjs).
func (e *env) pubsubAdvanced(t *testing.T) { e.run(t, "pubsub_advanced.mjs") }

// meta: the session, registration and subscription meta API, on a realm
// of its own (js/meta.mjs).
func (e *env) meta(t *testing.T) { e.wait(t, e.startIn(t, "meta.mjs", metaRealm)) }

// testamentsHistory: Autobahn|JS and wampy add and flush testaments, which
// the router publishes when a session leaves or loses its connection, and
// read realm1's event history with wamp.subscription.get_events
// (js/testaments_history.mjs).
func (e *env) testamentsHistory(t *testing.T) { e.run(t, "testaments_history.mjs") }

// goAdvanced: the Go client as a roundrobin, prefix, progressive and
// interruptible callee, as three callees sharing a registration with the
// first, last and random policies, as a wildcard subscriber and as a
// publisher of retained events for Autobahn|JS and wampy, then as a caller
// (disclose_me, progressive results, timeout), a meta API user, a publisher
// with eligible and a subscriber fetching the scripts' retained events
// (js/go_advanced.mjs).
func (e *env) goAdvanced(t *testing.T) {
	ctx := t.Context()
	gs := e.join(t)

	// Three Go sessions share com.example.goadv.pool.<policy>, registered
	// in the order go1, go2, go3; hits counts the invocations each gets.
	policies := []string{"first", "last", "random"}
	var hitsMu sync.Mutex
	hits := map[string][]int{}
	for i := range 3 {
		ps := e.join(t)
		name := fmt.Sprintf("go%d", i+1)
		for _, policy := range policies {
			hits[policy] = append(hits[policy], 0)
			register(t, ps, wamp.URI("com.example.goadv.pool."+policy), func(context.Context, *client.Invocation) (*client.Result, error) {
				hitsMu.Lock()
				hits[policy][i]++
				hitsMu.Unlock()
				return &client.Result{Args: wamp.List{name}}, nil
			}, client.Invoke(policy))
		}
	}

	// Two retained events; the scripts' subscribers get the second.
	for _, arg := range []string{"go r1", "go r2"} {
		if err := gs.Publish(ctx, "com.example.goadv.retained.go", wamp.List{arg}, nil, client.Retain(), client.DiscloseMe(), client.Acknowledge()); err != nil {
			t.Fatalf("Go client: publish %q with retain: %s", arg, showErr(err))
		}
	}

	register(t, gs, "com.example.goadv.shared", func(context.Context, *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{"go"}}, nil
	}, client.Invoke("roundrobin"))
	register(t, gs, "com.example.goadv.prefix", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{wamp.List{string(inv.Procedure()), int64(inv.Caller())}}}, nil
	}, client.Match(wamp.MatchPrefix))
	register(t, gs, "com.example.goadv.stream", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		n, _ := wamp.AsInt(inv.Args[0])
		if inv.WantsProgress() {
			for i := int64(1); i <= n; i++ {
				if err := inv.Progress(wamp.List{i}, nil); err != nil {
					return nil, err
				}
			}
		}
		return &client.Result{Args: wamp.List{"end"}}, nil
	})
	// Progressive call invocations: the sum of every part's arguments and
	// the number of parts.
	register(t, gs, "com.example.goadv.sum", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		var sum, parts int64
		add := func(args wamp.List) {
			parts++
			for _, a := range args {
				n, _ := wamp.AsInt(a)
				sum += n
			}
		}
		add(inv.Args)
		for {
			p, err := inv.Next(ctx)
			if errors.Is(err, io.EOF) {
				return &client.Result{Args: wamp.List{sum, parts}}, nil
			}
			if err != nil {
				return nil, err
			}
			add(p.Args)
		}
	})
	interrupts := make(chan *client.InterruptError, 2)
	register(t, gs, "com.example.goadv.killme", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		<-ctx.Done()
		ie, ok := errors.AsType[*client.InterruptError](context.Cause(ctx))
		if !ok {
			return nil, context.Cause(ctx)
		}
		interrupts <- ie
		return nil, wamp.NewError("com.example.error.interrupted", ie.Mode, string(ie.Reason))
	})
	events := make(chan *client.Event, 4)
	if _, err := gs.Subscribe(ctx, "com.example.goadv..event", func(ev *client.Event) { events <- ev }, client.Match(wamp.MatchWildcard)); err != nil {
		t.Fatalf("Go client: subscribe: %v", err)
	}

	s := e.start(t, "go_advanced.mjs")
	fail := func(format string, a ...any) {
		t.Helper()
		e.fatal(t, s, format, a...)
	}
	if err := s.waitLine("READY", 20*time.Second); err != nil {
		fail("%v", err)
	}

	// What the script did to the Go side.
	for i, want := range []client.InterruptError{
		{Mode: client.CancelKill, Reason: wamp.ErrCanceled},
		{Mode: client.CancelKillNoWait, Reason: wamp.ErrTimeout},
	} {
		select {
		case got := <-interrupts:
			if *got != want {
				fail("interrupt %d of com.example.goadv.killme: got %+v, want %+v", i+1, *got, want)
			}
		case <-time.After(5 * time.Second):
			fail("interrupt %d of com.example.goadv.killme did not reach the Go handler", i+1)
		}
	}
	var wampyID wamp.ID
	for i, want := range []struct {
		topic     string
		arg       string
		disclosed bool
	}{
		{"com.example.goadv.x.event", "from wampy", true},
		{"com.example.goadv.y.event", "from autobahn", false},
	} {
		select {
		case ev := <-events:
			if !reflect.DeepEqual(ev.Args, wamp.List{want.arg}) || ev.Details["topic"] != want.topic {
				fail("event %d: got args %s details %s, want [%q] with topic %q", i+1, show(ev.Args), show(ev.Details), want.arg, want.topic)
			}
			pub, ok := wamp.AsInt(ev.Details["publisher"])
			if ok != want.disclosed {
				fail("event %d: details %s, want the publisher disclosed: %v", i+1, show(ev.Details), want.disclosed)
			}
			if ok {
				wampyID = wamp.ID(pub)
			}
		case <-time.After(5 * time.Second):
			fail("event %d did not reach the Go wildcard subscriber", i+1)
		}
	}

	// The Go client calls the script's procedures.
	res, err := gs.Call(ctx, "com.example.goadv.js.who", nil, nil, client.DiscloseMe())
	if err != nil {
		fail("Go calls com.example.goadv.js.who: %s", showErr(err))
	}
	if id, _ := wamp.AsInt(res.Args[0]); wamp.ID(id) != gs.ID() {
		fail("com.example.goadv.js.who: got caller %s, want the Go session %d", show(res.Args), gs.ID())
	}

	var progress []wamp.List
	res, err = gs.Call(ctx, "com.example.goadv.js.stream", nil, nil, client.Progress(func(r *client.Result) { progress = append(progress, r.Args) }))
	if err != nil {
		fail("Go calls com.example.goadv.js.stream: %s", showErr(err))
	}
	if want := []wamp.List{{int64(10)}, {int64(20)}}; !reflect.DeepEqual(progress, want) || !reflect.DeepEqual(res.Args, wamp.List{"done"}) {
		fail("com.example.goadv.js.stream: got progress %v and %s, want %v and [\"done\"]", progress, show(res.Args), want)
	}

	_, err = gs.Call(ctx, "com.example.goadv.js.slow", nil, nil, client.WithTimeout(100*time.Millisecond))
	if we, ok := errors.AsType[*wamp.Error](err); !ok || we.URI != wamp.ErrTimeout {
		fail("com.example.goadv.js.slow with a 100 ms timeout: got %s, want %s", showErr(err), wamp.ErrTimeout)
	}

	// The meta API names the Autobahn|JS session, whose ID the Go client
	// makes the only eligible receiver of a publication.
	res, err = gs.Call(ctx, "wamp.registration.lookup", wamp.List{"com.example.goadv.js.who"}, nil)
	if err != nil || len(res.Args) != 1 {
		fail("wamp.registration.lookup: %v %s", res, showErr(err))
	}
	res, err = gs.Call(ctx, "wamp.registration.list_callees", wamp.List{res.Args[0]}, nil)
	if err != nil || len(res.Args) != 1 {
		fail("wamp.registration.list_callees: %v %s", res, showErr(err))
	}
	callees, _ := res.Args[0].(wamp.List)
	if len(callees) != 1 {
		fail("wamp.registration.list_callees: got %s, want one callee", show(res.Args))
	}
	abID, _ := wamp.AsInt(callees[0])
	if wamp.ID(abID) == wampyID || abID == 0 {
		fail("wamp.registration.list_callees: got %s, want the Autobahn|JS session (wampy's is %d)", show(callees), wampyID)
	}
	if err := gs.Publish(ctx, "com.example.goadv.to_js", wamp.List{"only autobahn"}, nil,
		client.Eligible(wamp.ID(abID)), client.DiscloseMe(), client.Acknowledge()); err != nil {
		fail("Go publishes with eligible: %s", showErr(err))
	}
	if err := gs.Publish(ctx, "com.example.goadv.to_js", wamp.List{"end"}, nil, client.Acknowledge()); err != nil {
		fail("Go publishes: %s", showErr(err))
	}

	// The scripts' retained events, for a Go subscriber that asks for them:
	// on an exact subscription the last of Autobahn|JS's two; on a prefix
	// subscription each topic's last, oldest first, and then the live event
	// the Go session publishes, unmarked.
	if err := gs.Publish(ctx, "com.example.goadv.retained.go", wamp.List{"go live"}, nil, client.Acknowledge()); err != nil {
		fail("Go publishes a live event after the retained ones: %s", showErr(err))
	}
	exact := make(chan *client.Event, 4)
	if _, err := gs.Subscribe(ctx, "com.example.goadv.retained.js.ab", func(ev *client.Event) { exact <- ev }, client.GetRetained()); err != nil {
		fail("Go subscribes with get_retained: %s", showErr(err))
	}
	prefix := make(chan *client.Event, 4)
	if _, err := gs.Subscribe(ctx, "com.example.goadv.retained.js", func(ev *client.Event) { prefix <- ev }, client.GetRetained(), client.Match(wamp.MatchPrefix)); err != nil {
		fail("Go subscribes to a prefix with get_retained: %s", showErr(err))
	}
	if err := gs.Publish(ctx, "com.example.goadv.retained.js.end", wamp.List{"go end"}, nil, client.ExcludeMe(false), client.Acknowledge()); err != nil {
		fail("Go publishes to its own prefix subscription: %s", showErr(err))
	}
	type seen struct {
		topic     wamp.URI
		arg       any
		retained  any
		publisher any
	}
	next := func(ch chan *client.Event, what string) seen {
		t.Helper()
		select {
		case ev := <-ch:
			if len(ev.Args) != 1 {
				fail("%s: got args %s, want one", what, show(ev.Args))
			}
			p, _ := wamp.AsInt(ev.Details["publisher"])
			return seen{ev.Topic(), ev.Args[0], ev.Details["retained"], p}
		case <-time.After(5 * time.Second):
			fail("%s: no event within 5 s", what)
		}
		return seen{}
	}
	if got, want := next(exact, "exact get_retained"), (seen{"com.example.goadv.retained.js.ab", "ab r2", true, int64(0)}); got != want {
		fail("exact subscription with get_retained: got %+v, want %+v", got, want)
	}
	for i, want := range []seen{
		{"com.example.goadv.retained.js.ab", "ab r2", true, int64(0)},
		{"com.example.goadv.retained.js.other", "ab other", true, abID},
		{"com.example.goadv.retained.js.end", "go end", nil, int64(0)},
	} {
		if got := next(prefix, "prefix get_retained"); got != want {
			fail("prefix subscription with get_retained, event %d: got %+v, want %+v", i+1, got, want)
		}
	}
	if len(exact) != 0 {
		fail("exact subscription with get_retained: a second event %s", show(next(exact, "").arg))
	}
	e.wait(t, s)

	// What the pool's callees served: the script made 10 calls with first
	// and last and 60 with random.
	hitsMu.Lock()
	defer hitsMu.Unlock()
	if want := []int{10, 0, 0}; !reflect.DeepEqual(hits["first"], want) {
		fail("invocations of go1, go2, go3 with first: got %v, want %v", hits["first"], want)
	}
	if want := []int{0, 0, 10}; !reflect.DeepEqual(hits["last"], want) {
		fail("invocations of go1, go2, go3 with last: got %v, want %v", hits["last"], want)
	}
	if r := hits["random"]; r[0]+r[1]+r[2] != 60 || slices.Contains(r, 0) {
		fail("invocations of go1, go2, go3 with random: got %v, want 60 calls, each callee at least one", r)
	}
}
