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

	auth       map[string]authenticator // by method
	cookie     *CookieAuth              // cookie authentication, defaults filled in, or nil
	authz      *authz
	callerOnce func() *routerCaller // the router's own caller (auth_caller.go)

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
}

func newRealm(r *Router, rc RealmConfig) *realm {
	rlm := &realm{name: rc.Name, router: r, sessions: make(map[wamp.ID]*session)}
	rlm.broker = newBroker(rlm, rc.EventHistory)
	rlm.dealer = newDealer(rlm)
	rlm.auth = newAuthenticators(rlm, &rc.Auth)
	if rc.Auth.Cookie != nil {
		rlm.cookie = rc.Auth.Cookie.withDefaults()
	}
	rlm.authz = newAuthz(rc.Roles)
	rlm.callerOnce = sync.OnceValue(func() *routerCaller { return newRouterCaller(rlm) })
	return rlm
}

// join adds the session to the realm and queues its WELCOME. Other
// sessions find it (wamp.session.list, kill ...) only once WELCOME is
// queued, so nothing reaches it before, and the client can be found as
// soon as it has WELCOME.
func (r *realm) join(s *session, welcome *wamp.Welcome) {
	if r.cookie != nil {
		// Before WELCOME leaves, so that a client that has it finds its
		// login on its next connection.
		r.bindCookie(s)
	}
	r.mu.Lock()
	r.sessions[s.id] = s
	s.stateMu.Lock()
	// Established before WELCOME leaves: a shutdown that sees the session
	// not established closes it without GOODBYE, which a client holding
	// WELCOME must never see.
	s.established.Store(true)
	s.send(welcome)
	s.stateMu.Unlock()
	r.mu.Unlock()
	s.debug("session joined")
	r.broker.publishMeta("wamp.session.on_join", func() wamp.List { return wamp.List{s.info()} })
}

// leave removes everything the session held: subscriptions, registrations,
// and pending calls in both directions; then it publishes the session's
// testaments and wamp.session.on_leave.
func (r *realm) leave(s *session) {
	r.mu.Lock()
	delete(r.sessions, s.id)
	r.mu.Unlock()
	r.broker.removeSession(s)
	r.dealer.removeSession(s)
	if !s.quiet.Load() {
		r.publishTestaments(s)
		r.broker.publishMeta("wamp.session.on_leave", func() wamp.List { return wamp.List{int64(s.id), s.authid, s.authrole} })
	}
	s.debug("session left")
}

// session returns the realm's session id, or nil.
func (r *realm) session(id wamp.ID) *session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sessions[id]
}

// strict tells whether the realm accepts only strict URIs.
func (r *realm) strict() bool { return r.router.cfg.StrictURIs }

// info is the session's details in the session meta API.
func (s *session) info() wamp.Dict {
	d := wamp.Dict{
		"session":      int64(s.id),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"transport":    s.transportInfo(),
	}
	if s.authextra != nil {
		d["authextra"] = s.authextra
	}
	return d
}

// transportInfo describes the session's connection, as its details and
// those a dynamic authenticator gets carry it.
func (s *session) transportInfo() wamp.Dict {
	t := s.peer.Info()
	transport := wamp.Dict{"type": t.Transport}
	if t.Serializer != "" {
		transport["serializer"] = t.Serializer
	}
	if t.Batched {
		transport["batched"] = true
	}
	if t.RemoteAddr != "" {
		transport["peer"] = t.RemoteAddr
	}
	return transport
}
