package local_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestRoundTrip(t *testing.T) {
	client, server := local.Pair()
	defer client.Close()
	hello := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{}}}
	if err := client.Send(hello); err != nil {
		t.Fatal(err)
	}
	m, err := server.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if m != wamp.Message(hello) {
		t.Errorf("server got %#v, want the same value as sent", m)
	}
	welcome := &wamp.Welcome{Session: 9, Details: wamp.Dict{}}
	if err := server.Send(welcome); err != nil {
		t.Fatal(err)
	}
	if m, err := client.Recv(); err != nil || m != wamp.Message(welcome) {
		t.Errorf("client got %#v, %v", m, err)
	}
	want := transport.Info{Transport: "local"}
	if client.Info() != want || server.Info() != want {
		t.Errorf("Info() = %+v, %+v; want %+v", client.Info(), server.Info(), want)
	}
}

func TestPreparedIsUnwrapped(t *testing.T) {
	client, server := local.Pair()
	defer client.Close()
	event := &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}}
	p := codec.Prepare(event)
	if err := server.Send(p); err != nil {
		t.Fatal(err)
	}
	m, err := client.Recv()
	if err != nil || m != wamp.Message(event) {
		t.Errorf("client got %#v, %v; want the EVENT inside", m, err)
	}
	if p.Encodings() != 0 {
		t.Errorf("Encodings() = %d, want 0: local peers do not encode", p.Encodings())
	}
}

func TestSendNil(t *testing.T) {
	client, _ := local.Pair()
	defer client.Close()
	if err := client.Send(nil); err == nil || errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send(nil) = %v, want an error", err)
	}
}

func TestOrderUnderConcurrency(t *testing.T) {
	client, server := local.Pair()
	defer client.Close()
	const n = 10 * local.Capacity
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := client.Send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "t"}); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
	})
	wg.Go(func() { // the other direction at the same time
		for i := range n {
			if err := server.Send(&wamp.Published{Request: wamp.ID(i + 1), Publication: 1}); err != nil {
				t.Errorf("server Send %d: %v", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			m, err := client.Recv()
			if err != nil || m.(*wamp.Published).Request != wamp.ID(i+1) {
				t.Errorf("client Recv %d: %#v, %v", i, m, err)
				return
			}
		}
	})
	for i := range n {
		m, err := server.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*wamp.Publish).Request; got != wamp.ID(i+1) {
			t.Fatalf("message %d has request %d", i, got)
		}
	}
	wg.Wait()
}

func TestSendBlocksWhenFull(t *testing.T) {
	client, server := local.Pair()
	goodbye := &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut}
	for i := range local.Capacity {
		if err := client.Send(goodbye); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	sent := make(chan error, 1)
	go func() { sent <- client.Send(goodbye) }()
	select {
	case err := <-sent:
		t.Fatalf("Send beyond the capacity returned %v at once, want it to block", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := server.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Errorf("Send after room was made: %v", err)
	}
	// A blocked Send is released by Close, from either end.
	go func() { sent <- client.Send(goodbye) }()
	time.Sleep(20 * time.Millisecond)
	server.Close()
	if err := <-sent; !errors.Is(err, transport.ErrClosed) {
		t.Errorf("blocked Send after Close: %v, want ErrClosed", err)
	}
}

func TestCloseUnblocksRecvOnBothEnds(t *testing.T) {
	for _, closer := range []string{"client", "server"} {
		t.Run(closer, func(t *testing.T) {
			client, server := local.Pair()
			errs := make(chan error, 2)
			for _, p := range []transport.Peer{client, server} {
				go func() {
					_, err := p.Recv()
					errs <- err
				}()
			}
			time.Sleep(20 * time.Millisecond)
			p := client
			if closer == "server" {
				p = server
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			for range 2 {
				select {
				case err := <-errs:
					if !errors.Is(err, transport.ErrClosed) {
						t.Errorf("Recv: %v, want ErrClosed", err)
					}
				case <-time.After(time.Second):
					t.Fatal("Recv still blocked after Close")
				}
			}
			if err := p.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestOtherEndDrainsAfterClose(t *testing.T) {
	client, server := local.Pair()
	for i := range 3 {
		if err := client.Send(&wamp.Call{Request: wamp.ID(i + 1), Procedure: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := server.Send(&wamp.Result{Request: 1}); err != nil {
		t.Fatal(err)
	}
	client.Close()
	for i := range 3 {
		m, err := server.Recv()
		if err != nil || m.(*wamp.Call).Request != wamp.ID(i+1) {
			t.Fatalf("Recv %d after the client closed: %#v, %v", i, m, err)
		}
	}
	if _, err := server.Recv(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Recv after draining: %v, want ErrClosed", err)
	}
	// The closing end does not read what is left for it.
	if _, err := client.Recv(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Recv on the closed end: %v, want ErrClosed", err)
	}
	for _, p := range []transport.Peer{client, server} {
		if err := p.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut}); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send after Close: %v, want ErrClosed", err)
		}
	}
}
