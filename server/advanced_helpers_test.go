package server

import (
	"maps"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// rolesWith returns every client role, with the given features announced
// under role.
func rolesWith(role string, features ...string) wamp.Dict {
	roles := maps.Clone(allRoles)
	f := wamp.Dict{}
	for _, name := range features {
		f[name] = true
	}
	roles[role] = wamp.Dict{"features": f}
	return roles
}

// joinAs joins realm1 announcing features for one role.
func joinAs(t testing.TB, r *Router, role string, features ...string) *rawClient {
	t.Helper()
	return joinWith(t, r, "realm1", rolesWith(role, features...))
}

// call sends a CALL and returns the RESULT, failing on anything else.
func (c *rawClient) call(proc wamp.URI, args wamp.List, kwargs wamp.Dict) *wamp.Result {
	c.t.Helper()
	req := c.req.Next()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Args: args, Kwargs: kwargs})
	res := expect[*wamp.Result](c)
	if res.Request != req {
		c.t.Fatalf("RESULT for request %d, want %d", res.Request, req)
	}
	return res
}

// callError sends a CALL and expects ERROR with uri.
func (c *rawClient) callError(proc wamp.URI, args wamp.List, kwargs wamp.Dict, uri wamp.URI) *wamp.ErrorMessage {
	c.t.Helper()
	req := c.req.Next()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Args: args, Kwargs: kwargs})
	return c.expectError(wamp.TypeCall, req, uri)
}

// publish publishes with acknowledge and waits for PUBLISHED.
func (c *rawClient) publish(topic wamp.URI, opts wamp.Dict, args ...any) wamp.ID {
	c.t.Helper()
	o := wamp.Dict{"acknowledge": true}
	maps.Copy(o, opts)
	req := c.req.Next()
	c.send(&wamp.Publish{Request: req, Options: o, Topic: topic, Args: args})
	p := expect[*wamp.Published](c)
	if p.Request != req {
		c.t.Fatalf("PUBLISHED for request %d, want %d", p.Request, req)
	}
	return p.Publication
}

// sync proves that nothing else is queued for c: a round trip through
// the router (a meta call) comes back as the very next message.
func (c *rawClient) sync() {
	c.t.Helper()
	c.call("wamp.session.count", nil, nil)
}

// event expects an EVENT for subscription sub carrying args[0] == arg0.
func (c *rawClient) event(sub wamp.ID, arg0 any) *wamp.Event {
	c.t.Helper()
	ev := expect[*wamp.Event](c)
	if ev.Subscription != sub || len(ev.Args) == 0 || ev.Args[0] != arg0 {
		c.t.Fatalf("EVENT sub %d args %v details %v, want sub %d arg %v", ev.Subscription, ev.Args, ev.Details, sub, arg0)
	}
	return ev
}

// invocation expects an INVOCATION carrying args[0] == arg0.
func (c *rawClient) invocation(arg0 any) *wamp.Invocation {
	c.t.Helper()
	inv := expect[*wamp.Invocation](c)
	if len(inv.Args) == 0 || inv.Args[0] != arg0 {
		c.t.Fatalf("INVOCATION args %v details %v, want arg %v", inv.Args, inv.Details, arg0)
	}
	return inv
}

func id64(id wamp.ID) int64 { return int64(id) }
