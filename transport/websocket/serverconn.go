//go:build !js

package websocket

import (
	"net"
	"sync"
)

// serverConn is the accepted net.Conn under coder/websocket. It serves the
// bytes read past the handshake first, and it can cork: hold back the
// frames of a batch so that they leave in one write(2) instead of one
// each, which is most of the cost of a small message.
type serverConn struct {
	net.Conn
	prefix []byte // read before the connection itself; only the reader touches it

	mu    sync.Mutex
	state corkState
	buf   []byte
}

type corkState uint8

const (
	direct    corkState = iota // writes go straight to the connection
	corked                     // writes are held in buf
	flushNext                  // the next write sends buf with it
)

// maxCorkBuffer is the capacity above which the cork buffer is dropped
// after use instead of kept: an idle connection should not pin a large
// buffer left by one burst.
const maxCorkBuffer = 16 << 10

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

// Write is called by coder/websocket with its frame lock held, so whole
// frames arrive in order, and holding them back keeps them whole.
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
		return len(p), c.flushLocked()
	}
	return c.Conn.Write(p)
}

func (c *serverConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > maxCorkBuffer {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// cork holds back the following writes.
func (c *serverConn) cork() {
	c.mu.Lock()
	c.state = corked
	c.mu.Unlock()
}

// flushWithNext makes the next write, which is the last frame of a
// batch, carry the held-back frames with it. Flushing from inside a
// write keeps the flush under coder/websocket's frame lock: a ping or
// close frame from another goroutine can never land between them.
func (c *serverConn) flushWithNext() {
	c.mu.Lock()
	if c.state == corked {
		c.state = flushNext
	}
	c.mu.Unlock()
}

// uncork returns to direct writes, flushing what is still held back (only
// when the batch's last frame was never written because of an error).
func (c *serverConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = direct
	return c.flushLocked()
}
