package client

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// joinWelcome is join with WELCOME details of the test's choice.
func joinWelcome(t *testing.T, details wamp.Dict) (*Session, *router) {
	t.Helper()
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	go func() {
		if _, err := rp.Recv(); err != nil {
			return
		}
		rp.Send(&wamp.Welcome{Session: sessionID, Details: details})
	}()
	s, err := JoinPeer(t.Context(), c, "realm1", nil)
	if err != nil {
		t.Fatalf("JoinPeer: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		<-s.Done()
	})
	return s, r
}

func dealerWith(features ...string) wamp.Dict {
	f := wamp.Dict{}
	for _, n := range features {
		f[n] = true
	}
	return wamp.Dict{"roles": wamp.Dict{"dealer": wamp.Dict{"features": f}}}
}

func TestInterruptAnswers(t *testing.T) {
	s, r := join(t, nil)
	causes := make(chan error, 3)
	register(t, s, r, "com.example.h", 9, func(ctx context.Context, inv *Invocation) (*Result, error) {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		if inv.Args[0] == "own" {
			return nil, wamp.NewError("com.example.stopped")
		}
		return nil, ctx.Err()
	})
	for _, tt := range []struct {
		arg     string
		options wamp.Dict
		cause   *InterruptError
		uri     wamp.URI
	}{
		{"kill", wamp.Dict{"mode": "kill"}, &InterruptError{Mode: "kill", Reason: wamp.ErrCanceled}, wamp.ErrCanceled},
		{"timeout", wamp.Dict{"mode": "killnowait", "reason": "wamp.error.timeout"}, &InterruptError{Mode: "killnowait", Reason: wamp.ErrTimeout}, wamp.ErrTimeout},
		{"own", wamp.Dict{"mode": "kill"}, &InterruptError{Mode: "kill", Reason: wamp.ErrCanceled}, "com.example.stopped"},
	} {
		r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}, Args: wamp.List{tt.arg}})
		r.send(&wamp.Interrupt{Request: 1, Options: tt.options})
		if c := within(t, causes); !reflect.DeepEqual(c, tt.cause) {
			t.Errorf("%s: cause %v, want %v", tt.arg, c, tt.cause)
		}
		if e := expect[*wamp.ErrorMessage](r); e.Request != 1 || e.Error != tt.uri || e.RequestType != wamp.TypeInvocation {
			t.Errorf("%s: answer %+v, want ERROR %s", tt.arg, e, tt.uri)
		}
	}
	// An INTERRUPT for an invocation already answered is dropped.
	r.send(&wamp.Interrupt{Request: 1, Options: wamp.Dict{"mode": "kill"}})
	r.quiet()
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestInvocationParts(t *testing.T) {
	s, r := join(t, nil)
	type outcome struct {
		parts []*Part
		err   error
	}
	got := make(chan outcome, 2)
	register(t, s, r, "com.example.stream", 9, func(ctx context.Context, inv *Invocation) (*Result, error) {
		var o outcome
		for {
			p, err := inv.Next(ctx)
			if err != nil {
				o.err = err
				break
			}
			o.parts = append(o.parts, p)
		}
		got <- o
		return &Result{Args: wamp.List{int64(len(o.parts))}}, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{"progress": true}, Args: wamp.List{"a"}})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{"progress": true}, Args: wamp.List{"b"}})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}, Args: wamp.List{"c"}, Kwargs: wamp.Dict{"k": "v"}})
	o := within(t, got)
	want := []*Part{{Args: wamp.List{"b"}}, {Args: wamp.List{"c"}, Kwargs: wamp.Dict{"k": "v"}, Final: true}}
	if !reflect.DeepEqual(o.parts, want) || o.err != io.EOF {
		t.Errorf("parts %v, err %v; want %v and EOF", o.parts, o.err, want)
	}
	if y := expect[*wamp.Yield](r); y.Request != 1 || y.Args[0] != int64(2) {
		t.Errorf("YIELD %+v", y)
	}

	// A plain invocation has no parts.
	r.send(&wamp.Invocation{Request: 2, Registration: 9, Details: wamp.Dict{}})
	if o := within(t, got); len(o.parts) != 0 || o.err != io.EOF {
		t.Errorf("plain invocation: %+v", o)
	}
	expect[*wamp.Yield](r)
}

func TestLatePartsDropped(t *testing.T) {
	s, r := join(t, nil)
	ran := make(chan any, 4)
	register(t, s, r, "com.example.first", 9, func(_ context.Context, inv *Invocation) (*Result, error) {
		ran <- inv.Args[0]
		return nil, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{"progress": true}, Args: wamp.List{"a"}})
	within(t, ran)
	expect[*wamp.Yield](r)
	// Parts that crossed the answer.
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{"progress": true}, Args: wamp.List{"b"}})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}, Args: wamp.List{"c"}})
	r.send(&wamp.Invocation{Request: 2, Registration: 9, Details: wamp.Dict{}, Args: wamp.List{"next"}})
	if got := within(t, ran); got != "next" {
		t.Errorf("handler ran for %v, want only the next invocation", got)
	}
	if y := expect[*wamp.Yield](r); y.Request != 2 {
		t.Errorf("YIELD %+v", y)
	}
}

func TestInvocationRunningTwice(t *testing.T) {
	s, r := join(t, nil)
	register(t, s, r, "com.example.h", 9, func(ctx context.Context, _ *Invocation) (*Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}})
	if a := expect[*wamp.Abort](r); a.Reason != wamp.ErrProtocolViolation {
		t.Errorf("ABORT %s", a.Reason)
	}
}

func TestProgressErrors(t *testing.T) {
	s, r := join(t, nil)
	errs := make(chan error, 2)
	var keep *Invocation
	register(t, s, r, "com.example.h", 9, func(_ context.Context, inv *Invocation) (*Result, error) {
		keep = inv
		errs <- inv.Progress(wamp.List{"p"}, nil)
		return nil, nil
	})
	r.send(&wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}})
	if err := within(t, errs); !errors.Is(err, ErrNoProgress) {
		t.Errorf("Progress without receive_progress: %v", err)
	}
	expect[*wamp.Yield](r)

	r.send(&wamp.Invocation{Request: 2, Registration: 9, Details: wamp.Dict{"receive_progress": true}})
	if err := within(t, errs); err != nil {
		t.Fatal(err)
	}
	if y := expect[*wamp.Yield](r); y.Options["progress"] != true || y.Args[0] != "p" {
		t.Errorf("progressive YIELD %+v", y)
	}
	if y := expect[*wamp.Yield](r); y.Options["progress"] != nil {
		t.Errorf("final YIELD %+v", y)
	}
	if err := keep.Progress(nil, nil); err == nil {
		t.Error("Progress after the answer succeeded")
	}
}

func TestUnaskedProgressDropped(t *testing.T) {
	s, r := join(t, nil)
	done := async(func() error {
		res, err := s.Call(t.Context(), "com.example.p", nil, nil)
		if err == nil && res.Args[0] != "final" {
			t.Errorf("result %+v", res)
		}
		return err
	})
	call := expect[*wamp.Call](r)
	if call.Options["receive_progress"] != nil {
		t.Errorf("options %v", call.Options)
	}
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{"progress": true}, Args: wamp.List{"partial"}})
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}, Args: wamp.List{"final"}})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestCancelSent(t *testing.T) {
	s, r := joinWelcome(t, dealerWith("call_canceling", "call_timeout"))
	for _, mode := range []string{"", CancelKill} {
		ctx, cancel := context.WithCancel(t.Context())
		done := async(func() error {
			_, err := s.Call(ctx, "com.example.p", nil, nil, CancelMode(mode))
			return err
		})
		call := expect[*wamp.Call](r)
		cancel()
		if err := within(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("call = %v", err)
		}
		want := mode
		if want == "" {
			want = CancelKillNoWait
		}
		if c := expect[*wamp.Cancel](r); c.Request != call.Request || c.Options["mode"] != want {
			t.Errorf("CANCEL %+v, want mode %s", c, want)
		}
		// The router's late ERROR is dropped.
		r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: call.Request, Details: wamp.Dict{}, Error: wamp.ErrCanceled})
	}
	// The router enforces timeouts: the client does not.
	done := async(func() error {
		_, err := s.Call(t.Context(), "com.example.p", nil, nil, WithTimeout(20*time.Millisecond))
		return err
	})
	call := expect[*wamp.Call](r)
	if call.Options["timeout"] != int64(20) {
		t.Errorf("options %v", call.Options)
	}
	r.quiet()
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: call.Request, Details: wamp.Dict{}, Error: wamp.ErrTimeout})
	if err := within(t, done); !errors.Is(err, &wamp.Error{URI: wamp.ErrTimeout}) {
		t.Errorf("call = %v", err)
	}
}

func TestTimeoutFallback(t *testing.T) {
	s, r := joinWelcome(t, dealerWith("call_canceling"))
	start := time.Now()
	done := async(func() error {
		_, err := s.Call(t.Context(), "com.example.p", nil, nil, WithTimeout(30*time.Millisecond))
		return err
	})
	call := expect[*wamp.Call](r)
	if c := expect[*wamp.Cancel](r); c.Request != call.Request {
		t.Errorf("CANCEL %+v", c)
	}
	if err := within(t, done); !errors.Is(err, &wamp.Error{URI: wamp.ErrTimeout}) || time.Since(start) < 30*time.Millisecond {
		t.Errorf("call = %v after %v", err, time.Since(start))
	}
}

func TestCallStreamNeedsRouterSupport(t *testing.T) {
	s, _ := join(t, nil)
	if _, err := s.CallStream(t.Context(), "com.example.p"); err == nil {
		t.Error("CallStream on a router without progressive_call_invocations succeeded")
	}
}
