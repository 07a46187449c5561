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
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.GoodbyeTimeout <= 0 {
		c.GoodbyeTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	seen := map[wamp.URI]bool{}
	for i, r := range c.Realms {
		if !wamp.ValidURI(r.Name, c.StrictURIs, false) {
			return fmt.Errorf("server: realm %d: invalid realm name %q", i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("server: realm %d: duplicate realm %q", i, r.Name)
		}
		seen[r.Name] = true
		for j, h := range r.EventHistory {
			if !wamp.ValidPattern(h.Topic, h.Match, c.StrictURIs) {
				return fmt.Errorf("server: realm %q: event history rule %d: invalid topic %q for match %q", r.Name, j, h.Topic, h.Match)
			}
			if h.Limit <= 0 {
				return fmt.Errorf("server: realm %q: event history rule %d: limit %d is not positive", r.Name, j, h.Limit)
			}
		}
	}
	if c.DefaultCallTimeout < 0 || c.MaxCallTimeout < 0 {
		return fmt.Errorf("server: negative call timeout")
	}
	return nil
}
