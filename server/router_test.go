package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

func TestWelcomeAnnouncesRolesAndIdentity(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := connect(t, r)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allRoles, "authid": "admin"}})
	w := expect[*wamp.Welcome](c)
	if w.Session < 1 || w.Session > wamp.MaxID {
		t.Fatalf("session ID %d out of [1, 2^53]", w.Session)
	}
	if w.Details["authrole"] != "anonymous" || w.Details["authmethod"] != "anonymous" {
		t.Fatalf("identity %v", w.Details)
	}
	if w.Details["authid"] == "admin" {
		t.Fatal("authid taken from the client's claim")
	}
	roles := w.Details["roles"].(wamp.Dict)
	for _, role := range []string{"broker", "dealer"} {
		if _, ok := roles[role].(wamp.Dict)["features"].(wamp.Dict); !ok {
			t.Fatalf("WELCOME lacks roles.%s.features: %v", role, roles)
		}
	}
}

func TestHandshakeErrors(t *testing.T) {
	r := newTestRouter(t, Config{})
	cases := []struct {
		name   string
		msg    wamp.Message
		reason wamp.URI
	}{
		{"unknown realm", &wamp.Hello{Realm: "nope", Details: wamp.Dict{"roles": allRoles}}, wamp.ErrNoSuchRealm},
		{"invalid realm", &wamp.Hello{Realm: "bad realm", Details: wamp.Dict{"roles": allRoles}}, wamp.ErrInvalidURI},
		{"no roles", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}, wamp.ErrProtocolViolation},
		{"call before hello", &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "a.b"}, wamp.ErrProtocolViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, r)
			c.send(tc.msg)
			c.expectAbort(tc.reason)
		})
	}
}

func TestSecondHelloAborts(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := join(t, r)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allRoles}})
	c.expectAbort(wamp.ErrProtocolViolation)
}

func TestRouterOnlyMessagesAbort(t *testing.T) {
	r := newTestRouter(t, Config{})
	for _, m := range []wamp.Message{
		&wamp.Welcome{Session: 1, Details: wamp.Dict{}},
		&wamp.Event{Subscription: 1, Publication: 1, Details: wamp.Dict{}},
		&wamp.Result{Request: 1, Details: wamp.Dict{}},
		&wamp.Invocation{Request: 1, Registration: 1, Details: wamp.Dict{}},
		&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 1, Details: wamp.Dict{}, Error: "x.y"},
		&wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}},
	} {
		t.Run(m.Type().String(), func(t *testing.T) {
			c := join(t, r)
			c.send(m)
			a := c.expectAbort(wamp.ErrProtocolViolation)
			if a.Details["message"] == "" {
				t.Fatal("ABORT without a readable message")
			}
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	r := newTestRouter(t, Config{HelloTimeout: 50 * time.Millisecond})
	c := connect(t, r)
	c.expectClosed()
}

// dropPeer is a router-side peer that can be dropped, and counts drops.
type dropPeer struct {
	transport.Peer
	drops atomic.Int32
}

func (p *dropPeer) Drop() { p.drops.Add(1); p.Peer.Close() }

func TestHelloTimeoutDrops(t *testing.T) {
	// A connection silent past its HELLO deadline is dropped, with no
	// closing handshake, where the transport can.
	r := newTestRouter(t, Config{HelloTimeout: 50 * time.Millisecond})
	var dp *dropPeer
	c := connectWrapped(t, r, func(p transport.Peer) transport.Peer {
		dp = &dropPeer{Peer: p}
		return dp
	})
	c.expectClosed()
	<-c.done
	if dp.drops.Load() != 1 {
		t.Errorf("%d drops, want 1", dp.drops.Load())
	}
}

func TestGoodbyeFromClient(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := join(t, r)
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	g := expect[*wamp.Goodbye](c)
	if g.Reason != wamp.ErrGoodbyeAndOut {
		t.Fatalf("GOODBYE reason %s", g.Reason)
	}
	c.expectClosed()
}

func TestShutdownSaysGoodbyeAndFailsPendingCalls(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := join(t, r)
	caller := join(t, r)
	callee.register("com.example.slow", nil)
	caller.send(&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	expect[*wamp.Invocation](callee)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- r.Shutdown(ctx)
	}()
	caller.expectError(wamp.TypeCall, 7, wamp.ErrCanceled)
	for _, c := range []*rawClient{caller, callee} {
		g := expect[*wamp.Goodbye](c)
		if g.Reason != wamp.ErrSystemShutdown {
			t.Fatalf("GOODBYE reason %s", g.Reason)
		}
		c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		c.expectClosed()
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// New sessions are refused.
	c := connect(t, r)
	c.expectAbort(wamp.ErrSystemShutdown)
}

func TestShutdownClosesSessionsThatDoNotAnswer(t *testing.T) {
	r := newTestRouter(t, Config{GoodbyeTimeout: 50 * time.Millisecond})
	c := join(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	expect[*wamp.Goodbye](c)
	c.expectClosed()
}

func TestRealmsAreIsolated(t *testing.T) {
	r := newTestRouter(t, Config{})
	a := join(t, r)
	b := joinWith(t, r, "realm2", allRoles)
	a.register("com.example.proc", nil)
	b.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.proc"})
	b.expectError(wamp.TypeCall, 1, wamp.ErrNoSuchProcedure)
	// The same URI registers independently in the other realm.
	b.register("com.example.proc", nil)
}

// pingPeer is a router-side peer that answers pings at once and records
// when each came.
type pingPeer struct {
	transport.Peer
	pinged func()
}

func (p *pingPeer) Ping(context.Context) error {
	p.pinged()
	return nil
}

func TestPingRoundIsPaced(t *testing.T) {
	// A round pings the joined sessions in batches of pingBatch, pingStep
	// apart, instead of all at once; a connection that has not joined is
	// left to its HELLO deadline.
	synctest.Test(t, func(t *testing.T) {
		r := newTestRouter(t, Config{PingInterval: time.Second, PingTimeout: time.Second})
		start := time.Now()
		var mu sync.Mutex
		at := map[time.Duration]int{}
		wrap := func(p transport.Peer) transport.Peer {
			return &pingPeer{Peer: p, pinged: func() {
				mu.Lock()
				at[time.Since(start)]++
				mu.Unlock()
			}}
		}
		const joined = 3*pingBatch + 8
		for range joined {
			joinRaw(connectWrapped(t, r, wrap), "realm1", allRoles)
		}
		connectWrapped(t, r, wrap) // never says HELLO
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		want := map[time.Duration]int{
			time.Second:              pingBatch,
			time.Second + pingStep:   pingBatch,
			time.Second + 2*pingStep: pingBatch,
			time.Second + 3*pingStep: 8,
		}
		if !maps.Equal(at, want) {
			t.Errorf("pings at %v, want %v", at, want)
		}
	})
}

// countingHandler is a slog.Handler that counts the loggers made on it
// (each formats its attributes at once with the standard handlers) and
// the records it handles.
type countingHandler struct {
	level          slog.Level
	withs, records *atomic.Int64
}

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h countingHandler) Handle(context.Context, slog.Record) error {
	h.records.Add(1)
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler {
	h.withs.Add(1)
	return h
}
func (h countingHandler) WithGroup(string) slog.Handler { return h }

// A connection aborted or timed out logs at the info level. With that
// level off, the session's logger, whose attributes cost formatting, is not
// even made: a flood of junk connections would pay it for each.
func TestSessionLinesOffCostNothing(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			h := countingHandler{level: level, withs: new(atomic.Int64), records: new(atomic.Int64)}
			r := newTestRouter(t, Config{HelloTimeout: 50 * time.Millisecond, Logger: slog.New(h)})
			aborted := connect(t, r)
			aborted.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "a.b"})
			aborted.expectAbort(wamp.ErrProtocolViolation)
			silent := connect(t, r)
			silent.expectClosed()
			withs, records := h.withs.Load(), h.records.Load()
			if level == slog.LevelWarn && (withs != 0 || records != 0) {
				t.Errorf("at the warning level: %d loggers made, %d records", withs, records)
			}
			if level == slog.LevelInfo && records < 2 {
				t.Errorf("at the info level: %d records for an abort and a HELLO timeout", records)
			}
		})
	}
}

// A session's reader that always finds its next message waiting never
// blocks on the network: it lets the others run every yieldEvery messages.
func TestReaderYieldsEveryFewMessages(t *testing.T) {
	r := newTestRouter(t, Config{})
	var yields atomic.Int64
	r.yield = func() { yields.Add(1) }
	c := join(t, r)
	const n = 3*yieldEvery + 5
	for i := range n {
		c.subscribe(wamp.URI(fmt.Sprintf("com.example.t%d", i)), nil)
	}
	// The reader yields before reading messages yieldEvery, 2*yieldEvery
	// and 3*yieldEvery, all of them answered.
	if got := yields.Load(); got != 3 {
		t.Fatalf("%d yields for %d messages, want 3", got, n)
	}
}

// closeRecorder is a router-side peer that records when Close is called.
type closeRecorder struct {
	transport.Peer
	mu     *sync.Mutex
	closes *[]time.Time
}

func (p *closeRecorder) Close() error {
	p.mu.Lock()
	*p.closes = append(*p.closes, time.Now())
	p.mu.Unlock()
	return p.Peer.Close()
}

// TestCloseTimerStopsOnceClosed: the timer that closes a peer that does
// not read its final ABORT, or answer a GOODBYE, is stopped once the
// transport is closed, rather than left to fire GoodbyeTimeout later (a
// goroutine for each of a flood of aborted connections).
func TestCloseTimerStopsOnceClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(r *Router, c *rawClient)
	}{
		{"ABORT read", func(r *Router, c *rawClient) {
			c.send(&wamp.Hello{Realm: "nope", Details: wamp.Dict{"roles": allRoles}})
			c.expectAbort(wamp.ErrNoSuchRealm)
		}},
		{"GOODBYE answered", func(r *Router, c *rawClient) {
			joinRaw(c, "realm1", allRoles)
			go r.Shutdown(context.Background())
			expect[*wamp.Goodbye](c)
			c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 5 * time.Second
				r := newTestRouter(t, Config{GoodbyeTimeout: timeout})
				var mu sync.Mutex
				var closes []time.Time
				start := time.Now()
				c := connectWrapped(t, r, func(p transport.Peer) transport.Peer {
					return &closeRecorder{Peer: p, mu: &mu, closes: &closes}
				})
				tc.end(r, c)
				time.Sleep(2 * timeout)
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				if len(closes) == 0 {
					t.Fatal("the transport was never closed")
				}
				for _, at := range closes {
					if d := at.Sub(start); d >= timeout {
						t.Errorf("Close at %v, after GoodbyeTimeout (%v): the timer fired; closes at %v", d, timeout, closes)
					}
				}
			})
		})
	}
}
