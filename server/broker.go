package server

import (
	"strings"
	"sync"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// broker routes events from publishers to the subscribers of a realm.
// Its tables are read-mostly: a publication takes the read lock only long
// enough to copy a slice header; subscriber lists are copied on write.
type broker struct {
	realm *realm

	mu    sync.RWMutex
	exact map[wamp.URI]*subscription
	byID  map[wamp.ID]*subscription
}

// subscription is one topic (or pattern) with all its subscribers, which
// share its ID.
type subscription struct {
	id    wamp.ID
	topic wamp.URI
	match string
	// subscribers is replaced, never modified, under broker.mu.
	subscribers []*session
}

func newBroker(r *realm) *broker {
	return &broker{
		realm: r,
		exact: make(map[wamp.URI]*subscription),
		byID:  make(map[wamp.ID]*subscription),
	}
}

// reserved reports whether a URI belongs to the router (the meta API).
func reserved(u wamp.URI) bool { return strings.HasPrefix(string(u), "wamp.") }

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
	if reserved(m.Topic) {
		fail(wamp.ErrNotAuthorized, "only the router publishes under wamp.")
		return
	}
	excludeMe := true
	if v, ok := m.Options["exclude_me"]; ok {
		excludeMe, ok = v.(bool)
		if !ok {
			fail(wamp.ErrInvalidArgument, "option exclude_me must be a boolean")
			return
		}
	}

	b.mu.RLock()
	sub := b.exact[m.Topic]
	var subscribers []*session
	if sub != nil {
		subscribers = sub.subscribers
	}
	b.mu.RUnlock()

	publication := wamp.GlobalID()
	if len(subscribers) > 0 {
		ev := &wamp.Event{
			Subscription: sub.id,
			Publication:  publication,
			Details:      wamp.Dict{},
			Args:         m.Args,
			Kwargs:       m.Kwargs,
		}
		size := approxSize(ev)
		p := codec.Prepare(ev)
		for _, sub := range subscribers {
			if sub == s && excludeMe {
				continue
			}
			sub.sendSized(p, size)
		}
	}
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: publication})
	}
}

func (b *broker) subscribe(s *session, m *wamp.Subscribe) {
	match := wamp.MatchExact
	if v, ok := m.Options["match"]; ok {
		match, _ = v.(string)
	}
	if match != wamp.MatchExact {
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidArgument, "match policy "+quote(match)+" is not supported")
		return
	}
	if !wamp.ValidPattern(m.Topic, match, b.realm.strict()) {
		s.sendError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidURI, "invalid topic URI")
		return
	}

	b.mu.Lock()
	sub := b.exact[m.Topic]
	if sub == nil {
		sub = &subscription{id: b.realm.router.subscriptionIDs.Next(), topic: m.Topic, match: match}
		b.exact[m.Topic] = sub
		b.byID[sub.id] = sub
	}
	if _, ok := s.subscriptions[sub.id]; !ok {
		sub.subscribers = append(sub.subscribers[:len(sub.subscribers):len(sub.subscribers)], s)
		if s.subscriptions == nil {
			s.subscriptions = make(map[wamp.ID]*subscription)
		}
		s.subscriptions[sub.id] = sub
	}
	b.mu.Unlock()

	s.send(&wamp.Subscribed{Request: m.Request, Subscription: sub.id})
}

func (b *broker) unsubscribe(s *session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub, ok := s.subscriptions[m.Subscription]
	if ok {
		b.detach(s, sub)
	}
	b.mu.Unlock()
	if !ok {
		s.sendError(wamp.TypeUnsubscribe, m.Request, wamp.ErrNoSuchSubscription, "no subscription with this ID in this session")
		return
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
}

// detach removes s from sub, and sub from the broker when it is empty.
// b.mu must be held.
func (b *broker) detach(s *session, sub *subscription) {
	delete(s.subscriptions, sub.id)
	out := make([]*session, 0, len(sub.subscribers))
	for _, x := range sub.subscribers {
		if x != s {
			out = append(out, x)
		}
	}
	sub.subscribers = out
	if len(out) == 0 {
		delete(b.exact, sub.topic)
		delete(b.byID, sub.id)
	}
}

func (b *broker) removeSession(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sub := range s.subscriptions {
		b.detach(s, sub)
	}
}

func quote(s string) string { return `"` + s + `"` }
