//go:build !js

// Package rawsocket carries WAMP over raw sockets (the WAMP specification's
// "RawSocket transport"), both ends: a [Server] that accepts connections
// from any net.Listener (TCP, TLS, Unix) and [Dial] on the client side.
// Browsers cannot open raw sockets, so the package is not built for js.
//
// A connection opens with a 4-byte handshake: the client sends the magic
// octet 0x7F, then in one octet the largest message it accepts
// (2^(9+n) bytes, n from 0 to 15) and the serializer (1 JSON,
// 2 MessagePack, 3 CBOR), then two reserved zero octets. The router echoes
// the serializer with its own largest message, or refuses with an error
// code ([RefusalCode]). Each message then travels in a frame: one octet of
// frame type (0 a WAMP message, 1 PING, 2 PONG) and a 24-bit big-endian
// length. Each side never sends a message above the other's announced
// limit and drops a connection that sends one above its own.
//
// Since 0x7F cannot begin an HTTP request, raw sockets can share a port
// with WebSocket and long-poll: see [NewSharedListener].
package rawsocket

import (
	"errors"
	"fmt"
	"sync"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// magic is the first octet of a handshake.
const magic = 0x7F

// The frame types of the first octet of a frame header. The five high
// bits are reserved and must be zero.
const (
	frameMessage = 0
	framePing    = 1
	framePong    = 2
)

// headerSize is the size of a handshake and of a frame header.
const headerSize = 4

// MaxMessageSize is the largest message the protocol can carry: the
// largest length of a 24-bit frame header. (A side that announces 2^24 as
// its limit accepts every frame.)
const MaxMessageSize = 1<<24 - 1

// minLimit is the smallest limit a handshake can announce: 2^9.
const minLimit = 1 << 9

// DefaultReadLimit is the largest message, in bytes, that a side announces
// when its options leave ReadLimit at zero. A bound is needed because a
// frame is read whole into memory before it is decoded: without one, a
// single header could make the process allocate 16 MiB per connection.
// 1 MiB fits every ordinary call and event, and matches the WebSocket
// transport's default.
const DefaultReadLimit = 1 << 20

// RefusalCode is the reason of a router that refuses a handshake.
type RefusalCode uint8

// The refusal codes of the specification.
const (
	// SerializerUnsupported: the router does not speak the serializer.
	SerializerUnsupported RefusalCode = 1
	// LengthUnacceptable: the client's largest message is too small for
	// the router.
	LengthUnacceptable RefusalCode = 2
	// ReservedBitsUsed: the client set bits that are reserved.
	ReservedBitsUsed RefusalCode = 3
	// ConnectionLimitReached: the router serves its maximum number of
	// connections.
	ConnectionLimitReached RefusalCode = 4
)

func (c RefusalCode) String() string {
	switch c {
	case SerializerUnsupported:
		return "serializer unsupported"
	case LengthUnacceptable:
		return "maximum message length unacceptable"
	case ReservedBitsUsed:
		return "use of reserved bits"
	case ConnectionLimitReached:
		return "maximum connection count reached"
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// HandshakeError is the error of a handshake that the router refused.
type HandshakeError struct {
	Code RefusalCode
}

func (e *HandshakeError) Error() string {
	return "rawsocket: handshake refused: " + e.Code.String()
}

// serializerID is the handshake's number for a codec, or 0 when the
// protocol has none for it.
func serializerID(c codec.Codec) byte {
	switch c.Name() {
	case "json":
		return 1
	case "msgpack":
		return 2
	case "cbor":
		return 3
	}
	return 0
}

// lengthExponent returns the handshake's LENGTH field for a read limit in
// bytes: the largest n such that 2^(9+n) does not exceed limit, so that the
// announced limit never exceeds the one asked for. Zero means
// DefaultReadLimit, a negative limit the protocol's maximum. A limit below
// 512 bytes, the protocol's minimum, is an error.
func lengthExponent(limit int64) (byte, error) {
	switch {
	case limit == 0:
		limit = DefaultReadLimit
	case limit < 0 || limit > 1<<24:
		limit = 1 << 24
	case limit < minLimit:
		return 0, fmt.Errorf("rawsocket: read limit %d is below the protocol's minimum of %d bytes", limit, minLimit)
	}
	n := byte(0)
	for int64(minLimit)<<(n+1) <= limit {
		n++
	}
	return n, nil
}

// lengthLimit is the largest payload that a LENGTH field n allows.
func lengthLimit(n byte) int {
	return min(minLimit<<n, MaxMessageSize)
}

// putHeader writes a frame header into b[:4].
func putHeader(b []byte, typ byte, n int) {
	b[0] = typ
	b[1] = byte(n >> 16)
	b[2] = byte(n >> 8)
	b[3] = byte(n)
}

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
		return fmt.Errorf("rawsocket: recv: %w", err)
	}
	return fmt.Errorf("rawsocket: recv: %w: %w", wamp.ErrInvalidMessage, err)
}
