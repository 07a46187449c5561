package server

import (
	"fmt"
	"slices"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// The meta API: procedures under wamp. that the dealer answers itself,
// scoped to the caller's realm, with no session of the router's own. The
// meta events (wamp.session.on_join, wamp.registration.on_create, ...) are
// published by the broker and dealer where the change happens.

// metaProc runs a meta procedure for caller s and returns RESULT.Args.
type metaProc func(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error)

// metaProcs are the meta procedures, by URI. It is filled in init because
// the procedures reach the dealer (through authorization, whose dynamic
// authorizers are called through it), which reaches them.
var metaProcs map[wamp.URI]metaProc

func init() {
	metaProcs = map[wamp.URI]metaProc{
		"wamp.session.count":            sessionCount,
		"wamp.session.list":             sessionList,
		"wamp.session.get":              sessionGet,
		"wamp.session.kill":             sessionKill,
		"wamp.session.kill_by_authid":   sessionKillBy("authid"),
		"wamp.session.kill_by_authrole": sessionKillBy("authrole"),
		"wamp.session.kill_all":         sessionKillAll,
		"wamp.session.add_testament":    addTestament,
		"wamp.session.flush_testaments": flushTestaments,

		"wamp.registration.list":          registrationList,
		"wamp.registration.lookup":        registrationLookup,
		"wamp.registration.match":         registrationMatch,
		"wamp.registration.get":           registrationGet,
		"wamp.registration.list_callees":  registrationCallees(false),
		"wamp.registration.count_callees": registrationCallees(true),
		"wamp.registration.remove_callee": registrationRemoveCallee,

		"wamp.subscription.list":              subscriptionList,
		"wamp.subscription.lookup":            subscriptionLookup,
		"wamp.subscription.match":             subscriptionMatch,
		"wamp.subscription.get":               subscriptionGet,
		"wamp.subscription.list_subscribers":  subscriptionSubscribers(false),
		"wamp.subscription.count_subscribers": subscriptionSubscribers(true),
		"wamp.subscription.remove_subscriber": subscriptionRemoveSubscriber,
		"wamp.subscription.get_events":        subscriptionGetEvents,
	}
}

// closeNormal is the default GOODBYE reason of the kill procedures.
const closeNormal wamp.URI = "wamp.close.normal"

// maxTestaments bounds the testaments of one session per scope, so that a
// session cannot make the router hold unbounded state for it.
const maxTestaments = 64

// metaCall answers a CALL to a wamp. procedure.
func (r *realm) metaCall(s *session, m *wamp.Call) {
	proc := metaProcs[m.Procedure]
	if proc == nil {
		s.sendError(wamp.TypeCall, m.Request, wamp.ErrNoSuchProcedure, "no meta procedure "+quote(string(m.Procedure)))
		return
	}
	res, e := proc(r, s, m.Args, m.Kwargs)
	if e != nil {
		s.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: m.Request, Details: wamp.Dict{}, Error: e.URI, Args: e.Args, Kwargs: e.Kwargs})
		return
	}
	s.send(&wamp.Result{Request: m.Request, Details: wamp.Dict{}, Args: res})
}

func invalidArg(format string, a ...any) *wamp.Error {
	return wamp.NewError(wamp.ErrInvalidArgument, fmt.Sprintf(format, a...))
}

// arg returns positional argument i, or kwargs[name], or nil.
func arg(args wamp.List, kwargs wamp.Dict, i int, name string) any {
	if i < len(args) {
		return args[i]
	}
	return kwargs[name]
}

func idArg(args wamp.List, kwargs wamp.Dict, i int, name string) (wamp.ID, *wamp.Error) {
	id, ok := toID(arg(args, kwargs, i, name))
	if !ok {
		return 0, invalidArg("argument %d (%s) must be an ID", i+1, name)
	}
	return id, nil
}

func stringArg(args wamp.List, kwargs wamp.Dict, i int, name string) (string, *wamp.Error) {
	v, ok := arg(args, kwargs, i, name).(string)
	if !ok {
		return "", invalidArg("argument %d (%s) must be a string", i+1, name)
	}
	return v, nil
}

func uriArg(r *realm, args wamp.List, kwargs wamp.Dict, i int, name string) (wamp.URI, *wamp.Error) {
	v, e := stringArg(args, kwargs, i, name)
	if e != nil {
		return "", e
	}
	if !wamp.ValidURI(wamp.URI(v), r.strict(), false) {
		return "", wamp.NewError(wamp.ErrInvalidURI, fmt.Sprintf("argument %d (%s) is not a valid URI", i+1, name))
	}
	return wamp.URI(v), nil
}

func ids[T any](xs []T, id func(T) wamp.ID) wamp.List {
	out := make(wamp.List, 0, len(xs))
	for _, x := range xs {
		out = append(out, int64(id(x)))
	}
	return out
}

// nullableID is an ID, or nil (null) when there is none.
func nullableID(id wamp.ID, ok bool) any {
	if !ok {
		return nil
	}
	return int64(id)
}

// --- sessions ---

// sessionsWhere returns the realm's sessions that keep says yes to.
func (r *realm) sessionsWhere(keep func(*session) bool) []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*session
	for _, x := range r.sessions {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// authroleFilter reads the optional filter_authroles argument.
func authroleFilter(args wamp.List, kwargs wamp.Dict) (func(*session) bool, *wamp.Error) {
	set, err := stringSet(wamp.Dict{"filter_authroles": arg(args, kwargs, 0, "filter_authroles")}, "filter_authroles")
	if err != nil {
		return nil, invalidArg("filter_authroles must be a list of strings")
	}
	return func(x *session) bool {
		if set == nil {
			return true
		}
		_, ok := set[x.authrole]
		return ok
	}, nil
}

func sessionCount(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	keep, e := authroleFilter(args, kwargs)
	if e != nil {
		return nil, e
	}
	return wamp.List{int64(len(r.sessionsWhere(keep)))}, nil
}

func sessionList(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	keep, e := authroleFilter(args, kwargs)
	if e != nil {
		return nil, e
	}
	return wamp.List{ids(r.sessionsWhere(keep), func(x *session) wamp.ID { return x.id })}, nil
}

func sessionGet(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	id, e := idArg(args, kwargs, 0, "session")
	if e != nil {
		return nil, e
	}
	x := r.session(id)
	if x == nil {
		return nil, wamp.NewError(wamp.ErrNoSuchSession, "no session with this ID in this realm")
	}
	return wamp.List{x.info()}, nil
}

// killArgs reads the reason and message keyword arguments of the kill
// procedures.
func killArgs(r *realm, kwargs wamp.Dict) (wamp.URI, string, *wamp.Error) {
	reason, err := stringOption(kwargs, "reason", string(closeNormal))
	if err != nil || !wamp.ValidURI(wamp.URI(reason), r.strict(), false) {
		return "", "", wamp.NewError(wamp.ErrInvalidURI, "reason must be a valid URI")
	}
	message, err := stringOption(kwargs, "message", "")
	if err != nil {
		return "", "", invalidArg("message must be a string")
	}
	return wamp.URI(reason), message, nil
}

func sessionKill(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	id, e := idArg(args, kwargs, 0, "session")
	if e != nil {
		return nil, e
	}
	reason, message, e := killArgs(r, kwargs)
	if e != nil {
		return nil, e
	}
	x := r.session(id)
	if x == nil || x == s {
		return nil, wamp.NewError(wamp.ErrNoSuchSession, "no other session with this ID in this realm")
	}
	x.goodbye(reason, message)
	return wamp.List{}, nil
}

// sessionKillBy kills the sessions, other than the caller, whose authid or
// authrole is the argument.
func sessionKillBy(key string) metaProc {
	return func(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
		want, e := stringArg(args, kwargs, 0, key)
		if e != nil {
			return nil, e
		}
		reason, message, e := killArgs(r, kwargs)
		if e != nil {
			return nil, e
		}
		victims := r.sessionsWhere(func(x *session) bool {
			if key == "authid" {
				return x != s && x.authid == want
			}
			return x != s && x.authrole == want
		})
		for _, x := range victims {
			x.goodbye(reason, message)
		}
		return wamp.List{int64(len(victims))}, nil
	}
}

func sessionKillAll(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	reason, message, e := killArgs(r, kwargs)
	if e != nil {
		return nil, e
	}
	victims := r.sessionsWhere(func(x *session) bool { return x != s })
	for _, x := range victims {
		x.quiet.Store(true)
		x.goodbye(reason, message)
	}
	return wamp.List{int64(len(victims))}, nil
}

// --- testaments ---

func scopeArg(kwargs wamp.Dict) (string, *wamp.Error) {
	scope, err := stringOption(kwargs, "scope", "destroyed")
	if err != nil || scope != "destroyed" && scope != "detached" {
		return "", invalidArg("scope must be \"destroyed\" or \"detached\"")
	}
	return scope, nil
}

func addTestament(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	topic, e := uriArg(r, args, kwargs, 0, "topic")
	if e != nil {
		return nil, e
	}
	tArgs, ok1 := arg(args, kwargs, 1, "args").(wamp.List)
	tKwargs, ok2 := arg(args, kwargs, 2, "kwargs").(wamp.Dict)
	if !ok1 && arg(args, kwargs, 1, "args") != nil || !ok2 && arg(args, kwargs, 2, "kwargs") != nil {
		return nil, invalidArg("args must be a list and kwargs a dictionary")
	}
	opts, ok := kwargs["publish_options"].(wamp.Dict)
	if !ok && kwargs["publish_options"] != nil {
		return nil, invalidArg("publish_options must be a dictionary")
	}
	scope, e := scopeArg(kwargs)
	if e != nil {
		return nil, e
	}
	pub, err := newPublication(s, &wamp.Publish{Options: opts, Topic: topic, Args: tArgs, Kwargs: tKwargs})
	if err != nil {
		return nil, invalidArg("publish_options: %v", err)
	}
	disclose, e := r.admitPublish(s, topic, opts)
	if e != nil {
		return nil, e
	}
	pub.disclose = pub.disclose || disclose
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.testaments[scope]) >= maxTestaments {
		return nil, invalidArg("a session may hold at most %d testaments per scope", maxTestaments)
	}
	if s.testaments == nil {
		s.testaments = make(map[string][]*publication)
	}
	s.testaments[scope] = append(s.testaments[scope], pub)
	return wamp.List{}, nil
}

func flushTestaments(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	scope, e := scopeArg(kwargs)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	delete(s.testaments, scope)
	s.mu.Unlock()
	return wamp.List{}, nil
}

// publishTestaments publishes a leaving session's testaments: the
// detached scope first, then the destroyed one (without session
// resumption, leaving is both), each in the order they were added.
func (r *realm) publishTestaments(s *session) {
	s.mu.Lock()
	t := s.testaments
	s.testaments = nil
	s.mu.Unlock()
	for _, scope := range []string{"detached", "destroyed"} {
		for _, pub := range t[scope] {
			if _, e := r.admitPublish(s, pub.topic, nil); e != nil {
				continue
			}
			pub.id, pub.at = wamp.GlobalID(), time.Now()
			r.broker.route(pub)
		}
	}
}

// --- registrations ---

func registrationList(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	lists := wamp.Dict{wamp.MatchExact: wamp.List{}, wamp.MatchPrefix: wamp.List{}, wamp.MatchWildcard: wamp.List{}}
	d := r.dealer
	d.mu.RLock()
	d.regs.each(func(match string, reg *registration) {
		lists[match] = append(lists[match].(wamp.List), int64(reg.id))
	})
	d.mu.RUnlock()
	return wamp.List{lists}, nil
}

// lookupArgs reads the URI and the optional options (with match) of the
// lookup procedures.
func lookupArgs(r *realm, args wamp.List, kwargs wamp.Dict, name string) (wamp.URI, string, *wamp.Error) {
	u, e := stringArg(args, kwargs, 0, name)
	if e != nil {
		return "", "", e
	}
	opts, ok := arg(args, kwargs, 1, "options").(wamp.Dict)
	if !ok && arg(args, kwargs, 1, "options") != nil {
		return "", "", invalidArg("options must be a dictionary")
	}
	match, err := matchOption(opts)
	if err != nil {
		return "", "", invalidArg("%v", err)
	}
	if !wamp.ValidPattern(wamp.URI(u), match, r.strict()) {
		return "", "", wamp.NewError(wamp.ErrInvalidURI, "invalid URI for match policy "+quote(match))
	}
	return wamp.URI(u), match, nil
}

func registrationLookup(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	u, match, e := lookupArgs(r, args, kwargs, "procedure")
	if e != nil {
		return nil, e
	}
	r.dealer.mu.RLock()
	reg, ok := r.dealer.regs.get(u, match)
	r.dealer.mu.RUnlock()
	if !ok {
		return wamp.List{nil}, nil
	}
	return wamp.List{int64(reg.id)}, nil
}

func registrationMatch(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	u, e := uriArg(r, args, kwargs, 0, "procedure")
	if e != nil {
		return nil, e
	}
	r.dealer.mu.RLock()
	reg, ok := r.dealer.regs.best(u)
	r.dealer.mu.RUnlock()
	if !ok {
		return wamp.List{nil}, nil
	}
	return wamp.List{int64(reg.id)}, nil
}

// registrationByID reads argument 0 as a registration ID and returns the
// registration and its callees.
func registrationByID(r *realm, args wamp.List, kwargs wamp.Dict) (*registration, []calleeRef, *wamp.Error) {
	id, e := idArg(args, kwargs, 0, "registration")
	if e != nil {
		return nil, nil, e
	}
	r.dealer.mu.RLock()
	defer r.dealer.mu.RUnlock()
	reg := r.dealer.byID[id]
	if reg == nil {
		return nil, nil, wamp.NewError(wamp.ErrNoSuchRegistration, "no registration with this ID")
	}
	return reg, reg.callees, nil
}

func registrationGet(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	reg, _, e := registrationByID(r, args, kwargs)
	if e != nil {
		return nil, e
	}
	return wamp.List{reg.info()}, nil
}

func registrationCallees(count bool) metaProc {
	return func(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
		_, callees, e := registrationByID(r, args, kwargs)
		if e != nil {
			return nil, e
		}
		if count {
			return wamp.List{int64(len(callees))}, nil
		}
		return wamp.List{ids(callees, func(c calleeRef) wamp.ID { return c.s.id })}, nil
	}
}

// removeArgs reads (registration or subscription ID, session ID, reason)
// and finds the session.
func removeArgs(r *realm, args wamp.List, kwargs wamp.Dict, idName, sessionName string) (wamp.ID, *session, string, *wamp.Error) {
	id, e := idArg(args, kwargs, 0, idName)
	if e != nil {
		return 0, nil, "", e
	}
	sid, e := idArg(args, kwargs, 1, sessionName)
	if e != nil {
		return 0, nil, "", e
	}
	reason := ""
	if v := arg(args, kwargs, 2, "reason"); v != nil {
		var ok bool
		if reason, ok = v.(string); !ok {
			return 0, nil, "", invalidArg("reason must be a string")
		}
	}
	x := r.session(sid)
	if x == nil {
		return 0, nil, "", wamp.NewError(wamp.ErrNoSuchSession, "no session with this ID in this realm")
	}
	return id, x, reason, nil
}

func registrationRemoveCallee(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	id, callee, reason, e := removeArgs(r, args, kwargs, "registration", "callee")
	if e != nil {
		return nil, e
	}
	if e := r.dealer.removeCallee(id, callee, reason); e != nil {
		return nil, e
	}
	return wamp.List{}, nil
}

// --- subscriptions ---

func subscriptionList(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	lists := wamp.Dict{wamp.MatchExact: wamp.List{}, wamp.MatchPrefix: wamp.List{}, wamp.MatchWildcard: wamp.List{}}
	b := r.broker
	b.mu.RLock()
	b.subs.each(func(match string, sub *subscription) {
		lists[match] = append(lists[match].(wamp.List), int64(sub.id))
	})
	b.mu.RUnlock()
	return wamp.List{lists}, nil
}

func subscriptionLookup(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	u, match, e := lookupArgs(r, args, kwargs, "topic")
	if e != nil {
		return nil, e
	}
	r.broker.mu.RLock()
	sub, ok := r.broker.subs.get(u, match)
	r.broker.mu.RUnlock()
	if !ok {
		return wamp.List{nil}, nil
	}
	return wamp.List{int64(sub.id)}, nil
}

func subscriptionMatch(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	u, e := uriArg(r, args, kwargs, 0, "topic")
	if e != nil {
		return nil, e
	}
	found := wamp.List{}
	r.broker.mu.RLock()
	r.broker.subs.matches(u, func(sub *subscription) { found = append(found, int64(sub.id)) })
	r.broker.mu.RUnlock()
	if len(found) == 0 {
		return wamp.List{nil}, nil
	}
	return wamp.List{found}, nil
}

// subscriptionByID reads argument 0 as a subscription ID and returns the
// subscription and its subscribers.
func subscriptionByID(r *realm, args wamp.List, kwargs wamp.Dict) (*subscription, []*session, *wamp.Error) {
	id, e := idArg(args, kwargs, 0, "subscription")
	if e != nil {
		return nil, nil, e
	}
	r.broker.mu.RLock()
	defer r.broker.mu.RUnlock()
	sub := r.broker.byID[id]
	if sub == nil {
		return nil, nil, wamp.NewError(wamp.ErrNoSuchSubscription, "no subscription with this ID")
	}
	return sub, sub.all(), nil
}

func subscriptionGet(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	sub, _, e := subscriptionByID(r, args, kwargs)
	if e != nil {
		return nil, e
	}
	return wamp.List{sub.info()}, nil
}

func subscriptionSubscribers(count bool) metaProc {
	return func(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
		_, subscribers, e := subscriptionByID(r, args, kwargs)
		if e != nil {
			return nil, e
		}
		if count {
			return wamp.List{int64(len(subscribers))}, nil
		}
		return wamp.List{ids(subscribers, func(x *session) wamp.ID { return x.id })}, nil
	}
}

func subscriptionRemoveSubscriber(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	id, subscriber, reason, e := removeArgs(r, args, kwargs, "subscription", "subscriber")
	if e != nil {
		return nil, e
	}
	if e := r.broker.removeSubscriber(id, subscriber, reason); e != nil {
		return nil, e
	}
	return wamp.List{}, nil
}

// subscriptionGetEvents returns the kept events a subscription covers:
// arguments (subscription, [limit]), keyword arguments limit and reverse.
// Without a limit it returns every kept event; events come oldest first,
// newest first with reverse. The caller reads only what its role lets it
// subscribe to.
func subscriptionGetEvents(r *realm, s *session, args wamp.List, kwargs wamp.Dict) (wamp.List, *wamp.Error) {
	sub, _, e := subscriptionByID(r, args, kwargs)
	if e != nil {
		return nil, e
	}
	limit := int64(-1)
	if v := arg(args, kwargs, 1, "limit"); v != nil {
		n, ok := toInt(v)
		if !ok || n < 0 {
			return nil, invalidArg("limit must be a non-negative integer")
		}
		limit = n
	}
	reverse, err := boolOption(kwargs, "reverse", false)
	if err != nil {
		return nil, invalidArg("%v", err)
	}
	// The reader gets what it would get as a subscriber: nothing unless
	// its role may subscribe to the subscription's pattern, and nothing
	// of the pattern's carve-outs.
	guarded, e := r.admitSubscribe(s, sub.topic, wamp.Dict{"match": sub.match})
	if e != nil {
		return nil, e
	}
	var pubs []*publication
	if r.broker.history != nil {
		pubs = r.broker.history.events(sub, s)
	}
	if guarded {
		pubs = slices.DeleteFunc(pubs, func(p *publication) bool { return !r.mayReceive(s, p.topic) })
	}
	if limit >= 0 && int64(len(pubs)) > limit {
		pubs = pubs[int64(len(pubs))-limit:]
	}
	out := make(wamp.List, 0, len(pubs))
	for i := range pubs {
		p := pubs[i]
		if reverse {
			p = pubs[len(pubs)-1-i]
		}
		ev := wamp.Dict{
			"timestamp":    p.at.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			"subscription": int64(sub.id),
			"publication":  int64(p.id),
			"details":      p.details(sub, false),
		}
		if p.args != nil {
			ev["args"] = p.args
		}
		if p.kwargs != nil {
			ev["kwargs"] = p.kwargs
		}
		out = append(out, ev)
	}
	return wamp.List{out}, nil
}
