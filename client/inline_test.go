package client

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// A handler runs on the reading goroutine (runInline); these tests show
// that nothing it does can stall the session.

func TestHandlerCallsOnItsOwnSession(t *testing.T) {
	s, r := join(t, nil)
	register(t, s, r, "com.example.outer", 3, func(ctx context.Context, inv *Invocation) (*Result, error) {
		res, err := s.Call(ctx, "com.example.inner", inv.Args, nil)
		if err != nil {
			return nil, err
		}
		return &Result{Args: append(res.Args, "outer")}, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 3, Details: wamp.Dict{}, Args: wamp.List{"x"}})
	call := expect[*wamp.Call](r)
	if call.Procedure != "com.example.inner" {
		t.Fatalf("CALL %+v", call)
	}
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}, Args: wamp.List{"inner"}})
	y := expect[*wamp.Yield](r)
	if y.Request != 1 || len(y.Args) != 2 || y.Args[0] != "inner" || y.Args[1] != "outer" {
		t.Errorf("YIELD = %+v", y)
	}
}

func TestBusyHandlerDoesNotBlockReads(t *testing.T) {
	s, r := join(t, nil)
	var released atomic.Bool
	register(t, s, r, "com.example.busy", 3, func(ctx context.Context, _ *Invocation) (*Result, error) {
		for !released.Load() && ctx.Err() == nil { // busy, never blocking: only the budget moves reading on
			runtime.Gosched()
		}
		return &Result{Args: wamp.List{"busy"}}, nil
	})
	register(t, s, r, "com.example.release", 4, func(context.Context, *Invocation) (*Result, error) {
		released.Store(true)
		return &Result{Args: wamp.List{"release"}}, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 3, Details: wamp.Dict{}})
	r.send(&wamp.Invocation{Request: 2, Registration: 4, Details: wamp.Dict{}})
	got := map[wamp.ID]any{}
	for range 2 {
		y := expect[*wamp.Yield](r)
		got[y.Request] = y.Args[0]
	}
	if got[1] != "busy" || got[2] != "release" {
		t.Errorf("YIELDs %v", got)
	}
}

func TestHandlerGoexitKeepsReading(t *testing.T) {
	s, r := join(t, nil)
	register(t, s, r, "com.example.goexit", 3, func(context.Context, *Invocation) (*Result, error) {
		runtime.Goexit()
		return nil, nil
	})
	register(t, s, r, "com.example.after", 4, func(context.Context, *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{"after"}}, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 3, Details: wamp.Dict{}})
	r.send(&wamp.Invocation{Request: 2, Registration: 4, Details: wamp.Dict{}})
	if y := expect[*wamp.Yield](r); y.Request != 2 || y.Args[0] != "after" {
		t.Errorf("YIELD = %+v", y)
	}
}

func TestHandlerLeaves(t *testing.T) {
	s, r := join(t, nil)
	left := make(chan error, 1)
	register(t, s, r, "com.example.leave", 3, func(ctx context.Context, _ *Invocation) (*Result, error) {
		left <- s.Leave(context.WithoutCancel(ctx))
		return nil, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 3, Details: wamp.Dict{}})
	if g := expect[*wamp.Goodbye](r); g.Reason != wamp.ErrCloseRealm {
		t.Fatalf("GOODBYE %+v", g)
	}
	r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if err := within(t, left); err != nil {
		t.Errorf("Leave from a handler: %v", err)
	}
}

// Handlers that block, spin or return at once, in any mix, while reading
// moves between goroutines: every invocation is answered, and never do two
// goroutines read at once (the pipe panics if they do).
func TestReadingMovesBetweenGoroutines(t *testing.T) {
	s, r := join(t, nil)
	register(t, s, r, "com.example.mixed", 3, func(_ context.Context, inv *Invocation) (*Result, error) {
		n := inv.Args[0].(int)
		switch n % 3 {
		case 0:
			time.Sleep(time.Duration(n%7) * 400 * time.Microsecond) // blocks past the budget, or not
		case 1:
			for deadline := time.Now().Add(time.Duration(n%5) * 600 * time.Microsecond); time.Now().Before(deadline); {
				runtime.Gosched() // busy, never blocking
			}
		}
		return &Result{Args: wamp.List{n}}, nil
	})
	const n = 300
	sent := make(chan error, 1)
	go func() { // the pipe holds 128 messages: send while the test reads
		for i := 1; i <= n; i++ {
			if err := r.peer.Send(&wamp.Invocation{Request: wamp.ID(i), Registration: 3, Details: wamp.Dict{}, Args: wamp.List{i}}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	got := map[wamp.ID]bool{}
	for range n {
		y := expect[*wamp.Yield](r)
		if y.Args[0] != int(y.Request) {
			t.Errorf("YIELD %d answers with %v", y.Request, y.Args)
		}
		got[y.Request] = true
	}
	if err := within(t, sent); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Errorf("%d of %d invocations answered", len(got), n)
	}
}

// The handler watch ticks only while handlers run: it stops once they
// stop, and starts again with the next one (without it, a busy handler
// would hold up the link for good).
func TestHandlerWatchStopsWhenIdle(t *testing.T) {
	s, r := join(t, nil)
	var released atomic.Bool
	register(t, s, r, "com.example.busy", 3, func(ctx context.Context, _ *Invocation) (*Result, error) {
		for !released.Load() && ctx.Err() == nil { // ctx: should the test fail
			runtime.Gosched()
		}
		return &Result{Args: wamp.List{"busy"}}, nil
	})
	register(t, s, r, "com.example.release", 4, func(context.Context, *Invocation) (*Result, error) {
		released.Store(true)
		return &Result{Args: wamp.List{"release"}}, nil
	})
	l := s.current()
	for round := range 3 {
		released.Store(false)
		r.send(&wamp.Invocation{Request: wamp.ID(2*round + 1), Registration: 3, Details: wamp.Dict{}})
		r.send(&wamp.Invocation{Request: wamp.ID(2*round + 2), Registration: 4, Details: wamp.Dict{}})
		for range 2 {
			expect[*wamp.Yield](r)
		}
		deadline := time.Now().Add(5 * time.Second)
		for l.watching.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the watch still ticks 5 s after the last handler", round)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// A procedure whose handlers are slow runs them on goroutines of their
// own, side by side; once they are fast again, they run on the reading
// goroutine again.
func TestSlowProcedureRunsApart(t *testing.T) {
	s, r := join(t, nil)
	const together = 8
	var mode atomic.Int32 // 0 fast, 1 held by the test, 2 waiting for the others
	held := make(chan struct{})
	var inside atomic.Int32
	all := make(chan struct{})
	reg := register(t, s, r, "com.example.mood", 3, func(ctx context.Context, inv *Invocation) (*Result, error) {
		switch mode.Load() {
		case 1:
			<-held
		case 2:
			// Each waits until all are running: only handlers side by
			// side get past this without the watch moving reading on
			// for each.
			if inside.Add(1) == together {
				close(all)
			}
			select {
			case <-all:
			case <-ctx.Done():
			}
		}
		return &Result{Args: inv.Args}, nil
	})
	id := wamp.ID(0)
	invoke := func() {
		id++
		r.send(&wamp.Invocation{Request: id, Registration: 3, Details: wamp.Dict{}, Args: wamp.List{int(id)}})
	}

	// One run of 2 ms moves the procedure apart.
	mode.Store(1)
	invoke()
	time.Sleep(2 * time.Millisecond)
	close(held)
	expect[*wamp.Yield](r)
	if !reg.apart.Load() {
		t.Fatalf("after a run of over 2 ms (average %v), the handlers still run on the reading goroutine",
			time.Duration(reg.cost.Load()))
	}
	mode.Store(2)
	l := s.current()
	before := l.handlers.Load()
	for range together {
		invoke()
	}
	for range together {
		expect[*wamp.Yield](r)
	}
	if n := l.handlers.Load(); n != before {
		t.Errorf("%d of the slow procedure's handlers ran on the reading goroutine", n-before)
	}

	// Fast runs bring it back, after a few: the average moves by an
	// eighth per run.
	mode.Store(0)
	runs := 0
	for reg.apart.Load() {
		if runs == 200 {
			t.Fatalf("after %d fast runs the handlers still run apart (average %v)", runs, time.Duration(reg.cost.Load()))
		}
		invoke()
		expect[*wamp.Yield](r)
		runs++
	}
	if runs < 5 {
		t.Errorf("back on the reading goroutine after %d fast runs: one slow run should weigh more", runs)
	}
	before = l.handlers.Load()
	invoke()
	expect[*wamp.Yield](r)
	if l.handlers.Load() != before+1 {
		t.Error("a fast handler did not run on the reading goroutine")
	}
}
