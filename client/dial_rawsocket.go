//go:build !js

package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Raw sockets: "rs://host:port" over TCP, "rss://host:port" over TLS
// (Config.TLSConfig, or the system's roots) and "unix:///path/to/socket".
func init() {
	tcp := schemeDialer{check: checkRawSocketHost, dial: dialRawSocket}
	schemeDialers["rs"] = tcp
	schemeDialers["rss"] = tcp
	schemeDialers["unix"] = schemeDialer{check: checkUnixPath, dial: dialRawSocket}
}

func checkRawSocketHost(u *url.URL) error {
	if u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("client: a %s URL needs a host and a port (%s://host:port), not %q", u.Scheme, u.Scheme, u.Redacted())
	}
	return nil
}

func checkUnixPath(u *url.URL) error {
	if u.Host != "" || u.Path == "" {
		return fmt.Errorf("client: a unix URL needs an absolute socket path (unix:///path/to/socket), not %q", u.Redacted())
	}
	return nil
}

func dialRawSocket(ctx context.Context, u *url.URL, c codec.Codec, cfg *Config) (transport.Peer, error) {
	opts := &rawsocket.DialOptions{Codec: c, ReadLimit: cfg.MaxMessageSize}
	switch u.Scheme {
	case "unix":
		return rawsocket.Dial(ctx, "unix", u.Path, opts)
	case "rss":
		opts.TLSConfig = cfg.TLSConfig
		if opts.TLSConfig == nil {
			opts.TLSConfig = &tls.Config{}
		}
	}
	return rawsocket.Dial(ctx, "tcp", u.Host, opts)
}
