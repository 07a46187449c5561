//go:build js

// Package wsjs is the browser's WebSocket seen from Go through syscall/js.
// It is what package websocket dials with in js/wasm, where a WebSocket
// library over net/http would bring the HTTP client and crypto/tls into the
// binary for nothing: the browser does the handshake, TLS and framing.
//
// Received messages wait in a bounded queue for Read, or go straight to a
// function set with Push; nothing here blocks a JS callback.
package wsjs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"

	"github.com/wampkit/wampkit/internal/jsentry"
)

// queueLength is how many received messages may wait for Read. The browser
// offers no way to stop reading a WebSocket and a JS callback must not
// block, so past this the connection fails instead of growing memory
// without end: a reader that is that far behind is not keeping up.
const queueLength = 4096

// ErrMessageTooBig is wrapped by Read's error when a received message was
// over the read limit. The connection is closed.
var ErrMessageTooBig = errors.New("message too big")

// errClosedHere is the error of a connection that this side ended.
var errClosedHere = errors.New("connection closed")

// CloseError is how the connection ended, as the browser's close event
// tells. Code 1006 means that it ended without a close handshake, for
// example because the server could not be reached.
type CloseError struct {
	Code   int    // the close status
	Reason string // the close reason, often empty
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("closed with status %d", e.Code)
	}
	return fmt.Sprintf("closed with status %d: %s", e.Code, e.Reason)
}

var (
	webSocket  = js.Global().Get("WebSocket")
	uint8Array = js.Global().Get("Uint8Array")
)

// Conn is one browser WebSocket. Read is for one goroutine at a time, and
// Push replaces it; Write, Close and CloseNow may be called from any
// goroutine.
type Conn struct {
	num      int32    // in conns, when the shim delivers its messages
	sendMem  js.Value // the shim's send(addr, length, binary), reading Go's memory; else undefined
	ws       js.Value
	send     js.Value // ws.send bound to ws: Invoke spares the method's name
	protocol string
	limit    atomic.Int64 // negative: none
	msgs     chan []byte

	// errored records an error event, which the browser fires before the
	// close event of a connection that failed.
	errored atomic.Bool

	once  sync.Once
	done  chan struct{} // closed by finish, after err is set
	err   error
	funcs []js.Func

	// What Push set up, guarded by mu.
	mu       sync.Mutex
	push     func(data []byte, err error) bool // receives the messages in place of the queue
	catching bool                              // Push still hands over what was queued: new messages queue behind
	pushEnd  bool                              // push has had the end, or returned false
}

// Dial opens a WebSocket to url offering protocols and waits until it is
// open, the browser gives up, or ctx ends. Binary messages arrive as
// ArrayBuffers. The read limit starts at none.
func Dial(ctx context.Context, url string, protocols []string) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ps := make([]any, len(protocols))
	for i, p := range protocols {
		ps[i] = p
	}
	c := &Conn{msgs: make(chan []byte, queueLength), done: make(chan struct{})}
	c.limit.Store(-1)
	// The constructor throws a SyntaxError for a bad URL or subprotocol.
	if err := catch(func() { c.ws = webSocket.New(url, ps) }); err != nil {
		return nil, err
	}
	c.send = c.ws.Get("send").Call("bind", c.ws)
	c.ws.Set("binaryType", "arraybuffer")
	opened := make(chan struct{})
	c.on("open", func(js.Value) { close(opened) })
	if attach := js.Global().Get(attachHook); attach.Type() == js.TypeFunction {
		c.num = register(c)
		c.sendMem = attach.Invoke(c.ws, c.num)
	} else {
		c.on("message", c.receive)
	}
	c.on("error", func(js.Value) { c.errored.Store(true) })
	c.on("close", func(e js.Value) {
		err := error(&CloseError{Code: e.Get("code").Int(), Reason: e.Get("reason").String()})
		if c.errored.Load() {
			err = fmt.Errorf("connection failed: %w", err)
		}
		c.finish(err)
	})
	select {
	case <-opened:
		c.protocol = c.ws.Get("protocol").String()
		return c, nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		c.CloseNow()
		return nil, ctx.Err()
	}
}

// on sets the handler of the event named ("open" sets onopen). finish
// removes and releases them all.
func (c *Conn) on(event string, fn func(js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.ws.Set("on"+event, f)
}

// attachHook names the function that the wampkit shim sets on
// globalThis: attach(ws, num) makes ws deliver each message through the
// entry wampkit_wsjs_message (see deliver), much cheaper than a js.FuncOf
// handler, and returns send(addr, length, binary), which sends a message
// read from Go's memory: no string crosses into JavaScript through
// syscall/js. Without the shim, receive handles the messages and Write
// sends through syscall/js.
const attachHook = "__wampkit_wsjs_attach"

// conns are the connections whose messages the shim delivers, by number.
var conns = struct {
	sync.Mutex
	m    map[int32]*Conn
	last int32
}{m: map[int32]*Conn{}}

func register(c *Conn) int32 {
	conns.Lock()
	defer conns.Unlock()
	conns.last++
	conns.m[conns.last] = c
	return conns.last
}

// deliver is the entry through which the shim delivers a message of
// connection num: its n bytes (text as UTF-8) are in jsentry's buffer.
//
//go:wasmexport wampkit_wsjs_message
func deliver(num, n int32) {
	conns.Lock()
	c := conns.m[num]
	conns.Unlock()
	if data, ok := jsentry.Bytes(n); ok && c != nil {
		c.take(bytes.Clone(data))
	}
	jsentry.Drain()
}

// receive is the message handler without the shim. It copies the message
// into Go and queues it.
func (c *Conn) receive(e js.Value) {
	data := e.Get("data")
	var b []byte
	if data.Type() == js.TypeString {
		// syscall/js reads no length of a string: the limit is checked
		// on the copy, which the browser's own copy bounds anyway.
		b = []byte(data.String())
	} else {
		arr := uint8Array.New(data) // an ArrayBuffer
		b = make([]byte, arr.Length())
		js.CopyBytesToGo(b, arr)
	}
	c.take(b)
}

// take hands a received message to the function set with Push, or queues
// it for Read; it fails the connection when the message is over the limit
// or the queue is full.
func (c *Conn) take(b []byte) {
	if limit := c.limit.Load(); limit >= 0 && int64(len(b)) > limit {
		c.fail(fmt.Errorf("%w: %d bytes, over the limit of %d", ErrMessageTooBig, len(b), limit), "message too big")
		return
	}
	c.mu.Lock()
	push, queued := c.push, true
	if push == nil || c.catching {
		if c.pushEnd {
			c.mu.Unlock()
			return // the receiver wants no more
		}
		select {
		case c.msgs <- b:
		default:
			queued = false
		}
		push = nil
	}
	c.mu.Unlock()
	switch {
	case !queued:
		c.fail(fmt.Errorf("more than %d received messages unread", queueLength), "receive queue full")
	case push != nil && !push(b, nil):
		c.stopPush()
	}
}

// Push has f receive the messages in place of Read, in order: those
// queued first, on the calling goroutine, then each as it arrives, on the
// goroutine that JavaScript's call into Go runs on, which must not wait
// for anything. Once the connection has ended, f gets the error that Read
// would return, once. f returns false to receive nothing more.
func (c *Conn) Push(f func(data []byte, err error) bool) {
	c.mu.Lock()
	c.push, c.catching = f, true
	c.mu.Unlock()
	for {
		select {
		case b := <-c.msgs:
			if !f(b, nil) {
				c.stopPush()
				return
			}
			continue
		default:
		}
		c.mu.Lock()
		if len(c.msgs) == 0 {
			c.catching = false
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
	}
	select {
	case <-c.done:
		c.pushEnded()
	default:
	}
}

// stopPush records that the receiver of Push wants no more.
func (c *Conn) stopPush() {
	c.mu.Lock()
	c.push, c.pushEnd = nil, true
	c.mu.Unlock()
}

// pushEnded gives the receiver of Push the end of the connection, once.
func (c *Conn) pushEnded() {
	c.mu.Lock()
	push := c.push
	if push == nil || c.catching || c.pushEnd {
		c.mu.Unlock()
		return
	}
	c.push, c.pushEnd = nil, true
	c.mu.Unlock()
	push(nil, c.err)
}

// fail closes the connection for a reason of this side's. Browsers accept
// no close status but 1000 and 3000-4999 from a script, so the reason
// travels as text.
func (c *Conn) fail(err error, reason string) {
	catch(func() { c.ws.Call("close", 1000, reason) })
	c.finish(err)
}

// finish records why the connection ended, detaches and releases the
// event handlers, and unblocks Read. The first call wins.
func (c *Conn) finish(err error) {
	c.once.Do(func() {
		c.err = err
		if c.num != 0 {
			conns.Lock()
			delete(conns.m, c.num)
			conns.Unlock()
		}
		for _, ev := range []string{"onopen", "onmessage", "onerror", "onclose"} {
			c.ws.Set(ev, js.Null())
		}
		for _, f := range c.funcs {
			f.Release()
		}
		c.funcs = nil
		close(c.done)
	})
	c.pushEnded()
}

// Subprotocol is the subprotocol that the server chose, "" for none.
func (c *Conn) Subprotocol() string { return c.protocol }

// SetReadLimit sets the largest message, in bytes, that the connection
// accepts; a negative n means no limit. A larger message fails the
// connection with an error wrapping ErrMessageTooBig.
func (c *Conn) SetReadLimit(n int64) { c.limit.Store(n) }

// Read returns the next received message, text as its UTF-8 bytes. Once
// the connection has ended it returns the messages still queued, then the
// reason: a *CloseError when the other side or the browser closed it.
// After Push, the messages go to Push's function instead.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	select {
	case b := <-c.msgs:
		return b, nil
	default:
	}
	select {
	case b := <-c.msgs:
		return b, nil
	case <-c.done:
		select {
		case b := <-c.msgs:
			return b, nil
		default:
			return nil, c.err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write sends data as one message: a binary one, or a text one (data must
// then be UTF-8). The browser buffers it; Write does not wait for the
// network.
func (c *Conn) Write(binary bool, data []byte) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	return catch(func() {
		if c.sendMem.Type() == js.TypeFunction {
			c.sendMem.Invoke(jsentry.Addr(data), len(data), binary)
			return
		}
		if !binary {
			c.send.Invoke(string(data))
			return
		}
		arr := uint8Array.New(len(data))
		js.CopyBytesToJS(arr, data)
		c.send.Invoke(arr)
	})
}

// Close starts the close handshake with code (1000, or 3000 to 4999) and
// reason (at most 123 bytes). Done is closed when it has finished.
func (c *Conn) Close(code int, reason string) error {
	return catch(func() { c.ws.Call("close", code, reason) })
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseNow ends the connection without waiting for the close handshake.
func (c *Conn) CloseNow() {
	catch(func() { c.ws.Call("close") })
	c.finish(errClosedHere)
}

// catch runs f and returns the exception that it threw in JavaScript, if
// any.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			jsErr, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = errors.New(message(jsErr.Value))
		}
	}()
	f()
	return nil
}

// message describes a thrown value, usually an Error or a DOMException.
func message(v js.Value) string {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			return m.String()
		}
	}
	return v.String()
}
