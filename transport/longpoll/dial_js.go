//go:build js

package longpoll

import (
	"context"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll/internal/fetch"
)

// DialOptions configures [Dial]. The zero value, or nil, is ready to use.
type DialOptions struct {
	// Protocols lists the subprotocols offered, in order of preference,
	// for example "wamp.2.json.batched". Default: every serializer
	// batched, then unbatched.
	Protocols []string

	// RequestTimeout bounds each request, receive included. Default 15 s.
	RequestTimeout time.Duration

	// ReadLimit bounds one response body, in bytes: one message, or a
	// batch. Default 16 MiB.
	ReadLimit int64
}

// Dial opens a long-poll transport at baseURL (for example
// "https://example.com/lp") with the browser's fetch, cookies included as
// Autobahn|JS does. ctx bounds the opening only; Close ends the transport.
func Dial(ctx context.Context, baseURL string, opts *DialOptions) (transport.Peer, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	c, err := dial(ctx, baseURL, clientConfig{protocols: o.Protocols, timeout: o.RequestTimeout, readLimit: o.ReadLimit, post: fetch.Post})
	if err != nil {
		return nil, err
	}
	return c, nil
}
