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

// A wrapped connection writes as the connection's Write does: all of a
// write, waiting while the peer does not read, or the deadline's error.
func TestConnWrites(t *testing.T) {
	a, b := tcpPair(t)
	wa := Wrap(a)
	if _, ok := wa.(*Conn); !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no raw system calls on linux")
		}
		t.Skipf("no raw system calls on %s: the connection's Read and Write are used", runtime.GOOS)
	}
	// More than the socket buffers hold: the writer waits for the reader.
	want := bytes.Repeat([]byte("abcdefgh"), 1<<19)
	done := make(chan error, 1)
	go func() {
		n, err := wa.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		if err == nil {
			err = wa.(*Conn).CloseWrite()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // the writer fills the buffers and parks
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(want))
	}

	// Nobody reads: the write waits until its deadline.
	c, _ := tcpPair(t)
	wc := Wrap(c)
	wc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := wc.Write(want)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(want) {
		t.Errorf("past the deadline: %d of %d bytes, %v", n, len(want), err)
	}
	b.Close()
	if _, err := Wrap(b).Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on a closed connection: %v", err)
	}
}
