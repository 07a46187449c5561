package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// session is one client's session: its transport, identity, outbound queue
// and the dealer state it takes part in.
type session struct {
	router *Router
	peer   transport.Peer
	q      outQueue
	stats  *statShard // the counters this session adds to (metrics.go)

	// Set once by the handshake, read-only afterwards.
	id           wamp.ID
	realm        *realm
	authid       string
	authrole     string
	authmethod   string
	authprovider string
	authextra    wamp.Dict // WELCOME.Details.authextra, from authentication
	roles        wamp.Dict // the client's HELLO.Details.roles
	// secure tells whether the connection keeps secrets from the network
	// (TLS, loopback, in-process); set before the handshake.
	secure bool
	// internal marks a realm's router caller (auth_caller.go), which needs
	// no authorization.
	internal bool

	// authzCache holds the dynamic authorizer's cacheable decisions.
	authzMu    sync.Mutex
	authzCache map[authzKey]decision

	// stateMu orders the WELCOME of a joining session before a shutdown's
	// GOODBYE.
	stateMu sync.Mutex

	// established is set once the session has joined its realm; after it,
	// the handshake fields above may be read from any goroutine.
	established atomic.Bool

	// goodbyeSent is set when the router has sent GOODBYE and waits for
	// the peer's answer.
	goodbyeSent atomic.Bool

	// closeTimer closes the transport of a peer that neither reads a final
	// ABORT nor answers a GOODBYE in time; closePeer stops it, so that a
	// flood of aborted connections leaves no timer to fire.
	closeTimer atomic.Pointer[time.Timer]

	// mu guards the dealer state below. Lock order: never hold two
	// sessions' mu at once, and never hold mu while calling into the broker
	// or dealer.
	mu            sync.Mutex
	ended         bool
	calls         map[wamp.ID]*invocation // as caller, by CALL request ID
	invocations   map[wamp.ID]*invocation // as callee, by INVOCATION request ID
	invocationIDs wamp.SequentialID
	// cutStreams holds the request IDs of the last progressive calls that
	// ended while the caller was still streaming, so that parts still in
	// flight are dropped instead of starting new calls (dealer.go).
	cutStreams [8]wamp.ID
	cutNext    int

	// Guarded by the realm's broker and dealer locks respectively.
	subscriptions map[wamp.ID]*subscription
	registrations map[wamp.ID]*registration

	// testaments, by scope, are published when the session leaves (meta.go);
	// guarded by mu.
	testaments map[string][]*publication
	// quiet is set when wamp.session.kill_all ends the session: its leaving
	// publishes neither on_leave nor testaments, as the specification asks.
	quiet atomic.Bool
}

func newSession(r *Router, peer transport.Peer) *session {
	s := &session{router: r, peer: peer, stats: r.stats.shard()}
	s.q.limit = r.cfg.MaxQueuedBytes
	info := peer.Info()
	s.secure = secureConn(info.Transport, info.RemoteAddr, info.TLS)
	return s
}

// log logs at level through logger, which it builds only when that level
// is on: logger's attributes are formatted when it is built, which a flood
// of connections, each aborted or timed out with an info line, would pay
// on each even with those lines off.
func (s *session) log(level slog.Level, msg string, args ...any) {
	if s.router.cfg.Logger.Enabled(context.Background(), level) {
		s.logger().Log(context.Background(), level, msg, args...)
	}
}

// debug logs at the debug level (see log): a join and a leave log at it.
func (s *session) debug(msg string, args ...any) { s.log(slog.LevelDebug, msg, args...) }

// logInfo logs at the info level (see log).
func (s *session) logInfo(msg string, args ...any) { s.log(slog.LevelInfo, msg, args...) }

// logWarn logs at the warning level (see log).
func (s *session) logWarn(msg string, args ...any) { s.log(slog.LevelWarn, msg, args...) }

func (s *session) logger() *slog.Logger {
	info := s.peer.Info()
	l := s.router.cfg.Logger.With("transport", info.Transport, "remote", info.RemoteAddr)
	if s.established.Load() {
		l = l.With("session", uint64(s.id), "realm", string(s.realm.name), "authid", s.authid)
	}
	return l
}

// send queues m for the peer without blocking. A session whose queue
// overflows is a slow consumer: it is disconnected.
func (s *session) send(m wamp.Message) {
	switch s.q.push(m, measureIfQueued) {
	case pushedStart:
		s.startWriter()
	case pushOverflow:
		s.router.stats.slowConsumers.Add(1)
		s.logWarn("disconnecting slow consumer: outbound queue over budget",
			"limit_bytes", s.q.limit)
		go s.closePeer()
	}
}

// sendEvent queues one delivery of a fan-out. Unlike send, it always leaves
// the writing to a writer goroutine: the publisher's reader should not make
// a write(2) per subscriber, and a writer that finds several events queued
// writes them at once.
func (s *session) sendEvent(m wamp.Message, size int) {
	switch s.q.push(m, size) {
	case pushedStart:
		go s.writeLoop()
	case pushOverflow:
		s.router.stats.slowConsumers.Add(1)
		s.logWarn("disconnecting slow consumer: outbound queue over budget",
			"limit_bytes", s.q.limit)
		go s.closePeer()
	}
}

// sendLast queues a final ABORT or GOODBYE; the transport is closed once it
// is written, or after GoodbyeTimeout if the peer does not read it.
func (s *session) sendLast(m wamp.Message) {
	start, ok := s.q.pushLast(m)
	if !ok {
		return
	}
	s.closeAfter(s.router.cfg.GoodbyeTimeout)
	if start {
		s.startWriter()
	}
}

// closeAfter closes the transport after d unless closePeer does first.
func (s *session) closeAfter(d time.Duration) {
	if old := s.closeTimer.Swap(time.AfterFunc(d, func() { s.peer.Close() })); old != nil {
		old.Stop()
	}
}

// closePeer closes the transport, and stops the timer of closeAfter.
func (s *session) closePeer() {
	if t := s.closeTimer.Swap(nil); t != nil {
		t.Stop()
	}
	s.peer.Close()
}

// startWriter writes what was queued. To a transport that never blocks on
// the network (an accepted WebSocket), the calling goroutine writes itself,
// which saves a goroutine hand-off and a thread wake-up per message; to any
// other, a writer goroutine does. The caller must have taken the queue's
// writer role (push or pushLast said so).
func (s *session) startWriter() {
	if nb, ok := s.peer.(transport.NonBlockingSender); !ok || !nb.SendsWithoutBlocking() {
		go s.writeLoop()
		return
	}
	var batch []wamp.Message
	// Two rounds at most: messages that other goroutines keep queueing
	// meanwhile go to a writer goroutine, so that the caller, usually a
	// session's reader, returns to its own work.
	for range 2 {
		var done, closeNow bool
		batch, done, closeNow = s.q.take(batch)
		if done {
			if closeNow {
				go s.closePeer()
			}
			return
		}
		if err := s.sendAll(batch); err != nil {
			s.sendFailed(err)
			go s.closePeer()
			return
		}
	}
	go s.writeLoop()
}

func (s *session) writeLoop() {
	var batch []wamp.Message
	for {
		var done, closeNow bool
		batch, done, closeNow = s.q.take(batch)
		if done {
			if closeNow {
				s.closePeer()
			}
			return
		}
		if err := s.sendAll(batch); err != nil {
			s.sendFailed(err)
			s.closePeer()
			return
		}
	}
}

// sendFailed shuts the queue of a session whose transport failed a write,
// which must be closed next.
func (s *session) sendFailed(err error) {
	switch {
	case errors.Is(err, transport.ErrSlowConsumer):
		s.router.stats.slowConsumers.Add(1)
		s.logWarn("disconnecting slow consumer: write buffer over its limit")
	case errors.Is(err, transport.ErrMessageTooBig):
		s.logWarn("closing session: a message is bigger than the peer accepts", "error", err)
	}
	s.q.shut()
}

// sendAll writes a batch: at once when the transport can, else message by
// message. A message that the peer does not accept for its size is dealt
// with by tooBig and the rest of the batch written.
func (s *session) sendAll(batch []wamp.Message) error {
	for _, m := range batch {
		s.stats.sent(m.Type())
	}
	var instead wamp.Message // the last replacement written
	for len(batch) > 0 {
		err := s.write(batch)
		var big *transport.SendTooBigError
		if err == nil || !errors.As(err, &big) {
			return err
		}
		i := slices.IndexFunc(batch, func(m wamp.Message) bool { return m == big.Message })
		if i < 0 || instead != nil && batch[i] == instead {
			return err // a replacement too big: nothing smaller to send
		}
		s.stats.unsent(batch[i].Type())
		var ok bool
		instead, ok = s.tooBig(batch[i], big)
		if !ok {
			return err
		}
		if instead != nil {
			// In the refused message's place, before what follows it.
			s.stats.sent(instead.Type())
			batch[i] = instead
			i--
		}
		batch = batch[i+1:]
	}
	return nil
}

// write writes a batch without counting it.
func (s *session) write(batch []wamp.Message) error {
	if b, ok := s.peer.(transport.BatchSender); ok && len(batch) > 1 {
		return b.SendBatch(batch)
	}
	for _, m := range batch {
		if err := s.peer.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// tooBig deals with message m, which the transport did not send because
// the peer accepts no message that big, and reports whether the session
// goes on, and what to send in m's place, if anything. A RESULT or ERROR
// is replaced by ERROR wamp.error.payload_size_exceeded for the same
// request (a progressive RESULT also ends the call); an INVOCATION fails
// its call with that ERROR to the caller; an EVENT is skipped. Any other
// message is one the session cannot do without: it ends.
//
// It runs on the session's writer, which may be the goroutine of a sender
// holding a session's lock (dealer.progressiveYield): what needs the
// dealer's state runs on a goroutine of its own.
func (s *session) tooBig(m wamp.Message, big *transport.SendTooBigError) (instead wamp.Message, ok bool) {
	if !s.established.Load() {
		return nil, false
	}
	log := s.logger().With("message", m.Type().String(), "size", big.Size, "limit", big.Limit)
	switch m := codec.Unwrap(m).(type) {
	case *wamp.Event:
		log.Warn("event not delivered: bigger than the peer accepts", "subscription", uint64(m.Subscription), "publication", uint64(m.Publication))
	case *wamp.Result:
		msg := fmt.Sprintf("the result of %d bytes is above the %d bytes this peer accepts", big.Size, big.Limit)
		if progress, _ := m.Details["progress"].(bool); progress {
			log.Warn("progressive result not delivered: bigger than the peer accepts; the call fails with ERROR payload_size_exceeded", "request", uint64(m.Request))
			go s.realm.dealer.failCall(s, m.Request, wamp.ErrPayloadSizeExceeded, msg)
			return nil, true
		}
		log.Warn("result replaced by ERROR payload_size_exceeded: bigger than the peer accepts", "request", uint64(m.Request))
		return tooBigError(wamp.TypeCall, m.Request, msg), true
	case *wamp.ErrorMessage:
		log.Warn("error replaced by ERROR payload_size_exceeded: bigger than the peer accepts", "request", uint64(m.Request), "error", string(m.Error))
		return tooBigError(m.RequestType, m.Request, fmt.Sprintf("the error of %d bytes is above the %d bytes this peer accepts", big.Size, big.Limit)), true
	case *wamp.Invocation:
		log.Warn("invocation not delivered: bigger than the peer accepts; the call fails", "invocation", uint64(m.Request))
		go s.realm.dealer.invocationTooBig(s, m.Request,
			fmt.Sprintf("the invocation of %d bytes is above the %d bytes the callee accepts", big.Size, big.Limit))
	default:
		return nil, false
	}
	return nil, true
}

// tooBigError is the ERROR wamp.error.payload_size_exceeded that answers
// request req of type t in place of a message too big for the peer.
func tooBigError(t wamp.MessageType, req wamp.ID, msg string) *wamp.ErrorMessage {
	return &wamp.ErrorMessage{RequestType: t, Request: req, Details: wamp.Dict{}, Error: wamp.ErrPayloadSizeExceeded, Args: wamp.List{msg}}
}

// abort sends ABORT with a readable message and closes the transport after.
func (s *session) abort(reason wamp.URI, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	s.logInfo("aborting session", "reason", string(reason), "message", msg)
	if reason == wamp.ErrProtocolViolation {
		s.misbehaved()
	}
	s.sendLast(&wamp.Abort{Details: wamp.Dict{"message": msg}, Reason: reason})
}

// misbehaved tells the peer's admission credit, if it has one, that the
// session broke the protocol (transport.Creditor).
func (s *session) misbehaved() {
	if c, ok := s.peer.(transport.Creditor); ok {
		c.Misbehaved()
	}
}

// finish makes sure the transport gets closed once the reader is done:
// right away, unless a final message is still being written.
func (s *session) finish() {
	s.q.mu.Lock()
	closing := s.q.closing && !s.q.closed
	s.q.mu.Unlock()
	if !closing {
		s.q.shut()
		s.closePeer()
	}
}

// run is the session's life on its reader goroutine.
func (s *session) run() {
	defer s.finish()
	if !s.handshake() {
		return
	}
	defer s.realm.leave(s)
	s.readLoop()
}

// handshake reads HELLO and answers WELCOME or ABORT.
func (s *session) handshake() bool {
	cfg := &s.router.cfg
	if l, ok := s.peer.(transport.ReadLimiter); ok {
		l.SetReadLimit(cfg.MaxHelloSize)
	}
	// HelloTimeout covers HELLO and the whole authentication.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HelloTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.DeadlineExceeded {
			s.logInfo("closing connection: no HELLO and authentication in time", "timeout", cfg.HelloTimeout)
			// A peer silent this long does not get a closing handshake,
			// which would cost a goroutine and a timer for each of a flood
			// of silent connections.
			if d, ok := s.peer.(transport.Dropper); ok {
				d.Drop()
				return
			}
		}
		s.peer.Close()
	})
	defer stop()
	m, err := s.peer.Recv()
	if err != nil {
		if errors.Is(err, wamp.ErrInvalidMessage) {
			s.abort(wamp.ErrProtocolViolation, "%v", err)
		}
		return false
	}
	s.stats.received(m.Type())
	hello, ok := m.(*wamp.Hello)
	if !ok {
		s.abort(wamp.ErrProtocolViolation, "the first message must be HELLO, not %s", m.Type())
		return false
	}
	if !wamp.ValidURI(hello.Realm, cfg.StrictURIs, false) {
		s.abort(wamp.ErrInvalidURI, "invalid realm URI %q", hello.Realm)
		return false
	}
	roles, _ := hello.Details["roles"].(wamp.Dict)
	if !hasClientRole(roles) {
		s.abort(wamp.ErrProtocolViolation, "HELLO.Details.roles must announce at least one of caller, callee, publisher, subscriber")
		return false
	}
	rlm := s.router.realm(hello.Realm)
	if rlm == nil {
		s.abort(wamp.ErrNoSuchRealm, "no realm %q on this router", hello.Realm)
		return false
	}
	s.realm = rlm
	s.roles = roles
	s.id = wamp.GlobalID()
	if !s.authenticate(ctx, rlm, hello) {
		return false
	}
	if !stop() {
		return false // the deadline passed: the connection is closed
	}
	if l, ok := s.peer.(transport.ReadLimiter); ok {
		l.SetReadLimit(cfg.MaxMessageSize)
	}
	details := wamp.Dict{
		"realm":        string(rlm.name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"roles":        routerRoles(),
	}
	if s.authextra != nil {
		details["authextra"] = s.authextra
	}
	if cfg.MaxMessageSize > 0 {
		// An implementation-specific key (the spec's "_" prefix): a
		// wampkit client refuses a bigger message itself instead of
		// losing the session to it (transport.SendLimiter).
		details[wamp.MaxMessageSizeKey] = cfg.MaxMessageSize
	}
	rlm.join(s, &wamp.Welcome{Session: s.id, Details: details})
	if c, ok := s.peer.(transport.Creditor); ok {
		c.Joined()
	}
	return true
}

func hasClientRole(roles wamp.Dict) bool {
	for _, r := range []string{"caller", "callee", "publisher", "subscriber"} {
		if _, ok := roles[r].(wamp.Dict); ok {
			return true
		}
	}
	return false
}

// yieldEvery is how many messages a session's reader handles before it
// lets others run. A peer that floods the router keeps its reader busy
// without ever blocking on the network: Go would let it run for 10 ms
// before preempting it, the other goroutines of its P waiting, and Go's
// scheduler polls the network only when it has no goroutine to run, so
// the messages of other sessions wait for another thread, which the kernel
// may keep waiting behind this one (yieldThread).
const yieldEvery = 32

// yieldReader lets the goroutines of this P, then the threads waiting for
// this CPU, run before a busy reader goes on.
func yieldReader() {
	runtime.Gosched()
	yieldThread()
}

// readLoop reads and routes messages until the session ends.
func (s *session) readLoop() {
	for n := 1; ; n++ {
		if n%yieldEvery == 0 {
			s.router.yield()
		}
		m, err := s.peer.Recv()
		if err != nil {
			switch {
			case errors.Is(err, wamp.ErrInvalidMessage):
				s.abort(wamp.ErrProtocolViolation, "%v", err)
			case errors.Is(err, transport.ErrMessageTooBig):
				s.logInfo("closing session: message over the size limit", "limit", s.router.cfg.MaxMessageSize)
				s.misbehaved()
			}
			return
		}
		s.stats.received(m.Type())
		if !s.handle(m) {
			return
		}
	}
}

// handle routes one message; it reports false when the session ends.
func (s *session) handle(m wamp.Message) bool {
	if s.goodbyeSent.Load() {
		// After our GOODBYE only the peer's GOODBYE matters.
		if _, ok := m.(*wamp.Goodbye); ok {
			s.q.shut()
			return false
		}
		return true
	}
	switch m := m.(type) {
	case *wamp.Publish:
		s.realm.broker.publish(s, m)
	case *wamp.Subscribe:
		s.realm.broker.subscribe(s, m)
	case *wamp.Unsubscribe:
		s.realm.broker.unsubscribe(s, m)
	case *wamp.Call:
		return s.realm.dealer.call(s, m)
	case *wamp.Yield:
		s.realm.dealer.yield(s, m)
	case *wamp.ErrorMessage:
		if m.RequestType != wamp.TypeInvocation {
			s.abort(wamp.ErrProtocolViolation, "a client may send ERROR only for an INVOCATION, not for %s", m.RequestType)
			return false
		}
		s.realm.dealer.calleeError(s, m)
	case *wamp.Register:
		s.realm.dealer.register(s, m)
	case *wamp.Unregister:
		s.realm.dealer.unregister(s, m)
	case *wamp.Cancel:
		s.realm.dealer.cancel(s, m)
	case *wamp.Goodbye:
		if m.Reason == closeLogout && s.realm.cookie != nil {
			s.realm.logout(s)
		}
		// Withdraw the session's registrations and subscriptions before
		// answering: a peer that saw our GOODBYE may tell another at once
		// that this one is gone, and a call routed here then would fail.
		s.realm.broker.removeSession(s)
		s.realm.dealer.removeSession(s)
		s.sendLast(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		return false
	case *wamp.Abort:
		s.logInfo("peer aborted the session", "reason", string(m.Reason))
		s.q.shut()
		return false
	case *wamp.Hello:
		s.abort(wamp.ErrProtocolViolation, "HELLO received on an established session")
		return false
	default:
		s.abort(wamp.ErrProtocolViolation, "%s is not a message a client may send", m.Type())
		return false
	}
	return true
}

// shutdown is the router's graceful goodbye: pending calls of this caller
// fail, then GOODBYE wamp.close.system_shutdown.
func (s *session) shutdown() {
	s.stateMu.Lock()
	established := s.established.Load()
	s.stateMu.Unlock()
	if !established {
		s.peer.Close() // still in the handshake
		return
	}
	s.goodbye(wamp.ErrSystemShutdown, "the router is shutting down")
}

// goodbye ends an established session from the router's side: pending
// calls of this caller fail, then GOODBYE with reason and, if not empty,
// message; the transport is closed if the peer does not answer in time.
func (s *session) goodbye(reason wamp.URI, message string) {
	if s.goodbyeSent.Swap(true) {
		return
	}
	s.realm.dealer.failCalls(s, "the session is being closed by the router")
	details := wamp.Dict{}
	if message != "" {
		details["message"] = message
	}
	// Armed first: the answer may come, and closePeer run, at once.
	s.closeAfter(s.router.cfg.GoodbyeTimeout)
	s.send(&wamp.Goodbye{Details: details, Reason: reason})
}

// sendError answers a request with ERROR.
func (s *session) sendError(t wamp.MessageType, req wamp.ID, uri wamp.URI, msg string) {
	e := &wamp.ErrorMessage{RequestType: t, Request: req, Details: wamp.Dict{}, Error: uri}
	if msg != "" {
		e.Args = wamp.List{msg}
	}
	s.send(e)
}
