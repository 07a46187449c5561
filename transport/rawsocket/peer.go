//go:build !js

package rawsocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/admission"
	"github.com/wampkit/wampkit/transport/internal/nbconn"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// closeTimeout bounds how long Close waits for buffered messages to be
// written before it drops the connection.
const closeTimeout = time.Second

// peer is one end of a raw socket connection. It implements
// transport.Peer, transport.BatchSender, transport.Pinger and
// transport.ReadLimiter, and on the accepting side
// transport.NonBlockingSender.
type peer struct {
	conn  net.Conn
	r     *bufio.Reader
	codec codec.Codec
	info  transport.Info

	// w writes whole frames, one call per frame or batch of frames: an
	// *nbconn.Writer on the accepting side, a *lockedWriter on the dialing
	// side.
	w  io.Writer
	nb *nbconn.Writer // w, on the accepting side

	// adm is the connection's admission credit (Joined, Misbehaved); nil
	// when no admission.Listener accepted it.
	adm *admission.Conn

	sendLimit int          // the other side's announced limit
	maxRead   int64        // our announced limit
	readLimit atomic.Int64 // the current limit, at most maxRead

	// readErr, once set, is returned by every Recv: the stream lost its
	// framing. Only the Recv goroutine touches it.
	readErr error

	closing atomic.Bool
	done    chan struct{} // closed by Close
	release func()        // called once by Close; may be nil

	pingMu  sync.Mutex
	pings   map[string]chan struct{} // by payload, the pings waiting for a PONG
	pingSeq atomic.Uint64
}

var (
	_ transport.Peer              = (*peer)(nil)
	_ transport.BatchSender       = (*peer)(nil)
	_ transport.Pinger            = (*peer)(nil)
	_ transport.ReadLimiter       = (*peer)(nil)
	_ transport.NonBlockingSender = (*peer)(nil)
)

// lockedWriter serializes the writes of the dialing side, which block on
// the network.
type lockedWriter struct {
	mu   sync.Mutex
	conn net.Conn
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn.Write(p)
}

// peerConfig is what the handshake settled.
type peerConfig struct {
	conn      net.Conn
	r         *bufio.Reader // holds what was read past the handshake
	codec     codec.Codec
	sendLimit int
	maxRead   int64
	// writeLimit, when positive, makes writes non-blocking with that
	// bound on buffered bytes (the accepting side).
	writeLimit int
	release    func()
}

func newPeer(c peerConfig) *peer {
	p := &peer{
		conn:      c.conn,
		r:         c.r,
		codec:     c.codec,
		sendLimit: c.sendLimit,
		maxRead:   c.maxRead,
		done:      make(chan struct{}),
		release:   c.release,
		adm:       admission.Of(c.conn),
		info: transport.Info{
			Transport:  "rawsocket",
			Serializer: c.codec.Name(),
			RemoteAddr: remoteAddr(c.conn),
		},
	}
	p.readLimit.Store(c.maxRead)
	if c.writeLimit > 0 {
		p.nb = nbconn.New(c.conn, c.writeLimit)
		p.w = p.nb
	} else {
		p.w = &lockedWriter{conn: c.conn}
	}
	return p
}

// Joined tells the listener that admitted the connection that a session
// joined on it (transport.Creditor).
func (p *peer) Joined() { p.adm.Joined() }

// Misbehaved tells the listener that admitted the connection that the
// router ended its session for breaking the protocol (transport.Creditor).
func (p *peer) Misbehaved() { p.adm.Misbehaved() }

// remoteAddr names the other end for logs: its address, or for a Unix
// socket, whose client is usually unnamed, the socket's path.
func remoteAddr(conn net.Conn) string {
	if a := conn.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		return a.String()
	}
	if a := conn.LocalAddr(); a != nil {
		return a.Network() + ":" + a.String()
	}
	return ""
}

// Send encodes m and writes it as one frame. A *codec.Prepared is encoded
// once per serializer. A message above the other side's limit is not sent:
// Send returns an error wrapping a *transport.SendTooBigError (and so
// transport.ErrMessageTooBig) and the connection stays usable.
func (p *peer) Send(m wamp.Message) error {
	if p.closing.Load() {
		return fmt.Errorf("rawsocket: send: %w", transport.ErrClosed)
	}
	buf := getBuf()
	defer putBuf(buf)
	b, err := p.appendFrame((*buf)[:0], m)
	*buf = b
	if err != nil {
		return err
	}
	if err := p.write(b); err != nil {
		return fmt.Errorf("rawsocket: send: %w", err)
	}
	return nil
}

// SendBatch writes ms like Send for each, in a single write to the
// connection. When a message cannot be sent, the ones before it are
// written and its error is returned; for one above the other side's limit,
// a *transport.SendTooBigError names it.
func (p *peer) SendBatch(ms []wamp.Message) error {
	if p.closing.Load() {
		return fmt.Errorf("rawsocket: send: %w", transport.ErrClosed)
	}
	buf := getBuf()
	defer putBuf(buf)
	b := (*buf)[:0]
	var err error
	for _, m := range ms {
		if b, err = p.appendFrame(b, m); err != nil {
			break
		}
	}
	*buf = b
	if len(b) > 0 {
		if werr := p.write(b); werr != nil {
			return fmt.Errorf("rawsocket: send: %w", werr)
		}
	}
	return err
}

// appendFrame appends the frame of m to dst. On error it returns dst
// unchanged.
func (p *peer) appendFrame(dst []byte, m wamp.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("rawsocket: send of a nil message")
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var err error
	if _, ok := m.(*codec.Prepared); ok {
		var data []byte
		// The cached encoding is shared with other peers: read only.
		data, err = codec.Marshal(p.codec, m)
		dst = append(dst, data...)
	} else {
		dst, err = p.codec.Encode(dst, m)
	}
	if err != nil {
		return dst[:start], fmt.Errorf("rawsocket: encode %v: %w", m.Type(), err)
	}
	n := len(dst) - start - headerSize
	if n > p.sendLimit {
		return dst[:start], fmt.Errorf("rawsocket: send: %w", &transport.SendTooBigError{Message: m, Size: n, Limit: p.sendLimit})
	}
	putHeader(dst[start:], frameMessage, n)
	return dst, nil
}

// write writes whole frames. A failed write closes the connection; the
// error wraps transport.ErrClosed.
func (p *peer) write(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		p.Close()
		return fmt.Errorf("%w: %w", transport.ErrClosed, err)
	}
	return nil
}

// SendsWithoutBlocking reports whether Send and SendBatch never wait for
// the network: true on the accepting side (see Config.WriteBufferLimit).
func (p *peer) SendsWithoutBlocking() bool { return p.nb != nil }

// Recv returns the next WAMP message. It answers each PING with a PONG at
// once and hands each PONG to the Ping that waits for it, so Ping needs a
// goroutine in Recv. A frame above the read limit closes the connection and
// returns an error wrapping transport.ErrMessageTooBig. A frame header with
// reserved bits or a reserved type returns an error wrapping
// wamp.ErrInvalidMessage; the stream has then lost its framing, so every
// later Recv fails, but Send still works (a router sends ABORT).
func (p *peer) Recv() (wamp.Message, error) {
	for {
		if p.readErr != nil {
			return nil, p.readErr
		}
		if p.closing.Load() {
			return nil, fmt.Errorf("rawsocket: recv: %w", transport.ErrClosed)
		}
		var h [headerSize]byte
		if _, err := io.ReadFull(p.r, h[:]); err != nil {
			return nil, p.readError(err)
		}
		typ := h[0]
		n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		if typ > framePong {
			p.readErr = fmt.Errorf("rawsocket: recv: %w: the stream lost its framing", transport.ErrClosed)
			return nil, invalid(fmt.Errorf("frame header with reserved type or bits 0x%02x", typ))
		}
		if limit := p.readLimit.Load(); int64(n) > limit {
			p.Close()
			return nil, fmt.Errorf("rawsocket: recv: %w: a frame of %d bytes is above the limit of %d", transport.ErrMessageTooBig, n, limit)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(p.r, data); err != nil {
			return nil, p.readError(err)
		}
		switch typ {
		case frameMessage:
			m, err := p.codec.Decode(data)
			if err != nil {
				return nil, invalid(err)
			}
			return m, nil
		case framePing:
			p.pong(data)
		case framePong:
			p.gotPong(data)
		}
	}
}

// readError turns a failed read into the transport's error and closes the
// connection, which no failed read leaves usable.
func (p *peer) readError(err error) error {
	p.Close()
	return fmt.Errorf("rawsocket: recv: %w: %w", transport.ErrClosed, err)
}

// pong answers a PING with the same payload. A payload above the other
// side's limit cannot be echoed: the other side broke the protocol, and
// the connection is dropped.
func (p *peer) pong(payload []byte) {
	if len(payload) > p.sendLimit {
		p.Close()
		return
	}
	b := make([]byte, headerSize+len(payload))
	putHeader(b, framePong, len(payload))
	copy(b[headerSize:], payload)
	p.write(b) // a failure closes the connection, which the next read sees
}

// gotPong wakes the Ping that sent payload, if one waits.
func (p *peer) gotPong(payload []byte) {
	p.pingMu.Lock()
	defer p.pingMu.Unlock()
	if ch, ok := p.pings[string(payload)]; ok {
		close(ch)
		delete(p.pings, string(payload))
	}
}

// Ping sends a PING and waits for the PONG that echoes its payload, or
// ctx. Another goroutine must be in Recv meanwhile: that is where the PONG
// is read.
func (p *peer) Ping(ctx context.Context) error {
	if p.closing.Load() {
		return fmt.Errorf("rawsocket: ping: %w", transport.ErrClosed)
	}
	// ASCII, short and unique on this connection: some implementations
	// (Autobahn|JS) echo the payload through a UTF-8 string.
	payload := "wampkit-" + strconv.FormatUint(p.pingSeq.Add(1), 10)
	ch := make(chan struct{})
	p.pingMu.Lock()
	if p.pings == nil {
		p.pings = make(map[string]chan struct{})
	}
	p.pings[payload] = ch
	p.pingMu.Unlock()
	defer func() {
		p.pingMu.Lock()
		delete(p.pings, payload)
		p.pingMu.Unlock()
	}()
	b := make([]byte, headerSize+len(payload))
	putHeader(b, framePing, len(payload))
	copy(b[headerSize:], payload)
	if err := p.write(b); err != nil {
		return fmt.Errorf("rawsocket: ping: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-p.done:
		return fmt.Errorf("rawsocket: ping: %w", transport.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("rawsocket: ping: %w", ctx.Err())
	}
}

// SetReadLimit sets the largest message, in bytes, that Recv accepts. It
// cannot exceed what the handshake announced, which a negative n restores.
// A larger frame makes Recv return an error wrapping
// transport.ErrMessageTooBig and closes the connection.
func (p *peer) SetReadLimit(n int64) {
	if n < 0 || n > p.maxRead {
		n = p.maxRead
	}
	p.readLimit.Store(n)
}

// Close closes the connection, after at most about a second spent writing
// what the accepting side still buffers. It unblocks Send, Recv and Ping.
// Calls after the first return nil at once.
func (p *peer) Close() error {
	if p.closing.Swap(true) {
		return nil
	}
	close(p.done)
	if p.nb != nil {
		p.nb.Drain(closeTimeout)
	}
	err := p.conn.Close()
	if p.release != nil {
		p.release()
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("rawsocket: close: %w", err)
	}
	return nil
}

// Info describes the connection.
func (p *peer) Info() transport.Info { return p.info }
