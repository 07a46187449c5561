//go:build !js

package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/admission"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// peer is one end of a WAMP WebSocket connection over coder/websocket
// (peer_js.go holds the browser's). It implements transport.Peer,
// transport.Pinger, transport.ReadLimiter and transport.SendLimiter.
type peer struct {
	conn    *ws.Conn
	codec   codec.Codec
	batched bool
	frame   ws.MessageType
	info    transport.Info
	// adm is the accepted connection's admission credit (Joined,
	// Misbehaved); nil when no admission.Listener accepted it.
	adm *admission.Conn

	// ctx bounds every read and write, and drop ends the connection at
	// once: Close calls it when the close handshake has not finished in
	// time. The accepting side closes the hijacked net.Conn and reads and
	// writes with context.Background(), which costs nothing per message;
	// the dialing side, which has no net.Conn, cancels ctx.
	ctx     context.Context
	drop    func()
	closing atomic.Bool
	// sendLimit is the other side's largest message (SetSendLimit), 0
	// for none.
	sendLimit atomic.Int64

	// server is the accepted connection under conn, on the accepting side
	// only: it lets SendBatch write a batch of frames with one write(2),
	// and refuses an over-size frame from its header.
	server *serverConn

	// pending holds the messages of a batched frame that Recv has not
	// returned yet. Only the Recv goroutine touches it.
	pending [][]byte
}

var (
	_ transport.Peer        = (*peer)(nil)
	_ transport.Pinger      = (*peer)(nil)
	_ transport.ReadLimiter = (*peer)(nil)
	_ transport.Dropper     = (*peer)(nil)
	_ transport.SendLimiter = (*peer)(nil)
)

func newPeer(ctx context.Context, drop func(), conn *ws.Conn, c codec.Codec, batched bool, readLimit int64, remoteAddr string) *peer {
	conn.SetReadLimit(initialReadLimit(readLimit))
	frame := ws.MessageText
	if c.Binary() {
		frame = ws.MessageBinary
	}
	return &peer{
		conn:    conn,
		codec:   c,
		batched: batched,
		frame:   frame,
		info: transport.Info{
			Transport:  "websocket",
			Serializer: c.Name(),
			Batched:    batched,
			RemoteAddr: remoteAddr,
		},
		ctx:  ctx,
		drop: drop,
	}
}

// Send encodes m and writes it as one frame (for a batched subprotocol, a
// batch of one). A *codec.Prepared is encoded once per serializer.
func (p *peer) Send(m wamp.Message) error {
	if m == nil {
		return errors.New("websocket: send of a nil message")
	}
	if p.closing.Load() {
		return fmt.Errorf("websocket: send: %w", transport.ErrClosed)
	}
	enc := getBuf()
	defer putBuf(enc)
	var data []byte
	var err error
	if _, ok := m.(*codec.Prepared); ok {
		// The cached encoding is shared with other peers: read only.
		data, err = codec.Marshal(p.codec, m)
	} else {
		data, err = p.codec.Encode((*enc)[:0], m)
		*enc = data
	}
	if err != nil {
		return fmt.Errorf("websocket: encode %v: %w", m.Type(), err)
	}
	if p.batched {
		batch := getBuf()
		defer putBuf(batch)
		*batch = codec.AppendBatch((*batch)[:0], p.codec, data)
		data = *batch
	}
	if err := checkSendLimit(m, len(data), p.sendLimit.Load()); err != nil {
		return err
	}
	if err := p.conn.Write(p.ctx, p.frame, data); err != nil {
		p.Close()
		return fmt.Errorf("websocket: send: %w: %w", transport.ErrClosed, err)
	}
	return nil
}

// SetSendLimit makes Send refuse a message whose frame would be above n
// bytes, with a *transport.SendTooBigError; n <= 0 removes the bound.
func (p *peer) SetSendLimit(n int64) { p.sendLimit.Store(n) }

// initialReadLimit is the read limit that the options' n stands for: zero
// is DefaultReadLimit, a negative value no limit (-1).
func initialReadLimit(n int64) int64 {
	switch {
	case n == 0:
		return DefaultReadLimit
	case n < 0:
		return -1
	}
	return n
}

// SendBatch writes several messages for the cost of about one: on a
// batched subprotocol as one frame, otherwise as one frame each but in a
// single write to the connection where the accepting side allows it.
func (p *peer) SendBatch(ms []wamp.Message) error {
	switch {
	case len(ms) == 1:
		return p.Send(ms[0])
	case p.batched:
		return p.sendBatchFrame(ms)
	case p.server == nil:
		for _, m := range ms {
			if err := p.Send(m); err != nil {
				return err
			}
		}
		return nil
	}
	p.server.cork()
	for i, m := range ms {
		if i == len(ms)-1 {
			p.server.flushWithNext()
		}
		if err := p.Send(m); err != nil {
			p.server.uncork()
			return err
		}
	}
	if err := p.server.uncork(); err != nil {
		p.Close()
		return fmt.Errorf("websocket: send: %w: %w", transport.ErrClosed, err)
	}
	return nil
}

// sendBatchFrame writes ms as one frame of a batched subprotocol.
func (p *peer) sendBatchFrame(ms []wamp.Message) error {
	if p.closing.Load() {
		return fmt.Errorf("websocket: send: %w", transport.ErrClosed)
	}
	batch := getBuf()
	defer putBuf(batch)
	enc := getBuf()
	defer putBuf(enc)
	for _, m := range ms {
		if m == nil {
			return errors.New("websocket: send of a nil message")
		}
		var data []byte
		var err error
		if _, ok := m.(*codec.Prepared); ok {
			data, err = codec.Marshal(p.codec, m)
		} else {
			data, err = p.codec.Encode((*enc)[:0], m)
			*enc = data
		}
		if err != nil {
			return fmt.Errorf("websocket: encode %v: %w", m.Type(), err)
		}
		*batch = codec.AppendBatch(*batch, p.codec, data)
	}
	if err := checkSendLimit(ms[0], len(*batch), p.sendLimit.Load()); err != nil {
		return err
	}
	if err := p.conn.Write(p.ctx, p.frame, *batch); err != nil {
		p.Close()
		return fmt.Errorf("websocket: send: %w: %w", transport.ErrClosed, err)
	}
	return nil
}

// Recv returns the next message. A batched frame is returned one message
// at a time. Frames of either type are accepted and decoded with the
// negotiated serializer.
func (p *peer) Recv() (wamp.Message, error) {
	for len(p.pending) == 0 {
		if p.closing.Load() {
			return nil, fmt.Errorf("websocket: recv: %w", transport.ErrClosed)
		}
		if !p.batched {
			buf, err := p.readFrame()
			if err != nil {
				return nil, err
			}
			m, err := p.decode(*buf)
			putBuf(buf)
			return m, err
		}
		_, data, err := p.conn.Read(p.ctx)
		if err != nil {
			return nil, p.readError(err)
		}
		parts, err := codec.SplitBatch(p.codec, data)
		if err != nil {
			return nil, invalid(err)
		}
		p.pending = parts
	}
	data := p.pending[0]
	p.pending[0] = nil
	p.pending = p.pending[1:]
	if len(p.pending) == 0 {
		p.pending = nil
	}
	return p.decode(data)
}

// readFrame reads the next frame into a buffer from the pool, which the
// caller returns with putBuf once the frame is decoded: decoded messages
// keep nothing of their input, so a frame costs no allocation of its own.
// Recv decodes in its own frame, not in this one, so that the stack of a
// router session stays within its first 4 KiB.
func (p *peer) readFrame() (*[]byte, error) {
	_, r, err := p.conn.Reader(p.ctx)
	if err != nil {
		return nil, p.readError(err)
	}
	buf := getBuf()
	data := (*buf)[:0]
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		*buf = data
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			putBuf(buf)
			return nil, p.readError(err)
		}
	}
}

func (p *peer) decode(data []byte) (wamp.Message, error) {
	m, err := p.codec.Decode(data)
	if err != nil {
		return nil, invalid(err)
	}
	return m, nil
}

// readError turns a failed read into the transport's errors and closes
// the connection, which no failed read leaves usable.
func (p *peer) readError(err error) error {
	var refused *frameTooBigError
	if errors.As(err, &refused) {
		// coder/websocket never saw the frame: the close frame that
		// reports it is this peer's to send.
		p.closeWith(ws.StatusMessageTooBig, fmt.Sprintf("message of %d bytes over the limit of %d", refused.size, refused.limit))
		return fmt.Errorf("websocket: recv: %w", refused)
	}
	p.Close()
	if errors.Is(err, ws.ErrMessageTooBig) {
		return fmt.Errorf("websocket: recv: %w: %w", transport.ErrMessageTooBig, err)
	}
	return fmt.Errorf("websocket: recv: %w: %w", transport.ErrClosed, err)
}

// Close starts the WebSocket close handshake and waits for the other side
// to answer it for at most about a second, then drops the connection. It
// unblocks Send and Recv. Calls after the first return nil at once.
func (p *peer) Close() error {
	p.closeWith(ws.StatusNormalClosure, "")
	return nil
}

// closeWith is Close with the status and reason of the close frame.
func (p *peer) closeWith(code ws.StatusCode, reason string) {
	if p.closing.Swap(true) {
		return
	}
	// Unless the handshake ends in time, the connection is dropped, which
	// ends conn.Close. No goroutine of its own: a flood of junk
	// connections closes one per connection.
	t := time.AfterFunc(closeTimeout, p.drop)
	p.conn.Close(code, reason)
	t.Stop()
	p.drop()
}

// Drop ends the connection at once, with no close frame: the other side
// sees it end abnormally (1006). Calls after the first, and Close after
// it, return at once.
func (p *peer) Drop() {
	if p.closing.Swap(true) {
		return
	}
	// Through coder/websocket, not only the connection under it: its Conn
	// keeps a finalizer until it is closed, and holds itself in a cycle
	// (its reader and writer point back to it), which the collector never
	// frees while the finalizer is set. Dropping only the connection under
	// it kept every dropped connection's memory for good.
	p.conn.CloseNow()
	p.drop()
}

// Ping sends a WebSocket ping and waits for the pong or ctx. Another
// goroutine must be in Recv meanwhile: that is where the pong is read. In a
// browser, which offers no ping to scripts, Ping returns nil at once.
func (p *peer) Ping(ctx context.Context) error {
	if p.closing.Load() {
		return fmt.Errorf("websocket: ping: %w", transport.ErrClosed)
	}
	if err := p.conn.Ping(ctx); err != nil {
		if p.closing.Load() || errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("websocket: ping: %w: %w", transport.ErrClosed, err)
		}
		return fmt.Errorf("websocket: ping: %w", err)
	}
	return nil
}

// SetReadLimit sets the largest message, in bytes, that Recv accepts; a
// negative n removes the limit. A larger frame makes Recv return an error
// wrapping transport.ErrMessageTooBig and closes the connection with status
// 1009. For a batched subprotocol the limit applies to the whole frame. On
// the accepting side a frame whose header announces more than n bytes is
// refused from its header, its payload never read.
func (p *peer) SetReadLimit(n int64) {
	if n < 0 {
		n = -1
	}
	p.conn.SetReadLimit(n)
	if p.server != nil {
		p.server.setReadLimit(n)
	}
}

// Info describes the connection.
func (p *peer) Info() transport.Info { return p.info }
