//go:build js

package websocket

import (
	"context"

	"github.com/wampkit/wampkit/transport/websocket/internal/wsjs"
	"github.com/wampkit/wampkit/wamp/codec"
)

// DialOptions configures [Dial]. The zero value (or nil) is ready. In the
// browser the handshake is the browser's: it sends the page's cookies and
// Origin, and no other header can be set.
type DialOptions struct {
	// Codecs lists the serializers to offer, in order of preference; nil
	// means JSON, MessagePack, CBOR.
	Codecs []codec.Codec
	// Batched offers the ".batched" subprotocols instead of the plain
	// ones.
	Batched bool
	// ReadLimit is the largest message, in bytes, that the peer accepts:
	// zero means DefaultReadLimit, a negative value no limit.
	ReadLimit int64
}

// dial opens the browser's WebSocket. It returns no function to drop the
// connection: the peer cancels the context of its reads instead.
func dial(ctx context.Context, url string, protos []string, _ *DialOptions) (*wsjs.Conn, func(), error) {
	conn, err := wsjs.Dial(ctx, url, protos)
	return conn, nil, err
}
