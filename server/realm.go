package server

import (
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// realm is an administrative domain with its own broker, dealer and
// sessions. Nothing crosses from one realm to another.
type realm struct {
	name   wamp.URI
	router *Router
	broker *broker
	dealer *dealer

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
}

func newRealm(r *Router, rc RealmConfig) *realm {
	rlm := &realm{name: rc.Name, router: r, sessions: make(map[wamp.ID]*session)}
	rlm.broker = newBroker(rlm)
	rlm.dealer = newDealer(rlm)
	return rlm
}

func (r *realm) join(s *session) {
	r.mu.Lock()
	r.sessions[s.id] = s
	r.mu.Unlock()
	s.established.Store(true)
	s.logger().Debug("session joined")
}

// leave removes everything the session held: subscriptions, registrations,
// and pending calls in both directions.
func (r *realm) leave(s *session) {
	r.mu.Lock()
	delete(r.sessions, s.id)
	r.mu.Unlock()
	r.broker.removeSession(s)
	r.dealer.removeSession(s)
	s.logger().Debug("session left")
}

// strict tells whether the realm accepts only strict URIs.
func (r *realm) strict() bool { return r.router.cfg.StrictURIs }
