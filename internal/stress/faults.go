package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// Case 6: connections that upgrade and never send HELLO.
func caseIdle(e *env) []row {
	n := e.n(10000, 1000)
	before, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	// The router closes each at its HELLO deadline, counted from its
	// upgrade: each is read from its dial on, to time its close.
	var early, late, dialErrs atomic.Int64
	var latest durations
	var wg sync.WaitGroup
	achieved := attack(n, 32, rateIdle, func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := dialWS(ctx, e.r.wsURL(), "json")
		if err != nil {
			dialErrs.Add(1)
			return
		}
		opened := time.Now()
		wg.Go(func() {
			defer c.close()
			ctx, cancel := context.WithTimeout(context.Background(), limits.helloTimeout+5*time.Second)
			defer cancel()
			_, _, err := c.c.Read(ctx)
			at := time.Since(opened)
			switch {
			case err == nil || ctx.Err() != nil:
				late.Add(1)
			case at < limits.helloTimeout-500*time.Millisecond:
				early.Add(1)
			default:
				latest.add(at)
			}
		})
	})
	peak, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	wg.Wait()
	// The router drops a connection up to a second after its close frame
	// when the close handshake does not finish (closeTimeout): the last
	// ones may still be on their way out.
	// Live heap back too: within 10% or 2 MiB, whichever is more (a
	// dropped connection that stayed reachable kept ~5 KiB for good).
	liveSlack := max(before.live/10, 2<<20)
	back := func(s stats) bool {
		return s.fds <= before.fds+2 && s.goroutines <= before.goroutines+2 && s.live <= before.live+liveSlack
	}
	after, settled, err := e.r.settle(back, 250*time.Millisecond, 3*time.Second)
	if err != nil {
		return []row{errRow("stats", err)}
	}
	// The router's admission paces connections that prove nothing: the
	// flood comes in at its rate, and only those of the last HELLO
	// timeout are open at the end of the flood. A connection's memory is
	// what their closing gave back, per connection.
	open := max(peak.fds-after.fds, 1)
	// (Not RSS: the heap floor lets garbage stand, and Go gives memory
	// back to the system late, so RSS moves with neither.)
	perConn := float64(int64(peak.mem())-int64(after.mem())) / float64(open) / 1024
	return []row{
		check(fmt.Sprintf("%d idle connections (offered at %d/s, let in at %.0f/s; %d dial errors): %d closed early, %d not closed, latest close at %v", n, rateIdle, achieved, dialErrs.Load(), early.Load(), late.Load(), latest.max().Round(10*time.Millisecond)),
			fmt.Sprintf("each closed at the HELLO deadline (%v, +1s)", limits.helloTimeout),
			dialErrs.Load() == 0 && early.Load() == 0 && late.Load() == 0 && latest.max() <= limits.helloTimeout+time.Second),
		check(fmt.Sprintf("%.1f KiB heap+stacks per connection, %d open at the flood's end; after (settled %v): fds %d -> %d, goroutines %d -> %d, live heap %.1f -> %.1f MiB",
			perConn, open, settled.Round(10*time.Millisecond), before.fds, after.fds, before.goroutines, after.goroutines, float64(before.live)/(1<<20), float64(after.live)/(1<<20)),
			"< 64 KiB per connection; fds, goroutines and live heap (+10%, 2 MiB) back within 3s", perConn < 64 && back(after)),
	}
}

// pipeline sends n messages made by mk on c, at most window unanswered,
// and counts the first expect answers by type. on, when not nil, sees
// every answer.
func pipeline(ctx context.Context, c msgConn, n, expect, window int, mk func(i int) wamp.Message, on func(wamp.Message)) (map[wamp.MessageType]int, error) {
	counts := map[wamp.MessageType]int{}
	sem := make(chan struct{}, window)
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
			if err := c.send(ctx, mk(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for got := 0; got < expect; got++ {
		m, err := c.recv(10 * time.Second)
		if err != nil {
			return counts, fmt.Errorf("after %d answers: %s", got, closeReason(err))
		}
		counts[m.Type()]++
		if on != nil {
			on(m)
		}
		<-sem
	}
	return counts, <-errc
}

// Case 7: per-session caps: 100,000 SUBSCRIBEs, REGISTERs and CALLs from
// one session each.
func caseCaps(e *env) []row {
	n := e.n(100000, 10000)
	var rows []row
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// A callee that never answers holds the calls pending.
	callee, err := dialWS(ctx, e.r.wsURL(), "msgpack")
	if err != nil {
		return []row{errRow("callee", err)}
	}
	defer callee.close()
	if _, err := callee.join(ctx); err != nil {
		return []row{errRow("callee", err)}
	}
	callee.send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.caps.hold"})
	if m, err := callee.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeRegistered {
		return []row{errRow("register", fmt.Errorf("%v", err))}
	}
	go func() { // read INVOCATIONs and never answer
		for {
			if _, err := callee.recv(time.Minute); err != nil {
				return
			}
		}
	}()
	for _, kind := range []string{"SUBSCRIBE", "REGISTER", "CALL"} {
		before, err := e.r.stats()
		if err != nil {
			return append(rows, errRow("stats", err))
		}
		c, err := dialWS(ctx, e.r.wsURL(), "msgpack")
		if err != nil {
			return append(rows, errRow(kind, err))
		}
		if _, err := c.join(ctx); err != nil {
			return append(rows, errRow(kind, err))
		}
		expect := n
		if kind == "CALL" {
			expect = n - limits.maxPending // the rest stay pending
		}
		capOf := map[string]int{"SUBSCRIBE": limits.maxSubscriptions, "REGISTER": limits.maxSubscriptions, "CALL": limits.maxPending}[kind]
		counts, err := pipeline(ctx, c, n, expect, 500, func(i int) wamp.Message {
			id := wamp.ID(i + 1)
			switch kind {
			case "SUBSCRIBE":
				return &wamp.Subscribe{Request: id, Options: wamp.Dict{}, Topic: wamp.URI(fmt.Sprintf("stress.caps.t%d", i))}
			case "REGISTER":
				return &wamp.Register{Request: id, Options: wamp.Dict{}, Procedure: wamp.URI(fmt.Sprintf("stress.caps.p%d", i))}
			}
			return &wamp.Call{Request: id, Options: wamp.Dict{}, Procedure: "stress.caps.hold"}
		}, nil)
		during, serr := e.r.stats()
		c.close()
		if serr != nil {
			return append(rows, errRow("stats", serr))
		}
		growth := int64(during.mem()) - int64(before.mem())
		fig := fmt.Sprintf("%d %s from one session: %d accepted, %d ERROR; router +%s", n, kind,
			counts[wamp.TypeSubscribed]+counts[wamp.TypeRegistered]+counts[wamp.TypeResult], counts[wamp.TypeError], mib(growth))
		limit := "ERROR past the cap, memory bounded (< 16 MiB)"
		pass := growth < 16<<20
		pass = pass && counts[wamp.TypeError] == n-capOf
		limit = fmt.Sprintf("ERROR past the cap (%d), memory bounded (< 16 MiB)", capOf)
		if err != nil {
			fig += "; " + err.Error()
			pass = false
		}
		rows = append(rows, check(fig, limit, pass))
	}
	return rows
}

// Case 8: a callee reset (TCP RST) with 500 calls in flight.
func caseCalleeReset(e *env) []row {
	const inFlight = 500
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	time.Sleep(300 * time.Millisecond)
	before, err := e.r.stats()
	if err != nil {
		return []row{errRow("stats", err)}
	}
	callee, err := dialWS(ctx, e.r.wsURL(), "json")
	if err != nil {
		return []row{errRow("callee", err)}
	}
	if _, err := callee.join(ctx); err != nil {
		return []row{errRow("callee", err)}
	}
	callee.send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "stress.reset"})
	if m, err := callee.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeRegistered {
		return []row{errRow("register", fmt.Errorf("%v", err))}
	}
	// 10 callers x 50 calls: each caller is under MaxPendingCalls.
	var callers []*client.Session
	defer func() {
		lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer lcancel()
		for _, s := range callers {
			s.Leave(lctx)
		}
	}()
	for i := range 10 {
		cfg := &client.Config{}
		if i%2 == 1 {
			cfg.Serializer = "msgpack"
		}
		s, err := client.Join(ctx, e.r.wsURL(), realm, cfg)
		if err != nil {
			return []row{errRow("caller", err)}
		}
		callers = append(callers, s)
	}
	var answered durations
	var wrong atomic.Int64
	var killedAt atomic.Int64
	var wg sync.WaitGroup
	for i := range inFlight {
		s := callers[i%len(callers)]
		wg.Go(func() {
			_, err := s.Call(ctx, "stress.reset", wamp.List{i}, nil)
			d := time.Duration(time.Now().UnixNano() - killedAt.Load())
			if _, ok := errors.AsType[*wamp.Error](err); !ok {
				wrong.Add(1)
				return
			}
			answered.add(d)
		})
	}
	got := 0
	for got < inFlight {
		m, err := callee.recv(5 * time.Second)
		if err != nil {
			break
		}
		if m.Type() == wamp.TypeInvocation {
			got++
		}
	}
	killedAt.Store(time.Now().UnixNano())
	callee.resetTCP()
	wg.Wait()
	// Let the callers leave, then count.
	lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
	for _, s := range callers {
		s.Leave(lctx)
	}
	lcancel()
	callers = nil
	// Sessions end on their own goroutines, and the control group's
	// long-poll requests come and go: the count may take a moment to fall
	// back on a busy machine. A leak never does.
	var after stats
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		if after, err = e.r.stats(); err != nil || after.goroutines <= before.goroutines {
			break
		}
	}
	if err != nil {
		return []row{errRow("stats", err)}
	}
	n := len(answered.d)
	return []row{
		check(fmt.Sprintf("%d invocations in flight at the reset: %d ERRORs to callers, %d other outcomes, last %v after the reset", got, n, wrong.Load(), answered.max().Round(time.Millisecond)),
			"500 ERRORs within 1s", got == inFlight && n == inFlight && answered.max() <= time.Second),
		check(fmt.Sprintf("router goroutines %d before, %d after; fds %d -> %d", before.goroutines, after.goroutines, before.fds, after.fds),
			"no goroutine leak", after.goroutines <= before.goroutines),
	}
}

// Case 10: a subscriber that stops reading while 10 MB of events are
// published to it. The flood runs twice: once as it comes, which the
// control group judges, then with the router's memory read every 25
// events, all of it aside (each reading forces two collections in the
// router, which wampd never does).
func caseSlowSubscriber(e *env) []row {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	judged := slowFlood(ctx, e, nil)
	if judged.err != nil {
		return []row{errRow("flood", judged.err)}
	}
	// The slow consumer's reason is in the router's log (and metrics):
	// its socket is what overflowed, so nothing more reaches it.
	logged := strings.Contains(e.r.log.String(), "slow consumer")
	var growth int64
	var measured flood
	e.r.aside(func() {
		before, err := e.r.readStats()
		if err != nil {
			measured.err = err
			return
		}
		var peak uint64
		measured = slowFlood(ctx, e, func() {
			if s, err := e.r.readStats(); err == nil {
				peak = max(peak, s.live+s.stacks)
			}
		})
		// Live objects, not the heap's spans: what the queue budget bounds
		// is what the router holds, not how the allocator's pages are
		// packed.
		growth = int64(peak) - int64(before.live+before.stacks)
	})
	if measured.err != nil {
		return []row{errRow("flood with memory readings", measured.err)}
	}
	return []row{
		check(fmt.Sprintf("subscriber got %d of %d events of 10 KiB, then %s; router logged the slow consumer: %v", judged.events, floodEvents, judged.reason, logged),
			"disconnected, reason logged", judged.events < floodEvents && judged.reason != "" && logged),
		check(fmt.Sprintf("publisher: %d errors, slowest acknowledged publish %v", judged.pubErrs, judged.slowest.Round(time.Millisecond)),
			"0 errors, < 1s", judged.pubErrs == 0 && judged.slowest < time.Second),
		check(fmt.Sprintf("router live heap+stacks peak growth %s (a second flood, its memory read every 25 events; subscriber got %d events, then %s)", mib(growth), measured.events, measured.reason),
			fmt.Sprintf("<= 3 x MaxQueuedBytes (%s)", mib(3*int64(limits.maxQueued))), growth <= 3*int64(limits.maxQueued)),
	}
}

// floodEvents is how many events of 10 KiB a flood of case 10 publishes.
const floodEvents = 1000

// flood is what one flood of case 10 saw.
type flood struct {
	events  int           // events the subscriber read before the end
	reason  string        // how its session ended
	pubErrs int           // publishes not acknowledged
	slowest time.Duration // the slowest acknowledged publish
	err     error         // the flood could not be run
}

// slowFlood subscribes a session that does not read, publishes
// floodEvents events of 10 KiB to it, acknowledged, calling probe (if not
// nil) every 25 events, then reads what the subscriber got and how its
// session ended.
func slowFlood(ctx context.Context, e *env, probe func()) flood {
	var f flood
	sub, err := dialWS(ctx, e.r.wsURL(), "json")
	if err != nil {
		return flood{err: fmt.Errorf("subscriber: %w", err)}
	}
	defer sub.close()
	if _, err := sub.join(ctx); err != nil {
		return flood{err: fmt.Errorf("subscriber: %w", err)}
	}
	sub.send(ctx, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "stress.slow"})
	if m, err := sub.recv(3 * time.Second); err != nil || m.Type() != wamp.TypeSubscribed {
		return flood{err: fmt.Errorf("subscribe: %v %v", m, err)}
	}
	pub, err := client.Join(ctx, e.r.wsURL(), realm, &client.Config{Serializer: "msgpack"})
	if err != nil {
		return flood{err: fmt.Errorf("publisher: %w", err)}
	}
	defer pub.Leave(context.Background())
	payload := strings.Repeat("p", 10<<10)
	for i := range floodEvents {
		start := time.Now()
		if err := pub.Publish(ctx, "stress.slow", wamp.List{payload}, nil, client.Acknowledge()); err != nil {
			f.pubErrs++
		}
		f.slowest = max(f.slowest, time.Since(start))
		// The queue fills and overflows within a few hundred events:
		// read often enough to see it at its fullest.
		if probe != nil && i%25 == 24 {
			probe()
		}
	}
	// Now read: the buffered events, then how the router ended it.
	for {
		m, err := sub.recv(5 * time.Second)
		if err != nil {
			f.reason = "closed: " + closeReason(err)
			return f
		}
		if m.Type() == wamp.TypeEvent {
			f.events++
			continue
		}
		f.reason = fmt.Sprintf("%v", wamp.ToList(m))
		if a, ok := m.(*wamp.Abort); ok {
			f.reason = fmt.Sprintf("ABORT %s %v", a.Reason, a.Details)
		}
		if g, ok := m.(*wamp.Goodbye); ok {
			f.reason = fmt.Sprintf("GOODBYE %s %v", g.Reason, g.Details)
		}
	}
}
