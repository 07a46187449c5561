package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/wamp"
)

// writeConfig writes a configuration file into a fresh directory.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wampd.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCallLimitsTrustLevelAndHistoryFromFile: default_call_timeout_ms,
// max_call_timeout_ms, a role's trustlevel and a realm's event_history
// read from the file act on calls and events.
func TestCallLimitsTrustLevelAndHistoryFromFile(t *testing.T) {
	const file = `{
  "limits": {"default_call_timeout_ms": 300, "max_call_timeout_ms": 1200},
  "realms": [{
    "name": "realm1",
    "roles": [{"name": "anonymous", "trustlevel": 3,
               "permissions": [{"uri": "", "match": "prefix", "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]}],
    "event_history": [{"topic": "com.example.news", "match": "exact", "limit": 2}]
  }]
}`
	fc, err := parseConfig([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := fc.apply(server.Config{}, server.HTTPConfig{})
	rc := cfg.Realms[0]
	if cfg.DefaultCallTimeout != 300*time.Millisecond || cfg.MaxCallTimeout != 1200*time.Millisecond ||
		rc.Roles[0].TrustLevel == nil || *rc.Roles[0].TrustLevel != 3 ||
		!reflect.DeepEqual(rc.EventHistory, []server.EventHistoryConfig{{Topic: "com.example.news", Match: "exact", Limit: 2}}) {
		t.Fatalf("read as timeouts %v/%v, role %+v, history %+v", cfg.DefaultCallTimeout, cfg.MaxCallTimeout, rc.Roles[0], rc.EventHistory)
	}

	addr, _ := startWampd(t, "--config", writeConfig(t, file))
	url := "ws://" + addr + "/ws"
	callee, err := client.Join(t.Context(), url, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Leave(context.Background())
	details := make(chan wamp.Dict, 2)
	if _, err := callee.Register(t.Context(), "com.example.slow", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		details <- inv.Details
		<-ctx.Done() // answered by the router's timeout
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	caller, err := client.Join(t.Context(), url, "realm1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Leave(context.Background())

	for _, c := range []struct {
		name     string
		opts     []client.Option
		min, max time.Duration
	}{
		{"no timeout: the default", nil, 300 * time.Millisecond, 1100 * time.Millisecond},
		{"60 s: the maximum", []client.Option{client.WithTimeout(time.Minute)}, 1200 * time.Millisecond, 10 * time.Second},
	} {
		start := time.Now()
		_, err := caller.Call(t.Context(), "com.example.slow", nil, nil, c.opts...)
		took := time.Since(start)
		if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrTimeout {
			t.Fatalf("%s: call ended with %v, want %s", c.name, err, wamp.ErrTimeout)
		}
		if took < c.min || took > c.max {
			t.Errorf("%s: timed out after %v, want %v to %v", c.name, took, c.min, c.max)
		}
		if d := <-details; fmt.Sprint(d["trustlevel"]) != "3" {
			t.Errorf("%s: INVOCATION details %v, want trustlevel 3", c.name, d)
		}
	}

	events := make(chan *client.Event, 3)
	sub, err := callee.Subscribe(t.Context(), "com.example.news", func(ev *client.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := caller.Publish(t.Context(), "com.example.news", wamp.List{i}, nil, client.Acknowledge()); err != nil {
			t.Fatal(err)
		}
		<-events
	}
	res, err := caller.Call(t.Context(), "wamp.subscription.get_events", wamp.List{sub.ID()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := res.Args[0].(wamp.List)
	var args []string
	for _, e := range got {
		args = append(args, fmt.Sprint(e.(wamp.Dict)["args"]))
	}
	if want := []string{"[1]", "[2]"}; !reflect.DeepEqual(args, want) {
		t.Fatalf("get_events: the args of %v, want the last two of three: %v", args, want)
	}
}

// nonLoopbackIP returns an IPv4 address of this host other than loopback,
// or "" when it has none.
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// TestAllowInsecureFromFile: ticket.allow_insecure is read from the file;
// without it a ticket sent over plain TCP from another address than
// loopback is refused, with it accepted.
func TestAllowInsecureFromFile(t *testing.T) {
	file := func(allow bool) string {
		return fmt.Sprintf(`{"realms": [{"name": "realm1", "roles": [{"name": "user"}],
  "auth": {"ticket": {"allow_insecure": %v, "principals": {"joe": {"role": "user", "ticket_hash": "pbkdf2-sha256$100000$TZep9rp1A2VXRn0jBa8jlw$T6h3vYnZWN2bft4tyvd/dZtFVyd7ICxpEv/iJJXmU1A"}}}}}]}`, allow)
	}
	for _, allow := range []bool{false, true} {
		fc, err := parseConfig([]byte(file(allow)))
		if err != nil {
			t.Fatal(err)
		}
		if got := fc.Router.Realms[0].Auth.Ticket.AllowInsecure; got != allow {
			t.Fatalf("allow_insecure %v read as %v", allow, got)
		}
	}

	// The router's check needs a connection that is not loopback: this
	// host's own address on another interface, when it has one.
	ip := nonLoopbackIP()
	if ip == "" {
		t.Log("no address other than loopback: the router-level check (server TestTicket) stands for the behaviour")
		return
	}
	for _, allow := range []bool{false, true} {
		addr, _ := startWampd(t, "--config", writeConfig(t, file(allow)), "--addr", net.JoinHostPort(ip, "0"))
		s, err := client.Join(t.Context(), "ws://"+addr+"/ws", "realm1", &client.Config{AuthID: "joe", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("backend-ticket-change-me")})
		if allow {
			if err != nil {
				t.Fatalf("allow_insecure: join over %s: %v", addr, err)
			}
			s.Leave(t.Context())
			continue
		}
		if err == nil {
			s.Leave(t.Context())
			t.Fatalf("a ticket over plain TCP from %s was accepted without allow_insecure", ip)
		}
		if !strings.Contains(err.Error(), "neither TLS nor loopback") {
			t.Fatalf("without allow_insecure: %v, want the refusal's reason", err)
		}
	}
}

// TestTransportsFromFile: custom WebSocket and long-poll paths, the
// allowed origins, and the long-poll poll and session timeouts from the
// file.
func TestTransportsFromFile(t *testing.T) {
	addr, _ := startWampd(t, "--config", writeConfig(t, `{
  "realms": [{"name": "realm1"}],
  "allowed_origins": ["app.example.com"],
  "transports": {
    "websocket": {"path": "/wamp"},
    "longpoll": {"path": "/poll", "poll_timeout_ms": 300, "session_timeout_ms": 600}
  }
}`))
	base := "http://" + addr

	s, err := client.Join(t.Context(), "ws://"+addr+"/wamp", "realm1", nil)
	if err != nil {
		t.Fatalf("join at the custom WebSocket path: %v", err)
	}
	s.Leave(t.Context())
	lp, err := client.Join(t.Context(), base+"/poll", "realm1", nil)
	if err != nil {
		t.Fatalf("join at the custom long-poll path: %v", err)
	}
	if tr := lp.Transport().Transport; tr != "longpoll" {
		t.Fatalf("joined %s over %s", base+"/poll", tr)
	}
	lp.Leave(t.Context())

	do := func(method, path, origin string, upgrade bool) int {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"protocols": ["wamp.2.json"]}`)
		}
		req, _ := http.NewRequest(method, base+path, body)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if upgrade {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Sec-WebSocket-Protocol", "wamp.2.json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusSwitchingProtocols { // else the body is the connection
			io.Copy(io.Discard, res.Body)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		method, path, origin string
		upgrade              bool
		want                 int
	}{
		{"GET", "/ws", "", true, http.StatusNotFound},
		{"POST", "/lp/open", "", false, http.StatusNotFound},
		{"GET", "/wamp", "https://evil.example.net", true, http.StatusForbidden},
		{"POST", "/poll/open", "https://evil.example.net", false, http.StatusForbidden},
		{"GET", "/wamp", "https://app.example.com", true, http.StatusSwitchingProtocols},
		{"POST", "/poll/open", "https://app.example.com", false, http.StatusOK},
	} {
		if got := do(c.method, c.path, c.origin, c.upgrade); got != c.want {
			t.Errorf("%s %s, Origin %q: %d, want %d", c.method, c.path, c.origin, got, c.want)
		}
	}

	// poll_timeout_ms: a receive with nothing to take is answered empty
	// after 300 ms, not the default 10 s.
	res, err := http.Post(base+"/poll/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var opened struct{ Transport string }
	if err := decodeJSON(res, &opened); err != nil || opened.Transport == "" {
		t.Fatalf("open: %v %+v", err, opened)
	}
	receive := func() (int, time.Duration) {
		start := time.Now()
		res, err := http.Post(base+"/poll/"+opened.Transport+"/receive", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start)
	}
	if code, took := receive(); code != http.StatusNoContent || took < 250*time.Millisecond || took > 3*time.Second {
		t.Fatalf("an idle receive: %d after %v, want 204 after 300 ms", code, took)
	}
	// session_timeout_ms: a transport left alone for longer is gone.
	time.Sleep(1500 * time.Millisecond)
	if code, _ := receive(); code != http.StatusNotFound {
		t.Fatalf("a receive 1.5 s after the last one, with a session timeout of 600 ms: %d, want 404", code)
	}
}

// decodeJSON decodes a response's JSON body into v and closes it.
func decodeJSON(res *http.Response, v any) error {
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(v)
}
