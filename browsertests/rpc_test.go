package browsertests

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wampkit/wampkit/server"
)

// connectJS joins realm1 from a harness page as window.S with the given
// connect options (a JavaScript object literal's body) and returns the
// transport the session runs over.
func connectJS(opts string) string {
	return fmt.Sprintf(`window.S = await wampkit.connect({realm: %s, %s}); return S.transport;`, js(realm), opts)
}

// TestTwoTabs: tab A registers procedures and tab B calls them with
// positional and keyword arguments, binary values and application errors;
// events go from A to B and from B to A. The same over WebSocket, over
// forced long-poll, and with MessagePack on one side and JSON on the other.
func TestTwoTabs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		optsA     string
		optsB     string
		transport string
	}{
		{"websocket", `serializer: 'json'`, `serializer: 'json'`, "websocket"},
		{"longpoll", `transports: ['longpoll']`, `transports: ['longpoll']`, "longpoll"},
		// Binary crosses from a msgpack session to a JSON one ("\0"+base64)
		// and back. (The default browser build has no CBOR.)
		{"websocket-msgpack-json", `serializer: 'msgpack'`, `serializer: 'json'`, "websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "A", "B")
			a, b := tabs[0], tabs[1]
			a.open(e.url("/test/harness.html"))
			b.open(e.url("/test/harness.html"))
			a.expect(connectJS(tc.optsA), js(tc.transport))
			b.expect(connectJS(tc.optsB), js(tc.transport))
			// What the router saw: one transport per tab, none of the other.
			ws, lp := e.wsRequests.Load(), e.lpOpens.Load()
			if want := map[string][2]int64{"websocket": {2, 0}, "longpoll": {0, 2}}[tc.transport]; ws != want[0] || lp != want[1] {
				t.Errorf("%d requests to /ws and %d POST /lp/open, want %d and %d", ws, lp, want[0], want[1])
			}

			// Procedures of tab A: an echo that is async, a procedure that
			// throws a WampError, one that throws a plain object with a uri.
			a.run(`
				await S.register('com.test.echo', async (args, kwargs, details) => {
					await sleep(1);
					return new wampkit.Result(args, kwargs);
				});
				await S.register('com.test.add', (args) => args[0] + args[1]);
				await S.register('com.test.fail', () => {
					throw new wampkit.WampError('com.test.error.oops', ['bad', 7], {why: 'because', blob: bytes(9, 8)});
				});
				await S.register('com.test.plainthrow', () => {
					throw {uri: 'com.test.error.plain', args: [{deep: [true]}], kwargs: {n: -1.5}};
				});`)

			b.expect(`return await S.call('com.test.add', [2, 3]);`, `{"args":[5],"kwargs":{}}`)
			b.expect(`return await S.call('com.test.echo',
					[1, 'two', true, null, {nested: [1.5, 'x', {}]}, bytes(0, 1, 2, 254, 255), 2 ** 53],
					{k: 'v', bin: bytes(7), list: [bytes(), 'é∑😀']});`,
				`{"args":[1,"two",true,null,{"nested":[1.5,"x",{}]},"<bytes 000102feff>",9007199254740992],
				  "kwargs":{"k":"v","bin":"<bytes 07>","list":["<bytes >","é∑😀"]}}`)
			b.expect(`return await attempt(S.call('com.test.fail', [1]));`,
				`{"error":{"class":"WampError","uri":"com.test.error.oops","args":["bad",7],
				  "kwargs":{"why":"because","blob":"<bytes 0908>"},"message":"com.test.error.oops: bad"}}`)
			b.expect(`const r = await attempt(S.call('com.test.plainthrow')); delete r.error.message; return r;`,
				`{"error":{"class":"WampError","uri":"com.test.error.plain","args":[{"deep":[true]}],"kwargs":{"n":-1.5}}}`)
			b.expect(`const r = await attempt(S.call('com.test.nobody')); return [r.error.class, r.error.uri];`,
				`["WampError","wamp.error.no_such_procedure"]`)

			// Events from A to B, in order, and one back from B to A.
			b.run(`await S.subscribe('com.test.ab', collect('ab'));`)
			a.run(`await S.subscribe('com.test.ba', collect('ba'));`)
			a.run(`
				await S.publish('com.test.ab', [1], null, {acknowledge: true});
				await S.publish('com.test.ab', ['two', bytes(2)], {k: bytes(0xff)}, {acknowledge: true});
				await S.publish('com.test.ab', null, {only: 'kwargs'}, {acknowledge: true});`)
			b.waitFor(`received.ab.length === 3`)
			b.expect(`return received.ab;`, `[
				{"args":[1],"kwargs":{}},
				{"args":["two","<bytes 02>"],"kwargs":{"k":"<bytes ff>"}},
				{"args":[],"kwargs":{"only":"kwargs"}}]`)
			b.run(`await S.publish('com.test.ba', [{from: 'B'}]);`)
			a.waitFor(`received.ba.length === 1`)
			a.expect(`return received.ba;`, `[{"args":[{"from":"B"}],"kwargs":{}}]`)

			a.run(`await S.leave();`)
			b.expect(`return await unregistered(S, 'com.test.add');`, `true`)
			b.run(`await S.leave();`)
		})
	}
}

// TestFallback: with the WebSocket endpoint refused (403, as a firewall
// would) or reached without its Upgrade header (a proxy that strips it),
// connect with the default transports falls back to long-poll by itself,
// and the session works.
func TestFallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block func(ws http.Handler) http.Handler
	}{
		{"forbidden", func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "WebSocket is blocked here", http.StatusForbidden)
			})
		}},
		{"upgrade-stripped", func(ws http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Del("Upgrade")
				r.Header.Del("Connection")
				ws.ServeHTTP(w, r)
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{WebSocket: tc.block})
			a := openTabs(t, "A")[0]
			// The refused handshake is the point of the test.
			a.allowBrowserErrors(`WebSocket connection to 'ws://[^']+/ws' failed: Error during WebSocket handshake: Unexpected response code: (403|426)`)
			a.open(e.url("/test/harness.html"))
			a.expect(connectJS(`onclose: (reason, d) => { window.closeInfo = [reason, d.willRetry]; }`), `"longpoll"`)
			if n := e.wsRequests.Load(); n == 0 {
				t.Error("the client did not try WebSocket first")
			}
			if n := e.lpOpens.Load(); n != 1 {
				t.Errorf("%d POST /lp/open, want 1", n)
			}
			a.run(`await S.register('com.test.mul', (args) => args[0] * args[1]);
				await S.subscribe('com.test.self', collect('self'));`)
			a.expect(`return await S.call('com.test.mul', [6, 7]);`, `{"args":[42],"kwargs":{}}`)
			a.run(`await S.publish('com.test.self', [bytes(1, 2)], null, {acknowledge: true, exclude_me: false});`)
			a.waitFor(`received.self.length === 1`)
			a.expect(`return received.self;`, `[{"args":["<bytes 0102>"],"kwargs":{}}]`)
			a.run(`await S.leave();`)
			a.waitFor(`window.closeInfo !== undefined`)
			a.expect(`return window.closeInfo;`, `["closed", false]`)
		})
	}
}

// TestGlobalScript: the plain-script build /wamp.global.js, for pages
// without modules, defines globalThis.wampkit and works like the module.
func TestGlobalScript(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := openTabs(t, "A")[0]
	a.open(e.url("/test/global.html"))
	a.expect(`
		const s = await wampkit.connect({realm: 'realm1'});
		await s.register('com.test.neg', (args) => -args[0]);
		const r = await s.call('com.test.neg', [5]);
		const err = await s.call('com.test.none').catch((e) => e);
		await s.leave();
		return [s.transport, r instanceof wampkit.Result, r.args, err instanceof wampkit.WampError, err.uri];`,
		`["websocket", true, [-5], true, "wamp.error.no_such_procedure"]`)
}

// TestWebSocketWithoutShimEntries: a Go program in the page whose
// WebSockets deliver their messages through js.FuncOf handlers, as they do
// when no wampkit shim installs its faster entry, works as well. The page
// removes the shim's hook before its second session dials. A large call
// then crosses the entries' buffer past its kept size.
func TestWebSocketWithoutShimEntries(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := openTabs(t, "A")[0]
	a.open(e.url("/test/harness.html"))
	a.expect(`
		const fast = await wampkit.connect({realm: 'realm1'});
		const hooked = typeof globalThis.__wampkit_wsjs_attach === 'function';
		delete globalThis.__wampkit_wsjs_attach;
		const slow = await wampkit.connect({realm: 'realm1', transports: ['websocket']});
		await fast.register('com.test.fast', (args) => args[0] * 2);
		await slow.register('com.test.slow', (args) => args[0] + 1);
		const got = [];
		for (let i = 0; i < 20; i++) {
			got.push((await slow.call('com.test.fast', [i])).args[0]);
			got.push((await fast.call('com.test.slow', [i])).args[0]);
		}
		// Over the entries' kept buffer (64 KiB) and back under it:
		// 100,000 two-byte characters each way.
		await slow.register('com.test.echo', (args) => args[0]);
		const big = 'é'.repeat(100000);
		const echoed = (await fast.call('com.test.echo', [big])).args[0];
		const after = (await fast.call('com.test.slow', [1])).args[0];
		await slow.leave();
		await fast.leave();
		return [hooked, slow.transport, got.length, got[38], got[39], echoed === big, after];`,
		`[true, "websocket", 40, 38, 20, true, 2]`)
}

// TestUnregisterUnsubscribe: once tab A unregisters a procedure, tab B's
// call fails with wamp.error.no_such_procedure, and a second unregister
// of the same registration is refused; once B unsubscribes, A's next
// publication to that topic does not reach it. B's other subscription
// still gets the marker that A publishes after it, which bounds the wait.
func TestUnregisterUnsubscribe(t *testing.T) {
	e := newEnv(t, envConfig{})
	tabs := openTabs(t, "A", "B")
	a, b := tabs[0], tabs[1]
	for _, tb := range tabs {
		tb.open(e.url("/test/harness.html"))
		tb.expect(connectJS(`transports: ['websocket']`), `"websocket"`)
	}

	a.run(`window.reg = await S.register('com.test.gone', () => 'here');
		window.kept = await S.register('com.test.kept', () => 'kept');`)
	b.expect(`return await S.call('com.test.gone');`, `{"args":["here"],"kwargs":{}}`)
	a.run(`await reg.unregister();`)
	// A has UNREGISTERED: the router no longer has the procedure.
	b.expect(`const r = await attempt(S.call('com.test.gone')); return [r.error.class, r.error.uri];`,
		`["WampError","wamp.error.no_such_procedure"]`)
	// Twice, through either spelling: refused, and nothing else changes.
	a.expect(`const r1 = await attempt(reg.unregister());
		const r2 = await attempt(S.unregister(reg));
		return [r1.error.class, r1.error.message, r2.error.message];`,
		`["Error","wampkit: unregister: not a live registration of this session",
		  "wampkit: unregister: not a live registration of this session"]`)
	b.expect(`return await S.call('com.test.kept');`, `{"args":["kept"],"kwargs":{}}`)

	b.run(`window.news = await S.subscribe('com.test.news', collect('news'));
		await S.subscribe('com.test.marker', collect('marker'));`)
	a.run(`await S.publish('com.test.news', [1], null, {acknowledge: true});`)
	b.waitFor(`received.news.length === 1`)
	b.run(`await news.unsubscribe();`)
	b.expect(`const r = await attempt(S.unsubscribe(news)); return [r.error.class, r.error.message];`,
		`["Error","wampkit: unsubscribe: not a live subscription of this session"]`)
	a.run(`await S.publish('com.test.news', [2], null, {acknowledge: true});
		await S.publish('com.test.marker', ['after'], null, {acknowledge: true});`)
	// The marker left A after the second news: had the news reached B, it
	// would have come first, on the same connection.
	b.waitFor(`received.marker.length === 1`)
	b.expect(`return [received.news, received.marker];`,
		`[[{"args":[1],"kwargs":{}}], [{"args":["after"],"kwargs":{}}]]`)
}

// TestProcedureErrors: what a procedure throws or rejects with reaches the
// caller. An object with a uri (a WampError or a plain object) keeps its
// URI, args and kwargs, thrown or rejected; anything else, a plain Error
// or a string, becomes wamp.error.runtime_error with its message as the
// only argument, and so does a result or error that cannot be sent.
func TestProcedureErrors(t *testing.T) {
	e := newEnv(t, envConfig{})
	tabs := openTabs(t, "callee", "caller")
	callee, caller := tabs[0], tabs[1]
	for _, tb := range tabs {
		tb.open(e.url("/test/harness.html"))
		tb.expect(connectJS(`serializer: 'json'`), `"websocket"`)
	}
	callee.run(`
		await S.register('com.test.reject.object', async () => {
			await sleep(1);
			throw {uri: 'com.test.error.async', args: [1, 'x', bytes(3)], kwargs: {k: {deep: null}}};
		});
		await S.register('com.test.reject.wamp', () =>
			Promise.reject(new wampkit.WampError('com.test.error.promise', ['why'], {n: 2})));
		await S.register('com.test.throw.error', () => { throw new Error('boom'); });
		await S.register('com.test.reject.error', async () => { await sleep(1); throw new TypeError('later boom'); });
		await S.register('com.test.throw.string', () => { throw 'just a string'; });
		await S.register('com.test.return.cycle', () => { const o = {}; o.self = o; return o; });
		await S.register('com.test.throw.cycle', () => {
			const o = {}; o.self = o;
			throw {uri: 'com.test.error.cycle', args: [o]};
		});`)

	caller.expect(`return await attempt(S.call('com.test.reject.object'));`,
		`{"error":{"class":"WampError","uri":"com.test.error.async","args":[1,"x","<bytes 03>"],
		  "kwargs":{"k":{"deep":null}},"message":"com.test.error.async: [1 x [3]]"}}`)
	caller.expect(`return await attempt(S.call('com.test.reject.wamp'));`,
		`{"error":{"class":"WampError","uri":"com.test.error.promise","args":["why"],
		  "kwargs":{"n":2},"message":"com.test.error.promise: why"}}`)
	caller.expect(`return await attempt(S.call('com.test.throw.error'));`,
		`{"error":{"class":"WampError","uri":"wamp.error.runtime_error","args":["boom"],
		  "kwargs":{},"message":"wamp.error.runtime_error: boom"}}`)
	caller.expect(`return await attempt(S.call('com.test.reject.error'));`,
		`{"error":{"class":"WampError","uri":"wamp.error.runtime_error","args":["later boom"],
		  "kwargs":{},"message":"wamp.error.runtime_error: later boom"}}`)
	caller.expect(`return await attempt(S.call('com.test.throw.string'));`,
		`{"error":{"class":"WampError","uri":"wamp.error.runtime_error","args":["just a string"],
		  "kwargs":{},"message":"wamp.error.runtime_error: just a string"}}`)
	caller.expect(`const r = await attempt(S.call('com.test.return.cycle'));
		return [r.error.uri, r.error.args.length, /circular/i.test(r.error.args[0])];`,
		`["wamp.error.runtime_error", 1, true]`)
	caller.expect(`const r = await attempt(S.call('com.test.throw.cycle'));
		return [r.error.uri, r.error.args.length, r.error.args[0].startsWith("the error's arguments cannot be sent: ")];`,
		`["com.test.error.cycle", 1, true]`)
	// The callee answered every call and still serves.
	callee.run(`await S.register('com.test.ok', () => 'ok');`)
	caller.expect(`return (await S.call('com.test.ok')).args;`, `["ok"]`)
}

// TestPublishAcknowledge: a publication that the router refuses, to an
// invalid topic URI or under the router's own wamp. prefix, rejects with
// the router's error when it asked for acknowledgement, and resolves
// without it, since the router then answers nothing; a good acknowledged
// publication resolves once the router has it.
func TestPublishAcknowledge(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := openTabs(t, "A")[0]
	a.open(e.url("/test/harness.html"))
	a.expect(connectJS(`transports: ['websocket']`), `"websocket"`)
	a.expect(`const out = [];
		for (const topic of ['com..bad', 'wamp.test.mine']) {
			const r = await attempt(S.publish(topic, [1], null, {acknowledge: true}));
			out.push([topic, r.error.class, r.error.uri, r.error.args]);
		}
		return out;`,
		`[["com..bad", "WampError", "wamp.error.invalid_uri", ["invalid topic URI"]],
		  ["wamp.test.mine", "WampError", "wamp.error.not_authorized", ["only the router publishes under wamp."]]]`)
	a.expect(`return [await attempt(S.publish('com..bad', [1])),
			await attempt(S.publish('wamp.test.mine', [1], null, {acknowledge: false}))];`,
		`[{"ok":null}, {"ok":null}]`)
	// The session is as it was: an acknowledged publication to itself
	// resolves, and its event arrives.
	a.run(`await S.subscribe('com.test.self', collect('self'));`)
	a.expect(`return await attempt(S.publish('com.test.self', ['me'], null, {acknowledge: true, exclude_me: false}));`,
		`{"ok":null}`)
	a.waitFor(`received.self.length === 1`)
	a.expect(`return received.self;`, `[{"args":["me"],"kwargs":{}}]`)
}

// TestConnectOptions: connect's url and longpollUrl are the ones dialed
// (an http URL becomes ws, a wrong path fails), and a serializer that the
// default build leaves out (CBOR) or that does not exist is refused with
// a message that says so.
func TestConnectOptions(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := openTabs(t, "A")[0]
	// The wrong paths below are the point of the test.
	a.allowBrowserErrors(`WebSocket connection to 'ws://[^']+/nowhere' failed`, `status of 404 .*/nowhere/open`)
	a.open(e.url("/test/harness.html"))
	a.expect(`
		const viaHTTP = await wampkit.connect({realm: 'realm1', url: location.origin + '/ws', transports: ['websocket']});
		const lp = await wampkit.connect({realm: 'realm1', longpollUrl: location.origin + '/lp', transports: ['longpoll']});
		await viaHTTP.register('com.test.inc', (args) => args[0] + 1);
		const r = await lp.call('com.test.inc', [41]);
		await lp.leave();
		await viaHTTP.leave();
		return [viaHTTP.transport, lp.transport, r.args];`,
		`["websocket", "longpoll", [42]]`)
	a.expect(`
		const wrongWS = await wampkit.connect({realm: 'realm1', url: '/nowhere', transports: ['websocket']}).then(() => 'joined', (e) => e.message);
		const wrongLP = await wampkit.connect({realm: 'realm1', longpollUrl: '/nowhere', transports: ['longpoll']}).then(() => 'joined', (e) => e.message);
		return [wrongWS.startsWith('wampkit: unreachable: ws://') && wrongWS.includes('/nowhere: websocket: dial'),
			wrongLP.startsWith('wampkit: unreachable: http://') && wrongLP.endsWith('/nowhere: longpoll: open: HTTP 404: 404 page not found')];`,
		`[true, true]`)
	a.expect(`
		const cbor = await wampkit.connect({realm: 'realm1', serializer: 'cbor'}).then(() => 'joined', (e) => e.message);
		const xml = await wampkit.connect({realm: 'realm1', serializer: 'xml'}).then(() => 'joined', (e) => e.message);
		return [cbor, xml];`,
		`["connect options: serializer \"cbor\" is not in this build of wamp.wasm (it has json, msgpack)", "connect options: serializer \"xml\": want json, msgpack or cbor"]`)
}

// TestWasmInstantiation: the client compiles wamp.wasm while it downloads
// (WebAssembly.instantiateStreaming, which needs the application/wasm
// type that the router serves), and falls back to instantiating the whole
// download in a browser without it.
func TestWasmInstantiation(t *testing.T) {
	e := newEnv(t, envConfig{})
	a := openTabs(t, "A")[0]
	count := `
		const calls = {streaming: 0, whole: 0};
		const streaming = WebAssembly.instantiateStreaming;
		const whole = WebAssembly.instantiate;
		if (streaming) WebAssembly.instantiateStreaming = (...args) => { calls.streaming++; return streaming(...args); };
		WebAssembly.instantiate = (...args) => { calls.whole++; return whole(...args); };`
	a.open(e.url("/test/harness.html"))
	a.expect(count+`
		const s = await wampkit.connect({realm: 'realm1'});
		const r = await s.call('wamp.session.count');
		await s.leave();
		return [calls, r.args.length];`,
		`[{"streaming":1,"whole":0}, 1]`)
	a.open(e.url("/test/harness.html"))
	a.expect(`delete WebAssembly.instantiateStreaming;`+count+`
		const s = await wampkit.connect({realm: 'realm1'});
		const r = await s.call('wamp.session.count');
		await s.leave();
		return [calls, r.args.length];`,
		`[{"streaming":0,"whole":1}, 1]`)
}

// TestMessageAboveRouterLimit: the page's client learns the router's
// message limit from WELCOME: a call with arguments above it rejects at
// once, and the session goes on (the router would have closed it: 1009
// over WebSocket, 413 over long-poll). A result above it reaches the
// caller as wamp.error.payload_size_exceeded.
func TestMessageAboveRouterLimit(t *testing.T) {
	for _, transport := range []string{"websocket", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t, envConfig{Router: &server.Config{Realms: []server.RealmConfig{{Name: realm}}, MaxMessageSize: 8 << 10}})
			a := openTabs(t, "A")[0]
			a.open(e.url("/test/harness.html"))
			a.expect(connectJS(fmt.Sprintf(`transports: [%s]`, js(transport))), js(transport))
			a.expect(`
				const big = 'x'.repeat(8 << 10);
				await S.register('com.test.echo', (args) => args[0]);
				await S.register('com.test.big', () => big);
				const refused = await S.call('com.test.echo', [big]).then(() => 'answered', (e) => e.message);
				const after = (await S.call('com.test.echo', ['small'])).args[0];
				const bigResult = await S.call('com.test.big').then(() => 'answered', (e) => e.uri);
				return [refused.includes('above the 8192 bytes the other side accepts'), after, bigResult, S.isOpen];`,
				`[true, "small", "wamp.error.payload_size_exceeded", true]`)
		})
	}
}
