package client

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// pipe returns the two ends of an in-process connection, like local.Pair:
// messages cross as they are, unencoded.
func pipe() (client, router *pipeEnd) {
	a, b := make(chan item, 128), make(chan item, 128)
	closed := make(chan struct{})
	once := new(sync.Once)
	return &pipeEnd{in: a, out: b, closed: closed, once: once},
		&pipeEnd{in: b, out: a, closed: closed, once: once}
}

type item struct {
	m   wamp.Message
	err error
}

type pipeEnd struct {
	in     chan item
	out    chan item
	closed chan struct{}
	once   *sync.Once

	// receiving counts the goroutines in Recv: a transport allows one.
	receiving atomic.Int32
}

func (p *pipeEnd) Send(m wamp.Message) error {
	select {
	case <-p.closed:
		return transport.ErrClosed
	default:
	}
	select {
	case p.out <- item{m: m}:
		return nil
	case <-p.closed:
		return transport.ErrClosed
	}
}

// inject makes the other end's Recv return err, as a transport does for
// malformed input.
func (p *pipeEnd) inject(err error) { p.out <- item{err: err} }

func (p *pipeEnd) Recv() (wamp.Message, error) {
	if p.receiving.Add(1) > 1 {
		panic("pipe: two goroutines in Recv at once")
	}
	defer p.receiving.Add(-1)
	// Deliver what was sent before a close, as a connection would.
	select {
	case it := <-p.in:
		return it.m, it.err
	default:
	}
	select {
	case it := <-p.in:
		return it.m, it.err
	case <-p.closed:
		return nil, transport.ErrClosed
	}
}

func (p *pipeEnd) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *pipeEnd) Info() transport.Info { return transport.Info{Transport: "pipe"} }

// router is the scripted router side of a test.
type router struct {
	t    *testing.T
	peer *pipeEnd
}

const wait = 5 * time.Second

// next returns the next message the client sent.
func (r *router) next() wamp.Message {
	r.t.Helper()
	select {
	case it := <-r.peer.in:
		return it.m
	case <-time.After(wait):
		r.t.Fatalf("router: no message from the client within %v", wait)
		return nil
	}
}

// closed waits until the connection is closed.
func (r *router) closed() {
	r.t.Helper()
	select {
	case <-r.peer.closed:
	case <-time.After(wait):
		r.t.Fatalf("router: the client did not close the connection within %v", wait)
	}
}

// expect returns the next message, which must be a T.
func expect[T wamp.Message](r *router) T {
	r.t.Helper()
	m := r.next()
	v, ok := m.(T)
	if !ok {
		r.t.Fatalf("router: got %T %v, want %T", m, wamp.ToList(m), *new(T))
	}
	return v
}

func (r *router) send(m wamp.Message) {
	r.t.Helper()
	if err := r.peer.Send(m); err != nil {
		r.t.Fatalf("router: send %s: %v", m.Type(), err)
	}
}

// quiet checks that the client sends nothing for a short while.
func (r *router) quiet() {
	r.t.Helper()
	select {
	case it := <-r.peer.in:
		r.t.Fatalf("router: unexpected %T %v", it.m, it.m)
	case <-time.After(50 * time.Millisecond):
	}
}

const sessionID wamp.ID = 4242

// join returns a session joined over a pipe and the router that scripts
// the other end. The session is closed at the end of the test.
func join(t *testing.T, cfg *Config) (*Session, *router) {
	t.Helper()
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	go func() {
		if _, err := rp.Recv(); err != nil {
			return
		}
		rp.Send(&wamp.Welcome{Session: sessionID, Details: wamp.Dict{"authid": "alice", "authrole": "user"}})
	}()
	s, err := JoinPeer(t.Context(), c, "realm1", cfg)
	if err != nil {
		t.Fatalf("JoinPeer: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		<-s.Done()
	})
	return s, r
}

// async runs f in a goroutine and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// within returns the value from ch or fails the test.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("nothing within %v", wait)
		return *new(T)
	}
}

// testLogger sends the session's logs to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
