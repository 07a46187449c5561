//go:build !js

package nbconn

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// Conn is a connection whose Read and Write make raw system calls (see
// Reader): a client's, whose writes may block as the connection's own do,
// Go's poller parking the writer until the socket takes more.
type Conn struct {
	net.Conn
	r     *Reader // its raw connection serves the writes too
	write func(fd uintptr) bool

	// wmu makes writes one at a time, as the connection's own are; it
	// guards the call's bytes and progress, which write advances.
	wmu  sync.Mutex
	wp   []byte
	wn   int
	werr error
}

// Wrap returns conn as a *Conn, or conn itself when it cannot make raw
// system calls (see NewReader).
func Wrap(conn net.Conn) net.Conn {
	r := NewReader(conn)
	if r == nil {
		return conn
	}
	c := &Conn{Conn: conn, r: r}
	c.write = c.writeRaw
	return c
}

// Read reads as the connection's Read does.
func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write writes all of p, or fails, as the connection's Write does.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wp, c.wn, c.werr = p, 0, nil
	err := c.r.raw.Write(c.write)
	n, werr := c.wn, c.werr
	c.wp, c.wn, c.werr = nil, 0, nil
	switch {
	case err != nil:
		return n, err
	case werr != nil:
		return n, &net.OpError{Op: "write", Net: c.LocalAddr().Network(), Source: c.LocalAddr(),
			Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", werr)}
	}
	return n, nil
}

// writeRaw is the poller's callback: it reports false to be called again
// once the socket takes more.
func (c *Conn) writeRaw(fd uintptr) bool {
	for c.wn < len(c.wp) {
		n, err := writeNonBlocking(fd, c.wp[c.wn:])
		switch err {
		case nil:
			c.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = err
			return true
		}
	}
	return true
}

// CloseWrite shuts the writing side down where the connection can.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
