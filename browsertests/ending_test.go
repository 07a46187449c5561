package browsertests

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// TestSessionEndings: the browser client routes WebSocket messages as the
// browser delivers them (transport.Pusher), so the end of a session is
// handled inside a call from JavaScript into Go, which must not wait. A
// session that the router kills hears onclose with the router's reason,
// and the other sessions of the page go on; a router that breaks the
// protocol gets ABORT wamp.error.protocol_violation, and the page hears it.
func TestSessionEndings(t *testing.T) {
	t.Run("killed", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		a := openTabs(t, "A")[0]
		a.open(e.url("/test/harness.html"))
		a.run(`window.other = await wampkit.connect({realm: 'realm1', retry: false});
			await other.register('com.test.alive', () => 'yes');`)
		a.expect(connectJS(`retry: false, onclose: (reason, d) => { window.closeInfo = [reason, d.willRetry]; }`), `"websocket"`)
		id, err := strconv.ParseUint(string(a.run(`return S.id;`)), 10, 64)
		if err != nil {
			t.Fatalf("the page's session ID: %v", err)
		}

		killer, err := client.Join(t.Context(), e.wsURL(), realm, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer killer.Leave(context.Background())
		if _, err := killer.Call(t.Context(), "wamp.session.kill", wamp.List{wamp.ID(id)}, wamp.Dict{"reason": "com.test.kicked"}); err != nil {
			t.Fatalf("wamp.session.kill: %v", err)
		}
		a.waitFor(`window.closeInfo !== undefined`)
		a.expect(`return window.closeInfo;`, `["com.test.kicked", false]`)
		a.expect(`return (await other.call('com.test.alive')).args[0];`, `"yes"`)
	})

	t.Run("protocol violation", func(t *testing.T) {
		got := make(chan string, 1)
		e := newEnv(t, envConfig{WebSocket: func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- brokenRouter(w, r)
			})
		}})
		a := openTabs(t, "A")[0]
		a.open(e.url("/test/harness.html"))
		a.expect(connectJS(`transports: ['websocket'], retry: false,
			onclose: (reason, d) => { window.closeInfo = [reason, d.willRetry]; }`), `"websocket"`)
		a.waitFor(`window.closeInfo !== undefined`)
		a.expect(`return window.closeInfo;`, `["wamp.error.protocol_violation", false]`)
		select {
		case m := <-got:
			if !strings.HasPrefix(m, `[3,`) || !strings.Contains(m, `"wamp.error.protocol_violation"`) {
				t.Errorf("the router got %s, want ABORT wamp.error.protocol_violation", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the router got nothing after its bad message")
		}
	})
}

// brokenRouter welcomes a client over WebSocket with JSON, sends it a
// message of a type that does not exist, and returns what the client sent
// next (or why nothing came).
func brokenRouter(w http.ResponseWriter, r *http.Request) string {
	c, err := ws.Accept(w, r, &ws.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
	if err != nil {
		return "accept: " + err.Error()
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if _, hello, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(hello), "[1,") {
		return fmt.Sprintf("HELLO: %q, %v", hello, err)
	}
	for _, m := range []string{`[2,1234,{"roles":{"broker":{},"dealer":{}}}]`, `[999,1]`} {
		if err := c.Write(ctx, ws.MessageText, []byte(m)); err != nil {
			return "write: " + err.Error()
		}
	}
	_, m, err := c.Read(ctx)
	if err != nil {
		return "read: " + err.Error()
	}
	return string(m)
}

// TestTimerSetInsideEntry: a timer that Go sets inside the shim's call
// into Go fires on time. A router without call_timeout leaves the timeout
// of a call to the client, which sets it while the call starts, inside
// that entry; only Go's resume, which the shim runs soon after, gives such
// a timer its JavaScript timeout.
func TestTimerSetInsideEntry(t *testing.T) {
	e := newEnv(t, envConfig{WebSocket: func(http.Handler) http.Handler {
		return http.HandlerFunc(silentRouter)
	}})
	a := openTabs(t, "A")[0]
	a.open(e.url("/test/harness.html"))
	a.expect(connectJS(`transports: ['websocket'], retry: false`), `"websocket"`)
	a.expect(`
		const t0 = performance.now();
		const err = await S.call('com.test.never', [], null, {timeout: 300}).catch((e) => e);
		const ms = performance.now() - t0;
		return [err.uri, ms >= 290 && ms < 2000];`,
		`["wamp.error.timeout", true]`)
}

// silentRouter welcomes a client over WebSocket with JSON, announcing a
// dealer with no features, and then answers nothing.
func silentRouter(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, &ws.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	if _, _, err := c.Read(r.Context()); err != nil {
		return
	}
	if err := c.Write(r.Context(), ws.MessageText, []byte(`[2,1234,{"roles":{"broker":{},"dealer":{}}}]`)); err != nil {
		return
	}
	for {
		if _, _, err := c.Read(r.Context()); err != nil {
			return
		}
	}
}
