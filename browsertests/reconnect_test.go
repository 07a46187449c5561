package browsertests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// TestReconnect: the router restarts on the same address (GOODBYE
// wamp.close.system_shutdown, the port closed for a second, then a new
// router with no state). The page hears onclose with willRetry true, then
// onopen, and its registration and subscription work again on the new
// router, as a native Go peer sees. Over WebSocket and over long-poll.
func TestReconnect(t *testing.T) {
	for _, transport := range []string{"websocket", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			a := openTabs(t, "A")[0]
			// The attempts while the router is down are refused, and the
			// restarted router knows no long-poll transport of the old one.
			a.allowBrowserErrors(`net::ERR_CONNECTION_REFUSED`, lpUnknownTransport)
			a.open(e.url("/test/harness.html"))
			a.run(`window.lifecycle = [];`)
			a.expect(connectJS(fmt.Sprintf(`transports: [%s],
				onopen: (s) => lifecycle.push(['open', s.transport]),
				onclose: (reason, d) => lifecycle.push(['close', reason, d.willRetry])`, js(transport))), js(transport))
			a.run(`
				await S.register('com.test.greet', (args) => 'hello ' + args[0]);
				await S.register('com.test.any.', (args, kwargs, details) => details.procedure, {match: 'prefix'});
				await S.subscribe('com.test.news', collect('news'));
				window.firstID = S.id;`)
			goCall(t, e, "before the restart")
			a.waitFor(`received.news.length === 1`)

			// Down longer than the first retry's delay (0.5 s): at least one
			// attempt is refused before the router is back.
			e.restart(time.Second)
			a.waitFor(`S.isOpen && lifecycle.filter((ev) => ev[0] === 'open').length === 2`)
			t.Logf("onopen/onclose: %s", a.run(`return lifecycle;`))
			a.expect(`return [lifecycle[0], lifecycle[1], lifecycle.at(-1),
					lifecycle.slice(2, -1).every((ev) => ev[0] === 'close' && ev[2] === true)];`,
				fmt.Sprintf(`[["open", %[1]q], ["close", "wamp.close.system_shutdown", true], ["open", %[1]q], true]`, transport))
			a.expect(`return [S.transport, S.id !== firstID];`, fmt.Sprintf(`[%q, true]`, transport))
			goCall(t, e, "after the restart")
			a.waitFor(`received.news.length === 2`)
			a.expect(`return received.news.map((ev) => ev.args[0]);`, `["before the restart", "after the restart"]`)

			a.run(`window.opens = lifecycle.length; await S.leave();`)
			a.waitFor(`lifecycle.length === opens + 1`)
			a.expect(`return lifecycle.at(-1);`, `["close", "closed", false]`)
		})
	}
}

// goCall joins the router as a native Go peer over WebSocket and msgpack,
// calls the page's procedures com.test.greet and, through its prefix
// registration, com.test.any.<when> (registered again with its options
// after a reconnect), and checks the results, then publishes when to the
// page's topic com.test.news.
func goCall(t *testing.T, e *env, when string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	s, err := client.Join(ctx, e.wsURL(), realm, &client.Config{Serializer: "msgpack"})
	if err != nil {
		t.Fatalf("%s: Go peer: join: %v", when, err)
	}
	defer s.Leave(ctx)
	r, err := s.Call(ctx, "com.test.greet", wamp.List{"go"}, nil)
	if err != nil {
		t.Fatalf("%s: Go peer: call the page's procedure: %v", when, err)
	}
	if len(r.Args) != 1 || r.Args[0] != "hello go" {
		t.Errorf("%s: Go peer: result %v, want [hello go]", when, r.Args)
	}
	called := "com.test.any." + strings.ReplaceAll(when, " ", "_")
	if r, err := s.Call(ctx, wamp.URI(called), nil, nil); err != nil {
		t.Errorf("%s: Go peer: call %s (the page's prefix registration): %v", when, called, err)
	} else if len(r.Args) != 1 || r.Args[0] != called {
		t.Errorf("%s: Go peer: %s returned %v, want [%s]", when, called, r.Args, called)
	}
	if err := s.Publish(ctx, "com.test.news", wamp.List{when}, nil, client.Acknowledge()); err != nil {
		t.Fatalf("%s: Go peer: publish: %v", when, err)
	}
}
