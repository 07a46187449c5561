package nbconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// The Reader returns what its connection's Read would: the bytes in order,
// io.EOF after the peer's close, the connection's deadline and close errors.
func TestReader(t *testing.T) {
	a, b := tcpPair(t)
	r := NewReader(a)
	if r == nil && runtime.GOOS == "linux" {
		t.Fatal("no raw reads on linux")
	}
	if r == nil {
		t.Skipf("no raw reads on %s: the connection's Read is used", runtime.GOOS)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}

	// Written in pieces while the reader waits: it parks until each comes.
	want := bytes.Repeat([]byte("0123456789"), 10000)
	go func() {
		for p := want; len(p) > 0; p = p[min(len(p), 7000):] {
			time.Sleep(time.Millisecond)
			b.Write(p[:min(len(p), 7000)])
		}
		b.Close()
	}()
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(want))
	}

	c, _ := tcpPair(t)
	rc := NewReader(c)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := rc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("past the deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Close()
	}()
	if _, err := rc.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closed while reading: %v", err)
	}
}

// A connection without a raw side (TLS, a pipe) has no Reader.
func TestReaderNeedsRawConn(t *testing.T) {
	a, _ := net.Pipe()
	defer a.Close()
	if r := NewReader(a); r != nil {
		t.Error("a Reader of a pipe")
	}
}
