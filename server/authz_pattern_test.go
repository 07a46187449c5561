package server

import (
	"slices"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// patternRouter has realm "patterns", whose ticket users (each's ticket
// its authid) get one role each:
//   - pub publishes and calls anything;
//   - exact may subscribe to and register com.app.news only, exactly;
//   - svc may do anything under com.app. but com.app.secret (nothing) and
//     com.app.ro. (call only);
//   - fe is README's frontend: call and subscribe under com.example.,
//     nothing under com.example.admin.;
//   - wild may subscribe to and register com..status, but not
//     com.secret.status nor anything under com.hidden.;
//   - reader may do anything but on com.app.secret, the meta API included.
//
// The realm keeps the last 10 events of every topic under com.
func patternRouter(t *testing.T) *Router {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	subReg := Actions{Subscribe: true, Register: true}
	roles := []RoleConfig{
		{Name: "pub", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}},
		{Name: "exact", Permissions: []Permission{{URI: "com.app.news", Allow: subReg}}},
		{Name: "svc", Permissions: []Permission{
			{URI: "com.app.", Match: "prefix", Allow: all},
			{URI: "com.app.secret", Allow: Actions{}},
			{URI: "com.app.ro.", Match: "prefix", Allow: Actions{Call: true}},
		}},
		{Name: "fe", Permissions: []Permission{
			{URI: "com.example.", Match: "prefix", Allow: Actions{Call: true, Subscribe: true}},
			{URI: "com.example.admin.", Match: "prefix", Allow: Actions{}},
		}},
		{Name: "wild", Permissions: []Permission{
			{URI: "com..status", Match: "wildcard", Allow: subReg},
			{URI: "com.secret.status", Allow: Actions{}},
			{URI: "com.hidden.", Match: "prefix", Allow: Actions{}},
		}},
		{Name: "reader", Permissions: []Permission{
			{URI: "", Match: "prefix", Allow: all},
			{URI: "com.app.secret", Allow: Actions{}},
		}},
	}
	users := map[string]TicketPrincipal{}
	for _, ro := range roles {
		users[ro.Name] = TicketPrincipal{Role: ro.Name, Ticket: ro.Name}
	}
	return newTestRouter(t, Config{Realms: []RealmConfig{{
		Name:         "patterns",
		Roles:        roles,
		EventHistory: []EventHistoryConfig{{Topic: "com.", Match: "prefix", Limit: 10}},
		Auth:         AuthConfig{Ticket: &TicketAuth{Principals: users}},
	}}})
}

// loginAs joins realm "patterns" as the ticket user authid.
func loginAs(t *testing.T, r *Router, authid string) *rawClient {
	t.Helper()
	c := dialFrom(t, r, "127.0.0.1:40000", false)
	c.hello("patterns", authid, []string{"ticket"}, nil)
	c.challenge("ticket")
	c.send(&wamp.Authenticate{Signature: authid, Extra: wamp.Dict{}})
	c.welcome(authid, authid, "ticket", "static")
	return c
}

var (
	prefix   = wamp.Dict{"match": "prefix"}
	wildcard = wamp.Dict{"match": "wildcard"}
)

func TestAuthorizationOfPatterns(t *testing.T) {
	r := patternRouter(t)
	ok, no := wamp.URI(""), wamp.ErrNotAuthorized
	for _, tc := range []struct {
		role, action string
		uri          wamp.URI
		opts         wamp.Dict
		want         wamp.URI
	}{
		// An exact permission grants no pattern of the same string.
		{"exact", actionSubscribe, "com.app.news", nil, ok},
		{"exact", actionSubscribe, "com.app.news", prefix, no},
		{"exact", actionSubscribe, "com.app.new", prefix, no},
		{"exact", actionSubscribe, "com.app.news", wildcard, no},
		{"exact", actionSubscribe, "com.app.", wildcard, no},
		{"exact", actionRegister, "com.app.news", nil, ok},
		{"exact", actionRegister, "com.app.news", prefix, no},
		{"exact", actionRegister, "com.app.news", wildcard, no},
		// A pattern needs a permission covering all of it.
		{"svc", actionSubscribe, "com.", prefix, no},
		{"svc", actionSubscribe, "com.app", prefix, no},
		{"svc", actionSubscribe, "com..x", wildcard, no},
		{"svc", actionSubscribe, "com.app.ro.", prefix, no}, // the carve-out itself
		{"fe", actionSubscribe, "com.example.admin.", prefix, no},
		{"fe", actionSubscribe, "com.example.admin.users", prefix, no},
		{"fe", actionSubscribe, "com.example.admin..x", wildcard, no},
		{"wild", actionSubscribe, "com.hidden..", wildcard, no},
		{"wild", actionSubscribe, ".x.status", wildcard, no},
		// Patterns spanning a carve-out are admitted for subscriptions
		// (their events are checked one by one, see below)...
		{"svc", actionSubscribe, "com.app.", prefix, ok},
		{"svc", actionSubscribe, "com.app.secre", prefix, ok},
		{"svc", actionSubscribe, "com.app..x", wildcard, ok},
		{"fe", actionSubscribe, "com.example.", prefix, ok},
		{"fe", actionSubscribe, "com.example.adm", prefix, ok},
		{"fe", actionSubscribe, "com.example..x", wildcard, ok},
		{"wild", actionSubscribe, "com..status", wildcard, ok},
		// ... and refused for registrations, which would capture calls
		// to procedures the role may not register.
		{"svc", actionRegister, "com.app.", prefix, no},
		{"svc", actionRegister, "com.app.secre", prefix, no},
		{"svc", actionRegister, "com.app.r", prefix, no},
		{"svc", actionRegister, "com.app..get", wildcard, no},
		{"svc", actionRegister, "com.app..", wildcard, no},
		{"wild", actionRegister, "com..status", wildcard, no},
		// Patterns that no narrower permission cuts into.
		{"svc", actionRegister, "com.app.x.", prefix, ok},
		{"svc", actionRegister, "com.app.rpc", prefix, ok},
		{"svc", actionRegister, "com.app.x..get", wildcard, ok},
		{"svc", actionRegister, "com.app.x", wildcard, ok},
		{"svc", actionSubscribe, "com.app.rpc.", prefix, ok},
		{"wild", actionRegister, "com.ok.status", wildcard, ok},
		{"wild", actionRegister, "com.ok.status", nil, ok},
		{"wild", actionRegister, "com.secret.status", nil, no},
	} {
		c := loginAs(t, r, tc.role)
		if got := c.try(tc.action, tc.uri, tc.opts); got != tc.want {
			t.Errorf("%s %s %q %v: %q, want %q", tc.role, tc.action, tc.uri, tc.opts, got, tc.want)
		}
	}
}

// TestPatternSubscriptionCarveOut checks that no event on a topic the
// subscriber's role may not subscribe to reaches it through a pattern,
// and that every other event does.
func TestPatternSubscriptionCarveOut(t *testing.T) {
	r := patternRouter(t)
	pub := loginAs(t, r, "pub")
	for _, tc := range []struct {
		role    string
		pattern wamp.URI
		opts    wamp.Dict
		denied  []wamp.URI // published first: none may arrive
		allowed []wamp.URI // each must arrive, in order
	}{
		{"svc", "com.app.", prefix,
			[]wamp.URI{"com.app.secret", "com.app.ro.x", "com.app.ro.y.z"},
			[]wamp.URI{"com.app.secrets", "com.app.secret.x", "com.app.x", "com.app.ro"}},
		{"svc", "com.app.secre", prefix,
			[]wamp.URI{"com.app.secret"},
			[]wamp.URI{"com.app.secrets", "com.app.secret.x"}},
		{"svc", "com.app..x", wildcard,
			[]wamp.URI{"com.app.ro.x"},
			[]wamp.URI{"com.app.secret.x", "com.app.y.x"}},
		{"fe", "com.example.", prefix,
			[]wamp.URI{"com.example.admin.users", "com.example.admin.x.y"},
			[]wamp.URI{"com.example.news", "com.example.admin", "com.example.administrator"}},
		{"fe", "com.example.adm", prefix,
			[]wamp.URI{"com.example.admin.users"},
			[]wamp.URI{"com.example.admx", "com.example.admin"}},
		{"wild", "com..status", wildcard,
			[]wamp.URI{"com.secret.status", "com.hidden.status"},
			[]wamp.URI{"com.ok.status", "com.hiddenx.status"}},
	} {
		c := loginAs(t, r, tc.role)
		sub := c.subscribe(tc.pattern, tc.opts)
		// Another subscriber of the same subscription whose role has no
		// carve-out gets everything.
		all := loginAs(t, r, "pub")
		if id := all.subscribe(tc.pattern, tc.opts); id != sub {
			t.Fatalf("%s: subscription %d, want the shared %d", tc.pattern, id, sub)
		}
		for _, topic := range append(tc.denied, tc.allowed...) {
			pub.publish(topic, nil, string(topic))
			if ev := all.event(sub, string(topic)); ev.Details["topic"] != string(topic) {
				t.Fatalf("EVENT details %v, want topic %q", ev.Details, topic)
			}
		}
		for _, topic := range tc.allowed {
			c.event(sub, string(topic)) // a denied one would come first
		}
	}
}

func TestPatternSubscriptionCarveOutRetained(t *testing.T) {
	r := patternRouter(t)
	pub := loginAs(t, r, "pub")
	pub.publish("com.app.secret", wamp.Dict{"retain": true}, "secret")
	pub.publish("com.app.open", wamp.Dict{"retain": true}, "open")
	c := loginAs(t, r, "svc")
	sub := c.subscribe("com.app.", wamp.Dict{"match": "prefix", "get_retained": true})
	c.event(sub, "open")
	pub.publish("com.app.later", nil, "later")
	c.event(sub, "later") // the retained secret would have come first
}

func TestPatternSubscriptionUnsubscribeGuarded(t *testing.T) {
	r := patternRouter(t)
	pub := loginAs(t, r, "pub")
	c := loginAs(t, r, "svc")
	sub := c.subscribe("com.app.", prefix)
	if n := pub.call("wamp.subscription.count_subscribers", wamp.List{id64(sub)}, nil).Args[0]; n != int64(1) {
		t.Fatalf("count_subscribers %v, want the guarded subscriber counted", n)
	}
	c.send(&wamp.Unsubscribe{Request: 77, Subscription: sub})
	expect[*wamp.Unsubscribed](c)
	pub.callError("wamp.subscription.count_subscribers", wamp.List{id64(sub)}, nil, wamp.ErrNoSuchSubscription)
}

// TestPatternRegistrationCarveOut checks that no call to a procedure the
// callee's role may not register reaches it through a pattern.
func TestPatternRegistrationCarveOut(t *testing.T) {
	r := patternRouter(t)
	pub := loginAs(t, r, "pub")
	svc := loginAs(t, r, "svc")
	if got := svc.try(actionRegister, "com.app.", prefix); got != wamp.ErrNotAuthorized {
		t.Fatalf("register prefix com.app.: %q", got)
	}
	pub.callError("com.app.secret", wamp.List{"x"}, nil, wamp.ErrNoSuchProcedure)
	pub.callError("com.app.ro.get", wamp.List{"x"}, nil, wamp.ErrNoSuchProcedure)

	svc.register("com.app.x.", prefix)
	pub.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.app.x.y", Args: wamp.List{"y"}})
	inv := svc.invocation("y")
	if inv.Details["procedure"] != "com.app.x.y" {
		t.Fatalf("INVOCATION details %v", inv.Details)
	}
}

func TestPatternGrant(t *testing.T) {
	perm := func(uri wamp.URI, match string) Permission {
		return Permission{URI: uri, Match: match, Allow: Actions{Subscribe: true}}
	}
	deny := func(uri wamp.URI, match string) Permission { return Permission{URI: uri, Match: match} }
	for _, tc := range []struct {
		perms          []Permission
		pattern, match string
		base, carveOut wamp.URI // "-" for none
	}{
		{[]Permission{perm("a.b", "")}, "a.b", "prefix", "-", "-"},
		{[]Permission{perm("a.", "prefix"), perm("a.b.", "prefix")}, "a.b.c", "prefix", "a.b.", "-"},
		{[]Permission{perm("a.", "prefix"), deny("a.b.c", "")}, "a.b", "prefix", "a.", "a.b.c"},
		{[]Permission{perm("a.", "prefix"), deny("a.bc", "")}, "a.b.", "prefix", "a.", "-"},
		{[]Permission{perm("a.", "prefix"), deny("a.b.", "prefix")}, "a..c", "wildcard", "a.", "a.b."},
		{[]Permission{perm("a.", "prefix"), deny("a.b.", "prefix")}, "a.c.", "wildcard", "a.", "-"},
		{[]Permission{perm("a.", "prefix"), deny("a.b.c.", "prefix")}, "a..c", "wildcard", "a.", "-"},
		{[]Permission{perm("a.", "prefix"), deny("a.b.c", "prefix")}, "a..c", "wildcard", "a.", "a.b.c"},
		{[]Permission{perm("a.", "prefix"), deny("a..c", "wildcard")}, "a..c", "wildcard", "a.", "-"},
		{[]Permission{perm("a..", "wildcard"), deny("a..c", "wildcard")}, "a..", "wildcard", "a..", "a..c"},
		{[]Permission{perm("a..", "wildcard"), deny(".b.c", "wildcard")}, "a..", "wildcard", "a..", "-"},
		{[]Permission{perm("..c", "wildcard"), deny(".b.", "wildcard")}, "a..c", "wildcard", "..c", ".b."},
		{[]Permission{perm(".b.", "wildcard"), deny("..c", "wildcard")}, "a..c", "wildcard", "..c", "-"},
		{[]Permission{perm("a..", "wildcard"), perm(".b.", "wildcard")}, "a.b.", "wildcard", "a..", "-"},
		{[]Permission{perm("a..", "wildcard"), deny("a.b.", "prefix")}, "a..", "wildcard", "a..", "a.b."},
		{[]Permission{perm("a..", "wildcard")}, "a.", "prefix", "-", "-"},
		{[]Permission{perm("", "prefix"), deny("wamp.", "prefix")}, "w", "prefix", "", "wamp."},
	} {
		ro := newAuthz([]RoleConfig{{Name: "r", Permissions: tc.perms}}).roles["r"]
		base, carveOut := ro.patternGrant(actionSubscribe, wamp.URI(tc.pattern), tc.match)
		name := func(p *Permission) wamp.URI {
			if p == nil {
				return "-"
			}
			return p.URI
		}
		if name(base) != tc.base || name(carveOut) != tc.carveOut {
			t.Errorf("%v, %s %q: base %q carve-out %q, want %q %q", tc.perms, tc.match, tc.pattern, name(base), name(carveOut), tc.base, tc.carveOut)
		}
	}
}

// TestEventHistoryObeysCarveOuts checks that wamp.subscription.get_events
// gives a caller only what it would get as a subscriber.
func TestEventHistoryObeysCarveOuts(t *testing.T) {
	r := patternRouter(t)
	pub := loginAs(t, r, "pub")
	secret := pub.subscribe("com.app.secret", nil)
	all := pub.subscribe("com.app.", prefix)
	pub.publish("com.app.secret", nil, "s")
	pub.publish("com.app.open", nil, "o")
	args := func(l wamp.List) (out []any) {
		for _, e := range l {
			out = append(out, e.(wamp.Dict)["args"].(wamp.List)[0])
		}
		return out
	}

	reader := loginAs(t, r, "reader")
	reader.callError("wamp.subscription.get_events", wamp.List{id64(secret)}, nil, wamp.ErrNotAuthorized)
	if got := args(reader.call("wamp.subscription.get_events", wamp.List{id64(all)}, nil).Args[0].(wamp.List)); !slices.Equal(got, []any{"o"}) {
		t.Fatalf("reader's history of com.app.: %v, want [o]", got)
	}
	if got := args(pub.call("wamp.subscription.get_events", wamp.List{id64(all)}, nil).Args[0].(wamp.List)); !slices.Equal(got, []any{"s", "o"}) {
		t.Fatalf("pub's history of com.app.: %v, want [s o]", got)
	}
}
