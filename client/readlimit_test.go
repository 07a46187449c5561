//go:build !js

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// fakeRawRouter is a raw socket router made of bytes: it answers the
// handshake and HELLO of one client, then sends what the test tells it.
type fakeRawRouter struct {
	url       string
	handshake chan [4]byte // the client's handshake
	conn      chan net.Conn
}

func startFakeRawRouter(t *testing.T) *fakeRawRouter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRawRouter{url: "rs://" + ln.Addr().String(), handshake: make(chan [4]byte, 1), conn: make(chan net.Conn, 1)}
	accepted := make(chan net.Conn, 1)
	t.Cleanup(func() {
		ln.Close()
		if conn := <-accepted; conn != nil {
			conn.Close()
		}
	})
	go func() {
		conn, err := ln.Accept()
		accepted <- conn
		if err != nil {
			return
		}
		var hs [4]byte
		if _, err := io.ReadFull(conn, hs[:]); err != nil {
			return
		}
		f.handshake <- hs
		// JSON, and the router reads up to 16 MiB.
		if _, err := conn.Write([]byte{0x7F, 0xF1, 0, 0}); err != nil {
			return
		}
		var h [4]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, conn, int64(h[1])<<16|int64(h[2])<<8|int64(h[3])); err != nil {
			return
		}
		writeFrame(conn, []byte(`[2,4242,{"authid":"alice","authrole":"user"}]`))
		f.conn <- conn
	}()
	return f
}

// joinFake joins the fake router at url. The fake answers no GOODBYE: at
// the test's end, Leave gives up waiting for it.
func joinFake(t *testing.T, url string, cfg *Config) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := Join(ctx, url, "realm1", cfg)
	if err != nil {
		t.Fatalf("Join %s: %v", url, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Leave(ctx)
		<-s.Done()
	})
	return s
}

// writeFrame writes data as a raw socket message frame.
func writeFrame(w io.Writer, data []byte) error {
	n := len(data)
	_, err := w.Write(append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, data...))
	return err
}

// paddedError is an ERROR for request 99, which the client never made, of
// exactly n bytes in JSON.
func paddedError(n int) []byte {
	const format = `[8,48,99,{},"wamp.error.x",["%s"]]`
	return fmt.Appendf(nil, format, strings.Repeat("x", n-len(format)+2))
}

// TestMaxMessageSizeAnnounced: Config.MaxMessageSize is the read limit a
// raw socket client announces, rounded down to a power of two within the
// protocol's bounds.
func TestMaxMessageSizeAnnounced(t *testing.T) {
	for size, want := range map[int64]byte{0: 0xB1, 4096: 0x31, 5000: 0x31, 1 << 24: 0xF1, 64 << 20: 0xF1} {
		f := startFakeRawRouter(t)
		s := joinFake(t, f.url, &Config{MaxMessageSize: size})
		if hs := <-f.handshake; hs != [4]byte{0x7F, want, 0, 0} {
			t.Errorf("MaxMessageSize %d: handshake % x, want 7f %02x 00 00", size, hs, want)
		}
		(<-f.conn).Close()
		<-s.Done()
	}
}

// TestMaxMessageSizeRefused: a frame above the announced limit closes the
// client's connection and ends the session with an error wrapping
// transport.ErrMessageTooBig; a frame at the limit is taken.
func TestMaxMessageSizeRefused(t *testing.T) {
	f := startFakeRawRouter(t)
	s := joinFake(t, f.url, &Config{MaxMessageSize: 4096})
	conn := <-f.conn
	if err := writeFrame(conn, paddedError(4096)); err != nil {
		t.Fatal(err)
	}
	if err := writeFrame(conn, paddedError(4097)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(wait):
		t.Fatal("the session did not end")
	}
	if err := s.Err(); !errors.Is(err, transport.ErrMessageTooBig) || !strings.Contains(err.Error(), "a frame of 4097 bytes is above the limit of 4096") {
		t.Fatalf("Err() = %v, want ErrMessageTooBig for the frame of 4097 bytes", err)
	}
	// The client closes with the oversized frame's body unread: a reset.
	conn.SetReadDeadline(time.Now().Add(wait))
	if n, err := io.Copy(io.Discard, conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the client did not close the connection: %v (after %d bytes)", err, n)
	}
}

// TestMaxMessageSizeOverWebSocket: Config.MaxMessageSize bounds what a
// WebSocket client reads too: an event above it loses the session.
func TestMaxMessageSizeOverWebSocket(t *testing.T) {
	tr := startRouter(t)
	sub := joinURL(t, tr.wsURL("/ws"), &Config{MaxMessageSize: 4096})
	got := make(chan int, 2)
	if _, err := sub.Subscribe(t.Context(), "com.example.topic", func(ev *Event) {
		got <- len(ev.Args[0].(string))
	}); err != nil {
		t.Fatal(err)
	}
	pub := joinURL(t, tr.wsURL("/ws"), nil)
	for _, n := range []int{3000, 5000} {
		if err := pub.Publish(t.Context(), "com.example.topic", wamp.List{strings.Repeat("x", n)}, nil, Acknowledge()); err != nil {
			t.Fatal(err)
		}
	}
	if n := within(t, got); n != 3000 {
		t.Fatalf("event of %d bytes, want 3000", n)
	}
	select {
	case <-sub.Done():
	case <-time.After(wait):
		t.Fatal("the session did not end")
	}
	if err := sub.Err(); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Err() = %v, want ErrMessageTooBig", err)
	}
}

// TestMaxMessageSizeChecked: Join refuses a MaxMessageSize that no
// transport can announce.
func TestMaxMessageSizeChecked(t *testing.T) {
	for _, size := range []int64{-1, 1, 511} {
		_, err := Join(context.Background(), "ws://127.0.0.1:1/ws", "realm1", &Config{MaxMessageSize: size})
		if err == nil || !strings.Contains(err.Error(), "MaxMessageSize") {
			t.Errorf("MaxMessageSize %d: %v", size, err)
		}
	}
}
