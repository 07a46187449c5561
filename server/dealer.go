package server

import (
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// dealer routes calls from callers to the callees of a realm. Its
// registration table is read-mostly (RWMutex); the state of calls in flight
// lives in the two sessions concerned, each under its own lock, so calls
// between different pairs of sessions never contend.
type dealer struct {
	realm *realm

	mu    sync.RWMutex
	exact map[wamp.URI]*registration
	byID  map[wamp.ID]*registration
}

// registration is a procedure and its callee.
type registration struct {
	id        wamp.ID
	procedure wamp.URI
	match     string
	invoke    string
	// callees is replaced, never modified, under dealer.mu.
	callees []*session
}

// invocation is one call in flight, known to the caller by callerReq and
// to the callee by id.
type invocation struct {
	id        wamp.ID
	callerReq wamp.ID
	caller    *session
	callee    *session
}

func newDealer(r *realm) *dealer {
	return &dealer{
		realm: r,
		exact: make(map[wamp.URI]*registration),
		byID:  make(map[wamp.ID]*registration),
	}
}

func (d *dealer) register(s *session, m *wamp.Register) {
	match := wamp.MatchExact
	if v, ok := m.Options["match"]; ok {
		match, _ = v.(string)
	}
	invoke := "single"
	if v, ok := m.Options["invoke"]; ok {
		invoke, _ = v.(string)
	}
	switch {
	case match != wamp.MatchExact:
		s.sendError(wamp.TypeRegister, m.Request, wamp.ErrInvalidArgument, "match policy "+quote(match)+" is not supported")
		return
	case invoke != "single":
		s.sendError(wamp.TypeRegister, m.Request, wamp.ErrInvalidArgument, "invocation policy "+quote(invoke)+" is not supported")
		return
	case !wamp.ValidPattern(m.Procedure, match, d.realm.strict()):
		s.sendError(wamp.TypeRegister, m.Request, wamp.ErrInvalidURI, "invalid procedure URI")
		return
	case reserved(m.Procedure):
		s.sendError(wamp.TypeRegister, m.Request, wamp.ErrNotAuthorized, "procedures under wamp. belong to the router")
		return
	}

	d.mu.Lock()
	if _, ok := d.exact[m.Procedure]; ok {
		d.mu.Unlock()
		s.sendError(wamp.TypeRegister, m.Request, wamp.ErrProcedureAlreadyExists, "procedure "+quote(string(m.Procedure))+" is already registered")
		return
	}
	reg := &registration{
		id:        d.realm.router.registrationIDs.Next(),
		procedure: m.Procedure,
		match:     match,
		invoke:    invoke,
		callees:   []*session{s},
	}
	d.exact[m.Procedure] = reg
	d.byID[reg.id] = reg
	if s.registrations == nil {
		s.registrations = make(map[wamp.ID]*registration)
	}
	s.registrations[reg.id] = reg
	d.mu.Unlock()

	s.send(&wamp.Registered{Request: m.Request, Registration: reg.id})
}

func (d *dealer) unregister(s *session, m *wamp.Unregister) {
	d.mu.Lock()
	reg, ok := s.registrations[m.Registration]
	if ok {
		d.detach(s, reg)
	}
	d.mu.Unlock()
	if !ok {
		s.sendError(wamp.TypeUnregister, m.Request, wamp.ErrNoSuchRegistration, "no registration with this ID in this session")
		return
	}
	s.send(&wamp.Unregistered{Request: m.Request})
}

// detach removes callee s from reg, and reg when it has no callee left.
// d.mu must be held.
func (d *dealer) detach(s *session, reg *registration) {
	delete(s.registrations, reg.id)
	out := make([]*session, 0, len(reg.callees))
	for _, x := range reg.callees {
		if x != s {
			out = append(out, x)
		}
	}
	reg.callees = out
	if len(out) == 0 {
		delete(d.exact, reg.procedure)
		delete(d.byID, reg.id)
	}
}

// call routes a CALL to its callee. It reports false when the caller broke
// the protocol and its session ends.
func (d *dealer) call(s *session, m *wamp.Call) bool {
	if !wamp.ValidURI(m.Procedure, d.realm.strict(), false) {
		s.sendError(wamp.TypeCall, m.Request, wamp.ErrInvalidURI, "invalid procedure URI")
		return true
	}
	d.mu.RLock()
	var reg *registration
	var callee *session
	if reg = d.exact[m.Procedure]; reg != nil && len(reg.callees) > 0 {
		callee = reg.callees[0]
	}
	d.mu.RUnlock()
	if callee == nil {
		s.sendError(wamp.TypeCall, m.Request, wamp.ErrNoSuchProcedure, "no callee registered procedure "+quote(string(m.Procedure)))
		return true
	}

	inv := &invocation{id: callee.invocationIDs.Next(), callerReq: m.Request, caller: s, callee: callee}
	s.mu.Lock()
	switch {
	case s.ended:
		s.mu.Unlock()
		return true
	case s.calls[m.Request] != nil:
		s.mu.Unlock()
		s.abort(wamp.ErrProtocolViolation, "CALL request ID %d is already in use by a pending call", m.Request)
		return false
	case len(s.calls) >= d.realm.router.cfg.MaxPendingCalls:
		s.mu.Unlock()
		s.sendError(wamp.TypeCall, m.Request, wamp.ErrUnavailable, "too many pending calls in this session")
		return true
	}
	if s.calls == nil {
		s.calls = make(map[wamp.ID]*invocation)
	}
	s.calls[m.Request] = inv
	s.mu.Unlock()

	callee.mu.Lock()
	if callee.ended {
		callee.mu.Unlock()
		s.takeCall(inv)
		s.sendError(wamp.TypeCall, m.Request, wamp.ErrNoSuchProcedure, "the callee left")
		return true
	}
	if callee.invocations == nil {
		callee.invocations = make(map[wamp.ID]*invocation)
	}
	callee.invocations[inv.id] = inv
	callee.mu.Unlock()

	callee.send(&wamp.Invocation{
		Request:      inv.id,
		Registration: reg.id,
		Details:      wamp.Dict{},
		Args:         m.Args,
		Kwargs:       m.Kwargs,
	})
	return true
}

// takeCall removes inv from its caller's pending calls and reports whether
// it was still there (the caller still waits for an answer).
func (s *session) takeCall(inv *invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[inv.callerReq] != inv {
		return false
	}
	delete(s.calls, inv.callerReq)
	return true
}

// takeInvocation removes and returns the callee's invocation id.
func (s *session) takeInvocation(id wamp.ID) *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.invocations[id]
	if inv != nil {
		delete(s.invocations, id)
	}
	return inv
}

func (d *dealer) yield(callee *session, m *wamp.Yield) {
	inv := callee.takeInvocation(m.Request)
	if inv == nil || !inv.caller.takeCall(inv) {
		return // canceled, timed out or the caller left: nobody waits
	}
	inv.caller.send(&wamp.Result{Request: inv.callerReq, Details: wamp.Dict{}, Args: m.Args, Kwargs: m.Kwargs})
}

func (d *dealer) calleeError(callee *session, m *wamp.ErrorMessage) {
	inv := callee.takeInvocation(m.Request)
	if inv == nil || !inv.caller.takeCall(inv) {
		return
	}
	details := m.Details
	if details == nil {
		details = wamp.Dict{}
	}
	inv.caller.send(&wamp.ErrorMessage{
		RequestType: wamp.TypeCall,
		Request:     inv.callerReq,
		Details:     details,
		Error:       m.Error,
		Args:        m.Args,
		Kwargs:      m.Kwargs,
	})
}

// cancel handles CANCEL. Modes: "skip" answers the caller at once and lets
// the callee finish unaware; "killnowait" (the default) also sends the
// callee INTERRUPT; "kill" sends INTERRUPT and lets the callee's answer end
// the call. A callee that did not announce call_canceling gets no
// INTERRUPT (Autobahn|JS and wampy drop the session on one), so kill and
// killnowait behave as skip for it.
func (d *dealer) cancel(s *session, m *wamp.Cancel) {
	mode := "killnowait"
	if v, ok := m.Options["mode"]; ok {
		mode, _ = v.(string)
	}
	if mode != "skip" && mode != "kill" && mode != "killnowait" {
		s.sendError(wamp.TypeCancel, m.Request, wamp.ErrInvalidArgument, "cancel mode "+quote(mode)+" is not one of skip, kill, killnowait")
		return
	}
	s.mu.Lock()
	inv := s.calls[m.Request]
	s.mu.Unlock()
	if inv == nil {
		return // already answered: nothing to cancel
	}
	interrupt := mode != "skip" && canInterrupt(inv.callee)
	if mode == "kill" && interrupt {
		inv.callee.mu.Lock()
		live := inv.callee.invocations[inv.id] == inv
		inv.callee.mu.Unlock()
		if live {
			inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": mode}})
		}
		return
	}
	if !s.takeCall(inv) {
		return
	}
	if inv.callee.takeInvocation(inv.id) != nil && interrupt {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": mode}})
	}
	s.sendError(wamp.TypeCall, inv.callerReq, wamp.ErrCanceled, "the call was canceled")
}

// canInterrupt reports whether a callee announced call canceling, in
// either spelling.
func canInterrupt(callee *session) bool {
	return callee.clientFeature("callee", "call_canceling") || callee.clientFeature("callee", "call_cancelling")
}

// failCalls ends every call the session waits for with ERROR
// wamp.error.canceled, and interrupts the callees that can be.
func (d *dealer) failCalls(s *session, reason string) {
	s.mu.Lock()
	calls := s.calls
	s.calls = nil
	s.mu.Unlock()
	for _, inv := range calls {
		if inv.callee.takeInvocation(inv.id) != nil && canInterrupt(inv.callee) {
			inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": "killnowait"}})
		}
		s.sendError(wamp.TypeCall, inv.callerReq, wamp.ErrCanceled, reason)
	}
}

// removeSession forgets a session that left: its registrations go first so
// that no new call reaches it, then each call it was serving fails at once
// with ERROR wamp.error.canceled to its caller, and each call it was waiting
// for is withdrawn from its callee (with INTERRUPT where the callee can).
func (d *dealer) removeSession(s *session) {
	d.mu.Lock()
	for _, reg := range s.registrations {
		d.detach(s, reg)
	}
	d.mu.Unlock()

	s.mu.Lock()
	s.ended = true
	calls, invocations := s.calls, s.invocations
	s.calls, s.invocations = nil, nil
	s.mu.Unlock()

	for _, inv := range invocations {
		if inv.caller.takeCall(inv) {
			inv.caller.sendError(wamp.TypeCall, inv.callerReq, wamp.ErrCanceled, "the callee left")
		}
	}
	for _, inv := range calls {
		if inv.callee.takeInvocation(inv.id) != nil && canInterrupt(inv.callee) {
			inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": "killnowait"}})
		}
	}
}
