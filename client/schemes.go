package client

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp/codec"
)

// schemeDialer opens a transport that only some builds have: raw sockets
// (dial_rawsocket.go) are not in the browser's.
type schemeDialer struct {
	// check validates a URL of the scheme before any dialing.
	check func(u *url.URL) error
	dial  func(ctx context.Context, u *url.URL, c codec.Codec, cfg *Config) (transport.Peer, error)
}

// schemeDialers holds the build's extra transports by URL scheme; files
// with build constraints fill it from init.
var schemeDialers = map[string]schemeDialer{}

// wantSchemes lists the URL schemes this build dials, for error messages.
func wantSchemes() string {
	s := []string{"ws", "wss", "http", "https"}
	extra := make([]string, 0, len(schemeDialers))
	for k := range schemeDialers {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	s = append(s, extra...)
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
