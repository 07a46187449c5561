package client

import (
	"context"
	"fmt"

	"github.com/wampkit/wampkit/wamp"
)

// A session registers a procedure and calls it. A real program joins a
// router with Join(ctx, "ws://127.0.0.1:8080/ws", "realm1", nil); here a
// tiny in-process router stands in for it.
func Example() {
	ctx := context.Background()
	s, err := JoinPeer(ctx, loopbackRouter(), "realm1", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Leave(ctx)

	_, err = s.Register(ctx, "com.example.add", func(_ context.Context, inv *Invocation) (*Result, error) {
		a, _ := wamp.AsInt(inv.Args[0])
		b, _ := wamp.AsInt(inv.Args[1])
		return &Result{Args: wamp.List{a + b}}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Call(ctx, "com.example.add", wamp.List{2, 3}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Args[0])
	// Output: 5
}

// loopbackRouter returns the client end of a connection to a router that
// serves one session, which calls its own procedures.
func loopbackRouter() *pipeEnd {
	c, r := pipe()
	go func() {
		defer r.Close()
		procs := map[wamp.URI]wamp.ID{} // registration IDs
		for {
			m, err := r.Recv()
			if err != nil {
				return
			}
			switch m := m.(type) {
			case *wamp.Hello:
				r.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}})
			case *wamp.Register:
				procs[m.Procedure] = m.Request
				r.Send(&wamp.Registered{Request: m.Request, Registration: m.Request})
			case *wamp.Call:
				// The invocation reuses the call's request ID.
				r.Send(&wamp.Invocation{Request: m.Request, Registration: procs[m.Procedure], Details: wamp.Dict{}, Args: m.Args})
			case *wamp.Yield:
				r.Send(&wamp.Result{Request: m.Request, Details: wamp.Dict{}, Args: m.Args})
			case *wamp.Goodbye:
				r.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
				return
			}
		}
	}()
	return c
}
