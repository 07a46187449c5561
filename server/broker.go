package server

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// broker routes events from publishers to the subscribers of a realm.
// Its tables are read-mostly: a publication takes the read lock only long
// enough to copy slice headers; subscriber lists are copied on write.
//
// A publication reaches every subscription whose pattern matches its topic
// (exact, prefix and wildcard alike), each as one EVENT encoded once for
// all its subscribers: subscriptions differ in ID (and pattern ones carry
// the concrete topic), so the unit of encoding is the subscription.
type broker struct {
	realm *realm

	mu   sync.RWMutex
	subs *uriTable[*subscription]
	byID map[wamp.ID]*subscription

	retainMu sync.Mutex
	// retained is the last retained event per topic, for at most
	// Config.MaxRetainedTopics topics.
	retained *lru[wamp.URI, *publication]

	history *eventHistory // nil when the realm keeps none
}

// subscription is one topic (or pattern) with all its subscribers, which
// share its ID.
type subscription struct {
	id      wamp.ID
	topic   wamp.URI
	match   string
	created time.Time
	// subscribers and guarded are replaced, never modified, under
	// broker.mu. The guarded subscribers' roles refuse some of the topics
	// the pattern covers: each event is checked against the role before
	// it goes to them (realm.mayReceive), and only to them.
	subscribers, guarded []*session
}

// all lists every subscriber of sub, guarded or not.
func (sub *subscription) all() []*session {
	return append(sub.subscribers[:len(sub.subscribers):len(sub.subscribers)], sub.guarded...)
}

// publication is one published event, as the broker routes, retains and
// keeps it. It holds the publisher's identity by value, not the session,
// so that a retained event does not keep a session alive.
type publication struct {
	id     wamp.ID
	topic  wamp.URI
	args   wamp.List
	kwargs wamp.Dict
	at     time.Time

	publisher         wamp.ID // 0 for the router's meta events
	publisherAuthid   string
	publisherAuthrole string
	disclose          bool // publisher identification
	excludeMe         bool
	retain            bool         // the topic keeps it for get_retained
	filter            *eventFilter // nil: every subscriber is eligible
}

// eventFilter is a publication's black- and whitelists. A nil set is an
// absent option; an empty one excludes (eligible) or allows (exclude)
// everyone.
type eventFilter struct {
	exclude, eligible                 map[wamp.ID]struct{}
	excludeAuthid, eligibleAuthid     map[string]struct{}
	excludeAuthrole, eligibleAuthrole map[string]struct{}
}

func newBroker(r *realm, history []EventHistoryConfig) *broker {
	return &broker{
		realm:    r,
		subs:     newURITable[*subscription](),
		byID:     make(map[wamp.ID]*subscription),
		retained: newLRU[wamp.URI, *publication](r.router.cfg.MaxRetainedTopics),
		history:  newEventHistory(history, r.router.cfg.MaxHistoryTopics),
	}
}

// newPublication reads a PUBLISH's options.
func newPublication(s *session, m *wamp.Publish) (*publication, error) {
	p := &publication{
		id:                wamp.GlobalID(),
		topic:             m.Topic,
		args:              m.Args,
		kwargs:            m.Kwargs,
		at:                time.Now(),
		publisher:         s.id,
		publisherAuthid:   s.authid,
		publisherAuthrole: s.authrole,
	}
	var err error
	if p.excludeMe, err = boolOption(m.Options, "exclude_me", true); err != nil {
		return nil, err
	}
	if p.disclose, err = boolOption(m.Options, "disclose_me", false); err != nil {
		return nil, err
	}
	if p.retain, err = boolOption(m.Options, "retain", false); err != nil {
		return nil, err
	}
	var f eventFilter
	if f.exclude, err = idSet(m.Options, "exclude"); err != nil {
		return nil, err
	}
	if f.eligible, err = idSet(m.Options, "eligible"); err != nil {
		return nil, err
	}
	for _, o := range []struct {
		key string
		set *map[string]struct{}
	}{
		{"exclude_authid", &f.excludeAuthid}, {"eligible_authid", &f.eligibleAuthid},
		{"exclude_authrole", &f.excludeAuthrole}, {"eligible_authrole", &f.eligibleAuthrole},
	} {
		if *o.set, err = stringSet(m.Options, o.key); err != nil {
			return nil, err
		}
	}
	if f.exclude != nil || f.eligible != nil || f.excludeAuthid != nil || f.eligibleAuthid != nil ||
		f.excludeAuthrole != nil || f.eligibleAuthrole != nil {
		p.filter = &f
	}
	return p, nil
}

func (f *eventFilter) allows(s *session) bool {
	if f == nil {
		return true
	}
	in := func(set map[string]struct{}, v string) bool { _, ok := set[v]; return ok }
	if f.eligible != nil {
		if _, ok := f.eligible[s.id]; !ok {
			return false
		}
	}
	if _, ok := f.exclude[s.id]; ok {
		return false
	}
	return (f.eligibleAuthid == nil || in(f.eligibleAuthid, s.authid)) &&
		(f.eligibleAuthrole == nil || in(f.eligibleAuthrole, s.authrole)) &&
		!in(f.excludeAuthid, s.authid) && !in(f.excludeAuthrole, s.authrole)
}

// bySessionID reports whether the filter names sessions by ID, which
// only means something while those sessions live.
func (f *eventFilter) bySessionID() bool {
	return f != nil && (f.exclude != nil || f.eligible != nil)
}

// delivers reports whether subscriber s is to receive p.
func (p *publication) delivers(s *session) bool {
	if p.excludeMe && s.id == p.publisher {
		return false
	}
	return p.filter.allows(s)
}

// details is EVENT.Details of p for one subscription.
func (p *publication) details(sub *subscription, retained bool) wamp.Dict {
	d := wamp.Dict{}
	if sub.match != wamp.MatchExact {
		d["topic"] = string(p.topic)
	}
	if p.disclose {
		d["publisher"] = int64(p.publisher)
		d["publisher_authid"] = p.publisherAuthid
		d["publisher_authrole"] = p.publisherAuthrole
	}
	if retained {
		d["retained"] = true
	}
	return d
}

func (b *broker) publish(s *session, m *wamp.Publish) {
	ack, _ := m.Options["acknowledge"].(bool)
	fail := func(uri wamp.URI, msg string) {
		if ack {
			s.sendError(wamp.TypePublish, m.Request, uri, msg)
		}
	}
	if !wamp.ValidURI(m.Topic, b.realm.strict(), false) {
		fail(wamp.ErrInvalidURI, "invalid topic URI")
		return
	}
	pub, err := newPublication(s, m)
	if err != nil {
		fail(wamp.ErrInvalidArgument, err.Error())
		return
	}
	disclose, e := b.realm.admitPublish(s, m.Topic, m.Options)
	if e != nil {
		fail(e.URI, errorArg(e))
		return
	}
	pub.disclose = pub.disclose || disclose
	b.route(pub)
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: pub.id})
	}
}

// publishMeta publishes a meta event of the router, whose arguments args
// makes only when the event goes somewhere: most realms have no meta
// subscriber, and every join, leave, subscription and registration would
// otherwise build its details for nobody.
func (b *broker) publishMeta(topic wamp.URI, args func() wamp.List) {
	if !b.wanted(topic) {
		return
	}
	b.route(&publication{id: wamp.GlobalID(), topic: topic, args: args(), at: time.Now()})
}

// wanted reports whether a publication to topic would go anywhere: to a
// subscription, or into the event history. A subscription made meanwhile
// is as if made a moment later.
func (b *broker) wanted(topic wamp.URI) bool {
	if b.history != nil && b.history.limitFor(topic) > 0 {
		return true
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.subs.prefix) == 0 && b.subs.nWild == 0 {
		return b.subs.exact[topic] != nil
	}
	found := false
	b.subs.matches(topic, func(*subscription) { found = true })
	return found
}

// route delivers, retains and keeps a publication.
func (b *broker) route(pub *publication) {
	b.dispatch(pub)
	if pub.retain {
		b.retainMu.Lock()
		b.retained.set(pub.topic, pub)
		b.retainMu.Unlock()
	}
	if b.history != nil && !pub.filter.bySessionID() {
		b.history.add(pub)
	}
}

// target is a subscription and its subscribers at the time of a
// publication.
type target struct {
	sub         *subscription
	to, guarded []*session
}

// dispatch fans pub out. With no pattern subscriptions in the realm it
// looks up one map entry and allocates nothing per subscriber (only
// pattern subscriptions have guarded subscribers).
func (b *broker) dispatch(pub *publication) {
	b.mu.RLock()
	if len(b.subs.prefix) == 0 && b.subs.nWild == 0 {
		sub := b.subs.exact[pub.topic]
		var to []*session
		if sub != nil {
			to = sub.subscribers
		}
		b.mu.RUnlock()
		if len(to) > 0 {
			b.deliver(pub, sub, to, nil)
		}
		return
	}
	var targets []target
	b.subs.matches(pub.topic, func(sub *subscription) {
		targets = append(targets, target{sub, sub.subscribers, sub.guarded})
	})
	b.mu.RUnlock()
	for _, t := range targets {
		b.deliver(pub, t.sub, t.to, t.guarded)
	}
}

// deliver sends pub to the eligible subscribers of one subscription, as
// one EVENT encoded at most once per serializer; guarded subscribers get
// it only if their role may subscribe to its topic.
func (b *broker) deliver(pub *publication, sub *subscription, to, guarded []*session) {
	ev := &wamp.Event{
		Subscription: sub.id,
		Publication:  pub.id,
		Details:      pub.details(sub, false),
		Args:         pub.args,
		Kwargs:       pub.kwargs,
	}
	size := approxSize(ev)
	p := codec.Prepare(ev)
	for _, x := range to {
		if pub.delivers(x) {
			x.sendEvent(p, size)
		}
	}
	for _, x := range guarded {
		if pub.delivers(x) && b.realm.mayReceive(x, pub.topic) {
			x.sendEvent(p, size)
		}
	}
}

func (b *broker) subscribe(s *session, m *wamp.Subscribe) {
	match, err := matchOption(m.Options)
	if err != nil {
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	getRetained, err := boolOption(m.Options, "get_retained", false)
	if err != nil {
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidArgument, err.Error())
		return
	}
	if !wamp.ValidPattern(m.Topic, match, b.realm.strict()) {
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidURI, "invalid topic URI for match policy "+quote(match))
		return
	}
	guarded, e := b.realm.admitSubscribe(s, m.Topic, m.Options)
	if e != nil {
		s.sendError(wamp.TypeSubscribe, m.Request, e.URI, errorArg(e))
		return
	}

	b.mu.Lock()
	sub, ok := b.subs.get(m.Topic, match)
	if limit := b.realm.router.cfg.MaxSubscriptions; len(s.subscriptions) >= limit && (!ok || s.subscriptions[sub.id] == nil) {
		b.mu.Unlock()
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrUnavailable, fmt.Sprintf("too many subscriptions in this session (limit %d)", limit))
		return
	}
	created := !ok
	if created {
		sub = &subscription{id: b.realm.router.subscriptionIDs.Next(), topic: m.Topic, match: match, created: time.Now()}
		b.subs.put(m.Topic, match, sub)
		b.byID[sub.id] = sub
	}
	_, already := s.subscriptions[sub.id]
	if !already {
		if guarded {
			sub.guarded = append(sub.guarded[:len(sub.guarded):len(sub.guarded)], s)
		} else {
			sub.subscribers = append(sub.subscribers[:len(sub.subscribers):len(sub.subscribers)], s)
		}
		if s.subscriptions == nil {
			s.subscriptions = make(map[wamp.ID]*subscription)
		}
		s.subscriptions[sub.id] = sub
	}
	// Queued before a publisher can see the new subscriber: SUBSCRIBED,
	// then the retained events, then live ones. Queued only (sendEvent):
	// no write(2) while b.mu is held.
	subscribed := &wamp.Subscribed{Request: m.Request, Subscription: sub.id}
	s.sendEvent(subscribed, approxSize(subscribed))
	if getRetained {
		b.sendRetained(s, sub, guarded)
	}
	b.mu.Unlock()

	if !reserved(sub.topic) {
		if created {
			b.publishMeta("wamp.subscription.on_create", func() wamp.List { return wamp.List{int64(s.id), sub.info()} })
		}
		if !already {
			b.publishMeta("wamp.subscription.on_subscribe", func() wamp.List { return wamp.List{int64(s.id), int64(sub.id)} })
		}
	}
}

// info is the subscription's SubscriptionDetails in the meta API.
func (sub *subscription) info() wamp.Dict {
	return wamp.Dict{
		"id":      int64(sub.id),
		"created": sub.created.UTC().Format(time.RFC3339Nano),
		"uri":     string(sub.topic),
		"match":   sub.match,
	}
}

// sendRetained queues for s the retained events its new subscription
// covers, oldest first, each only if s would have received it when it was
// published (guarded: if its role may subscribe to the event's topic).
// b.mu is held, so that no live event comes first. For a
// pattern subscription it scans every retained topic: a cost paid once per
// SUBSCRIBE with get_retained, never per publication.
func (b *broker) sendRetained(s *session, sub *subscription, guarded bool) {
	var pubs []*publication
	b.retainMu.Lock()
	if sub.match == wamp.MatchExact {
		if p, ok := b.retained.get(sub.topic); ok {
			pubs = append(pubs, p)
		}
	} else {
		for topic, p := range b.retained.all {
			if patternMatches(sub.topic, sub.match, topic) {
				pubs = append(pubs, p)
			}
		}
	}
	b.retainMu.Unlock()
	slices.SortFunc(pubs, func(a, b *publication) int { return a.at.Compare(b.at) })
	for _, p := range pubs {
		if p.delivers(s) && (!guarded || b.realm.mayReceive(s, p.topic)) {
			ev := &wamp.Event{Subscription: sub.id, Publication: p.id, Details: p.details(sub, true), Args: p.args, Kwargs: p.kwargs}
			s.sendEvent(ev, approxSize(ev))
		}
	}
}

func (b *broker) unsubscribe(s *session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub, ok := s.subscriptions[m.Subscription]
	var deleted bool
	if ok {
		deleted = b.detach(s, sub)
	}
	b.mu.Unlock()
	if !ok {
		s.sendError(wamp.TypeUnsubscribe, m.Request, wamp.ErrNoSuchSubscription, "no subscription with this ID in this session")
		return
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
	b.detached(s, sub, deleted)
}

// detach removes s from sub, and sub from the broker when it is empty,
// which it reports. b.mu must be held.
func (b *broker) detach(s *session, sub *subscription) (deleted bool) {
	delete(s.subscriptions, sub.id)
	without := func(l []*session) []*session {
		out := make([]*session, 0, len(l))
		for _, x := range l {
			if x != s {
				out = append(out, x)
			}
		}
		return out
	}
	sub.subscribers, sub.guarded = without(sub.subscribers), without(sub.guarded)
	if len(sub.subscribers)+len(sub.guarded) > 0 {
		return false
	}
	b.subs.remove(sub.topic, sub.match)
	delete(b.byID, sub.id)
	return true
}

// detached publishes the meta events of a detach, once b.mu is released.
func (b *broker) detached(s *session, sub *subscription, deleted bool) {
	if reserved(sub.topic) {
		return
	}
	b.publishMeta("wamp.subscription.on_unsubscribe", func() wamp.List { return wamp.List{int64(s.id), int64(sub.id)} })
	if deleted {
		b.publishMeta("wamp.subscription.on_delete", func() wamp.List { return wamp.List{int64(s.id), int64(sub.id)} })
	}
}

func (b *broker) removeSession(s *session) {
	type gone struct {
		sub     *subscription
		deleted bool
	}
	var all []gone
	b.mu.Lock()
	for _, sub := range s.subscriptions {
		all = append(all, gone{sub, b.detach(s, sub)})
	}
	b.mu.Unlock()
	for _, g := range all {
		b.detached(s, g.sub, g.deleted)
	}
}

// removeSubscriber revokes subscriber's subscription sub: the subscriber
// gets UNSUBSCRIBED with request 0 if it announced
// subscription_revocation, and is simply no longer sent events otherwise.
func (b *broker) removeSubscriber(subID wamp.ID, subscriber *session, reason string) *wamp.Error {
	b.mu.Lock()
	sub := b.byID[subID]
	if sub == nil {
		b.mu.Unlock()
		return wamp.NewError(wamp.ErrNoSuchSubscription, "no subscription with this ID")
	}
	if subscriber.subscriptions[subID] != sub {
		b.mu.Unlock()
		return wamp.NewError(wamp.ErrNoSuchSubscription, "the session is not subscribed to this subscription")
	}
	deleted := b.detach(subscriber, sub)
	b.mu.Unlock()
	if subscriber.clientFeature("subscriber", "subscription_revocation") {
		details := wamp.Dict{"subscription": int64(subID)}
		if reason != "" {
			details["reason"] = reason
		}
		subscriber.send(&wamp.Unsubscribed{Request: 0, Details: details})
	}
	b.detached(subscriber, sub, deleted)
	return nil
}

func quote(s string) string { return `"` + s + `"` }
