//go:build js

package websocket

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket/internal/wsjs"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// peer is one end of a WAMP WebSocket connection in the browser, over
// package wsjs. It behaves as the native peer in websocket.go does. It
// implements transport.Peer, transport.BatchSender, transport.Pinger,
// transport.ReadLimiter and transport.SendLimiter.
type peer struct {
	conn    *wsjs.Conn
	codec   codec.Codec
	batched bool
	info    transport.Info

	// ctx bounds every read; drop cancels it when the peer is closed.
	ctx     context.Context
	drop    func()
	closing atomic.Bool
	// sendLimit is the other side's largest message (SetSendLimit), 0
	// for none.
	sendLimit atomic.Int64

	// pending holds the messages of a batched frame that Recv has not
	// returned yet. Only the Recv goroutine touches it.
	pending [][]byte
}

var (
	_ transport.Peer        = (*peer)(nil)
	_ transport.BatchSender = (*peer)(nil)
	_ transport.Pinger      = (*peer)(nil)
	_ transport.ReadLimiter = (*peer)(nil)
	_ transport.Pusher      = (*peer)(nil)
	_ transport.SendLimiter = (*peer)(nil)
)

func newPeer(ctx context.Context, drop func(), conn *wsjs.Conn, c codec.Codec, batched bool, readLimit int64, remoteAddr string) *peer {
	switch {
	case readLimit == 0:
		readLimit = DefaultReadLimit
	case readLimit < 0:
		readLimit = -1
	}
	conn.SetReadLimit(readLimit)
	return &peer{
		conn:    conn,
		codec:   c,
		batched: batched,
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

// Send encodes m and writes it as one message (for a batched subprotocol,
// a batch of one). A *codec.Prepared is encoded once per serializer.
func (p *peer) Send(m wamp.Message) error {
	return p.send([]wamp.Message{m})
}

// SendBatch writes ms as one message on a batched subprotocol, otherwise as
// one message each.
func (p *peer) SendBatch(ms []wamp.Message) error {
	if p.batched {
		return p.send(ms)
	}
	for _, m := range ms {
		if err := p.send([]wamp.Message{m}); err != nil {
			return err
		}
	}
	return nil
}

// send writes one WebSocket message: ms[0] alone on a plain subprotocol,
// all of ms as a batch on a batched one.
func (p *peer) send(ms []wamp.Message) error {
	for _, m := range ms {
		if m == nil {
			return errors.New("websocket: send of a nil message")
		}
	}
	if p.closing.Load() {
		return fmt.Errorf("websocket: send: %w", transport.ErrClosed)
	}
	enc := getBuf()
	defer putBuf(enc)
	var data []byte
	if p.batched {
		batch := getBuf()
		defer putBuf(batch)
		for _, m := range ms {
			b, err := p.encode(enc, m)
			if err != nil {
				return err
			}
			*batch = codec.AppendBatch(*batch, p.codec, b)
		}
		data = *batch
	} else {
		var err error
		if data, err = p.encode(enc, ms[0]); err != nil {
			return err
		}
	}
	if err := checkSendLimit(ms[0], len(data), p.sendLimit.Load()); err != nil {
		return err
	}
	if err := p.conn.Write(p.codec.Binary(), data); err != nil {
		p.Close()
		return fmt.Errorf("websocket: send: %w: %w", transport.ErrClosed, err)
	}
	return nil
}

// SetSendLimit makes Send refuse a message whose frame would be above n
// bytes, with a *transport.SendTooBigError; n <= 0 removes the bound.
func (p *peer) SetSendLimit(n int64) { p.sendLimit.Store(n) }

// encode returns the encoding of m, built in buf unless m is a
// *codec.Prepared, whose cached encoding is shared with other peers and
// read only.
func (p *peer) encode(buf *[]byte, m wamp.Message) ([]byte, error) {
	var data []byte
	var err error
	if _, ok := m.(*codec.Prepared); ok {
		data, err = codec.Marshal(p.codec, m)
	} else {
		data, err = p.codec.Encode((*buf)[:0], m)
		*buf = data
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: encode %v: %w", m.Type(), err)
	}
	return data, nil
}

// Recv returns the next message. A batched message is returned one WAMP
// message at a time. Text and binary messages are both accepted and
// decoded with the negotiated serializer.
func (p *peer) Recv() (wamp.Message, error) {
	for len(p.pending) == 0 {
		if p.closing.Load() {
			return nil, fmt.Errorf("websocket: recv: %w", transport.ErrClosed)
		}
		data, err := p.conn.Read(p.ctx)
		if err != nil {
			// No failed read leaves the connection usable.
			p.Close()
			return nil, readError(err)
		}
		if !p.batched {
			return p.decode(data)
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

// Push has deliver receive the messages in place of Recv (see
// transport.Pusher): each as the browser delivers it, decoded, a batch
// one message at a time; then the error that Recv would return.
func (p *peer) Push(deliver func(wamp.Message, error) bool) {
	p.conn.Push(func(data []byte, err error) bool {
		if err != nil {
			// Closing waits for the close handshake: not here.
			go p.Close()
			deliver(nil, readError(err))
			return false
		}
		if !p.batched {
			return deliver(p.decode(data))
		}
		parts, err := codec.SplitBatch(p.codec, data)
		if err != nil {
			return deliver(nil, invalid(err))
		}
		for _, part := range parts {
			if !deliver(p.decode(part)) {
				return false
			}
		}
		return true
	})
}

func (p *peer) decode(data []byte) (wamp.Message, error) {
	m, err := p.codec.Decode(data)
	if err != nil {
		return nil, invalid(err)
	}
	return m, nil
}

// readError turns a failed read into the transport's errors.
func readError(err error) error {
	if errors.Is(err, wsjs.ErrMessageTooBig) {
		return fmt.Errorf("websocket: recv: %w: %w", transport.ErrMessageTooBig, err)
	}
	return fmt.Errorf("websocket: recv: %w: %w", transport.ErrClosed, err)
}

// Close starts the WebSocket close handshake and waits for the other side
// to answer it for at most about a second, then drops the connection. It
// unblocks Send and Recv. Calls after the first return nil at once.
func (p *peer) Close() error {
	if p.closing.Swap(true) {
		return nil
	}
	if p.conn.Close(1000, "") == nil {
		t := time.NewTimer(closeTimeout)
		select {
		case <-p.conn.Done():
		case <-t.C:
		}
		t.Stop()
	}
	p.conn.CloseNow()
	p.drop()
	return nil
}

// Ping returns nil at once, or an error wrapping transport.ErrClosed after
// Close: a browser offers no WebSocket ping to scripts (it answers the
// server's pings itself).
func (p *peer) Ping(context.Context) error {
	if p.closing.Load() {
		return fmt.Errorf("websocket: ping: %w", transport.ErrClosed)
	}
	return nil
}

// SetReadLimit sets the largest message, in bytes, that Recv accepts; a
// negative n removes the limit. A larger message makes Recv return an error
// wrapping transport.ErrMessageTooBig and closes the connection. For a
// batched subprotocol the limit applies to the whole message.
func (p *peer) SetReadLimit(n int64) {
	if n < 0 {
		n = -1
	}
	p.conn.SetReadLimit(n)
}

// Info describes the connection.
func (p *peer) Info() transport.Info { return p.info }
