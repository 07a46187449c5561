// Package client is the Go WAMP v2 client of wampkit: join a realm, call
// and register procedures, publish and subscribe. The same code runs
// natively and in the browser (GOOS=js GOARCH=wasm).
//
// [Join] picks the transport from the URL: WebSocket for ws:// and wss://,
// long-poll for http:// and https://, with Config.FallbackURLs tried in
// order when the URL cannot be opened. With Config.Reconnect, a Session
// that loses its router joins again with backoff and restores its
// registrations and subscriptions; Config.OnJoin and Config.OnLeave follow
// each WAMP session. Requests made while it is disconnected fail at once
// with [ErrNotConnected].
//
// A [Session] is safe for concurrent use. One read loop per session
// receives messages and routes them at once: replies wake the waiting
// request, each INVOCATION runs its [Handler] in a new goroutine and EVENTs
// go to one dispatcher goroutine that calls the [EventHandler]s in order.
// So a slow handler never holds up the replies of other requests.
//
// A request's ctx bounds the wait for its answer; the write of the request
// itself is bounded by the transport.
//
// Errors: a request that the router refuses with ERROR returns a
// *wamp.Error carrying the URI and arguments exactly as received; read it
// with errors.AsType[*wamp.Error]. A request on a session that ended
// returns an error wrapping [ErrSessionClosed] and, if the router closed
// the session, a [*CloseError]; one on a Session that reconnects returns
// an error wrapping [ErrNotConnected] and the cause of the loss.
package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// ErrSessionClosed is wrapped by the error of every request made on, or
// pending when, a session that ended or is leaving.
var ErrSessionClosed = errors.New("client: session closed")

// CloseError tells why a session ended when it did not end by its own
// Leave: the router sent GOODBYE or ABORT, or this client aborted the
// session because the router broke the protocol (Reason
// wamp.error.protocol_violation).
type CloseError struct {
	// Reason is the URI of the GOODBYE or ABORT, such as
	// wamp.close.system_shutdown.
	Reason wamp.URI
	// Details are the message's details; "message", when present, is a
	// human readable explanation.
	Details wamp.Dict
}

// Error returns the reason and the details' message, if any.
func (e *CloseError) Error() string {
	s := "client: session closed: " + string(e.Reason)
	if m, ok := e.Details["message"].(string); ok && m != "" {
		s += ": " + m
	}
	return s
}

// ErrNotConnected is wrapped by the error of every request made while a
// reconnecting Session has no WAMP session (it waits between attempts,
// dials, joins, or restores its registrations and subscriptions), and of
// every request pending when the transport was lost. Nothing is queued:
// the caller decides whether to try again, for instance from
// Config.OnJoin.
var ErrNotConnected = errors.New("client: not connected")

// finalSendTimeout bounds how long the client waits to send its last
// message (ABORT or GOODBYE) before it closes a transport whose writes are
// stuck: closing must never hang.
const finalSendTimeout = 2 * time.Second

// Session is a client's presence on a router. Create one with [Join] or
// [JoinPeer]. With Config.Reconnect it outlives the WAMP sessions that it
// runs one after the other (ID tells the current one), and keeps its
// registrations and subscriptions across them.
//
// Locks: link.sendMu is never taken while Session.mu is held, and
// Session.mu is never held across I/O or a call to user code. A
// CallStream's mu is taken before either (it is held while a part is
// sent).
type Session struct {
	cfg   Config
	log   Logger
	realm string
	urls  []string // the URL and fallbacks; nil for JoinPeer: no reconnect

	// mu guards the fields below and the fields of links marked so.
	mu      sync.Mutex
	link    *link                     // the WAMP session, current or last
	regs    map[wamp.ID]*Registration // live registrations by ID
	subs    map[wamp.ID][]*Subscription
	gates   map[string]chan struct{} // subscribe/unsubscribe in flight per topic and match
	leaving bool
	ended   bool  // finished for good: no request, no reconnection
	err     error // why the session ended; nil after Leave
	// dormantRegs and dormantSubs hold what waits to be registered and
	// subscribed again on the next WAMP session.
	dormantRegs map[*Registration]struct{}
	dormantSubs map[*Subscription]struct{}

	events eventQueue

	stop context.Context    // canceled by Leave and at the end: stops reconnecting
	halt context.CancelFunc // cancels stop
	done chan struct{}      // closed when the Session is finished, after the last OnLeave
}

// link is one WAMP session of a Session: a transport and what WELCOME
// said. A reconnection makes a new one.
type link struct {
	peer    transport.Peer
	id      wamp.ID
	details wamp.Dict
	log     Logger
	ids     wamp.SequentialID // request IDs, session scope

	// sendMu serializes peer.Send, which accepts one caller at a time,
	// while keeping each sender's messages in order. A client sends
	// little, so a mutex held for the duration of a write is enough.
	sendMu sync.Mutex

	// Guarded by Session.mu.
	pending     map[wamp.ID]*request    // requests waiting for an answer
	invocations map[wamp.ID]*Invocation // invocations whose handler runs
	cut         cutRing                 // see cutRing
	ready       bool                    // joined and restored: open to requests
	ended       bool
	cause       error // why it ended: nil after Leave
	retry       bool  // the Session reconnects after it
	reqErr      error // what requests cut short by its end return

	done       chan struct{}      // closed when it ended
	handlerCtx context.Context    // parent of invocation handler contexts
	cancel     context.CancelFunc // cancels handlerCtx

	// pushed tells that the transport pushes its messages (see readLoop):
	// no goroutine reads the link. Set before the first message.
	pushed atomic.Bool

	// reading says what the goroutine reading the link does: reads, or
	// runs a handler (see runInline). At most one goroutine reads: only
	// the reader enters readerInHandler, and a goroutine whose handler
	// returns reads on only if it swaps readerInHandler back, which fails
	// once takeOver started another reader (or that one began a handler
	// and another finisher took its place). The handler watch (see
	// watchHandlers) starts another reader when one runs too long.
	reading atomic.Int32
	// handlers counts the handlers run on the reading goroutine, so that
	// the watch tells one from the next.
	handlers atomic.Uint64
	// watching tells that the watch ticks; watch is its timer, made by
	// the first handler run so; watchSeen is handlers at its last tick.
	watching  atomic.Bool
	watch     *time.Timer
	watchSeen uint64
}

// newLink wraps a joined peer; the caller starts its read loop.
func newLink(peer transport.Peer, w *wamp.Welcome, log Logger) *link {
	l := &link{
		peer:        peer,
		id:          w.Session,
		details:     w.Details,
		log:         sessionLogger{log, uint64(w.Session)},
		pending:     map[wamp.ID]*request{},
		invocations: map[wamp.ID]*Invocation{},
		done:        make(chan struct{}),
	}
	l.handlerCtx, l.cancel = context.WithCancel(context.Background())
	// A message above the router's limit would cost the session (over
	// WebSocket, a close 1009): the transport refuses it instead, and the
	// request fails alone.
	if limit, ok := wamp.AsInt(w.Details[wamp.MaxMessageSizeKey]); ok && limit > 0 {
		if sl, ok := peer.(transport.SendLimiter); ok {
			sl.SetSendLimit(limit)
		}
	}
	return l
}

// routerHas reports whether the router announced feature for role
// ("dealer" or "broker") in WELCOME.
func (l *link) routerHas(role, feature string) bool {
	roles, _ := l.details["roles"].(wamp.Dict)
	r, _ := roles[role].(wamp.Dict)
	features, _ := r["features"].(wamp.Dict)
	b, _ := features[feature].(bool)
	return b
}

// send writes m; see sendMu.
func (l *link) send(m wamp.Message) error {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	return l.peer.Send(m)
}

// request is a request waiting for its answer.
type request struct {
	typ   wamp.MessageType  // CALL, REGISTER, ...
	id    wamp.ID           // set when sent
	reply chan wamp.Message // capacity 1: the answer, maybe an *wamp.ErrorMessage; nil with done
	// settle, when set, runs once under Session.mu when the request leaves
	// the pending table: on the read loop with the answer, so that state
	// (a new registration or subscription) is in place before the next
	// message is read; or with nil when the request failed unanswered.
	settle func(l *link, answer wamp.Message, abandoned bool)
	// abandoned tells that the caller stopped waiting (its ctx ended) and
	// the answer only updates state.
	abandoned bool
	// progress, set for a CALL whose caller takes progressive results,
	// receives each RESULT with progress, under Session.mu on the read
	// loop; the request stays pending.
	progress func(r *wamp.Result)
	// done, when set, takes the answer instead of reply, or the error
	// when the WAMP session ends first, once the Session's lock is
	// released (see CallFunc).
	done func(answer wamp.Message, err error)
}

// answerType is the success answer of each request type.
var answerType = map[wamp.MessageType]wamp.MessageType{
	wamp.TypeCall:        wamp.TypeResult,
	wamp.TypeRegister:    wamp.TypeRegistered,
	wamp.TypeUnregister:  wamp.TypeUnregistered,
	wamp.TypeSubscribe:   wamp.TypeSubscribed,
	wamp.TypeUnsubscribe: wamp.TypeUnsubscribed,
	wamp.TypePublish:     wamp.TypePublished,
}

// JoinPeer joins realm over a connected peer: it sends HELLO, answers
// CHALLENGEs with Config.OnChallenge and returns the session on WELCOME.
// An ABORT returns a *wamp.Error whose URI is the ABORT's reason, whose
// Args hold its message and whose Kwargs are its details.
//
// The session owns peer: JoinPeer closes it when the join fails and the
// session closes it when it ends. ctx bounds the join only.
//
// Config.FallbackURLs and Config.Reconnect do not apply: the session ends
// with its peer.
func JoinPeer(ctx context.Context, peer transport.Peer, realm string, cfg *Config) (*Session, error) {
	c := cfg.withDefaults()
	welcome, err := handshake(ctx, peer, realm, &c)
	if err != nil {
		peer.Close()
		return nil, err
	}
	return newSession(c, realm, nil, newLink(peer, welcome, c.Logger)), nil
}

// handshake runs the opening of a session on peer, up to WELCOME. It is
// the part of a join that a reconnect repeats.
func handshake(ctx context.Context, peer transport.Peer, realm string, cfg *Config) (*wamp.Welcome, error) {
	if !wamp.ValidURI(wamp.URI(realm), false, false) {
		return nil, fmt.Errorf("client: invalid realm %q", realm)
	}
	// Recv takes no context: closing the peer is what unblocks it.
	stop := context.AfterFunc(ctx, func() { peer.Close() })
	defer stop()
	fail := func(err error) (*wamp.Welcome, error) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("client: join: %w", ctxErr)
		}
		return nil, err
	}
	abort := func(reason wamp.URI, message string) {
		sendWithin(peer.Send, &wamp.Abort{Details: wamp.Dict{"message": message}, Reason: reason})
	}

	details := cfg.helloDetails()
	if err := peer.Send(&wamp.Hello{Realm: wamp.URI(realm), Details: details}); err != nil {
		return fail(fmt.Errorf("client: join: send HELLO: %w", err))
	}
	for {
		m, err := peer.Recv()
		if err != nil {
			if errors.Is(err, wamp.ErrInvalidMessage) {
				abort(wamp.ErrProtocolViolation, err.Error())
			}
			return fail(fmt.Errorf("client: join: %w", err))
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			if !stop() {
				// ctx ended as WELCOME arrived and closed the peer.
				return fail(transport.ErrClosed)
			}
			return m, nil
		case *wamp.Abort:
			e := &wamp.Error{URI: m.Reason, Kwargs: m.Details}
			if msg, ok := m.Details["message"].(string); ok {
				e.Args = wamp.List{msg}
			}
			return nil, e
		case *wamp.Challenge:
			if offered := authMethods(details); !slices.Contains(offered, m.AuthMethod) {
				msg := fmt.Sprintf("CHALLENGE for %q, a method the client did not offer", m.AuthMethod)
				abort(wamp.ErrProtocolViolation, msg)
				return nil, &finalError{fmt.Errorf("client: join: the router sent a %s (it offered %q)", msg, offered)}
			}
			if cfg.OnChallenge == nil {
				abort(wamp.ErrAuthenticationFailed, "client cannot answer a challenge")
				return nil, &finalError{fmt.Errorf("client: join: router sent CHALLENGE for %q and Config.OnChallenge is nil", m.AuthMethod)}
			}
			sig, extra, err := cfg.OnChallenge(ctx, m)
			if err != nil {
				abort(wamp.ErrAuthenticationFailed, err.Error())
				return fail(&finalError{fmt.Errorf("client: join: authentication: %w", err)})
			}
			if err := peer.Send(&wamp.Authenticate{Signature: sig, Extra: extra}); err != nil {
				return fail(fmt.Errorf("client: join: send AUTHENTICATE: %w", err))
			}
		default:
			msg := fmt.Sprintf("unexpected %s before WELCOME", m.Type())
			abort(wamp.ErrProtocolViolation, msg)
			return nil, fmt.Errorf("client: join: %s", msg)
		}
	}
}

// authMethods returns the authentication methods that HELLO's details
// offer; none means anonymous only.
func authMethods(details wamp.Dict) []string {
	switch l := details["authmethods"].(type) {
	case []string:
		return l
	case wamp.List:
		methods := make([]string, 0, len(l))
		for _, m := range l {
			if s, ok := m.(string); ok {
				methods = append(methods, s)
			}
		}
		return methods
	}
	return nil
}

// sendWithin sends a last message with send but gives up after
// finalSendTimeout, so that a stuck transport cannot hang a close. The
// caller closes the peer next, which ends a Send still in progress.
func sendWithin(send func(wamp.Message) error, m wamp.Message) {
	sent := make(chan struct{})
	go func() {
		send(m)
		close(sent)
	}()
	t := time.NewTimer(finalSendTimeout)
	defer t.Stop()
	select {
	case <-sent:
	case <-t.C:
	}
}

// newSession starts the supervisor and event dispatcher of a Session
// joined over l, and l's read loop.
func newSession(cfg Config, realm string, urls []string, l *link) *Session {
	s := &Session{
		cfg:   cfg,
		log:   cfg.Logger,
		realm: realm,
		urls:  urls,
		link:  l,
		regs:  map[wamp.ID]*Registration{},
		subs:  map[wamp.ID][]*Subscription{},
		gates: map[string]chan struct{}{},
		done:  make(chan struct{}),

		dormantRegs: map[*Registration]struct{}{},
		dormantSubs: map[*Subscription]struct{}{},
	}
	l.ready = true
	s.events.ready = make(chan struct{}, 1)
	s.stop, s.halt = context.WithCancel(context.Background())
	go s.readLoop(l)
	go s.dispatch()
	go s.supervise(l)
	l.log.Debug("joined", "details", l.details)
	return s
}

// current returns the current or last WAMP session.
func (s *Session) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link
}

// ID returns the session ID the router assigned in WELCOME, of the
// current WAMP session, or of the last one while the Session reconnects
// and after it ended.
func (s *Session) ID() wamp.ID { return s.current().id }

// Details returns a copy of WELCOME's details: "authid", "authrole",
// "authmethod", "roles" and whatever else the router announced; of the
// current WAMP session, or of the last one, as ID.
func (s *Session) Details() wamp.Dict { return maps.Clone(s.current().details) }

// Transport describes the transport of the current WAMP session, or of the
// last one, as ID: Transport is "websocket" or "longpoll", and Serializer,
// Batched and RemoteAddr tell the rest.
func (s *Session) Transport() transport.Info { return s.current().peer.Info() }

// Done returns a channel that is closed when the Session is finished for
// good: after Leave, a close that it does not come back from, or when
// reconnecting gave up; Err tells why. A reconnecting Session is not done.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err tells why the Session ended: nil while it runs or reconnects and
// after its own Leave; a *CloseError when the router sent GOODBYE or ABORT
// or the client aborted on a protocol violation; a *wamp.Error (wrapped)
// when a rejoin was refused; otherwise the transport's error, wrapped (the
// last one when reconnecting gave up after Reconnect.MaxRetries).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Leave closes the Session: it sends GOODBYE wamp.close.close_realm, waits
// for the router's GOODBYE (or ctx) and closes the transport; a Session
// that is reconnecting just stops. Requests still pending fail with
// ErrSessionClosed. Err returns nil afterwards.
func (s *Session) Leave(ctx context.Context) error {
	return s.LeaveWith(ctx, wamp.ErrCloseRealm)
}

// LeaveWith is Leave with another GOODBYE reason, such as
// "wamp.close.logout", after which a router that remembers the browser's
// login in a cookie (as wampd and Crossbar.io do) forgets it.
func (s *Session) LeaveWith(ctx context.Context, reason wamp.URI) error {
	if !wamp.ValidURI(reason, false, false) {
		return fmt.Errorf("client: leave: invalid reason URI %q", reason)
	}
	s.mu.Lock()
	if err := s.closedLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.leaving = true
	l := s.link
	connected := !l.ended
	s.mu.Unlock()
	s.halt()
	if !connected {
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("client: leave: %w", ctx.Err())
		}
	}
	s.takeOver(l) // the GOODBYE's answer is read even by a handler that leaves
	// Should ctx end during a stuck write, closing the session unblocks it.
	stop := context.AfterFunc(ctx, func() { s.drop(l, nil, nil) })
	err := l.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: reason})
	stop()
	if err != nil {
		s.drop(l, nil, nil)
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("client: leave: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.drop(l, nil, nil)
		return fmt.Errorf("client: leave: no GOODBYE from the router: %w", ctx.Err())
	}
}

// closedLocked returns the error for a new request when the Session ended
// or is leaving, nil otherwise. s.mu is held.
func (s *Session) closedLocked() error {
	if s.err != nil {
		return fmt.Errorf("%w: %w", ErrSessionClosed, s.err)
	}
	if s.ended || s.leaving {
		return ErrSessionClosed
	}
	return nil
}

// usableLocked returns the link that a new request goes on, or why there
// is none. s.mu is held.
func (s *Session) usableLocked() (*link, error) {
	if err := s.closedLocked(); err != nil {
		return nil, err
	}
	l := s.link
	if l.ended {
		return nil, l.reqErr
	}
	if !l.ready {
		return nil, fmt.Errorf("%w: restoring registrations and subscriptions", ErrNotConnected)
	}
	return l, nil
}

// sendOn writes the message of a request on l. When the write fails
// because l ended meanwhile, the error says so.
func (s *Session) sendOn(l *link, m wamp.Message) error {
	err := l.send(m)
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.closedLocked(); err != nil {
		return err
	}
	if l.ended {
		return l.reqErr
	}
	return fmt.Errorf("client: send %s: %w", m.Type(), err)
}

// drop ends the WAMP session of l once: it records cause (dropped after
// our own Leave) and whether to reconnect, fails l's pending requests,
// sends final if not nil, closes the transport and cancels handler
// contexts. When the Session does not reconnect, it is finished: the
// supervisor calls OnLeave and closes Done.
func (s *Session) drop(l *link, cause error, final wamp.Message) {
	s.mu.Lock()
	if l.ended {
		s.mu.Unlock()
		return
	}
	l.ended = true
	if s.leaving {
		cause = nil
	}
	l.cause = cause
	l.retry = cause != nil && s.urls != nil && s.cfg.Reconnect != nil && retryable(cause)
	if l.retry {
		l.reqErr = fmt.Errorf("%w: %w", ErrNotConnected, cause)
	} else {
		s.finishLocked(cause)
		l.reqErr = s.closedLocked()
	}
	var waiting []*request // whose answer goes to done
	for _, req := range l.pending {
		if req.settle != nil {
			req.settle(l, nil, false)
		}
		if req.done != nil {
			waiting = append(waiting, req)
		}
	}
	l.pending = nil
	reqErr := l.reqErr
	s.mu.Unlock()
	for _, req := range waiting {
		req.done(nil, reqErr)
	}
	closeTransport := func() {
		if final != nil {
			sendWithin(l.send, final)
		}
		l.peer.Close()
	}
	if l.pushed.Load() {
		// drop may run inside a call from JavaScript, which must not
		// wait: closing waits for the other side.
		go closeTransport()
	} else {
		closeTransport()
	}
	l.cancel()
	// Logged before l.done is closed: once the Session is done, its
	// logger may be gone (a test's has).
	switch {
	case cause == nil:
		l.log.Debug("session left")
	case l.retry:
		l.log.Info("session lost; reconnecting", "error", cause)
	default:
		l.log.Info("session ended", "error", cause)
	}
	close(l.done)
}

// finishLocked marks the Session finished for good because of cause
// (ignored after Leave). s.mu is held.
func (s *Session) finishLocked(cause error) {
	if s.ended {
		return
	}
	s.ended = true
	if !s.leaving {
		s.err = cause
	}
}
