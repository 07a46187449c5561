package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
)

func TestLoadFlagsOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--admit-rate", "-1"}, "--admit-rate: -1 is negative"},
		{[]string{"--admit-burst", "0"}, "--admit-burst: 0 is less than 1"},
		{[]string{"--gc-heap-floor", "-1"}, "--gc-heap-floor: -1 is negative"},
	} {
		err := run(t.Context(), append([]string{"--addr", "127.0.0.1:0"}, tc.args...), io.Discard, io.Discard, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestAdmitPacesConnectionsThatProveNothing runs wampd with a bucket of two
// tokens refilled once in 1000 s: sessions that join keep getting in, over
// WebSocket and raw sockets on the HTTP port, while two connections that
// send nothing leave the next one waiting.
func TestAdmitPacesConnectionsThatProveNothing(t *testing.T) {
	addr, _ := startWampd(t, "--admit-rate", "0.001", "--admit-burst", "2", "--realm", "realm1")
	for i, url := range []string{"ws://" + addr + "/ws", "rs://" + addr, "ws://" + addr + "/ws", "rs://" + addr, "ws://" + addr + "/ws"} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		s, err := client.Join(ctx, url, "realm1", nil)
		cancel()
		if err != nil {
			t.Fatalf("session %d at %s: %v", i, url, err)
		}
		defer s.Leave(context.Background())
	}
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	s, err := client.Join(ctx, "ws://"+addr+"/ws", "realm1", nil)
	if err == nil {
		s.Leave(context.Background())
		t.Fatal("a session joined after two connections that proved nothing spent the bucket")
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Errorf("join with an empty bucket: %v, want a deadline error (the connection waits unanswered)", err)
	}
}
