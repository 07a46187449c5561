package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/leakcheck"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/transport/rawsocket"
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
		Realms: []server.RealmConfig{
			{Name: "realm1"},
			{Name: "secure", Auth: server.AuthConfig{WAMPCRA: &server.WAMPCRAAuth{
				Users: map[string]server.CRAUser{"ann": {Role: "user", Secret: "cra-secret"}},
			}}},
		},
		// Small, so that a subscriber that stops reading is dropped
		// after a few events; the other sessions read all they get.
		MaxQueuedBytes: 4096,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
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
	localPeer := func(join bool) peer {
		c, s := local.Pair()
		go r.Serve(s)
		t.Cleanup(func() { c.Close() })
		p := peer{t, c}
		if join {
			p.join()
		}
		return p
	}
	callee, caller := localPeer(true), localPeer(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsc, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	ws := peer{t, wsc}.join()

	// One raw socket session, over TCP.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var rawServing sync.WaitGroup
	rawServing.Go(func() { rawsocket.Serve(ln, nil, r.Serve) })
	defer rawServing.Wait()
	defer ln.Close()
	rsc, err := rawsocket.Dial(ctx, "tcp", ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rsc.Close()
	peer{t, rsc}.join()

	// A failed WAMP-CRA login: the router's challenge answered wrongly.
	bad := localPeer(false)
	bad.send(&wamp.Hello{Realm: "secure", Details: wamp.Dict{"roles": roles, "authid": "ann", "authmethods": wamp.List{"wampcra"}}})
	if ch := bad.recv(wamp.TypeChallenge).(*wamp.Challenge); ch.AuthMethod != "wampcra" {
		t.Fatalf("CHALLENGE for %s, want wampcra", ch.AuthMethod)
	}
	bad.send(&wamp.Authenticate{Signature: "d3JvbmcgYW5zd2Vy", Extra: wamp.Dict{}})
	if ab := bad.recv(wamp.TypeAbort).(*wamp.Abort); ab.Reason != wamp.ErrAuthenticationFailed {
		t.Fatalf("ABORT %s, want %s", ab.Reason, wamp.ErrAuthenticationFailed)
	}

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

	// One long-poll transport, opened and not joined.
	resp, err := http.Post(srv.URL+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("long-poll open: %s", resp.Status)
	}

	body, got := scrape(t, srv.URL)
	for name, want := range map[string]string{
		`wampkit_sessions{realm="realm1",transport="local"}`:     "2",
		`wampkit_sessions{realm="realm1",transport="websocket"}`: "1",
		`wampkit_sessions{realm="realm1",transport="rawsocket"}`: "1",
		`wampkit_messages_received_total{type="HELLO"}`:          "5",
		`wampkit_messages_received_total{type="AUTHENTICATE"}`:   "1",
		`wampkit_messages_received_total{type="CALL"}`:           "2",
		`wampkit_messages_received_total{type="YIELD"}`:          "1",
		`wampkit_messages_received_total{type="PUBLISH"}`:        "1",
		`wampkit_messages_received_total{type="REGISTER"}`:       "1",
		`wampkit_messages_received_total{type="SUBSCRIBE"}`:      "1",
		`wampkit_messages_sent_total{type="WELCOME"}`:            "4",
		`wampkit_messages_sent_total{type="CHALLENGE"}`:          "1",
		`wampkit_messages_sent_total{type="ABORT"}`:              "1",
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
	if !strings.Contains(body, "go_goroutines") {
		t.Error("no Go runtime metrics")
	}

	// A subscriber that stops reading while events pour in is dropped as
	// a slow consumer.
	flooder, sink := localPeer(true), localPeer(true)
	sink.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.flood"})
	sink.recv(wamp.TypeSubscribed)
	published := 0
	for r.Stats().SlowConsumers == 0 && published < 2000 {
		flooder.send(&wamp.Publish{Request: wamp.ID(published + 1), Options: wamp.Dict{}, Topic: "com.example.flood", Args: wamp.List{"some payload to fill the queue"}})
		published++
	}
	// The acknowledgement of a last publication says the router has read
	// every one before it.
	flooder.send(&wamp.Publish{Request: 1 << 20, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.other"})
	flooder.recv(wamp.TypePublished)
	published++
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().SlowConsumers == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	body, got = scrape(t, srv.URL)
	for name, want := range map[string]string{
		`wampkit_slow_consumer_disconnects_total`:         "1",
		`wampkit_messages_received_total{type="PUBLISH"}`: strconv.Itoa(1 + published),
		`wampkit_messages_received_total{type="HELLO"}`:   "7",
	} {
		if got[name] != want {
			t.Errorf("after the flood: %s = %q, want %s", name, got[name], want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

// scrape GETs /metrics from the server at base and returns the text and
// the value of each wampkit_ sample by name and labels.
func scrape(t *testing.T, base string) (string, map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "wampkit_") {
			got[name] = value
		}
	}
	return string(body), got
}
