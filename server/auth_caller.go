package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// routerCaller is a realm's own caller, through which the router calls
// dynamic authenticators and authorizers: a session of the router that
// routes its CALLs through the realm's dealer like any caller, but that is
// in no realm's session list (the meta API does not show it), needs no
// authorization, and receives its RESULTs and ERRORs in memory.
type routerCaller struct {
	s    *session
	reqs wamp.SequentialID

	mu      sync.Mutex
	waiting map[wamp.ID]chan wamp.Message
}

// caller returns the realm's router caller, made on first use.
func (r *realm) caller() *routerCaller { return r.callerOnce() }

func newRouterCaller(r *realm) *routerCaller {
	c := &routerCaller{waiting: make(map[wamp.ID]chan wamp.Message)}
	s := newSession(r.router, callerPeer{c})
	s.id = wamp.GlobalID()
	s.realm = r
	s.internal = true
	s.authid, s.authrole, s.authmethod, s.authprovider = "wampkit.router", "wampkit.router", "internal", "internal"
	s.roles = wamp.Dict{"caller": wamp.Dict{"features": wamp.Dict{"call_timeout": true, "call_canceling": true}}}
	s.established.Store(true)
	c.s = s
	return c
}

// call calls proc with args and waits for its answer or the end of ctx,
// which also bounds the call in the dealer. A callee's ERROR is returned as
// a *wamp.Error.
func (c *routerCaller) call(ctx context.Context, proc wamp.URI, args wamp.List) (wamp.List, wamp.Dict, error) {
	req := c.reqs.Next()
	ch := make(chan wamp.Message, 1)
	c.mu.Lock()
	c.waiting[req] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, req)
		c.mu.Unlock()
	}()
	opts := wamp.Dict{}
	if dl, ok := ctx.Deadline(); ok {
		ms := time.Until(dl).Milliseconds()
		if ms <= 0 {
			return nil, nil, context.DeadlineExceeded
		}
		opts["timeout"] = ms
	}
	c.s.realm.dealer.call(c.s, &wamp.Call{Request: req, Options: opts, Procedure: proc, Args: args})
	select {
	case m := <-ch:
		switch m := m.(type) {
		case *wamp.Result:
			return m.Args, m.Kwargs, nil
		case *wamp.ErrorMessage:
			return nil, nil, &wamp.Error{URI: m.Error, Args: m.Args, Kwargs: m.Kwargs}
		}
		return nil, nil, fmt.Errorf("server: unexpected %s for a router call", m.Type())
	case <-ctx.Done():
		c.s.realm.dealer.cancel(c.s, &wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		return nil, nil, ctx.Err()
	}
}

// deliver hands an answer to the call waiting for it; answers nobody
// waits for any more are dropped.
func (c *routerCaller) deliver(m wamp.Message) {
	var req wamp.ID
	switch m := m.(type) {
	case *wamp.Result:
		if progress, _ := m.Details["progress"].(bool); progress {
			return
		}
		req = m.Request
	case *wamp.ErrorMessage:
		req = m.Request
	default:
		return
	}
	c.mu.Lock()
	ch := c.waiting[req]
	delete(c.waiting, req)
	c.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

// callerPeer is the router caller's end of its session: what the router
// sends it is delivered in memory, at once.
type callerPeer struct{ c *routerCaller }

func (p callerPeer) Send(m wamp.Message) error   { p.c.deliver(m); return nil }
func (p callerPeer) Recv() (wamp.Message, error) { return nil, transport.ErrClosed }
func (p callerPeer) Close() error                { return nil }
func (p callerPeer) Info() transport.Info        { return transport.Info{Transport: "router"} }
func (p callerPeer) SendsWithoutBlocking() bool  { return true }
