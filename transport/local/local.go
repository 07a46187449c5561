// Package local connects a client and a router inside one process: a pair
// of peers that pass messages as Go values, with no encoding.
//
// A message is shared, not copied: the receiver gets the very value that
// the sender passed, and a router fans one EVENT out to every local
// subscriber as the same value. Receivers must not modify received
// messages, nor senders the messages they sent.
package local

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Capacity is how many messages each direction holds before Send blocks.
// The bound keeps a stalled receiver from growing memory: the router's
// bounded outbound queue and its slow-consumer handling sit above it, and a
// client that stops reading stalls its sender here instead of piling up
// messages.
const Capacity = 64

// Pair returns the two ends of a new in-process connection. What one end
// sends, the other receives in order.
func Pair() (client, server transport.Peer) {
	c := &conn{done: make(chan struct{})}
	toServer := make(chan wamp.Message, Capacity)
	toClient := make(chan wamp.Message, Capacity)
	client = &peer{conn: c, in: toClient, out: toServer}
	server = &peer{conn: c, in: toServer, out: toClient}
	return client, server
}

// conn is what both ends share: closing either end closes it.
type conn struct {
	once sync.Once
	done chan struct{}
}

func (c *conn) close() { c.once.Do(func() { close(c.done) }) }

func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// peer is one end of a Pair.
type peer struct {
	*conn
	in  chan wamp.Message
	out chan wamp.Message

	closer atomic.Bool // this end called Close
}

var errClosed = fmt.Errorf("local: %w", transport.ErrClosed)

// Send passes m to the other end, blocking while its queue is full. A
// *codec.Prepared arrives unwrapped.
func (p *peer) Send(m wamp.Message) error {
	m = codec.Unwrap(m)
	if m == nil {
		return errors.New("local: send of a nil message")
	}
	if p.closed() {
		return errClosed
	}
	select {
	case p.out <- m:
		return nil
	case <-p.done:
		return errClosed
	}
}

// Recv returns the next message. Once the connection is closed, an end
// that did not close it still receives what was sent before, then
// ErrClosed; an end that called Close gets ErrClosed at once.
func (p *peer) Recv() (wamp.Message, error) {
	if p.closer.Load() {
		return nil, errClosed
	}
	select {
	case m := <-p.in:
		return m, nil
	case <-p.done:
	}
	if p.closer.Load() {
		return nil, errClosed
	}
	select {
	case m := <-p.in:
		return m, nil
	default:
		return nil, errClosed
	}
}

// Close closes the connection for both ends and unblocks their Send and
// Recv. It never fails; calls after the first do nothing.
func (p *peer) Close() error {
	p.closer.Store(true)
	p.conn.close()
	return nil
}

// Info describes the connection: Transport "local", no serializer.
func (p *peer) Info() transport.Info {
	return transport.Info{Transport: "local"}
}
