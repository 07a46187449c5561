package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/leakcheck"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var roles = wamp.Dict{
	"caller":     wamp.Dict{"features": wamp.Dict{}},
	"callee":     wamp.Dict{"features": wamp.Dict{}},
	"publisher":  wamp.Dict{"features": wamp.Dict{}},
	"subscriber": wamp.Dict{"features": wamp.Dict{}},
}

// peer is a raw WAMP client for the test.
type peer struct {
	t *testing.T
	transport.Peer
}

func (p peer) send(m wamp.Message) {
	p.t.Helper()
	if err := p.Send(m); err != nil {
		p.t.Fatal(err)
	}
}

func (p peer) recv(want wamp.MessageType) wamp.Message {
	p.t.Helper()
	m, err := p.Recv()
	if err != nil {
		p.t.Fatal(err)
	}
	if m.Type() != want {
		p.t.Fatalf("got %s %+v, want %s", m.Type(), m, want)
	}
	return m
}

func (p peer) join() peer {
	p.t.Helper()
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}})
	p.recv(wamp.TypeWelcome)
	return p
}

func TestScrapeAfterKnownTraffic(t *testing.T) {
	r, err := server.New(server.Config{
		Realms: []server.RealmConfig{{Name: "realm1"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mux := http.NewServeMux()
	mux.Handle("/", r.Handler(server.HTTPConfig{}))
	mux.Handle("GET /metrics", Handler(r))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Two local sessions and one WebSocket session; a call, a publication.
	localPeer := func() peer {
		c, s := local.Pair()
		go r.Serve(s)
		t.Cleanup(func() { c.Close() })
		return peer{t, c}.join()
	}
	callee, caller := localPeer(), localPeer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsc, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	ws := peer{t, wsc}.join()

	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.echo"})
	callee.recv(wamp.TypeRegistered)
	ws.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.news"})
	ws.recv(wamp.TypeSubscribed)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.echo"})
	inv := callee.recv(wamp.TypeInvocation).(*wamp.Invocation)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	caller.recv(wamp.TypeResult)
	caller.send(&wamp.Publish{Request: 2, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.news"})
	caller.recv(wamp.TypePublished)
	ws.recv(wamp.TypeEvent)
	caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{}, Procedure: "com.example.echo"})
	callee.recv(wamp.TypeInvocation) // left unanswered: one call in flight
	r.AuthFailed("wampcra")

	// One long-poll transport, opened and not joined.
	resp, err := http.Post(srv.URL+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("long-poll open: %s", resp.Status)
	}

	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "wampkit_") {
			got[name] = value
		}
	}
	for name, want := range map[string]string{
		`wampkit_sessions{realm="realm1",transport="local"}`:     "2",
		`wampkit_sessions{realm="realm1",transport="websocket"}`: "1",
		`wampkit_messages_received_total{type="HELLO"}`:          "3",
		`wampkit_messages_received_total{type="CALL"}`:           "2",
		`wampkit_messages_received_total{type="YIELD"}`:          "1",
		`wampkit_messages_received_total{type="PUBLISH"}`:        "1",
		`wampkit_messages_received_total{type="REGISTER"}`:       "1",
		`wampkit_messages_received_total{type="SUBSCRIBE"}`:      "1",
		`wampkit_messages_sent_total{type="WELCOME"}`:            "3",
		`wampkit_messages_sent_total{type="INVOCATION"}`:         "2",
		`wampkit_messages_sent_total{type="RESULT"}`:             "1",
		`wampkit_messages_sent_total{type="EVENT"}`:              "1",
		`wampkit_messages_sent_total{type="PUBLISHED"}`:          "1",
		`wampkit_calls_in_flight`:                                "1",
		`wampkit_call_duration_seconds_count`:                    "1",
		`wampkit_call_duration_seconds_bucket{le="+Inf"}`:        "1",
		`wampkit_call_duration_seconds_bucket{le="60"}`:          "1",
		`wampkit_slow_consumer_disconnects_total`:                "0",
		`wampkit_auth_failures_total{authmethod="wampcra"}`:      "1",
		`wampkit_longpoll_transports`:                            "1",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %s", name, got[name], want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
	if !strings.Contains(string(body), "go_goroutines") {
		t.Error("no Go runtime metrics")
	}
}
