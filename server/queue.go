package server

import (
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// outQueue is a session's bounded outbound queue. Routing code on any
// reader goroutine pushes without blocking; a writer goroutine, started on
// demand and gone when the queue is empty, writes to the transport. An idle
// session therefore costs no writer goroutine.
type outQueue struct {
	mu      sync.Mutex
	msgs    []wamp.Message
	spare   []wamp.Message // the drained slice, reused to avoid allocation
	bytes   int
	limit   int
	writing bool // a writer goroutine is running
	closing bool // no more pushes; close the transport once drained
	closed  bool // the transport is closed or closing
}

// pushResult tells the caller of push what happened.
type pushResult int

const (
	pushed       pushResult = iota
	pushedStart             // pushed; the caller must start a writer
	pushDropped             // the session is closing; nothing was queued
	pushOverflow            // over the byte budget; the session must be dropped
)

// measureIfQueued as the size of push asks it to measure the message
// (approxSize) only when it waits behind others. A message pushed on an
// idle queue is taken at once by the writer that its push starts, so it
// counts for nothing: most point-to-point messages skip the walk of their
// payload.
const measureIfQueued = -1

// push queues m, which holds about size bytes (or see measureIfQueued).
func (q *outQueue) push(m wamp.Message, size int) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing || q.closed {
		return pushDropped
	}
	if size == measureIfQueued {
		size = 0
		if q.writing || len(q.msgs) > 0 {
			size = approxSize(m)
		}
	}
	if q.bytes+size > q.limit {
		q.closed = true
		q.msgs = nil
		return pushOverflow
	}
	q.msgs = append(q.msgs, m)
	q.bytes += size
	if q.writing {
		return pushed
	}
	q.writing = true
	return pushedStart
}

// pushLast queues a final message (GOODBYE, ABORT) and marks the queue so
// that the transport is closed once it is drained. It reports whether the
// caller must start a writer.
func (q *outQueue) pushLast(m wamp.Message) (start, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing || q.closed {
		return false, false
	}
	q.msgs = append(q.msgs, m)
	q.closing = true
	if q.writing {
		return false, true
	}
	q.writing = true
	return true, true
}

// take hands the writer everything queued. When nothing is queued the
// writer must stop: done is true, and closeNow tells it to close the
// transport because a final message has been written.
func (q *outQueue) take(prev []wamp.Message) (batch []wamp.Message, done, closeNow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if prev != nil {
		clear(prev)
		q.spare = prev[:0]
	}
	if len(q.msgs) == 0 || q.closed {
		q.writing = false
		// Keep the drained slice for the next push: a session that
		// exchanges one message at a time then queues without allocating.
		q.msgs, q.spare = q.spare, nil
		if q.closed {
			q.msgs = nil
		}
		closeNow = q.closing && !q.closed
		if closeNow {
			q.closed = true
		}
		return nil, true, closeNow
	}
	batch = q.msgs
	q.msgs = q.spare
	q.spare = nil
	q.bytes = 0
	return batch, false, false
}

// shut marks the queue closed: pending messages are dropped and pushes are
// refused.
func (q *outQueue) shut() {
	q.mu.Lock()
	q.closed = true
	q.msgs = nil
	q.spare = nil
	q.mu.Unlock()
}

// approxSize estimates the memory a queued message holds, for the queue's
// byte budget. It walks the payload, which the router has just decoded, so
// the estimate follows what the peer sent.
func approxSize(m wamp.Message) int {
	const overhead = 64
	switch m := m.(type) {
	case *wamp.Event:
		return overhead + valueSize(m.Args) + valueSize(m.Kwargs) + valueSize(m.Details)
	case *wamp.Invocation:
		return overhead + valueSize(m.Args) + valueSize(m.Kwargs) + valueSize(m.Details)
	case *wamp.Result:
		return overhead + valueSize(m.Args) + valueSize(m.Kwargs) + valueSize(m.Details)
	case *wamp.ErrorMessage:
		return overhead + valueSize(m.Args) + valueSize(m.Kwargs) + valueSize(m.Details)
	case *wamp.Welcome:
		return overhead + valueSize(m.Details)
	}
	return overhead
}

func valueSize(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + len(v)
	case []byte:
		return 24 + len(v)
	case wamp.List:
		n := 24
		for _, e := range v {
			n += 16 + valueSize(e)
		}
		return n
	case wamp.Dict:
		n := 48
		for k, e := range v {
			n += 32 + len(k) + valueSize(e)
		}
		return n
	}
	return 8
}

func (q *outQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}
