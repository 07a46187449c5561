package interop

import (
	"context"
	"errors"
	"reflect"
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

// goAdvanced: the Go client as a roundrobin, prefix, progressive and
// interruptible callee and as a wildcard subscriber for Autobahn|JS and
// wampy, then as a caller (disclose_me, progressive results, timeout),
// a meta API user and a publisher with eligible (js/go_advanced.mjs).
func (e *env) goAdvanced(t *testing.T) {
	ctx := t.Context()
	gs := e.join(t)

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
	e.wait(t, s)
}
