package server_test

import (
	"context"
	"testing"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// BenchmarkRoutedCall measures one routed call, CALL → INVOCATION → YIELD
// → RESULT, between two raw peers: in process (transport/local, no
// encoding) and over WebSocket on loopback with each serializer. Its
// allocs/op are the router's and the transports', the figure to watch
// on the routing path.
func BenchmarkRoutedCall(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		r, _ := startRouter(b, server.Config{})
		benchRoutedCall(b, func() transport.Peer {
			c, s := local.Pair()
			go r.Serve(s)
			return c
		})
	})
	for _, c := range codec.All {
		b.Run("websocket/"+c.Name(), func(b *testing.B) {
			_, url := startRouter(b, server.Config{})
			benchRoutedCall(b, func() transport.Peer {
				p, err := websocket.Dial(b.Context(), url, &websocket.DialOptions{Codecs: []codec.Codec{c}})
				if err != nil {
					b.Fatal(err)
				}
				return p
			})
		})
	}
}

// benchRoutedCall joins a callee and a caller over peers from connect and
// times sequential calls between them.
func benchRoutedCall(b *testing.B, connect func() transport.Peer) {
	roles := wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}
	join := func() transport.Peer {
		p := connect()
		if err := p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}}); err != nil {
			b.Fatal(err)
		}
		if m, err := p.Recv(); err != nil || m.Type() != wamp.TypeWelcome {
			b.Fatalf("join: got %v, %v; want WELCOME", m, err)
		}
		return p
	}
	callee, caller := join(), join()
	defer caller.Close()
	defer callee.Close()
	if err := callee.Send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.echo"}); err != nil {
		b.Fatal(err)
	}
	if m, err := callee.Recv(); err != nil || m.Type() != wamp.TypeRegistered {
		b.Fatalf("register: got %v, %v; want REGISTERED", m, err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			m, err := callee.Recv()
			if err != nil {
				return
			}
			inv, ok := m.(*wamp.Invocation)
			if !ok {
				continue
			}
			if err := callee.Send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: inv.Args}); err != nil {
				return
			}
		}
	}()
	args := wamp.List{int64(1)}
	b.ReportAllocs()
	var req wamp.ID
	for b.Loop() {
		req++
		if err := caller.Send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.echo", Args: args}); err != nil {
			b.Fatal(err)
		}
		m, err := caller.Recv()
		if err != nil {
			b.Fatal(err)
		}
		if r, ok := m.(*wamp.Result); !ok || r.Request != req {
			b.Fatalf("got %v, want RESULT for request %d", m, req)
		}
	}
}

// BenchmarkJoinLeave measures a session's life with nothing in it, in
// process: HELLO → WELCOME, then GOODBYE answered by GOODBYE. Its
// allocs/op are what every connection costs the router beyond its
// transport, the figure behind the join rate and connection churn.
func BenchmarkJoinLeave(b *testing.B) {
	r, _ := startRouter(b, server.Config{})
	roles := wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}
	b.ReportAllocs()
	for b.Loop() {
		c, s := local.Pair()
		go r.Serve(s)
		if err := c.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}}); err != nil {
			b.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || m.Type() != wamp.TypeWelcome {
			b.Fatalf("join: got %v, %v; want WELCOME", m, err)
		}
		if err := c.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.normal"}); err != nil {
			b.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || m.Type() != wamp.TypeGoodbye {
			b.Fatalf("leave: got %v, %v; want GOODBYE", m, err)
		}
		c.Close()
	}
}
