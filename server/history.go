package server

import (
	"cmp"
	"slices"
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// eventHistory keeps the recent publications of the topics a realm's
// RealmConfig.EventHistory names, for wamp.subscription.get_events: a ring
// of the rule's limit per concrete topic, in memory, for at most
// Config.MaxHistoryTopics topics, those published to most recently.
type eventHistory struct {
	rules []EventHistoryConfig

	mu     sync.Mutex
	seq    uint64 // orders publications across topics
	topics *lru[wamp.URI, *topicHistory]
}

// topicHistory is a ring of one topic's last publications.
type topicHistory struct {
	events []storedEvent // at most limit, oldest at start once full
	start  int
	limit  int
}

type storedEvent struct {
	seq uint64
	pub *publication
}

func newEventHistory(rules []EventHistoryConfig, maxTopics int) *eventHistory {
	if len(rules) == 0 {
		return nil
	}
	return &eventHistory{rules: slices.Clone(rules), topics: newLRU[wamp.URI, *topicHistory](maxTopics)}
}

// limitFor returns the limit of the first rule that covers topic, or 0
// when none does.
func (h *eventHistory) limitFor(topic wamp.URI) int {
	for _, r := range h.rules {
		if patternMatches(r.Topic, r.Match, topic) {
			return r.Limit
		}
	}
	return 0
}

// add keeps pub if a rule covers its topic.
func (h *eventHistory) add(pub *publication) {
	limit := h.limitFor(pub.topic)
	if limit == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.topics.get(pub.topic)
	if !ok {
		t = &topicHistory{limit: limit}
	}
	h.topics.set(pub.topic, t) // the most recent topic now
	h.seq++
	e := storedEvent{seq: h.seq, pub: pub}
	if len(t.events) < t.limit {
		t.events = append(t.events, e)
		return
	}
	t.events[t.start] = e
	t.start = (t.start + 1) % t.limit
}

// events returns the kept publications that sub covers and that reader
// may see (black- and whitelists by authid and authrole still apply), in
// the order they were published. For a pattern subscription it scans the
// kept topics, once per wamp.subscription.get_events call.
func (h *eventHistory) events(sub *subscription, reader *session) []*publication {
	var all []storedEvent
	h.mu.Lock()
	collect := func(t *topicHistory) {
		all = append(all, t.events[t.start:]...)
		all = append(all, t.events[:t.start]...)
	}
	if sub.match == wamp.MatchExact {
		if t, ok := h.topics.get(sub.topic); ok {
			collect(t)
		}
	} else {
		for topic, t := range h.topics.all {
			if patternMatches(sub.topic, sub.match, topic) {
				collect(t)
			}
		}
	}
	h.mu.Unlock()
	slices.SortFunc(all, func(a, b storedEvent) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]*publication, 0, len(all))
	for _, e := range all {
		if e.pub.filter.allows(reader) {
			out = append(out, e.pub)
		}
	}
	return out
}
