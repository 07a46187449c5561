//go:build !js

package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// testServer is a Handler mounted at /lp as wampd mounts it, the peers it
// accepted, and a real HTTP server in front when started with serve.
type testServer struct {
	h     *Handler
	mux   *http.ServeMux
	peers chan transport.Peer
	url   string // base URL of the long-poll transport, when serving
}

func newTestServer(t testing.TB, cfg *Config) *testServer {
	t.Helper()
	ts := &testServer{peers: make(chan transport.Peer, 1000)}
	ts.h = NewHandler(cfg, func(p transport.Peer) { ts.peers <- p })
	ts.mux = http.NewServeMux()
	ts.mux.Handle("/lp/", http.StripPrefix("/lp", ts.h))
	t.Cleanup(func() { ts.h.Close() })
	return ts
}

// serve starts a real HTTP server; tests under synctest call ServeHTTP.
func (ts *testServer) serve(t testing.TB) *testServer {
	srv := httptest.NewServer(ts.mux)
	t.Cleanup(srv.Close)
	ts.url = srv.URL + "/lp"
	return ts
}

func (ts *testServer) peer(t *testing.T) transport.Peer {
	t.Helper()
	select {
	case p := <-ts.peers:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no peer accepted")
		return nil
	}
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request through the mux directly (no network, so it works
// under synctest). hdr holds extra headers, in pairs.
func (ts *testServer) do(t *testing.T, ctx context.Context, method, path string, body []byte, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequestWithContext(ctx, method, "http://wamp.test"+path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	ts.mux.ServeHTTP(rec, req)
	res := rec.Result()
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, cc)
	}
	return reply{res.StatusCode, res.Header, rec.Body.Bytes()}
}

// post is do with POST and the test's context.
func (ts *testServer) post(t *testing.T, path string, body []byte, hdr ...string) reply {
	t.Helper()
	return ts.do(t, t.Context(), http.MethodPost, path, body, hdr...)
}

// open opens a transport with one protocol and returns its id.
func (ts *testServer) open(t *testing.T, protocol string) string {
	t.Helper()
	r := ts.post(t, "/lp/open", []byte(`{"protocols":["`+protocol+`"]}`))
	if r.status != http.StatusOK {
		t.Fatalf("open %s: HTTP %d %s", protocol, r.status, r.body)
	}
	var or openResponse
	if err := json.Unmarshal(r.body, &or); err != nil {
		t.Fatal(err)
	}
	if or.Protocol != protocol {
		t.Fatalf("open: protocol %q, want %q", or.Protocol, protocol)
	}
	return or.Transport
}

// encode encodes m with c, failing the test on error.
func encode(t *testing.T, c codec.Codec, m wamp.Message) []byte {
	t.Helper()
	data, err := c.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// roundTrip is m as it looks after c encoded and decoded it: what a
// transport must deliver.
func roundTrip(t *testing.T, c codec.Codec, m wamp.Message) wamp.Message {
	t.Helper()
	got, err := c.Decode(encode(t, c, m))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func recvWithin(t *testing.T, p transport.Peer, d time.Duration) (wamp.Message, error) {
	t.Helper()
	type result struct {
		m   wamp.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := p.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		t.Fatalf("Recv blocked for %v", d)
		return nil, nil
	}
}

func mustRecv(t *testing.T, p transport.Peer, want wamp.Message) {
	t.Helper()
	got, err := recvWithin(t, p, 5*time.Second)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Recv:\n got %#v\nwant %#v", got, want)
	}
}

// binary is a payload with every byte value, zero included.
func binary() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

var allProtocols = []string{
	"wamp.2.json", "wamp.2.json.batched",
	"wamp.2.msgpack", "wamp.2.msgpack.batched",
	"wamp.2.cbor", "wamp.2.cbor.batched",
}
