package server

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestPublishSubscribe(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub, s1, s2 := join(t, r), join(t, r), join(t, r)
	id1 := s1.subscribe("com.example.topic", nil)
	id2 := s2.subscribe("com.example.topic", nil)
	if id1 != id2 {
		t.Fatalf("subscribers of one topic got IDs %d and %d, want one shared ID", id1, id2)
	}
	pub.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic",
		Args: wamp.List{"hello", int64(42)}, Kwargs: wamp.Dict{"k": []byte{1, 2}}})
	p := expect[*wamp.Published](pub)
	if p.Request != 1 || p.Publication == 0 {
		t.Fatalf("PUBLISHED %+v", p)
	}
	for _, s := range []*rawClient{s1, s2} {
		ev := expect[*wamp.Event](s)
		if ev.Subscription != id1 || ev.Publication != p.Publication || ev.Args[0] != "hello" || ev.Args[1] != int64(42) {
			t.Fatalf("EVENT %+v", ev)
		}
	}
}

func TestSubscribeTwiceReturnsSameID(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := join(t, r)
	a := c.subscribe("com.example.t", nil)
	b := c.subscribe("com.example.t", nil)
	if a != b {
		t.Fatalf("IDs %d, %d", a, b)
	}
	c.send(&wamp.Unsubscribe{Request: 10, Subscription: a})
	expect[*wamp.Unsubscribed](c)
	c.send(&wamp.Unsubscribe{Request: 11, Subscription: a})
	c.expectError(wamp.TypeUnsubscribe, 11, wamp.ErrNoSuchSubscription)
}

func TestExcludeMe(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := join(t, r)
	c.subscribe("com.example.t", nil)
	// Default: excluded. EVENTs to the publisher would be queued before
	// PUBLISHED, so PUBLISHED arriving first proves the exclusion.
	c.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.t"})
	expect[*wamp.Published](c)
	c.send(&wamp.Publish{Request: 2, Options: wamp.Dict{"acknowledge": true, "exclude_me": false}, Topic: "com.example.t", Args: wamp.List{"me"}})
	ev := expect[*wamp.Event](c)
	if ev.Args[0] != "me" {
		t.Fatalf("EVENT %+v", ev)
	}
	expect[*wamp.Published](c)
}

func TestUnsubscribeStopsEvents(t *testing.T) {
	r := newTestRouter(t, Config{})
	pub, sub := join(t, r), join(t, r)
	id := sub.subscribe("com.example.t", nil)
	sub.send(&wamp.Unsubscribe{Request: 5, Subscription: id})
	if u := expect[*wamp.Unsubscribed](sub); u.Request != 5 {
		t.Fatalf("UNSUBSCRIBED %+v", u)
	}
	pub.send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.t"})
	// A later subscription receives the next event, and only it.
	sub.subscribe("com.example.u", nil)
	pub.send(&wamp.Publish{Request: 2, Options: wamp.Dict{}, Topic: "com.example.u", Args: wamp.List{"u"}})
	if ev := expect[*wamp.Event](sub); ev.Args[0] != "u" {
		t.Fatalf("got event %v after unsubscribing", ev.Args)
	}
}

func TestPublishErrors(t *testing.T) {
	r := newTestRouter(t, Config{})
	c := join(t, r)
	c.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "bad topic"})
	c.expectError(wamp.TypePublish, 1, wamp.ErrInvalidURI)
	c.send(&wamp.Publish{Request: 2, Options: wamp.Dict{"acknowledge": true}, Topic: "wamp.session.on_join"})
	c.expectError(wamp.TypePublish, 2, wamp.ErrNotAuthorized)
	c.send(&wamp.Subscribe{Request: 3, Options: wamp.Dict{}, Topic: "a..b"})
	c.expectError(wamp.TypeSubscribe, 3, wamp.ErrInvalidURI)
	// Without acknowledge, a failed publication is silent; the session
	// goes on.
	c.send(&wamp.Publish{Request: 4, Options: wamp.Dict{}, Topic: "bad topic"})
	c.subscribe("com.example.ok", nil)
}

func TestStrictURIs(t *testing.T) {
	r := newTestRouter(t, Config{StrictURIs: true})
	c := join(t, r)
	c.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.Example.t"})
	c.expectError(wamp.TypeSubscribe, 1, wamp.ErrInvalidURI)
	c.subscribe("com.example.t", nil)
}

// countingCodec counts the EVENTs a codec encodes.
type countingCodec struct {
	codec.Codec
	events *atomic.Int64
}

func (c countingCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	if m.Type() == wamp.TypeEvent {
		c.events.Add(1)
	}
	return c.Codec.Encode(dst, m)
}

// encodingPeer is a transport that encodes every message it is sent, as
// a real one does, and hands them to a channel.
type encodingPeer struct {
	transport.Peer
	codec codec.Codec
	got   chan []byte
}

func (p *encodingPeer) Send(m wamp.Message) error {
	data, err := codec.Marshal(p.codec, m)
	if err != nil {
		return err
	}
	if m.Type() == wamp.TypeEvent {
		p.got <- data
		return nil
	}
	return p.Peer.Send(m)
}

func TestFanOutEncodesOncePerSerializer(t *testing.T) {
	r := newTestRouter(t, Config{})
	var jsonEvents, msgpackEvents atomic.Int64
	codecs := []codec.Codec{
		countingCodec{codec.JSON, &jsonEvents},
		countingCodec{codec.MessagePack, &msgpackEvents},
	}
	const n = 1000
	got := make(chan []byte, n)
	for i := range n {
		c := connectWrapped(t, r, func(p transport.Peer) transport.Peer {
			return &encodingPeer{Peer: p, codec: codecs[i%2], got: got}
		})
		joinRaw(c, "realm1", allRoles).subscribe("com.example.fanout", nil)
	}
	pub := join(t, r)
	pub.send(&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.fanout", Args: wamp.List{"x"}})
	expect[*wamp.Published](pub)
	deadline := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("%d of %d subscribers got the event", i, n)
		}
	}
	if j, m := jsonEvents.Load(), msgpackEvents.Load(); j != 1 || m != 1 {
		t.Fatalf("EVENT encoded %d times as JSON and %d as msgpack for %d subscribers, want once each", j, m, n)
	}
}

func TestSlowConsumerIsDisconnected(t *testing.T) {
	r := newTestRouter(t, Config{MaxQueuedBytes: 64 << 10})
	pub, fast := join(t, r), join(t, r)
	slow := join(t, r)
	slow.subscribe("com.example.flood", nil)
	fast.subscribe("com.example.flood", nil)
	payload := string(make([]byte, 1024))
	const n = 400 // 400 KiB, far above the slow subscriber's budget
	// Paced publications: the fast subscriber reads each event before the
	// next is published, while the slow one never reads.
	for i := range n {
		pub.send(&wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.flood", Args: wamp.List{payload}})
		expect[*wamp.Published](pub)
		if ev := expect[*wamp.Event](fast); ev.Args[0] != payload {
			t.Fatalf("event %d damaged", i)
		}
	}
	select {
	case <-slow.done:
	case <-time.After(5 * time.Second):
		t.Fatal("slow consumer still connected")
	}
	pub.send(&wamp.Publish{Request: 9999, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.flood"})
	expect[*wamp.Published](pub)
}
