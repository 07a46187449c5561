package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// RuntimeErrorURI is the error URI a callee sends when its handler fails
// with an error that is not a *wamp.Error, or panics.
const RuntimeErrorURI wamp.URI = "wamp.error.runtime_error"

// ErrNoProgress is returned by [Invocation.Progress] when the caller did
// not ask for progressive results.
var ErrNoProgress = errors.New("client: the caller did not ask for progressive results")

// ErrCallAnswered is returned by [CallStream.Send] when the callee
// answered before the caller's last part; Close returns that answer.
var ErrCallAnswered = errors.New("client: the call was answered before its last part")

// Result is the outcome of a call: what the callee yielded. A handler
// returns one; Details is then ignored.
type Result struct {
	// Args are the positional results.
	Args wamp.List
	// Kwargs are the keyword results.
	Kwargs wamp.Dict
	// Details are the RESULT's details; "progress" is true in a
	// progressive result.
	Details wamp.Dict
}

// Handler runs a registered procedure. It may block: the session goes on
// receiving messages meanwhile. A handler of a fast procedure starts on
// the goroutine that reads the session's messages, and reading moves to a
// new goroutine as soon as the handler makes a request, or when it still
// runs after 5 to 10 ms; a procedure whose handlers take over 100 µs on
// average has them run on goroutines of their own, side by side. ctx
// is canceled when the WAMP session that the invocation came on ends, and
// when the router interrupts the invocation (the caller canceled the call
// or it timed out): context.Cause(ctx) is then an [*InterruptError].
//
// Returning a *wamp.Error (wrapped or not) sends ERROR with its URI and
// arguments. Returning ctx's error (or its cause) after an interrupt sends
// ERROR wamp.error.canceled, or wamp.error.timeout when that was the
// interrupt's reason. Any other error sends ERROR wamp.error.runtime_error
// with the error's text; a nil *Result yields no arguments. A panic is
// recovered, logged and answered with ERROR wamp.error.runtime_error.
type Handler func(ctx context.Context, inv *Invocation) (*Result, error)

// InterruptError is the cause (context.Cause) of a handler's ctx when the
// router interrupted the invocation with INTERRUPT.
type InterruptError struct {
	// Mode is the INTERRUPT's mode: CancelKill (the caller waits for the
	// handler's answer) or CancelKillNoWait (nobody does).
	Mode string
	// Reason is wamp.error.canceled when the caller canceled the call,
	// wamp.error.timeout when it timed out.
	Reason wamp.URI
}

// Error describes the interrupt.
func (e *InterruptError) Error() string {
	return fmt.Sprintf("client: invocation interrupted (mode %q): %s", e.Mode, e.Reason)
}

// Invocation is a call that reaches a registered procedure. A progressive
// call invocation (the caller streams its arguments with [CallStream])
// brings its first part in Args and Kwargs and its later parts through
// Next.
type Invocation struct {
	// Args are the call's positional arguments.
	Args wamp.List
	// Kwargs are the call's keyword arguments.
	Kwargs wamp.Dict
	// Details are the INVOCATION's details, such as "procedure" for a
	// pattern-based registration, "caller" when disclosed,
	// "receive_progress", "timeout" (milliseconds) and "progress" when
	// more parts follow.
	Details wamp.Dict

	s         *Session
	l         *link
	id        wamp.ID
	procedure wamp.URI
	ctx       context.Context // the handler's
	interrupt context.CancelCauseFunc

	// Guarded by Session.mu.
	parts    []*Part       // later parts not yet taken by Next
	more     bool          // parts are still to come
	answered bool          // the handler returned
	wake     chan struct{} // capacity 1: a part arrived; nil unless progressive
}

// Part is a later part of a progressive call invocation.
type Part struct {
	// Args are the part's positional arguments.
	Args wamp.List
	// Kwargs are the part's keyword arguments.
	Kwargs wamp.Dict
	// Final tells that it is the caller's last part.
	Final bool
}

// Caller returns the caller's session ID, or 0 when it was not disclosed
// (see [DiscloseMe] and [DiscloseCaller]); Details["caller_authid"] and
// Details["caller_authrole"] tell the rest.
func (inv *Invocation) Caller() wamp.ID {
	n, _ := wamp.AsInt(inv.Details["caller"])
	return wamp.ID(n)
}

// Procedure returns the URI the caller called: Details["procedure"] for a
// pattern-based registration, the registered URI otherwise.
func (inv *Invocation) Procedure() wamp.URI {
	if p, ok := inv.Details["procedure"].(string); ok && p != "" {
		return wamp.URI(p)
	}
	return inv.procedure
}

// WantsProgress tells whether the caller asked for progressive results,
// which [Invocation.Progress] sends.
func (inv *Invocation) WantsProgress() bool {
	b, _ := inv.Details["receive_progress"].(bool)
	return b
}

// Progress sends the caller a progressive result (YIELD with progress).
// Call it from the handler, before it returns its final result. It
// returns ErrNoProgress when the caller did not ask for progressive
// results, the cause of the handler's ctx once the invocation was
// interrupted, and an error after the handler returned.
func (inv *Invocation) Progress(args wamp.List, kwargs wamp.Dict) error {
	if !inv.WantsProgress() {
		return ErrNoProgress
	}
	if inv.ctx.Err() != nil {
		return context.Cause(inv.ctx)
	}
	inv.s.mu.Lock()
	answered := inv.answered
	inv.s.mu.Unlock()
	if answered {
		return errors.New("client: progress after the invocation was answered")
	}
	return inv.s.sendOn(inv.l, &wamp.Yield{Request: inv.id, Options: wamp.Dict{"progress": true}, Args: args, Kwargs: kwargs})
}

// Next waits for the next part of a progressive call invocation. It
// returns io.EOF once the caller's final part was taken, at once for an
// invocation that was not progressive; the error of ctx, or the cause of
// the handler's ctx when the invocation was interrupted or its session
// ended. Parts that arrive before the handler asks for them wait, without
// bound, in the invocation: the caller sets their pace.
func (inv *Invocation) Next(ctx context.Context) (*Part, error) {
	for {
		inv.s.mu.Lock()
		if len(inv.parts) > 0 {
			p := inv.parts[0]
			inv.parts[0] = nil
			inv.parts = inv.parts[1:]
			inv.s.mu.Unlock()
			return p, nil
		}
		more := inv.more
		inv.s.mu.Unlock()
		if !more {
			return nil, io.EOF
		}
		inv.s.takeOver(inv.l)
		select {
		case <-inv.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-inv.ctx.Done():
			return nil, context.Cause(inv.ctx)
		}
	}
}

// Registration is a procedure registered by this session.
type Registration struct {
	s         *Session
	id        wamp.ID
	procedure wamp.URI
	options   wamp.Dict
	handler   Handler
	revoked   chan struct{}
	reason    string // why the router revoked it; guarded by Session.mu
	// cost is what its handlers take, in nanoseconds, a moving average
	// kept by timeHandler; apart tells that they run on goroutines of
	// their own instead of the reading one (see invoke).
	cost  atomic.Int64
	apart atomic.Bool
}

// slowHandler is the average time above which a procedure's handlers run
// on goroutines of their own: they would hold up the reading goroutine
// for long, and side by side they use every core. Below half of it they
// run on the reading goroutine again.
const slowHandler = 100 * time.Microsecond

// timeHandler records that one of r's handlers ran for d, and decides
// where the next ones run. The average weighs the last run by 1/8: one
// slow run moves a fast procedure apart, a few dozen fast ones bring it
// back. Concurrent handlers may lose each other's updates, which only
// blurs the average.
func (r *Registration) timeHandler(d time.Duration) {
	avg := r.cost.Load()
	avg += (int64(d) - avg) / 8
	r.cost.Store(avg)
	switch {
	case avg > int64(slowHandler):
		r.apart.Store(true)
	case avg < int64(slowHandler/2):
		r.apart.Store(false)
	}
}

// ID returns the registration ID the router assigned in the current WAMP
// session: it changes when a reconnecting Session registers again.
func (r *Registration) ID() wamp.ID {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.id
}

// Procedure returns the URI (or pattern) the registration was made for.
func (r *Registration) Procedure() wamp.URI { return r.procedure }

// Revoked returns a channel that is closed when the router ends the
// registration itself (UNREGISTERED with request 0, for instance after
// wamp.registration.remove_callee). The registration is then gone, also
// from later reconnections; RevokeReason tells why. Unregister does not
// close it.
func (r *Registration) Revoked() <-chan struct{} { return r.revoked }

// RevokeReason returns the reason the router gave when it revoked the
// registration, "" before that or when it gave none.
func (r *Registration) RevokeReason() string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.reason
}

// call is a CALL in flight: its request and the progressive results that
// wait for the progress handler.
type call struct {
	req     *request
	o       *options
	results []*Result     // guarded by Session.mu
	wake    chan struct{} // capacity 1: results is not empty
}

// newCall prepares a call with options o. Progressive results are queued
// on the read loop and handed to the handler by waitCall.
func (s *Session) newCall(o *options) *call {
	c := &call{req: &request{typ: wamp.TypeCall}, o: o}
	if o.progress != nil {
		c.wake = make(chan struct{}, 1)
		c.req.progress = func(r *wamp.Result) {
			c.results = append(c.results, &Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details})
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
	}
	return c
}

// Call calls procedure and waits for its result. An ERROR answer returns a
// *wamp.Error with the URI, Args and Kwargs as received.
//
// When ctx ends first, Call sends CANCEL (see [CancelMode]) and returns
// ctx's error at once; a late answer is dropped. [WithTimeout] has the
// router bound the call instead, [Progress] receives progressive results.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) (*Result, error) {
	o, err := buildOptions("call", opts)
	if err != nil {
		return nil, err
	}
	c := s.newCall(o)
	l, err := s.startOn(ctx, nil, c.req, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: o.dict, Procedure: procedure, Args: args, Kwargs: kwargs}
	})
	if err != nil {
		return nil, err
	}
	return s.waitCall(ctx, l, c)
}

// CallFunc is Call for a caller that cannot wait, such as the browser
// bridge: it sends the CALL and returns; done then receives the result or
// the error, once. A CALL that cannot be sent returns its error, and done
// is not called. When ctx ends first, CallFunc's CANCEL goes out and done
// receives ctx's error; [WithTimeout] works as with Call; [Progress] is
// refused. The returned cancel does what the end of ctx does, with
// context.Canceled, and nothing once done has run: a caller that cancels
// its calls one by one need not make a context for each.
//
// done runs on the goroutine that reads the Session's messages, or on the
// one that ends the Session or ctx: it must return at once. It may start
// another CallFunc, which waits for no answer; any other request of the
// Session needs a goroutine of its own.
func (s *Session) CallFunc(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, done func(*Result, error), opts ...Option) (cancel func(), err error) {
	o, err := buildOptions("call", opts)
	if err != nil {
		return nil, err
	}
	if o.progress != nil {
		return nil, errors.New("client: CallFunc takes no Progress option: use Call")
	}
	c := s.newCall(o)
	var (
		mu       sync.Mutex
		finished bool
		stops    []func() bool // the watches on ctx and on the timeout
	)
	finish := func(m wamp.Message, err error) {
		mu.Lock()
		if finished {
			mu.Unlock()
			return
		}
		finished = true
		watches := stops
		mu.Unlock()
		for _, stop := range watches {
			stop()
		}
		s.callback("call result handler", func() {
			if err != nil {
				done(nil, err)
			} else {
				done(callAnswer(m))
			}
		})
	}
	c.req.done = finish
	l, err := s.startOn(ctx, nil, c.req, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: o.dict, Procedure: procedure, Args: args, Kwargs: kwargs}
	})
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return func() {}, nil // the session ended while the CALL went out: done has its error
		}
		finished = true
		return nil, err
	}
	giveUp := func(err error) {
		if s.cancelCall(l, c) {
			finish(nil, err)
		}
	}
	cancel = func() { giveUp(context.Canceled) }
	mu.Lock()
	defer mu.Unlock()
	if finished {
		return cancel, nil // answered already
	}
	if ctx.Done() != nil {
		stops = append(stops, context.AfterFunc(ctx, func() { giveUp(ctx.Err()) }))
	}
	if o.timeout > 0 && !l.routerHas("dealer", "call_timeout") {
		t := time.AfterFunc(o.timeout, func() {
			giveUp(wamp.NewError(wamp.ErrTimeout, fmt.Sprintf("no result within %v", o.timeout)))
		})
		stops = append(stops, t.Stop)
	}
	return cancel, nil
}

// waitCall waits for the answer to c, sent on l, and runs its progress
// handler for each progressive result that comes first.
func (s *Session) waitCall(ctx context.Context, l *link, c *call) (*Result, error) {
	var expired <-chan time.Time
	if c.o.timeout > 0 && !l.routerHas("dealer", "call_timeout") {
		t := time.NewTimer(c.o.timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-c.wake:
			s.deliverProgress(c)
		case a := <-c.req.reply:
			s.deliverProgress(c)
			return callAnswer(a)
		case <-ctx.Done():
			s.cancelCall(l, c)
			return nil, ctx.Err()
		case <-expired:
			s.cancelCall(l, c)
			return nil, wamp.NewError(wamp.ErrTimeout, fmt.Sprintf("no result within %v", c.o.timeout))
		case <-l.done:
			select {
			case a := <-c.req.reply:
				return callAnswer(a)
			default:
				s.mu.Lock()
				defer s.mu.Unlock()
				return nil, l.reqErr
			}
		}
	}
}

func callAnswer(a wamp.Message) (*Result, error) {
	m, err := answerOrError(a)
	if err != nil {
		return nil, err
	}
	r := m.(*wamp.Result)
	return &Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details}, nil
}

// deliverProgress hands the queued progressive results of c to its
// handler, in order.
func (s *Session) deliverProgress(c *call) {
	for {
		s.mu.Lock()
		if len(c.results) == 0 {
			c.results = nil
			s.mu.Unlock()
			return
		}
		r := c.results[0]
		c.results[0] = nil
		c.results = c.results[1:]
		s.mu.Unlock()
		s.callback("progress handler", func() { c.o.progress(r) })
	}
}

// cancelCall gives up a call of l: it forgets it and, when it was still
// pending and the router can cancel calls, sends CANCEL. It reports
// whether the call was still pending.
func (s *Session) cancelCall(l *link, c *call) bool {
	s.mu.Lock()
	_, pending := l.pending[c.req.id]
	delete(l.pending, c.req.id)
	s.mu.Unlock()
	if !pending || !(l.routerHas("dealer", "call_canceling") || l.routerHas("dealer", "call_cancelling")) {
		return pending
	}
	mode := c.o.cancelMode
	if mode == "" {
		mode = CancelKillNoWait
	}
	s.sendAsync(l, &wamp.Cancel{Request: c.req.id, Options: wamp.Dict{"mode": mode}})
	return true
}

// CallStream is a call whose caller sends its arguments in parts
// (progressive call invocations): each Send sends one part, Close the
// last one and waits for the result. The callee reads the parts with
// [Invocation.Next]. Send and Close may be called from any goroutine, one
// at a time.
//
// The stream's ctx bounds the whole call: when it ends, the client sends
// CANCEL and Send and Close return its error. A stream neither closed nor
// canceled waits for its answer until its session ends. Options are those
// of Call; progress handlers run on a goroutine of the stream and have all
// returned when Close returns.
type CallStream struct {
	s         *Session
	ctx       context.Context
	procedure wamp.URI
	c         *call

	mu     sync.Mutex         // serializes Send and Close
	l      *link              // the WAMP session of the first part; nil before it
	closed bool               // Close was called
	cancel context.CancelFunc // gives up the call once started

	done chan struct{} // closed when res and err are set
	res  *Result
	err  error
}

// CallStream starts a call to procedure whose arguments the caller sends
// in parts; nothing is sent before the first Send (or Close). It fails when
// the router does not announce progressive_call_invocations.
func (s *Session) CallStream(ctx context.Context, procedure wamp.URI, opts ...Option) (*CallStream, error) {
	o, err := buildOptions("call", opts)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	l, err := s.usableLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !l.routerHas("dealer", "progressive_call_invocations") {
		return nil, errors.New("client: call stream: the router does not announce progressive_call_invocations")
	}
	return &CallStream{s: s, ctx: ctx, procedure: procedure, c: s.newCall(o), done: make(chan struct{})}, nil
}

// Send sends one part of the arguments. It returns ErrCallAnswered, or the
// call's error, once the call has its answer; an error after Close. A part
// the transport refuses (too big for the router, or a value the serializer
// cannot carry) is not sent, and the call goes on.
func (cs *CallStream) Send(args wamp.List, kwargs wamp.Dict) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return errors.New("client: call stream: Send after Close")
	}
	if cs.l == nil {
		return cs.start(args, kwargs)
	}
	select {
	case <-cs.done:
		if cs.err != nil {
			return cs.err
		}
		return ErrCallAnswered
	default:
	}
	return cs.s.sendOn(cs.l, &wamp.Call{Request: cs.c.req.id, Options: wamp.Dict{"progress": true}, Procedure: cs.procedure, Args: args, Kwargs: kwargs})
}

// start sends the first part, with the call's options, and starts the
// goroutine that waits for the answer. cs.mu is held.
func (cs *CallStream) start(args wamp.List, kwargs wamp.Dict) error {
	options := maps.Clone(cs.c.o.dict)
	options["progress"] = true
	l, err := cs.s.startOn(cs.ctx, nil, cs.c.req, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: options, Procedure: cs.procedure, Args: args, Kwargs: kwargs}
	})
	if err != nil {
		return err
	}
	cs.l = l
	ctx, cancel := context.WithCancel(cs.ctx)
	cs.cancel = cancel
	go func() {
		cs.res, cs.err = cs.s.waitCall(ctx, l, cs.c)
		cancel()
		close(cs.done)
	}()
	return nil
}

// Close sends the last part of the arguments and waits for the result, as
// Call does. Without an earlier Send it makes a plain call. When the
// callee answered already, it sends nothing and returns that answer. When
// the last part cannot be sent, Close cancels the call, whose callee would
// otherwise wait for it, and returns the error.
func (cs *CallStream) Close(args wamp.List, kwargs wamp.Dict) (*Result, error) {
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		return nil, errors.New("client: call stream: Close called twice")
	}
	cs.closed = true
	l := cs.l
	if l == nil {
		cs.mu.Unlock()
		c := cs.c
		l, err := cs.s.startOn(cs.ctx, nil, c.req, func(id wamp.ID) wamp.Message {
			return &wamp.Call{Request: id, Options: c.o.dict, Procedure: cs.procedure, Args: args, Kwargs: kwargs}
		})
		if err != nil {
			return nil, err
		}
		return cs.s.waitCall(cs.ctx, l, c)
	}
	select {
	case <-cs.done:
	default:
		err := cs.s.sendOn(l, &wamp.Call{Request: cs.c.req.id, Options: wamp.Dict{}, Procedure: cs.procedure, Args: args, Kwargs: kwargs})
		if err != nil {
			cs.cancel()
			cs.mu.Unlock()
			<-cs.done
			return nil, err
		}
	}
	cs.mu.Unlock()
	<-cs.done
	return cs.res, cs.err
}

// Register registers handler for procedure. Invocations may arrive as
// soon as the router answered, even before Register returns. When ctx ends
// first, Register returns ctx's error and a late registration is undone.
// A reconnecting Session registers it again, with the same options, on
// each new WAMP session until Unregister or a revocation.
func (s *Session) Register(ctx context.Context, procedure wamp.URI, handler Handler, opts ...Option) (*Registration, error) {
	if handler == nil {
		return nil, errors.New("client: register: nil handler")
	}
	o, err := buildOptions("register", opts)
	if err != nil {
		return nil, err
	}
	reg := &Registration{s: s, procedure: procedure, options: o.dict, handler: handler, revoked: make(chan struct{})}
	req := &request{typ: wamp.TypeRegister}
	req.settle = func(l *link, a wamp.Message, abandoned bool) {
		r, ok := a.(*wamp.Registered)
		if !ok {
			return
		}
		if abandoned {
			s.sendAsync(l, &wamp.Unregister{Request: l.ids.Next(), Registration: r.Registration})
			return
		}
		reg.id = r.Registration
		s.regs[reg.id] = reg
	}
	if _, err := s.roundTrip(ctx, req, func(id wamp.ID) wamp.Message {
		return &wamp.Register{Request: id, Options: reg.options, Procedure: procedure}
	}); err != nil {
		return nil, err
	}
	return reg, nil
}

// Unregister ends a registration. Invocations that arrive before the
// router confirms are still served.
func (s *Session) Unregister(ctx context.Context, reg *Registration) error {
	if reg == nil || reg.s != s {
		return errors.New("client: unregister: not a registration of this session")
	}
	s.mu.Lock()
	_, err := s.usableLocked()
	live := s.regs[reg.id] == reg
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if !live {
		return fmt.Errorf("client: unregister: %s is not registered", reg.procedure)
	}
	req := &request{typ: wamp.TypeUnregister}
	var regID wamp.ID
	req.settle = func(_ *link, a wamp.Message, _ bool) {
		// Answered either way (an ERROR means the router has no such
		// registration): the registration is gone.
		if a != nil && s.regs[regID] == reg {
			delete(s.regs, regID)
		}
	}
	_, err = s.roundTrip(ctx, req, func(id wamp.ID) wamp.Message {
		regID = reg.id
		return &wamp.Unregister{Request: id, Registration: regID}
	})
	return err
}

// revokeRegistration handles UNREGISTERED with request 0: the router ended
// a registration itself.
func (s *Session) revokeRegistration(l *link, details wamp.Dict) {
	n, _ := wamp.AsInt(details["registration"])
	reason, _ := details["reason"].(string)
	s.mu.Lock()
	reg := s.regs[wamp.ID(n)]
	if reg != nil {
		delete(s.regs, reg.id)
		reg.reason = reason
		close(reg.revoked)
	}
	s.mu.Unlock()
	l.log.Info("registration revoked by the router", "registration", n, "known", reg != nil, "reason", reason)
}

// invoke handles an INVOCATION on the read loop: a new one runs its
// handler (see runInline), a later part of a progressive one goes to its
// handler. It returns false when this goroutine must stop reading: the
// router broke the protocol, or reading moved to another goroutine.
func (s *Session) invoke(l *link, m *wamp.Invocation) bool {
	more, _ := m.Details["progress"].(bool)
	s.mu.Lock()
	if inv := l.invocations[m.Request]; inv != nil {
		if !inv.more {
			s.mu.Unlock()
			s.protocolViolation(l, fmt.Sprintf("INVOCATION %d is already running and expects no more parts", m.Request))
			return false
		}
		inv.parts = append(inv.parts, &Part{Args: m.Args, Kwargs: m.Kwargs, Final: !more})
		inv.more = more
		s.mu.Unlock()
		select {
		case inv.wake <- struct{}{}:
		default:
		}
		return true
	}
	if l.cut.take(m.Request, !more) {
		s.mu.Unlock()
		return true // a late part of an invocation already answered
	}
	reg := s.regs[m.Registration]
	if reg == nil {
		s.mu.Unlock()
		s.sendAsync(l, &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: m.Request, Details: wamp.Dict{},
			Error: wamp.ErrNoSuchRegistration})
		return true
	}
	inv := &Invocation{Args: m.Args, Kwargs: m.Kwargs, Details: m.Details, s: s, l: l, id: m.Request,
		procedure: reg.procedure, more: more}
	if more {
		inv.wake = make(chan struct{}, 1) // later parts will come
	}
	inv.ctx, inv.interrupt = context.WithCancelCause(l.handlerCtx)
	l.invocations[m.Request] = inv
	s.mu.Unlock()
	if more || runtime.GOOS == "js" || reg.apart.Load() {
		// A progressive invocation's handler waits for the later parts,
		// which this goroutine reads. In a browser a goroutine costs no
		// thread wake-up, and a timer costs a crossing into JavaScript.
		// A slow procedure's handlers would hold up reading (see
		// slowHandler).
		go s.runHandler(l, reg, inv)
		return true
	}
	return s.runInline(l, reg, inv)
}

// The states of link.reading.
const (
	readerReading   int32 = iota // reading messages
	readerInHandler              // running a handler (runInline)
	readerReplaced               // running a handler; another goroutine reads
)

// handlerBudget is the tick of the handler watch: a handler runs on the
// reading goroutine for one to two budgets before reading moves to a new
// goroutine. Only the first slow run of a procedure waits for it (see
// slowHandler); each tick costs thread wake-ups, and the watch ticks as
// long as handlers keep running.
const handlerBudget = 5 * time.Millisecond

// runInline runs a handler on the goroutine that reads l, which saves
// waking another thread twice per call: most handlers answer in
// microseconds. A handler that runs longer than handlerBudget, or that
// waits for an answer of the router (takeOver), does not hold up the link:
// a new goroutine goes on reading, and this one ends with the handler.
// It returns whether this goroutine still reads l.
func (s *Session) runInline(l *link, reg *Registration, inv *Invocation) bool {
	l.reading.Store(readerInHandler)
	n := l.handlers.Add(1)
	if !l.watching.Load() && l.watching.CompareAndSwap(false, true) {
		l.watchSeen = n
		if l.watch == nil {
			// Made stopped, so that the tick finds it set.
			l.watch = time.AfterFunc(time.Hour, func() { s.watchHandlers(l) })
			l.watch.Stop()
		}
		l.watch.Reset(handlerBudget)
	}
	s.runHandler(l, reg, inv) // should it call runtime.Goexit, the watch still ends it
	return l.reading.CompareAndSwap(readerInHandler, readerReading)
}

// watchHandlers is the tick of l's handler watch. A handler that was
// already running at the last tick has had its budget: another goroutine
// takes over reading. The watch ticks on while handlers run and stops at
// the first tick that finds none run since the last one. Arming a timer
// for each handler would cost a thread wake-up per call: Go wakes a
// thread to watch a timer that is due before all others.
func (s *Session) watchHandlers(l *link) {
	n := l.handlers.Load()
	running := l.reading.Load() == readerInHandler
	if running && n == l.watchSeen {
		s.takeOver(l)
		running = false
	}
	if !running && n == l.watchSeen {
		l.watching.Store(false)
		// A handler that started meanwhile may have found the watch on.
		if l.handlers.Load() == n || !l.watching.CompareAndSwap(false, true) {
			return
		}
		n = l.handlers.Load()
	}
	l.watchSeen = n
	l.watch.Reset(handlerBudget)
}

// takeOver starts a new goroutine reading l when the one that reads it
// runs a handler: something waits for a message of the router.
func (s *Session) takeOver(l *link) {
	if l.reading.Load() == readerInHandler && l.reading.CompareAndSwap(readerInHandler, readerReplaced) {
		go s.readLoop(l)
	}
}

// interruptInvocation handles INTERRUPT: it cancels the handler's ctx with
// an *InterruptError. An INTERRUPT for an invocation already answered is
// dropped.
func (s *Session) interruptInvocation(l *link, m *wamp.Interrupt) {
	mode, _ := m.Options["mode"].(string)
	reason, _ := m.Options["reason"].(string)
	if reason == "" {
		reason = string(wamp.ErrCanceled)
	}
	s.mu.Lock()
	inv := l.invocations[m.Request]
	s.mu.Unlock()
	if inv == nil {
		l.log.Debug("INTERRUPT for an invocation already answered", "invocation", uint64(m.Request))
		return
	}
	inv.interrupt(&InterruptError{Mode: mode, Reason: wamp.URI(reason)})
}

// runHandler runs a procedure handler and sends its YIELD or ERROR on l,
// the WAMP session that the INVOCATION came on.
func (s *Session) runHandler(l *link, reg *Registration, inv *Invocation) {
	defer inv.interrupt(nil)
	// In a browser every handler runs apart, and a clock reading is a
	// crossing into JavaScript.
	timed := runtime.GOOS != "js"
	var start time.Time
	if timed {
		start = time.Now()
	}
	res, err := s.callHandler(inv.ctx, reg, inv)
	if timed {
		reg.timeHandler(time.Since(start))
	}
	s.mu.Lock()
	inv.answered = true
	delete(l.invocations, inv.id)
	if inv.more {
		l.cut.add(inv.id)
	}
	s.mu.Unlock()
	var reply wamp.Message
	switch {
	case err != nil:
		reply = invocationError(inv.ctx, inv.id, err)
	case res == nil:
		reply = &wamp.Yield{Request: inv.id, Options: wamp.Dict{}}
	default:
		reply = &wamp.Yield{Request: inv.id, Options: wamp.Dict{}, Args: res.Args, Kwargs: res.Kwargs}
	}
	s.answerInvocation(l, reg, inv.id, reply)
}

// answerInvocation sends reply, the YIELD or ERROR of invocation id, on l.
// A reply that the transport refuses, too big for the router or holding a
// value the serializer cannot carry, is replaced by an ERROR that tells
// the caller why, so that the call does not wait for an answer that never
// comes. When even that cannot be sent, l is broken: it is dropped.
func (s *Session) answerInvocation(l *link, reg *Registration, id wamp.ID, reply wamp.Message) {
	err := l.send(reply)
	if err == nil {
		return
	}
	var uri wamp.URI
	switch {
	case errors.Is(err, transport.ErrMessageTooBig):
		uri = wamp.ErrPayloadSizeExceeded
	case errors.Is(err, codec.ErrUnsupportedValue):
		uri = wamp.ErrInvalidArgument
	default:
		// The transport failed: the read loop ends l.
		l.log.Debug("cannot answer invocation", "procedure", string(reg.procedure), "error", err)
		return
	}
	l.log.Warn("cannot send the answer to an invocation; the caller gets "+string(uri),
		"procedure", string(reg.procedure), "type", reply.Type().String(), "error", err)
	e := &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: id, Details: wamp.Dict{}, Error: uri,
		Args: wamp.List{fmt.Sprintf("the callee of %s cannot send its %s: %v", reg.procedure, reply.Type(), err)}}
	if err2 := l.send(e); err2 != nil {
		s.drop(l, fmt.Errorf("client: cannot answer invocation %d of %s: %w", uint64(id), reg.procedure, err2), nil)
	}
}

// callHandler calls the handler and turns a panic into an error.
func (s *Session) callHandler(ctx context.Context, reg *Registration, inv *Invocation) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("procedure handler panicked", "procedure", string(reg.procedure), "panic", p, "stack", string(debug.Stack()))
			res, err = nil, wamp.NewError(RuntimeErrorURI, "procedure handler panicked")
		}
	}()
	return reg.handler(ctx, inv)
}

// invocationError is the ERROR answering an invocation whose handler,
// run with ctx, failed with err.
func invocationError(ctx context.Context, request wamp.ID, err error) *wamp.ErrorMessage {
	m := &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: request, Details: wamp.Dict{}}
	if e, ok := errors.AsType[*wamp.Error](err); ok && wamp.ValidURI(e.URI, false, false) {
		m.Error, m.Args, m.Kwargs = e.URI, e.Args, e.Kwargs
		return m
	}
	if ie, ok := errors.AsType[*InterruptError](context.Cause(ctx)); ok &&
		(errors.Is(err, ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		m.Error, m.Args = wamp.ErrCanceled, wamp.List{ie.Error()}
		if ie.Reason == wamp.ErrTimeout {
			m.Error = wamp.ErrTimeout
		}
		return m
	}
	m.Error, m.Args = RuntimeErrorURI, wamp.List{err.Error()}
	return m
}

// cutRing remembers the last invocations that were answered while their
// caller still streamed parts, so that the parts already on their way are
// dropped rather than taken for new invocations. The router stops
// forwarding parts once it has the answer, so a few entries suffice.
type cutRing struct {
	ids  [16]wamp.ID
	next int
}

func (r *cutRing) add(id wamp.ID) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
}

// take reports whether id is a cut invocation, and forgets it with its
// final part.
func (r *cutRing) take(id wamp.ID, final bool) bool {
	for i, x := range r.ids {
		if x == id && id != 0 {
			if final {
				r.ids[i] = 0
			}
			return true
		}
	}
	return false
}
