// Package websocket carries WAMP over WebSocket, both ends: [Accept] on the
// router side and [Dial] on the client side, which also builds for
// GOOS=js GOARCH=wasm, where it uses the browser's WebSocket through a small
// syscall/js wrapper (so that net/http stays out of the wasm).
//
// The subprotocols are "wamp.2.json" (text frames), "wamp.2.msgpack" and
// "wamp.2.cbor" (binary frames), and their ".batched" forms, in which one
// frame may carry several messages.
//
// A connection costs no goroutine of its own: the peer reads in the caller
// of Recv and writes in the caller of Send.
package websocket

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// DefaultReadLimit is the largest message, in bytes, that a peer accepts
// when its options leave ReadLimit at zero. A bound is needed because a
// frame is read whole into memory before it is decoded: without one, a
// single frame with a huge length could make the process allocate without
// end. 1 MiB fits every ordinary call and event; a router lowers it further
// until the session is established.
const DefaultReadLimit = 1 << 20

// closeTimeout bounds Close: how long it waits for the other side to answer
// the close handshake before it drops the connection.
const closeTimeout = time.Second

// maxPooledBuffer is the capacity above which an encoding buffer is left to
// the garbage collector instead of the pool, so that one huge message does
// not pin memory for good.
const maxPooledBuffer = 64 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// invalid makes sure that a decoding error wraps wamp.ErrInvalidMessage.
func invalid(err error) error {
	if errors.Is(err, wamp.ErrInvalidMessage) {
		return fmt.Errorf("websocket: %w", err)
	}
	return fmt.Errorf("websocket: %w: %w", wamp.ErrInvalidMessage, err)
}
