package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// Control group: the "others" of every case. 50 sessions call an echo
// procedure at a steady rate; a case passes its "others unaffected" row
// when they see 0 errors and a p99 within 2x of their baseline, measured
// just before the case.
const (
	controlSessions = 50
	controlInterval = 100 * time.Millisecond // per session: 500 calls/s in all
	controlProc     = "stress.control.echo"
	// controlFloor is the smallest p99 limit: below it, 2x of a
	// sub-millisecond baseline is scheduler noise on 2 cores, not harm.
	controlFloor = 2 * time.Millisecond
)

type control struct {
	// latencyJudged is false in the short version, which make test runs
	// beside every other test package on a shared machine: there a p99 of
	// tens or hundreds of milliseconds is other processes' doing, so the
	// short version judges errors only and shows the p99 for information.
	latencyJudged bool
	callee        *client.Session
	sessions      []*client.Session
	cancel        context.CancelFunc
	wg            sync.WaitGroup

	mu      sync.Mutex
	samples []time.Duration
	errs    int
	lastErr error
}

// window is what the control group saw between two takes.
type window struct {
	calls int
	errs  int
	p99   time.Duration
	err   error
}

// startControl joins the callee and the 50 callers: WebSocket JSON and
// MessagePack, and long-poll JSON.
func startControl(r *router, short bool) (*control, error) {
	ctx := context.Background()
	c := &control{latencyJudged: !short}
	callee, err := client.Join(ctx, r.wsURL(), realm, nil)
	if err != nil {
		return nil, fmt.Errorf("control callee: %w", err)
	}
	c.callee = callee
	if _, err := callee.Register(ctx, controlProc, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args}, nil
	}); err != nil {
		return nil, fmt.Errorf("control callee: %w", err)
	}
	for i := range controlSessions {
		url, cfg := r.wsURL(), &client.Config{}
		switch {
		case i%5 == 4:
			url = r.lpURL()
		case i%2 == 1:
			cfg.Serializer = "msgpack"
		}
		s, err := client.Join(ctx, url, realm, cfg)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("control caller %d: %w", i, err)
		}
		c.sessions = append(c.sessions, s)
	}
	runCtx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	for i, s := range c.sessions {
		c.wg.Go(func() { c.run(runCtx, s, i) })
	}
	return c, nil
}

func (c *control) run(ctx context.Context, s *client.Session, i int) {
	// Spread the sessions over the interval.
	t := time.NewTicker(controlInterval)
	defer t.Stop()
	select {
	case <-time.After(time.Duration(i) * controlInterval / controlSessions):
	case <-ctx.Done():
		return
	}
	for n := 0; ; n++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		res, err := s.Call(cctx, controlProc, wamp.List{int64(n)}, nil)
		d := time.Since(start)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && (len(res.Args) != 1 || fmt.Sprint(res.Args[0]) != fmt.Sprint(n)) {
			err = fmt.Errorf("echo of %d returned %v", n, res.Args)
		}
		c.mu.Lock()
		if err != nil {
			c.errs++
			c.lastErr = err
		} else {
			c.samples = append(c.samples, d)
		}
		c.mu.Unlock()
	}
}

// take returns what was seen since the last take and starts a new window.
func (c *control) take() window {
	c.mu.Lock()
	samples, errs, last := c.samples, c.errs, c.lastErr
	c.samples, c.errs, c.lastErr = nil, 0, nil
	c.mu.Unlock()
	w := window{calls: len(samples) + errs, errs: errs, err: last}
	if len(samples) > 0 {
		slices.Sort(samples)
		w.p99 = samples[(len(samples)*99)/100]
	}
	return w
}

// baseline measures the control group alone for d.
func (c *control) baseline(d time.Duration) window {
	c.take()
	time.Sleep(d)
	return c.take()
}

// verdict is the "others unaffected" row of a case.
func (c *control) verdict(caseName string, base window) row {
	// A case over in less than a few call intervals would leave the group
	// no time to call at all: wait for a few rounds.
	time.Sleep(3 * controlInterval)
	w := c.take()
	limit := max(2*base.p99, controlFloor)
	fig := fmt.Sprintf("%d calls, %d errors, p99 %v (base %v)", w.calls, w.errs, w.p99.Round(10*time.Microsecond), base.p99.Round(10*time.Microsecond))
	if w.err != nil {
		fig += "; " + w.err.Error()
	}
	if !c.latencyJudged {
		return row{caseName, "others: " + fig, fmt.Sprintf("0 errors (p99 judged in the full run, <= %v)", limit.Round(10*time.Microsecond)),
			w.errs == 0 && w.calls > 0}
	}
	return row{caseName, "others: " + fig, fmt.Sprintf("0 errors, p99 <= %v", limit.Round(10*time.Microsecond)),
		w.errs == 0 && w.calls > 0 && w.p99 <= limit}
}

func (c *control) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range c.sessions {
		s.Leave(ctx)
	}
	if c.callee != nil {
		c.callee.Leave(ctx)
	}
}
