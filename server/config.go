package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// Config configures a Router. The zero value of each field selects the
// documented default.
type Config struct {
	// Realms lists the realms sessions may join. A HELLO for any other
	// realm gets ABORT wamp.error.no_such_realm.
	Realms []RealmConfig

	// StrictURIs makes the router accept only strict URIs
	// ([0-9a-z_] components) in topics, procedures and realms. Loose URIs
	// (anything but whitespace, '.' and '#') are the default, as in
	// Crossbar.io and Autobahn|JS.
	StrictURIs bool

	// MaxMessageSize bounds one received message once a session is
	// established. It stops a peer from making the router buffer and decode
	// arbitrarily large input. Default 1 MiB, the size above which WAMP
	// payloads belong in progressive results or a separate download.
	MaxMessageSize int64

	// MaxHelloSize bounds a message received before WELCOME: an
	// unauthenticated peer gets little room. Default 64 KiB, ample for a
	// HELLO with authextra.
	MaxHelloSize int64

	// HelloTimeout closes a connection that has not completed HELLO (and
	// authentication) in time, so that idle unauthenticated connections
	// cannot pile up. Default 10 s.
	HelloTimeout time.Duration

	// MaxQueuedBytes bounds the estimated size of the messages waiting to be
	// written to one session. A session that falls this far behind (a slow
	// consumer) is disconnected with a logged reason instead of growing the
	// router's memory without bound. Default 16 MiB.
	MaxQueuedBytes int

	// MaxPendingCalls bounds the calls one session may have in flight as a
	// caller; the next CALL gets ERROR wamp.error.unavailable. It stops one
	// session from holding unbounded router state. Default 1000.
	MaxPendingCalls int

	// MaxSubscriptions and MaxRegistrations bound the subscriptions and
	// registrations one session may hold; past them SUBSCRIBE and REGISTER
	// get ERROR wamp.error.unavailable. Each costs router memory and a
	// place in the routing tables, so one session must not add them without
	// end. Default 10,000 each, far above what an application needs.
	MaxSubscriptions int
	MaxRegistrations int

	// MaxRetainedTopics bounds, in each realm, the topics whose last
	// retained event (PUBLISH.Options.retain) the broker keeps; past it,
	// the topic retained least recently loses its event. Without a bound,
	// a session allowed to publish could retain events under ever new
	// topics until the router runs out of memory. Each event kept holds
	// its payload (up to MaxMessageSize). Default 10,000.
	MaxRetainedTopics int

	// MaxHistoryTopics bounds, in each realm, the concrete topics whose
	// recent events RealmConfig.EventHistory keeps: a prefix or wildcard
	// rule keeps a buffer for each topic it matches, so a publisher could
	// otherwise grow the router's memory without end by publishing under
	// ever new topics. Past it, the topic published to least recently
	// loses its history. Default 10,000.
	MaxHistoryTopics int

	// PingInterval is how often the router pings each session whose
	// transport supports it (browsers never ping on their own), so that a
	// dead peer is noticed and its session cleaned up. Default 30 s;
	// negative disables pings.
	PingInterval time.Duration

	// PingTimeout is how long a ping may go unanswered before the session
	// is closed. Default 10 s.
	PingTimeout time.Duration

	// GoodbyeTimeout is how long the router waits for a peer to answer its
	// GOODBYE (or to read a final ABORT) before it closes the transport.
	// Default 2 s.
	GoodbyeTimeout time.Duration

	// DefaultCallTimeout is the timeout of a call whose CALL has no
	// Options.timeout (or 0): when it expires the dealer answers ERROR
	// wamp.error.timeout and interrupts the callee. Default 0: no timeout,
	// as the specification asks.
	DefaultCallTimeout time.Duration

	// MaxCallTimeout caps every call's timeout, the caller's
	// Options.timeout and DefaultCallTimeout alike, so that no call holds a
	// caller's and a callee's state for longer. Default 0: no cap.
	MaxCallTimeout time.Duration

	// AuthFailuresPerAddress limits failed authentications from one remote
	// address (one IPv4 address, one IPv6 /64), and AuthFailuresPerAuthID
	// those for one authid of a realm, so that passwords cannot be guessed
	// online. A handshake holds a token of each from HELLO until it
	// ends, and a failed one keeps it; once a bucket is empty, attempts
	// from that address or for that authid are refused at HELLO, before
	// any key derivation, until a token comes back. The per-authid bucket is the larger, so that one
	// address alone cannot lock a user out: it is stopped first. Defaults
	// DefaultAuthFailuresPerAddress (10, then one per 6 s) and
	// DefaultAuthFailuresPerAuthID (30, then one per 2 s).
	AuthFailuresPerAddress RateLimit
	AuthFailuresPerAuthID  RateLimit

	// AuthorizerTimeout bounds a call to a dynamic authorizer; a late
	// answer refuses the action. Default DefaultAuthorizerTimeout (5 s).
	// (A dynamic authenticator is bounded by HelloTimeout.)
	AuthorizerTimeout time.Duration

	// MaxCookieLogins bounds the cookie logins the router remembers
	// (CookieAuth), all realms together, so that logins from ever new
	// cookies cannot grow its memory: past it, expired logins go, then
	// those closest to their end. Default DefaultMaxCookieLogins.
	MaxCookieLogins int

	// Logger receives the router's logs. Default slog.Default().
	Logger *slog.Logger
}

// RealmConfig configures one realm.
type RealmConfig struct {
	// Name is the realm's URI.
	Name wamp.URI

	// EventHistory lists the topics whose recent events the broker keeps
	// for wamp.subscription.get_events. A publication is kept under the
	// first rule that matches its topic, in a buffer of that rule's Limit
	// per concrete topic, in memory only. Publications restricted by
	// session ID (PUBLISH.Options.exclude or eligible) are never kept, as
	// the specification asks. Default: none.
	EventHistory []EventHistoryConfig

	// Auth configures authentication. The zero value admits anonymous
	// sessions only.
	Auth AuthConfig

	// Roles configures authorization. With none, every session may do
	// everything (but register or publish under wamp.); with roles, a
	// session may do only what its role's permissions allow, and a
	// principal whose role is not listed cannot join.
	Roles []RoleConfig
}

// EventHistoryConfig is one event history rule of a realm.
type EventHistoryConfig struct {
	// Topic is the topic URI or pattern the rule covers.
	Topic wamp.URI
	// Match is how Topic matches: "exact" (or ""), "prefix" or "wildcard".
	Match string
	// Limit is how many events are kept per concrete topic; the oldest
	// go first. It must be positive.
	Limit int
}

func (c Config) withDefaults() Config {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1 << 20
	}
	if c.MaxHelloSize <= 0 {
		c.MaxHelloSize = 64 << 10
	}
	if c.MaxHelloSize > c.MaxMessageSize {
		c.MaxHelloSize = c.MaxMessageSize
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = 16 << 20
	}
	if c.MaxPendingCalls <= 0 {
		c.MaxPendingCalls = 1000
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = 10000
	}
	if c.MaxRegistrations <= 0 {
		c.MaxRegistrations = 10000
	}
	if c.MaxRetainedTopics <= 0 {
		c.MaxRetainedTopics = 10000
	}
	if c.MaxHistoryTopics <= 0 {
		c.MaxHistoryTopics = 10000
	}
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.GoodbyeTimeout <= 0 {
		c.GoodbyeTimeout = 2 * time.Second
	}
	if c.AuthFailuresPerAddress == (RateLimit{}) {
		c.AuthFailuresPerAddress = DefaultAuthFailuresPerAddress
	}
	if c.AuthFailuresPerAuthID == (RateLimit{}) {
		c.AuthFailuresPerAuthID = DefaultAuthFailuresPerAuthID
	}
	if c.AuthorizerTimeout <= 0 {
		c.AuthorizerTimeout = DefaultAuthorizerTimeout
	}
	if c.MaxCookieLogins <= 0 {
		c.MaxCookieLogins = DefaultMaxCookieLogins
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every mistake in c, each as a *ConfigError joined
// into one error, or nil. New calls it.
func (c Config) Validate() error {
	var ck checker
	names := map[wamp.URI]bool{}
	for _, r := range c.Realms {
		names[r.Name] = true
	}
	seen := map[wamp.URI]bool{}
	for i, r := range c.Realms {
		p := fmt.Sprintf("realms[%d]", i)
		if !wamp.ValidURI(r.Name, c.StrictURIs, false) {
			ck.add(p+".name", "invalid realm name %q", r.Name)
		}
		if seen[r.Name] {
			ck.add(p+".name", "duplicate realm %q", r.Name)
		}
		seen[r.Name] = true
		for j, h := range r.EventHistory {
			hp := fmt.Sprintf("%s.event_history[%d]", p, j)
			if !wamp.ValidPattern(h.Topic, h.Match, c.StrictURIs) {
				ck.add(hp+".topic", "invalid topic %q for match %q", h.Topic, h.Match)
			}
			if h.Limit <= 0 {
				ck.add(hp+".limit", "limit %d is not positive", h.Limit)
			}
		}
		ck.checkRealmAuth(p, &c.Realms[i], c.StrictURIs, names)
	}
	// A dynamic authenticator is whoever registers its procedure: only a
	// realm whose roles say who may register can host one.
	byName := map[wamp.URI]*RealmConfig{}
	for i := range c.Realms {
		byName[c.Realms[i].Name] = &c.Realms[i]
	}
	for i, r := range c.Realms {
		for _, d := range r.Auth.dynamic() {
			host := cmpOr(string(d.realm), string(r.Name))
			if hr := byName[wamp.URI(host)]; hr != nil && len(hr.Roles) == 0 {
				ck.add(fmt.Sprintf("realms[%d].auth.%s.authenticator", i, d.method),
					"realm %q, which would host the authenticator, has no roles: any session could register the procedure and admit anyone; configure roles there", host)
			}
		}
	}
	ck.checkCookies(c.Realms)
	if c.DefaultCallTimeout < 0 {
		ck.add("limits.default_call_timeout", "negative call timeout")
	}
	if c.MaxCallTimeout < 0 {
		ck.add("limits.max_call_timeout", "negative call timeout")
	}
	for _, l := range []struct {
		p string
		r RateLimit
	}{{"limits.auth_failures_per_address", c.AuthFailuresPerAddress}, {"limits.auth_failures_per_authid", c.AuthFailuresPerAuthID}} {
		if l.r.Burst > 0 && l.r.Every <= 0 {
			ck.add(l.p+".every", "a rate limit with a burst needs a positive refill interval")
		}
	}
	return ck.err()
}
