//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/admission"
	"github.com/wampkit/wampkit/transport/internal/clientcert"
	"github.com/wampkit/wampkit/wamp/codec"
)

// CompressionMode selects permessage-deflate compression.
type CompressionMode = ws.CompressionMode

// The compression modes. Compression costs CPU on every message and, with
// context takeover, tens of KiB of memory per connection; it pays only for
// large, repetitive payloads on slow links.
const (
	// CompressionDisabled turns compression off (the default).
	CompressionDisabled = ws.CompressionDisabled
	// CompressionNoContextTakeover compresses each message on its own.
	CompressionNoContextTakeover = ws.CompressionNoContextTakeover
	// CompressionContextTakeover keeps the compression window across
	// messages: better ratios, much more memory per connection.
	CompressionContextTakeover = ws.CompressionContextTakeover
)

// AcceptOptions configures [Accept]. The zero value (or nil) is ready.
type AcceptOptions struct {
	// OriginPatterns widens the Origin check, which stops a page on another
	// site from connecting with the user's cookies (cross-site WebSocket
	// hijacking). By default only same-origin requests and requests without
	// an Origin header (non-browser clients) are accepted. Each pattern is
	// matched against the Origin's host with path.Match, or against
	// "scheme://host" when it contains "://", for example "example.com" or
	// "*.example.com". A foreign Origin gets 403 Forbidden.
	OriginPatterns []string
	// ReadLimit is the largest message, in bytes, that the peer accepts at
	// first: zero means DefaultReadLimit, a negative value no limit. A
	// router lowers it until WELCOME and raises it after with
	// SetReadLimit.
	ReadLimit int64
	// Codecs lists the serializers that the router speaks, each plain and
	// batched; nil means codec.All.
	Codecs []codec.Codec
	// WriteBufferLimit bounds the bytes written to a peer that its
	// connection has not taken yet. Writes never block: what the socket
	// cannot take at once waits in a buffer written in the background, so
	// that a router can write from its routing goroutine; a peer that does
	// not read fast enough would otherwise grow that buffer without end.
	// Past the limit the connection is dropped and writes fail with an
	// error wrapping transport.ErrSlowConsumer. Zero means
	// DefaultWriteBufferLimit.
	WriteBufferLimit int
	// CompressionMode enables permessage-deflate when the client asks for
	// it. The default, CompressionDisabled, keeps memory per connection
	// small.
	CompressionMode CompressionMode
	// Cookie, when set, is called with the upgrade request before the
	// response is written: it may add a Set-Cookie header to h, and what
	// it returns becomes the peer's Info().CookieID. A router issues its
	// tracking cookie for cookie authentication this way.
	Cookie func(r *http.Request, h http.Header) string
}

// Accept upgrades an HTTP request to a WAMP WebSocket connection. It picks
// the first subprotocol in the client's list that one of opts.Codecs
// speaks. A request that offers none (or no subprotocol at all) gets 400
// Bad Request with a plain-text reason, and a foreign Origin gets 403;
// Accept has then written the response and returns an error.
//
// The returned peer also implements transport.Pinger and
// transport.ReadLimiter. It owns its connection and starts no goroutine.
// Return from the HTTP handler and serve the peer from goroutines of your
// own: a handler that stays in Recv keeps net/http's request, response and
// buffers alive, about 15 KiB more per connection.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (transport.Peer, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = codec.All
	}
	offered := offeredSubprotocols(r.Header)
	c, batched, proto := selectSubprotocol(offered, codecs)
	if c == nil {
		reason := "no WAMP subprotocol offered"
		if len(offered) > 0 {
			reason = "no supported WAMP subprotocol offered (got " + strings.Join(offered, ", ") + ")"
		}
		reason += "; this router speaks " + strings.Join(subprotocols(codecs), ", ")
		http.Error(w, reason, http.StatusBadRequest)
		return nil, fmt.Errorf("websocket: accept: %s", reason)
	}
	writeLimit := o.WriteBufferLimit
	if writeLimit <= 0 {
		writeLimit = DefaultWriteBufferLimit
	}
	var cookieID string
	if o.Cookie != nil {
		cookieID = o.Cookie(r, w.Header())
	}
	h := &hijacker{ResponseWriter: w, writeLimit: writeLimit}
	conn, err := ws.Accept(h.wrap(), r, &ws.AcceptOptions{
		Subprotocols:    []string{proto},
		OriginPatterns:  o.OriginPatterns,
		CompressionMode: o.CompressionMode,
	})
	if err != nil {
		return nil, fmt.Errorf("websocket: accept: %w", err)
	}
	// Let net/http's request, response and their buffers go.
	h.ResponseWriter = nil
	p := newPeer(context.Background(), h.close, conn, c, batched, o.ReadLimit, r.RemoteAddr)
	p.info.CookieID = cookieID
	clientcert.Fill(&p.info, r.TLS)
	p.server = h.conn
	p.adm = admission.Of(h.conn.Conn)
	p.server.setReadLimit(initialReadLimit(o.ReadLimit))
	return p, nil
}

// Joined tells the listener that admitted the accepted connection that a
// session joined on it (transport.Creditor).
func (p *peer) Joined() { p.adm.Joined() }

// Misbehaved tells the listener that admitted the accepted connection that
// the router ended its session for breaking the protocol
// (transport.Creditor).
func (p *peer) Misbehaved() { p.adm.Misbehaved() }

// DefaultWriteBufferLimit is the default AcceptOptions.WriteBufferLimit.
const DefaultWriteBufferLimit = 16 << 20

// SendsWithoutBlocking reports whether Send and SendBatch never wait for
// the network: true for an accepted peer (see AcceptOptions.WriteBufferLimit).
func (p *peer) SendsWithoutBlocking() bool { return p.server != nil }

// offeredSubprotocols lists the subprotocols of a handshake request in the
// client's order of preference.
func offeredSubprotocols(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// selectSubprotocol returns the first offered subprotocol that one of
// codecs speaks.
func selectSubprotocol(offered []string, codecs []codec.Codec) (codec.Codec, bool, string) {
	for _, p := range offered {
		for _, c := range codecs {
			for _, batched := range []bool{false, true} {
				if codec.Subprotocol(c, batched) == p {
					return c, batched, p
				}
			}
		}
	}
	return nil, false, ""
}

// subprotocols lists every subprotocol of codecs, plain then batched.
func subprotocols(codecs []codec.Codec) []string {
	out := make([]string, 0, 2*len(codecs))
	for _, batched := range []bool{false, true} {
		for _, c := range codecs {
			out = append(out, codec.Subprotocol(c, batched))
		}
	}
	return out
}

// The buffers of an accepted connection. net/http hands a hijacked
// connection 4 KiB buffers each way, which would stay with the connection
// for its life; most WAMP messages are far smaller, and reads and writes
// larger than a buffer bypass it.
const (
	readBufferSize  = 1 << 10
	writeBufferSize = 1 << 10
)

// hijacker wraps an http.ResponseWriter so that hijacking it yields a
// connection with small buffers, and keeps the net.Conn to drop it.
type hijacker struct {
	http.ResponseWriter
	conn       *serverConn
	writeLimit int
}

// wrap returns h, or the original ResponseWriter when that cannot be
// hijacked, so that Accept reports it.
func (h *hijacker) wrap() http.ResponseWriter {
	for rw := h.ResponseWriter; ; {
		switch t := rw.(type) {
		case http.Hijacker:
			return h
		case interface{ Unwrap() http.ResponseWriter }:
			rw = t.Unwrap()
		default:
			return h.ResponseWriter
		}
	}
}

// Unwrap gives http.ResponseController the original ResponseWriter.
func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Hijack takes the connection over from net/http with small buffers.
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	sc := newServerConn(conn, h.writeLimit)
	if n := brw.Reader.Buffered(); n > 0 {
		// Frames that the client sent right behind its handshake. They must
		// come before anything else read from the connection: coder/websocket
		// rebuilds its reader on the net.Conn it gets here, so they travel
		// inside the conn, not inside a reader wrapped around it.
		b, _ := brw.Reader.Peek(n)
		sc.prefix = bytes.Clone(b)
	}
	h.conn = sc
	return sc, bufio.NewReadWriter(bufio.NewReaderSize(sc, readBufferSize), bufio.NewWriterSize(sc, writeBufferSize)), nil
}

// close drops the hijacked connection.
func (h *hijacker) close() {
	h.conn.Close()
}
