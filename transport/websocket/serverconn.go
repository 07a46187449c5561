//go:build !js

package websocket

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/internal/nbconn"
)

// serverConn is the accepted net.Conn under coder/websocket. Four jobs:
//
//   - it serves first the bytes that net/http read past the handshake, then
//     reads the socket with raw system calls where it can (nbconn.Reader);
//   - it refuses a data frame longer than the read limit from its header,
//     before coder/websocket reads, unmasks and buffers its payload (see
//     Read), and then closes with a lingering close (see Close);
//   - it never blocks a writer: writes go through an nbconn.Writer, which
//     hands the socket what the kernel takes at once and leaves the rest,
//     within a bound, to a background goroutine. A router can therefore
//     write from its routing goroutine and still never stall on a slow peer;
//   - it can cork: hold back the frames of a batch so that they leave in one
//     write(2) instead of one each.
//
// coder/websocket calls Write with its frame lock held, so whole frames
// arrive in order.
type serverConn struct {
	net.Conn
	prefix []byte         // read before the connection itself; only the reader touches it
	in     *nbconn.Reader // nil: Conn.Read
	out    *nbconn.Writer

	// The client's frames as their bytes pass through Read; only the
	// reader touches these.
	frame frameScanner
	// refused is the sticky error of Read once a frame was refused.
	refused error

	// limit is the read limit (negative: none); see setReadLimit.
	limit atomic.Int64
	// linger, when above zero, is how many more bytes Close reads and
	// discards before it closes: set when a frame was refused.
	linger atomic.Int64
	closed atomic.Bool

	mu    sync.Mutex
	state corkState
	buf   []byte // corked frames
}

type corkState uint8

const (
	direct    corkState = iota // writes go to the connection
	corked                     // writes are held in buf
	flushNext                  // the next write sends buf with it
)

// maxCorkBuffer is the capacity above which the cork buffer is dropped
// after use instead of kept: an idle connection should not pin memory left
// by one burst.
const maxCorkBuffer = 16 << 10

// lingerTimeout bounds the lingering close of a connection whose frame
// was refused: the wait for the close frame to leave and the reading after.
const lingerTimeout = time.Second

// lingerSlack is how many bytes past the refused frame's payload a
// lingering close reads: room for the client's answering close frame.
const lingerSlack = 4 << 10

func newServerConn(conn net.Conn, writeLimit int) *serverConn {
	c := &serverConn{Conn: conn, in: nbconn.NewReader(conn), out: nbconn.New(conn, writeLimit)}
	c.limit.Store(-1)
	return c
}

// setReadLimit sets the largest data frame payload, in bytes, that Read
// lets through; a negative n removes the limit. coder/websocket applies
// the same limit to whole messages.
func (c *serverConn) setReadLimit(n int64) { c.limit.Store(n) }

// frameTooBigError is Read's error for a refused frame. It wraps
// transport.ErrMessageTooBig.
type frameTooBigError struct {
	size  uint64
	limit int64
}

func (e *frameTooBigError) Error() string {
	return fmt.Sprintf("%v: a frame of %d bytes is above the limit of %d", transport.ErrMessageTooBig, e.size, e.limit)
}

func (e *frameTooBigError) Unwrap() error { return transport.ErrMessageTooBig }

// Read reads the client's bytes and follows its frame headers through
// them. A data frame whose header declares a payload above the read limit
// is refused there: Read returns the bytes before that header, and when
// the header comes next, an error wrapping transport.ErrMessageTooBig,
// then the same error on every later call. coder/websocket, which would
// read the whole limit before it refused the message, never sees the
// header. Cutting before the header lets the frame be judged when
// coder/websocket reaches it, under the limit then in force: bytes read
// ahead may belong to a message that follows a SetReadLimit.
//
// A compressed message is left to coder/websocket, which applies the
// limit after inflating: its length on the wire says little about it. So
// is a fragmented one whose frames each fit.
func (c *serverConn) Read(p []byte) (int, error) {
	if c.refused != nil {
		return 0, c.refused
	}
	var n int
	var err error
	fromPrefix := len(c.prefix) > 0
	if fromPrefix {
		n = copy(p, c.prefix)
		c.prefix = c.prefix[n:]
	} else if c.in != nil {
		n, err = c.in.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	limit := c.limit.Load()
	start, size, tooBig := c.frame.scan(p[:n], limit)
	if !tooBig {
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, err
	}
	if start > 0 {
		// Serve the refused header again on the next call, which comes
		// when coder/websocket wants it.
		rest := append([]byte(nil), p[start:n]...)
		c.prefix = append(rest, c.prefix...)
		return start, nil
	}
	c.refused = &frameTooBigError{size: size, limit: limit}
	budget := size
	if !fromPrefix {
		budget -= min(size, uint64(n))
	}
	c.linger.Store(int64(min(budget, math.MaxInt64-lingerSlack) + lingerSlack))
	c.prefix = nil
	return 0, c.refused
}

// Close closes the connection. After a refused frame it first lets the
// close frame that reports it (1009) reach the client: closing a socket
// with unread data sends a TCP reset, which can make the client lose that
// frame. So it waits for the write buffer to drain, half-closes, and reads
// and discards, without unmasking, until the client closes, the refused
// payload and a little more have passed, or lingerTimeout; in the
// background, so that Close returns at once. Calls after the first return
// net.ErrClosed.
func (c *serverConn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	if budget := c.linger.Load(); budget > 0 {
		go c.lingeringClose(budget)
		return nil
	}
	return c.Conn.Close()
}

func (c *serverConn) lingeringClose(budget int64) {
	deadline := time.Now().Add(lingerTimeout)
	if c.out.Drain(lingerTimeout) {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		if c.Conn.SetReadDeadline(deadline) == nil {
			// io.Discard reads through a small buffer of its own pool.
			io.Copy(io.Discard, io.LimitReader(c.Conn, budget))
		}
	}
	c.Conn.Close()
}

// Write never blocks on the network; see the type's comment.
func (c *serverConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case corked:
		c.buf = append(c.buf, p...)
		return len(p), nil
	case flushNext:
		c.state = direct
		c.buf = append(c.buf, p...)
		_, err := c.out.Write(c.buf)
		c.buf = reuse(c.buf)
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.out.Write(p)
}

func reuse(b []byte) []byte {
	if cap(b) > maxCorkBuffer {
		return nil
	}
	return b[:0]
}

// cork holds back the following writes.
func (c *serverConn) cork() {
	c.mu.Lock()
	c.state = corked
	c.mu.Unlock()
}

// flushWithNext makes the next write, the last frame of a batch, carry the
// held-back frames with it. Flushing from inside a write keeps it under
// coder/websocket's frame lock: a ping or close frame from another
// goroutine can never land between them.
func (c *serverConn) flushWithNext() {
	c.mu.Lock()
	if c.state == corked {
		c.state = flushNext
	}
	c.mu.Unlock()
}

// uncork returns to direct writes, writing what is still held back (only
// when the batch's last frame was never written because of an error).
func (c *serverConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = direct
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.out.Write(c.buf)
	c.buf = reuse(c.buf)
	return err
}

// frameScanner follows the frames of a WebSocket stream as its bytes go
// by, without keeping them: it collects each header (at most 14 bytes) and
// skips the payload by counting.
type frameScanner struct {
	hdr        [14]byte
	hdrLen     int    // bytes of the current header collected
	payload    uint64 // bytes of the current payload still to come
	compressed bool   // the current message is compressed (RSV1 on its first frame)
}

// The opcodes of data frames.
const (
	opContinuation = 0
	opText         = 1
	opBinary       = 2
)

// scan follows b. It stops at the first header of an uncompressed data
// frame whose payload is above limit (when limit is not negative) and
// reports where that header starts in b (zero when it started before b),
// its payload size and true; the scanner is then left as it was before
// that header, so that scanning the same bytes again judges it again.
func (s *frameScanner) scan(b []byte, limit int64) (start int, size uint64, tooBig bool) {
	for i := 0; i < len(b); {
		if s.payload > 0 {
			skip := min(s.payload, uint64(len(b)-i))
			s.payload -= skip
			i += int(skip)
			continue
		}
		hdrStart := i - s.hdrLen
		// Collect as much of the header as b holds.
		for i < len(b) && (s.hdrLen < 2 || s.hdrLen < headerLen(s.hdr[1])) {
			s.hdr[s.hdrLen] = b[i]
			s.hdrLen++
			i++
		}
		if s.hdrLen < 2 || s.hdrLen < headerLen(s.hdr[1]) {
			return 0, 0, false
		}
		op := s.hdr[0] & 0x0f
		rsv1 := s.hdr[0]&0x40 != 0
		size := payloadLen(s.hdr[:s.hdrLen])
		data := op == opText || op == opBinary || op == opContinuation
		compressed := s.compressed
		if op == opText || op == opBinary {
			compressed = rsv1
		}
		if data && !compressed && limit >= 0 && size > uint64(limit) {
			s.hdrLen = 0
			return max(hdrStart, 0), size, true
		}
		if data {
			s.compressed = compressed
		}
		s.hdrLen = 0
		s.payload = size
	}
	return 0, 0, false
}

// headerLen is the length of a frame header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 { // masked
		n += 4
	}
	return n
}

// payloadLen is the payload length that the complete header h declares.
func payloadLen(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		return binary.BigEndian.Uint64(h[2:])
	default:
		return uint64(n)
	}
}
