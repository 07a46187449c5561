//go:build !js

package nbconn

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// Reader reads a network connection as its Read does, with the read
// system calls made raw where that is at hand (see readNonBlocking): Go's
// poller still parks the reader until the socket is readable. A router
// makes two reads per message, the one that returns it and the one that
// finds the socket empty.
type Reader struct {
	conn net.Conn
	raw  syscall.RawConn
	read func(fd uintptr) bool

	// mu makes reads one at a time, as the connection's own are; it
	// guards the call's buffer and result, which read fills.
	mu  sync.Mutex
	p   []byte
	n   int
	err error
}

// NewReader returns a Reader of conn, or nil when conn offers no raw
// connection or the platform no raw read: conn.Read is then the way.
// Nothing must be buffered above conn: the Reader reads its socket.
func NewReader(conn net.Conn) *Reader {
	if !rawReads {
		return nil
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Reader{conn: conn, raw: raw}
	r.read = r.readRaw
	return r
}

// Read reads into p. It returns io.EOF once the peer closed its side, and
// the connection's own errors for a closed connection or a deadline.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	r.p = p
	err := r.raw.Read(r.read)
	n, rerr := r.n, r.err
	r.p, r.n, r.err = nil, 0, nil
	r.mu.Unlock()
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: r.conn.LocalAddr().Network(), Source: r.conn.LocalAddr(),
			Addr: r.conn.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readRaw is the poller's callback: it reports false to be called again
// once the socket is readable.
func (r *Reader) readRaw(fd uintptr) bool {
	for {
		r.n, r.err = readNonBlocking(fd, r.p)
		switch r.err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true
	}
}
