package browsertests

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAdvancedRPC: four tabs on one router use the advanced profile's RPC
// features from pages, and what happens shows in the pages (lists that the
// test reads from the DOM; a screenshot of the caller's tab is an
// artifact). Tabs 1 to 3 share a procedure with invoke 'roundrobin'; tab 4
// calls it, gets progressive results from tab 1 and aborts calls to tab
// 1 through an AbortSignal, in the cancel modes that interrupt the callee
// and in skip mode, which does not; the router ends a call to tab 3 at its
// timeout; tab 1 serves prefix and wildcard registrations. Over WebSocket
// and over forced long-poll.
func TestAdvancedRPC(t *testing.T) {
	for _, tc := range []struct{ transport, opts string }{
		{"websocket", `transports: ['websocket']`},
		{"longpoll", `transports: ['longpoll']`},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "tab1", "tab2", "tab3", "tab4")
			// The tabs load the browser client and join all at once; each
			// then waits for its own join.
			for i, tb := range tabs {
				tb.open(e.url("/test/harness.html"))
				tb.run(fmt.Sprintf(`window.tabIndex = %d;
					window.joining = wampkit.connect({realm: %s, %s});`, i+1, js(realm), tc.opts))
			}
			for _, tb := range tabs {
				tb.expect(`window.S = await joining; return S.transport;`, js(tc.transport))
			}
			ws, lp := e.wsRequests.Load(), e.lpOpens.Load()
			if want := map[string][2]int64{"websocket": {4, 0}, "longpoll": {0, 4}}[tc.transport]; ws != want[0] || lp != want[1] {
				t.Errorf("%d requests to /ws and %d POST /lp/open, want %d and %d", ws, lp, want[0], want[1])
			}
			callees, caller := tabs[:3], tabs[3]
			checkRoundRobin(t, callees, caller)
			checkProgress(t, callees[0], caller)
			checkAbort(t, callees[0], caller)
			checkCancelSkip(t, callees[1], caller)
			checkRouterTimeout(t, callees[2], caller)
			checkPatternRegistrations(t, callees[0], caller)
			caller.screenshot("advanced-rpc-" + tc.transport + "-tab4")
		})
	}
}

// checkRoundRobin: each callee registers com.test.rr with invoke
// 'roundrobin' and answers with its tab number; the caller's own
// registration with invoke 'random' is refused with
// wamp.error.procedure_exists_with_different_invocation_policy, shown in
// its page; then 9 calls go 3 to each callee, in turn, in the order they
// registered, and each callee's page lists the 3 calls it answered.
func checkRoundRobin(t *testing.T, callees []*tab, caller *tab) {
	t.Helper()
	for _, tb := range callees {
		tb.run(`window.rrCalls = 0;
			await S.register('com.test.rr', () => {
				note('invocations', 'call ' + ++rrCalls);
				return tabIndex;
			}, {invoke: 'roundrobin'});`)
	}

	caller.run(`const r = await attempt(S.register('com.test.rr', () => tabIndex, {invoke: 'random'}));
		note('refused', r.error ? r.error.uri : 'registered');`)
	caller.expect(`return noted('refused');`, `["wamp.error.procedure_exists_with_different_invocation_policy"]`)

	var seq []string
	out := caller.run(`for (let i = 0; i < 9; i++) {
			const r = await S.call('com.test.rr');
			note('roundrobin', 'tab ' + r.args[0]);
		}
		return noted('roundrobin');`)
	if err := json.Unmarshal(out, &seq); err != nil {
		t.Fatalf("roundrobin results %s: %v", out, err)
	}
	counts := map[string]int{}
	for _, s := range seq {
		counts[s]++
	}
	if want := map[string]int{"tab 1": 3, "tab 2": 3, "tab 3": 3}; !maps.Equal(counts, want) {
		t.Errorf("9 roundrobin calls answered %v times, want %v (sequence %q)", counts, want, seq)
	}
	// The dealer starts with the callee that registered first and goes
	// round the callees in the order they registered.
	if want := []string{"tab 1", "tab 2", "tab 3", "tab 1", "tab 2", "tab 3", "tab 1", "tab 2", "tab 3"}; !slices.Equal(seq, want) {
		t.Errorf("roundrobin sequence %q, want %q", seq, want)
	}
	for _, tb := range callees {
		tb.expect(`return noted('invocations');`, `["call 1", "call 2", "call 3"]`)
	}
}

// progressSteps is how many progressive results the procedure of
// checkProgress sends, progressGap the pause before each of them and
// before its final result.
const (
	progressSteps = 5
	progressGap   = 150 * time.Millisecond
)

// checkProgress: the callee sends progressSteps progressive results
// (details.progress([i])) progressGap apart, then 'done'; the caller's
// onProgress appends each to a list in its page and the final result goes
// last. Reading the list from Go while the call runs shows the progress
// items arrive one by one, before the final result, and in order.
func checkProgress(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(fmt.Sprintf(`await S.register('com.test.count', async (args, kwargs, details) => {
			for (let i = 0; i < args[0]; i++) {
				await sleep(%[1]d);
				details.progress([i]);
			}
			await sleep(%[1]d);
			return 'done';
		});`, progressGap.Milliseconds()))

	// The call runs on in the page while this run returns.
	caller.run(fmt.Sprintf(`window.progressFlags = [];
		S.call('com.test.count', [%d], null, {onProgress: (r) => {
			progressFlags.push(r.details.progress);
			note('progress', r.args[0]);
		}}).then((r) => note('progress', r.args[0]), (e) => note('progress', 'failed: ' + e.message));`, progressSteps))

	var want []string
	for i := range progressSteps {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "done")
	partial := map[int]bool{} // list lengths seen before the final result
	deadline := time.Now().Add(stepTimeout)
	for {
		var got []string
		out := caller.run(`return noted('progress');`)
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("progress list %s: %v", out, err)
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("progress list %q is not a beginning of %q", got, want)
		}
		if len(got) == len(want) {
			break
		}
		if len(got) > 0 {
			partial[len(got)] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress list %q after %v, want %q", got, stepTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := slices.Sorted(maps.Keys(partial))
	t.Logf("progress items shown before the result, as polled: %v", seen)
	// progressGap apart, each stage of the list lasts long enough to be
	// seen: at least two of them mean the items came one by one while the
	// call ran, not all at once with the result.
	if len(seen) < 2 {
		t.Errorf("the page showed %v progress items before the final result, want progress shown while the call ran", seen)
	}
	caller.expect(`return progressFlags;`, `[true, true, true, true, true]`)
}

// checkAbort: the callee's procedure waits until details.signal aborts;
// the caller calls it with an AbortController's signal and aborts once the
// callee shows the call started. The call rejects at once with
// signal.reason, a DOMException named AbortError, and the router
// interrupts the callee: its signal's reason is a WampError
// wamp.error.canceled with the call's cancel mode, killnowait by default
// or the cancelMode asked. Both show in the pages.
func checkAbort(t *testing.T, callee, caller *tab) {
	t.Helper()
	// The abort listener also calls a procedure at once: page code that
	// the bridge's answers reach must not run inside a call from Go.
	callee.run(`await S.register('com.test.inc', (args) => args[0] + 1);
		await S.register('com.test.slow', (args, kwargs, details) => new Promise((resolve) => {
			note('slow', 'started ' + args[0]);
			details.signal.addEventListener('abort', () => {
				const r = details.signal.reason;
				note('slow', ['interrupted', args[0], r instanceof wampkit.WampError ? r.uri : String(r), r.mode].join(' '));
				S.call('com.test.inc', [41]).then((r) => note('inc', r.args[0]), (e) => note('inc', String(e)));
				resolve('too late'); // the client answered already: dropped
			});
		}));`)

	for i, tc := range []struct{ label, option, mode string }{
		{"default", "", "killnowait"},
		{"kill", "cancelMode: 'kill'", "kill"},
	} {
		caller.run(fmt.Sprintf(`const label = %s;
			const ac = new AbortController();
			window.abortCall = () => ac.abort();
			S.call('com.test.slow', [label], null, {signal: ac.signal, %s}).then(
				(r) => note('aborted', label + ': resolved ' + r.args[0]),
				(e) => note('aborted', label + ': ' + e.name + (e === ac.signal.reason && e instanceof DOMException ? '' : ' (not the signal\'s reason)')));`,
			js(tc.label), tc.option))
		callee.waitFor(fmt.Sprintf(`noted('slow').includes(%s)`, js("started "+tc.label)))
		// Nothing has answered the call yet.
		caller.expect(`return noted('aborted').length;`, fmt.Sprint(i))
		caller.run(`abortCall();`)
		caller.waitFor(fmt.Sprintf(`noted('aborted').length === %d`, i+1))
		caller.expect(fmt.Sprintf(`return noted('aborted')[%d];`, i), js(tc.label+": AbortError"))
		callee.waitFor(fmt.Sprintf(`noted('slow').length === %d`, 2*(i+1)))
		callee.expect(fmt.Sprintf(`return noted('slow')[%d];`, 2*i+1),
			js(fmt.Sprintf("interrupted %s wamp.error.canceled %s", tc.label, tc.mode)))
		callee.waitFor(fmt.Sprintf(`noted('inc').length === %d`, i+1))
		callee.expect(fmt.Sprintf(`return noted('inc')[%d];`, i), js("42"))
	}
}

// checkCancelSkip: the caller aborts a call with cancelMode 'skip'. The
// call rejects at once with the signal's reason, and the router does not
// interrupt the callee: its signal is still not aborted when the caller's
// next call reaches it (an INTERRUPT would have come first, on the same
// connection). The callee's late result is dropped: the caller sees
// nothing more of that call, and the callee serves on.
func checkCancelSkip(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(`await S.register('com.test.skip', (args, kwargs, details) => new Promise((resolve) => {
			window.skipSignal = details.signal;
			window.finishSkip = resolve;
			note('skip', 'started');
		}));
		await S.register('com.test.skip.aborted', () => skipSignal.aborted);`)
	caller.run(`const ac = new AbortController();
		window.abortSkip = () => ac.abort();
		S.call('com.test.skip', [], null, {signal: ac.signal, cancelMode: 'skip'}).then(
			(r) => note('skipped', 'resolved ' + r.args[0]),
			(e) => note('skipped', e.name + (e === ac.signal.reason ? '' : ' (not the signal\'s reason)')));`)
	callee.waitFor(`noted('skip').length === 1`)
	caller.run(`abortSkip();`)
	caller.waitFor(`noted('skipped').length === 1`)
	caller.expect(`return noted('skipped');`, `["AbortError"]`)
	caller.expect(`return (await S.call('com.test.skip.aborted')).args;`, `[false]`)
	callee.run(`finishSkip('late'); note('skip', 'finished');`)
	caller.expect(`return (await S.call('com.test.skip.aborted')).args;`, `[false]`)
	caller.expect(`return noted('skipped');`, `["AbortError"]`)
	callee.expect(`return noted('skip');`, `["started", "finished"]`)
}

// checkRouterTimeout: a call with options.timeout 300 to a procedure that
// never answers fails with wamp.error.timeout from the router (its
// message, not the client's own), no sooner than 300 ms; the router
// interrupts the callee, whose signal's reason is a WampError
// wamp.error.timeout with mode killnowait.
func checkRouterTimeout(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(`await S.register('com.test.hang', (args, kwargs, details) => new Promise((resolve) => {
			note('hang', 'started');
			details.signal.addEventListener('abort', () => {
				const r = details.signal.reason;
				note('hang', [r instanceof wampkit.WampError ? r.uri : String(r), r.mode].join(' '));
				resolve('too late');
			});
		}));`)
	caller.expect(`const t0 = performance.now();
		const r = await attempt(S.call('com.test.hang', [], null, {timeout: 300}));
		const elapsed = performance.now() - t0;
		note('timeout', r.error ? r.error.uri : 'resolved');
		return [r.error.class, r.error.uri, r.error.args, elapsed >= 299];`,
		`["WampError", "wamp.error.timeout", ["the call timed out after 300ms"], true]`)
	callee.waitFor(`noted('hang').length === 2`)
	callee.expect(`return noted('hang');`, `["started", "wamp.error.timeout killnowait"]`)
}

// checkPatternRegistrations: the callee registers a prefix, a wildcard
// and an exact procedure that overlap, each answering with its kind and
// details.procedure; the caller's calls reach the exact registration
// first, then the prefix, then the wildcard, and details.procedure is the
// URI called, not the pattern.
func checkPatternRegistrations(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.expect(`const regs = [
			await S.register('com.test.pat', (args, kwargs, d) => ['prefix', d.procedure, args[0]], {match: 'prefix'}),
			await S.register('com.test..run', (args, kwargs, d) => ['wildcard', d.procedure, args[0]], {match: 'wildcard'}),
			await S.register('com.test.pat.exact', (args, kwargs, d) => ['exact', d.procedure, args[0]]),
		];
		return regs.map((r) => r.procedure);`,
		`["com.test.pat", "com.test..run", "com.test.pat.exact"]`)
	caller.expect(`const out = [];
		for (const uri of ['com.test.pat.a.b', 'com.test.pat.exact', 'com.test.pat.run', 'com.test.job.run']) {
			const r = await S.call(uri, [uri.length]);
			note('patterns', r.args[0].join(' '));
			out.push(r.args[0]);
		}
		const none = await attempt(S.call('com.test.job.walk'));
		return [out, none.error.uri];`,
		`[[["prefix", "com.test.pat.a.b", 16], ["exact", "com.test.pat.exact", 18],
		   ["prefix", "com.test.pat.run", 16], ["wildcard", "com.test.job.run", 16]],
		  "wamp.error.no_such_procedure"]`)
}

// TestAdvancedPubSub: three tabs use the advanced profile's pub/sub
// features from pages: prefix and wildcard subscriptions with
// details.topic, event retention with details.retained, publisher
// disclosure with details.publisher, and the exclude and eligible lists.
// Each wait is bounded by a marker event that every tab receives after
// the events under test. Over WebSocket and over forced long-poll.
func TestAdvancedPubSub(t *testing.T) {
	for _, tc := range []struct{ transport, opts string }{
		{"websocket", `transports: ['websocket']`},
		{"longpoll", `transports: ['longpoll']`},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "tab1", "tab2", "tab3")
			ids := make([]string, len(tabs))
			for i, tb := range tabs {
				tb.open(e.url("/test/harness.html"))
				tb.expect(connectJS(tc.opts), js(tc.transport))
				// Every event shows in the page as [args[0], details...].
				tb.run(`window.seen = (list, keys) => (args, kwargs, d) =>
						note(list, JSON.stringify([args[0], ...keys.map((k) => d[k] ?? null)]));
					window.seenList = (list) => noted(list).map((s) => JSON.parse(s));
					await S.subscribe('com.test.marker', seen('marker', []));`)
				ids[i] = string(tb.run(`return S.id;`))
			}
			pub, sub2, sub3 := tabs[0], tabs[1], tabs[2]
			// marker publishes a marker event from pub to every tab and
			// waits until each has it: the events published before it have
			// arrived, or will not.
			markers := 0
			marker := func() {
				t.Helper()
				markers++
				pub.run(fmt.Sprintf(`await S.publish('com.test.marker', [%d], null, {acknowledge: true, exclude_me: false});`, markers))
				for _, tb := range tabs {
					tb.waitFor(fmt.Sprintf(`noted('marker').length === %d`, markers))
				}
			}

			// Patterns.
			sub2.run(`await S.subscribe('com.test.feed', seen('feed', ['topic']), {match: 'prefix'});`)
			sub3.run(`await S.subscribe('com.test..tick', seen('tick', ['topic']), {match: 'wildcard'});`)
			pub.run(`for (const topic of ['com.test.feed.a', 'com.test.x.tick', 'com.test.feed.b.c', 'com.test.other', 'com.test.feed.tick']) {
					await S.publish(topic, [topic], null, {acknowledge: true});
				}`)
			marker()
			sub2.expect(`return seenList('feed');`,
				`[["com.test.feed.a", "com.test.feed.a"], ["com.test.feed.b.c", "com.test.feed.b.c"], ["com.test.feed.tick", "com.test.feed.tick"]]`)
			sub3.expect(`return seenList('tick');`,
				`[["com.test.x.tick", "com.test.x.tick"], ["com.test.feed.tick", "com.test.feed.tick"]]`)

			// Retention: the last retained event goes to a subscriber that
			// asks for it, marked retained; live events are not.
			pub.run(`await S.publish('com.test.state', ['v1'], null, {retain: true, acknowledge: true});
				await S.publish('com.test.state', ['v2'], null, {retain: true, acknowledge: true});`)
			sub2.run(`await S.subscribe('com.test.state', seen('state', ['retained']), {get_retained: true});`)
			sub3.run(`await S.subscribe('com.test.state', seen('state', ['retained']));`)
			pub.run(`await S.publish('com.test.state', ['v3'], null, {acknowledge: true});`)
			marker()
			sub2.expect(`return seenList('state');`, `[["v2", true], ["v3", null]]`)
			sub3.expect(`return seenList('state');`, `[["v3", null]]`)

			// Publisher disclosure.
			sub2.run(`await S.subscribe('com.test.who', seen('who', ['publisher', 'publisher_authid', 'publisher_authrole']));`)
			pub.run(`await S.publish('com.test.who', ['disclosed'], null, {disclose_me: true, acknowledge: true});
				await S.publish('com.test.who', ['hidden'], null, {acknowledge: true});`)
			marker()
			details := string(pub.run(`return [S.details.authid, S.details.authrole];`))
			sub2.expect(`return seenList('who');`, fmt.Sprintf(`[["disclosed", %s, %s], ["hidden", null, null, null]]`,
				ids[0], strings.Trim(details, "[]")))

			// Exclude and eligible lists, by session ID and by authid.
			for _, tb := range tabs {
				tb.run(`await S.subscribe('com.test.only', seen('only', []));`)
			}
			authid3 := string(sub3.run(`return S.details.authid;`))
			pub.run(fmt.Sprintf(`const [id2, id3] = [%s, %s];
				await S.publish('com.test.only', ['to3'], null, {eligible: [id3], exclude_me: false, acknowledge: true});
				await S.publish('com.test.only', ['not2'], null, {exclude: [id2], exclude_me: false, acknowledge: true});
				await S.publish('com.test.only', ['just2'], null, {eligible: [id2, id3], exclude: [id3], acknowledge: true});
				await S.publish('com.test.only', ['authid3'], null, {eligible_authid: [%s], exclude_me: false, acknowledge: true});
				await S.publish('com.test.only', ['others'], null, {acknowledge: true});`, ids[1], ids[2], authid3))
			marker()
			pub.expect(`return seenList('only');`, `[["not2"]]`)
			sub2.expect(`return seenList('only');`, `[["just2"], ["others"]]`)
			sub3.expect(`return seenList('only');`, `[["to3"], ["not2"], ["authid3"], ["others"]]`)
			sub3.screenshot("advanced-pubsub-" + tc.transport + "-tab3")
		})
	}
}
