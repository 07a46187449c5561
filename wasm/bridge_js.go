//go:build js

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/wampkit/wampkit/client"
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
	host js.Value // host(kind, n, data), set by init

	mu       sync.Mutex
	sessions map[int]*handle       // by the shim's session number
	waiters  map[int]chan js.Value // answers awaited from JavaScript, by token
	last     int                   // last token, registration or subscription number issued
}

// handle is a session as the shim sees it.
type handle struct {
	sid  int
	s    *client.Session // nil until joined
	regs map[int]*client.Registration
	subs map[int]*client.Subscription
}

func newBridge() *bridge {
	return &bridge{sessions: map[int]*handle{}, waiters: map[int]chan js.Value{}}
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
	def("call", "nnss", b.call)
	def("register", "nnssf", b.register)
	def("unregister", "nnn", b.unregister)
	def("subscribe", "nnssf", b.subscribe)
	def("unsubscribe", "nnn", b.unsubscribe)
	def("publish", "nnss", b.publish)
	def("leave", "nn", b.leave)
	def("settle", "ns", b.settle)
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

// notify calls the shim's host function: kind "resolve" or "reject" with
// a request number, "open", "close" or "challenge" with a session number.
func (b *bridge) notify(kind string, n int, data []byte) {
	b.host.Invoke(kind, n, string(data))
}

// finish settles request req of the shim with the result of f, run on a
// new goroutine: a bridge function returns at once and never blocks the
// page.
func (b *bridge) finish(req int, f func() ([]byte, error)) {
	go func() {
		data, err := f()
		if err != nil {
			b.notify("reject", req, encodeError(err))
			return
		}
		b.notify("resolve", req, data)
	}()
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
	h := &handle{sid: sid, regs: map[int]*client.Registration{}, subs: map[int]*client.Subscription{}}
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
	if cc.challenge {
		cfg.OnChallenge = func(ctx context.Context, c *wamp.Challenge) (string, wamp.Dict, error) {
			return b.challenge(ctx, h.sid, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	if _, err := client.Join(ctx, cc.urls[0], cc.realm, cfg); err != nil {
		b.drop(h)
		b.notify("close", h.sid, encodeClose(err, false, false))
	}
}

// drop forgets a session that ended.
func (b *bridge) drop(h *handle) {
	b.mu.Lock()
	delete(b.sessions, h.sid)
	b.mu.Unlock()
}

// await registers a token for an answer from JavaScript (bridge.settle).
func (b *bridge) await() (int, chan js.Value) {
	ch := make(chan js.Value, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	b.waiters[b.last] = ch
	return b.last, ch
}

// forget drops a token whose answer is no longer awaited.
func (b *bridge) forget(token int) {
	b.mu.Lock()
	delete(b.waiters, token)
	b.mu.Unlock()
}

// settle(token, data) delivers the answer to an invocation or a challenge.
// An answer that comes too late (the session ended) is dropped.
func (b *bridge) settle(args []js.Value) error {
	token := args[0].Int()
	b.mu.Lock()
	ch := b.waiters[token]
	delete(b.waiters, token)
	b.mu.Unlock()
	if ch != nil {
		ch <- args[1]
	}
	return nil
}

// ask passes a request to JavaScript through send, which receives the
// token to settle, and waits for the answer or ctx.
func (b *bridge) ask(ctx context.Context, send func(token int)) ([]byte, error) {
	token, ch := b.await()
	defer b.forget(token)
	send(token)
	select {
	case v := <-ch:
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

// call(sid, req, procedure, payload) calls a procedure; payload is
// [args, kwargs, options] and the result [args, kwargs, details].
func (b *bridge) call(args []js.Value) error {
	sid, req, procedure, payload := args[0].Int(), args[1].Int(), args[2].String(), args[3].String()
	b.finish(req, func() ([]byte, error) {
		_, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		r, err := decodeRequest([]byte(payload))
		if err != nil {
			return nil, err
		}
		timeout, err := callTimeout(r.options)
		if err != nil {
			return nil, err
		}
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		res, err := s.Call(ctx, wamp.URI(procedure), r.args, r.kwargs, optionsOf(r.options)...)
		if errors.Is(err, context.DeadlineExceeded) {
			err = wamp.NewError(wamp.ErrTimeout, fmt.Sprintf("no result for %s within %v", procedure, timeout))
		}
		if err != nil {
			return nil, err
		}
		return encodeTriple(res.Args, res.Kwargs, res.Details)
	})
	return nil
}

// register(sid, req, procedure, options, fn) registers a procedure. fn is
// called as fn(token, [args, kwargs, details]) for each invocation, and
// the shim answers with settle(token, outcome); see decodeOutcome. The
// result is [registration number, registration ID].
func (b *bridge) register(args []js.Value) error {
	sid, req, procedure, options, fn := args[0].Int(), args[1].Int(), args[2].String(), args[3].String(), args[4]
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
		b.mu.Unlock()
		return fmt.Appendf(nil, "[%d,%d]", n, uint64(reg.ID())), nil
	})
	return nil
}

// procedure returns the client handler that runs the JavaScript
// procedure fn.
func (b *bridge) procedure(fn js.Value) client.Handler {
	return func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		payload, err := encodeTriple(inv.Args, inv.Kwargs, inv.Details)
		if err != nil {
			return nil, fmt.Errorf("wampkit: the invocation has no JSON form: %w", err)
		}
		outcome, err := b.ask(ctx, func(token int) { fn.Invoke(token, string(payload)) })
		if err != nil {
			return nil, err
		}
		return decodeOutcome(outcome)
	}
}

// unregister(sid, req, registration number) ends a registration.
func (b *bridge) unregister(args []js.Value) error {
	sid, req, n := args[0].Int(), args[1].Int(), args[2].Int()
	b.finish(req, func() ([]byte, error) {
		h, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		reg := h.regs[n]
		delete(h.regs, n)
		b.mu.Unlock()
		if reg == nil {
			return nil, errors.New("wampkit: unregister: not a live registration of this session")
		}
		return []byte("null"), s.Unregister(context.Background(), reg)
	})
	return nil
}

// subscribe(sid, req, topic, options, fn) subscribes fn, called as
// fn([args, kwargs, details]) for each event. The result is
// [subscription number, subscription ID].
func (b *bridge) subscribe(args []js.Value) error {
	sid, req, topic, options, fn := args[0].Int(), args[1].Int(), args[2].String(), args[3].String(), args[4]
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
		b.mu.Unlock()
		return fmt.Appendf(nil, "[%d,%d]", n, uint64(sub.ID())), nil
	})
	return nil
}

// eventHandler returns the client handler that passes events to the
// JavaScript function fn.
func eventHandler(fn js.Value) client.EventHandler {
	return func(ev *client.Event) {
		payload, err := encodeTriple(ev.Args, ev.Kwargs, ev.Details)
		if err != nil {
			js.Global().Get("console").Call("warn", "wampkit: event dropped: it has no JSON form: "+err.Error())
			return
		}
		fn.Invoke(string(payload))
	}
}

// unsubscribe(sid, req, subscription number) ends a subscription.
func (b *bridge) unsubscribe(args []js.Value) error {
	sid, req, n := args[0].Int(), args[1].Int(), args[2].Int()
	b.finish(req, func() ([]byte, error) {
		h, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		sub := h.subs[n]
		delete(h.subs, n)
		b.mu.Unlock()
		if sub == nil {
			return nil, errors.New("wampkit: unsubscribe: not a live subscription of this session")
		}
		return []byte("null"), s.Unsubscribe(context.Background(), sub)
	})
	return nil
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

// leave(sid, req) leaves the realm and closes the session.
func (b *bridge) leave(args []js.Value) error {
	sid, req := args[0].Int(), args[1].Int()
	b.finish(req, func() ([]byte, error) {
		_, s, err := b.session(sid)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		return []byte("null"), s.Leave(ctx)
	})
	return nil
}
