package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// Bounds of the phases: none of them should come near these, which only
// stop a run that hangs.
const (
	phaseTimeout   = 45 * time.Second
	cleanupTimeout = 5 * time.Second
	connectWidth   = 32 // connections opened at once
)

// The procedure and topic of the bench.
const (
	procedure wamp.URI = "bench.echo"
	topic     wamp.URI = "bench.fanout"
)

// fanoutFigures are the figures of the fan-out phase.
type fanoutFigures struct {
	rate           float64       // deliveries per second
	cpuPerDelivery time.Duration // router CPU per delivered event
	err            error
}

// memoryFigures are the figures of the memory phase, per idle session.
type memoryFigures struct {
	goKiB, rssKiB float64
	err           error
}

// fanoutPhase publishes events to many subscriber sessions and counts the
// deliveries.
func fanoutPhase(ctx context.Context, cfg *config) fanoutFigures {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	srv, err := startChild(ctx, cfg, roleRouter, "fanout")
	if err != nil {
		return fanoutFigures{err: err}
	}
	defer srv.stop()

	sessions, err := joinMany(ctx, cfg, srv.url("ws"), 1+cfg.subscribers)
	defer leaveAll(sessions)
	if err != nil {
		return fanoutFigures{err: err}
	}
	publisher, subscribers := sessions[0], sessions[1:]
	var delivered, goal atomic.Int64
	reached := make(chan struct{}, 1)
	handler := func(*client.Event) {
		if delivered.Add(1) == goal.Load() {
			select {
			case reached <- struct{}{}:
			default:
			}
		}
	}
	err = parallel(ctx, len(subscribers), connectWidth, func(ctx context.Context, i int) error {
		_, err := subscribers[i].Subscribe(ctx, topic, handler)
		return err
	})
	if err != nil {
		return fanoutFigures{err: fmt.Errorf("subscribing: %w", err)}
	}
	// publish sends events and waits until every subscriber has them all.
	publish := func(events int) error {
		delivered.Store(0)
		goal.Store(int64(events * len(subscribers)))
		for i := range events {
			if err := publisher.Publish(ctx, topic, wamp.List{i}, nil); err != nil {
				return fmt.Errorf("publishing: %w", err)
			}
		}
		select {
		case <-reached:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%d of %d events delivered: %w", delivered.Load(), goal.Load(), ctx.Err())
		}
	}
	if err := publish(min(cfg.events, 10)); err != nil {
		return fanoutFigures{err: fmt.Errorf("warm-up: %w", err)}
	}
	cpu0, err := srv.cpu(ctx)
	if err != nil {
		return fanoutFigures{err: err}
	}
	start := time.Now()
	if err := publish(cfg.events); err != nil {
		return fanoutFigures{err: err}
	}
	elapsed := time.Since(start)
	cpu1, err := srv.cpu(ctx)
	if err != nil {
		return fanoutFigures{err: err}
	}
	n := int64(cfg.events * len(subscribers))
	return fanoutFigures{
		rate:           float64(n) / elapsed.Seconds(),
		cpuPerDelivery: (cpu1 - cpu0) / time.Duration(n),
	}
}

// memoryPhase opens idle sessions and reads the router's memory growth.
// The sessions are bare WebSocket connections that send HELLO and read
// WELCOME, which keeps this process light.
func memoryPhase(ctx context.Context, cfg *config) memoryFigures {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	srv, err := startChild(ctx, cfg, roleRouter, "memory")
	if err != nil {
		return memoryFigures{err: err}
	}
	defer srv.stop()

	c, _ := codec.ByName(cfg.serializer)
	frame := ws.MessageText
	if c.Binary() {
		frame = ws.MessageBinary
	}
	role := wamp.Dict{"features": wamp.Dict{}}
	hello, err := c.Encode(nil, &wamp.Hello{Realm: realm, Details: wamp.Dict{
		"roles": wamp.Dict{"caller": role, "callee": role, "publisher": role, "subscriber": role},
	}})
	if err != nil {
		return memoryFigures{err: err}
	}
	url := "ws://" + srv.addr + "/ws"
	open := func(ctx context.Context) (*ws.Conn, error) {
		conn, _, err := ws.Dial(ctx, url, &ws.DialOptions{Subprotocols: []string{codec.Subprotocol(c, false)}})
		if err != nil {
			return nil, err
		}
		if err := conn.Write(ctx, frame, hello); err != nil {
			conn.CloseNow()
			return nil, err
		}
		_, p, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return nil, err
		}
		m, err := c.Decode(p)
		if err != nil {
			conn.CloseNow()
			return nil, err
		}
		if _, ok := m.(*wamp.Welcome); !ok {
			conn.CloseNow()
			return nil, fmt.Errorf("the router answered HELLO with %v", wamp.ToList(m))
		}
		return conn, nil
	}

	conns := make([]*ws.Conn, cfg.sessions+1)
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.CloseNow()
			}
		}
	}()
	// One session first, so that what every session shares is counted in
	// the baseline.
	if conns[0], err = open(ctx); err != nil {
		return memoryFigures{err: fmt.Errorf("opening a session: %w", err)}
	}
	before, err := srv.mem(ctx)
	if err != nil {
		return memoryFigures{err: err}
	}
	err = parallel(ctx, cfg.sessions, connectWidth, func(ctx context.Context, i int) error {
		conn, err := open(ctx)
		conns[i+1] = conn
		return err
	})
	if err != nil {
		return memoryFigures{err: fmt.Errorf("opening %d sessions: %w", cfg.sessions, err)}
	}
	after, err := srv.mem(ctx)
	if err != nil {
		return memoryFigures{err: err}
	}
	perSession := func(before, after uint64) float64 {
		return (float64(after) - float64(before)) / float64(cfg.sessions) / 1024
	}
	heap, stacks := perSession(before.heap, after.heap), perSession(before.stacks, after.stacks)
	fmt.Fprintf(cfg.progress, "bench: router memory per idle session: heap %.1f KiB + stacks %.1f KiB\n", heap, stacks)
	return memoryFigures{goKiB: heap + stacks, rssKiB: perSession(before.rss, after.rss)}
}

// parallel runs f for 0 <= i < n, at most width at a time, and returns the
// errors. The first error cancels the ctx of the calls still to come.
func parallel(ctx context.Context, n, width int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	slots := make(chan struct{}, width)
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := f(ctx, i); err != nil {
				mu.Lock()
				if len(errs) < 3 { // the first few tell the story
					errs = append(errs, err)
				}
				mu.Unlock()
				cancel(err)
			}
		})
	}
	wg.Wait()
	if len(errs) == 0 {
		return context.Cause(ctx) // the parent's end, if any
	}
	return errors.Join(errs...)
}

// joinMany joins n client sessions to the router at url. The sessions
// joined are returned even with an error, for leaveAll.
func joinMany(ctx context.Context, cfg *config, url string, n int) ([]*client.Session, error) {
	ccfg := &client.Config{Serializer: cfg.serializer}
	sessions := make([]*client.Session, n)
	err := parallel(ctx, n, connectWidth, func(ctx context.Context, i int) error {
		s, err := client.Join(ctx, url, realm, ccfg)
		sessions[i] = s
		return err
	})
	if err != nil {
		return sessions, fmt.Errorf("joining %d sessions: %w", n, err)
	}
	return sessions, nil
}

// leaveAll leaves every session, each within cleanupTimeout.
func leaveAll(sessions []*client.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range sessions {
		if s != nil {
			wg.Go(func() { s.Leave(ctx) })
		}
	}
	wg.Wait()
}
