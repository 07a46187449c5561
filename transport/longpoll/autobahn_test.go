//go:build !js

package longpoll

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// autobahn speaks HTTP exactly as Autobahn|JS's longpoll transport does
// (lib/transport/longpoll.js and util.http_post): every request is a POST
// with "Content-type: application/json; charset=utf-8", withCredentials,
// from a page on another origin, so the browser sends a preflight first
// and needs Access-Control-Allow-Origin and -Credentials on each answer.
// Only 200 (body handed to JSON.parse) and 204 (nothing) count as success.
type autobahn struct {
	t      *testing.T
	origin string
}

// post sends what Autobahn|JS sends; it may run on any goroutine, so it
// reports with Error and returns status 0 for what Autobahn|JS would take
// as a failure.
func (a autobahn) post(url string, body string) (int, string) {
	a.t.Helper()
	// The preflight the browser sends before the cross-origin POST.
	pre, _ := http.NewRequest(http.MethodOptions, url, nil)
	pre.Header.Set("Origin", a.origin)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := http.DefaultClient.Do(pre)
	if err != nil {
		a.t.Error(err)
		return 0, ""
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 || res.Header.Get("Access-Control-Allow-Origin") != a.origin ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" || res.Header.Get("Access-Control-Allow-Methods") != "POST" {
		a.t.Errorf("preflight %s: HTTP %d %v: the browser would block the POST", url, res.StatusCode, res.Header)
		return 0, ""
	}

	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body) // req.send(data), or req.send() for null
	}
	req, _ := http.NewRequest(http.MethodPost, url, rd)
	req.Header.Set("Content-type", "application/json; charset=utf-8")
	req.Header.Set("Origin", a.origin)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		a.t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.Header.Get("Access-Control-Allow-Origin") != a.origin || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		a.t.Errorf("POST %s: CORS headers %v: the browser would hide the answer", url, res.Header)
		return 0, ""
	}
	if res.StatusCode != 200 && res.StatusCode != 204 {
		a.t.Errorf("POST %s: HTTP %d %s: Autobahn|JS fails the transport", url, res.StatusCode, data)
		return 0, ""
	}
	return res.StatusCode, string(data)
}

// jsonParse is what Autobahn|JS does with a 200 body: JSON.parse, one
// message.
func (a autobahn) jsonParse(body string) []any {
	a.t.Helper()
	var msg []any
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		a.t.Fatalf("JSON.parse(%q): %v", body, err)
	}
	return msg
}

func TestAutobahnJS(t *testing.T) {
	if DefaultPollTimeout >= 12*time.Second {
		t.Fatalf("poll timeout %v must stay below Autobahn|JS's 12 s request timeout", DefaultPollTimeout)
	}
	ts := newTestServer(t, &Config{PollTimeout: 200 * time.Millisecond, OriginPatterns: []string{"app.example.com"}}).serve(t)
	ab := autobahn{t: t, origin: "https://app.example.com"}

	// Open, offering only wamp.2.json as Autobahn|JS always does.
	status, body := ab.post(ts.url+"/open", `{"protocols":["wamp.2.json"]}`)
	if status != 200 {
		t.Fatalf("open: HTTP %d", status)
	}
	var info struct{ Transport, Protocol string }
	if err := json.Unmarshal([]byte(body), &info); err != nil || info.Transport == "" || info.Protocol != "wamp.2.json" {
		t.Fatalf("open answer %q: %v", body, err)
	}
	base := ts.url + "/" + info.Transport
	router := ts.peer(t)

	// Autobahn|JS polls at once, then sends HELLO without waiting.
	polled := make(chan string)
	go func() {
		status, body := ab.post(base+"/receive", "")
		if status != 200 {
			t.Errorf("receive: HTTP %d, want the WELCOME", status)
		}
		polled <- body
	}()
	hello := `[1,"realm1",{"roles":{"caller":{},"publisher":{},"subscriber":{},"callee":{}}}]`
	waitPolled(t, router)
	if status, _ := ab.post(base+"/send", hello); status != 204 {
		t.Fatalf("send: HTTP %d, want 204", status)
	}
	m, err := recvWithin(t, router, 5*time.Second)
	if err != nil || m.(*wamp.Hello).Realm != "realm1" {
		t.Fatalf("router got %#v, %v", m, err)
	}
	router.Send(&wamp.Welcome{Session: 42, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}}}})
	if msg := ab.jsonParse(<-polled); msg[0] != float64(wamp.TypeWelcome) || msg[1] != float64(42) {
		t.Fatalf("WELCOME as parsed: %v", msg)
	}

	// Idle: an empty 204, and Autobahn|JS polls again.
	if status, body := ab.post(base+"/receive", ""); status != 204 || body != "" {
		t.Fatalf("idle receive: HTTP %d %q, want an empty 204", status, body)
	}

	// Binary values use JSON's \u0000-prefixed base64 string.
	router.Send(&wamp.Result{Request: 1, Details: wamp.Dict{}, Args: wamp.List{[]byte{0, 1, 2}}})
	_, body = ab.post(base+"/receive", "")
	if msg := ab.jsonParse(body); msg[3].([]any)[0] != "\x00AAEC" {
		t.Fatalf("binary as parsed: %v", msg)
	}

	// Leaving: GOODBYE both ways, then close, which must answer 2xx for
	// Autobahn|JS to report the close at all.
	go func() { _, body := ab.post(base+"/receive", ""); polled <- body }()
	ab.post(base+"/send", `[6,{},"wamp.close.close_realm"]`)
	if m, _ := recvWithin(t, router, 5*time.Second); m.Type() != wamp.TypeGoodbye {
		t.Fatalf("router got %#v", m)
	}
	router.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if msg := ab.jsonParse(<-polled); msg[0] != float64(wamp.TypeGoodbye) {
		t.Fatalf("GOODBYE as parsed: %v", msg)
	}
	go func() { _, body := ab.post(base+"/receive", ""); polled <- body }()
	waitPolled(t, router)
	if status, _ := ab.post(base+"/close", ""); status != 204 {
		t.Fatalf("close: HTTP %d", status)
	}
	// The receive outstanding at close ends in success, not a second
	// (unclean) close.
	if body := <-polled; body != "" {
		t.Fatalf("receive outstanding at close: %q", body)
	}
}

func TestAutobahnJSAbort(t *testing.T) {
	// The router refuses the session: ABORT, then it closes the transport.
	// Autobahn|JS reads the ABORT, stops polling and posts close, whose
	// answer alone tells it the transport closed: it must be 2xx.
	ts := newTestServer(t, &Config{OriginPatterns: []string{"app.example.com"}}).serve(t)
	ab := autobahn{t: t, origin: "http://app.example.com"}
	_, body := ab.post(ts.url+"/open", `{"protocols":["wamp.2.json"]}`)
	var info struct{ Transport string }
	json.Unmarshal([]byte(body), &info)
	base := ts.url + "/" + info.Transport
	router := ts.peer(t)
	ab.post(base+"/send", `[1,"nope",{"roles":{"caller":{}}}]`)
	recvWithin(t, router, 5*time.Second)
	router.Send(&wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrNoSuchRealm})
	router.Close()
	_, body = ab.post(base+"/receive", "")
	if msg := ab.jsonParse(body); msg[0] != float64(wamp.TypeAbort) || msg[2] != string(wamp.ErrNoSuchRealm) {
		t.Fatalf("ABORT as parsed: %v", msg)
	}
	if status, _ := ab.post(base+"/close", ""); status != 204 {
		t.Fatalf("close after ABORT: HTTP %d", status)
	}
}

// waitPolled waits until a receive waits on the server end p.
func waitPolled(t *testing.T, p transport.Peer) {
	t.Helper()
	c := p.(*conn)
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		polled := c.poll != nil
		c.mu.Unlock()
		if polled {
			return
		}
	}
	t.Fatal("no receive waiting")
}
