//go:build !js

package longpoll

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestDialEveryProtocol(t *testing.T) {
	for _, proto := range allProtocols {
		t.Run(proto, func(t *testing.T) {
			ts := newTestServer(t, nil).serve(t)
			cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{proto}})
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			sp := ts.peer(t)
			c, batched, _ := codec.BySubprotocol(proto)
			host := strings.TrimPrefix(ts.url, "http://")
			host = strings.TrimSuffix(host, "/lp")
			if want := (transport.Info{Transport: "longpoll", Serializer: c.Name(), Batched: batched, RemoteAddr: host}); cp.Info() != want {
				t.Errorf("client Info %+v, want %+v", cp.Info(), want)
			}
			if sp.Info().Serializer != c.Name() || sp.Info().Batched != batched || sp.Info().RemoteAddr == "" {
				t.Errorf("server Info %+v", sp.Info())
			}

			// Client to router, a burst that batches, binary included.
			var sent []wamp.Message
			for i := range 20 {
				m := &wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "com.example.echo",
					Args: wamp.List{binary(), int64(i)}, Kwargs: wamp.Dict{"blob": binary()[i:]}}
				if err := cp.Send(m); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, m)
			}
			for _, m := range sent {
				mustRecv(t, sp, roundTrip(t, c, m))
			}

			// Router to client, one encoding shared by two peers' worth.
			for i := range 20 {
				m := codec.Prepare(&wamp.Event{Subscription: 9, Publication: wamp.ID(i + 1), Details: wamp.Dict{}, Args: wamp.List{binary()}})
				if err := sp.Send(m); err != nil {
					t.Fatal(err)
				}
				mustRecv(t, cp, roundTrip(t, c, m.Message))
			}
		})
	}
}

func TestDefaultProtocol(t *testing.T) {
	ts := newTestServer(t, nil).serve(t)
	cp, err := Dial(t.Context(), ts.url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if i := cp.Info(); i.Serializer != "json" || !i.Batched {
		t.Errorf("default protocol: %+v, want wamp.2.json.batched", i)
	}
}

func TestClientClose(t *testing.T) {
	ts := newTestServer(t, nil).serve(t)
	cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{"wamp.2.msgpack"}})
	if err != nil {
		t.Fatal(err)
	}
	sp := ts.peer(t)
	// What Send queued before Close reaches the router before the close.
	for i := range 5 {
		cp.Send(&wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Topic: "t"})
	}
	routerGot := make(chan error, 1)
	go func() {
		for i := range 5 {
			m, err := sp.Recv()
			if err != nil || m.(*wamp.Publish).Request != wamp.ID(i+1) {
				routerGot <- fmt.Errorf("router Recv %d: %v %v", i, m, err)
				return
			}
		}
		_, err := sp.Recv()
		routerGot <- err
	}()
	recvErr := make(chan error, 1)
	go func() {
		_, err := cp.Recv()
		recvErr <- err
	}()
	if err := cp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := cp.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-recvErr; !errors.Is(err, transport.ErrClosed) {
		t.Errorf("client Recv after Close: %v", err)
	}
	if err := cp.Send(&wamp.Publish{Request: 9, Options: wamp.Dict{}, Topic: "t"}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("client Send after Close: %v", err)
	}
	if err := <-routerGot; !errors.Is(err, errClosedByClient) {
		t.Fatalf("router after client Close: %v, want closed by the client", err)
	}
	if ts.h.Len() != 0 {
		t.Errorf("handler still holds the transport")
	}
}

func TestServerCloseReachesClient(t *testing.T) {
	ts := newTestServer(t, nil).serve(t)
	cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{"wamp.2.msgpack.batched"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	sp := ts.peer(t)
	abort := &wamp.Abort{Details: wamp.Dict{"message": "bye"}, Reason: wamp.ErrProtocolViolation}
	sp.Send(abort)
	sp.Close()
	mustRecv(t, cp, roundTrip(t, codec.MessagePack, abort))
	// After the router's ABORT the client polls no more (another receive
	// would only find the transport gone) and Recv says so.
	_, err = recvWithin(t, cp, 5*time.Second)
	if !errors.Is(err, errEnded) {
		t.Fatalf("client Recv after the router's ABORT: %v, want errEnded", err)
	}

	// A router that closes with no final message: the next receive gets
	// 404, which ends the client.
	cp2, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cp2.Close()
	ts.peer(t).Close()
	_, err = recvWithin(t, cp2, 5*time.Second)
	if !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("client Recv after router Close: %v, want ErrClosed after a 404", err)
	}
	if err := cp2.Send(abort); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("client Send after router Close: %v", err)
	}
}

func TestClientSendTooBig(t *testing.T) {
	ts := newTestServer(t, &Config{ReadLimit: 100}).serve(t)
	cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	sp := ts.peer(t)
	cp.Send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("x", 200)}})
	if _, err := recvWithin(t, sp, 5*time.Second); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("router Recv: %v, want ErrMessageTooBig", err)
	}
	// The client learns from the 413 or from the 404 of its next receive,
	// whichever comes first.
	if _, err := recvWithin(t, cp, 5*time.Second); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("client Recv: %v, want ErrClosed", err)
	}
}

// TestClientSendLimit: told the router's limit, the client refuses a
// bigger message itself and stays usable, and on a batched protocol it
// puts no more than the limit in one request: 20 messages of a third of
// the limit, sent at once, reach a router that refuses bigger bodies.
func TestClientSendLimit(t *testing.T) {
	const limit = 1000
	for _, proto := range []string{"wamp.2.json", "wamp.2.msgpack.batched"} {
		t.Run(proto, func(t *testing.T) {
			ts := newTestServer(t, &Config{ReadLimit: limit}).serve(t)
			cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{proto}})
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			sp := ts.peer(t)
			cp.(transport.SendLimiter).SetSendLimit(limit)
			over := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("x", limit)}}
			var tooBig *transport.SendTooBigError
			if err := cp.Send(over); !errors.As(err, &tooBig) || tooBig.Message != over || tooBig.Limit != limit || tooBig.Size <= limit {
				t.Fatalf("Send above the limit: %v, want a *transport.SendTooBigError for it", err)
			}
			for i := range 20 {
				if err := cp.Send(&wamp.Publish{Request: wamp.ID(i + 2), Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("y", limit/3)}}); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			for i := range 20 {
				m, err := recvWithin(t, sp, 5*time.Second)
				if err != nil {
					t.Fatalf("router Recv %d: %v", i, err)
				}
				if p, ok := m.(*wamp.Publish); !ok || p.Request != wamp.ID(i+2) {
					t.Fatalf("router Recv %d: %v", i, m)
				}
			}
		})
	}
}

func TestClientReadLimit(t *testing.T) {
	ts := newTestServer(t, nil).serve(t)
	cp, err := Dial(t.Context(), ts.url, &DialOptions{Protocols: []string{"wamp.2.json"}, ReadLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	sp := ts.peer(t)
	sp.Send(&wamp.Event{Subscription: 1, Publication: 1, Details: wamp.Dict{}, Args: wamp.List{strings.Repeat("x", 200)}})
	if _, err := recvWithin(t, cp, 5*time.Second); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("client Recv: %v, want ErrMessageTooBig", err)
	}
}

func TestDialErrors(t *testing.T) {
	ts := newTestServer(t, nil).serve(t)
	fake := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	for _, tc := range []struct {
		name, url string
		opts      *DialOptions
		want      string
	}{
		{"no common protocol", ts.url, &DialOptions{Protocols: []string{"wamp.2.xml"}}, "HTTP 400: longpoll: no common protocol"},
		{"not a long-poll server", ts.url + "/nothing", nil, "HTTP 404"},
		{"not http", "ws://localhost/lp", nil, "not http(s)"},
		{"protocol not offered", fake(200, `{"transport":"x","protocol":"wamp.2.cbor"}`), &DialOptions{Protocols: []string{"wamp.2.json"}}, `chose protocol "wamp.2.cbor", not offered`},
		{"no id", fake(200, `{"protocol":"wamp.2.json"}`), nil, "no transport id"},
		{"garbage", fake(200, `<html>`), nil, "malformed answer"},
		{"refused", "http://127.0.0.1:1/lp", nil, "open:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := Dial(t.Context(), tc.url, tc.opts)
			if err == nil {
				cp.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Dial(ctx, ts.url, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a canceled context: %v", err)
	}
}

// memoryPost serves the client's requests with ts's mux directly, so that
// the client and the server run in one synctest bubble.
func memoryPost(ts *testServer) postFunc {
	return func(ctx context.Context, url, contentType string, body []byte, limit int64) (int, []byte, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		ts.mux.ServeHTTP(rec, req)
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		return rec.Code, rec.Body.Bytes(), nil
	}
}

func TestClientIdleAndLeaks(t *testing.T) {
	// In a bubble, the idle client polls through many poll timeouts and
	// every goroutine of both ends is gone when the test returns.
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{"wamp.2.json.batched"}, post: memoryPost(ts)})
		if err != nil {
			t.Fatal(err)
		}
		sp := <-ts.peers
		time.Sleep(5 * time.Minute)
		m := &wamp.Welcome{Session: 1, Details: wamp.Dict{}}
		sp.Send(m)
		got, err := cp.Recv()
		if err != nil || got.(*wamp.Welcome).Session != 1 {
			t.Fatalf("Recv after idling: %v %v", got, err)
		}
		if err := cp.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Recv(); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("router Recv: %v", err)
		}
		ts.h.Close()
	})
}

func TestClientCloseLetsReceiveEnd(t *testing.T) {
	// Close does not cancel the pending receive: the server ends it as it
	// closes the transport. Canceling a request whose answer is on its way
	// can make net/http close a connection it has already handed to
	// another request, which then fails with "context canceled".
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		var canceled atomic.Int32
		post := memoryPost(ts)
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{"wamp.2.json"},
			post: func(ctx context.Context, url, contentType string, body []byte, limit int64) (int, []byte, error) {
				status, resp, err := post(ctx, url, contentType, body, limit)
				if strings.HasSuffix(url, "/receive") && ctx.Err() != nil {
					canceled.Add(1)
				}
				return status, resp, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		<-ts.peers
		synctest.Wait() // the receive is pending
		if err := cp.Close(); err != nil {
			t.Fatal(err)
		}
		if n := canceled.Load(); n != 0 {
			t.Errorf("%d receive requests canceled by Close, want 0", n)
		}
		ts.h.Close()
	})
}

func TestClientCloseAfterFailure(t *testing.T) {
	// A failed send does not cancel the receive that is out (see
	// TestClientCloseLetsReceiveEnd); Close ends it after requestGrace.
	synctest.Test(t, func(t *testing.T) {
		post := func(ctx context.Context, url, contentType string, body []byte, limit int64) (int, []byte, error) {
			switch {
			case strings.HasSuffix(url, "/open"):
				return 200, []byte(`{"transport":"t1","protocol":"wamp.2.json"}`), nil
			case strings.HasSuffix(url, "/receive"):
				<-ctx.Done() // a server that never answers
				return 0, nil, ctx.Err()
			}
			return 404, []byte("transport closed"), nil
		}
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{"wamp.2.json"}, post: post})
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Recv(); !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "HTTP 404") {
			t.Fatalf("Recv after the failed send: %v", err)
		}
		start := time.Now()
		if err := cp.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if took := time.Since(start); took != requestGrace {
			t.Errorf("Close took %v, want requestGrace (%v)", took, requestGrace)
		}
	})
}

func TestClientRecvBackpressure(t *testing.T) {
	// A client that does not call Recv stops polling: the router's queue,
	// not the client, holds what it sends.
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{"wamp.2.json"}, post: memoryPost(ts)})
		if err != nil {
			t.Fatal(err)
		}
		sp := <-ts.peers
		for i := range 3 {
			sp.Send(&wamp.Event{Subscription: 1, Publication: wamp.ID(i + 1), Details: wamp.Dict{}})
		}
		synctest.Wait()
		c := sp.(*conn)
		c.mu.Lock()
		queued := len(c.out)
		c.mu.Unlock()
		if queued != 2 {
			t.Errorf("router queue holds %d messages, want 2 (one taken by the client)", queued)
		}
		for i := range 3 {
			m, err := cp.Recv()
			if err != nil || m.(*wamp.Event).Publication != wamp.ID(i+1) {
				t.Fatalf("Recv %d: %v %v", i, m, err)
			}
		}
		cp.Close()
		ts.h.Close()
	})
}

func TestClientSessionTimeout(t *testing.T) {
	// A client whose server forgot it (reaped, restarted) learns from the
	// 404 and reports the transport closed.
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{"wamp.2.json"}, post: memoryPost(ts)})
		if err != nil {
			t.Fatal(err)
		}
		sp := <-ts.peers
		ts.h.forget(sp.(*conn))
		sp.Close()
		if _, err := cp.Recv(); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Recv: %v", err)
		}
		if err := cp.Close(); err != nil {
			t.Fatalf("Close after failure: %v", err)
		}
		ts.h.Close()
	})
}

// BenchmarkRoundTrip measures a call and its result over loopback HTTP:
// the client's send, the router's echo, the client's receive.
func BenchmarkRoundTrip(b *testing.B) {
	for _, proto := range []string{"wamp.2.json", "wamp.2.msgpack.batched"} {
		b.Run(proto, func(b *testing.B) {
			ts := newTestServer(b, nil).serve(b)
			cp, err := Dial(b.Context(), ts.url, &DialOptions{Protocols: []string{proto}})
			if err != nil {
				b.Fatal(err)
			}
			defer cp.Close()
			go answerCalls(<-ts.peers)
			call := &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.echo", Args: wamp.List{"hi"}}
			for b.Loop() {
				if err := cp.Send(call); err != nil {
					b.Fatal(err)
				}
				if _, err := cp.Recv(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Several long-poll sessions to one server, each with a receive always
// pending and sends beside it, keep their connections: the requests do
// not open a new TCP connection each, as they would with net/http's
// default of 2 idle connections per host.
func TestClientsReuseConnections(t *testing.T) {
	ts := newTestServer(t, nil)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(ts.mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	ts.url = srv.URL + "/lp"

	const sessions, rounds = 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for range sessions {
		cp, err := Dial(t.Context(), ts.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cp.Close() })
		go answerCalls(ts.peer(t))
		wg.Go(func() {
			for i := range rounds {
				if err := cp.Send(&wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "com.example.echo"}); err != nil {
					errs <- err
					return
				}
				if _, err := cp.Recv(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each session needs two connections at most: its pending receive and
	// a send; opening takes one more request.
	if n := conns.Load(); n > 3*sessions {
		t.Errorf("%d sessions × %d round trips opened %d TCP connections, want at most %d", sessions, rounds, n, 3*sessions)
	}
}

// answerCalls answers every CALL that the server's peer sp receives with
// a RESULT, until sp ends.
func answerCalls(sp transport.Peer) {
	for {
		m, err := sp.Recv()
		if err != nil {
			return
		}
		sp.Send(&wamp.Result{Request: m.(*wamp.Call).Request, Details: wamp.Dict{}, Args: wamp.List{"ok"}})
	}
}
