package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/admission"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
)

// TestAdmissionCredit serves a router as wampd does, HTTP and raw sockets
// on one port, behind an admission.Listener whose bucket holds one token
// and refills once an hour: every connection after the first is accepted
// only because the one before gave its token back by joining.
func TestAdmissionCredit(t *testing.T) {
	r, err := server.New(server.Config{
		Realms: []server.RealmConfig{{Name: "realm1"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm := admission.NewListener(tcp, 1.0/3600, 1)
	httpLn, rawLn := rawsocket.NewSharedListener(adm, 0)
	raw, err := rawsocket.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r.Handler(server.HTTPConfig{})}
	go srv.Serve(httpLn)
	go raw.Serve(rawLn, r.Serve)
	defer srv.Close()
	defer adm.Close()
	addr := tcp.Addr().String()

	dial := []struct {
		name string
		dial func(ctx context.Context) (transport.Peer, error)
	}{
		{"websocket", func(ctx context.Context) (transport.Peer, error) {
			return websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
		}},
		{"rawsocket", func(ctx context.Context) (transport.Peer, error) {
			return rawsocket.Dial(ctx, "tcp", addr, nil)
		}},
	}
	join := func(ctx context.Context, d func(context.Context) (transport.Peer, error)) (transport.Peer, error) {
		p, err := d(ctx)
		if err != nil {
			return nil, err
		}
		hello := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}}
		if err := p.Send(hello); err != nil {
			p.Close()
			return nil, err
		}
		m, err := recvCtx(ctx, p)
		if err != nil {
			p.Close()
			return nil, err
		}
		if _, ok := m.(*wamp.Welcome); !ok {
			p.Close()
			return nil, errors.New("got " + m.Type().String() + ", want WELCOME")
		}
		return p, nil
	}

	// Sessions that join give their token back: six in a row, alternating
	// transports, each accepted at once.
	for i := range 6 {
		d := dial[i%2]
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		p, err := join(ctx, d.dial)
		cancel()
		if err != nil {
			t.Fatalf("session %d over %s: %v (its connection should have been accepted with the token the previous session gave back)", i, d.name, err)
		}
		defer p.Close()
	}

	// A session that breaks the protocol after joining (a client may not
	// send WELCOME) takes its token again.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	bad, err := join(ctx, dial[0].dial)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	bad.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}})
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	m, err := recvCtx(ctx, bad)
	cancel()
	if a, ok := m.(*wamp.Abort); !ok || a.Reason != wamp.ErrProtocolViolation {
		t.Fatalf("after sending WELCOME: %v, %v; want ABORT %s", m, err, wamp.ErrProtocolViolation)
	}
	bad.Close()

	// The bucket is empty now: the next connection is held unanswered,
	// and the one after it waits in the kernel's accept queue. (A session
	// is told WELCOME just before its token goes back, so the dials above
	// may have waited a moment: count from here.)
	waited := adm.Waited()
	for _, d := range dial {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		p, err := join(ctx, d.dial)
		cancel()
		if err == nil {
			p.Close()
			t.Fatalf("a %s session joined with an empty bucket", d.name)
		}
	}
	if got := adm.Waited() - waited; got != 1 {
		t.Errorf("connections that waited for a token: %d, want 1 (the first of the refused dials; the second is still in the accept queue)", got)
	}
}

// recvCtx is p.Recv bounded by ctx: p is closed when ctx ends first.
func recvCtx(ctx context.Context, p transport.Peer) (wamp.Message, error) {
	type result struct {
		m   wamp.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := p.Recv()
		done <- result{m, err}
	}()
	select {
	case res := <-done:
		return res.m, res.err
	case <-ctx.Done():
		p.Close()
		<-done
		return nil, ctx.Err()
	}
}
