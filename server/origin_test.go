package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// TestOriginAllowList: the router's HTTP handler applies one Origin
// allow-list to WebSocket and long-poll alike. A foreign Origin gets 403
// on the upgrade at /ws, on POST /lp/open and on its CORS preflight; the
// listed Origin is let through on all three, and a router without the
// list refuses that same Origin (so the list is what admits it).
func TestOriginAllowList(t *testing.T) {
	const allowed, foreign = "https://app.test", "https://evil.test"
	r := newTestRouter(t, Config{})
	withList := httptest.NewServer(r.Handler(HTTPConfig{OriginPatterns: []string{"app.test"}}))
	defer withList.Close()
	withoutList := httptest.NewServer(r.Handler(HTTPConfig{}))
	defer withoutList.Close()

	upgrade := func(base, origin string) int {
		t.Helper()
		url := "ws" + strings.TrimPrefix(base, "http") + "/ws"
		c, res, err := ws.Dial(t.Context(), url, &ws.DialOptions{Subprotocols: []string{"wamp.2.json"}, HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			defer c.CloseNow()
			// The session works: HELLO, WELCOME.
			hello, _ := codec.JSON.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
			if err := c.Write(t.Context(), ws.MessageText, hello); err != nil {
				t.Fatalf("writing HELLO from %s: %v", origin, err)
			}
			_, data, err := c.Read(t.Context())
			if err != nil {
				t.Fatalf("reading WELCOME from %s: %v", origin, err)
			}
			if m, err := codec.JSON.Decode(data); err != nil || m.Type() != wamp.TypeWelcome {
				t.Fatalf("answer to HELLO from %s: %v %v, want WELCOME", origin, m, err)
			}
		}
		if res == nil {
			t.Fatalf("upgrade from %s: no response: %v", origin, err)
		}
		return res.StatusCode
	}
	open := func(base, origin string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/lp/open", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		return sendFrom(t, req, origin)
	}
	preflight := func(base, origin string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, base+"/lp/open", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		return sendFrom(t, req, origin)
	}

	for _, tt := range []struct {
		name, base, origin string
		ws, lp, options    int
	}{
		{"foreign origin", withList.URL, foreign, http.StatusForbidden, http.StatusForbidden, http.StatusForbidden},
		{"listed origin", withList.URL, allowed, http.StatusSwitchingProtocols, http.StatusOK, http.StatusNoContent},
		{"listed origin, router without the list", withoutList.URL, allowed, http.StatusForbidden, http.StatusForbidden, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := upgrade(tt.base, tt.origin); got != tt.ws {
				t.Errorf("GET /ws: HTTP %d, want %d", got, tt.ws)
			}
			if got := open(tt.base, tt.origin); got != tt.lp {
				t.Errorf("POST /lp/open: HTTP %d, want %d", got, tt.lp)
			}
			if got := preflight(tt.base, tt.origin); got != tt.options {
				t.Errorf("OPTIONS /lp/open: HTTP %d, want %d", got, tt.options)
			}
		})
	}
}

// sendFrom sends req and returns its status, after checking the CORS header:
// the Origin echoed on success, absent on a refusal.
func sendFrom(t *testing.T, req *http.Request, origin string) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	acao := res.Header.Get("Access-Control-Allow-Origin")
	if ok := res.StatusCode < 300; ok && acao != origin || !ok && acao != "" {
		t.Errorf("%s %s from %s: HTTP %d with Access-Control-Allow-Origin %q", req.Method, req.URL.Path, origin, res.StatusCode, acao)
	}
	return res.StatusCode
}
