package client

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// readLoop receives and routes every message of l until it ends. In a
// browser, a transport that can push its messages (transport.Pusher) has
// them routed as they arrive, with no goroutine to wake: there, handlers
// run on goroutines of their own, so routing never waits (see invoke), and
// the end of the link closes the transport on a goroutine (see drop).
func (s *Session) readLoop(l *link) {
	if p, ok := l.peer.(transport.Pusher); ok && runtime.GOOS == "js" {
		l.pushed.Store(true)
		p.Push(func(m wamp.Message, err error) bool { return s.receive(l, m, err) })
		return
	}
	for {
		m, err := l.peer.Recv()
		if !s.receive(l, m, err) {
			return
		}
	}
}

// receive handles what l's transport received: a message, or the error
// that ends it. It returns false when this goroutine must stop reading:
// the WAMP session ended, or reading moved to another goroutine.
func (s *Session) receive(l *link, m wamp.Message, err error) bool {
	if err != nil {
		if errors.Is(err, wamp.ErrInvalidMessage) {
			s.protocolViolation(l, err.Error())
		} else {
			s.drop(l, fmt.Errorf("client: transport: %w", err), nil)
		}
		return false
	}
	return s.route(l, m)
}

// route handles one message on the read loop; it returns false when the
// WAMP session ended.
func (s *Session) route(l *link, m wamp.Message) bool {
	switch m := m.(type) {
	case *wamp.Result:
		return s.answer(l, m.Request, m)
	case *wamp.Registered:
		return s.answer(l, m.Request, m)
	case *wamp.Subscribed:
		return s.answer(l, m.Request, m)
	case *wamp.Published:
		return s.answer(l, m.Request, m)
	case *wamp.ErrorMessage:
		return s.answer(l, m.Request, m)
	case *wamp.Unregistered:
		if m.Request == 0 {
			s.revokeRegistration(l, m.Details)
			return true
		}
		return s.answer(l, m.Request, m)
	case *wamp.Unsubscribed:
		if m.Request == 0 {
			s.revokeSubscription(l, m.Details)
			return true
		}
		return s.answer(l, m.Request, m)
	case *wamp.Invocation:
		return s.invoke(l, m)
	case *wamp.Interrupt:
		s.interruptInvocation(l, m)
		return true
	case *wamp.Event:
		s.event(l, m)
		return true
	case *wamp.Goodbye:
		s.mu.Lock()
		leaving := s.leaving
		s.mu.Unlock()
		if leaving {
			// The router's answer to our GOODBYE.
			s.drop(l, nil, nil)
		} else {
			s.drop(l, &CloseError{Reason: m.Reason, Details: m.Details},
				&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		}
		return false
	case *wamp.Abort:
		s.drop(l, &CloseError{Reason: m.Reason, Details: m.Details}, nil)
		return false
	}
	s.protocolViolation(l, fmt.Sprintf("a client cannot receive %s", m.Type()))
	return false
}

// protocolViolation aborts the WAMP session because the router broke the
// protocol.
func (s *Session) protocolViolation(l *link, message string) {
	l.log.Warn("protocol violation by the router", "message", message)
	details := wamp.Dict{"message": message}
	s.drop(l, &CloseError{Reason: wamp.ErrProtocolViolation, Details: details},
		&wamp.Abort{Details: details, Reason: wamp.ErrProtocolViolation})
}

// answer delivers the answer m to the pending request id of l. An answer
// to an unknown request (one whose caller gave up) is dropped; an answer
// of the wrong kind is a protocol violation.
func (s *Session) answer(l *link, id wamp.ID, m wamp.Message) bool {
	s.mu.Lock()
	req, ok := l.pending[id]
	if !ok {
		s.mu.Unlock()
		l.log.Debug("answer to an unknown request dropped", "type", m.Type().String(), "request", uint64(id))
		return true
	}
	errMsg, isErr := m.(*wamp.ErrorMessage)
	if (isErr && errMsg.RequestType != req.typ) || (!isErr && m.Type() != answerType[req.typ]) {
		s.mu.Unlock()
		got := m.Type().String()
		if isErr {
			got = "ERROR for " + errMsg.RequestType.String()
		}
		s.protocolViolation(l, fmt.Sprintf("%s answers request %d, a %s", got, id, req.typ))
		return false
	}
	if r, ok := m.(*wamp.Result); ok {
		if progress, _ := r.Details["progress"].(bool); progress {
			// A progressive result: the call goes on.
			if req.progress != nil {
				req.progress(r)
			} else {
				l.log.Debug("progressive result of a call that did not ask for it dropped", "request", uint64(id))
			}
			s.mu.Unlock()
			return true
		}
	}
	delete(l.pending, id)
	if req.settle != nil {
		req.settle(l, m, req.abandoned)
	}
	s.mu.Unlock()
	if req.done != nil {
		req.done(m, nil)
	} else {
		req.reply <- m
	}
	return true
}

// roundTrip sends the request that build makes for its ID on the current
// WAMP session and waits for its answer; see start and wait.
func (s *Session) roundTrip(ctx context.Context, req *request, build func(id wamp.ID) wamp.Message) (wamp.Message, error) {
	l, err := s.startOn(ctx, nil, req, build)
	if err != nil {
		return nil, err
	}
	return s.wait(ctx, l, req)
}

// start sends the request that build makes for its ID on l; see startOn.
func (s *Session) start(ctx context.Context, l *link, req *request, build func(id wamp.ID) wamp.Message) error {
	_, err := s.startOn(ctx, l, req, build)
	return err
}

// startOn sends a request on l, or on the current WAMP session when l is
// nil, and returns the link it went on. build makes the message for the
// request's ID; it runs under s.mu, so it may read state that s.mu guards.
// When the request cannot be sent, its settle runs with nil.
func (s *Session) startOn(ctx context.Context, l *link, req *request, build func(id wamp.ID) wamp.Message) (*link, error) {
	if req.done == nil {
		req.reply = make(chan wamp.Message, 1)
	}
	s.mu.Lock()
	var err error
	switch {
	case l == nil:
		l, err = s.usableLocked()
	case l.ended:
		err = l.reqErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if req.settle != nil {
			req.settle(l, nil, false)
		}
		s.mu.Unlock()
		return nil, err
	}
	req.id = l.ids.Next()
	m := build(req.id)
	l.pending[req.id] = req
	s.mu.Unlock()
	s.takeOver(l) // a handler that makes a request must not wait for itself

	if err := s.sendOn(l, m); err != nil {
		s.forget(l, req.id)
		return nil, err
	}
	return l, nil
}

// wait waits for the answer to req, sent on l. An ERROR answer becomes a
// *wamp.Error. When ctx ends first, the request is abandoned: a CALL or
// PUBLISH is forgotten (a late answer is dropped); the others stay pending
// so that their answer still updates the session's state. When l ends
// first, the error tells why.
func (s *Session) wait(ctx context.Context, l *link, req *request) (wamp.Message, error) {
	select {
	case a := <-req.reply:
		return answerOrError(a)
	case <-ctx.Done():
		s.abandon(l, req.id)
		return nil, ctx.Err()
	case <-l.done:
		select {
		case a := <-req.reply:
			return answerOrError(a)
		default:
			s.mu.Lock()
			defer s.mu.Unlock()
			return nil, l.reqErr
		}
	}
}

func answerOrError(a wamp.Message) (wamp.Message, error) {
	if e, ok := a.(*wamp.ErrorMessage); ok {
		return nil, &wamp.Error{URI: e.Error, Args: e.Args, Kwargs: e.Kwargs}
	}
	return a, nil
}

// forget removes a request of l that will get no answer.
func (s *Session) forget(l *link, id wamp.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req, ok := l.pending[id]; ok {
		delete(l.pending, id)
		if req.settle != nil {
			req.settle(l, nil, false)
		}
	}
}

// abandon handles a request of l whose caller stopped waiting.
func (s *Session) abandon(l *link, id wamp.ID) {
	s.mu.Lock()
	req, ok := l.pending[id]
	if ok && req.settle == nil {
		delete(l.pending, id)
	} else if ok {
		req.abandoned = true
	}
	s.mu.Unlock()
}

// sendAsync sends m on l from a new goroutine, for messages the read loop
// must not wait for; an error only means that l is ending.
func (s *Session) sendAsync(l *link, m wamp.Message) {
	go func() {
		if err := l.send(m); err != nil {
			l.log.Debug("send failed", "type", m.Type().String(), "error", err)
		}
	}()
}
