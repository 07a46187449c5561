package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/leakcheck"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
)

// newTestRouter starts a router with realm1 (and realm2) and closes it
// when the test ends.
func newTestRouter(t testing.TB, cfg Config) *Router {
	t.Helper()
	if len(cfg.Realms) == 0 {
		cfg.Realms = []RealmConfig{{Name: "realm1"}, {Name: "realm2"}}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// rawClient speaks WAMP messages directly to a router over a local pair,
// so that tests can assert the exact messages the router sends.
type rawClient struct {
	t    testing.TB
	peer transport.Peer
	id   wamp.ID
	done chan struct{} // closed when the router's Serve returns
	req  wamp.SequentialID
}

func connect(t testing.TB, r *Router) *rawClient {
	t.Helper()
	return connectWrapped(t, r, nil)
}

// connectWrapped connects through wrap, which may replace the router's end
// of the connection.
func connectWrapped(t testing.TB, r *Router, wrap func(transport.Peer) transport.Peer) *rawClient {
	t.Helper()
	c, s := local.Pair()
	if wrap != nil {
		s = wrap(s)
	}
	rc := &rawClient{t: t, peer: c, done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		r.Serve(s)
	}()
	t.Cleanup(func() { c.Close() })
	return rc
}

var allRoles = wamp.Dict{
	"caller":     wamp.Dict{"features": wamp.Dict{}},
	"callee":     wamp.Dict{"features": wamp.Dict{}},
	"publisher":  wamp.Dict{"features": wamp.Dict{}},
	"subscriber": wamp.Dict{"features": wamp.Dict{}},
}

// join connects and joins realm1 with every client role.
func join(t testing.TB, r *Router) *rawClient {
	t.Helper()
	return joinWith(t, r, "realm1", allRoles)
}

func joinWith(t testing.TB, r *Router, realm wamp.URI, roles wamp.Dict) *rawClient {
	t.Helper()
	return joinRaw(connect(t, r), realm, roles)
}

func joinRaw(c *rawClient, realm wamp.URI, roles wamp.Dict) *rawClient {
	c.t.Helper()
	c.send(&wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": roles}})
	w := expect[*wamp.Welcome](c)
	c.id = w.Session
	return c
}

func (c *rawClient) send(m wamp.Message) {
	c.t.Helper()
	if err := c.peer.Send(m); err != nil {
		c.t.Fatalf("send %s: %v", m.Type(), err)
	}
}

func (c *rawClient) next() wamp.Message {
	c.t.Helper()
	type res struct {
		m   wamp.Message
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := c.peer.Recv()
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			c.t.Fatalf("recv: %v", r.err)
		}
		return r.m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no message from the router within 5 s")
	}
	return nil
}

// expect receives the next message and fails the test unless it is a T.
func expect[T wamp.Message](c *rawClient) T {
	c.t.Helper()
	m := c.next()
	v, ok := m.(T)
	if !ok {
		c.t.Fatalf("got %s %+v, want %T", m.Type(), m, *new(T))
	}
	return v
}

// expectError receives an ERROR and checks its request type and URI.
func (c *rawClient) expectError(t wamp.MessageType, req wamp.ID, uri wamp.URI) *wamp.ErrorMessage {
	c.t.Helper()
	e := expect[*wamp.ErrorMessage](c)
	if e.RequestType != t || e.Request != req || e.Error != uri {
		c.t.Fatalf("got ERROR %s %d %s %v, want %s %d %s", e.RequestType, e.Request, e.Error, e.Args, t, req, uri)
	}
	return e
}

// expectAbort receives ABORT with the given reason, then the end of the
// connection.
func (c *rawClient) expectAbort(reason wamp.URI) *wamp.Abort {
	c.t.Helper()
	a := expect[*wamp.Abort](c)
	if a.Reason != reason {
		c.t.Fatalf("ABORT reason %s (%v), want %s", a.Reason, a.Details, reason)
	}
	c.expectClosed()
	return a
}

// expectClosed waits for the router to end the session and close the
// connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("router did not end the session within 5 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if _, err := c.peer.Recv(); err != nil {
			return
		}
	}
	c.t.Fatal("connection not closed")
}

// subscribe subscribes and returns the subscription ID.
func (c *rawClient) subscribe(topic wamp.URI, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	req := c.req.Next()
	if opts == nil {
		opts = wamp.Dict{}
	}
	c.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	s := expect[*wamp.Subscribed](c)
	if s.Request != req {
		c.t.Fatalf("SUBSCRIBED for request %d, want %d", s.Request, req)
	}
	return s.Subscription
}

// register registers and returns the registration ID.
func (c *rawClient) register(proc wamp.URI, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	req := c.req.Next()
	if opts == nil {
		opts = wamp.Dict{}
	}
	c.send(&wamp.Register{Request: req, Options: opts, Procedure: proc})
	r := expect[*wamp.Registered](c)
	if r.Request != req {
		c.t.Fatalf("REGISTERED for request %d, want %d", r.Request, req)
	}
	return r.Registration
}

// TestMain fails the run when a session, writer or timer goroutine
// outlives the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
