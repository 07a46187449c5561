//go:build !js

package longpoll

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Reasons a transport closes, wrapped around transport.ErrClosed.
var (
	errClosedByClient = fmt.Errorf("longpoll: closed by the client: %w", transport.ErrClosed)
	errHandlerClosed  = fmt.Errorf("longpoll: handler closed: %w", transport.ErrClosed)
)

// poll is a receive request waiting for messages. Whoever wakes it (Send,
// Close, a newer receive) closes wake and clears conn.poll.
type poll struct {
	wake     chan struct{}
	replaced bool // a newer receive took over: answer 204
}

// conn is the server end of one long-poll transport, the Peer the router
// gets. No goroutine runs for it: the HTTP requests of its client carry
// messages in and out.
type conn struct {
	h       *Handler
	id      string
	codec   codec.Codec
	batched bool
	info    transport.Info

	// inFree holds a token while the inbox is free: a send request takes
	// it before it fills the inbox and Recv gives it back once the inbox is
	// empty, so at most one request body waits for the router.
	inFree  chan struct{}
	inReady chan struct{} // wakes Recv
	done    chan struct{} // closed when the transport closes

	mu        sync.Mutex
	in        []inbound
	out       [][]byte // encoded messages for the next receive
	outBytes  int
	poll      *poll
	readLimit int64
	lastSeen  time.Time // last request from the client
	closed    bool
	cause     error // wraps transport.ErrClosed
	closedAt  time.Time
	// ended tells that the router queued a GOODBYE or ABORT: once the
	// router closes the transport after it, requests that cross the close
	// on the wire are part of an orderly end, not errors.
	ended bool
}

func newConn(h *Handler, c codec.Codec, batched bool, remote string) *conn {
	cn := &conn{
		h:         h,
		codec:     c,
		batched:   batched,
		info:      info(c, batched, remote),
		inFree:    make(chan struct{}, 1),
		inReady:   make(chan struct{}, 1),
		done:      make(chan struct{}),
		readLimit: h.cfg.ReadLimit,
		lastSeen:  time.Now(),
	}
	cn.inFree <- struct{}{}
	return cn
}

var _ transport.NonBlockingSender = (*conn)(nil)

// SendsWithoutBlocking reports that Send never waits for the network: it
// queues for the client's next receive, within MaxQueuedBytes
// (transport.NonBlockingSender). A router writes to it from its routing
// goroutine, without a writer goroutine per message.
func (c *conn) SendsWithoutBlocking() bool { return true }

// Send queues m for the client's next receive. It fails once the transport
// is closed, and closes it when the queue would exceed MaxQueuedBytes.
func (c *conn) Send(m wamp.Message) error {
	data, err := codec.Marshal(c.codec, m)
	if err != nil {
		return fmt.Errorf("longpoll: encoding %v: %w", codec.Unwrap(m).Type(), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.cause
	}
	if limit := c.h.cfg.MaxQueuedBytes; c.outBytes+len(data) > limit {
		c.closeLocked(fmt.Errorf("longpoll: client not reading, outbound queue over %d bytes: %w", limit, transport.ErrClosed))
		return c.cause
	}
	if t := codec.Unwrap(m).Type(); t == wamp.TypeGoodbye || t == wamp.TypeAbort {
		c.ended = true
	}
	c.out = append(c.out, data)
	c.outBytes += len(data)
	c.wakePollLocked()
	return nil
}

// Recv returns the next message that the client posted. Messages posted
// before the transport closed are still returned, then the reason it
// closed, which wraps transport.ErrClosed.
func (c *conn) Recv() (wamp.Message, error) {
	for {
		c.mu.Lock()
		if len(c.in) > 0 {
			it := c.in[0]
			c.in[0] = inbound{}
			c.in = c.in[1:]
			if len(c.in) == 0 {
				c.in = nil
				signal(c.inFree)
			}
			c.mu.Unlock()
			return it.m, it.err
		}
		if c.closed {
			c.mu.Unlock()
			return nil, c.cause
		}
		c.mu.Unlock()
		select {
		case <-c.inReady:
		case <-c.done:
		}
	}
}

// shutdown closes the transport because the handler closes.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.closeLocked(errHandlerClosed)
	c.wakePollLocked() // a receive held after an orderly end
	c.mu.Unlock()
}

// Close closes the transport. A waiting receive gets what is queued (or
// 204), later receives get the rest of the queue, then 404; but after a
// GOODBYE or ABORT (an orderly end) a receive is held as an idle one is,
// until the client closes its side, and a send is answered 204 unread.
func (c *conn) Close() error {
	c.mu.Lock()
	c.closeLocked(transport.ErrClosed)
	c.mu.Unlock()
	return nil
}

// Info describes the transport.
func (c *conn) Info() transport.Info { return c.info }

// SetReadLimit sets the largest send body accepted, in bytes.
func (c *conn) SetReadLimit(n int64) {
	c.mu.Lock()
	c.readLimit = n
	c.mu.Unlock()
}

func (c *conn) closeLocked(cause error) {
	if c.closed {
		return
	}
	c.closed = true
	c.cause = cause
	c.closedAt = time.Now()
	close(c.done)
	c.wakePollLocked()
}

// endedLocked tells whether the router closed the transport after a
// GOODBYE or ABORT (an orderly end), not for a fault or at the client's
// request.
func (c *conn) endedLocked() bool {
	return c.closed && c.ended && c.cause == transport.ErrClosed
}

// closeByClient handles POST close: the client is gone, drop its queue.
func (c *conn) closeByClient() {
	c.mu.Lock()
	c.closeLocked(errClosedByClient)
	c.wakePollLocked() // a receive held after an orderly end
	clear(c.out)
	c.out, c.outBytes = nil, 0
	c.mu.Unlock()
}

// expire is the janitor's check: it closes the transport when its client
// has been silent for timeout, and reports whether the handler should
// forget it (silent, or closed for timeout already).
func (c *conn) expire(now time.Time, timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		if now.Sub(c.closedAt) < timeout {
			return false
		}
		c.wakePollLocked()
		return true
	}
	if c.poll != nil || now.Sub(c.lastSeen) < timeout {
		return false
	}
	c.closeLocked(fmt.Errorf("longpoll: client silent for %v: %w", timeout, transport.ErrClosed))
	clear(c.out)
	c.out, c.outBytes = nil, 0
	return true
}

func (c *conn) wakePollLocked() {
	if c.poll != nil {
		close(c.poll.wake)
		c.poll = nil
	}
}

// takeLocked removes what one receive returns: the oldest message, or
// every queued message framed as a batch.
func (c *conn) takeLocked() []byte {
	if !c.batched {
		data := c.out[0]
		c.out[0] = nil
		c.out = c.out[1:]
		c.outBytes -= len(data)
		if len(c.out) == 0 {
			c.out = nil
		}
		return data
	}
	body := make([]byte, 0, c.outBytes+8*len(c.out))
	for _, data := range c.out {
		body = codec.AppendBatch(body, c.codec, data)
	}
	clear(c.out)
	c.out, c.outBytes = nil, 0
	return body
}

func (c *conn) serveReceive(w http.ResponseWriter, r *http.Request) {
	// Autobahn|JS posts no body; read any so the server watches the
	// connection and cancels the context when the client goes away.
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))

	c.mu.Lock()
	c.lastSeen = time.Now()
	if len(c.out) > 0 {
		body := c.takeLocked()
		c.mu.Unlock()
		c.writeMessages(w, body)
		return
	}
	if c.closed && !c.endedLocked() {
		byClient := c.cause == errClosedByClient
		c.mu.Unlock()
		if byClient {
			// A receive the client sent before its own close reached us:
			// an empty answer, not an error a browser would log.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		statusError(w, http.StatusNotFound, "transport closed")
		return
	}
	// Open, or closed by the router after a GOODBYE or ABORT that the
	// client has taken: the client polls again before it closes its side,
	// which answers this poll (as the poll timeout does) with an empty 204.
	if c.poll != nil {
		// Autobahn|JS keeps one receive outstanding: a second one means
		// the first was abandoned (a timeout, a proxy), so the newest
		// wins and the older one is answered empty.
		c.poll.replaced = true
		c.wakePollLocked()
	}
	p := &poll{wake: make(chan struct{})}
	c.poll = p
	c.mu.Unlock()

	timer := time.NewTimer(c.h.cfg.PollTimeout)
	defer timer.Stop()
	select {
	case <-p.wake:
	case <-timer.C:
	case <-r.Context().Done():
	}

	c.mu.Lock()
	if c.poll == p {
		c.poll = nil
	}
	c.lastSeen = time.Now()
	var body []byte
	if !p.replaced && r.Context().Err() == nil && len(c.out) > 0 {
		body = c.takeLocked()
	}
	c.mu.Unlock()
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c.writeMessages(w, body)
}

func (c *conn) writeMessages(w http.ResponseWriter, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(c.codec))
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (c *conn) serveSend(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	closed, ended := c.closed, c.endedLocked()
	c.lastSeen = time.Now()
	c.mu.Unlock()
	if ended {
		// A GOODBYE that answers the router's, crossing its close.
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if closed {
		statusError(w, http.StatusNotFound, "transport closed")
		return
	}

	// Wait until the router has taken the previous body.
	select {
	case <-c.inFree:
	case <-c.done:
		statusError(w, http.StatusNotFound, "transport closed")
		return
	case <-r.Context().Done():
		return
	}

	c.mu.Lock()
	limit := c.readLimit
	c.mu.Unlock()
	tooBig := func() {
		c.deliver([]inbound{{err: fmt.Errorf("longpoll: send body over %d bytes: %w", limit, transport.ErrMessageTooBig)}}, true)
		statusError(w, http.StatusRequestEntityTooLarge, "message over %d bytes", limit)
	}
	if r.ContentLength > limit {
		// Refused on its announced length, unread: net/http closes the
		// connection rather than read the rest.
		tooBig()
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			tooBig()
			return
		}
		signal(c.inFree)
		statusError(w, http.StatusBadRequest, "reading body: %v", err)
		return
	}

	items, bad := decodeBody(c.codec, c.batched, data)
	if !c.deliver(items, false) {
		statusError(w, http.StatusNotFound, "transport closed")
		return
	}
	if bad != nil {
		statusError(w, http.StatusBadRequest, "%v", bad)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliver hands items to Recv; the caller holds the inbox token, which Recv
// gives back. It reports false, and gives the token back, when the
// transport closed meanwhile. With fatal, the transport closes after the
// items, which Recv still returns.
func (c *conn) deliver(items []inbound, fatal bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		signal(c.inFree)
		return false
	}
	c.in = items
	c.lastSeen = time.Now()
	if fatal {
		c.closeLocked(fmt.Errorf("%w: %w", transport.ErrClosed, items[len(items)-1].err))
	}
	signal(c.inReady)
	return true
}
