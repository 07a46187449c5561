// Package server is the WAMP router: realms, the session lifecycle, the
// broker (publish/subscribe), the dealer (routed RPC), limits, and the HTTP
// handlers that accept WAMP transports.
//
// There is no central dispatcher: each session's reader goroutine decodes,
// validates and routes its messages inline, pushing the messages it produces
// onto the bounded outbound queues of the sessions concerned; a writer
// goroutine per session, started on demand, writes them out.
package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// ErrShutdown is returned by Shutdown when its context ends before every
// session is gone; the remaining sessions are closed at once.
var ErrShutdown = errors.New("server: shutdown timed out; remaining sessions closed")

// Router routes WAMP messages between the sessions of its realms.
type Router struct {
	cfg Config

	mu       sync.Mutex
	realms   map[wamp.URI]*realm
	sessions map[*session]struct{}
	closing  bool
	wg       sync.WaitGroup // one per Serve call
	closers  []func() error // transport handlers to close on shutdown

	subscriptionIDs wamp.SequentialID
	registrationIDs wamp.SequentialID

	stopPings chan struct{}
	pingsDone chan struct{}

	authLimits *authLimits // failed authentications (auth_limit.go)
	cookies    cookieJar   // cookie logins (auth_cookie.go)

	stats routerStats // metrics.go

	// yield is what a session's reader calls every yieldEvery messages
	// (yieldReader; tests count the calls).
	yield func()
}

// New returns a router for cfg, or an error if cfg is invalid.
func New(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{
		cfg:       cfg.withDefaults(),
		realms:    make(map[wamp.URI]*realm),
		sessions:  make(map[*session]struct{}),
		stopPings: make(chan struct{}),
		pingsDone: make(chan struct{}),
		yield:     yieldReader,
	}
	r.authLimits = newAuthLimits(r.cfg.AuthFailuresPerAddress, r.cfg.AuthFailuresPerAuthID)
	r.cookies.init(r.cfg.MaxCookieLogins)
	for _, rc := range cfg.Realms {
		r.realms[rc.Name] = newRealm(r, rc)
		r.cookies.addRealm(&rc.Auth)
	}
	if r.cfg.PingInterval > 0 {
		go r.pingLoop()
	} else {
		close(r.pingsDone)
	}
	return r, nil
}

// AddRealm adds a realm at run time.
func (r *Router) AddRealm(rc RealmConfig) error {
	if err := (Config{Realms: []RealmConfig{rc}, StrictURIs: r.cfg.StrictURIs}).Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.realms[rc.Name]; ok {
		return fmt.Errorf("server: realm %q exists", rc.Name)
	}
	if msg := r.cookies.conflict(&rc.Auth); msg != "" {
		return fmt.Errorf("server: realm %q: auth.cookie: %s of the router's other realms: they share one tracking cookie", rc.Name, msg)
	}
	r.realms[rc.Name] = newRealm(r, rc)
	r.cookies.addRealm(&rc.Auth)
	return nil
}

func (r *Router) realm(name wamp.URI) *realm {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.realms[name]
}

// Serve runs a session on peer: the HELLO handshake, then the session's
// read loop, until the session ends. It blocks; the calling goroutine is
// the session's reader, so a transport handler can call it directly.
func (r *Router) Serve(peer transport.Peer) { r.serve(peer, false) }

// serve is Serve for a connection that the caller may know came over TLS
// (an HTTP handler that sees the request) when the peer's Info does not
// say so.
func (r *Router) serve(peer transport.Peer, tls bool) {
	s := newSession(r, peer)
	s.secure = s.secure || tls
	if !r.track(s) {
		s.abort(wamp.ErrSystemShutdown, "the router is shutting down")
		s.finish()
		return
	}
	defer r.wg.Done()
	defer r.untrack(s)
	s.run()
}

func (r *Router) track(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.sessions[s] = struct{}{}
	r.wg.Add(1)
	return true
}

func (r *Router) untrack(s *session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}

func (r *Router) snapshot() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		out = append(out, s)
	}
	return out
}

// Shutdown stops the router gracefully: new sessions are refused, every
// pending call fails with an ERROR to its caller, and every session gets
// GOODBYE wamp.close.system_shutdown. It waits for the sessions to end until
// ctx is done, then closes the rest and returns ErrShutdown.
func (r *Router) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	already := r.closing
	r.closing = true
	r.mu.Unlock()
	if !already {
		close(r.stopPings)
	}
	for _, s := range r.snapshot() {
		s.shutdown()
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		<-r.pingsDone
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		for _, s := range r.snapshot() {
			s.peer.Close()
		}
		<-done
		err = ErrShutdown
	}
	r.mu.Lock()
	closers := r.closers
	r.closers = nil
	r.mu.Unlock()
	for _, c := range closers {
		c()
	}
	return err
}

// Close closes every session at once, without GOODBYE, and waits for them
// to end.
func (r *Router) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Shutdown(ctx)
}

// pingLoop pings every session whose transport can, so that a peer that
// vanished without closing its connection is noticed.
func (r *Router) pingLoop() {
	defer close(r.pingsDone)
	t := time.NewTicker(r.cfg.PingInterval)
	defer t.Stop()
	pause := time.NewTimer(pingStep)
	pause.Stop()
	for {
		select {
		case <-r.stopPings:
			return
		case <-t.C:
		}
		// A connection that has not joined yet has its HELLO deadline,
		// and is not pinged.
		sessions := slices.DeleteFunc(r.snapshot(), func(s *session) bool { return !s.established.Load() })
		// The round is spread over at most three quarters of the
		// interval, in batches of at least pingBatch sessions pingStep
		// apart: a goroutine for each of 10,000 sessions at once would
		// hold up every session's messages for a tenth of a second.
		steps := max(1, int(r.cfg.PingInterval*3/4/pingStep))
		per := max(pingBatch, (len(sessions)+steps-1)/steps)
		for len(sessions) > 0 {
			n := min(per, len(sessions))
			for _, s := range sessions[:n] {
				r.ping(s)
			}
			sessions = sessions[n:]
			if len(sessions) == 0 {
				break
			}
			pause.Reset(pingStep)
			select {
			case <-r.stopPings:
				return
			case <-pause.C:
			}
		}
	}
}

// The pacing of a ping round: batches of at least pingBatch sessions,
// pingStep apart.
const (
	pingBatch = 64
	pingStep  = 10 * time.Millisecond
)

// ping pings s, if its transport can, on a goroutine of its own that waits
// for the pong, and closes the session when none comes within PingTimeout.
func (r *Router) ping(s *session) {
	p, ok := s.peer.(transport.Pinger)
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.PingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil && !s.q.isClosed() {
			s.logInfo("closing session: ping failed", "err", err)
			s.peer.Close()
		}
	}()
}
