package server

import (
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

func TestStatsCountTraffic(t *testing.T) {
	r := newTestRouter(t, Config{})
	callee := join(t, r)
	caller := join(t, r)
	callee.register("com.example.echo", nil)
	caller.subscribe("com.example.news", nil)

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.echo", Args: wamp.List{"hi"}})
	inv := expect[*wamp.Invocation](callee)
	time.Sleep(2 * time.Millisecond)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Args: inv.Args})
	expect[*wamp.Result](caller)

	callee.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.news"})
	expect[*wamp.Published](callee)
	expect[*wamp.Event](caller)

	// One call left waiting.
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.echo"})
	expect[*wamp.Invocation](callee)

	r.AuthFailed("ticket")
	r.AuthFailed("ticket")
	r.AuthFailed("made-up")

	st := r.Stats()
	wantIn := map[wamp.MessageType]uint64{wamp.TypeHello: 2, wamp.TypeRegister: 1, wamp.TypeSubscribe: 1, wamp.TypeCall: 2, wamp.TypeYield: 1, wamp.TypePublish: 1}
	wantOut := map[wamp.MessageType]uint64{wamp.TypeWelcome: 2, wamp.TypeRegistered: 1, wamp.TypeSubscribed: 1, wamp.TypeInvocation: 2, wamp.TypeResult: 1, wamp.TypePublished: 1, wamp.TypeEvent: 1}
	checkCounts(t, "in", st.MessagesIn, wantIn)
	checkCounts(t, "out", st.MessagesOut, wantOut)
	if n := st.Sessions[SessionKey{Realm: "realm1", Transport: "local"}]; n != 2 || len(st.Sessions) != 1 {
		t.Errorf("sessions %v, want 2 local sessions in realm1", st.Sessions)
	}
	if st.CallsInFlight != 1 {
		t.Errorf("calls in flight %d, want 1", st.CallsInFlight)
	}
	h := st.CallLatency
	if h.Count != 1 || h.Sum < 2*time.Millisecond || h.Sum > time.Second {
		t.Errorf("call latency count %d sum %v, want 1 call of 2 ms to 1 s", h.Count, h.Sum)
	}
	bounds := CallLatencyBounds()
	for i, b := range bounds {
		want := uint64(0)
		if b >= h.Sum {
			want = 1
		}
		if h.Buckets[i] != want {
			t.Errorf("bucket <= %v holds %d, want %d (sum %v)", b, h.Buckets[i], want, h.Sum)
		}
	}
	if st.AuthFailures["ticket"] != 2 || st.AuthFailures["other"] != 1 || len(st.AuthFailures) != 2 {
		t.Errorf("auth failures %v, want ticket 2, other 1", st.AuthFailures)
	}
	if st.SlowConsumers != 0 {
		t.Errorf("slow consumers %d, want 0", st.SlowConsumers)
	}
}

func checkCounts(t *testing.T, dir string, got, want map[wamp.MessageType]uint64) {
	t.Helper()
	for ty, n := range want {
		if got[ty] != n {
			t.Errorf("%s %s: %d, want %d", dir, ty, got[ty], n)
		}
	}
	for ty, n := range got {
		if _, ok := want[ty]; !ok {
			t.Errorf("%s %s: %d, want none", dir, ty, n)
		}
	}
}

func TestStatsSlowConsumer(t *testing.T) {
	r := newTestRouter(t, Config{MaxQueuedBytes: 4096})
	pub := join(t, r)
	sub := join(t, r)
	sub.subscribe("com.example.flood", nil)
	// sub reads nothing more: its local pipe fills, then its queue.
	for range 1000 {
		pub.send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.flood", Args: wamp.List{"some payload to fill the queue"}})
		if r.Stats().SlowConsumers > 0 {
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().SlowConsumers != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.Stats().SlowConsumers; n != 1 {
		t.Fatalf("slow consumers %d, want 1", n)
	}
	sub.expectClosedAfterFlood()
}

// expectClosedAfterFlood drains what the router wrote before it dropped
// the session, then checks that the connection is closed.
func (c *rawClient) expectClosedAfterFlood() {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("router did not end the session within 5 s")
	}
	for {
		if _, err := c.peer.Recv(); err != nil {
			return
		}
	}
}
