package client

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Agent is the agent string the client announces in HELLO.
const Agent = "wampkit-go"

// DefaultConnectTimeout is the default of Config.ConnectTimeout.
const DefaultConnectTimeout = 10 * time.Second

// Config configures a session. A nil or zero Config is valid: JSON,
// anonymous authentication, one URL, no reconnection, no logs.
type Config struct {
	// Serializer is the serializer Join asks for: "json" (the default),
	// "msgpack" or "cbor". JoinPeer ignores it: the peer is already set up.
	Serializer string
	// AuthID is the authentication ID announced in HELLO ("authid"). The
	// router decides the authid the session really gets; read it in
	// Session.Details.
	AuthID string
	// AuthMethods lists the authentication methods the client offers, in
	// order of preference ("authmethods"), such as "ticket" or "wampcra".
	// Empty means anonymous. A CHALLENGE for a method not offered fails
	// the join with ABORT wamp.error.protocol_violation. "tls" takes the
	// identity from the client certificate of TLSConfig.
	//
	// "cookie" is a browser feature: there the browser keeps the cookie
	// of a router that remembers a login (as wampd and Crossbar.io do)
	// and sends it back. Outside the browser the client keeps no cookies,
	// so it authenticates with another method on every join.
	AuthMethods []string
	// AuthExtra is sent as HELLO's "authextra", for methods that need data
	// up front (a cryptosign public key, for example).
	AuthExtra wamp.Dict
	// OnChallenge answers a CHALLENGE with the signature and extra of the
	// AUTHENTICATE message. With no hook, a CHALLENGE aborts the join. An
	// error aborts the join with wamp.error.authentication_failed.
	OnChallenge func(ctx context.Context, c *wamp.Challenge) (signature string, extra wamp.Dict, err error)
	// Logger receives the session's logs. A *slog.Logger fits; nil
	// discards them.
	Logger Logger
	// HelloDetails are added to HELLO's details. A key set here replaces
	// the one the client would send ("roles", "agent", ...).
	HelloDetails wamp.Dict

	// TLSConfig configures TLS for wss://, https:// (long-poll) and
	// rss:// URLs: RootCAs to trust a router whose certificate no public
	// authority signed, Certificates to present a client certificate
	// (the router's "tls" authentication method). An empty ServerName is
	// taken from the URL's host. Nil means the system's roots and no
	// client certificate. When set, the Session's WebSocket and long-poll
	// requests go through an HTTP client of its own, which Join makes
	// from it with net/http's default settings (proxy from the
	// environment) and whose idle connections the Session closes when it
	// ends; when nil,
	// through each transport's default client. JoinPeer ignores it: the
	// peer is already set up. In the browser the browser does TLS: there
	// TLSConfig is an empty struct and the field is ignored.
	TLSConfig *TLSConfig
	// Batched asks for the batched form of the serializer over WebSocket
	// ("wamp.2.json.batched" ...), in which the router may put several
	// messages in one frame: fewer frames under a burst of events, for
	// a little framing per message. Long-poll offers the batched form
	// first anyway; raw sockets have none.
	Batched bool
	// MaxMessageSize is the largest message, in bytes, that the client
	// accepts from the router. A larger one closes the transport, and
	// the session is lost with an error wrapping
	// transport.ErrMessageTooBig. The bound exists because a message is
	// read whole into memory before it is decoded. Zero means 1 MiB, the
	// default of the WebSocket and raw socket transports; below 512 is
	// refused. Raw sockets announce it in their handshake, rounded down
	// to a power of two between 512 bytes and 16 MiB (the protocol's
	// bounds), and a router then sends nothing larger. Long-poll bounds
	// each response, which may batch many messages, at the larger of
	// MaxMessageSize and 16 MiB. JoinPeer ignores it.
	MaxMessageSize int64

	// FallbackURLs are tried in order, after the URL given to Join, when
	// that one cannot be opened: refused, an HTTP error instead of a
	// WebSocket upgrade (a proxy that strips Upgrade), a dropped
	// connection or ConnectTimeout. A browser page passes
	// []string{"https://host/lp"} to fall back from WebSocket to
	// long-poll. A router that answers HELLO with ABORT ends the round:
	// another URL of the same router would say the same. JoinPeer ignores
	// them.
	FallbackURLs []string
	// ConnectTimeout bounds opening one URL's transport and joining over
	// it, so that a URL that does not answer gives way to the next.
	// Default DefaultConnectTimeout (10 s). Join's ctx still bounds the
	// whole of Join.
	ConnectTimeout time.Duration
	// Reconnect, when not nil, makes the Session come back after it loses
	// its router; see [Reconnect]. Nil means that a lost transport ends
	// the Session, as does every close. JoinPeer sessions never reconnect:
	// they have no URL to dial.
	Reconnect *Reconnect

	// OnJoin, when set, is called after every successful join: the first
	// (possibly after Join returned) and each reconnection, once
	// registrations and subscriptions are restored. It runs on the
	// Session's supervisor goroutine, which also runs OnLeave, one call at
	// a time and in order; it may use the Session but must not block
	// long: the Session does not notice a loss, nor reconnect, until it
	// returns. A panic is recovered and logged.
	OnJoin func(s *Session)
	// OnLeave, when set, is called each time a WAMP session ends, on the
	// same goroutine as OnJoin. err is nil after Leave, a *CloseError when
	// the router sent GOODBYE or ABORT, the transport's error otherwise.
	// willRetry tells whether the Session reconnects. When reconnecting
	// stops without a new session (Leave while disconnected, retries
	// exhausted, a join refused for good), it is called once more with
	// willRetry false and the reason (nil after Leave). So the last call
	// always has willRetry false; Done is closed after it returns.
	OnLeave func(err error, willRetry bool)

	// web is the Session's HTTP client, made by Join from TLSConfig.
	web *webClient
}

// Reconnect configures how a Session comes back after it lost its
// router. Zero fields select the defaults in brackets.
//
// When the transport is lost, or the router closes the session with a
// reason that lets it come back (wamp.close.system_shutdown,
// wamp.close.close_realm), the Session waits, then tries the URL and the
// fallbacks in order; each such round is one attempt. Before attempt n it
// waits InitialDelay*Factor^(n-1), capped at MaxDelay, then varied by
// ±Jitter. Once joined, it registers and subscribes again everything it
// had, with the original options and handlers, then calls OnJoin; the
// attempt count starts over. A registration or subscription that the
// router refuses then (another session took the procedure meanwhile) is
// dropped and logged at Warn level.
//
// It does not come back after Leave, nor after any other close reason
// (wamp.close.killed, wamp.error.protocol_violation ...), nor when a
// rejoin is refused for good: an ABORT other than the two reasons above
// (wamp.error.not_authorized, wamp.error.no_such_realm,
// wamp.error.authentication_failed ...) or a failing OnChallenge. Join
// itself does not retry: it tries each URL once.
type Reconnect struct {
	// InitialDelay is the wait before the first attempt [500 ms].
	InitialDelay time.Duration
	// MaxDelay caps the wait before an attempt, jitter included [30 s].
	MaxDelay time.Duration
	// Factor multiplies the wait after each failed attempt [1.5]. It must
	// be 1 or more.
	Factor float64
	// Jitter varies each wait at random by up to this fraction, so that
	// clients that lost the same router do not all come back at once
	// [0.1]. At most 1; negative means none.
	Jitter float64
	// MaxRetries is how many attempts to make before giving up [0:
	// forever].
	MaxRetries int
}

// Defaults of [Reconnect].
const (
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 30 * time.Second
	DefaultFactor       = 1.5
	DefaultJitter       = 0.1
)

// withDefaults returns a copy of r with its defaults filled in.
func (r Reconnect) withDefaults() Reconnect {
	if r.InitialDelay == 0 {
		r.InitialDelay = DefaultInitialDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.Factor == 0 {
		r.Factor = DefaultFactor
	}
	if r.Jitter == 0 {
		r.Jitter = DefaultJitter
	}
	if r.Jitter < 0 {
		r.Jitter = 0
	}
	return r
}

// validate reports a Reconnect that makes no sense.
func (r *Reconnect) validate() error {
	switch {
	case r.InitialDelay < 0 || r.MaxDelay < 0:
		return fmt.Errorf("client: Reconnect delays must not be negative (InitialDelay %v, MaxDelay %v)", r.InitialDelay, r.MaxDelay)
	case r.MaxDelay != 0 && r.InitialDelay > r.MaxDelay:
		return fmt.Errorf("client: Reconnect.InitialDelay %v exceeds MaxDelay %v", r.InitialDelay, r.MaxDelay)
	case r.Factor != 0 && !(r.Factor >= 1):
		return fmt.Errorf("client: Reconnect.Factor %v is below 1", r.Factor)
	case r.Jitter > 1:
		return fmt.Errorf("client: Reconnect.Jitter %v is above 1", r.Jitter)
	case r.MaxRetries < 0:
		return fmt.Errorf("client: Reconnect.MaxRetries %d is negative", r.MaxRetries)
	}
	return nil
}

// delay is the wait before attempt n (1 for the first) of r, which has its
// defaults; rnd in [0, 1) picks the jitter.
func (r *Reconnect) delay(n int, rnd float64) time.Duration {
	d := float64(r.InitialDelay)
	limit := float64(r.MaxDelay)
	for i := 1; i < n && d < limit; i++ {
		d *= r.Factor
	}
	d = min(d, limit)
	d *= 1 + r.Jitter*(2*rnd-1)
	return time.Duration(min(d, limit))
}

// withDefaults returns a copy of cfg with its defaults filled in.
func (cfg *Config) withDefaults() Config {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Serializer == "" {
		c.Serializer = "json"
	}
	if c.Logger == nil {
		c.Logger = discardLogger{}
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Reconnect != nil {
		r := c.Reconnect.withDefaults()
		c.Reconnect = &r
	}
	return c
}

// minMessageSize is the smallest Config.MaxMessageSize: the raw socket
// protocol's smallest read limit.
const minMessageSize = 512

// validate checks what Join needs: the serializer, MaxMessageSize, the
// URLs and Reconnect. cfg has not had its defaults filled in.
func (cfg *Config) validate(urls []string) error {
	if cfg.Serializer != "" {
		if _, ok := codec.ByName(cfg.Serializer); !ok {
			return fmt.Errorf("client: serializer %q is not in this build (it has %s)", cfg.Serializer, strings.Join(codec.Names(), ", "))
		}
	}
	switch {
	case cfg.MaxMessageSize < 0:
		return fmt.Errorf("client: MaxMessageSize %d is negative", cfg.MaxMessageSize)
	case cfg.MaxMessageSize > 0 && cfg.MaxMessageSize < minMessageSize:
		return fmt.Errorf("client: MaxMessageSize %d is below %d bytes, the smallest limit a raw socket announces", cfg.MaxMessageSize, minMessageSize)
	}
	for _, u := range urls {
		if err := checkURL(u); err != nil {
			return err
		}
	}
	if cfg.Reconnect != nil {
		return cfg.Reconnect.validate()
	}
	return nil
}

// checkURL accepts the URLs that Join can dial.
func checkURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if d, ok := schemeDialers[u.Scheme]; ok {
		return d.check(u)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return fmt.Errorf("client: unsupported URL scheme %q in %q (want %s)", u.Scheme, rawURL, wantSchemes())
	}
	if u.Host == "" {
		return fmt.Errorf("client: no host in URL %q", rawURL)
	}
	return nil
}

// clientFeatures are the features this client implements, per role, as
// HELLO announces them. call_timeout is the caller's only: a callee does
// not bound its handler by Details["timeout"] itself, the router's
// INTERRUPT does.
var clientFeatures = map[string][]string{
	"caller": {"progressive_call_results", "progressive_call_invocations", "call_canceling",
		"call_timeout", "caller_identification"},
	"callee": {"progressive_call_results", "progressive_call_invocations", "call_canceling",
		"caller_identification", "pattern_based_registration", "shared_registration", "registration_revocation"},
	"publisher": {"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing"},
	"subscriber": {"pattern_based_subscription", "publisher_identification", "subscription_revocation",
		"event_retention"},
}

// helloDetails builds the details of HELLO: the four client roles with the
// features this client implements, the agent and the authentication
// fields.
func (cfg *Config) helloDetails() wamp.Dict {
	roles := wamp.Dict{}
	for role, names := range clientFeatures {
		features := wamp.Dict{}
		for _, f := range names {
			features[f] = true
		}
		roles[role] = wamp.Dict{"features": features}
	}
	d := wamp.Dict{
		"agent": Agent,
		"roles": roles,
	}
	if cfg.AuthID != "" {
		d["authid"] = cfg.AuthID
	}
	if len(cfg.AuthMethods) > 0 {
		methods := make(wamp.List, len(cfg.AuthMethods))
		for i, m := range cfg.AuthMethods {
			methods[i] = m
		}
		d["authmethods"] = methods
	}
	if cfg.AuthExtra != nil {
		d["authextra"] = cfg.AuthExtra
	}
	maps.Copy(d, cfg.HelloDetails)
	return d
}

// Logger is what the client logs through: the four levels of *slog.Logger,
// with the same key-value arguments. It is an interface rather than
// *slog.Logger so that a browser build, which passes none, links neither
// log/slog nor the encoding/json that slog's default logger pulls in
// (about 150 KB of wasm).
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// discardLogger is the Logger of a Config without one.
type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Error(string, ...any) {}

// sessionLogger adds the session ID to every line, as slog's With would.
type sessionLogger struct {
	Logger
	session uint64
}

func (l sessionLogger) Debug(msg string, args ...any) {
	l.Logger.Debug(msg, append([]any{"session", l.session}, args...)...)
}

func (l sessionLogger) Info(msg string, args ...any) {
	l.Logger.Info(msg, append([]any{"session", l.session}, args...)...)
}

func (l sessionLogger) Warn(msg string, args ...any) {
	l.Logger.Warn(msg, append([]any{"session", l.session}, args...)...)
}

func (l sessionLogger) Error(msg string, args ...any) {
	l.Logger.Error(msg, append([]any{"session", l.session}, args...)...)
}
