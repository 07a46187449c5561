package server

import (
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// authzRouter has realm "authz" whose anonymous sessions get role "svc" or
// "admin" by realm: "authz" for svc, "authz-admin" for admin.
func authzRouter(t *testing.T) *Router {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	svc := RoleConfig{Name: "svc", Permissions: []Permission{
		{URI: "com.app.", Match: "prefix", Allow: all},
		{URI: "com.app.secret", Allow: Actions{}},                         // exact beats prefix
		{URI: "com.app.ro.", Match: "prefix", Allow: Actions{Call: true}}, // longer prefix beats shorter
		{URI: "com..status", Match: "wildcard", Allow: Actions{Subscribe: true}},
		{URI: "com.app.audit", Allow: Actions{Publish: true, Subscribe: true}, Disclose: Disclose{Publisher: true}},
		{URI: "com.app.rpc", Allow: Actions{Call: true, Register: true}, Disclose: Disclose{Caller: true}},
	}}
	admin := RoleConfig{Name: "admin", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}}
	return newTestRouter(t, Config{Realms: []RealmConfig{
		{Name: "authz", Roles: []RoleConfig{svc}, Auth: AuthConfig{Anonymous: &AnonymousAuth{Role: "svc"}}},
		{Name: "authz-admin", Roles: []RoleConfig{admin}, Auth: AuthConfig{Anonymous: &AnonymousAuth{Role: "admin"}}},
	}})
}

// try sends a request for action on uri with options and reports the
// error URI of the answer, "" for success.
func (c *rawClient) try(action string, uri wamp.URI, opts wamp.Dict) wamp.URI {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	req := c.req.Next()
	var m wamp.Message
	switch action {
	case actionCall:
		m = &wamp.Call{Request: req, Options: opts, Procedure: uri}
	case actionRegister:
		m = &wamp.Register{Request: req, Options: opts, Procedure: uri}
	case actionPublish:
		opts["acknowledge"] = true
		m = &wamp.Publish{Request: req, Options: opts, Topic: uri}
	case actionSubscribe:
		m = &wamp.Subscribe{Request: req, Options: opts, Topic: uri}
	}
	c.send(m)
	switch a := c.next().(type) {
	case *wamp.ErrorMessage:
		return a.Error
	case *wamp.Registered, *wamp.Published, *wamp.Subscribed, *wamp.Result:
		return ""
	default:
		c.t.Fatalf("%s %s: got %s", action, uri, a.Type())
	}
	return ""
}

func TestAuthorizationPerActionAndMatch(t *testing.T) {
	r := authzRouter(t)
	c := joinWith(t, r, "authz", allRoles)
	ok, no := wamp.URI(""), wamp.ErrNotAuthorized
	for _, tc := range []struct {
		action string
		uri    wamp.URI
		opts   wamp.Dict
		want   wamp.URI
	}{
		{actionRegister, "com.app.add", nil, ok},
		{actionCall, "com.app.nobody", nil, wamp.ErrNoSuchProcedure}, // authorized, then routed
		{actionPublish, "com.app.x", nil, ok},
		{actionSubscribe, "com.app.x", nil, ok},
		{actionCall, "com.app.secret", nil, no},
		{actionRegister, "com.app.secret", nil, no},
		{actionPublish, "com.app.secret", nil, no},
		{actionSubscribe, "com.app.secret", nil, no},
		{actionRegister, "com.app.ro.get", nil, no},
		{actionCall, "com.app.ro.get", nil, wamp.ErrNoSuchProcedure},
		{actionSubscribe, "com.other.status", nil, ok}, // wildcard
		{actionPublish, "com.other.status", nil, no},
		{actionSubscribe, "com.other.deep.status", nil, no}, // wildcard components are one each
		{actionSubscribe, "com.app.", wamp.Dict{"match": "prefix"}, ok},
		{actionSubscribe, "com.", wamp.Dict{"match": "prefix"}, no},
		{actionRegister, "com.app.x..get", wamp.Dict{"match": "wildcard"}, ok},
		// It would capture calls to com.app.ro.get, which svc may not
		// register (authz_pattern_test.go).
		{actionRegister, "com.app..get", wamp.Dict{"match": "wildcard"}, no},
		{actionCall, "org.example.x", nil, no},
		{actionCall, "wamp.session.count", nil, no}, // the meta API obeys the same rules
		{actionSubscribe, "wamp.session.on_join", nil, no},
	} {
		if got := c.try(tc.action, tc.uri, tc.opts); got != tc.want {
			t.Errorf("svc %s %s %v: %q, want %q", tc.action, tc.uri, tc.opts, got, tc.want)
		}
	}

	a := joinWith(t, r, "authz-admin", allRoles)
	for _, tc := range []struct {
		action string
		uri    wamp.URI
		want   wamp.URI
	}{
		{actionCall, "wamp.session.count", ok},
		{actionSubscribe, "wamp.session.on_join", ok},
		{actionRegister, "org.anything", ok},
		// The wamp. namespace stays the router's whatever the role.
		{actionRegister, "wamp.session.count", no},
		{actionPublish, "wamp.session.on_join", no},
	} {
		if got := a.try(tc.action, tc.uri, nil); got != tc.want {
			t.Errorf("admin %s %s: %q, want %q", tc.action, tc.uri, got, tc.want)
		}
	}
}

func TestAuthorizationDisclose(t *testing.T) {
	r := authzRouter(t)
	callee := joinWith(t, r, "authz", allRoles)
	caller := joinWith(t, r, "authz", allRoles)
	callee.register("com.app.rpc", nil)
	callee.register("com.app.plain", nil)

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.app.rpc", Args: wamp.List{"x"}})
	inv := callee.invocation("x")
	if inv.Details["caller"] != id64(caller.id) || inv.Details["caller_authrole"] != "svc" {
		t.Fatalf("INVOCATION details %v: the role's disclose.caller was not applied", inv.Details)
	}
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.app.plain", Args: wamp.List{"y"}})
	if inv := callee.invocation("y"); inv.Details["caller"] != nil {
		t.Fatalf("INVOCATION details %v: caller disclosed without a reason", inv.Details)
	}

	sub := callee.subscribe("com.app.audit", nil)
	caller.publish("com.app.audit", nil, "event")
	if ev := callee.event(sub, "event"); ev.Details["publisher"] != id64(caller.id) {
		t.Fatalf("EVENT details %v: the role's disclose.publisher was not applied", ev.Details)
	}
}

func TestRealmsSeeNothingOfEachOther(t *testing.T) {
	r := newTestRouter(t, Config{}) // realm1 and realm2
	a := joinWith(t, r, "realm1", allRoles)
	b := joinWith(t, r, "realm2", allRoles)

	a.register("com.shared.proc", nil)
	b.callError("com.shared.proc", nil, nil, wamp.ErrNoSuchProcedure)
	b.register("com.shared.proc", nil) // no conflict with realm1's

	subA := a.subscribe("com.shared.topic", nil)
	b.subscribe("com.shared.topic", nil)
	a2 := joinWith(t, r, "realm1", allRoles)
	a2.publish("com.shared.topic", nil, "hello")
	a.event(subA, "hello")
	b.sync() // b got nothing before this answer

	list := b.call("wamp.session.list", nil, nil).Args[0].(wamp.List)
	if len(list) != 1 || list[0] != id64(b.id) {
		t.Fatalf("realm2 session list %v, want only %d", list, b.id)
	}
	b.callError("wamp.session.get", wamp.List{id64(a.id)}, nil, wamp.ErrNoSuchSession)
	b.callError("wamp.session.kill", wamp.List{id64(a.id)}, nil, wamp.ErrNoSuchSession)
	if n := b.call("wamp.registration.list", nil, nil).Args[0].(wamp.Dict)["exact"].(wamp.List); len(n) != 1 {
		t.Fatalf("realm2 registrations %v, want its own one", n)
	}
	a.sync()
}
