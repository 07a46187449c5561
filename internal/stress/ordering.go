package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// asInt reads an integer that a decoder may have made int64, uint64 or
// float64.
func asInt(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return -1
}

// seqCheck counts order violations of sequences keyed by sender.
type seqCheck struct {
	mu         sync.Mutex
	next       map[int64]int64
	violations int
	seen       int
}

func (s *seqCheck) see(args wamp.List) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		s.next = map[int64]int64{}
	}
	s.seen++
	if len(args) != 2 {
		s.violations++
		return
	}
	k, seq := asInt(args[0]), asInt(args[1])
	if seq != s.next[k] {
		s.violations++
	}
	s.next[k] = seq + 1
}

// Case 13: 10 publishers x 10,000 events and 10 callers x 10,000 calls at
// once, with sequence numbers: 0 order violations per pair. Over
// WebSocket, then over long-poll.
func caseOrdering(e *env) []row {
	per := e.n(10000, 1000)
	return []row{ordering(e, "WebSocket", per, wsDialer(e)), ordering(e, "long-poll", per, lpDialer(e, e.hc))}
}

// ordering runs case 13 over the transport that dial opens; over names it
// in the figure.
func ordering(e *env, over string, per int, dial dialer) row {
	const pubs, subs, callers = 10, 2, 10
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var all []msgConn
	defer func() {
		for _, c := range all {
			c.close()
		}
	}()
	open := func(n, off int) ([]msgConn, error) {
		var cs []msgConn
		for i := range n {
			c, err := dial(ctx, []string{"json", "msgpack"}[(i+off)%2])
			if err != nil {
				return nil, err
			}
			cs, all = append(cs, c), append(all, c)
			if _, err := c.join(ctx); err != nil {
				return nil, err
			}
		}
		return cs, nil
	}
	subscribers, err := open(subs, 0)
	if err != nil {
		return errRow(over+" subscriber", err)
	}
	callees, err := open(1, 0)
	if err != nil {
		return errRow(over+" callee", err)
	}
	publishers, err := open(pubs, 0)
	if err != nil {
		return errRow(over+" publisher", err)
	}
	callerConns, err := open(callers, 1)
	if err != nil {
		return errRow(over+" caller", err)
	}
	for _, s := range subscribers {
		s.send(ctx, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "stress.order"})
		if m, err := s.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeSubscribed {
			return errRow(over+" subscribe", fmt.Errorf("%v", err))
		}
	}
	callee := callees[0]
	callee.send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.order"})
	if m, err := callee.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeRegistered {
		return errRow(over+" register", fmt.Errorf("%v", err))
	}
	var events seqCheck
	perSub := make([]seqCheck, subs)
	var invocations, results seqCheck
	var failures atomic.Int64
	var firstFail atomic.Value
	fail := func(err error) { failures.Add(1); firstFail.CompareAndSwap(nil, err) }
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range subscribers {
		wg.Go(func() {
			for n := 0; n < pubs*per; n++ {
				m, err := s.recv(20 * time.Second)
				if err != nil {
					fail(fmt.Errorf("subscriber %d after %d events: %s", i, n, closeReason(err)))
					return
				}
				if ev, ok := m.(*wamp.Event); ok {
					perSub[i].see(ev.Args)
				}
			}
		})
	}
	wg.Go(func() { // the callee answers in the order it is asked
		for n := 0; n < callers*per; n++ {
			m, err := callee.recv(20 * time.Second)
			if err != nil {
				fail(fmt.Errorf("callee after %d invocations: %s", n, closeReason(err)))
				return
			}
			if inv, ok := m.(*wamp.Invocation); ok {
				invocations.see(inv.Args)
				callee.send(ctx, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: inv.Args})
			}
		}
	})
	run := func(c msgConn, n int, mk func(seq int) wamp.Message, answer wamp.MessageType, onAnswer func(wamp.Message)) {
		counts, err := pipeline(ctx, c, n, n, 100, mk, onAnswer)
		if err != nil {
			fail(err)
		} else if counts[answer] != n {
			fail(fmt.Errorf("%d of %d answers were %v", counts[answer], n, answer))
		}
	}
	for p, c := range publishers {
		wg.Go(func() {
			run(c, per, func(seq int) wamp.Message {
				return &wamp.Publish{Request: wamp.ID(seq + 1), Options: wamp.Dict{"acknowledge": true}, Topic: "stress.order", Args: wamp.List{int64(p), int64(seq)}}
			}, wamp.TypePublished, nil)
		})
	}
	for k, c := range callerConns {
		wg.Go(func() {
			run(c, per, func(seq int) wamp.Message {
				return &wamp.Call{Request: wamp.ID(seq + 1), Options: wamp.Dict{}, Procedure: "stress.order", Args: wamp.List{int64(k), int64(seq)}}
			}, wamp.TypeResult, func(m wamp.Message) {
				if r, ok := m.(*wamp.Result); ok {
					results.see(r.Args)
				}
			})
		})
	}
	wg.Wait()
	took := time.Since(start)
	for i := range perSub {
		events.violations += perSub[i].violations
		events.seen += perSub[i].seen
	}
	fig := fmt.Sprintf("%s: %d events seen by %d subscribers, %d invocations, %d results in %v: %d/%d/%d order violations",
		over, events.seen, subs, invocations.seen, results.seen, took.Round(time.Millisecond), events.violations, invocations.violations, results.violations)
	if v := firstFail.Load(); v != nil {
		fig += fmt.Sprintf("; %d failures, first: %v", failures.Load(), v)
	}
	return check(fig, "0 violations, all delivered",
		failures.Load() == 0 && events.violations+invocations.violations+results.violations == 0 &&
			events.seen == subs*pubs*per && invocations.seen == callers*per && results.seen == callers*per)
}
