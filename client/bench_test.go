//go:build !js

package client

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
)

// BenchmarkCallFunc measures one call between two Go clients of an
// in-process router (transport/local: no encoding, no network), chained
// from the answer callback as the bench's sequential round trips are:
// its allocs/op are the two clients' and the router's on the call path.
func BenchmarkCallFunc(b *testing.B) {
	r, err := server.New(server.Config{Realms: []server.RealmConfig{{Name: "realm1"}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	join := func() *Session {
		c, s := local.Pair()
		go r.Serve(s)
		sess, err := JoinPeer(b.Context(), c, "realm1", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sess.Leave(context.Background()) })
		return sess
	}
	callee, caller := join(), join()
	if _, err := callee.Register(b.Context(), "com.example.echo", func(_ context.Context, inv *Invocation) (*Result, error) {
		return &Result{Args: inv.Args}, nil
	}); err != nil {
		b.Fatal(err)
	}
	args := wamp.List{1}
	done := make(chan error, 1)
	n := 0
	var answered func(*Result, error)
	call := func() {
		if _, err := caller.CallFunc(b.Context(), "com.example.echo", args, nil, answered); err != nil {
			done <- err
		}
	}
	answered = func(_ *Result, err error) {
		n++
		if err != nil || n == b.N {
			done <- err
			return
		}
		call()
	}
	b.ReportAllocs()
	b.ResetTimer()
	call()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
