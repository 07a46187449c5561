//go:build !js

package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport/internal/nbconn"
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

// dial performs the handshake. It also returns a function that drops the
// connection by closing its network connection, or nil when the HTTP
// client's transport is not an *http.Transport, whose dialing it can
// watch.
func dial(ctx context.Context, url string, protos []string, o *DialOptions) (*ws.Conn, func(), error) {
	hc, dialed := watchDials(o.HTTPClient)
	conn, resp, err := ws.Dial(ctx, url, &ws.DialOptions{
		HTTPClient:   hc,
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: protos,
	})
	if dialed != nil {
		// Connections that did not become the WebSocket (a redirect's)
		// must not linger in a transport that nobody else uses.
		dialed.transport.CloseIdleConnections()
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			// The router's refusal says why, in plain text.
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			if reason := strings.TrimSpace(string(body)); reason != "" {
				return nil, nil, fmt.Errorf("%w: %s", err, reason)
			}
		}
		return nil, nil, err
	}
	if dialed == nil || !dialed.any() {
		return conn, nil, nil
	}
	return conn, dialed.closeAll, nil
}

// dialedConns records the connections that a handshake's HTTP transport
// opened: closing them drops the WebSocket, so that reads and writes need
// no cancelable context, which would cost allocations on every message.
type dialedConns struct {
	transport *http.Transport
	mu        sync.Mutex
	conns     []net.Conn
}

// watchDials returns a copy of hc (nil: http.DefaultClient) whose
// transport, a clone of its own, records the connections it opens; or hc
// and nil when its transport is not an *http.Transport.
func watchDials(hc *http.Client) (*http.Client, *dialedConns) {
	if hc == nil {
		hc = http.DefaultClient
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok || t.Dial != nil || t.DialTLS != nil { // the deprecated hooks are left alone
		return hc, nil
	}
	d := &dialedConns{transport: t.Clone()}
	dialContext := d.transport.DialContext
	if dialContext == nil {
		dialContext = (&net.Dialer{}).DialContext
	}
	d.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.record(dialContext(ctx, network, addr))
	}
	if dialTLS := d.transport.DialTLSContext; dialTLS != nil {
		d.transport.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.record(dialTLS(ctx, network, addr))
		}
	}
	c := *hc
	c.Transport = d.transport
	return &c, d
}

func (d *dialedConns) record(c net.Conn, err error) (net.Conn, error) {
	if err == nil {
		c = nbconn.Wrap(c) // raw system calls where the connection can
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

// any reports whether the transport opened a connection.
func (d *dialedConns) any() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns) > 0
}

// closeAll closes every connection the transport opened.
func (d *dialedConns) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
}
