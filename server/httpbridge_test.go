package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

const (
	testKeyID  = "backend1"
	testSecret = "0123456789abcdef-secret"
)

func newTestBridge(t *testing.T, r *Router, cfg BridgeConfig) *Bridge {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	if cfg.Keys == nil {
		cfg.Keys = map[string]string{testKeyID: testSecret}
	}
	b, err := r.NewBridge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bridgeResponse is a decoded bridge answer.
type bridgeResponse struct {
	status int
	body   wamp.Dict
}

// reason is the first arg of a refusal.
func (r bridgeResponse) reason() string {
	args, _ := r.body["args"].(wamp.List)
	if len(args) == 0 {
		return ""
	}
	s, _ := args[0].(string)
	return s
}

// newSigned builds a signed request to /action.
func newSigned(action, body string) *http.Request {
	req := httptest.NewRequest("POST", "/"+action, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	SignBridgeRequest(req, testKeyID, testSecret, []byte(body))
	return req
}

func bridgeDo(t *testing.T, h http.Handler, req *http.Request) bridgeResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" && rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("Content-Type %q, want application/json (status %d, body %s)", ct, rec.Code, rec.Body)
	}
	res := bridgeResponse{status: rec.Code}
	if rec.Code == http.StatusMethodNotAllowed {
		return res
	}
	v, err := codec.DecodeJSONValue(bytes.TrimSpace(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	res.body = v.(wamp.Dict)
	return res
}

func TestBridgePublishReachesSubscriber(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{AuthRole: "backend"})
	sub := join(t, r)
	subID := sub.subscribe("com.example.news", nil)

	res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news", "args": [1, "two", "\u0000AQI="], "kwargs": {"k": true}, "options": {"disclose_me": true}}`))
	if res.status != http.StatusOK {
		t.Fatalf("status %d %v", res.status, res.body)
	}
	ev := expect[*wamp.Event](sub)
	if ev.Subscription != subID {
		t.Fatalf("EVENT for subscription %d, want %d", ev.Subscription, subID)
	}
	if id, _ := res.body["id"].(int64); wamp.ID(id) != ev.Publication || id == 0 {
		t.Fatalf("answer id %v, EVENT publication %d", res.body["id"], ev.Publication)
	}
	if len(ev.Args) != 3 || ev.Args[0] != int64(1) || ev.Args[1] != "two" || !bytes.Equal(ev.Args[2].([]byte), []byte{1, 2}) {
		t.Fatalf("EVENT args %#v", ev.Args)
	}
	if ev.Kwargs["k"] != true {
		t.Fatalf("EVENT kwargs %v", ev.Kwargs)
	}
	if ev.Details["publisher_authrole"] != "backend" || ev.Details["publisher_authid"] != "http-bridge" {
		t.Fatalf("EVENT details %v: want the bridge's authid and configured authrole", ev.Details)
	}
}

func TestBridgePublishErrors(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	// A WAMP error is a completed exchange: 200 with "error", as Crossbar.io.
	res := bridgeDo(t, b, newSigned("publish", `{"topic": "wamp.session.on_join"}`))
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrNotAuthorized) {
		t.Fatalf("publish under wamp.: %d %v", res.status, res.body)
	}
	res = bridgeDo(t, b, newSigned("publish", `{"topic": "bad uri"}`))
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrInvalidURI) {
		t.Fatalf("invalid topic: %d %v", res.status, res.body)
	}
}

func TestBridgeCall(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{AuthRole: "backend"})
	callee := join(t, r)
	callee.register("com.example.add", wamp.Dict{"disclose_caller": true})

	done := make(chan bridgeResponse, 1)
	go func() {
		done <- bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.add", "args": [2, 3], "kwargs": {"round": false}}`))
	}()
	inv := expect[*wamp.Invocation](callee)
	if len(inv.Args) != 2 || inv.Args[0] != int64(2) || inv.Args[1] != int64(3) || inv.Kwargs["round"] != false {
		t.Fatalf("INVOCATION %v %v", inv.Args, inv.Kwargs)
	}
	if inv.Details["caller_authrole"] != "backend" {
		t.Fatalf("INVOCATION details %v: want caller_authrole backend", inv.Details)
	}
	if inv.Details["timeout"] != int64(60000) {
		t.Fatalf("INVOCATION timeout %v, want the bridge's default 60000 ms", inv.Details["timeout"])
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{int64(5)}, Kwargs: wamp.Dict{"exact": true}})
	res := <-done
	if res.status != http.StatusOK {
		t.Fatalf("status %d %v", res.status, res.body)
	}
	args := res.body["args"].(wamp.List)
	if len(args) != 1 || args[0] != int64(5) || res.body["kwargs"].(wamp.Dict)["exact"] != true || res.body["error"] != nil {
		t.Fatalf("answer %v", res.body)
	}

	// The callee's error comes back as it was sent.
	go func() { done <- bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.add", "args": ["x"]}`)) }()
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.error.not_a_number", Args: wamp.List{"x"}, Kwargs: wamp.Dict{"at": int64(0)}})
	res = <-done
	if res.status != http.StatusOK || res.body["error"] != "com.example.error.not_a_number" ||
		res.body["args"].(wamp.List)[0] != "x" || res.body["kwargs"].(wamp.Dict)["at"] != int64(0) {
		t.Fatalf("callee error: %d %v", res.status, res.body)
	}

	res = bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.nothing"}`))
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrNoSuchProcedure) {
		t.Fatalf("no such procedure: %d %v", res.status, res.body)
	}
	res = bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.add", "options": {"receive_progress": true}}`))
	if res.status != http.StatusBadRequest || res.body["error"] != string(wamp.ErrOptionNotAllowed) {
		t.Fatalf("receive_progress: %d %v", res.status, res.body)
	}
}

func TestBridgeCallTimeout(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{CallTimeout: 50 * time.Millisecond})
	callee := join(t, r)
	callee.register("com.example.slow", nil)
	done := make(chan bridgeResponse, 1)
	go func() { done <- bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.slow"}`)) }()
	expect[*wamp.Invocation](callee)
	res := <-done
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrTimeout) {
		t.Fatalf("timeout: %d %v", res.status, res.body)
	}
}

func TestBridgeCallCanceledWhenClientLeaves(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	roles := wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"call_canceling": true}}}
	callee := joinWith(t, r, "realm1", roles)
	callee.register("com.example.slow", nil)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bridgeResponse, 1)
	go func() {
		done <- bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.slow"}`).WithContext(ctx))
	}()
	inv := expect[*wamp.Invocation](callee)
	cancel()
	in := expect[*wamp.Interrupt](callee)
	if in.Request != inv.Request {
		t.Fatalf("INTERRUPT for %d, want %d", in.Request, inv.Request)
	}
	if res := <-done; res.status != http.StatusServiceUnavailable || res.body["error"] != string(wamp.ErrCanceled) {
		t.Fatalf("canceled request: %d %v", res.status, res.body)
	}
}

func TestBridgeRefusesUnauthenticated(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	sub := join(t, r)
	sub.subscribe("com.example.news", nil)
	const body = `{"topic": "com.example.news", "args": [1]}`

	// A request signed right passes, once.
	req := newSigned("publish", body)
	replay := newSignedFrom(req, body)
	if res := bridgeDo(t, b, req); res.status != http.StatusOK {
		t.Fatalf("signed request: %d %v", res.status, res.body)
	}
	expect[*wamp.Event](sub)

	cases := []struct {
		name   string
		req    *http.Request
		reason string
	}{
		{"replayed nonce", replay, "replayed nonce"},
		{"bad signature", tamper(newSigned("publish", body), func(h http.Header) {
			h.Set(BridgeSignatureHeader, BridgeSignature("another-secret-16b", testKeyID, h.Get(BridgeTimestampHeader), h.Get(BridgeNonceHeader), "publish", []byte(body)))
		}), "bad signature"},
		{"body changed", func() *http.Request {
			req := newSigned("publish", body)
			return newSignedFrom(req, `{"topic": "com.example.news", "args": [2]}`)
		}(), "bad signature"},
		{"signed for another action", func() *http.Request {
			req := newSigned("call", body)
			req.URL.Path = "/publish"
			return req
		}(), "bad signature"},
		{"stale timestamp", signedAt(body, time.Now().Add(-6*time.Minute).Unix()), "stale timestamp"},
		{"future timestamp", signedAt(body, time.Now().Add(6*time.Minute).Unix()), "stale timestamp"},
		{"unknown key", tamper(newSigned("publish", body), func(h http.Header) { h.Set(BridgeKeyHeader, "nobody") }), `unknown key "nobody"`},
		{"missing signature", tamper(newSigned("publish", body), func(h http.Header) { h.Del(BridgeSignatureHeader) }), "missing X-WAMP-Signature header"},
		{"short nonce", tamper(newSigned("publish", body), func(h http.Header) { h.Set(BridgeNonceHeader, "abc") }), "invalid X-WAMP-Nonce"},
		{"bad timestamp", tamper(newSigned("publish", body), func(h http.Header) { h.Set(BridgeTimestampHeader, "yesterday") }), "invalid X-WAMP-Timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := bridgeDo(t, b, c.req)
			if res.status != http.StatusUnauthorized || res.body["error"] != string(wamp.ErrAuthenticationFailed) || !strings.HasPrefix(res.reason(), c.reason) {
				t.Fatalf("got %d %v, want 401 with reason %q", res.status, res.body, c.reason)
			}
		})
	}
	// Nothing refused reached the subscriber.
	if res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news", "args": ["last"]}`)); res.status != http.StatusOK {
		t.Fatal(res)
	}
	if ev := expect[*wamp.Event](sub); ev.Args[0] != "last" {
		t.Fatalf("a refused request was published: %v", ev.Args)
	}
}

// newSignedFrom gives req the body and keeps its headers, as a replay or a
// tampering in flight would.
func newSignedFrom(req *http.Request, body string) *http.Request {
	out := httptest.NewRequest("POST", req.URL.Path, strings.NewReader(body))
	out.Header = req.Header.Clone()
	return out
}

func tamper(req *http.Request, f func(http.Header)) *http.Request {
	f(req.Header)
	return req
}

// signedAt signs a publish request with the Unix timestamp ts.
func signedAt(body string, ts int64) *http.Request {
	req := httptest.NewRequest("POST", "/publish", strings.NewReader(body))
	tss := strconv.FormatInt(ts, 10)
	nonce := "nonce-" + tss
	req.Header.Set(BridgeKeyHeader, testKeyID)
	req.Header.Set(BridgeTimestampHeader, tss)
	req.Header.Set(BridgeNonceHeader, nonce)
	req.Header.Set(BridgeSignatureHeader, BridgeSignature(testSecret, testKeyID, tss, nonce, "publish", []byte(body)))
	return req
}

func TestBridgeTimestampRFC3339AndURLBase64(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	const body = `{"topic": "com.example.news"}`
	req := httptest.NewRequest("POST", "/publish", strings.NewReader(body))
	ts := time.Now().UTC().Format(time.RFC3339)
	req.Header.Set(BridgeKeyHeader, testKeyID)
	req.Header.Set(BridgeTimestampHeader, ts)
	req.Header.Set(BridgeNonceHeader, "n0nce_with.all~kinds-")
	std := BridgeSignature(testSecret, testKeyID, ts, "n0nce_with.all~kinds-", "publish", []byte(body))
	url := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(std), "=")
	req.Header.Set(BridgeSignatureHeader, url)
	if res := bridgeDo(t, b, req); res.status != http.StatusOK {
		t.Fatalf("%d %v", res.status, res.body)
	}
}

// TestBridgeSignatureKnownAnswer pins the signed text's layout with one
// vector computed outside this code, by
//
//	printf 'backend1\n1767225600\nkat-nonce-0001\npublish\n{"topic": "com.example.news", "args": ["known answer"]}' |
//	    openssl dgst -sha256 -hmac '0123456789abcdef-secret' -binary | base64
//
// so that a change of order, separator or encoding, which every other
// test would follow, fails here; and the bridge accepts a request that
// carries it.
func TestBridgeSignatureKnownAnswer(t *testing.T) {
	const (
		timestamp = "1767225600" // 2026-01-01T00:00:00Z
		nonce     = "kat-nonce-0001"
		body      = `{"topic": "com.example.news", "args": ["known answer"]}`
		want      = "ZM90kNEXJcddG+FqcnXBmC91OigXFOwb97qg3x0DYwg="
	)
	if got := BridgeSignature(testSecret, testKeyID, timestamp, nonce, "publish", []byte(body)); got != want {
		t.Fatalf("BridgeSignature = %s, want %s", got, want)
	}

	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	b.now = func() time.Time { return time.Unix(1767225600, 0).Add(time.Minute) }
	sub := join(t, r)
	sub.subscribe("com.example.news", nil)
	req := httptest.NewRequest("POST", "/publish", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(BridgeKeyHeader, testKeyID)
	req.Header.Set(BridgeTimestampHeader, timestamp)
	req.Header.Set(BridgeNonceHeader, nonce)
	req.Header.Set(BridgeSignatureHeader, want)
	if res := bridgeDo(t, b, req); res.status != http.StatusOK {
		t.Fatalf("request signed with the known answer: %d %v", res.status, res.body)
	}
	if ev := expect[*wamp.Event](sub); len(ev.Args) != 1 || ev.Args[0] != "known answer" {
		t.Fatalf("EVENT args %#v", ev.Args)
	}
}

func TestBridgeRefusesBadRequests(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{MaxBodySize: 64})
	cases := []struct {
		name   string
		req    *http.Request
		status int
		reason string
	}{
		{"not JSON", newSigned("publish", `{"topic": `), 400, "the body is not valid JSON"},
		{"not an object", newSigned("publish", `["com.example.news"]`), 400, "the body must be a JSON object"},
		{"no topic", newSigned("publish", `{"args": []}`), 400, `"topic" is missing`},
		{"topic not a string", newSigned("publish", `{"topic": 1}`), 400, `"topic" must be a non-empty string`},
		{"args not a list", newSigned("publish", `{"topic": "a.b", "args": {}}`), 400, `"args" must be an array`},
		{"kwargs not a dict", newSigned("call", `{"procedure": "a.b", "kwargs": []}`), 400, `"kwargs" must be an object`},
		{"unknown field", newSigned("call", `{"procedure": "a.b", "topic": "a.b"}`), 400, `unknown field "topic"`},
		{"too big", newSigned("publish", `{"topic": "a.b", "args": ["`+strings.Repeat("x", 100)+`"]}`), 413, "the body is over the limit of 64 bytes"},
		{"wrong content type", tamper(newSigned("publish", `{"topic": "a.b"}`), func(h http.Header) { h.Set("Content-Type", "text/plain") }), 415, "Content-Type must be application/json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := bridgeDo(t, b, c.req)
			if res.status != c.status || !strings.HasPrefix(res.reason(), c.reason) {
				t.Fatalf("got %d %v, want %d with reason %q", res.status, res.body, c.status, c.reason)
			}
		})
	}
	if res := bridgeDo(t, b, httptest.NewRequest("GET", "/publish", nil)); res.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", res.status)
	}
}

func TestBridgeNonceCacheBound(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{MaxNonces: 2, TimestampWindow: time.Minute})
	now := time.Now()
	b.now = func() time.Time { return now }
	const body = `{"topic": "com.example.news"}`
	for i := range 2 {
		if res := bridgeDo(t, b, newSigned("publish", body)); res.status != http.StatusOK {
			t.Fatalf("request %d: %d %v", i, res.status, res.body)
		}
	}
	res := bridgeDo(t, b, newSigned("publish", body))
	if res.status != http.StatusServiceUnavailable || res.body["error"] != string(wamp.ErrUnavailable) {
		t.Fatalf("full cache: %d %v", res.status, res.body)
	}
	// Once the remembered timestamps leave the window, their nonces go.
	now = now.Add(time.Minute + time.Second)
	req := httptest.NewRequest("POST", "/publish", strings.NewReader(body))
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set(BridgeKeyHeader, testKeyID)
	req.Header.Set(BridgeTimestampHeader, ts)
	req.Header.Set(BridgeNonceHeader, "after-the-window")
	req.Header.Set(BridgeSignatureHeader, BridgeSignature(testSecret, testKeyID, ts, "after-the-window", "publish", []byte(body)))
	if res := bridgeDo(t, b, req); res.status != http.StatusOK {
		t.Fatalf("after expiry: %d %v", res.status, res.body)
	}
	if n := len(b.nonces.seen); n != 1 {
		t.Fatalf("%d nonces remembered, want 1", n)
	}
}

func TestBridgeConfigErrors(t *testing.T) {
	r := newTestRouter(t, Config{})
	for _, c := range []struct {
		cfg  BridgeConfig
		want string
	}{
		{BridgeConfig{Realm: "nope", Keys: map[string]string{"k": testSecret}}, `no realm "nope"`},
		{BridgeConfig{Realm: "realm1"}, "no key configured"},
		{BridgeConfig{Realm: "realm1", Keys: map[string]string{"": testSecret}}, "empty key ID"},
		{BridgeConfig{Realm: "realm1", Keys: map[string]string{"k": "short"}}, `the secret of key "k" is shorter than 16 bytes`},
	} {
		_, err := r.NewBridge(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewBridge(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// TestBridgeRoleMustExist: a realm with roles refuses a bridge whose role
// it does not define, as it refuses a principal's; a realm without roles
// takes any.
func TestBridgeRoleMustExist(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{{Name: "realm1"}, secureRealm()}})
	keys := map[string]string{testKeyID: testSecret}
	for _, c := range []struct {
		realm wamp.URI
		role  string
		want  string // "" for accepted
	}{
		{"secure", "robot", `server: bridge: realm "secure" has no role "robot"`},
		{"secure", "", `server: bridge: realm "secure" has no role "http-bridge"`},
		{"secure", "user", ""},
		{"realm1", "robot", ""},
	} {
		_, err := r.NewBridge(BridgeConfig{Realm: c.realm, AuthRole: c.role, Keys: keys})
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("NewBridge(realm %s, role %q) = %v, want %q", c.realm, c.role, err, c.want)
		}
	}
}

// TestBridgeRolePermissions: the bridge's requests are authorized as its
// role's: a role that may only publish publishes, and its call is refused
// with not_authorized and the router's reason.
func TestBridgeRolePermissions(t *testing.T) {
	rc := RealmConfig{Name: "realm1", Roles: []RoleConfig{
		{Name: "notifier", Permissions: []Permission{{URI: "com.example.", Match: "prefix", Allow: Actions{Publish: true}}}},
		{Name: "service", Permissions: []Permission{{URI: "com.example.", Match: "prefix", Allow: Actions{Register: true, Subscribe: true}}}},
	}, Auth: AuthConfig{Anonymous: &AnonymousAuth{Role: "service"}}}
	r := newTestRouter(t, Config{Realms: []RealmConfig{rc}})
	b := newTestBridge(t, r, BridgeConfig{AuthRole: "notifier"})
	svc := join(t, r)
	subID := svc.subscribe("com.example.news", nil)
	svc.register("com.example.add", nil)

	if res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news", "args": ["hi"]}`)); res.status != http.StatusOK || res.body["id"] == nil {
		t.Fatalf("allowed publish: %d %v", res.status, res.body)
	}
	if ev := expect[*wamp.Event](svc); ev.Subscription != subID || ev.Args[0] != "hi" {
		t.Fatalf("EVENT %+v", ev)
	}
	res := bridgeDo(t, b, newSigned("call", `{"procedure": "com.example.add", "args": [1, 2]}`))
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrNotAuthorized) || res.reason() != `role "notifier" may not call "com.example.add"` {
		t.Fatalf("call by a role that may only publish: %d %v", res.status, res.body)
	}
	res = bridgeDo(t, b, newSigned("publish", `{"topic": "com.other.news"}`))
	if res.status != http.StatusOK || res.body["error"] != string(wamp.ErrNotAuthorized) || res.reason() != `role "notifier" may not publish "com.other.news"` {
		t.Fatalf("publish outside the role's permissions: %d %v", res.status, res.body)
	}
}

func TestBridgeShutdown(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	if res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news"}`)); res.status != http.StatusOK {
		t.Fatal(res)
	}
	// The bridge's session answers the router's GOODBYE, so a graceful
	// shutdown does not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news"}`))
	// Depending on whether the bridge saw its session end before the
	// request, the reason is one of two; both say 503 unavailable.
	if reason := res.reason(); res.status != http.StatusServiceUnavailable || (reason != "the router is shutting down" && reason != "the bridge's session ended") {
		t.Fatalf("after shutdown: %d %v", res.status, res.body)
	}
}

func TestBridgeSessionComesBack(t *testing.T) {
	r := newTestRouter(t, Config{})
	b := newTestBridge(t, r, BridgeConfig{})
	if res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news"}`)); res.status != http.StatusOK {
		t.Fatal(res)
	}
	first := b.conn
	first.peer.Close()
	<-first.done
	if res := bridgeDo(t, b, newSigned("publish", `{"topic": "com.example.news"}`)); res.status != http.StatusOK {
		t.Fatalf("after the session ended: %d %v", res.status, res.body)
	}
	if b.conn == first {
		t.Fatal("the bridge kept its ended session")
	}
}
