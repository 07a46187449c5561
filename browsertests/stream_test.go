package browsertests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// TestCallStream: a page streams a call's arguments in parts
// (session.callStream, progressive call invocations) to a procedure of
// another page, which reads them with details.next(), and to a Go callee.
// The callee's page shows each part as it comes, before the next is sent;
// the result, made of all the parts, shows they arrived in order. Over
// WebSocket and over forced long-poll.
func TestCallStream(t *testing.T) {
	for _, tc := range []struct{ transport, opts string }{
		{"websocket", `transports: ['websocket']`},
		{"longpoll", `transports: ['longpoll']`},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "callee", "caller")
			callee, caller := tabs[0], tabs[1]
			for _, tb := range tabs {
				tb.open(e.url("/test/harness.html"))
				tb.expect(connectJS(tc.opts), js(tc.transport))
			}
			checkStreamToPage(t, callee, caller)
			checkStreamPipelined(t, caller)
			checkStreamAnsweredEarly(t, callee, caller)
			checkStreamAborted(t, callee, caller)
			checkStreamToGo(t, e, caller)
		})
	}
}

// checkStreamToPage: the callee joins the parts it reads and sends a
// progressive result after each later part; the caller sends 'a' and 'b'
// one at a time, each shown in the callee's page before the next goes,
// and closes with 'c'. The result is "a,b,c", after the progressive
// results 2 and 3.
func checkStreamToPage(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(`await S.register('com.test.concat', async (args, kwargs, details) => {
			note('parts', 'first ' + args[0] + (typeof details.next === 'function' ? '' : ' (no details.next)'));
			const got = [args[0]];
			for (let p = await details.next(); p !== null; p = await details.next()) {
				note('parts', p.args[0] + (p.final ? ' final' : ''));
				got.push(p.args[0]);
				details.progress?.([got.length]);
			}
			return got.join(',');
		});`)

	caller.run(`window.st = S.callStream('com.test.concat', {onProgress: (r) => note('acks', r.args[0])});
		await st.send(['a']);`)
	callee.waitFor(`noted('parts').length === 1`)
	callee.expect(`return noted('parts');`, `["first a"]`)
	caller.run(`await st.send(['b']);`)
	callee.waitFor(`noted('parts').length === 2`)
	caller.expect(`const r = await st.close(['c']);
		return [r.args[0], noted('acks'), (await st.result).args[0]];`, `["a,b,c", ["2", "3"], "a,b,c"]`)
	callee.expect(`return noted('parts');`, `["first a", "b", "c final"]`)
	// The stream is closed: no part may follow.
	caller.expect(`return [
			await st.send(['d']).then(() => 'sent', (e) => e.message),
			await st.close(['d']).then(() => 'closed', (e) => e.message)];`,
		`["wampkit: callStream: send after close", "wampkit: callStream: close called twice"]`)
}

// checkStreamPipelined: parts sent without waiting for the one before go
// in the order they were sent.
func checkStreamPipelined(t *testing.T, caller *tab) {
	t.Helper()
	caller.expect(`const s = S.callStream('com.test.concat');
		const sent = [1, 2, 3, 4, 5].map((i) => s.send([String(i)]));
		const r = await s.close(['6']);
		await Promise.all(sent);
		return r.args[0];`, `"1,2,3,4,5,6"`)
}

// checkStreamAnsweredEarly: a callee that answers after the first part,
// with a result or an error, ends the call: close() sends nothing more and
// returns that answer. A call with no callee, or that cannot start, rejects.
func checkStreamAnsweredEarly(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(`await S.register('com.test.early', (args) => {
			if (args[0] === 'bad') throw new wampkit.WampError('com.test.refused', ['no ' + args[0]]);
			return 'early ' + args[0];
		});`)
	caller.expect(`const s = S.callStream('com.test.early');
		await s.send(['p']);
		return (await s.close(['q'])).args[0];`, `"early p"`)
	caller.expect(`const s = S.callStream('com.test.early');
		await s.send(['bad']);
		const r = await attempt(s.close(['q']));
		return [r.error.class, r.error.uri, r.error.args];`, `["WampError", "com.test.refused", ["no bad"]]`)
	caller.expect(`const r = await attempt(S.callStream('com.test.nobody').close(['x']));
		return r.error.uri;`, `"wamp.error.no_such_procedure"`)
	// A call that cannot start: its parts and its close reject.
	caller.expect(`const s = S.callStream('com.test.concat', {cancelMode: 'bogus'});
		return [(await attempt(s.send(['x']))).error.message, (await attempt(s.close(['y']))).error.message];`,
		`["wampkit: callStream: the call has ended (closed, canceled, failed, or its session ended)",
		"options.cancelMode \"bogus\": want skip, kill or killnowait"]`)
}

// checkStreamAborted: aborting the signal of a stream whose callee waits
// for the next part rejects the stream's send and close with the signal's
// reason, and the router interrupts the callee: its details.signal
// aborts with wamp.error.canceled and its details.next() rejects.
func checkStreamAborted(t *testing.T, callee, caller *tab) {
	t.Helper()
	callee.run(`await S.register('com.test.held', async (args, kwargs, details) => {
			details.signal.addEventListener('abort', () => {
				note('held', 'interrupted ' + details.signal.reason.uri + ' ' + details.signal.reason.mode);
			});
			note('held', 'first ' + args[0]);
			try {
				while (await details.next() !== null);
				note('held', 'all parts read');
			} catch (e) {
				note('held', 'next failed');
			}
			return 'too late';
		});`)
	caller.run(`const ac = new AbortController();
		window.abortHeld = () => ac.abort();
		window.held = S.callStream('com.test.held', {signal: ac.signal});
		await held.send(['h']);`)
	callee.waitFor(`noted('held').length === 1`)
	callee.expect(`return noted('held');`, `["first h"]`)
	caller.expect(`const reason = () => held.result.then(() => 'resolved', (e) => e);
		abortHeld();
		const r = await reason();
		const isReason = (p) => p.then(() => 'settled', (e) => e === r ? 'the signal\'s reason' : String(e));
		return [r.name, await isReason(held.send(['late'])), await isReason(held.close(['never']))];`,
		`["AbortError", "the signal's reason", "the signal's reason"]`)
	callee.waitFor(`noted('held').length === 3`)
	callee.expect(`return noted('held').slice(1).sort();`, `["interrupted wamp.error.canceled killnowait", "next failed"]`)
}

// checkStreamToGo: a page streams to a Go callee, which reads the parts
// with Invocation.Next and joins them.
func checkStreamToGo(t *testing.T, e *env, caller *tab) {
	t.Helper()
	s, err := client.Join(t.Context(), e.wsURL(), realm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(context.Background())
	_, err = s.Register(t.Context(), "com.test.gojoin", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		parts := []string{fmt.Sprint(inv.Args...)}
		for {
			p, err := inv.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			parts = append(parts, fmt.Sprint(p.Args...))
		}
		return &client.Result{Args: wamp.List{strings.Join(parts, ","), len(parts)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	caller.expect(`const s = S.callStream('com.test.gojoin');
		await s.send(['x']);
		await s.send(['y']);
		return (await s.close(['z'])).args;`, `["x,y,z", 3]`)
}
