package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// retryableReasons are the GOODBYE and ABORT reasons that a reconnecting
// Session comes back from: the router goes away for a while, or closes the
// realm, which it may open again. Every other reason, from an established
// session or on a rejoin, says the client must not come back as it is.
var retryableReasons = map[wamp.URI]bool{
	wamp.ErrSystemShutdown: true,
	wamp.ErrCloseRealm:     true,
}

// retryable tells whether the Session reconnects after err ended a WAMP
// session or a rejoin: yes after a transport failure or a timeout, and
// after a router's close with a reason in retryableReasons.
func retryable(err error) bool {
	if _, ok := errors.AsType[*finalError](err); ok {
		return false
	}
	if e, ok := errors.AsType[*wamp.Error](err); ok {
		return retryableReasons[e.URI]
	}
	if e, ok := errors.AsType[*CloseError](err); ok {
		return retryableReasons[e.Reason]
	}
	return true
}

// supervise follows the WAMP sessions of s, starting with l: it calls
// OnJoin and OnLeave, reconnects when the last session says so, and closes
// Done when the Session is finished.
func (s *Session) supervise(l *link) {
	defer close(s.done)
	defer s.cfg.web.close() // before Done: no idle connection outlives the Session
	defer s.halt()
	for {
		s.callback("OnJoin", func() {
			if s.cfg.OnJoin != nil {
				s.cfg.OnJoin(s)
			}
		})
		<-l.done
		s.mu.Lock()
		cause, retry := l.cause, l.retry
		s.mu.Unlock()
		s.callback("OnLeave", func() {
			if s.cfg.OnLeave != nil {
				s.cfg.OnLeave(cause, retry)
			}
		})
		if !retry {
			return
		}
		var err error
		if l, err = s.reconnect(); l == nil {
			s.mu.Lock()
			s.finishLocked(err)
			s.mu.Unlock()
			s.callback("OnLeave", func() {
				if s.cfg.OnLeave != nil {
					s.cfg.OnLeave(err, false)
				}
			})
			return
		}
	}
}

// callback runs a user callback and recovers its panic.
func (s *Session) callback(name string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error(name+" panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// reconnect makes attempts, with backoff, to join again and restore the
// registrations and subscriptions. It returns the new, ready link; or nil
// and why it stopped: nil after Leave, the refusal, or the last failure
// when the attempts ran out.
func (s *Session) reconnect() (*link, error) {
	rc := s.cfg.Reconnect
	var last error
	for n := 1; rc.MaxRetries == 0 || n <= rc.MaxRetries; n++ {
		wait := rc.delay(n, rand.Float64())
		s.log.Debug("reconnecting", "attempt", n, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.stop.Done():
			t.Stop()
			return nil, nil
		}
		peer, welcome, err := connectAny(s.stop, s.urls, s.realm, &s.cfg)
		if err != nil {
			if s.stop.Err() != nil {
				return nil, nil
			}
			if !retryable(err) {
				return nil, fmt.Errorf("client: rejoin refused: %w", err)
			}
			s.log.Info("reconnect attempt failed", "attempt", n, "error", err)
			last = err
			continue
		}
		l := newLink(peer, welcome, s.log)
		regs, subs, ok := s.attach(l)
		if !ok {
			peer.Close()
			return nil, nil
		}
		go s.readLoop(l)
		l.log.Debug("rejoined", "details", l.details, "transport", peer.Info().Transport)
		s.restore(l, regs, subs)

		s.mu.Lock()
		if !l.ended {
			l.ready = true
			s.mu.Unlock()
			return l, nil
		}
		cause, retry := l.cause, l.retry
		s.mu.Unlock()
		if !retry {
			return nil, cause
		}
		last = cause
	}
	return nil, fmt.Errorf("client: reconnect: gave up after %d attempts: %w", rc.MaxRetries, last)
}

// attach makes l, just joined, the Session's WAMP session, unless Leave
// came first, and returns the registrations and subscriptions to restore
// on it: those of the last WAMP session and those that an earlier attempt
// did not restore.
func (s *Session) attach(l *link) (regs []*Registration, subs []*Subscription, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaving || s.ended {
		return nil, nil, false
	}
	s.link = l
	for _, reg := range s.regs {
		s.dormantRegs[reg] = struct{}{}
	}
	for _, group := range s.subs {
		for _, sub := range group {
			s.dormantSubs[sub] = struct{}{}
		}
	}
	clear(s.regs)
	clear(s.subs)
	return slices.Collect(maps.Keys(s.dormantRegs)), slices.Collect(maps.Keys(s.dormantSubs)), true
}

// restore registers and subscribes again on l, with their original
// options and handlers, what the Session had. It sends every request, then
// waits for the answers for up to ConnectTimeout; past that it drops l,
// which counts as a failed attempt. A refusal drops that registration or
// subscription only.
func (s *Session) restore(l *link, regs []*Registration, subs []*Subscription) {
	if len(regs) == 0 && len(subs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.stop, s.cfg.ConnectTimeout)
	defer cancel()
	var sent []*request
	var refused []string // guarded by s.mu; logged at the end, not under it
	defer func() {
		s.mu.Lock()
		lines := refused
		s.mu.Unlock()
		for _, line := range lines {
			l.log.Warn("not restored after reconnecting", "what", line)
		}
	}()
	for _, reg := range regs {
		req := &request{typ: wamp.TypeRegister}
		req.settle = func(_ *link, a wamp.Message, _ bool) {
			if a == nil {
				return // l ended: the next attempt tries again
			}
			delete(s.dormantRegs, reg)
			if r, ok := a.(*wamp.Registered); ok {
				reg.id = r.Registration
				s.regs[reg.id] = reg
				return
			}
			refused = append(refused, "registration of "+string(reg.procedure)+": "+answerText(a))
		}
		if err := s.start(ctx, l, req, func(id wamp.ID) wamp.Message {
			return &wamp.Register{Request: id, Options: reg.options, Procedure: reg.procedure}
		}); err != nil {
			s.drop(l, fmt.Errorf("client: restoring registrations: %w", err), nil)
			return
		}
		sent = append(sent, req)
	}
	for _, sub := range subs {
		req := &request{typ: wamp.TypeSubscribe}
		req.settle = func(_ *link, a wamp.Message, _ bool) {
			if a == nil {
				return
			}
			delete(s.dormantSubs, sub)
			if r, ok := a.(*wamp.Subscribed); ok {
				sub.id = r.Subscription
				s.subs[sub.id] = append(s.subs[sub.id], sub)
				return
			}
			sub.removed.Store(true)
			refused = append(refused, "subscription to "+string(sub.topic)+": "+answerText(a))
		}
		if err := s.start(ctx, l, req, func(id wamp.ID) wamp.Message {
			return &wamp.Subscribe{Request: id, Options: sub.options, Topic: sub.topic}
		}); err != nil {
			s.drop(l, fmt.Errorf("client: restoring subscriptions: %w", err), nil)
			return
		}
		sent = append(sent, req)
	}
	for _, req := range sent {
		if _, err := s.wait(ctx, l, req); err != nil {
			if _, refused := errors.AsType[*wamp.Error](err); refused {
				continue
			}
			s.drop(l, fmt.Errorf("client: restoring registrations and subscriptions: %w", err), nil)
			return
		}
	}
}

// answerText describes the answer to a restoring request, for the log.
func answerText(a wamp.Message) string {
	switch a := a.(type) {
	case nil:
		return "none"
	case *wamp.ErrorMessage:
		return string(a.Error)
	}
	return a.Type().String()
}
