package interop

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// goAdmin: on adminRealm, the Go client finds the Autobahn|JS and wampy
// sessions through the session and subscription meta API, publishes to
// them with exclude, eligible and the authid and authrole lists, and ends
// them with wamp.session.kill, kill_by_authid, kill_by_authrole and
// kill_all, which spares it (js/go_admin.mjs).
func (e *env) goAdmin(t *testing.T) {
	ctx := t.Context()
	gs := e.joinIn(t, adminRealm)
	leaves := make(chan wamp.List, 16)
	if _, err := gs.Subscribe(ctx, "wamp.session.on_leave", func(ev *client.Event) { leaves <- ev.Args }); err != nil {
		t.Fatalf("Go client: subscribe to wamp.session.on_leave: %s", showErr(err))
	}

	s := e.startIn(t, "go_admin.mjs", adminRealm)
	fail := func(format string, a ...any) {
		t.Helper()
		e.fatal(t, s, format, a...)
	}
	if err := s.waitLine("READY", 20*time.Second); err != nil {
		fail("%v", err)
	}
	call := func(procedure wamp.URI, args wamp.List, kwargs wamp.Dict) wamp.List {
		t.Helper()
		res, err := gs.Call(ctx, procedure, args, kwargs)
		if err != nil {
			fail("Go calls %s%s: %s", procedure, show(args), showErr(err))
		}
		return res.Args
	}
	// one returns the single integer a meta procedure answers with.
	one := func(procedure wamp.URI, args ...any) int64 {
		t.Helper()
		res := call(procedure, args, nil)
		n, ok := wamp.AsInt(first(res))
		if len(res) != 1 || !ok {
			fail("%s%s: got %s, want one integer", procedure, show(wamp.List(args)), show(res))
		}
		return n
	}
	// idSet returns the sorted session IDs a meta procedure answers with.
	idSet := func(procedure wamp.URI, args ...any) []int64 {
		t.Helper()
		res := call(procedure, args, nil)
		list, ok := first(res).(wamp.List)
		if len(res) != 1 || !ok {
			fail("%s%s: got %s, want a list", procedure, show(wamp.List(args)), show(res))
		}
		ids := make([]int64, len(list))
		for i, v := range list {
			if ids[i], ok = wamp.AsInt(v); !ok {
				fail("%s%s: got %s, want session IDs", procedure, show(wamp.List(args)), show(res))
			}
		}
		slices.Sort(ids)
		return ids
	}

	// What the script's sessions joined as, by its own account.
	type joined struct {
		ID         int64  `json:"id"`
		AuthID     string `json:"authid"`
		AuthRole   string `json:"authrole"`
		AuthMethod string `json:"authmethod"`
	}
	var sessions map[string]joined
	line, _ := s.stdout.after("SESSIONS ")
	if err := json.Unmarshal([]byte(line), &sessions); err != nil {
		fail("the script's SESSIONS line %q: %v", line, err)
	}
	names := []string{"ann", "bob", "bob2", "cid", "dan", "eve", "anon"}
	if got := slices.Sorted(maps.Keys(sessions)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(names))) {
		fail("the script's SESSIONS: got %v, want %v", got, names)
	}
	id := func(name string) wamp.ID { return wamp.ID(sessions[name].ID) }
	ids := func(names ...string) []int64 {
		var l []int64
		for _, n := range names {
			l = append(l, sessions[n].ID)
		}
		slices.Sort(l)
		return l
	}
	line, _ = s.stdout.after("SUBSCRIPTION ")
	subID, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		fail("the script's SUBSCRIPTION line %q: %v", line, err)
	}

	// The session meta API: the realm holds the Go session and the
	// script's seven, with the authids and authroles they joined with.
	if n := one("wamp.session.count"); n != 8 {
		fail("wamp.session.count: got %d, want 8", n)
	}
	for role, want := range map[string]int64{"staff": 4, "guest": 2, "anonymous": 2, "admin": 0} {
		if n := one("wamp.session.count", wamp.List{role}); n != want {
			fail("wamp.session.count [%q]: got %d, want %d", role, n, want)
		}
	}
	if got, want := idSet("wamp.session.list"), append(ids(names...), int64(gs.ID())); !reflect.DeepEqual(got, slices.Sorted(slices.Values(want))) {
		fail("wamp.session.list: got %v, want the script's %v and the Go session %d", got, ids(names...), gs.ID())
	}
	if got, want := idSet("wamp.session.list", wamp.List{"guest"}), ids("cid", "dan"); !reflect.DeepEqual(got, want) {
		fail("wamp.session.list [guest]: got %v, want cid and dan %v", got, want)
	}
	for _, name := range names {
		j := sessions[name]
		info, _ := first(call("wamp.session.get", wamp.List{j.ID}, nil)).(wamp.Dict)
		transport, _ := info["transport"].(wamp.Dict)
		got := []any{info["session"], info["authid"], info["authrole"], info["authmethod"], transport["type"], transport["serializer"]}
		want := []any{j.ID, j.AuthID, j.AuthRole, j.AuthMethod, "websocket", e.ser}
		if !reflect.DeepEqual(got, want) {
			fail("wamp.session.get of %s: got %s, want session, authid, authrole, authmethod, transport %v", name, show(info), want)
		}
	}
	_, err = gs.Call(ctx, "wamp.session.get", wamp.List{int64(1)}, nil)
	if we, ok := errors.AsType[*wamp.Error](err); !ok || we.URI != wamp.ErrNoSuchSession {
		fail("wamp.session.get of an unknown session: got %s, want %s", showErr(err), wamp.ErrNoSuchSession)
	}

	// The subscription meta API finds the script's subscribers.
	const topic = "com.example.admin.news"
	if got := one("wamp.subscription.lookup", topic); got != subID {
		fail("wamp.subscription.lookup %s: got %d, want the script's subscription %d", topic, got, subID)
	}
	if got := one("wamp.subscription.count_subscribers", subID); got != 7 {
		fail("wamp.subscription.count_subscribers: got %d, want 7", got)
	}
	if got, want := idSet("wamp.subscription.list_subscribers", subID), ids(names...); !reflect.DeepEqual(got, want) {
		fail("wamp.subscription.list_subscribers: got %v, want the script's sessions %v", got, want)
	}
	info, _ := first(call("wamp.subscription.get", wamp.List{subID}, nil)).(wamp.Dict)
	if info["uri"] != topic || info["match"] != wamp.MatchExact {
		fail("wamp.subscription.get: got %s, want uri %s and match exact", show(info), topic)
	}

	// Publications with black- and whitelists; the script checks who got
	// which, up to "end".
	for _, p := range []struct {
		n    int
		opts []client.Option
	}{
		{1, []client.Option{client.Exclude(id("bob"), id("dan"))}},
		{2, []client.Option{client.Eligible(id("ann"), id("cid"))}},
		{3, []client.Option{client.ExcludeAuthID("bob")}},
		{4, []client.Option{client.EligibleAuthID("bob", "cid")}},
		{5, []client.Option{client.ExcludeAuthRole("guest")}},
		{6, []client.Option{client.EligibleAuthRole("guest", "anonymous")}},
		{7, []client.Option{client.EligibleAuthRole("staff"), client.Exclude(id("bob2"))}},
		{8, []client.Option{client.EligibleAuthID("ann", "cid", "dan"), client.ExcludeAuthRole("guest")}},
		{9, []client.Option{client.Eligible(id("ann"), id("bob"), id("cid")), client.ExcludeAuthID("bob")}},
		{10, []client.Option{client.EligibleAuthRole("nobody")}},
		{0, nil}, // "end"
	} {
		args := wamp.List{p.n}
		if p.n == 0 {
			args = wamp.List{"end"}
		}
		if err := gs.Publish(ctx, topic, args, nil, append(p.opts, client.Acknowledge())...); err != nil {
			fail("Go publishes %s: %s", show(args), showErr(err))
		}
	}
	if err := s.waitLine("EVENTS", 10*time.Second); err != nil {
		fail("%v", err)
	}

	// The kill procedures. left waits for wamp.session.on_leave of the
	// named sessions, so that the next count is exact.
	left := func(what string, names ...string) {
		t.Helper()
		want := map[int64]wamp.List{}
		for _, n := range names {
			want[sessions[n].ID] = wamp.List{sessions[n].ID, sessions[n].AuthID, sessions[n].AuthRole}
		}
		for range names {
			select {
			case args := <-leaves:
				sid, _ := wamp.AsInt(first(args))
				if !reflect.DeepEqual(args, want[sid]) {
					fail("%s: on_leave %s, want one of %v", what, show(args), want)
				}
				delete(want, sid)
			case <-time.After(5 * time.Second):
				fail("%s: no wamp.session.on_leave for %v within 5 s", what, want)
			}
		}
	}
	kill := func(procedure wamp.URI, arg any, reason, message string) wamp.List {
		t.Helper()
		return call(procedure, wamp.List{arg}, wamp.Dict{"reason": reason, "message": message})
	}
	_, err = gs.Call(ctx, "wamp.session.kill", wamp.List{int64(gs.ID())}, nil)
	if we, ok := errors.AsType[*wamp.Error](err); !ok || we.URI != wamp.ErrNoSuchSession {
		fail("wamp.session.kill of the caller: got %s, want %s", showErr(err), wamp.ErrNoSuchSession)
	}
	if res := kill("wamp.session.kill", int64(id("ann")), "com.example.admin.kill", "ann alone"); len(res) != 0 {
		fail("wamp.session.kill: got %s, want no result", show(res))
	}
	left("wamp.session.kill", "ann")
	if res := kill("wamp.session.kill_by_authid", "bob", "com.example.admin.kill_by_authid", "all of bob"); !reflect.DeepEqual(res, wamp.List{int64(2)}) {
		fail("wamp.session.kill_by_authid bob: got %s, want [2]", show(res))
	}
	left("wamp.session.kill_by_authid", "bob", "bob2")
	if res := kill("wamp.session.kill_by_authrole", "guest", "com.example.admin.kill_by_authrole", "the guests"); !reflect.DeepEqual(res, wamp.List{int64(2)}) {
		fail("wamp.session.kill_by_authrole guest: got %s, want [2]", show(res))
	}
	left("wamp.session.kill_by_authrole", "cid", "dan")
	if n := one("wamp.session.count"); n != 3 {
		fail("wamp.session.count before kill_all: got %d, want 3 (eve, anon and the Go session)", n)
	}
	res := call("wamp.session.kill_all", nil, wamp.Dict{"reason": "com.example.admin.kill_all", "message": "everyone else"})
	if !reflect.DeepEqual(res, wamp.List{int64(2)}) {
		fail("wamp.session.kill_all: got %s, want [2] (eve and anon)", show(res))
	}
	e.wait(t, s) // each script session saw its GOODBYE

	// kill_all spared the caller: once eve's and anon's sessions are gone,
	// the Go session is the realm's only one.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := idSet("wamp.session.list")
		if reflect.DeepEqual(got, []int64{int64(gs.ID())}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wamp.session.list after kill_all: got %v, want only the Go session %d", got, gs.ID())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-gs.Done():
		t.Fatalf("the Go session that called kill_all was closed: %v", gs.Err())
	default:
	}
}

// first returns the first element of l, or nil.
func first(l wamp.List) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}
