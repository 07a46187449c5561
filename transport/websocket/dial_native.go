//go:build !js

package websocket

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/wamp/codec"
)

// DialOptions configures [Dial]. The zero value (or nil) is ready.
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
	// HTTPHeader is added to the handshake request, for example a cookie
	// or an Authorization header.
	HTTPHeader http.Header
	// HTTPClient performs the handshake; nil means http.DefaultClient.
	HTTPClient *http.Client
}

func dial(ctx context.Context, url string, protos []string, o *DialOptions) (*ws.Conn, error) {
	conn, resp, err := ws.Dial(ctx, url, &ws.DialOptions{
		HTTPClient:   o.HTTPClient,
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: protos,
	})
	if err != nil && resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		// The router's refusal says why, in plain text.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if reason := strings.TrimSpace(string(body)); reason != "" {
			return nil, fmt.Errorf("%w: %s", err, reason)
		}
	}
	return conn, err
}
