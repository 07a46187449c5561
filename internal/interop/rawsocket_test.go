package interop

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
)

// TestAutobahnRawSocket runs Autobahn|JS's Node.js raw socket transport
// (JSON) against the router, over TCP and over a Unix socket, with the Go
// client on the same transport (js/rawsocket.mjs). The router pings every
// 100 ms and drops a session that leaves a PING unanswered for a second;
// the script idles longer than that.
func TestAutobahnRawSocket(t *testing.T) {
	requireNode(t)
	log := &routerLog{}
	r, err := server.New(server.Config{
		Realms:       []server.RealmConfig{{Name: realm}},
		Logger:       slog.New(log.handler()),
		PingInterval: 100 * time.Millisecond,
		PingTimeout:  time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "interop")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	unix, err := net.Listen("unix", filepath.Join(dir, "wamp.sock"))
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	for _, ln := range []net.Listener{tcp, unix} {
		serving.Go(func() { rawsocket.Serve(ln, nil, r.Serve) })
	}
	t.Cleanup(func() {
		tcp.Close()
		unix.Close()
		serving.Wait()
		r.Close()
	})

	for name, url := range map[string]string{
		"tcp":  "rs://" + tcp.Addr().String(),
		"unix": "unix://" + unix.Addr().String(),
	} {
		t.Run(name, func(t *testing.T) {
			e := &env{url: url, ser: "json", log: log}
			e.rawSocketPeer(t)
		})
	}
}

// rawSocketPeer: the Go client and two Autobahn|JS raw socket sessions
// call and publish to each other (js/rawsocket.mjs).
func (e *env) rawSocketPeer(t *testing.T) {
	ctx := t.Context()
	gs := e.join(t)
	if info := gs.Transport(); info.Transport != "rawsocket" {
		t.Fatalf("the Go client runs on %q", info.Transport)
	}
	register(t, gs, "com.example.rs.concat", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		var out string
		for _, a := range inv.Args {
			s, ok := a.(string)
			if !ok {
				return nil, wamp.NewError("com.example.error.bad_input", "want strings, got "+show(inv.Args))
			}
			out += s
		}
		return &client.Result{Args: wamp.List{out}}, nil
	})
	fromJS := make(chan *client.Event, 10)
	if _, err := gs.Subscribe(ctx, "com.example.rs.from_js", func(ev *client.Event) { fromJS <- ev }); err != nil {
		t.Fatalf("Go client: subscribe: %v", err)
	}

	s := e.start(t, "rawsocket.mjs")
	fail := func(format string, a ...any) {
		t.Helper()
		e.fatal(t, s, format, a...)
	}
	if err := s.waitLine("READY", 15*time.Second); err != nil {
		fail("%v", err)
	}
	select {
	case ev := <-fromJS:
		wantArgs := wamp.List{"hello from js", int64(1)}
		wantKwargs := wamp.Dict{"k": "v", "nested": wamp.Dict{"list": wamp.List{true, nil}}}
		if !reflect.DeepEqual(ev.Args, wantArgs) || !reflect.DeepEqual(ev.Kwargs, wantKwargs) {
			fail("event from JS: got %s %s, want %s %s", show(ev.Args), show(ev.Kwargs), show(wantArgs), show(wantKwargs))
		}
	case <-time.After(5 * time.Second):
		fail("the event from JS did not reach the Go subscriber")
	}
	res, err := gs.Call(ctx, "com.example.rs.add2", wamp.List{20, 22}, nil)
	if err != nil {
		fail("Go calls com.example.rs.add2: %v", err)
	}
	if !reflect.DeepEqual(res.Args, wamp.List{int64(42)}) {
		fail("com.example.rs.add2(20, 22) = %s, want [42]", show(res.Args))
	}
	if err := gs.Publish(ctx, "com.example.rs.to_js", wamp.List{"from go", 3}, wamp.Dict{"n": 1.5}, client.Acknowledge()); err != nil {
		fail("Go publishes: %v", err)
	}
	e.wait(t, s)
}
