package server

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestPublisherIdentification(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub, sub := join(t, r), join(t, r)
	info := sub.call("wamp.session.get", wamp.List{id64(pub.id)}, nil).Args[0].(wamp.Dict)
	id := sub.subscribe("com.example.t", nil)
	pub.publish("com.example.t", wamp.Dict{"disclose_me": true}, "named")
	ev := sub.event(id, "named")
	if ev.Details["publisher"] != id64(pub.id) || ev.Details["publisher_authid"] != info["authid"] || ev.Details["publisher_authrole"] != "anonymous" {
		t.Fatalf("EVENT.Details %v", ev.Details)
	}
	pub.publish("com.example.t", nil, "anonymous")
	if ev := sub.event(id, "anonymous"); len(ev.Details) != 0 {
		t.Fatalf("EVENT.Details %v, want none", ev.Details)
	}
}

func TestSubscriberBlackWhiteListing(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub := join(t, r)
	subs := []*rawClient{join(t, r), join(t, r), join(t, r)}
	var ids [3]wamp.ID
	var authids [3]string
	for i, s := range subs {
		ids[i] = s.subscribe("com.example.t", nil)
		authids[i] = s.call("wamp.session.get", wamp.List{id64(s.id)}, nil).Args[0].(wamp.Dict)["authid"].(string)
	}
	sid := func(i int) int64 { return id64(subs[i].id) }
	for _, tc := range []struct {
		name string
		opts wamp.Dict
		want [3]bool
	}{
		{"exclude", wamp.Dict{"exclude": wamp.List{sid(0)}}, [3]bool{false, true, true}},
		{"eligible", wamp.Dict{"eligible": wamp.List{sid(0), sid(1)}}, [3]bool{true, true, false}},
		{"eligible and exclude", wamp.Dict{"eligible": wamp.List{sid(0), sid(1)}, "exclude": wamp.List{sid(0)}}, [3]bool{false, true, false}},
		{"empty eligible", wamp.Dict{"eligible": wamp.List{}}, [3]bool{}},
		{"exclude_authid", wamp.Dict{"exclude_authid": wamp.List{authids[1]}}, [3]bool{true, false, true}},
		{"eligible_authid", wamp.Dict{"eligible_authid": wamp.List{authids[2]}}, [3]bool{false, false, true}},
		{"exclude_authrole", wamp.Dict{"exclude_authrole": wamp.List{"anonymous"}}, [3]bool{}},
		{"eligible_authrole", wamp.Dict{"eligible_authrole": wamp.List{"anonymous"}}, [3]bool{true, true, true}},
		{"eligible_authrole other", wamp.Dict{"eligible_authrole": wamp.List{"admin"}}, [3]bool{}},
		{"float IDs from JSON", wamp.Dict{"exclude": wamp.List{float64(sid(2))}}, [3]bool{true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub.publish("com.example.t", tc.opts, tc.name)
			for i, s := range subs {
				if tc.want[i] {
					s.event(ids[i], tc.name)
				}
				s.sync()
			}
		})
	}
	for i, opts := range []wamp.Dict{
		{"exclude": "all"},
		{"eligible": wamp.List{"one"}},
		{"exclude_authid": wamp.List{int64(1)}},
		{"eligible_authrole": "admin"},
		{"exclude_me": "no"},
		{"disclose_me": int64(1)},
		{"retain": "yes"},
	} {
		opts["acknowledge"] = true
		pub.send(&wamp.Publish{Request: wamp.ID(100 + i), Options: opts, Topic: "com.example.t"})
		pub.expectError(wamp.TypePublish, wamp.ID(100+i), wamp.ErrInvalidArgument)
	}
	for _, s := range subs {
		s.sync()
	}
}

func TestPatternSubscriptions(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub, s := join(t, r), join(t, r)
	exact := s.subscribe("com.example.update", nil)
	prefix := s.subscribe("com.example", wamp.Dict{"match": "prefix"})
	wild := s.subscribe("com..update", wamp.Dict{"match": "wildcard"})
	if exact == prefix || prefix == wild || exact == wild {
		t.Fatalf("subscription IDs %d %d %d are not distinct", exact, prefix, wild)
	}
	// One subscription per (topic, match), shared by its subscribers.
	other := join(t, r)
	if id := other.subscribe("com.example", wamp.Dict{"match": "prefix"}); id != prefix {
		t.Fatalf("second prefix subscriber got ID %d, want %d", id, prefix)
	}
	if id := other.subscribe("com.example", nil); id == prefix {
		t.Fatal("exact and prefix subscriptions to one URI share an ID")
	}

	pub.publish("com.example.update", nil, "u")
	if ev := s.event(exact, "u"); len(ev.Details) != 0 {
		t.Fatalf("exact EVENT.Details %v", ev.Details)
	}
	if ev := s.event(prefix, "u"); ev.Details["topic"] != "com.example.update" {
		t.Fatalf("prefix EVENT.Details %v", ev.Details)
	}
	if ev := s.event(wild, "u"); ev.Details["topic"] != "com.example.update" {
		t.Fatalf("wildcard EVENT.Details %v", ev.Details)
	}
	other.event(prefix, "u")

	pub.publish("com.examples.x.y", nil, "string prefix")
	if ev := s.event(prefix, "string prefix"); ev.Details["topic"] != "com.examples.x.y" {
		t.Fatalf("EVENT.Details %v", ev.Details)
	}
	pub.publish("org.other.update", nil, "no match")
	pub.publish("com.example.update.more", nil, "prefix only")
	s.event(prefix, "prefix only")
	s.sync()

	s.send(&wamp.Subscribe{Request: 50, Options: wamp.Dict{"match": "regex"}, Topic: "com"})
	s.expectError(wamp.TypeSubscribe, 50, wamp.ErrInvalidArgument)
	s.send(&wamp.Subscribe{Request: 51, Options: wamp.Dict{"match": "prefix"}, Topic: "com..x"})
	s.expectError(wamp.TypeSubscribe, 51, wamp.ErrInvalidURI)

	// Unsubscribing the wildcard leaves the others.
	s.send(&wamp.Unsubscribe{Request: 52, Subscription: wild})
	expect[*wamp.Unsubscribed](s)
	pub.publish("com.example.update", nil, "again")
	s.event(exact, "again")
	s.event(prefix, "again")
	s.sync()
}

func TestFanOutEncodesOncePerSubscription(t *testing.T) {
	r := newTestRouter(t, Config{})
	var jsonEvents atomic.Int64
	const n = 100
	got := make(chan []byte, 2*n)
	for range n {
		c := connectWrapped(t, r, func(p transport.Peer) transport.Peer {
			return &encodingPeer{Peer: p, codec: countingCodec{codec.JSON, &jsonEvents}, got: got}
		})
		joinRaw(c, "realm1", allRoles)
		c.subscribe("com.example.fan.out", nil)
		c.subscribe("com.example.fan", wamp.Dict{"match": "prefix"})
	}
	pub := join(t, r)
	pub.publish("com.example.fan.out", wamp.Dict{"disclose_me": true}, "x")
	deadline := time.After(10 * time.Second)
	for i := range 2 * n {
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("%d of %d events arrived", i, 2*n)
		}
	}
	if j := jsonEvents.Load(); j != 2 {
		t.Fatalf("EVENT encoded %d times for 2 subscriptions of %d subscribers each, want 2", j, n)
	}
}

func TestEventRetention(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub := join(t, r)
	pub.publish("com.example.temp", wamp.Dict{"retain": true}, "v1")
	p2 := pub.publish("com.example.temp", wamp.Dict{"retain": true, "disclose_me": true}, "v2")
	pub.publish("com.example.temp", nil, "v3 not retained")

	s := join(t, r)
	id := s.subscribe("com.example.temp", wamp.Dict{"get_retained": true})
	ev := s.event(id, "v2")
	if ev.Publication != p2 || ev.Details["retained"] != true || ev.Details["publisher"] != id64(pub.id) {
		t.Fatalf("retained EVENT %+v", ev)
	}
	s.sync()
	// Without get_retained nothing is sent; live events carry no retained.
	s2 := join(t, r)
	id2 := s2.subscribe("com.example.temp", nil)
	s2.sync()
	pub.publish("com.example.temp", nil, "live")
	if ev := s2.event(id2, "live"); ev.Details["retained"] != nil {
		t.Fatalf("live EVENT.Details %v", ev.Details)
	}

	// A pattern subscription gets the retained event of each matching
	// topic, oldest first, with the concrete topic.
	pub.publish("com.example.room.a", wamp.Dict{"retain": true}, "a")
	pub.publish("com.example.room.b", wamp.Dict{"retain": true}, "b")
	pub.publish("com.example.hall.c", wamp.Dict{"retain": true}, "c")
	s3 := join(t, r)
	pid := s3.subscribe("com.example.room", wamp.Dict{"match": "prefix", "get_retained": true})
	if ev := s3.event(pid, "a"); ev.Details["topic"] != "com.example.room.a" || ev.Details["retained"] != true {
		t.Fatalf("EVENT.Details %v", ev.Details)
	}
	s3.event(pid, "b")
	wid := s3.subscribe("com.example..c", wamp.Dict{"match": "wildcard", "get_retained": true})
	s3.event(wid, "c")
	s3.sync()

	// A retained event goes only to whom it could have reached.
	pub.publish("com.example.secret", wamp.Dict{"retain": true, "eligible_authrole": wamp.List{"admin"}}, "s")
	s3.subscribe("com.example.secret", wamp.Dict{"get_retained": true})
	s3.sync()
	// Its publisher was excluded (exclude_me) when it was published.
	pub.subscribe("com.example.temp", wamp.Dict{"get_retained": true})
	pub.sync()

	s3.send(&wamp.Subscribe{Request: 90, Options: wamp.Dict{"get_retained": "yes"}, Topic: "com.example.temp"})
	s3.expectError(wamp.TypeSubscribe, 90, wamp.ErrInvalidArgument)
}

func TestEventHistory(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{{Name: "realm1", EventHistory: []EventHistoryConfig{
		{Topic: "com.log.auth", Limit: 2},
		{Topic: "com.log", Match: "prefix", Limit: 3},
	}}}})
	// holder keeps the subscriptions alive (and never reads its events);
	// reader asks for the history.
	pub, holder, reader := join(t, r), join(t, r), join(t, r)
	basket := holder.subscribe("com.log.basket", nil)
	all := holder.subscribe("com.log", wamp.Dict{"match": "prefix"})
	auth := holder.subscribe("com.log.auth", nil)
	other := holder.subscribe("com.other", nil)

	var pubs []wamp.ID
	for _, p := range []struct {
		topic wamp.URI
		opts  wamp.Dict
		arg   string
	}{
		{"com.log.auth", nil, "auth1"},
		{"com.log.basket", nil, "basket1"},
		{"com.log.auth", nil, "auth2"},
		{"com.log.basket", nil, "basket2"},
		{"com.log.auth", nil, "auth3"},
		{"com.log.basket", nil, "basket3"},
		{"com.log.basket", nil, "basket4"},
		{"com.log.checkout", nil, "check1"},
		{"com.other", nil, "not kept: no rule"},
		{"com.log.basket", wamp.Dict{"eligible": wamp.List{id64(reader.id)}}, "not kept: by session ID"},
		{"com.log.basket", wamp.Dict{"eligible_authrole": wamp.List{"admin"}}, "kept, hidden from anonymous"},
	} {
		pubs = append(pubs, pub.publish(p.topic, p.opts, p.arg))
	}

	events := func(sub wamp.ID, args wamp.List, kwargs wamp.Dict) []string {
		t.Helper()
		res := reader.call("wamp.subscription.get_events", append(wamp.List{id64(sub)}, args...), kwargs)
		var out []string
		for _, e := range res.Args[0].(wamp.List) {
			ev := e.(wamp.Dict)
			if ev["subscription"] != id64(sub) || ev["timestamp"] == "" {
				t.Fatalf("history entry %v", ev)
			}
			out = append(out, ev["args"].(wamp.List)[0].(string))
		}
		return out
	}
	eq := func(got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("history %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("history %v, want %v", got, want)
			}
		}
	}
	// basket keeps its last 3: basket3, basket4 and the hidden one.
	eq(events(basket, nil, nil), "basket3", "basket4")
	eq(events(basket, wamp.List{int64(1)}, nil), "basket4")
	eq(events(basket, nil, wamp.Dict{"limit": int64(1)}), "basket4")
	eq(events(basket, nil, wamp.Dict{"reverse": true}), "basket4", "basket3")
	eq(events(auth, nil, nil), "auth2", "auth3") // the first rule: limit 2
	eq(events(all, nil, nil), "auth2", "auth3", "basket3", "basket4", "check1")
	eq(events(all, wamp.List{int64(2)}, nil), "basket4", "check1")
	eq(events(other, nil, nil))

	res := reader.call("wamp.subscription.get_events", wamp.List{id64(all), int64(1)}, nil)
	last := res.Args[0].(wamp.List)[0].(wamp.Dict)
	if last["publication"] != id64(pubs[7]) || last["details"].(wamp.Dict)["topic"] != "com.log.checkout" {
		t.Fatalf("history entry %v", last)
	}
	reader.callError("wamp.subscription.get_events", wamp.List{int64(999999)}, nil, wamp.ErrNoSuchSubscription)
	reader.callError("wamp.subscription.get_events", wamp.List{id64(all), "ten"}, nil, wamp.ErrInvalidArgument)

	if _, err := New(Config{Realms: []RealmConfig{{Name: "r", EventHistory: []EventHistoryConfig{{Topic: "a.b"}}}}}); err == nil {
		t.Fatal("New accepted an event history rule without a limit")
	}
	if _, err := New(Config{Realms: []RealmConfig{{Name: "r", EventHistory: []EventHistoryConfig{{Topic: "a..b", Limit: 1}}}}}); err == nil {
		t.Fatal("New accepted an invalid event history topic")
	}
}

func TestSubscriptionRevocation(t *testing.T) {
	r := newTestRouter(t, Config{})
	aware := joinAs(t, r, "subscriber", "subscription_revocation")
	unaware, admin := join(t, r), join(t, r)
	id := aware.subscribe("com.example.t", nil)
	unaware.subscribe("com.example.t", nil)

	admin.call("wamp.subscription.remove_subscriber", wamp.List{id64(id), id64(aware.id)}, wamp.Dict{"reason": "banned"})
	u := expect[*wamp.Unsubscribed](aware)
	if u.Request != 0 || u.Details["subscription"] != id64(id) || u.Details["reason"] != "banned" {
		t.Fatalf("UNSUBSCRIBED %+v", u)
	}
	admin.call("wamp.subscription.remove_subscriber", wamp.List{id64(id), id64(unaware.id)}, nil)
	admin.publish("com.example.t", nil, "nobody")
	aware.sync()
	unaware.sync()
	admin.callError("wamp.subscription.remove_subscriber", wamp.List{id64(id), id64(aware.id)}, nil, wamp.ErrNoSuchSubscription)
	admin.callError("wamp.subscription.remove_subscriber", wamp.List{id64(id), int64(4242)}, nil, wamp.ErrNoSuchSession)
}

// A subscriber with get_retained gets SUBSCRIBED, then the retained event,
// then live events, however a publisher races with its SUBSCRIBE.
func TestRetainedEventPrecedesLiveEvents(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub := join(t, r)
	pub.publish("com.example.seq", wamp.Dict{"retain": true}, int64(0))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := &wamp.Publish{Request: wamp.ID(i), Options: wamp.Dict{"retain": true}, Topic: "com.example.seq", Args: wamp.List{i}}
			if pub.peer.Send(m) != nil {
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}()
	defer func() { close(stop); <-done }()
	for range 30 {
		s := join(t, r)
		s.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{"get_retained": true}, Topic: "com.example.seq"})
		if m := s.next(); m.Type() != wamp.TypeSubscribed {
			t.Fatalf("first answer to SUBSCRIBE: %s %+v", m.Type(), m)
		}
		ev := expect[*wamp.Event](s)
		if ev.Details["retained"] != true {
			t.Fatalf("first EVENT is live, not the retained one: %+v", ev)
		}
		last := ev.Args[0].(int64)
		for range 3 {
			ev := expect[*wamp.Event](s)
			seq := ev.Args[0].(int64)
			if ev.Details["retained"] != nil || seq <= last {
				t.Fatalf("after event %d came %d (details %v)", last, seq, ev.Details)
			}
			last = seq
		}
		s.peer.Close()
	}
}

// TestRetainedTopicsBounded: a realm keeps the retained events of at most
// MaxRetainedTopics topics, those retained most recently; publishing under
// ever new topics does not grow it.
func TestRetainedTopicsBounded(t *testing.T) {
	r := newTestRouter(t, Config{MaxRetainedTopics: 5})
	pub := join(t, r)
	retain := wamp.Dict{"retain": true}
	for i := range 8 {
		pub.publish(wamp.URI(fmt.Sprintf("com.example.room.%d", i)), retain, fmt.Sprintf("v%d", i))
	}
	// Retaining again makes a topic the most recent: room.4 goes next.
	pub.publish("com.example.room.3", retain, "v3 again")
	pub.publish("com.example.room.8", retain, "v8")
	b := r.realm("realm1").broker
	b.retainMu.Lock()
	n := b.retained.len()
	b.retainMu.Unlock()
	if n != 5 {
		t.Fatalf("%d retained topics, want 5", n)
	}

	s := join(t, r)
	id := s.subscribe("com.example.room", wamp.Dict{"match": "prefix", "get_retained": true})
	for _, want := range []string{"v5", "v6", "v7", "v3 again", "v8"} {
		s.event(id, want)
	}
	s.sync()
	s.subscribe("com.example.room.4", wamp.Dict{"get_retained": true})
	s.sync() // room.4's event is gone
}

// TestHistoryTopicsBounded: a prefix rule of event history keeps the
// events of at most MaxHistoryTopics concrete topics, those published to
// most recently.
func TestHistoryTopicsBounded(t *testing.T) {
	r := newTestRouter(t, Config{MaxHistoryTopics: 3, Realms: []RealmConfig{{Name: "realm1", EventHistory: []EventHistoryConfig{
		{Topic: "com.log", Match: "prefix", Limit: 2},
	}}}})
	pub, holder, reader := join(t, r), join(t, r), join(t, r)
	all := holder.subscribe("com.log", wamp.Dict{"match": "prefix"})
	for i := range 6 {
		pub.publish(wamp.URI(fmt.Sprintf("com.log.t%d", i)), nil, fmt.Sprintf("e%d", i))
	}
	// Publishing again makes a topic the most recent: t4 goes next.
	pub.publish("com.log.t3", nil, "e3 again")
	pub.publish("com.log.t6", nil, "e6")
	h := r.realm("realm1").broker.history
	h.mu.Lock()
	n := h.topics.len()
	h.mu.Unlock()
	if n != 3 {
		t.Fatalf("history of %d topics, want 3", n)
	}

	res := reader.call("wamp.subscription.get_events", wamp.List{id64(all)}, nil)
	var got []string
	for _, e := range res.Args[0].(wamp.List) {
		got = append(got, e.(wamp.Dict)["args"].(wamp.List)[0].(string))
	}
	if want := []string{"e3", "e5", "e3 again", "e6"}; !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}
