//go:build !js

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/syncbuf"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// smallLimit is the largest message the router of startSmallRouter reads.
const smallLimit = 64 << 10

// startSmallRouter starts a router that reads messages of up to
// smallLimit bytes, announced to raw socket clients, and returns its
// rs:// URL.
func startSmallRouter(t *testing.T) string {
	t.Helper()
	r, err := server.New(server.Config{
		Realms:         []server.RealmConfig{{Name: "realm1"}},
		MaxMessageSize: smallLimit,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() { rawsocket.Serve(ln, &rawsocket.Config{ReadLimit: smallLimit}, r.Serve) })
	t.Cleanup(func() {
		ln.Close()
		serving.Wait()
		r.Close()
	})
	return "rs://" + ln.Addr().String()
}

// TestResultTooBigForRouter: a callee whose result is above the router's
// limit answers ERROR wamp.error.payload_size_exceeded at once, instead of
// leaving the caller to wait for its deadline, logs it at Warn level, and
// goes on serving.
func TestResultTooBigForRouter(t *testing.T) {
	url := startSmallRouter(t)
	logs := &syncbuf.Buffer{}
	callee := joinURL(t, url, &Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	big := strings.Repeat("x", 100<<10)
	if _, err := callee.Register(t.Context(), "com.example.size", func(_ context.Context, inv *Invocation) (*Result, error) {
		if inv.Args[0] == "big" {
			return &Result{Args: wamp.List{big}}, nil
		}
		return &Result{Args: wamp.List{"small"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(t.Context(), "com.example.bigerror", func(context.Context, *Invocation) (*Result, error) {
		return nil, wamp.NewError("com.example.error.big", big)
	}); err != nil {
		t.Fatal(err)
	}
	caller := joinURL(t, url, nil)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for _, proc := range []wamp.URI{"com.example.size", "com.example.bigerror"} {
		start := time.Now()
		_, err := caller.Call(ctx, proc, wamp.List{"big"}, nil)
		e, ok := errors.AsType[*wamp.Error](err)
		if !ok || e.URI != wamp.ErrPayloadSizeExceeded {
			t.Fatalf("call %s: %v, want %s", proc, err, wamp.ErrPayloadSizeExceeded)
		}
		if msg, _ := e.Args[0].(string); !strings.Contains(msg, "above the 65536 bytes") {
			t.Errorf("error message %q does not say why", msg)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the error took %v", d)
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "com.example.size") {
		t.Errorf("no warning in the callee's log:\n%s", logs)
	}
	res, err := caller.Call(ctx, "com.example.size", wamp.List{"small"}, nil)
	if err != nil || res.Args[0] != "small" {
		t.Fatalf("call after the refused result: %v, %v", res, err)
	}
}

// TestRequestTooBigForRouter: a CALL or PUBLISH above the router's limit
// fails at once with an error wrapping transport.ErrMessageTooBig, and
// the session goes on.
func TestRequestTooBigForRouter(t *testing.T) {
	url := startSmallRouter(t)
	s := joinURL(t, url, nil)
	if _, err := s.Register(t.Context(), "com.example.echo", echo); err != nil {
		t.Fatal(err)
	}
	big := wamp.List{strings.Repeat("x", 100<<10)}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	requests := map[string]func() error{
		"call": func() error { _, err := s.Call(ctx, "com.example.echo", big, nil); return err },
		"publish": func() error {
			return s.Publish(ctx, "com.example.topic", big, nil)
		},
		"acknowledged publish": func() error {
			return s.Publish(ctx, "com.example.topic", big, nil, Acknowledge())
		},
	}
	for name, request := range requests {
		start := time.Now()
		if err := request(); !errors.Is(err, transport.ErrMessageTooBig) {
			t.Errorf("%s: %v, want an error wrapping ErrMessageTooBig", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: the error took %v", name, d)
		}
	}
	res, err := s.Call(ctx, "com.example.echo", wamp.List{"small"}, nil)
	if err != nil || res.Args[0] != "small" {
		t.Fatalf("call after the refused ones: %v, %v", res, err)
	}
}

// encodingPeer is the client's end of a pipe that encodes every message
// it sends with JSON, as a real transport does, and refuses those above
// limit bytes (no limit when zero) the way raw sockets do.
type encodingPeer struct {
	*pipeEnd
	limit atomic.Int64
}

func (p *encodingPeer) Send(m wamp.Message) error {
	b, err := codec.JSON.Encode(nil, m)
	if err != nil {
		return fmt.Errorf("test: encode %v: %w", m.Type(), err)
	}
	if limit := p.limit.Load(); limit > 0 && int64(len(b)) > limit {
		return fmt.Errorf("test: %v of %d bytes is above %d: %w", m.Type(), len(b), limit, transport.ErrMessageTooBig)
	}
	return p.pipeEnd.Send(m)
}

// joinEncoding is join over an encodingPeer.
func joinEncoding(t *testing.T, cfg *Config) (*Session, *router, *encodingPeer) {
	t.Helper()
	c, rp := pipe()
	r := &router{t: t, peer: rp}
	go func() {
		if _, err := rp.Recv(); err != nil {
			return
		}
		rp.Send(&wamp.Welcome{Session: sessionID, Details: wamp.Dict{}})
	}()
	p := &encodingPeer{pipeEnd: c}
	s, err := JoinPeer(t.Context(), p, "realm1", cfg)
	if err != nil {
		t.Fatalf("JoinPeer: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		<-s.Done()
	})
	return s, r, p
}

// TestResultCannotBeEncoded: a result the serializer cannot carry (a JSON
// string that starts with U+0000, which JSON reserves for binary values)
// is answered with ERROR wamp.error.invalid_argument that says why.
func TestResultCannotBeEncoded(t *testing.T) {
	s, r, _ := joinEncoding(t, nil)
	const id = 77
	register(t, s, r, "com.example.nul", id, func(context.Context, *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{"\x00not binary"}}, nil
	})
	r.send(&wamp.Invocation{Request: 5, Registration: id, Details: wamp.Dict{}})
	e := expect[*wamp.ErrorMessage](r)
	if e.RequestType != wamp.TypeInvocation || e.Request != 5 || e.Error != wamp.ErrInvalidArgument {
		t.Fatalf("answer %v, want ERROR(INVOCATION) 5 %s", wamp.ToList(e), wamp.ErrInvalidArgument)
	}
	if msg, _ := e.Args[0].(string); !strings.Contains(msg, "U+0000") || !strings.Contains(msg, "com.example.nul") {
		t.Errorf("error message %q does not say why", msg)
	}
	r.send(&wamp.Invocation{Request: 6, Registration: id, Details: wamp.Dict{}})
	if e := expect[*wamp.ErrorMessage](r); e.Request != 6 {
		t.Fatalf("second answer %v", wamp.ToList(e))
	}
	select {
	case <-s.Done():
		t.Fatalf("the session ended: %v", s.Err())
	default:
	}
}

// TestAnswerCannotBeSentAtAll: when not even the ERROR that replaces a
// refused answer can be sent, the session is broken and ends, rather than
// leaving the caller waiting.
func TestAnswerCannotBeSentAtAll(t *testing.T) {
	s, r, p := joinEncoding(t, nil)
	p.limit.Store(60)
	const id = 77
	register(t, s, r, "p", id, func(context.Context, *Invocation) (*Result, error) {
		return &Result{Args: wamp.List{strings.Repeat("x", 100)}}, nil
	})
	r.send(&wamp.Invocation{Request: 5, Registration: id, Details: wamp.Dict{}})
	select {
	case <-s.Done():
	case <-time.After(wait):
		t.Fatal("the session did not end")
	}
	if err := s.Err(); !errors.Is(err, transport.ErrMessageTooBig) || !strings.Contains(err.Error(), "cannot answer invocation 5") {
		t.Errorf("Err() = %v", err)
	}
	r.closed()
}

// TestCallStreamLastPartTooBig: a stream whose last part is too big for
// the router fails Close at once and cancels the call, so that the
// callee, which waits for that part, is interrupted; an earlier part that
// is too big fails alone.
func TestCallStreamLastPartTooBig(t *testing.T) {
	url := startSmallRouter(t)
	callee := joinURL(t, url, nil)
	ended := make(chan error, 1)
	if _, err := callee.Register(t.Context(), "com.example.parts", func(ctx context.Context, inv *Invocation) (*Result, error) {
		n := 0
		for {
			_, err := inv.Next(ctx)
			if err == io.EOF {
				return &Result{Args: wamp.List{n}}, nil
			}
			if err != nil {
				ended <- context.Cause(ctx)
				return nil, err
			}
			n++
		}
	}); err != nil {
		t.Fatal(err)
	}
	caller := joinURL(t, url, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	cs, err := caller.CallStream(ctx, "com.example.parts")
	if err != nil {
		t.Fatal(err)
	}
	big := wamp.List{strings.Repeat("x", 100<<10)}
	if err := cs.Send(wamp.List{"first"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(big, nil); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Send of a part too big: %v, want ErrMessageTooBig", err)
	}
	if err := cs.Send(wamp.List{"second"}, nil); err != nil {
		t.Fatalf("Send after the refused part: %v", err)
	}
	start := time.Now()
	if _, err := cs.Close(big, nil); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Close with a last part too big: %v, want ErrMessageTooBig", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-ended:
		if ie, ok := errors.AsType[*InterruptError](err); !ok || ie.Reason != wamp.ErrCanceled {
			t.Errorf("the callee's Next ended by %v, want an interrupt with %s", err, wamp.ErrCanceled)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the callee still waits for the last part")
	}
}
