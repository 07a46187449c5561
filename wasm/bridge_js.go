//go:build js

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall/js"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/internal/jsentry"
	"github.com/wampkit/wampkit/wamp"
)

// Timeouts of the operations that have no deadline of their own.
const (
	// joinTimeout bounds a connect: a server that accepts the connection
	// and never answers HELLO must not leave the page's promise pending.
	joinTimeout = 30 * time.Second
	// leaveTimeout bounds the wait for the router's GOODBYE.
	leaveTimeout = 5 * time.Second
)

// bridge is the Go half of the shim. The shim numbers sessions and
// requests; the bridge numbers registrations, subscriptions and the
// tokens of the answers it awaits from JavaScript.
//
// Nothing calls into JavaScript while mu is held: a JavaScript function
// may call back into the bridge on the same goroutine.
type bridge struct {
	host    js.Value // host(kind, n, data), set by init
	workers *workers // run what a bridge function starts

	mu       sync.Mutex
	sessions map[int]*handle            // by the shim's session number
	waiters  map[int]*waiter            // answers awaited from JavaScript, by token
	calls    map[int]context.CancelFunc // calls in flight, by the shim's request number
	last     int                        // last token, registration or subscription number issued
}

// waiter awaits the page's answer to an invocation or a challenge. For an
// invocation it also holds what the procedure sends before its answer
// (details.progress) and what details.next reads.
type waiter struct {
	answer chan js.Value // capacity 1

	inv *client.Invocation // nil for a challenge
	ctx context.Context    // the handler's

	// progress holds the page's progressive results in order, guarded by
	// bridge.mu: the page may send several before Go runs again.
	progress [][]byte
	wake     chan struct{} // capacity 1: progress is not empty
}

// handle is a session as the shim sees it. Registrations and
// subscriptions share the bridge's numbers; stops holds, under each, the
// channel that ends the wait for its revocation (see watchRevoked).
type handle struct {
	sid     int
	s       *client.Session // nil until joined
	regs    map[int]*client.Registration
	subs    map[int]*client.Subscription
	stops   map[int]chan struct{}
	streams map[int]*stream // calls whose arguments the page streams, by request number
}

// stream is a call whose arguments the page streams (callStream). Its
// parts wait here, in the order the page sent them, for the worker that
// sends them one at a time.
type stream struct {
	cs     *client.CallStream
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by bridge.mu.
	parts []streamPart
	busy  bool // a worker is sending parts
}

func newBridge() *bridge {
	return &bridge{workers: newWorkers(), sessions: map[int]*handle{}, waiters: map[int]*waiter{},
		calls: map[int]context.CancelFunc{}}
}

// object returns the bridge as the JavaScript object the shim uses. Its
// functions live as long as the page.
func (b *bridge) object() js.Value {
	o := js.Global().Get("Object").New()
	def := func(name, spec string, f func(args []js.Value) error) {
		o.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
			if err := checkArgs(args, spec); err != nil {
				return "wampkit bridge: " + name + ": " + err.Error()
			}
			if err := f(args); err != nil {
				return err.Error()
			}
			return nil
		}))
	}
	def("init", "f", b.init)
	def("connect", "ns", b.connect)
	def("cancel", "n", b.cancel)
	def("stream", "nnss", b.stream)
	def("send", "nnns", b.send)
	def("register", "nnssff", b.register)
	def("unregister", "nnn", b.unregister)
	def("subscribe", "nnssff", b.subscribe)
	def("unsubscribe", "nnn", b.unsubscribe)
	def("publish", "nnss", b.publish)
	def("leave", "nns", b.leave)
	def("settle", "ns", b.settle)
	def("progress", "ns", b.progress)
	def("next", "nnn", b.next)
	return o
}

// checkArgs checks JavaScript arguments against spec: one letter per
// argument, n for a number, s for a string, f for a function.
func checkArgs(args []js.Value, spec string) error {
	if len(args) != len(spec) {
		return fmt.Errorf("want %d arguments, got %d", len(spec), len(args))
	}
	for i, c := range []byte(spec) {
		want := js.TypeFunction
		switch c {
		case 'n':
			want = js.TypeNumber
		case 's':
			want = js.TypeString
		}
		if args[i].Type() != want {
			return fmt.Errorf("argument %d: want %s, got %s", i, want, args[i].Type())
		}
	}
	return nil
}

// notify calls the shim's host function: kind "resolve", "reject" or
// "progress" (a progressive result of a call) with a request number;
// "open", "close" or "challenge" with a session number; "interrupt" with
// the token of an invocation whose handler was stopped.
func (b *bridge) notify(kind string, n int, data []byte) {
	// data goes as its address and length in Go's memory: cheaper than a
	// string through syscall/js.
	b.host.Invoke(hostKinds[kind], n, jsentry.Addr(data), len(data))
}

// hostKinds are the kinds of notify as JavaScript strings, made once: each
// string made costs a crossing into JavaScript and a finalizer.
var hostKinds = func() map[string]js.Value {
	m := map[string]js.Value{}
	for _, k := range []string{"resolve", "reject", "progress", "open", "close", "challenge", "interrupt"} {
		m[k] = js.ValueOf(k)
	}
	return m
}()

// finish settles request req of the shim with the result of f, run on a
// worker goroutine: a bridge function returns at once and never blocks
// the page.
func (b *bridge) finish(req int, f func() ([]byte, error)) {
	b.workers.run(func() {
		data, err := f()
		if err != nil {
			b.notify("reject", req, encodeError(err))
			return
		}
		b.notify("resolve", req, data)
	})
}

// init receives the shim's host function.
func (b *bridge) init(args []js.Value) error {
	b.host = args[0]
	return nil
}

// session returns the joined session numbered sid.
func (b *bridge) session(sid int) (*handle, *client.Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.sessions[sid]
	if h == nil || h.s == nil {
		return nil, nil, fmt.Errorf("wampkit: session %d is closed", sid)
	}
	return h, h.s, nil
}

// connect(sid, config) joins a realm: the shim hears "open" after the
// join and "close" when the session ends or the join fails.
func (b *bridge) connect(args []js.Value) error {
	if b.host.IsUndefined() {
		return errors.New("wampkit bridge: connect before init")
	}
	sid := args[0].Int()
	cc, err := decodeConnectConfig([]byte(args[1].String()))
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.sessions[sid] != nil {
		b.mu.Unlock()
		return fmt.Errorf("wampkit bridge: session %d exists", sid)
	}
	h := &handle{sid: sid, regs: map[int]*client.Registration{}, subs: map[int]*client.Subscription{},
		stops: map[int]chan struct{}{}, streams: map[int]*stream{}}
	b.sessions[sid] = h
	b.mu.Unlock()
	go b.run(h, cc)
	return nil
}

// run joins and reports each (re)join and each end to the shim: "open"
// after every join, "close" each time a WAMP session ends or the first
// join fails, the last one with willRetry false.
func (b *bridge) run(h *handle, cc connectConfig) {
	cfg := &client.Config{
		Serializer:   cc.serializer,
		AuthID:       cc.authID,
		AuthMethods:  cc.authMethods,
		AuthExtra:    cc.authExtra,
		FallbackURLs: cc.urls[1:],
		OnJoin: func(s *client.Session) {
			// OnJoin may run before Join returns: the page may use the
			// session as soon as it hears "open".
			b.mu.Lock()
			h.s = s
			b.mu.Unlock()
			open, err := encodeOpen(s.ID(), s.Details(), s.Transport().Transport)
			if err != nil {
				// WELCOME details without a JSON form: the page goes without.
				open, _ = encodeOpen(s.ID(), nil, s.Transport().Transport)
			}
			b.notify("open", h.sid, open)
		},
		OnLeave: func(err error, willRetry bool) {
			if !willRetry {
				b.drop(h)
			}
			b.notify("close", h.sid, encodeClose(err, true, willRetry))
		},
	}
	if cc.retry {
		cfg.Reconnect = &client.Reconnect{}
	}
	var page client.ChallengeFunc
	if cc.challenge {
		page = func(ctx context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
			return b.challenge(ctx, h.sid, c)
		}
	}
	cfg.OnChallenge = cc.onChallenge(page)
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	if _, err := client.Join(ctx, cc.urls[0], cc.realm, cfg); err != nil {
		b.drop(h)
		b.notify("close", h.sid, encodeClose(err, false, false))
	}
}

// drop forgets a session that ended, and stops the waits for the
// revocation of its registrations and subscriptions.
func (b *bridge) drop(h *handle) {
	b.mu.Lock()
	delete(b.sessions, h.sid)
	for n, stop := range h.stops {
		close(stop)
		delete(h.stops, n)
	}
	b.mu.Unlock()
}

// await registers a token for an answer from JavaScript (bridge.settle);
// inv and ctx are those of an invocation, nil for a challenge.
func (b *bridge) await(inv *client.Invocation, ctx context.Context) (int, *waiter) {
	w := &waiter{answer: make(chan js.Value, 1), inv: inv, ctx: ctx, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	b.waiters[b.last] = w
	return b.last, w
}

// forget drops a token whose answer is no longer awaited.
func (b *bridge) forget(token int) {
	b.mu.Lock()
	delete(b.waiters, token)
	b.mu.Unlock()
}

// settle(token, data) delivers the answer to an invocation or a challenge.
// An answer that comes too late (the session ended, the invocation was
// interrupted) is dropped.
func (b *bridge) settle(args []js.Value) error {
	token := args[0].Int()
	b.mu.Lock()
	w := b.waiters[token]
	delete(b.waiters, token)
	b.mu.Unlock()
	if w != nil {
		w.answer <- args[1]
	}
	return nil
}

// progress(token, [args, kwargs]) queues a progressive result of the
// invocation token, sent before its answer and in order.
func (b *bridge) progress(args []js.Value) error {
	token, data := args[0].Int(), []byte(args[1].String())
	b.mu.Lock()
	w := b.waiters[token]
	if w == nil || w.inv == nil {
		b.mu.Unlock()
		return errors.New("wampkit: progress: the procedure already answered or was interrupted")
	}
	w.progress = append(w.progress, data)
	b.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// sendProgress sends the queued progressive results of w.
func (b *bridge) sendProgress(w *waiter) {
	for {
		b.mu.Lock()
		if len(w.progress) == 0 {
			b.mu.Unlock()
			return
		}
		data := w.progress[0]
		w.progress = w.progress[1:]
		b.mu.Unlock()
		args, kwargs, err := decodeProgress(data)
		if err == nil {
			err = w.inv.Progress(args, kwargs)
		}
		if err != nil {
			js.Global().Get("console").Call("warn", "wampkit: progressive result not sent: "+err.Error())
		}
	}
}

// next(sid, req, token) resolves with the next part of the progressive
// call invocation token, [args, kwargs, final], or null after the last.
func (b *bridge) next(args []js.Value) error {
	req, token := args[1].Int(), args[2].Int()
	b.finish(req, func() ([]byte, error) {
		b.mu.Lock()
		w := b.waiters[token]
		b.mu.Unlock()
		if w == nil || w.inv == nil {
			return nil, errors.New("wampkit: next: the procedure already answered or was interrupted")
		}
		p, err := w.inv.Next(w.ctx)
		if errors.Is(err, io.EOF) {
			return []byte("null"), nil
		}
		if err != nil {
			return nil, err
		}
		return encodePart(p)
	})
	return nil
}

// ask passes a challenge to JavaScript through send, which receives the
// token to settle, and waits for the answer or ctx.
func (b *bridge) ask(ctx context.Context, send func(token int)) ([]byte, error) {
	token, w := b.await(nil, nil)
	defer b.forget(token)
	send(token)
	select {
	case v := <-w.answer:
		return []byte(v.String()), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// challenge asks the page's onchallenge for the signature.
func (b *bridge) challenge(ctx context.Context, sid int, c *wamp.Challenge) (string, wamp.Dict, error) {
	answer, err := b.ask(ctx, func(token int) {
		data, err := encodeChallenge(token, c)
		if err != nil {
			data, _ = encodeChallenge(token, &wamp.Challenge{AuthMethod: c.AuthMethod})
		}
		b.notify("challenge", sid, data)
	})
	if err != nil {
		return "", nil, err
	}
	return decodeChallengeAnswer(answer)
}

// theBridge is the bridge that the entries reach.
var theBridge = newBridge()

// callEntry is call(sid, req, procedure, payload) as the shim makes it:
// the procedure's n bytes then the payload's, up to end, are in jsentry's
// buffer (see call).
//
//go:wasmexport wampkit_call
func callEntry(sid, req, n, end int32) {
	data, ok := jsentry.Bytes(end)
	if !ok || n < 0 || n > end {
		theBridge.notify("reject", int(req), encodeError(errors.New("wampkit bridge: call: bad lengths")))
		return
	}
	theBridge.call(int(sid), int(req), string(data[:n]), slices.Clone(data[n:]))
	jsentry.Drain()
}

// call calls a procedure; payload is [args, kwargs, options, local] (see
// decodeCall) and the result [args, kwargs, details]. Each progressive
// result reaches the shim as "progress" with the request number.
// cancel(req) cancels it.
func (b *bridge) call(sid, req int, procedure string, payload []byte) {
	settled := false // guarded by b.mu
	// end forgets the call and settles it in the page.
	end := func(data []byte, err error) {
		b.mu.Lock()
		settled = true
		delete(b.calls, req)
		b.mu.Unlock()
		if err != nil {
			b.notify("reject", req, encodeError(err))
			return
		}
		b.notify("resolve", req, data)
	}
	endWith := func(res *client.Result, err error) {
		if err != nil {
			end(nil, err)
			return
		}
		end(encodeTriple(res.Args, res.Kwargs, res.Details))
	}
	_, s, err := b.session(sid)
	var c callRequest
	if err == nil {
		c, err = decodeCall(payload)
	}
	if err != nil {
		end(nil, err)
		return
	}
	if !c.progress {
		// CallFunc: the answer goes to the page from the goroutine that
		// reads the session, with no goroutine of the call's own to wake,
		// and no context to make: its cancel is enough for the page.
		cancel, err := s.CallFunc(context.Background(), wamp.URI(procedure), c.args, c.kwargs, endWith, c.clientOptions(nil)...)
		if err != nil {
			end(nil, err)
			return
		}
		b.mu.Lock()
		if !settled {
			b.calls[req] = cancel
		}
		b.mu.Unlock()
		return
	}
	// A call that takes progressive results waits in Call, on a worker.
	ctx, cancel := context.WithCancel(context.Background())
	b.mu.Lock()
	b.calls[req] = cancel
	b.mu.Unlock()
	b.workers.run(func() {
		defer cancel()
		endWith(s.Call(ctx, wamp.URI(procedure), c.args, c.kwargs, c.clientOptions(b.progressTo(req))...))
	})
}

// progressTo returns the progress handler of call req: each progressive
// result reaches the shim as "progress" with the request number.
func (b *bridge) progressTo(req int) func(*client.Result) {
	return func(r *client.Result) {
		data, err := encodeTriple(r.Args, r.Kwargs, r.Details)
		if err != nil {
			js.Global().Get("console").Call("warn", "wampkit: progressive result dropped: it has no JSON form: "+err.Error())
			return
		}
		b.notify("progress", req, data)
	}
}

// cancel(req) cancels call req: the client sends CANCEL. The shim has
// already rejected the call's promise.
func (b *bridge) cancel(args []js.Value) error {
	req := args[0].Int()
	b.mu.Lock()
	cancel := b.calls[req]
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

// stream(sid, req, procedure, payload) starts call req, whose arguments
// the page then streams with send; payload is that of call without
// arguments, [null, null, options, local]. Nothing is sent before the
// first part. The call settles as req: "resolve" with [args, kwargs,
// details] once the last part was sent and the callee answered, "reject"
// when the call fails or cannot start (the router does not announce
// progressive_call_invocations, say). cancel(req) cancels it.
func (b *bridge) stream(args []js.Value) error {
	sid, req, procedure, payload := args[0].Int(), args[1].Int(), args[2].String(), []byte(args[3].String())
	h, s, err := b.session(sid)
	var c callRequest
	if err == nil {
		c, err = decodeCall(payload)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cs *client.CallStream
	if err == nil {
		cs, err = s.CallStream(ctx, wamp.URI(procedure), c.clientOptions(b.progressTo(req))...)
	}
	if err != nil {
		cancel()
		b.notify("reject", req, encodeError(err))
		return nil
	}
	st := &stream{cs: cs, ctx: ctx, cancel: cancel}
	b.mu.Lock()
	h.streams[req] = st
	b.calls[req] = cancel
	b.mu.Unlock()
	// Canceled by the page, or done: the stream takes no more parts.
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		if h.streams[req] == st {
			delete(h.streams, req)
		}
		delete(b.calls, req)
		b.mu.Unlock()
	})
	return nil
}

// send(sid, req, stream, part) sends a part of the arguments of call
// stream, [args, kwargs, final], after the parts sent before. A part that
// is not final settles req once sent ("resolve" with null); the final
// part is close's: req is then the call's own request, and it settles
// with the call's result.
func (b *bridge) send(args []js.Value) error {
	sid, req, n := args[0].Int(), args[1].Int(), args[2].Int()
	p, err := decodeStreamPart([]byte(args[3].String()))
	b.mu.Lock()
	var st *stream
	if h := b.sessions[sid]; h != nil {
		st = h.streams[n]
		if st != nil && err == nil && p.final {
			delete(h.streams, n) // close: no part may follow
		}
	}
	if err == nil && st == nil {
		err = errors.New("wampkit: callStream: the call has ended (closed, canceled, failed, or its session ended)")
	}
	if err != nil {
		b.mu.Unlock()
		b.notify("reject", req, encodeError(err))
		return nil
	}
	p.req = req
	st.parts = append(st.parts, p)
	idle := !st.busy
	st.busy = true
	b.mu.Unlock()
	if idle {
		b.workers.run(func() { b.sendParts(st) })
	}
	return nil
}

// sendParts sends the parts queued in st, in order, until none is left.
func (b *bridge) sendParts(st *stream) {
	for {
		b.mu.Lock()
		if len(st.parts) == 0 {
			st.busy = false
			b.mu.Unlock()
			return
		}
		p := st.parts[0]
		st.parts = st.parts[1:]
		b.mu.Unlock()
		if p.final {
			var res *client.Result
			err := st.ctx.Err() // canceled: nothing more is sent
			if err == nil {
				res, err = st.cs.Close(p.args, p.kwargs)
			}
			st.cancel()
			if err != nil {
				b.notify("reject", p.req, encodeError(err))
				continue
			}
			data, err := encodeTriple(res.Args, res.Kwargs, res.Details)
			if err != nil {
				b.notify("reject", p.req, encodeError(err))
				continue
			}
			b.notify("resolve", p.req, data)
			continue
		}
		err := st.ctx.Err()
		if err == nil {
			err = st.cs.Send(p.args, p.kwargs)
		}
		if err != nil {
			b.notify("reject", p.req, encodeError(err))
			continue
		}
		b.notify("resolve", p.req, []byte("null"))
	}
}

// register(sid, req, procedure, options, fn, revoked) registers a procedure. fn is
// called as fn(token, [args, kwargs, details]) for each invocation, and
// the shim answers with settle(token, outcome); see decodeOutcome. When the
// router revokes the registration, revoked(reason) is called. The result
// is [registration number, registration ID].
func (b *bridge) register(args []js.Value) error {
	sid, req, procedure, options, fn, revoked := args[0].Int(), args[1].Int(), args[2].String(), args[3].String(), args[4], args[5]
	b.finish(req, func() ([]byte, error) {
		h, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		opts, err := decodeOptions([]byte(options))
		if err != nil {
			return nil, err
		}
		reg, err := s.Register(context.Background(), wamp.URI(procedure), b.procedure(fn), optionsOf(opts)...)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.last++
		n := b.last
		h.regs[n] = reg
		stop := make(chan struct{})
		h.stops[n] = stop
		b.mu.Unlock()
		go b.watchRevoked(h, n, stop, reg.Revoked(), reg.RevokeReason, revoked)
		return fmt.Appendf(nil, "[%d,%d]", n, uint64(reg.ID())), nil
	})
	return nil
}

// procedure returns the client handler that runs the JavaScript
// procedure fn: fn(token, [args, kwargs, details]). Until the page
// settles token, it sends the page's progressive results; when the
// invocation is interrupted (or its session ends) it tells the page
// ("interrupt", token) and answers at once, as Handler describes.
func (b *bridge) procedure(fn js.Value) client.Handler {
	return func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		payload, err := encodeTriple(inv.Args, inv.Kwargs, invocationDetails(inv))
		if err != nil {
			return nil, fmt.Errorf("wampkit: the invocation has no JSON form: %w", err)
		}
		token, w := b.await(inv, ctx)
		defer b.forget(token)
		fn.Invoke(token, string(payload))
		for {
			select {
			case <-w.wake:
				b.sendProgress(w)
			case v := <-w.answer:
				b.sendProgress(w)
				return decodeOutcome([]byte(v.String()))
			case <-ctx.Done():
				b.notify("interrupt", token, encodeInterrupt(context.Cause(ctx)))
				return nil, ctx.Err()
			}
		}
	}
}

// watchRevoked waits until the router revokes registration or
// subscription n of h (revoked closes) or the page no longer needs to
// know (stop closes: it ended it, or the session ended). On revocation
// it forgets n and calls the page's fn(reason), reason "" when the router
// gave none.
func (b *bridge) watchRevoked(h *handle, n int, stop chan struct{}, revoked <-chan struct{}, reason func() string, fn js.Value) {
	select {
	case <-revoked:
	case <-stop:
		return
	}
	b.mu.Lock()
	live := h.stops[n] == stop
	if live {
		delete(h.stops, n)
		delete(h.regs, n)
		delete(h.subs, n)
	}
	b.mu.Unlock()
	if live {
		fn.Invoke(reason())
	}
}

// unregister(sid, req, registration number) ends a registration.
func (b *bridge) unregister(args []js.Value) error {
	return endOne(b, args, "unregister", "registration",
		func(h *handle) map[int]*client.Registration { return h.regs },
		func(s *client.Session, reg *client.Registration) error {
			return s.Unregister(context.Background(), reg)
		})
}

// endOne serves unregister and unsubscribe: (sid, req, number) takes the
// numbered registration or subscription out of table and ends it with
// stop.
func endOne[T any](b *bridge, args []js.Value, op, noun string, table func(*handle) map[int]T,
	stop func(*client.Session, T) error) error {
	sid, req, n := args[0].Int(), args[1].Int(), args[2].Int()
	b.finish(req, func() ([]byte, error) {
		h, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		live := table(h)
		x, ok := live[n]
		delete(live, n)
		if stop := h.stops[n]; stop != nil {
			close(stop)
			delete(h.stops, n)
		}
		b.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("wampkit: %s: not a live %s of this session", op, noun)
		}
		return []byte("null"), stop(s, x)
	})
	return nil
}

// subscribe(sid, req, topic, options, fn, revoked) subscribes fn, called
// as fn([args, kwargs, details]) for each event; revoked(reason) is called
// when the router revokes the subscription. The result is
// [subscription number, subscription ID].
func (b *bridge) subscribe(args []js.Value) error {
	sid, req, topic, options, fn, revoked := args[0].Int(), args[1].Int(), args[2].String(), args[3].String(), args[4], args[5]
	b.finish(req, func() ([]byte, error) {
		h, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		opts, err := decodeOptions([]byte(options))
		if err != nil {
			return nil, err
		}
		sub, err := s.Subscribe(context.Background(), wamp.URI(topic), eventHandler(fn), optionsOf(opts)...)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.last++
		n := b.last
		h.subs[n] = sub
		stop := make(chan struct{})
		h.stops[n] = stop
		b.mu.Unlock()
		go b.watchRevoked(h, n, stop, sub.Revoked(), sub.RevokeReason, revoked)
		return fmt.Appendf(nil, "[%d,%d]", n, uint64(sub.ID())), nil
	})
	return nil
}

// eventHandler returns the client handler that passes events to the
// JavaScript function fn.
func eventHandler(fn js.Value) client.EventHandler {
	return func(ev *client.Event) {
		payload, err := encodeTriple(ev.Args, ev.Kwargs, eventDetails(ev))
		if err != nil {
			js.Global().Get("console").Call("warn", "wampkit: event dropped: it has no JSON form: "+err.Error())
			return
		}
		fn.Invoke(string(payload))
	}
}

// unsubscribe(sid, req, subscription number) ends a subscription.
func (b *bridge) unsubscribe(args []js.Value) error {
	return endOne(b, args, "unsubscribe", "subscription",
		func(h *handle) map[int]*client.Subscription { return h.subs },
		func(s *client.Session, sub *client.Subscription) error {
			return s.Unsubscribe(context.Background(), sub)
		})
}

// publish(sid, req, topic, payload) publishes [args, kwargs, options].
func (b *bridge) publish(args []js.Value) error {
	sid, req, topic, payload := args[0].Int(), args[1].Int(), args[2].String(), args[3].String()
	b.finish(req, func() ([]byte, error) {
		_, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		r, err := decodeRequest([]byte(payload))
		if err != nil {
			return nil, err
		}
		return []byte("null"), s.Publish(context.Background(), wamp.URI(topic), r.args, r.kwargs, optionsOf(r.options)...)
	})
	return nil
}

// leave(sid, req, reason) leaves the realm and closes the session, with
// GOODBYE's reason ("" for the default, wamp.close.close_realm).
func (b *bridge) leave(args []js.Value) error {
	sid, req, reason := args[0].Int(), args[1].Int(), wamp.URI(args[2].String())
	if reason == "" {
		reason = wamp.ErrCloseRealm
	}
	b.finish(req, func() ([]byte, error) {
		_, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		return []byte("null"), s.LeaveWith(ctx, reason)
	})
	return nil
}
