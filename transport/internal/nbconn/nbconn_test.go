//go:build !js

package nbconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func TestWritesInOrderAndDrain(t *testing.T) {
	for name, pair := range map[string]func(t *testing.T) (net.Conn, net.Conn){
		"tcp":  tcpPair,
		"pipe": func(*testing.T) (net.Conn, net.Conn) { return net.Pipe() }, // no raw conn: the flusher writes all
	} {
		t.Run(name, func(t *testing.T) {
			a, b := pair(t)
			w := New(a, 8<<20)
			var want bytes.Buffer
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
			for i := range 64 {
				chunk[0] = byte(i)
				want.Write(chunk)
				if _, err := w.Write(chunk); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			got := make(chan []byte, 1)
			go func() {
				buf := make([]byte, want.Len())
				io.ReadFull(b, buf)
				got <- buf
			}()
			if !w.Drain(5 * time.Second) {
				t.Fatal("Drain did not finish")
			}
			if !bytes.Equal(<-got, want.Bytes()) {
				t.Error("the reader got other bytes than were written")
			}
			a.Close()
		})
	}
}

// TestBufferLimit: writes to a connection whose reader stalls never block;
// past the limit they fail with ErrBufferFull and the connection closes.
func TestBufferLimit(t *testing.T) {
	a, b := tcpPair(t)
	w := New(a, 256<<10)
	chunk := make([]byte, 64<<10)
	done := make(chan error, 1)
	go func() {
		for range 10000 {
			if _, err := w.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBufferFull) || !errors.Is(err, transport.ErrSlowConsumer) {
			t.Fatalf("write: %v, want ErrBufferFull wrapping ErrSlowConsumer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a reader that stalls")
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrBufferFull) {
		t.Errorf("write after the overflow: %v, want the same error", err)
	}
	if w.Drain(time.Second) {
		t.Error("Drain reported success on a dropped connection")
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, b); err != nil {
		t.Errorf("the other side sees %v, want the end of the stream", err)
	}
}
