//go:build !js

package websocket

import (
	"net"
	"sync"

	"github.com/wampkit/wampkit/transport/internal/nbconn"
)

// serverConn is the accepted net.Conn under coder/websocket. Three jobs:
//
//   - it serves first the bytes that net/http read past the handshake;
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
	prefix []byte // read before the connection itself; only the reader touches it
	out    *nbconn.Writer

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

func newServerConn(conn net.Conn, limit int) *serverConn {
	return &serverConn{Conn: conn, out: nbconn.New(conn, limit)}
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
