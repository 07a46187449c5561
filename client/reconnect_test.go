package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

func TestReconnectDefaults(t *testing.T) {
	c := (&Config{Reconnect: &Reconnect{}}).withDefaults()
	want := Reconnect{InitialDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, Factor: 1.5, Jitter: 0.1}
	if *c.Reconnect != want {
		t.Errorf("defaults %+v, want %+v", *c.Reconnect, want)
	}
	if c.ConnectTimeout != DefaultConnectTimeout {
		t.Errorf("ConnectTimeout %v", c.ConnectTimeout)
	}
	if r := (Reconnect{Jitter: -1}).withDefaults(); r.Jitter != 0 {
		t.Errorf("negative jitter became %v, want none", r.Jitter)
	}
}

func TestBackoffDelay(t *testing.T) {
	r := Reconnect{}.withDefaults()
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for _, tt := range []struct {
		n    int
		rnd  float64
		want time.Duration
	}{
		{1, 0.5, 500 * time.Millisecond}, // no jitter at the middle
		{2, 0.5, 750 * time.Millisecond},
		{3, 0.5, 1125 * time.Millisecond},
		{4, 0.5, ms(1687.5)},
		{1, 0, 450 * time.Millisecond}, // -10%
		{1, 1, 550 * time.Millisecond}, // +10%
		{3, 0, ms(1012.5)},
		{10, 0.5, ms(500 * 38.443359375)},
		{11, 0.5, ms(500 * 57.6650390625)}, // 500 ms * 1.5^10, below the cap
		{12, 0.5, 30 * time.Second},        // capped
		{12, 0, 27 * time.Second},          // capped, then -10%
		{12, 1, 30 * time.Second},          // +10% stays capped
		{1000, 0.5, 30 * time.Second},      // no overflow
		{1 << 30, 0.25, 28500 * time.Millisecond},
	} {
		got := r.delay(tt.n, tt.rnd)
		if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("delay(%d, %v) = %v, want %v", tt.n, tt.rnd, got, tt.want)
		}
	}

	// Delays grow and stay within [InitialDelay*(1-Jitter), MaxDelay].
	prev := time.Duration(0)
	for n := 1; n <= 40; n++ {
		d := r.delay(n, 0.5)
		if d < prev || d > r.MaxDelay {
			t.Fatalf("delay(%d) = %v after %v", n, d, prev)
		}
		prev = d
		for _, rnd := range []float64{0, 0.999999} {
			if d := r.delay(n, rnd); d < 450*time.Millisecond || d > r.MaxDelay {
				t.Errorf("delay(%d, %v) = %v out of bounds", n, rnd, d)
			}
		}
	}

	flat := Reconnect{InitialDelay: time.Second, MaxDelay: time.Second, Factor: 1}
	if d := flat.delay(50, 0.5); d != time.Second {
		t.Errorf("Factor 1: delay = %v", d)
	}
}

func TestRetryable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("client: transport: %w", transport.ErrClosed), true},
		{context.DeadlineExceeded, true},
		{&CloseError{Reason: wamp.ErrSystemShutdown}, true},
		{&CloseError{Reason: wamp.ErrCloseRealm}, true},
		{&CloseError{Reason: "wamp.close.killed"}, false},
		{&CloseError{Reason: wamp.ErrProtocolViolation}, false},
		{&wamp.Error{URI: wamp.ErrSystemShutdown}, true}, // ABORT on a rejoin while the router stops
		{fmt.Errorf("x: %w", &wamp.Error{URI: wamp.ErrNotAuthorized}), false},
		{&wamp.Error{URI: wamp.ErrNoSuchRealm}, false},
		{&wamp.Error{URI: wamp.ErrAuthenticationFailed}, false},
		{&finalError{errors.New("client: join: authentication: no token")}, false},
	} {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// joinRetrying returns a Session joined over a pipe that reconnects to
// urls, and the router that scripts the pipe's other end.
func joinRetrying(t *testing.T, cfg *Config, urls ...string) (*Session, *router) {
	c, rp := pipe()
	cc := cfg.withDefaults()
	s := newSession(cc, "realm1", urls, newLink(c, &wamp.Welcome{Session: sessionID, Details: wamp.Dict{}}, cc.Logger))
	t.Cleanup(func() {
		c.Close()
		<-s.Done()
	})
	return s, &router{t: t, peer: rp}
}

// badURL fails to dial at once, without touching the network.
const badURL = "ws://%zz"

func TestCloseReasons(t *testing.T) {
	t.Run("killed", func(t *testing.T) {
		ev := newEvents()
		s, r := joinRetrying(t, ev.config(&Config{Reconnect: fastRetry()}), badURL)
		within(t, ev.joins)
		r.send(&wamp.Abort{Details: wamp.Dict{}, Reason: "wamp.close.killed"})
		within(t, s.Done())
		l := within(t, ev.leaves)
		if ce, ok := errors.AsType[*CloseError](l.err); !ok || ce.Reason != "wamp.close.killed" || l.retry || l.err != s.Err() {
			t.Errorf("OnLeave(%v, %v), Err() = %v", l.err, l.retry, s.Err())
		}
		select {
		case l := <-ev.leaves:
			t.Errorf("second OnLeave(%v, %v)", l.err, l.retry)
		default:
		}
	})
	t.Run("system_shutdown", func(t *testing.T) {
		ev := newEvents()
		rc := fastRetry()
		rc.MaxRetries = 2
		s, r := joinRetrying(t, ev.config(&Config{Reconnect: rc}), badURL)
		within(t, ev.joins)
		r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrSystemShutdown})
		if g := expect[*wamp.Goodbye](r); g.Reason != wamp.ErrGoodbyeAndOut {
			t.Errorf("answer %q", g.Reason)
		}
		if l := within(t, ev.leaves); !l.retry {
			t.Errorf("OnLeave(%v, false) after system_shutdown", l.err)
		}
		within(t, s.Done())
		if l := within(t, ev.leaves); l.retry || l.err != s.Err() || !strings.Contains(fmt.Sprint(s.Err()), "gave up after 2 attempts") {
			t.Errorf("OnLeave(%v, %v), Err() = %v", l.err, l.retry, s.Err())
		}
	})
}

// attemptLog records when reconnect attempts fail.
type attemptLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (h *attemptLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *attemptLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *attemptLog) WithGroup(string) slog.Handler            { return h }
func (h *attemptLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "reconnect attempt failed" {
		h.mu.Lock()
		h.times = append(h.times, r.Time)
		h.mu.Unlock()
	}
	return nil
}

func TestBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &attemptLog{}
		rc := &Reconnect{InitialDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond, Factor: 2, Jitter: -1, MaxRetries: 5}
		s, r := joinRetrying(t, &Config{Reconnect: rc, Logger: slog.New(log)}, badURL)
		start := time.Now()
		r.peer.Close()
		<-s.Done()
		if d := time.Since(start); d != 1500*time.Millisecond {
			t.Errorf("gave up after %v, want 1.5s", d)
		}
		var got []time.Duration
		for _, at := range log.times {
			got = append(got, at.Sub(start))
		}
		want := []time.Duration{100, 300, 700, 1100, 1500}
		if len(got) != len(want) {
			t.Fatalf("attempts at %v, want %v ms", got, want)
		}
		for i := range want {
			if got[i] != want[i]*time.Millisecond {
				t.Errorf("attempt %d at %v, want %v ms", i+1, got[i], want[i])
			}
		}
	})
}

// events records a Session's OnJoin and OnLeave calls.
type events struct {
	joins  chan wamp.ID
	leaves chan leave
}

type leave struct {
	err   error
	retry bool
}

func newEvents() *events {
	return &events{joins: make(chan wamp.ID, 16), leaves: make(chan leave, 16)}
}

func (e *events) config(cfg *Config) *Config {
	cfg.OnJoin = func(s *Session) { e.joins <- s.ID() }
	cfg.OnLeave = func(err error, retry bool) { e.leaves <- leave{err, retry} }
	return cfg
}

// fastRetry reconnects within milliseconds.
func fastRetry() *Reconnect {
	return &Reconnect{InitialDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
}
