package browsertests

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wampkit/wampkit/server"
)

// TestBridgePublishReachesPage: a backend publishes with a signed
// POST /publish to the HTTP bridge, and a subscriber in the page gets the
// event; a request with a bad signature is refused with 401.
func TestBridgePublishReachesPage(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.mu.Lock()
	router := e.router
	e.mu.Unlock()
	const keyID, secret = "backend", "0123456789abcdef-secret"
	bridge, err := router.NewBridge(server.BridgeConfig{Realm: realm, Keys: map[string]string{keyID: secret}})
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(bridge)
	defer backend.Close()

	tb := openTabs(t, "subscriber")[0]
	tb.open(e.url("/test/harness.html"))
	tb.expect(connectJS(`serializer: 'json'`), `"websocket"`)
	tb.run(`window.news = []; await S.subscribe('com.example.news', (args, kwargs) => news.push([args[0], kwargs.n])); return null;`)

	post := func(body string, sign bool) (int, string) {
		req, _ := http.NewRequest("POST", backend.URL+"/publish", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		if sign {
			server.SignBridgeRequest(req, keyID, secret, []byte(body))
		} else {
			server.SignBridgeRequest(req, keyID, "not-the-secret-at-all", []byte(body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"topic": "com.example.news", "args": ["forged"]}`, false); code != http.StatusUnauthorized {
		t.Fatalf("badly signed publish: %d %s, want 401", code, body)
	}
	if code, body := post(`{"topic": "com.example.news", "args": ["from the backend"], "kwargs": {"n": 7}}`, true); code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	tb.waitFor(`news.length === 1`)
	tb.expect(`return news;`, `[["from the backend", 7]]`)
}
