//go:build !js

package longpoll

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wampkit/wampkit/transport"
)

// DialOptions configures [Dial]. The zero value, or nil, is ready to use.
type DialOptions struct {
	// HTTPClient sends the requests. Default: a client of this package's
	// own, which keeps up to 512 idle connections per host. Its
	// Timeout, if set, must exceed the server's poll timeout, and its
	// transport should keep two idle connections per session to a host
	// (a receive is always pending): net/http's default keeps two per
	// host in all, so that a second session opens a connection for
	// nearly every request.
	HTTPClient *http.Client

	// Protocols lists the subprotocols offered, in order of preference,
	// for example "wamp.2.msgpack.batched". Default: every serializer
	// batched, then unbatched.
	Protocols []string

	// RequestTimeout bounds each request, receive included. Default 15 s.
	RequestTimeout time.Duration

	// ReadLimit bounds one response body, in bytes: one message, or a
	// batch. Default 16 MiB.
	ReadLimit int64
}

// defaultHTTPClient is the HTTP client of the long-poll sessions whose
// DialOptions name none: net/http's default transport, keeping up to 512
// idle connections per host instead of 2, so that 256 sessions to one
// router reuse their connections.
var defaultHTTPClient = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	return t
}()}

// Dial opens a long-poll transport at baseURL (for example
// "http://localhost:8080/lp"). ctx bounds the opening only; Close ends the
// transport.
func Dial(ctx context.Context, baseURL string, opts *DialOptions) (transport.Peer, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	post := func(ctx context.Context, url, contentType string, body []byte, limit int64) (int, []byte, error) {
		var rd io.Reader = http.NoBody
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return 0, nil, err
		}
		if int64(len(data)) > limit {
			return 0, nil, fmt.Errorf("response over %d bytes: %w", limit, transport.ErrMessageTooBig)
		}
		return resp.StatusCode, data, nil
	}
	c, err := dial(ctx, baseURL, clientConfig{protocols: o.Protocols, timeout: o.RequestTimeout, readLimit: o.ReadLimit, post: post})
	if err != nil {
		return nil, err
	}
	return c, nil
}
