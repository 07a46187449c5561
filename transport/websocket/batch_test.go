//go:build !js

package websocket_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// TestSendBatch writes batches of small and large messages, corked into
// one write on plain subprotocols and one frame on batched ones, while
// pings cross the same connection, and checks that every message arrives
// whole and in order.
func TestSendBatch(t *testing.T) {
	for _, batched := range []bool{false, true} {
		for _, c := range codec.All {
			t.Run(codec.Subprotocol(c, batched), func(t *testing.T) {
				s := newServer(t, nil)
				client, srv := connect(t, s, &websocket.DialOptions{Codecs: []codec.Codec{c}, Batched: batched})
				bs, ok := srv.(transport.BatchSender)
				if !ok {
					t.Fatal("the accepted peer is not a BatchSender")
				}
				// The server reads so that pongs from the client arrive.
				go func() {
					for {
						if _, err := srv.Recv(); err != nil {
							return
						}
					}
				}()
				stopPings := make(chan struct{})
				pingsDone := make(chan struct{})
				go func() {
					defer close(pingsDone)
					for {
						select {
						case <-stopPings:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						srv.(transport.Pinger).Ping(ctx)
						cancel()
					}
				}()
				const batches, perBatch = 20, 25
				go func() {
					n := 0
					for range batches {
						ms := make([]wamp.Message, perBatch)
						for i := range ms {
							size := 10
							if n%7 == 0 {
								size = 3000 // larger than the connection's buffers
							}
							ms[i] = &wamp.Event{Subscription: 1, Publication: wamp.ID(n + 1), Details: wamp.Dict{}, Args: wamp.List{strings.Repeat("x", size)}}
							n++
						}
						if err := bs.SendBatch(ms); err != nil {
							t.Errorf("SendBatch: %v", err)
							return
						}
					}
				}()
				// The client reads in its own goroutine, which also answers
				// the pings.
				for n := range batches * perBatch {
					ev, ok := recv(t, client).(*wamp.Event)
					if !ok || ev.Publication != wamp.ID(n+1) {
						t.Fatalf("message %d: got %+v", n, ev)
					}
					want := 10
					if n%7 == 0 {
						want = 3000
					}
					if len(ev.Args[0].(string)) != want {
						t.Fatalf("message %d damaged", n)
					}
				}
				close(stopPings)
				<-pingsDone
			})
		}
	}
}
