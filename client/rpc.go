package client

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/wampkit/wampkit/wamp"
)

// RuntimeErrorURI is the error URI a callee sends when its handler fails
// with an error that is not a *wamp.Error, or panics.
const RuntimeErrorURI wamp.URI = "wamp.error.runtime_error"

// Result is the outcome of a call: what the callee yielded. A handler
// returns one; Details is then ignored.
type Result struct {
	// Args are the positional results.
	Args wamp.List
	// Kwargs are the keyword results.
	Kwargs wamp.Dict
	// Details are the RESULT's details.
	Details wamp.Dict
}

// Invocation is a call that reaches a registered procedure.
type Invocation struct {
	// Args are the call's positional arguments.
	Args wamp.List
	// Kwargs are the call's keyword arguments.
	Kwargs wamp.Dict
	// Details are the INVOCATION's details, such as "procedure" for a
	// pattern-based registration.
	Details wamp.Dict
}

// Handler runs a registered procedure. It runs in its own goroutine; ctx
// is canceled when the WAMP session that the invocation came on ends. Returning a *wamp.Error (wrapped or
// not) sends ERROR with its URI and arguments; any other error sends ERROR
// wamp.error.runtime_error with the error's text; a nil *Result yields no
// arguments. A panic is recovered, logged and answered with ERROR
// wamp.error.runtime_error.
type Handler func(ctx context.Context, inv *Invocation) (*Result, error)

// Registration is a procedure registered by this session.
type Registration struct {
	s         *Session
	id        wamp.ID
	procedure wamp.URI
	options   wamp.Dict
	handler   Handler
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

// Call calls procedure and waits for its result. An ERROR answer returns a
// *wamp.Error with the URI, Args and Kwargs as received. When ctx ends
// first, Call returns ctx's error at once and a late RESULT is dropped.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) (*Result, error) {
	options := buildOptions(opts)
	a, err := s.roundTrip(ctx, &request{typ: wamp.TypeCall}, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: options, Procedure: procedure, Args: args, Kwargs: kwargs}
	})
	if err != nil {
		return nil, err
	}
	r := a.(*wamp.Result)
	return &Result{Args: r.Args, Kwargs: r.Kwargs, Details: r.Details}, nil
}

// Register registers handler for procedure. Invocations may arrive as
// soon as the router answered, even before Register returns. When ctx ends
// first, Register returns ctx's error and a late registration is undone.
// A reconnecting Session registers it again, with the same options, on
// each new WAMP session until Unregister.
func (s *Session) Register(ctx context.Context, procedure wamp.URI, handler Handler, opts ...Option) (*Registration, error) {
	if handler == nil {
		return nil, errors.New("client: register: nil handler")
	}
	reg := &Registration{s: s, procedure: procedure, options: buildOptions(opts), handler: handler}
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
	n, ok := wamp.AsInt(details["registration"])
	s.mu.Lock()
	delete(s.regs, wamp.ID(n))
	s.mu.Unlock()
	l.log.Info("registration revoked by the router", "registration", n, "known", ok, "reason", details["reason"])
}

// invoke starts the handler of an INVOCATION in its own goroutine.
func (s *Session) invoke(l *link, m *wamp.Invocation) {
	s.mu.Lock()
	reg := s.regs[m.Registration]
	s.mu.Unlock()
	if reg == nil {
		s.sendAsync(l, &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: m.Request, Details: wamp.Dict{},
			Error: wamp.ErrNoSuchRegistration})
		return
	}
	go s.runHandler(l, reg, m)
}

// runHandler runs a procedure handler and sends its YIELD or ERROR on l,
// the WAMP session that the INVOCATION came on.
func (s *Session) runHandler(l *link, reg *Registration, m *wamp.Invocation) {
	ctx, cancel := context.WithCancel(l.handlerCtx)
	defer cancel()
	res, err := s.callHandler(ctx, reg, &Invocation{Args: m.Args, Kwargs: m.Kwargs, Details: m.Details})
	var reply wamp.Message
	switch {
	case err != nil:
		reply = invocationError(m.Request, err)
	case res == nil:
		reply = &wamp.Yield{Request: m.Request, Options: wamp.Dict{}}
	default:
		reply = &wamp.Yield{Request: m.Request, Options: wamp.Dict{}, Args: res.Args, Kwargs: res.Kwargs}
	}
	if err := l.send(reply); err != nil {
		l.log.Debug("cannot answer invocation", "procedure", string(reg.procedure), "error", err)
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

// invocationError is the ERROR answering an invocation whose handler
// failed with err.
func invocationError(request wamp.ID, err error) *wamp.ErrorMessage {
	m := &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: request, Details: wamp.Dict{}}
	if e, ok := errors.AsType[*wamp.Error](err); ok && wamp.ValidURI(e.URI, false, false) {
		m.Error, m.Args, m.Kwargs = e.URI, e.Args, e.Kwargs
		return m
	}
	m.Error, m.Args = RuntimeErrorURI, wamp.List{err.Error()}
	return m
}
