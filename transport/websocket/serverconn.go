//go:build !js

package websocket

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/wampkit/wampkit/transport"
)

// serverConn is the accepted net.Conn under coder/websocket. Three jobs:
//
//   - it serves first the bytes that net/http read past the handshake;
//   - it never blocks a writer: each write goes to the socket at once as
//     far as the kernel takes it (a non-blocking write(2)), and what is left
//     waits in a buffer that one background goroutine drains. A router can
//     therefore write from its routing goroutine, with no hand-off to a
//     writer goroutine per message, and still never stall on a slow peer.
//     The buffer is bounded: past the limit the connection is dropped;
//   - it can cork: hold back the frames of a batch so that they leave in one
//     write(2) instead of one each.
//
// coder/websocket calls Write with its frame lock held, so whole frames
// arrive in order.
type serverConn struct {
	net.Conn
	raw    syscall.RawConn // nil when the connection offers none (TLS)
	prefix []byte          // read before the connection itself; only the reader touches it
	limit  int             // bound on pending bytes

	mu       sync.Mutex
	state    corkState
	buf      []byte // corked frames
	pending  []byte // accepted, not yet written; the flusher writes them
	flushing bool   // the flusher goroutine runs
	err      error  // the first write error; every later write fails with it

	// rawWrite is c.writeRaw, made once: raw.Write takes a func, and a
	// closure made per write would cost allocations on every message. The
	// write's bytes go in through wp and its outcome comes out through wn
	// and werr, all guarded by mu.
	rawWrite func(fd uintptr) bool
	wp       []byte
	wn       int
	werr     error
}

type corkState uint8

const (
	direct    corkState = iota // writes go to the connection
	corked                     // writes are held in buf
	flushNext                  // the next write sends buf with it
)

// maxCorkBuffer is the capacity above which a buffer is dropped after use
// instead of kept: an idle connection should not pin memory left by one
// burst.
const maxCorkBuffer = 16 << 10

// errWriteBufferFull is the write error of a connection whose peer did not
// read fast enough.
var errWriteBufferFull = fmt.Errorf("websocket: write buffer full: %w", transport.ErrSlowConsumer)

func newServerConn(conn net.Conn, limit int) *serverConn {
	c := &serverConn{Conn: conn, limit: limit}
	c.rawWrite = c.writeRaw
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c
}

func (c *serverConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		if len(c.prefix) == 0 {
			c.prefix = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
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
		err := c.writeLocked(c.buf)
		c.buf = reuse(c.buf)
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := c.writeLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLocked writes p without blocking: to the socket as far as it takes
// it, the rest to pending.
func (c *serverConn) writeLocked(p []byte) error {
	if c.err != nil {
		return c.err
	}
	if len(c.pending) > 0 || c.flushing {
		if len(c.pending)+len(p) > c.limit {
			c.err = errWriteBufferFull
			c.Conn.Close()
			return c.err
		}
		c.pending = append(c.pending, p...)
		return nil
	}
	n, err := c.tryWrite(p)
	if err != nil {
		c.err = err
		return err
	}
	if n < len(p) {
		if len(p)-n > c.limit {
			c.err = errWriteBufferFull
			c.Conn.Close()
			return c.err
		}
		c.pending = append(c.pending, p[n:]...)
		c.flushing = true
		go c.flush()
	}
	return nil
}

// tryWrite makes one non-blocking write(2) and reports how much the kernel
// took. Without a raw connection it writes nothing and leaves all to the
// flusher.
func (c *serverConn) tryWrite(p []byte) (int, error) {
	if c.raw == nil {
		return 0, nil
	}
	c.wp = p
	err := c.raw.Write(c.rawWrite)
	n, werr := c.wn, c.werr
	c.wp, c.werr = nil, nil
	if err != nil {
		return 0, err
	}
	if werr != nil {
		if errors.Is(werr, syscall.EAGAIN) || errors.Is(werr, syscall.EINTR) {
			return 0, nil
		}
		return 0, werr
	}
	return n, nil
}

// writeRaw is the function that tryWrite hands raw.Write. c.mu is held.
func (c *serverConn) writeRaw(fd uintptr) bool {
	c.wn, c.werr = writeNonBlocking(fd, c.wp)
	return true // never wait for the socket
}

// flush writes pending in the background until it is empty.
func (c *serverConn) flush() {
	c.mu.Lock()
	for len(c.pending) > 0 && c.err == nil {
		data := c.pending
		c.pending = nil
		c.mu.Unlock()
		_, err := c.Conn.Write(data)
		c.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err
		}
		if c.pending == nil && cap(data) <= maxCorkBuffer {
			c.pending = data[:0]
		}
	}
	c.flushing = false
	if len(c.pending) == 0 {
		c.pending = nil
	}
	c.mu.Unlock()
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
	err := c.writeLocked(c.buf)
	c.buf = reuse(c.buf)
	return err
}
