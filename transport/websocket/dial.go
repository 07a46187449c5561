package websocket

import (
	"context"
	"fmt"
	"net/url"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Dial connects to a WAMP router's WebSocket endpoint, such as
// "ws://127.0.0.1:8080/ws" ("http" and "https" URLs work as "ws" and
// "wss"). It offers the subprotocols of opts.Codecs in order and uses the
// one that the router picks. ctx bounds the handshake only. opts may be
// nil.
//
// The returned peer also implements transport.Pinger and
// transport.ReadLimiter.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (transport.Peer, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = codec.All
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	protos := make([]string, len(codecs))
	for i, c := range codecs {
		protos[i] = codec.Subprotocol(c, o.Batched)
	}
	conn, drop, err := dial(ctx, rawURL, protos, &o)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", rawURL, err)
	}
	chosen := conn.Subprotocol()
	for i, p := range protos {
		if p == chosen {
			// Reads and writes take a context that never ends, which costs
			// nothing per message, when the connection can be dropped by
			// closing it; otherwise canceling their context drops it.
			peerCtx := context.Background()
			if drop == nil {
				peerCtx, drop = context.WithCancel(context.Background())
			}
			return newPeer(peerCtx, drop, conn, codecs[i], o.Batched, o.ReadLimit, u.Host), nil
		}
	}
	conn.CloseNow()
	return nil, fmt.Errorf("websocket: dial %s: the router chose subprotocol %q, not one of %q", rawURL, chosen, protos)
}
