package server

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

func TestWelcomeAnnouncesAdvancedFeatures(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := connect(t, r)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": allRoles}})
	roles := expect[*wamp.Welcome](c).Details["roles"].(wamp.Dict)
	features := func(role string) []string {
		return slices.Sorted(maps.Keys(roles[role].(wamp.Dict)["features"].(wamp.Dict)))
	}
	wantBroker := []string{"event_history", "event_retention", "pattern_based_subscription", "publisher_exclusion",
		"publisher_identification", "session_meta_api", "subscriber_blackwhite_listing", "subscription_meta_api",
		"subscription_revocation"}
	wantDealer := []string{"call_canceling", "call_cancelling", "call_timeout", "call_trustlevels", "caller_identification",
		"pattern_based_registration", "progressive_call_invocations", "progressive_call_results",
		"registration_meta_api", "registration_revocation", "session_meta_api", "shared_registration",
		"testament_meta_api"}
	if got := features("broker"); !slices.Equal(got, wantBroker) {
		t.Fatalf("broker features %v, want %v", got, wantBroker)
	}
	if got := features("dealer"); !slices.Equal(got, wantDealer) {
		t.Fatalf("dealer features %v, want %v", got, wantDealer)
	}
}

func TestSessionMetaEvents(t *testing.T) {
	r := newTestRouter(t, Config{})
	watcher := join(t, r)
	onJoin := watcher.subscribe("wamp.session.on_join", nil)
	onLeave := watcher.subscribe("wamp.session.on_leave", nil)

	c := join(t, r)
	ev := expect[*wamp.Event](watcher)
	d := ev.Args[0].(wamp.Dict)
	if ev.Subscription != onJoin || d["session"] != id64(c.id) || d["authrole"] != "anonymous" ||
		d["authmethod"] != "anonymous" || d["authprovider"] != "static" || d["authid"] == "" ||
		d["transport"].(wamp.Dict)["type"] != "local" {
		t.Fatalf("on_join %+v", ev)
	}
	c.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	expect[*wamp.Goodbye](c)
	ev = expect[*wamp.Event](watcher)
	if ev.Subscription != onLeave || len(ev.Args) != 3 || ev.Args[0] != id64(c.id) || ev.Args[1] != d["authid"] || ev.Args[2] != "anonymous" {
		t.Fatalf("on_leave %+v", ev)
	}
	// Another realm's sessions are not seen.
	joinWith(t, r, "realm2", allRoles)
	watcher.sync()
}

// TestMetaEventsWhereverWanted: the router makes a meta event only when
// it goes somewhere, and that includes a pattern subscription and an event
// history rule that covers it with no subscriber at all.
func TestMetaEventsWhereverWanted(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{{Name: "realm1",
		EventHistory: []EventHistoryConfig{{Topic: "wamp.registration.on_register", Limit: 5}}}}})
	watcher := join(t, r)
	sessionEvents := watcher.subscribe("wamp.session.", wamp.Dict{"match": "prefix"})
	c := join(t, r)
	ev := expect[*wamp.Event](watcher)
	if ev.Subscription != sessionEvents || ev.Details["topic"] != "wamp.session.on_join" || ev.Args[0].(wamp.Dict)["session"] != id64(c.id) {
		t.Fatalf("on_join to a prefix subscription: %+v", ev)
	}

	// Nobody subscribes to on_register, but the history keeps it. The
	// router publishes it after REGISTERED, on the session's reader: once
	// the session's next call is answered, it is out.
	reg := c.register("com.example.kept", nil)
	req := c.req.Next()
	c.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.count"})
	expect[*wamp.Result](c)
	sub := watcher.subscribe("wamp.registration.on_register", nil)
	req = watcher.req.Next()
	watcher.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Args: wamp.List{id64(sub)}})
	res := expect[*wamp.Result](watcher)
	events, _ := res.Args[0].(wamp.List)
	if res.Request != req || len(events) != 1 || !slices.Equal(events[0].(wamp.Dict)["args"].(wamp.List), wamp.List{id64(c.id), id64(reg)}) {
		t.Fatalf("kept on_register events: %+v", res)
	}
}

func TestSessionMetaProcedures(t *testing.T) {
	r := newTestRouter(t, Config{})
	admin, a, b := join(t, r), join(t, r), join(t, r)
	joinWith(t, r, "realm2", allRoles)

	if n := admin.call("wamp.session.count", nil, nil).Args[0]; n != int64(3) {
		t.Fatalf("count %v, want 3", n)
	}
	if n := admin.call("wamp.session.count", wamp.List{wamp.List{"anonymous"}}, nil).Args[0]; n != int64(3) {
		t.Fatalf("count with authrole filter %v, want 3", n)
	}
	if n := admin.call("wamp.session.count", nil, wamp.Dict{"filter_authroles": wamp.List{"admin"}}).Args[0]; n != int64(0) {
		t.Fatalf("count of admins %v, want 0", n)
	}
	list := admin.call("wamp.session.list", nil, nil).Args[0].(wamp.List)
	slices.SortFunc(list, func(x, y any) int { return int(x.(int64) - y.(int64)) })
	want := wamp.List{id64(admin.id), id64(a.id), id64(b.id)}
	slices.SortFunc(want, func(x, y any) int { return int(x.(int64) - y.(int64)) })
	if !slices.Equal(list, want) {
		t.Fatalf("list %v, want %v", list, want)
	}
	if l := admin.call("wamp.session.list", wamp.List{wamp.List{"admin"}}, nil).Args[0].(wamp.List); len(l) != 0 {
		t.Fatalf("list of admins %v", l)
	}
	info := admin.call("wamp.session.get", wamp.List{id64(a.id)}, nil).Args[0].(wamp.Dict)
	if info["session"] != id64(a.id) || info["authrole"] != "anonymous" {
		t.Fatalf("get %v", info)
	}
	admin.callError("wamp.session.get", wamp.List{int64(1)}, nil, wamp.ErrNoSuchSession)
	admin.callError("wamp.session.get", wamp.List{"a"}, nil, wamp.ErrInvalidArgument)
	admin.callError("wamp.session.count", wamp.List{"anonymous"}, nil, wamp.ErrInvalidArgument)
	admin.callError("wamp.session.nonsense", nil, nil, wamp.ErrNoSuchProcedure)

	// kill: GOODBYE with the reason and message; the caller cannot kill
	// itself.
	admin.callError("wamp.session.kill", wamp.List{id64(admin.id)}, nil, wamp.ErrNoSuchSession)
	admin.callError("wamp.session.kill", wamp.List{id64(a.id)}, wamp.Dict{"reason": "not a uri"}, wamp.ErrInvalidURI)
	admin.call("wamp.session.kill", wamp.List{id64(a.id)}, wamp.Dict{"reason": "com.example.bye", "message": "go away"})
	g := expect[*wamp.Goodbye](a)
	if g.Reason != "com.example.bye" || g.Details["message"] != "go away" {
		t.Fatalf("GOODBYE %+v", g)
	}
	a.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	a.expectClosed()

	// Defaults: wamp.close.normal and no message.
	c := join(t, r)
	admin.call("wamp.session.kill", wamp.List{id64(c.id)}, nil)
	if g := expect[*wamp.Goodbye](c); g.Reason != "wamp.close.normal" || len(g.Details) != 0 {
		t.Fatalf("GOODBYE %+v", g)
	}

	d := join(t, r)
	authid := admin.call("wamp.session.get", wamp.List{id64(d.id)}, nil).Args[0].(wamp.Dict)["authid"]
	if n := admin.call("wamp.session.kill_by_authid", wamp.List{authid}, nil).Args[0]; n != int64(1) {
		t.Fatalf("kill_by_authid killed %v", n)
	}
	expect[*wamp.Goodbye](d)
	myAuthid := admin.call("wamp.session.get", wamp.List{id64(admin.id)}, nil).Args[0].(wamp.Dict)["authid"]
	if n := admin.call("wamp.session.kill_by_authid", wamp.List{myAuthid}, nil).Args[0]; n != int64(0) {
		t.Fatalf("kill_by_authid of the caller's authid killed %v", n)
	}
	admin.callError("wamp.session.kill_by_authid", nil, nil, wamp.ErrInvalidArgument)

	e, f := join(t, r), join(t, r)
	if n := admin.call("wamp.session.kill_by_authrole", wamp.List{"anonymous"}, wamp.Dict{"message": "roles"}).Args[0]; n.(int64) < 3 {
		t.Fatalf("kill_by_authrole killed %v", n) // b, e, f and the sessions still saying goodbye
	}
	for _, x := range []*rawClient{b, e, f} {
		if g := expect[*wamp.Goodbye](x); g.Details["message"] != "roles" {
			t.Fatalf("GOODBYE %+v", g)
		}
	}
	admin.sync() // the caller is still there

	h := join(t, r)
	n := admin.call("wamp.session.kill_all", nil, wamp.Dict{"reason": "wamp.close.system_shutdown"}).Args[0]
	if n.(int64) < 1 {
		t.Fatalf("kill_all killed %v", n)
	}
	if g := expect[*wamp.Goodbye](h); g.Reason != wamp.ErrSystemShutdown {
		t.Fatalf("GOODBYE %+v", g)
	}
	admin.sync()
}

func TestRegistrationMeta(t *testing.T) {
	r := newTestRouter(t, Config{})
	watcher, callee := join(t, r), join(t, r)
	topics := []wamp.URI{"wamp.registration.on_create", "wamp.registration.on_register", "wamp.registration.on_unregister", "wamp.registration.on_delete"}
	subs := map[wamp.ID]wamp.URI{}
	for _, topic := range topics {
		subs[watcher.subscribe(topic, nil)] = topic
	}
	metaEvent := func(topic wamp.URI) *wamp.Event {
		t.Helper()
		ev := expect[*wamp.Event](watcher)
		if subs[ev.Subscription] != topic {
			t.Fatalf("got %s %v, want %s", subs[ev.Subscription], ev.Args, topic)
		}
		return ev
	}

	id := callee.register("com.example.p", wamp.Dict{"match": "prefix", "invoke": "roundrobin"})
	ev := metaEvent("wamp.registration.on_create")
	d := ev.Args[1].(wamp.Dict)
	if ev.Args[0] != id64(callee.id) || d["id"] != id64(id) || d["uri"] != "com.example.p" || d["match"] != "prefix" || d["invoke"] != "roundrobin" {
		t.Fatalf("on_create %v", ev.Args)
	}
	if _, err := time.Parse(time.RFC3339Nano, d["created"].(string)); err != nil {
		t.Fatalf("created %v: %v", d["created"], err)
	}
	if ev := metaEvent("wamp.registration.on_register"); ev.Args[0] != id64(callee.id) || ev.Args[1] != id64(id) {
		t.Fatalf("on_register %v", ev.Args)
	}
	second := join(t, r)
	second.register("com.example.p", wamp.Dict{"match": "prefix", "invoke": "roundrobin"})
	metaEvent("wamp.registration.on_register") // no second on_create
	exactID := callee.register("com.example.p.x", nil)
	metaEvent("wamp.registration.on_create")
	metaEvent("wamp.registration.on_register")

	lists := watcher.call("wamp.registration.list", nil, nil).Args[0].(wamp.Dict)
	if !slices.Equal(lists["exact"].(wamp.List), wamp.List{id64(exactID)}) || !slices.Equal(lists["prefix"].(wamp.List), wamp.List{id64(id)}) || len(lists["wildcard"].(wamp.List)) != 0 {
		t.Fatalf("list %v", lists)
	}
	for _, tc := range []struct {
		args wamp.List
		want any
	}{
		{wamp.List{"com.example.p.x"}, id64(exactID)},
		{wamp.List{"com.example.p", wamp.Dict{"match": "prefix"}}, id64(id)},
		{wamp.List{"com.example.p"}, nil},
		{wamp.List{"com.example.p.x", wamp.Dict{"match": "wildcard"}}, nil},
	} {
		if got := watcher.call("wamp.registration.lookup", tc.args, nil).Args[0]; got != tc.want {
			t.Fatalf("lookup %v = %v, want %v", tc.args, got, tc.want)
		}
	}
	if got := watcher.call("wamp.registration.match", wamp.List{"com.example.p.y"}, nil).Args[0]; got != id64(id) {
		t.Fatalf("match = %v, want %d", got, id)
	}
	if got := watcher.call("wamp.registration.match", wamp.List{"com.example.p.x"}, nil).Args[0]; got != id64(exactID) {
		t.Fatalf("match = %v, want %d", got, exactID)
	}
	if got := watcher.call("wamp.registration.match", wamp.List{"org.none"}, nil).Args[0]; got != nil {
		t.Fatalf("match = %v, want null", got)
	}
	if got := watcher.call("wamp.registration.get", wamp.List{id64(id)}, nil).Args[0].(wamp.Dict); got["match"] != "prefix" || got["invoke"] != "roundrobin" || got["uri"] != "com.example.p" {
		t.Fatalf("get %v", got)
	}
	callees := watcher.call("wamp.registration.list_callees", wamp.List{id64(id)}, nil).Args[0].(wamp.List)
	if !slices.Equal(callees, wamp.List{id64(callee.id), id64(second.id)}) {
		t.Fatalf("list_callees %v", callees)
	}
	if n := watcher.call("wamp.registration.count_callees", wamp.List{id64(id)}, nil).Args[0]; n != int64(2) {
		t.Fatalf("count_callees %v", n)
	}
	for _, proc := range []wamp.URI{"wamp.registration.get", "wamp.registration.list_callees", "wamp.registration.count_callees"} {
		watcher.callError(proc, wamp.List{int64(777)}, nil, wamp.ErrNoSuchRegistration)
		watcher.callError(proc, nil, nil, wamp.ErrInvalidArgument)
	}
	watcher.callError("wamp.registration.lookup", wamp.List{"a.b", wamp.Dict{"match": "fuzzy"}}, nil, wamp.ErrInvalidArgument)

	second.peer.Close()
	if ev := metaEvent("wamp.registration.on_unregister"); ev.Args[0] != id64(second.id) || ev.Args[1] != id64(id) {
		t.Fatalf("on_unregister %v", ev.Args)
	}
	callee.send(&wamp.Unregister{Request: 50, Registration: id})
	expect[*wamp.Unregistered](callee)
	metaEvent("wamp.registration.on_unregister")
	if ev := metaEvent("wamp.registration.on_delete"); ev.Args[0] != id64(callee.id) || ev.Args[1] != id64(id) {
		t.Fatalf("on_delete %v", ev.Args)
	}
}

func TestSubscriptionMeta(t *testing.T) {
	r := newTestRouter(t, Config{})
	watcher, s := join(t, r), join(t, r)
	// One prefix subscription to all four meta events; subscribing to
	// wamp. topics raises no meta event itself.
	meta := watcher.subscribe("wamp.subscription.on_", wamp.Dict{"match": "prefix"})
	metaEvent := func(topic string) *wamp.Event {
		t.Helper()
		ev := expect[*wamp.Event](watcher)
		if ev.Subscription != meta || ev.Details["topic"] != topic {
			t.Fatalf("got %v %v, want %s", ev.Details, ev.Args, topic)
		}
		return ev
	}
	id := s.subscribe("com.example", wamp.Dict{"match": "wildcard"})
	ev := metaEvent("wamp.subscription.on_create")
	if d := ev.Args[1].(wamp.Dict); ev.Args[0] != id64(s.id) || d["id"] != id64(id) || d["uri"] != "com.example" || d["match"] != "wildcard" {
		t.Fatalf("on_create %v", ev.Args)
	}
	if ev := metaEvent("wamp.subscription.on_subscribe"); ev.Args[0] != id64(s.id) || ev.Args[1] != id64(id) {
		t.Fatalf("on_subscribe %v", ev.Args)
	}
	exact := s.subscribe("com.example", nil)
	metaEvent("wamp.subscription.on_create")
	metaEvent("wamp.subscription.on_subscribe")

	lists := watcher.call("wamp.subscription.list", nil, nil).Args[0].(wamp.Dict)
	if !slices.Contains(lists["exact"].(wamp.List), any(id64(exact))) || !slices.Equal(lists["wildcard"].(wamp.List), wamp.List{id64(id)}) ||
		!slices.Equal(lists["prefix"].(wamp.List), wamp.List{id64(meta)}) {
		t.Fatalf("list %v", lists)
	}
	if got := watcher.call("wamp.subscription.lookup", wamp.List{"com.example"}, nil).Args[0]; got != id64(exact) {
		t.Fatalf("lookup %v", got)
	}
	if got := watcher.call("wamp.subscription.lookup", wamp.List{"com.example", wamp.Dict{"match": "wildcard"}}, nil).Args[0]; got != id64(id) {
		t.Fatalf("lookup wildcard %v", got)
	}
	if got := watcher.call("wamp.subscription.lookup", wamp.List{"com.nothing"}, nil).Args[0]; got != nil {
		t.Fatalf("lookup %v, want null", got)
	}
	if got := watcher.call("wamp.subscription.match", wamp.List{"com.example"}, nil).Args[0].(wamp.List); !slices.Equal(got, wamp.List{id64(exact), id64(id)}) {
		t.Fatalf("match %v", got)
	}
	if got := watcher.call("wamp.subscription.match", wamp.List{"org.x"}, nil).Args[0]; got != nil {
		t.Fatalf("match %v, want null", got)
	}
	if got := watcher.call("wamp.subscription.get", wamp.List{id64(id)}, nil).Args[0].(wamp.Dict); got["match"] != "wildcard" || got["uri"] != "com.example" {
		t.Fatalf("get %v", got)
	}
	if got := watcher.call("wamp.subscription.list_subscribers", wamp.List{id64(id)}, nil).Args[0].(wamp.List); !slices.Equal(got, wamp.List{id64(s.id)}) {
		t.Fatalf("list_subscribers %v", got)
	}
	if n := watcher.call("wamp.subscription.count_subscribers", wamp.List{id64(id)}, nil).Args[0]; n != int64(1) {
		t.Fatalf("count_subscribers %v", n)
	}
	watcher.callError("wamp.subscription.get", wamp.List{int64(777)}, nil, wamp.ErrNoSuchSubscription)
	watcher.callError("wamp.subscription.count_subscribers", wamp.List{int64(777)}, nil, wamp.ErrNoSuchSubscription)
	watcher.callError("wamp.subscription.match", wamp.List{"bad uri"}, nil, wamp.ErrInvalidURI)

	s.send(&wamp.Unsubscribe{Request: 60, Subscription: id})
	expect[*wamp.Unsubscribed](s)
	metaEvent("wamp.subscription.on_unsubscribe")
	if ev := metaEvent("wamp.subscription.on_delete"); ev.Args[0] != id64(s.id) || ev.Args[1] != id64(id) {
		t.Fatalf("on_delete %v", ev.Args)
	}
}

func TestTestaments(t *testing.T) {
	r := newTestRouter(t, Config{})
	watcher, c := join(t, r), join(t, r)
	sub := watcher.subscribe("com.example.will", nil)
	onLeave := watcher.subscribe("wamp.session.on_leave", nil)
	left := func(x *rawClient) {
		t.Helper()
		if ev := expect[*wamp.Event](watcher); ev.Subscription != onLeave || ev.Args[0] != id64(x.id) {
			t.Fatalf("got %+v, want on_leave of %d", ev, x.id)
		}
	}
	c.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"destroyed 1"}, wamp.Dict{"k": "v"}}, nil)
	c.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"detached"}, wamp.Dict{}}, wamp.Dict{"scope": "detached", "publish_options": wamp.Dict{"disclose_me": true}})
	c.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"destroyed 2"}, nil}, wamp.Dict{"scope": "destroyed"})
	c.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"flushed"}, nil}, wamp.Dict{"scope": "detached"})
	c.call("wamp.session.flush_testaments", nil, wamp.Dict{"scope": "detached"})
	c.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"detached 2"}, nil}, wamp.Dict{"scope": "detached", "publish_options": wamp.Dict{"disclose_me": true}})

	c.callError("wamp.session.add_testament", wamp.List{"com.example.will", nil, nil}, wamp.Dict{"scope": "forever"}, wamp.ErrInvalidArgument)
	c.callError("wamp.session.add_testament", wamp.List{"wamp.session.on_leave", nil, nil}, nil, wamp.ErrNotAuthorized)
	c.callError("wamp.session.add_testament", wamp.List{"not a uri", nil, nil}, nil, wamp.ErrInvalidURI)
	c.callError("wamp.session.add_testament", wamp.List{"com.example.will", "args", nil}, nil, wamp.ErrInvalidArgument)
	c.callError("wamp.session.add_testament", wamp.List{"com.example.will", nil, nil}, wamp.Dict{"publish_options": wamp.Dict{"eligible": "x"}}, wamp.ErrInvalidArgument)
	c.callError("wamp.session.flush_testaments", nil, wamp.Dict{"scope": int64(1)}, wamp.ErrInvalidArgument)
	watcher.sync() // nothing published while the session lives

	c.peer.Close() // an unclean end
	if ev := watcher.event(sub, "detached 2"); ev.Details["publisher"] != id64(c.id) {
		t.Fatalf("testament EVENT.Details %v", ev.Details)
	}
	if ev := watcher.event(sub, "destroyed 1"); ev.Kwargs["k"] != "v" {
		t.Fatalf("testament kwargs %v", ev.Kwargs)
	}
	watcher.event(sub, "destroyed 2")
	left(c) // after the testaments
	watcher.sync()

	// A clean GOODBYE publishes them too; flush_testaments empties a scope.
	d := join(t, r)
	d.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"d"}, nil}, nil)
	d.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"gone"}, nil}, nil)
	d.call("wamp.session.flush_testaments", nil, nil)
	d.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"bye"}, nil}, nil)
	d.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm})
	expect[*wamp.Goodbye](d)
	watcher.event(sub, "bye")
	left(d)
	watcher.sync()

	// Sessions ended by kill_all leave quietly: no testament, no on_leave.
	e := join(t, r)
	e.call("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"e"}, nil}, nil)
	watcher.call("wamp.session.kill_all", nil, nil)
	expect[*wamp.Goodbye](e)
	e.peer.Close()
	<-e.done
	watcher.sync()
}
