package server

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// dealer routes calls from callers to the callees of a realm. Its
// registration table is read-mostly (RWMutex); the state of calls in flight
// lives in the two sessions concerned, each under its own lock, so calls
// between different pairs of sessions never contend. Calls to wamp.
// procedures go to the meta API (meta.go).
type dealer struct {
	realm *realm

	mu   sync.RWMutex
	regs *uriTable[*registration]
	byID map[wamp.ID]*registration
}

// The invocation policies of shared registrations.
const (
	invokeSingle     = "single"
	invokeRoundRobin = "roundrobin"
	invokeRandom     = "random"
	invokeFirst      = "first"
	invokeLast       = "last"
)

// registration is a procedure (or pattern) and its callees, several when
// its invocation policy shares it.
type registration struct {
	id        wamp.ID
	procedure wamp.URI
	match     string
	invoke    string
	created   time.Time
	// callees is replaced, never modified, under dealer.mu, in the order
	// the callees registered.
	callees []calleeRef
	next    atomic.Uint64 // round-robin position
}

// calleeRef is one callee of a registration and its REGISTER options.
type calleeRef struct {
	s              *session
	discloseCaller bool
}

// invocation is one call in flight, known to the caller by callerReq and
// to the callee by id.
type invocation struct {
	id              wamp.ID
	callerReq       wamp.ID
	caller          *session
	callee          *session
	registration    wamp.ID
	receiveProgress bool          // the caller takes progressive results
	timeout         time.Duration // 0: none
	details         wamp.Dict     // INVOCATION.Details, without progress; read-only
	start           time.Time     // when the CALL arrived, for the latency histogram

	streamed bool // the caller sends the arguments in parts (progressive CALLs)

	// Guarded by caller.mu.
	timer     *time.Timer // runs while the call waits, when timeout > 0
	streaming bool        // the caller still sends progressive CALLs
}

func newDealer(r *realm) *dealer {
	return &dealer{
		realm: r,
		regs:  newURITable[*registration](),
		byID:  make(map[wamp.ID]*registration),
	}
}

func (d *dealer) register(s *session, m *wamp.Register) {
	fail := func(uri wamp.URI, msg string) { s.sendError(wamp.TypeRegister, m.Request, uri, msg) }
	match, err := matchOption(m.Options)
	if err != nil {
		fail(wamp.ErrInvalidArgument, err.Error())
		return
	}
	invoke, err := stringOption(m.Options, "invoke", invokeSingle)
	if err != nil {
		fail(wamp.ErrInvalidArgument, err.Error())
		return
	}
	switch invoke {
	case invokeSingle, invokeRoundRobin, invokeRandom, invokeFirst, invokeLast:
	default:
		fail(wamp.ErrInvalidArgument, "invocation policy "+quote(invoke)+" is not one of single, roundrobin, random, first, last")
		return
	}
	disclose, err := boolOption(m.Options, "disclose_caller", false)
	if err != nil {
		fail(wamp.ErrInvalidArgument, err.Error())
		return
	}
	if !wamp.ValidPattern(m.Procedure, match, d.realm.strict()) {
		fail(wamp.ErrInvalidURI, "invalid procedure URI for match policy "+quote(match))
		return
	}
	if e := d.realm.admitRegister(s, m.Procedure, m.Options); e != nil {
		fail(e.URI, errorArg(e))
		return
	}

	d.mu.Lock()
	reg, exists := d.regs.get(m.Procedure, match)
	switch {
	case exists && reg.invoke != invoke:
		d.mu.Unlock()
		fail(wamp.ErrProcedureExistsOtherPolicy, fmt.Sprintf("procedure %q is registered with invocation policy %q, not %q", m.Procedure, reg.invoke, invoke))
		return
	case exists && (invoke == invokeSingle || s.registrations[reg.id] != nil):
		d.mu.Unlock()
		fail(wamp.ErrProcedureAlreadyExists, "procedure "+quote(string(m.Procedure))+" is already registered")
		return
	case len(s.registrations) >= d.realm.router.cfg.MaxRegistrations:
		d.mu.Unlock()
		fail(wamp.ErrUnavailable, fmt.Sprintf("too many registrations in this session (limit %d)", d.realm.router.cfg.MaxRegistrations))
		return
	}
	if !exists {
		reg = &registration{
			id:        d.realm.router.registrationIDs.Next(),
			procedure: m.Procedure,
			match:     match,
			invoke:    invoke,
			created:   time.Now(),
		}
		d.regs.put(m.Procedure, match, reg)
		d.byID[reg.id] = reg
	}
	reg.callees = append(reg.callees[:len(reg.callees):len(reg.callees)], calleeRef{s: s, discloseCaller: disclose})
	if s.registrations == nil {
		s.registrations = make(map[wamp.ID]*registration)
	}
	s.registrations[reg.id] = reg
	d.mu.Unlock()

	s.send(&wamp.Registered{Request: m.Request, Registration: reg.id})
	if !exists {
		d.realm.broker.publishMeta("wamp.registration.on_create", func() wamp.List { return wamp.List{int64(s.id), reg.info()} })
	}
	d.realm.broker.publishMeta("wamp.registration.on_register", func() wamp.List { return wamp.List{int64(s.id), int64(reg.id)} })
}

// info is the registration's RegistrationDetails in the meta API.
func (reg *registration) info() wamp.Dict {
	return wamp.Dict{
		"id":      int64(reg.id),
		"created": reg.created.UTC().Format(time.RFC3339Nano),
		"uri":     string(reg.procedure),
		"match":   reg.match,
		"invoke":  reg.invoke,
	}
}

func (d *dealer) unregister(s *session, m *wamp.Unregister) {
	d.mu.Lock()
	reg, ok := s.registrations[m.Registration]
	var deleted bool
	if ok {
		deleted = d.detach(s, reg)
	}
	d.mu.Unlock()
	if !ok {
		s.sendError(wamp.TypeUnregister, m.Request, wamp.ErrNoSuchRegistration, "no registration with this ID in this session")
		return
	}
	s.send(&wamp.Unregistered{Request: m.Request})
	d.detached(s, reg, deleted)
}

// detach removes callee s from reg, and reg when it has no callee left,
// which it reports. d.mu must be held.
func (d *dealer) detach(s *session, reg *registration) (deleted bool) {
	delete(s.registrations, reg.id)
	out := make([]calleeRef, 0, len(reg.callees))
	for _, c := range reg.callees {
		if c.s != s {
			out = append(out, c)
		}
	}
	reg.callees = out
	if len(out) > 0 {
		return false
	}
	d.regs.remove(reg.procedure, reg.match)
	delete(d.byID, reg.id)
	return true
}

// detached publishes the meta events of a detach, once d.mu is released.
func (d *dealer) detached(s *session, reg *registration, deleted bool) {
	d.realm.broker.publishMeta("wamp.registration.on_unregister", func() wamp.List { return wamp.List{int64(s.id), int64(reg.id)} })
	if deleted {
		d.realm.broker.publishMeta("wamp.registration.on_delete", func() wamp.List { return wamp.List{int64(s.id), int64(reg.id)} })
	}
}

// removeCallee revokes callee's registration reg: the callee gets
// UNREGISTERED with request 0 if it announced registration_revocation,
// and no further call otherwise.
func (d *dealer) removeCallee(regID wamp.ID, callee *session, reason string) *wamp.Error {
	d.mu.Lock()
	reg := d.byID[regID]
	if reg == nil {
		d.mu.Unlock()
		return wamp.NewError(wamp.ErrNoSuchRegistration, "no registration with this ID")
	}
	if callee.registrations[regID] != reg {
		d.mu.Unlock()
		return wamp.NewError(wamp.ErrNoSuchRegistration, "the session is not a callee of this registration")
	}
	deleted := d.detach(callee, reg)
	d.mu.Unlock()
	if callee.clientFeature("callee", "registration_revocation") {
		details := wamp.Dict{"registration": int64(regID)}
		if reason != "" {
			details["reason"] = reason
		}
		callee.send(&wamp.Unregistered{Request: 0, Details: details})
	}
	d.detached(callee, reg, deleted)
	return nil
}

// pick chooses the callee of a call by the invocation policy.
func (reg *registration) pick(callees []calleeRef) calleeRef {
	switch reg.invoke {
	case invokeLast:
		return callees[len(callees)-1]
	case invokeRoundRobin:
		return callees[(reg.next.Add(1)-1)%uint64(len(callees))]
	case invokeRandom:
		return callees[rand.IntN(len(callees))]
	}
	return callees[0] // single, first
}

// callOptions are the CALL options the dealer acts on.
type callOptions struct {
	progress, receiveProgress, discloseMe bool
	timeout                               time.Duration
}

func (d *dealer) readCallOptions(o wamp.Dict) (callOptions, error) {
	var c callOptions
	var err error
	if c.progress, err = boolOption(o, "progress", false); err != nil {
		return c, err
	}
	if c.receiveProgress, err = boolOption(o, "receive_progress", false); err != nil {
		return c, err
	}
	if c.discloseMe, err = boolOption(o, "disclose_me", false); err != nil {
		return c, err
	}
	var ms int64
	if v, ok := o["timeout"]; ok && v != nil {
		if ms, ok = toInt(v); !ok || ms < 0 || ms > 1<<40 {
			return c, fmt.Errorf("option timeout must be a non-negative integer (milliseconds)")
		}
	}
	c.timeout = time.Duration(ms) * time.Millisecond
	cfg := &d.realm.router.cfg
	if c.timeout == 0 {
		c.timeout = cfg.DefaultCallTimeout
	}
	if cfg.MaxCallTimeout > 0 && (c.timeout == 0 || c.timeout > cfg.MaxCallTimeout) {
		c.timeout = cfg.MaxCallTimeout
	}
	return c, nil
}

// call routes a CALL to its callee. It reports false when the caller broke
// the protocol and its session ends.
func (d *dealer) call(s *session, m *wamp.Call) bool {
	// A CALL for a pending request ID continues a progressive call, or
	// breaks the protocol. Only its progress option counts: the first
	// part's options hold for the whole call.
	s.mu.Lock()
	if inv := s.calls[m.Request]; inv != nil {
		streaming := inv.streaming
		progress, _ := m.Options["progress"].(bool)
		if streaming {
			inv.streaming = progress
		}
		s.mu.Unlock()
		if !streaming {
			s.abort(wamp.ErrProtocolViolation, "CALL request ID %d is already in use by a pending call", m.Request)
			return false
		}
		d.continueCall(inv, m, progress)
		return true
	}
	progress, _ := m.Options["progress"].(bool)
	if s.cutStream(m.Request, !progress) {
		s.mu.Unlock()
		return true // a late part of a call that already ended
	}
	s.mu.Unlock()
	// fail refuses the call. The refusal of the first part of a streamed
	// call answers the whole call: its later parts are dropped.
	fail := func(uri wamp.URI, msg string) {
		if progress {
			s.mu.Lock()
			s.addCutStream(m.Request)
			s.mu.Unlock()
		}
		s.sendError(wamp.TypeCall, m.Request, uri, msg)
	}

	opts, err := d.readCallOptions(m.Options)
	if err != nil {
		fail(wamp.ErrInvalidArgument, err.Error())
		return true
	}

	if opts.progress && !s.clientFeature("caller", "progressive_call_invocations") {
		s.abort(wamp.ErrProtocolViolation, "CALL with progress, but the caller did not announce progressive_call_invocations")
		return false
	}
	if !wamp.ValidURI(m.Procedure, d.realm.strict(), false) {
		fail(wamp.ErrInvalidURI, "invalid procedure URI")
		return true
	}
	discloseCaller, e := d.realm.admitCall(s, m.Procedure, m.Options)
	if e != nil {
		fail(e.URI, errorArg(e))
		return true
	}
	if reserved(m.Procedure) {
		if opts.progress {
			fail(wamp.ErrFeatureNotSupported, "meta procedures take no progressive invocations")
			return true
		}
		d.realm.metaCall(s, m)
		return true
	}

	d.mu.RLock()
	reg, ok := d.regs.best(m.Procedure)
	var callees []calleeRef
	if ok {
		callees = reg.callees
	}
	d.mu.RUnlock()
	if len(callees) == 0 {
		fail(wamp.ErrNoSuchProcedure, "no callee registered procedure "+quote(string(m.Procedure)))
		return true
	}
	ref := reg.pick(callees)
	callee := ref.s
	if opts.progress && !(callee.clientFeature("callee", "progressive_call_invocations") && canInterrupt(callee)) {
		fail(wamp.ErrFeatureNotSupported, "the callee does not support progressive call invocations")
		return true
	}

	details := wamp.Dict{}
	if reg.match != wamp.MatchExact {
		details["procedure"] = string(m.Procedure)
	}
	if opts.discloseMe || ref.discloseCaller || discloseCaller {
		details["caller"] = int64(s.id)
		details["caller_authid"] = s.authid
		details["caller_authrole"] = s.authrole
	}
	if opts.receiveProgress && callee.clientFeature("callee", "progressive_call_results") && canInterrupt(callee) {
		details["receive_progress"] = true
	}
	if opts.timeout > 0 {
		details["timeout"] = opts.timeout.Milliseconds()
	}
	if level, ok := d.realm.authz.trustLevel(s.authrole); ok {
		details["trustlevel"] = int64(level)
	}
	inv := &invocation{
		id:              callee.invocationIDs.Next(),
		callerReq:       m.Request,
		caller:          s,
		callee:          callee,
		registration:    reg.id,
		receiveProgress: opts.receiveProgress,
		timeout:         opts.timeout,
		details:         details,
		streamed:        opts.progress,
		streaming:       opts.progress,
		start:           time.Now(),
	}

	s.mu.Lock()
	switch {
	case s.ended:
		s.mu.Unlock()
		return true
	case len(s.calls) >= d.realm.router.cfg.MaxPendingCalls:
		s.mu.Unlock()
		fail(wamp.ErrUnavailable, "too many pending calls in this session")
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
		s.takeCall(inv) // which cuts a stream
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
		Details:      inv.detailsFor(opts.progress),
		Args:         m.Args,
		Kwargs:       m.Kwargs,
	})
	if inv.timeout > 0 {
		s.mu.Lock()
		if s.calls[m.Request] == inv {
			inv.timer = time.AfterFunc(inv.timeout, func() { d.expire(inv) })
		}
		s.mu.Unlock()
	}
	return true
}

// detailsFor returns INVOCATION.Details for one part of the call.
func (inv *invocation) detailsFor(progress bool) wamp.Dict {
	if !progress {
		return inv.details
	}
	d := maps.Clone(inv.details)
	d["progress"] = true
	return d
}

// continueCall sends the callee of a progressive call its next part: an
// INVOCATION with the same request ID and the first part's details.
func (d *dealer) continueCall(inv *invocation, m *wamp.Call, progress bool) {
	inv.callee.mu.Lock()
	live := inv.callee.invocations[inv.id] == inv
	inv.callee.mu.Unlock()
	if !live {
		return // answered, canceled or the callee left: the caller knows
	}
	inv.callee.send(&wamp.Invocation{
		Request:      inv.id,
		Registration: inv.registration,
		Details:      inv.detailsFor(progress),
		Args:         m.Args,
		Kwargs:       m.Kwargs,
	})
}

// expire ends a call whose timeout passed: ERROR wamp.error.timeout to the
// caller and, to a callee that can take it, INTERRUPT killnowait.
func (d *dealer) expire(inv *invocation) {
	if !inv.caller.takeCall(inv) {
		return
	}
	if inv.callee.takeInvocation(inv.id) != nil && canInterrupt(inv.callee) {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": "killnowait", "reason": string(wamp.ErrTimeout)}})
	}
	inv.caller.sendError(wamp.TypeCall, inv.callerReq, wamp.ErrTimeout, fmt.Sprintf("the call timed out after %v", inv.timeout))
}

// failCall ends caller s's pending call req, if it still waits, with
// ERROR uri, and interrupts its callee where it can.
func (d *dealer) failCall(s *session, req wamp.ID, uri wamp.URI, msg string) {
	s.mu.Lock()
	inv := s.calls[req]
	s.mu.Unlock()
	if inv == nil || !s.takeCall(inv) {
		return // answered meanwhile: the caller gets that answer
	}
	if inv.callee.takeInvocation(inv.id) != nil && canInterrupt(inv.callee) {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": "killnowait", "reason": string(uri)}})
	}
	s.sendError(wamp.TypeCall, req, uri, msg)
}

// invocationTooBig forgets invocation id, which callee could not be sent
// because of its size, and fails its call with ERROR
// wamp.error.payload_size_exceeded. The callee of a streamed call may hold
// its earlier parts: it gets INTERRUPT killnowait where it can (one that
// knows nothing of the call ignores it, as it must ignore an INTERRUPT that
// crosses its answer).
func (d *dealer) invocationTooBig(callee *session, id wamp.ID, msg string) {
	inv := callee.takeInvocation(id)
	if inv == nil {
		return // a later part of a call that already ended
	}
	if inv.streamed && canInterrupt(callee) {
		callee.send(&wamp.Interrupt{Request: id, Options: wamp.Dict{"mode": "killnowait", "reason": string(wamp.ErrPayloadSizeExceeded)}})
	}
	if inv.caller.takeCall(inv) {
		inv.caller.sendError(wamp.TypeCall, inv.callerReq, wamp.ErrPayloadSizeExceeded, msg)
	}
}

// takeCall removes inv from its caller's pending calls, stopping its
// timer, and reports whether it was still there (the caller still waits
// for an answer).
func (s *session) takeCall(inv *invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[inv.callerReq] != inv {
		return false
	}
	delete(s.calls, inv.callerReq)
	s.stats.callDone(time.Since(inv.start))
	if inv.timer != nil {
		inv.timer.Stop()
	}
	if inv.streaming {
		s.addCutStream(inv.callerReq)
	}
	return true
}

// addCutStream records req as a progressive call that ended while the
// caller was still streaming. s.mu must be held.
func (s *session) addCutStream(req wamp.ID) {
	s.cutStreams[s.cutNext] = req
	s.cutNext = (s.cutNext + 1) % len(s.cutStreams)
}

// cutStream reports whether req is a progressive call that ended while
// the caller was still streaming, and forgets it with its final part.
// s.mu must be held.
func (s *session) cutStream(req wamp.ID, final bool) bool {
	for i, id := range s.cutStreams {
		if id == req && req != 0 {
			if final {
				s.cutStreams[i] = 0
			}
			return true
		}
	}
	return false
}

// takeCalls removes and returns all the caller's pending calls, stopping
// their timers; it marks the session ended when end is set.
func (s *session) takeCalls(end bool) (calls, invocations map[wamp.ID]*invocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls = s.calls
	s.calls = nil
	if end {
		s.ended = true
		invocations = s.invocations
		s.invocations = nil
	}
	for _, inv := range calls {
		if inv.timer != nil {
			inv.timer.Stop()
		}
	}
	return calls, invocations
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
	if progress, _ := m.Options["progress"].(bool); progress {
		d.progressiveYield(callee, m)
		return
	}
	inv := callee.takeInvocation(m.Request)
	if inv == nil || !inv.caller.takeCall(inv) {
		return // canceled, timed out or the caller left: nobody waits
	}
	inv.caller.send(&wamp.Result{Request: inv.callerReq, Details: wamp.Dict{}, Args: m.Args, Kwargs: m.Kwargs})
}

// progressiveYield forwards a progressive result as RESULT with progress,
// if the caller asked for progressive results; otherwise it is dropped and
// the call goes on. It restarts the call's timeout, which for progressive
// results bounds the time between results.
func (d *dealer) progressiveYield(callee *session, m *wamp.Yield) {
	callee.mu.Lock()
	inv := callee.invocations[m.Request]
	callee.mu.Unlock()
	if inv == nil {
		return
	}
	if !inv.receiveProgress {
		callee.debug("dropping a progressive YIELD: the caller did not ask for progressive results", "invocation", uint64(m.Request))
		return
	}
	c := inv.caller
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls[inv.callerReq] != inv {
		return
	}
	if inv.timer != nil {
		inv.timer.Reset(inv.timeout)
	}
	// Queued under the caller's lock, so that it cannot pass the call's
	// final answer, which takes the call under the same lock first.
	c.send(&wamp.Result{Request: inv.callerReq, Details: wamp.Dict{"progress": true}, Args: m.Args, Kwargs: m.Kwargs})
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
	mode, err := stringOption(m.Options, "mode", "killnowait")
	if err != nil || mode != "skip" && mode != "kill" && mode != "killnowait" {
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
	calls, _ := s.takeCalls(false)
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
	type gone struct {
		reg     *registration
		deleted bool
	}
	var regs []gone
	d.mu.Lock()
	for _, reg := range s.registrations {
		regs = append(regs, gone{reg, d.detach(s, reg)})
	}
	d.mu.Unlock()

	calls, invocations := s.takeCalls(true)
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
	for _, g := range regs {
		d.detached(s, g.reg, g.deleted)
	}
}
