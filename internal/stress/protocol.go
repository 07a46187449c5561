package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// badMessages lists malformed messages a client may send after WELCOME,
// each with a name: bad IDs in every message with a request ID, missing
// and extra fields, wrong types, router-only messages, invalid UTF-8.
func badMessages() (names []string, msgs [][]any) {
	add := func(name string, l ...any) { names = append(names, name); msgs = append(msgs, l) }
	badIDs := []struct {
		name string
		v    any
	}{{"0", 0}, {"-1", -1}, {"2^53+1", int64(1)<<53 + 1}, {"1.5", 1.5}, {`"7"`, "7"}}
	// Each client message with a request ID, as a function of the ID.
	withID := []struct {
		name string
		f    func(id any) []any
	}{
		{"CALL", func(id any) []any { return []any{48, id, map[string]any{}, "stress.p"} }},
		{"REGISTER", func(id any) []any { return []any{64, id, map[string]any{}, "stress.p"} }},
		{"SUBSCRIBE", func(id any) []any { return []any{32, id, map[string]any{}, "stress.t"} }},
		{"PUBLISH", func(id any) []any { return []any{16, id, map[string]any{}, "stress.t"} }},
		{"UNSUBSCRIBE", func(id any) []any { return []any{34, id, 1} }},
		{"UNREGISTER", func(id any) []any { return []any{66, id, 1} }},
		{"YIELD", func(id any) []any { return []any{70, id, map[string]any{}} }},
		{"CANCEL", func(id any) []any { return []any{49, id, map[string]any{}} }},
		{"ERROR", func(id any) []any { return []any{8, 68, id, map[string]any{}, "stress.e"} }},
	}
	for _, m := range withID {
		for _, id := range badIDs {
			add(m.name+" id "+id.name, m.f(id.v)...)
		}
		full := m.f(1)
		add(m.name+" missing field", full[:len(full)-1]...)
	}
	add("UNSUBSCRIBE bad subscription id 1.5", 34, 1, 1.5)
	add("UNREGISTER bad registration id -1", 66, 1, -1)
	add("CALL extra field", 48, 1, map[string]any{}, "stress.p", []any{}, map[string]any{}, "extra")
	add("PUBLISH extra field", 16, 1, map[string]any{}, "stress.t", []any{}, map[string]any{}, 7)
	add("CALL options a list", 48, 1, []any{}, "stress.p")
	add("CALL procedure a number", 48, 1, map[string]any{}, 42)
	add("CALL args a dict", 48, 1, map[string]any{}, "stress.p", map[string]any{})
	add("SUBSCRIBE topic a list", 32, 1, map[string]any{}, []any{"a"})
	add("REGISTER options a string", 64, 1, "x", "stress.p")
	add("PUBLISH kwargs a list", 16, 1, map[string]any{}, "stress.t", []any{}, []any{})
	add("CALL invalid UTF-8 URI", 48, 1, map[string]any{}, "stress.\xff\xfe")
	add("REGISTER invalid UTF-8 URI", 64, 1, map[string]any{}, "stress.\xc3\x28")
	add("SUBSCRIBE invalid UTF-8 URI", 32, 1, map[string]any{}, "stress.\xed\xa0\x80")
	add("PUBLISH invalid UTF-8 URI", 16, 1, map[string]any{"acknowledge": true}, "\xff")
	add("router-only WELCOME", 2, 1, map[string]any{})
	add("router-only CHALLENGE", 4, "ticket", map[string]any{})
	add("router-only PUBLISHED", 17, 1, 1)
	add("router-only SUBSCRIBED", 33, 1, 1)
	add("router-only UNSUBSCRIBED", 35, 1)
	add("router-only EVENT", 36, 1, 1, map[string]any{})
	add("router-only RESULT", 50, 1, map[string]any{})
	add("router-only REGISTERED", 65, 1, 1)
	add("router-only UNREGISTERED", 67, 1)
	add("router-only INVOCATION", 68, 1, 1, map[string]any{})
	add("router-only INTERRUPT", 69, 1, map[string]any{})
	add("second HELLO", 1, realm, map[string]any{"roles": map[string]any{"caller": map[string]any{}}})
	add("unknown type 999", 999, 1)
	add("type a string", "48", 1, map[string]any{}, "stress.p")
	add("empty list")
	return names, msgs
}

// Case 4: every malformed message gets ERROR or ABORT, over WebSocket and
// long-poll, with JSON and MessagePack; each on a fresh session.
func caseBadMessages(e *env) []row {
	names, msgs := badMessages()
	var rows []row
	for _, over := range []struct {
		name string
		send func(ctx context.Context, e *env, ser string, l []any) (wamp.Message, error)
	}{{"", badOverWS}, {"long-poll ", badOverLP}} {
		for _, ser := range []string{"json", "msgpack"} {
			var mu sync.Mutex
			var wrong []string
			var aborts, errs atomic.Int64
			parallel(len(msgs), 16, func(i int) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				m, err := over.send(ctx, e, ser, msgs[i])
				switch {
				case err != nil:
					err = fmt.Errorf("no ERROR or ABORT: %s", closeReason(err))
				case m.Type() == wamp.TypeAbort:
					if r := m.(*wamp.Abort).Reason; r != wamp.ErrProtocolViolation {
						err = fmt.Errorf("ABORT %s", r)
					} else {
						aborts.Add(1)
					}
				case m.Type() == wamp.TypeError:
					errs.Add(1)
				default:
					err = fmt.Errorf("answered %v", wamp.ToList(m))
				}
				if err != nil {
					mu.Lock()
					wrong = append(wrong, names[i]+": "+err.Error())
					mu.Unlock()
				}
			})
			fig := fmt.Sprintf("%s%s: %d bad messages, %d ABORT protocol_violation, %d ERROR, %d wrong", over.name, ser, len(msgs), aborts.Load(), errs.Load(), len(wrong))
			if len(wrong) > 0 {
				fig += fmt.Sprintf(" %q", wrong)
			}
			rows = append(rows, check(fig, "100% ERROR or ABORT", len(wrong) == 0))
		}
	}
	return rows
}

// badOverWS joins over WebSocket, sends l and reads the answer.
func badOverWS(ctx context.Context, e *env, ser string, l []any) (wamp.Message, error) {
	c, err := dialWS(ctx, e.r.wsURL(), ser)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if _, err = c.join(ctx); err != nil {
		return nil, err
	}
	if err = c.sendList(ctx, l); err != nil {
		return nil, err
	}
	return c.recv(3 * time.Second)
}

// badOverLP joins over an unbatched long-poll transport, posts l as the
// body of a send and polls for the answer.
func badOverLP(ctx context.Context, e *env, ser string, l []any) (wamp.Message, error) {
	cd, _ := codec.ByName(ser)
	base := e.r.lpURL()
	id, st, err := lpOpen(e.hc, base, codec.Subprotocol(cd, false), "")
	if err != nil || id == "" {
		return nil, fmt.Errorf("long-poll open: HTTP %d %v", st, err)
	}
	defer lpPost(e.hc, base, id, "close", nil, "")
	if err := lpJoin(e.hc, base, id, cd); err != nil {
		return nil, err
	}
	b, err := encodeAny(ser, l)
	if err != nil {
		return nil, err
	}
	// A body that does not decode is refused with 400 as well; the
	// session still gets its answer.
	if st, body, err := lpPost(e.hc, base, id, "send", b, ""); err != nil || (st != http.StatusNoContent && st != http.StatusBadRequest) {
		return nil, fmt.Errorf("send: HTTP %d %q %v", st, body, err)
	}
	for ctx.Err() == nil {
		st, body, err := lpPost(e.hc, base, id, "receive", nil, "")
		switch {
		case err != nil:
			return nil, err
		case st == http.StatusOK:
			return cd.Decode(body)
		case st != http.StatusNoContent:
			return nil, fmt.Errorf("receive: HTTP %d %q", st, body)
		}
	}
	return nil, ctx.Err()
}

// msgConn is a session's connection that this suite drives message by
// message: a raw WebSocket (rawWS) or a long-poll transport (lpConn).
type msgConn interface {
	send(ctx context.Context, m wamp.Message) error
	recv(d time.Duration) (wamp.Message, error)
	join(ctx context.Context) (wamp.ID, error)
	close()
}

// dialer opens a msgConn with serializer ser.
type dialer func(ctx context.Context, ser string) (msgConn, error)

// wsDialer and lpDialer open the router's WebSocket and (batched)
// long-poll transports; lpDialer's requests go through hc.
func wsDialer(e *env) dialer {
	return func(ctx context.Context, ser string) (msgConn, error) {
		c, err := dialWS(ctx, e.r.wsURL(), ser)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

func lpDialer(e *env, hc *http.Client) dialer {
	return func(ctx context.Context, ser string) (msgConn, error) {
		c, err := dialLP(ctx, hc, e.r.lpURL(), ser)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// lpConn is a batched long-poll transport opened with transport/longpoll's
// client. A goroutine reads it, so that recv can give up after a while.
type lpConn struct {
	p    transport.Peer
	in   chan wamp.Message
	err  error         // what ended the reading; set before done is closed
	done chan struct{} // closed once the reading ended
	stop chan struct{} // closed by close
}

// dialLP opens a batched long-poll transport with serializer ser.
func dialLP(ctx context.Context, hc *http.Client, base, ser string) (*lpConn, error) {
	cd, ok := codec.ByName(ser)
	if !ok {
		return nil, fmt.Errorf("no codec %q", ser)
	}
	p, err := longpoll.Dial(ctx, base, &longpoll.DialOptions{HTTPClient: hc, Protocols: []string{codec.Subprotocol(cd, true)}})
	if err != nil {
		return nil, err
	}
	c := &lpConn{p: p, in: make(chan wamp.Message, 64), done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := p.Recv()
			if err != nil {
				c.err = err
				return
			}
			select {
			case c.in <- m:
			case <-c.stop:
				c.err = transport.ErrClosed
				return
			}
		}
	}()
	return c, nil
}

func (c *lpConn) send(_ context.Context, m wamp.Message) error { return c.p.Send(m) }

// recv returns the next message within d.
func (c *lpConn) recv(d time.Duration) (wamp.Message, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		// What was read before the end comes first.
		select {
		case m := <-c.in:
			return m, nil
		default:
			return nil, c.err
		}
	case <-t.C:
		return nil, context.DeadlineExceeded
	}
}

// join sends HELLO and waits for WELCOME.
func (c *lpConn) join(ctx context.Context) (wamp.ID, error) { return joinRealm(ctx, c) }

func (c *lpConn) close() {
	close(c.stop)
	c.p.Close()
	<-c.done
}

// Case 5: duplicate request IDs, YIELDs for unknown invocations and YIELDs
// from a session that is not the callee: no result reaches the wrong
// caller. Over WebSocket, then over long-poll.
func caseForgedIDs(e *env) []row {
	return append(forgedIDs(e, "", wsDialer(e)), forgedIDs(e, "long-poll: ", lpDialer(e, e.hc))...)
}

// forgedIDs runs case 5 over the transport that dial opens; over names it
// in the figures.
func forgedIDs(e *env, over string, dial dialer) []row {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rounds := e.n(200, 50)
	callee, err := dial(ctx, "json")
	if err != nil {
		return []row{errRow("callee", err)}
	}
	defer callee.close()
	caller, err := dial(ctx, "msgpack")
	if err != nil {
		return []row{errRow("caller", err)}
	}
	defer caller.close()
	forger, err := dial(ctx, "json")
	if err != nil {
		return []row{errRow("forger", err)}
	}
	defer forger.close()
	for _, c := range []msgConn{callee, caller, forger} {
		if _, err := c.join(ctx); err != nil {
			return []row{errRow("join", err)}
		}
	}
	callee.send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.forged"})
	if m, err := callee.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeRegistered {
		return []row{errRow("register", fmt.Errorf("%v %v", m, err))}
	}
	var wrongDeliveries, answered int
	var problems []string
	forgerSaw := 0
	for i := range rounds {
		req := wamp.ID(i + 1)
		caller.send(ctx, &wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "stress.forged", Args: wamp.List{fmt.Sprint("call ", i)}})
		var invs []*wamp.Invocation
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) && len(invs) < 1 {
			m, err := callee.recv(time.Until(deadline))
			if err != nil {
				break
			}
			if inv, ok := m.(*wamp.Invocation); ok {
				invs = append(invs, inv)
			}
		}
		if len(invs) == 0 {
			problems = append(problems, fmt.Sprintf("round %d: no INVOCATION", i))
			break
		}
		for _, inv := range invs {
			// The forger yields for the real invocation, and for unknown
			// ones; so does the callee for unknown ones.
			forger.send(ctx, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: wamp.List{"forged"}})
			forger.send(ctx, &wamp.Yield{Request: inv.Request + 1000000, Options: wamp.Dict{}, Args: wamp.List{"forged"}})
			callee.send(ctx, &wamp.Yield{Request: inv.Request + 2000000, Options: wamp.Dict{}, Args: wamp.List{"forged"}})
			callee.send(ctx, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: inv.Args})
		}
		// Read what the caller gets for this round.
		deadline = time.Now().Add(300 * time.Millisecond)
		got := 0
		for time.Now().Before(deadline) {
			m, err := caller.recv(time.Until(deadline))
			if err != nil {
				break
			}
			switch m := m.(type) {
			case *wamp.Result:
				got++
				if len(m.Args) != 1 || m.Args[0] != fmt.Sprint("call ", i) || m.Request != req {
					wrongDeliveries++
					problems = append(problems, fmt.Sprintf("round %d: caller got %v", i, wamp.ToList(m)))
				}
			case *wamp.ErrorMessage:
				got++
			case *wamp.Abort, *wamp.Goodbye:
				problems = append(problems, fmt.Sprintf("round %d: caller closed: %v", i, wamp.ToList(m)))
			}
			if got == 1 {
				break
			}
		}
		answered += got
		// Drain what the forger was told; nothing of the caller's may
		// reach it.
		for {
			m, err := forger.recv(5 * time.Millisecond)
			if err != nil {
				break
			}
			forgerSaw++
			if r, ok := m.(*wamp.Result); ok {
				wrongDeliveries++
				problems = append(problems, fmt.Sprintf("round %d: forger got %v", i, wamp.ToList(r)))
			}
		}
	}
	// The same request ID twice while the first is pending, on a caller
	// of its own: the router must refuse the second, never answer it with
	// the first's result.
	dup := "no answer"
	if c, err := dial(ctx, "json"); err == nil {
		if _, err := c.join(ctx); err == nil {
			c.send(ctx, &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "stress.forged", Args: wamp.List{"first"}})
			c.send(ctx, &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "stress.forged", Args: wamp.List{"second"}})
			if m, err := c.recv(2 * time.Second); err == nil {
				dup = fmt.Sprint(wamp.ToList(m)[:3])
				if _, ok := m.(*wamp.Result); ok {
					wrongDeliveries++
				}
			}
		}
		c.close()
	}
	if len(problems) > 3 {
		problems = problems[:3]
	}
	return []row{
		check(fmt.Sprintf(over+"%d rounds of forged YIELDs (from another session, for unknown ids): %d right answers to the caller, %d wrong deliveries, forger was told %d things %q",
			rounds, answered, wrongDeliveries, forgerSaw, problems), "0 wrong deliveries", wrongDeliveries == 0 && answered == rounds),
		check(over+"duplicate CALL request id while pending: answered "+dup, "refused (ABORT or ERROR)", strings.HasPrefix(dup, "[3 ") || strings.HasPrefix(dup, "[8 ")),
	}
}
