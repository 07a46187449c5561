package browsertests

import (
	"fmt"
	"testing"
)

// TestAutobahn: Autobahn|JS's browser build (npm autobahn-browser) in one
// tab and the wasm client in another, over WebSocket and over each one's
// long-poll transport: Autobahn calls procedures that the wasm client
// registered and the reverse (arguments, keyword arguments, application
// errors with their URI, args and kwargs), and events cross both ways.
//
// Binary crosses only over WebSocket, where Autobahn's JSONSerializer takes
// the replacer and reviver of testdata/ab.js for WAMP's "\0"+base64
// convention; its long-poll transport calls plain JSON.stringify, which
// cannot carry a Uint8Array.
func TestAutobahn(t *testing.T) {
	requireAutobahn(t)
	for _, transport := range []string{"websocket", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			binary := transport == "websocket"
			e := newEnv(t, envConfig{})
			tabs := openTabs(t, "wasm", "autobahn")
			w, ab := tabs[0], tabs[1]
			w.open(e.url("/test/harness.html"))
			ab.open(e.url("/test/autobahn.html"))
			w.expect(connectJS(fmt.Sprintf("transports: [%s]", js(transport))), js(transport))
			ab.expect(fmt.Sprintf(`window.AB = await abOpen(%s); return AB.isOpen;`, js(transport)), `true`)
			if transport == "longpoll" {
				if n := e.wsRequests.Load(); n != 0 {
					t.Errorf("%d requests to /ws, want none over long-poll", n)
				}
				if n := e.lpOpens.Load(); n != 2 {
					t.Errorf("%d POST /lp/open, want 2 (wasm and Autobahn)", n)
				}
			}

			// Autobahn calls the wasm client.
			w.run(`
				await S.register('com.wasm.echo', (args, kwargs) => new wampkit.Result(args, kwargs));
				await S.register('com.wasm.fail', () => {
					throw new wampkit.WampError('com.wasm.error.refused', ['no', 2], {code: 7});
				});`)
			ab.expect(`return await AB.call('com.wasm.echo', [1, 'two', {three: [3, null]}], {k: 'v', t: true});`,
				`{"args":[1,"two",{"three":[3,null]}],"kwargs":{"k":"v","t":true}}`)
			ab.expect(`return await attempt(AB.call('com.wasm.fail', [1]));`,
				`{"error":{"class":"autobahn.Error","uri":"com.wasm.error.refused","args":["no",2],"kwargs":{"code":7},"message":""}}`)
			if binary {
				ab.expect(`return await AB.call('com.wasm.echo', [bytes(0, 1, 255)], {b: bytes(42)});`,
					`{"args":["<bytes 0001ff>"],"kwargs":{"b":"<bytes 2a>"}}`)
			}

			// The wasm client calls Autobahn.
			ab.run(`
				await AB.register('com.ab.mul', (args) => args[0] * args[1]);
				await AB.register('com.ab.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
				await AB.register('com.ab.fail', () => {
					throw new autobahn.Error('com.ab.error.nope', ['nope'], {n: 1, list: ['x']});
				});`)
			w.expect(`return await S.call('com.ab.mul', [6, 7]);`, `{"args":[42],"kwargs":{}}`)
			w.expect(`return await S.call('com.ab.echo', ['a', [1.5]], {k: {deep: null}});`,
				`{"args":["a",[1.5]],"kwargs":{"k":{"deep":null}}}`)
			w.expect(`const r = await attempt(S.call('com.ab.fail')); delete r.error.message; return r;`,
				`{"error":{"class":"WampError","uri":"com.ab.error.nope","args":["nope"],"kwargs":{"n":1,"list":["x"]}}}`)
			if binary {
				w.expect(`return await S.call('com.ab.echo', [bytes(9, 8, 7)], {b: bytes()});`,
					`{"args":["<bytes 090807>"],"kwargs":{"b":"<bytes >"}}`)
			}

			// Events both ways.
			ab.run(`await AB.subscribe('com.test.to_ab', collect('toAB'));`)
			w.run(`await S.subscribe('com.test.to_wasm', collect('toWasm'));`)
			w.run(`await S.publish('com.test.to_ab', [1, 'x'], {from: 'wasm'}, {acknowledge: true});`)
			ab.run(`await AB.publish('com.test.to_wasm', [2, 'y'], {from: 'autobahn'}, {acknowledge: true});`)
			ab.waitFor(`received.toAB.length === 1`)
			w.waitFor(`received.toWasm.length === 1`)
			ab.expect(`return received.toAB;`, `[{"args":[1,"x"],"kwargs":{"from":"wasm"}}]`)
			w.expect(`return received.toWasm;`, `[{"args":[2,"y"],"kwargs":{"from":"autobahn"}}]`)

			ab.run(`await AB.leave('wamp.close.normal');`)
			w.expect(`return await unregistered(S, 'com.ab.mul');`, `true`)
			w.run(`await S.leave();`)
		})
	}
}
