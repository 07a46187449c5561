package client

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wampkit/wampkit/wamp"
)

// Event is a publication received on a subscription. Handlers of the same
// subscription share it: do not modify it.
type Event struct {
	// Args are the publication's positional arguments.
	Args wamp.List
	// Kwargs are the publication's keyword arguments.
	Kwargs wamp.Dict
	// Details are the EVENT's details, such as "topic" for a
	// pattern-based subscription, "publisher" when disclosed and
	// "retained".
	Details wamp.Dict

	topic wamp.URI // the subscription's topic or pattern
}

// Topic returns the topic the event was published to: Details["topic"]
// for a pattern-based subscription, the subscribed topic otherwise.
func (ev *Event) Topic() wamp.URI {
	if t, ok := ev.Details["topic"].(string); ok && t != "" {
		return wamp.URI(t)
	}
	return ev.topic
}

// Publisher returns the publisher's session ID, or 0 when it was not
// disclosed (see [DiscloseMe]); Details["publisher_authid"] and
// Details["publisher_authrole"] tell the rest.
func (ev *Event) Publisher() wamp.ID {
	n, _ := wamp.AsInt(ev.Details["publisher"])
	return wamp.ID(n)
}

// Retained tells whether the event is a retained one, sent because the
// subscription asked for it with [GetRetained], rather than a new
// publication.
func (ev *Event) Retained() bool {
	b, _ := ev.Details["retained"].(bool)
	return b
}

// EventHandler receives the events of a subscription. All event handlers
// of a session run one at a time on the session's dispatcher goroutine, in
// the order the events arrived; a panic is recovered and logged. A handler
// that blocks delays the events after it, not the answers to calls.
type EventHandler func(ev *Event)

// Subscription is one local handler subscribed to a topic. Several
// subscriptions of a session to the same topic share the router's
// subscription ID; the router is told to unsubscribe when the last one
// goes.
type Subscription struct {
	s       *Session
	id      wamp.ID
	topic   wamp.URI
	options wamp.Dict
	handler EventHandler
	gate    string
	removed atomic.Bool
	revoked chan struct{}
	reason  string // why the router revoked it; guarded by Session.mu
}

// ID returns the subscription ID the router assigned in the current WAMP
// session: it changes when a reconnecting Session subscribes again.
func (sub *Subscription) ID() wamp.ID {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	return sub.id
}

// Topic returns the topic (or pattern) subscribed to.
func (sub *Subscription) Topic() wamp.URI { return sub.topic }

// Revoked returns a channel that is closed when the router ends the
// subscription itself (UNSUBSCRIBED with request 0, for instance after
// wamp.subscription.remove_subscriber). No event reaches the handler
// after it, nor is the subscription restored by a reconnection;
// RevokeReason tells why. Unsubscribe does not close it.
func (sub *Subscription) Revoked() <-chan struct{} { return sub.revoked }

// RevokeReason returns the reason the router gave when it revoked the
// subscription, "" before that or when it gave none.
func (sub *Subscription) RevokeReason() string {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	return sub.reason
}

// gateKey names what the router keys a subscription on: the topic and the
// match policy.
func gateKey(topic wamp.URI, options wamp.Dict) string {
	match, _ := options["match"].(string)
	if match == "" {
		match = wamp.MatchExact
	}
	return match + " " + string(topic)
}

// acquireGate waits until no SUBSCRIBE or UNSUBSCRIBE for the same topic
// and policy is in flight, then claims the gate. Without it, an
// UNSUBSCRIBE crossing a SUBSCRIBE of the same topic could leave a local
// handler on a subscription the router just ended. The read loop releases
// the gate when the answer arrives, even if the caller gave up.
func (s *Session) acquireGate(ctx context.Context, key string) error {
	for {
		s.mu.Lock()
		if _, err := s.usableLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
		busy, ok := s.gates[key]
		if !ok {
			s.gates[key] = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			s.mu.Lock()
			err := s.closedLocked()
			s.mu.Unlock()
			return err
		}
	}
}

// releaseGateLocked releases a gate claimed by acquireGate. s.mu is held.
func (s *Session) releaseGateLocked(key string) {
	if ch, ok := s.gates[key]; ok {
		close(ch)
		delete(s.gates, key)
	}
}

// Subscribe subscribes handler to topic. Events may arrive as soon as the
// router answered, even before Subscribe returns. When ctx ends first,
// Subscribe returns ctx's error and a late subscription is undone. A
// reconnecting Session subscribes it again, with the same options, on each
// new WAMP session until Unsubscribe.
func (s *Session) Subscribe(ctx context.Context, topic wamp.URI, handler EventHandler, opts ...Option) (*Subscription, error) {
	if handler == nil {
		return nil, errors.New("client: subscribe: nil handler")
	}
	o, err := buildOptions("subscribe", opts)
	if err != nil {
		return nil, err
	}
	options := o.dict
	sub := &Subscription{s: s, topic: topic, options: options, handler: handler, gate: gateKey(topic, options),
		revoked: make(chan struct{})}
	if err := s.acquireGate(ctx, sub.gate); err != nil {
		return nil, err
	}
	req := &request{typ: wamp.TypeSubscribe}
	req.settle = func(l *link, a wamp.Message, abandoned bool) {
		s.releaseGateLocked(sub.gate)
		r, ok := a.(*wamp.Subscribed)
		if !ok {
			return
		}
		if abandoned {
			if len(s.subs[r.Subscription]) == 0 {
				s.sendAsync(l, &wamp.Unsubscribe{Request: l.ids.Next(), Subscription: r.Subscription})
			}
			return
		}
		sub.id = r.Subscription
		s.subs[sub.id] = append(s.subs[sub.id], sub)
	}
	if _, err := s.roundTrip(ctx, req, func(id wamp.ID) wamp.Message {
		return &wamp.Subscribe{Request: id, Options: options, Topic: topic}
	}); err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe removes a subscription's handler; no event reaches it once
// Unsubscribe returns (except one it is running). The router is told
// (UNSUBSCRIBE) only when the handler was the last of the session on that
// subscription.
func (s *Session) Unsubscribe(ctx context.Context, sub *Subscription) error {
	if sub == nil || sub.s != s {
		return errors.New("client: unsubscribe: not a subscription of this session")
	}
	if err := s.acquireGate(ctx, sub.gate); err != nil {
		return err
	}
	s.mu.Lock()
	handlers := s.subs[sub.id]
	i := slices.Index(handlers, sub)
	if i < 0 {
		s.releaseGateLocked(sub.gate)
		s.mu.Unlock()
		return fmt.Errorf("client: unsubscribe: not subscribed to %s", sub.topic)
	}
	sub.removed.Store(true)
	handlers = slices.Delete(handlers, i, i+1)
	if len(handlers) > 0 {
		s.subs[sub.id] = handlers
		s.releaseGateLocked(sub.gate)
		s.mu.Unlock()
		return nil
	}
	subID := sub.id
	delete(s.subs, subID)
	s.mu.Unlock()

	req := &request{typ: wamp.TypeUnsubscribe}
	req.settle = func(*link, wamp.Message, bool) { s.releaseGateLocked(sub.gate) }
	_, err := s.roundTrip(ctx, req, func(id wamp.ID) wamp.Message {
		return &wamp.Unsubscribe{Request: id, Subscription: subID}
	})
	return err
}

// revokeSubscription handles UNSUBSCRIBED with request 0: the router ended
// a subscription itself.
func (s *Session) revokeSubscription(l *link, details wamp.Dict) {
	n, _ := wamp.AsInt(details["subscription"])
	reason, _ := details["reason"].(string)
	s.mu.Lock()
	subs := s.subs[wamp.ID(n)]
	for _, sub := range subs {
		sub.removed.Store(true)
		sub.reason = reason
		close(sub.revoked)
	}
	delete(s.subs, wamp.ID(n))
	s.mu.Unlock()
	l.log.Info("subscription revoked by the router", "subscription", n, "known", len(subs) > 0, "reason", reason)
}

// Publish publishes to topic. Without Acknowledge it returns once the
// PUBLISH is sent; with it, it waits for PUBLISHED and returns a
// *wamp.Error when the broker refuses.
func (s *Session) Publish(ctx context.Context, topic wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) error {
	o, err := buildOptions("publish", opts)
	if err != nil {
		return err
	}
	options := o.dict
	build := func(id wamp.ID) wamp.Message {
		return &wamp.Publish{Request: id, Options: options, Topic: topic, Args: args, Kwargs: kwargs}
	}
	if ack, _ := wamp.AsBool(options["acknowledge"]); ack {
		_, err := s.roundTrip(ctx, &request{typ: wamp.TypePublish}, build)
		return err
	}
	s.mu.Lock()
	l, err := s.usableLocked()
	var m wamp.Message
	if err == nil {
		m = build(l.ids.Next())
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.sendOn(l, m)
}

// eventQueue is the FIFO between the read loop and the dispatcher.
//
// It is unbounded on purpose. A bound would have to either block the read
// loop, which would stall the answers of every call behind a slow event
// handler, or drop events silently. Neither is safe, so the queue grows
// while handlers are slower than the publications; an application that
// expects floods hands events off to its own bounded worker.
type eventQueue struct {
	mu    sync.Mutex
	items []queuedEvent
	ready chan struct{} // capacity 1: items is not empty
}

// queuedEvent is an event and the handlers subscribed when it arrived.
type queuedEvent struct {
	ev       *Event
	handlers []*Subscription
}

// event queues an EVENT for the dispatcher. An event for a subscription
// the session no longer has (it crossed an UNSUBSCRIBE) is dropped.
func (s *Session) event(l *link, m *wamp.Event) {
	s.mu.Lock()
	handlers := slices.Clone(s.subs[m.Subscription])
	s.mu.Unlock()
	if len(handlers) == 0 {
		l.log.Debug("event for an unknown subscription dropped", "subscription", uint64(m.Subscription))
		return
	}
	q := &s.events
	q.mu.Lock()
	q.items = append(q.items, queuedEvent{ev: &Event{Args: m.Args, Kwargs: m.Kwargs, Details: m.Details, topic: handlers[0].topic}, handlers: handlers})
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// dispatch runs the event handlers until the session ends. Events still
// queued when the session ends are dropped.
func (s *Session) dispatch() {
	q := &s.events
	for {
		select {
		case <-s.done:
			return
		case <-q.ready:
		}
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				q.items = nil
				q.mu.Unlock()
				break
			}
			item := q.items[0]
			q.items[0] = queuedEvent{}
			q.items = q.items[1:]
			q.mu.Unlock()
			for _, sub := range item.handlers {
				select {
				case <-s.done:
					return
				default:
				}
				if !sub.removed.Load() {
					s.deliver(sub, item.ev)
				}
			}
		}
	}
}

// deliver calls one event handler and recovers its panic.
func (s *Session) deliver(sub *Subscription, ev *Event) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("event handler panicked", "topic", string(sub.topic), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	sub.handler(ev)
}
