//go:build !js

// Package nbconn writes to a network connection without ever blocking the
// writer, for the accepting side of a transport: a router writes to its
// peers from its routing goroutine, which must never stall on one slow
// peer.
//
// Each write goes to the socket at once as far as the kernel takes it (a
// non-blocking write(2)), and what is left waits in a buffer that one
// background goroutine drains. The buffer is bounded: past the bound the
// connection is dropped, since a peer that does not read would otherwise
// make the process hold its messages without end.
package nbconn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/wampkit/wampkit/transport"
)

// ErrBufferFull is the write error of a connection whose peer did not read
// fast enough: more than the limit was waiting to be written. It wraps
// transport.ErrSlowConsumer.
var ErrBufferFull = fmt.Errorf("write buffer full: %w", transport.ErrSlowConsumer)

// maxKeptBuffer is the capacity above which the pending buffer is dropped
// after use instead of kept: an idle connection should not pin memory left
// by one burst.
const maxKeptBuffer = 16 << 10

// Writer writes to a connection without blocking. It is safe for
// concurrent use; each Write is written whole and in order.
type Writer struct {
	conn  net.Conn
	raw   syscall.RawConn // nil when the connection offers none (TLS)
	limit int

	mu       sync.Mutex
	pending  []byte        // accepted, not yet written; the flusher writes it
	flushing bool          // the flusher goroutine runs
	drained  chan struct{} // closed when the running flusher ends
	err      error         // the first write error; every later write fails with it

	// rawWrite is w.writeRaw, made once: raw.Write takes a func, and a
	// closure made per write would cost an allocation on every message.
	// The write's bytes go in through wp and its outcome comes out through
	// wn and werr, all guarded by mu.
	rawWrite func(fd uintptr) bool
	wp       []byte
	wn       int
	werr     error
}

// New returns a Writer on conn that holds at most limit bytes that the
// connection has not taken yet.
func New(conn net.Conn, limit int) *Writer {
	w := &Writer{conn: conn, limit: limit}
	w.rawWrite = w.writeRaw
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	return w
}

// Write writes p, or accepts it for a background write, without waiting
// for the network. After an error, or once the buffer went over its limit
// (the connection is then closed), every write fails with the same error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writeLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *Writer) writeLocked(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.flushing {
		if len(w.pending)+len(p) > w.limit {
			return w.overflow()
		}
		w.pending = append(w.pending, p...)
		return nil
	}
	n, err := w.tryWrite(p)
	if err != nil {
		w.err = err
		return err
	}
	if n == len(p) {
		return nil
	}
	if len(p)-n > w.limit {
		return w.overflow()
	}
	w.pending = append(w.pending, p[n:]...)
	w.flushing = true
	w.drained = make(chan struct{})
	go w.flush()
	return nil
}

func (w *Writer) overflow() error {
	w.err = ErrBufferFull
	w.conn.Close()
	return w.err
}

// tryWrite makes one non-blocking write(2) and reports how much the kernel
// took. Without a raw connection it writes nothing and leaves all to the
// flusher.
func (w *Writer) tryWrite(p []byte) (int, error) {
	if w.raw == nil {
		return 0, nil
	}
	w.wp = p
	err := w.raw.Write(w.rawWrite)
	n, werr := w.wn, w.werr
	w.wp, w.werr = nil, nil
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

// writeRaw is the function raw.Write calls: one non-blocking write(2) of
// w.wp, never waiting for the socket.
func (w *Writer) writeRaw(fd uintptr) bool {
	w.wn, w.werr = writeNonBlocking(fd, w.wp)
	return true
}

// flush writes pending in the background until it is empty.
func (w *Writer) flush() {
	w.mu.Lock()
	for len(w.pending) > 0 && w.err == nil {
		data := w.pending
		w.pending = nil
		w.mu.Unlock()
		_, err := w.conn.Write(data)
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		if w.pending == nil && cap(data) <= maxKeptBuffer {
			w.pending = data[:0]
		}
	}
	w.flushing = false
	if len(w.pending) == 0 {
		w.pending = nil
	}
	close(w.drained)
	w.mu.Unlock()
}

// Drain waits until everything accepted so far is written, a write failed,
// or timeout passed. It reports whether all was written. A connection
// should be drained before it is closed, or its last messages (a GOODBYE,
// an ABORT) may be lost.
func (w *Writer) Drain(timeout time.Duration) bool {
	w.mu.Lock()
	if !w.flushing {
		ok := w.err == nil
		w.mu.Unlock()
		return ok
	}
	drained := w.drained
	w.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err == nil && !w.flushing
}
