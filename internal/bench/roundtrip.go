package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// roundTrips are the round-trip figures of the echo server or the router.
type roundTrips struct {
	p50, p99  time.Duration // sequential round trip
	rate      float64       // round trips per second with concurrency
	cpuPerMsg time.Duration // server CPU per message received or sent
	err       error
}

// seqBatchesPerRound is how many batches of sequential round trips each
// side makes per round.
const seqBatchesPerRound = 10

// roundTripFigures are the figures of the round-trip phase.
type roundTripFigures struct {
	echo, rpc roundTrips
	relay     roundTrips // the bare four-message floor
	// rpcWithCall is the RPC's sequential round trips with Session.Call
	// (see chainedCalls and startCallSide).
	rpcWithCall     roundTrips
	rawTCP, rawUnix roundTrips // the RPC over raw sockets
}

// side is one server of the round-trip phase, the bare echo or the router,
// with its clients and what has been measured so far.
type side struct {
	name string
	srv  *child
	msgs int                                         // messages the server handles per round trip
	rt   func(ctx context.Context, worker int) error // one round trip on worker's connection
	// seq, when set, makes n sequential round trips on the first
	// connection in place of rt, and returns their times.
	seq     func(ctx context.Context, n int) ([]time.Duration, error)
	noLoad  bool // sequential figures only
	cleanup func()

	lat     []time.Duration // sequential round trips
	n       int64           // concurrent round trips
	elapsed time.Duration   // time of the concurrent round trips
	cpu     time.Duration   // server CPU time during them
	err     error           // the first failure; the side is then skipped
}

// roundTripPhase measures the echo server and the router, over WebSocket
// and over raw sockets on TCP and Unix, under the same load: round trips
// one after the other, then cfg.concurrency streams at once. It rotates
// between the servers in cfg.rounds rounds, so that all see the same
// machine however busy it is.
func roundTripPhase(ctx context.Context, cfg *config) roundTripFigures {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	echoSide := startEcho(ctx, cfg)
	rpcSide := startRPC(ctx, cfg, "ws")
	sides := []*side{echoSide, startRelay(ctx, cfg, echoSide), rpcSide, startCallSide(rpcSide), startRPC(ctx, cfg, "rs"), startRPC(ctx, cfg, "unix")}
	defer func() {
		for _, s := range sides {
			s.close()
		}
	}()
	for _, s := range sides {
		s.warmUp(ctx, cfg)
	}
	// The sequential round trips go in short batches, every side in turn,
	// so that a ratio compares samples taken within milliseconds of each
	// other, whatever the machine does meanwhile.
	batches := cfg.rounds * seqBatchesPerRound
	perBatch := (cfg.seqCalls + batches - 1) / batches
	loadTime := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for b := range seqBatchesPerRound {
			for _, s := range rotated(sides, r*seqBatchesPerRound+b) {
				s.sequential(ctx, perBatch)
			}
		}
		for _, s := range rotated(sides, r) {
			s.load(ctx, cfg, loadTime)
		}
	}
	return roundTripFigures{echo: sides[0].figures(), relay: sides[1].figures(), rpc: sides[2].figures(),
		rpcWithCall: sides[3].figures(), rawTCP: sides[4].figures(), rawUnix: sides[5].figures()}
}

// rotated returns sides in turn, starting at the k-th (modulo their number).
func rotated(sides []*side, k int) []*side {
	k %= len(sides)
	return append(slices.Clone(sides[k:]), sides[:k]...)
}

// startEcho starts the echo server and connects cfg.concurrency clients.
// Their messages are what a CALL of the router side looks like on the wire.
func startEcho(ctx context.Context, cfg *config) *side {
	s := &side{name: "echo", msgs: 2} // read, write
	s.srv, s.err = startChild(ctx, cfg, roleEcho, "echo")
	if s.err != nil {
		return s
	}
	conns, err := dialAll(ctx, cfg.concurrency, func(int) string { return "ws://" + s.srv.addr + "/" })
	s.cleanup = func() { closeAll(conns) }
	if err != nil {
		s.err = err
		return s
	}
	s.rt, s.err = bareRoundTrip(cfg, conns)
	return s
}

// startRelay connects cfg.concurrency pairs of connections to the echo
// child's relay (see relay): the callee of each pair sends back what it
// reads, on a goroutine of its own, as a callee would.
func startRelay(ctx context.Context, cfg *config, echo *side) *side {
	s := &side{name: "bare relay", msgs: 4} // read and write, twice
	if s.err = echo.err; s.err != nil {
		return s
	}
	s.srv = echo.srv // the echo child serves the relay too; stop is idempotent
	url := func(i int) string { return fmt.Sprintf("ws://%s/relay?pair=%d", echo.srv.addr, i) }
	callees, err := dialAll(ctx, cfg.concurrency, url)
	var callers []*ws.Conn
	if err == nil {
		callers, err = dialAll(ctx, cfg.concurrency, url)
	}
	s.cleanup = func() { closeAll(callers); closeAll(callees) }
	if err != nil {
		s.err = err
		return s
	}
	for _, c := range callees {
		go func() {
			for {
				typ, p, err := c.Read(context.Background())
				if err != nil {
					return
				}
				if err := c.Write(context.Background(), typ, p); err != nil {
					return
				}
			}
		}()
	}
	s.rt, s.err = bareRoundTrip(cfg, callers)
	return s
}

// bareRoundTrip is the round trip of the echo and the relay on conns: a
// message the size of a CALL, written and read back.
func bareRoundTrip(cfg *config, conns []*ws.Conn) (func(ctx context.Context, i int) error, error) {
	c, _ := codec.ByName(cfg.serializer)
	payload, err := c.Encode(nil, &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: procedure, Args: wamp.List{1}})
	if err != nil {
		return nil, err
	}
	frame := ws.MessageText
	if c.Binary() {
		frame = ws.MessageBinary
	}
	return func(ctx context.Context, i int) error {
		if err := conns[i].Write(ctx, frame, payload); err != nil {
			return err
		}
		_, p, err := conns[i].Read(ctx)
		if err == nil && len(p) != len(payload) {
			err = fmt.Errorf("a message of %d bytes came back as %d", len(payload), len(p))
		}
		return err
	}, nil
}

// dialAll opens n WebSocket connections, the i-th to url(i).
func dialAll(ctx context.Context, n int, url func(i int) string) ([]*ws.Conn, error) {
	conns := make([]*ws.Conn, n)
	err := parallel(ctx, n, connectWidth, func(ctx context.Context, i int) error {
		conn, _, err := ws.Dial(ctx, url(i), nil)
		conns[i] = conn
		return err
	})
	if err != nil {
		return conns, fmt.Errorf("connecting: %w", err)
	}
	return conns, nil
}

func closeAll(conns []*ws.Conn) {
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// startRPC starts the router and joins a callee and cfg.concurrency
// callers over transport ("ws", "rs" or "unix"; see child.url); the callee
// registers a procedure that returns its arguments.
func startRPC(ctx context.Context, cfg *config, transport string) *side {
	s := &side{name: "router over " + transport, msgs: 4} // CALL, INVOCATION, YIELD, RESULT
	s.srv, s.err = startChild(ctx, cfg, roleRouter, "rpc-"+transport)
	if s.err != nil {
		return s
	}
	sessions, err := joinMany(ctx, cfg, s.srv.url(transport), 1+cfg.concurrency)
	s.cleanup = func() { leaveAll(sessions) }
	if err != nil {
		s.err = err
		return s
	}
	echoArgs := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}
	if _, err := sessions[0].Register(ctx, procedure, echoArgs); err != nil {
		s.err = fmt.Errorf("registering %s: %w", procedure, err)
		return s
	}
	callers := sessions[1:]
	args := wamp.List{1}
	s.seq = chainedCalls(callers[0])
	s.rt = func(ctx context.Context, i int) error {
		r, err := callers[i].Call(ctx, procedure, args, nil)
		if err == nil && len(r.Args) != 1 {
			err = fmt.Errorf("the call returned %v, not its argument", r.Args)
		}
		return err
	}
	return s
}

// chainedCalls makes the sequential round trips of the router sides: each
// call starts from the answer callback of the one before
// (client.Session.CallFunc), on the goroutine that reads the caller's
// session, as the echo's client writes and reads on one goroutine. A Call
// instead waits on its own goroutine for the answer, which the reading
// goroutine hands to it: a wake-up of another thread, which costs tens of
// microseconds on a virtual machine and is the Go client's, not the
// router's (see startCallSide).
func chainedCalls(caller *client.Session) func(ctx context.Context, n int) ([]time.Duration, error) {
	args := wamp.List{1}
	return func(ctx context.Context, n int) ([]time.Duration, error) {
		lat := make([]time.Duration, 0, n)
		finished := make(chan error, 1)
		var start time.Time
		var answered func(*client.Result, error)
		call := func() {
			start = time.Now()
			if _, err := caller.CallFunc(ctx, procedure, args, nil, answered); err != nil {
				finished <- err
			}
		}
		answered = func(r *client.Result, err error) {
			lat = append(lat, time.Since(start))
			if err == nil && len(r.Args) != 1 {
				err = fmt.Errorf("the call returned %v, not its argument", r.Args)
			}
			if err != nil || len(lat) == n {
				finished <- err
				return
			}
			call()
		}
		call()
		select {
		case err := <-finished:
			return lat, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// startCallSide measures the sequential round trips of rpc's first caller
// with Session.Call, the goroutine hand-off included (see chainedCalls).
// It shares rpc's router and callers and has no concurrent figures.
func startCallSide(rpc *side) *side {
	s := &side{name: "router over ws with Session.Call", msgs: 4, srv: rpc.srv, err: rpc.err, noLoad: true}
	if s.err == nil {
		s.rt = rpc.rt
	}
	return s
}

func (s *side) close() {
	if s.cleanup != nil {
		s.cleanup()
	}
	if s.srv != nil {
		s.srv.stop()
	}
}

// fail records the first error of the side.
func (s *side) fail(what string, err error) {
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("%s: %w", what, err)
	}
}

// warmUp runs cfg.warmup round trips on the first connection and a tenth
// of that on every connection at once.
func (s *side) warmUp(ctx context.Context, cfg *config) {
	if s.err != nil {
		return
	}
	if s.seq != nil {
		if _, err := s.seq(ctx, cfg.warmup); err != nil {
			s.fail("warm-up", err)
			return
		}
	}
	for range cfg.warmup {
		if err := s.rt(ctx, 0); err != nil {
			s.fail("warm-up", err)
			return
		}
	}
	if s.noLoad {
		return
	}
	each := max(cfg.warmup/10, 1)
	s.fail("concurrent warm-up", parallel(ctx, cfg.concurrency, cfg.concurrency, func(ctx context.Context, w int) error {
		for range each {
			if err := s.rt(ctx, w); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sequential measures n round trips one after the other.
func (s *side) sequential(ctx context.Context, n int) {
	if s.err != nil {
		return
	}
	if s.seq != nil {
		lat, err := s.seq(ctx, n)
		s.lat = append(s.lat, lat...)
		s.fail("sequential round trip", err)
		return
	}
	for range n {
		t := time.Now()
		if err := s.rt(ctx, 0); err != nil {
			s.fail("sequential round trip", err)
			return
		}
		s.lat = append(s.lat, time.Since(t))
	}
}

// load runs cfg.concurrency workers, each repeating round trips on its
// own connection for d, and reads the server's CPU time around them.
func (s *side) load(ctx context.Context, cfg *config, d time.Duration) {
	if s.err != nil || s.noLoad {
		return
	}
	cpu0, err := s.srv.cpu(ctx)
	if err != nil {
		s.fail("reading CPU time", err)
		return
	}
	var count atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	err = parallel(ctx, cfg.concurrency, cfg.concurrency, func(ctx context.Context, w int) error {
		for { // at least one round trip, even when started late
			if err := s.rt(ctx, w); err != nil {
				return err
			}
			count.Add(1)
			if !time.Now().Before(deadline) {
				return nil
			}
		}
	})
	elapsed := time.Since(start)
	if err != nil {
		s.fail("concurrent round trips", err)
		return
	}
	cpu1, err := s.srv.cpu(ctx)
	if err != nil {
		s.fail("reading CPU time", err)
		return
	}
	s.n += count.Load()
	s.elapsed += elapsed
	s.cpu += cpu1 - cpu0
}

// figures sums up what was measured.
func (s *side) figures() roundTrips {
	if s.err != nil {
		return roundTrips{err: fmt.Errorf("%s: %w", s.name, s.err)}
	}
	if len(s.lat) == 0 || (s.n == 0 && !s.noLoad) {
		return roundTrips{err: fmt.Errorf("%s: no round trip measured", s.name)}
	}
	slices.Sort(s.lat)
	f := roundTrips{p50: percentile(s.lat, 50), p99: percentile(s.lat, 99)}
	if s.n > 0 {
		f.rate = float64(s.n) / s.elapsed.Seconds()
		f.cpuPerMsg = s.cpu / time.Duration(int64(s.msgs)*s.n)
	}
	return f
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[min(max(rank, 1), len(sorted))-1]
}
