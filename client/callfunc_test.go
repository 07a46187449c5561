package client

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// outcome is what a CallFunc's done received.
type outcome struct {
	res *Result
	err error
}

// callFunc starts a CallFunc whose done reports on the returned channel,
// which fails the test if done runs twice.
func callFunc(t *testing.T, s *Session, ctx context.Context, procedure wamp.URI, opts ...Option) <-chan outcome {
	t.Helper()
	ch, _ := callFuncCancel(t, s, ctx, procedure, opts...)
	return ch
}

// callFuncCancel is callFunc that also returns CallFunc's cancel.
func callFuncCancel(t *testing.T, s *Session, ctx context.Context, procedure wamp.URI, opts ...Option) (<-chan outcome, func()) {
	t.Helper()
	ch := make(chan outcome, 2)
	cancel, err := s.CallFunc(ctx, procedure, wamp.List{"x"}, nil, func(res *Result, err error) { ch <- outcome{res, err} }, opts...)
	if err != nil {
		t.Fatalf("CallFunc: %v", err)
	}
	return ch, cancel
}

// once returns the single outcome on ch.
func once(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	o := within(t, ch)
	select {
	case again := <-ch:
		t.Errorf("done ran twice: %+v, then %+v", o, again)
	default:
	}
	return o
}

func TestCallFuncResult(t *testing.T) {
	s, r := join(t, nil)
	ch := callFunc(t, s, t.Context(), "com.example.echo")
	call := expect[*wamp.Call](r)
	if call.Procedure != "com.example.echo" || !reflect.DeepEqual(call.Args, wamp.List{"x"}) {
		t.Errorf("CALL = %+v", call)
	}
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}, Args: wamp.List{"y"}})
	o := once(t, ch)
	if o.err != nil || !reflect.DeepEqual(o.res.Args, wamp.List{"y"}) {
		t.Errorf("done(%+v, %v)", o.res, o.err)
	}
}

func TestCallFuncError(t *testing.T) {
	s, r := join(t, nil)
	ch := callFunc(t, s, t.Context(), "com.example.fail")
	call := expect[*wamp.Call](r)
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: call.Request, Details: wamp.Dict{}, Error: "com.example.error.oops", Args: wamp.List{"why"}})
	o := once(t, ch)
	var e *wamp.Error
	if !errors.As(o.err, &e) || e.URI != "com.example.error.oops" || !reflect.DeepEqual(e.Args, wamp.List{"why"}) {
		t.Errorf("done(%+v, %v), want the ERROR", o.res, o.err)
	}
}

// A canceled ctx ends the call with its error, and a late answer is
// dropped.
func TestCallFuncContext(t *testing.T) {
	s, r := join(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	ch := callFunc(t, s, ctx, "com.example.slow")
	call := expect[*wamp.Call](r)
	cancel()
	if o := within(t, ch); !errors.Is(o.err, context.Canceled) {
		t.Errorf("done(%+v, %v), want context.Canceled", o.res, o.err)
	}
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}})
	r.quiet()
	if len(ch) != 0 {
		t.Errorf("done ran again for a late answer: %+v", <-ch)
	}
}

// CallFunc's cancel ends the call as a canceled ctx does: the router gets
// CANCEL, done gets context.Canceled once, and a late answer is dropped;
// after done, cancel does nothing.
func TestCallFuncCancel(t *testing.T) {
	s, r := joinWelcome(t, dealerWith("call_canceling"))
	ch, cancel := callFuncCancel(t, s, context.Background(), "com.example.slow")
	call := expect[*wamp.Call](r)
	cancel()
	if o := once(t, ch); !errors.Is(o.err, context.Canceled) {
		t.Errorf("done(%+v, %v), want context.Canceled", o.res, o.err)
	}
	if c := expect[*wamp.Cancel](r); c.Request != call.Request || c.Options["mode"] != CancelKillNoWait {
		t.Errorf("CANCEL = %+v, want request %d, mode %s", c, call.Request, CancelKillNoWait)
	}
	r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: call.Request, Details: wamp.Dict{}, Error: wamp.ErrCanceled})
	cancel()
	r.quiet()
	if len(ch) != 0 {
		t.Errorf("done ran again: %+v", <-ch)
	}

	// After the answer, cancel sends nothing and done runs once.
	ch, cancel = callFuncCancel(t, s, context.Background(), "com.example.fast")
	call = expect[*wamp.Call](r)
	r.send(&wamp.Result{Request: call.Request, Details: wamp.Dict{}, Args: wamp.List{"y"}})
	if o := once(t, ch); o.err != nil || !reflect.DeepEqual(o.res.Args, wamp.List{"y"}) {
		t.Errorf("done(%+v, %v)", o.res, o.err)
	}
	cancel()
	r.quiet()
}

// When the WAMP session ends, a call in flight gets its error.
func TestCallFuncSessionEnds(t *testing.T) {
	s, r := join(t, nil)
	ch := callFunc(t, s, t.Context(), "com.example.slow")
	expect[*wamp.Call](r)
	r.send(&wamp.Abort{Details: wamp.Dict{}, Reason: "wamp.close.system_shutdown"})
	o := once(t, ch)
	if o.err == nil || !errors.Is(o.err, ErrSessionClosed) {
		t.Errorf("done(%+v, %v), want ErrSessionClosed", o.res, o.err)
	}
}

func TestCallFuncRefuses(t *testing.T) {
	s, _ := join(t, nil)
	noop := func(*Result, error) { t.Error("done ran") }
	if _, err := s.CallFunc(t.Context(), "com.example.p", nil, nil, noop, Progress(func(*Result) {})); err == nil {
		t.Error("CallFunc took a Progress option")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CallFunc(ctx, "com.example.p", nil, nil, noop); !errors.Is(err, context.Canceled) {
		t.Errorf("CallFunc with a canceled ctx: %v", err)
	}
}
