package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Join connects to the router at url and joins realm. The URL's scheme
// picks the transport: "ws://host:port/path" and "wss://..." are
// WebSocket, "http://host:port/lp" and "https://..." are long-poll at that
// base URL; outside the browser, "rs://host:port", "rss://host:port" (TLS)
// and "unix:///path/to/socket" are raw sockets. Config.TLSConfig applies to
// wss, https and rss. When url cannot be opened, Config.FallbackURLs are
// tried in order; Transport tells which one the session runs on. cfg may be nil;
// see [Config]. ctx bounds the connection and the join, not the session.
//
// Join tries each URL once; Config.Reconnect applies to losses after it
// returned. A join refused with ABORT returns a *wamp.Error as [JoinPeer]
// does. When no URL could be opened, the error names each URL's failure.
func Join(ctx context.Context, url, realm string, cfg *Config) (*Session, error) {
	var raw Config
	if cfg != nil {
		raw = *cfg
	}
	urls := append([]string{url}, raw.FallbackURLs...)
	if err := raw.validate(urls); err != nil {
		return nil, err
	}
	if !wamp.ValidURI(wamp.URI(realm), false, false) {
		return nil, fmt.Errorf("client: invalid realm %q", realm)
	}
	c := raw.withDefaults()
	c.web = newWebClient(c.TLSConfig)
	peer, welcome, err := connectAny(ctx, urls, realm, &c)
	if err != nil {
		c.web.close()
		return nil, err
	}
	return newSession(c, realm, urls, newLink(peer, welcome, c.Logger)), nil
}

// connectAny runs one round over urls: it returns the first session that
// joins. A router's ABORT, a failing OnChallenge or the end of ctx ends the
// round at once.
func connectAny(ctx context.Context, urls []string, realm string, cfg *Config) (transport.Peer, *wamp.Welcome, error) {
	var errs []error
	for _, u := range urls {
		uctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		peer, welcome, err := connect(uctx, u, realm, cfg)
		cancel()
		if err == nil {
			return peer, welcome, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("client: join: %w", ctxErr)
		}
		if !nextURL(err) {
			return nil, nil, err
		}
		cfg.Logger.Debug("cannot open URL", "url", u, "error", err)
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	if len(errs) == 1 {
		return nil, nil, errs[0]
	}
	return nil, nil, fmt.Errorf("client: no URL could be opened: %w", errors.Join(errs...))
}

// nextURL tells whether a failure to connect leaves a chance to another
// URL: not when the router answered with ABORT or the client cannot
// authenticate.
func nextURL(err error) bool {
	if _, ok := errors.AsType[*wamp.Error](err); ok {
		return false
	}
	_, final := errors.AsType[*finalError](err)
	return !final
}

// finalError marks a join failure that retrying cannot mend: the client
// cannot answer the router's CHALLENGE.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// connect dials url and runs the session's opening, up to WELCOME.
func connect(ctx context.Context, url, realm string, cfg *Config) (transport.Peer, *wamp.Welcome, error) {
	peer, err := dial(ctx, url, cfg)
	if err != nil {
		return nil, nil, err
	}
	welcome, err := handshake(ctx, peer, realm, cfg)
	if err != nil {
		peer.Close()
		return nil, nil, err
	}
	return peer, welcome, nil
}

// dial opens the transport that the URL's scheme names.
func dial(ctx context.Context, rawURL string, cfg *Config) (transport.Peer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c, ok := codec.ByName(cfg.Serializer)
	if !ok {
		return nil, fmt.Errorf("client: serializer %q is not in this build (it has %s)", cfg.Serializer, strings.Join(codec.Names(), ", "))
	}
	switch u.Scheme {
	case "ws", "wss":
		o := &websocket.DialOptions{Codecs: []codec.Codec{c}, Batched: cfg.Batched, ReadLimit: cfg.MaxMessageSize}
		cfg.web.setWebSocket(o)
		return websocket.Dial(ctx, rawURL, o)
	case "http", "https":
		o := &longpoll.DialOptions{
			Protocols: []string{codec.Subprotocol(c, true), codec.Subprotocol(c, false)},
			ReadLimit: max(cfg.MaxMessageSize, longpoll.DefaultClientReadLimit),
		}
		cfg.web.setLongPoll(o)
		return longpoll.Dial(ctx, rawURL, o)
	}
	if d, ok := schemeDialers[u.Scheme]; ok {
		return d.dial(ctx, u, c, cfg)
	}
	return nil, fmt.Errorf("client: unsupported URL scheme %q in %q (want %s)", u.Scheme, rawURL, wantSchemes())
}
