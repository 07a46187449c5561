//go:build !js

package rawsocket

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// fakeConn reads a fixed input and records each write.
type fakeConn struct {
	in *bytes.Reader

	mu     sync.Mutex
	writes [][]byte
	closed bool
}

func (c *fakeConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.in.Read(p)
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *fakeConn) writeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func (*fakeConn) LocalAddr() net.Addr                { return &net.UnixAddr{Name: "/fake", Net: "unix"} }
func (*fakeConn) RemoteAddr() net.Addr               { return &net.UnixAddr{Net: "unix"} }
func (*fakeConn) SetDeadline(t time.Time) error      { return nil }
func (*fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (*fakeConn) SetWriteDeadline(t time.Time) error { return nil }

// TestBatchInOneWrite: SendBatch hands all its frames to the connection in
// one write, on both sides.
func TestBatchInOneWrite(t *testing.T) {
	batch := []wamp.Message{
		&wamp.Published{Request: 1, Publication: 2},
		codec.Prepare(&wamp.Event{Subscription: 3, Publication: 4, Details: wamp.Dict{}}),
		&wamp.Result{Request: 5, Details: wamp.Dict{}, Args: wamp.List{"x"}},
	}
	for _, writeLimit := range []int{0, 1 << 20} {
		conn := &fakeConn{in: bytes.NewReader(nil)}
		p := newPeer(peerConfig{conn: conn, codec: codec.JSON, sendLimit: 1 << 20, maxRead: 1 << 20, writeLimit: writeLimit})
		if err := p.SendBatch(batch); err != nil {
			t.Fatal(err)
		}
		p.Close() // drains the background writer
		if n := conn.writeCount(); n != 1 {
			t.Fatalf("write limit %d: %d writes, want 1", writeLimit, n)
		}
		var want []byte
		for _, m := range batch {
			enc, err := codec.Marshal(codec.JSON, m)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, 0, 0, 0, byte(len(enc)))
			want = append(want, enc...)
		}
		if got := conn.writes[0]; !bytes.Equal(got, want) {
			t.Errorf("write limit %d: wrote %q, want %q", writeLimit, got, want)
		}
		if got := p.Info().RemoteAddr; got != "unix:/fake" {
			t.Errorf("RemoteAddr %q, want the socket's path", got)
		}
	}
}

func TestLengthExponent(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		exp   byte
		bytes int
	}{
		{0, 11, 1 << 20},
		{512, 0, 512},
		{1023, 0, 512},
		{1024, 1, 1024},
		{1 << 24, 15, MaxMessageSize},
		{1 << 30, 15, MaxMessageSize},
		{-1, 15, MaxMessageSize},
	} {
		exp, err := lengthExponent(tt.limit)
		if err != nil || exp != tt.exp || lengthLimit(exp) != tt.bytes {
			t.Errorf("lengthExponent(%d) = %d (%d bytes), %v; want %d (%d bytes)", tt.limit, exp, lengthLimit(exp), err, tt.exp, tt.bytes)
		}
	}
	if _, err := lengthExponent(511); err == nil {
		t.Error("lengthExponent(511) succeeded")
	}
}

// FuzzServer feeds a client's byte stream to the router's side, handshake
// included: it must end with an error, never panic or hang, and every
// message it returns must be valid.
func FuzzServer(f *testing.F) {
	f.Add([]byte("\x7f\xf1\x00\x00\x00\x00\x00\x0d[6,{},\"a.b\"]"))
	f.Add([]byte("\x7f\xf2\x00\x00\x01\x00\x00\x02hi\x00\x00\x00\x03\x93\x06\x80"))
	f.Add([]byte("\x7f\xf3\x00\x00\x02\x00\x00\x00\x00\xff\xff\xff"))
	f.Add([]byte("\x7f\x01\x00\x00\x08\x00\x00\x00"))
	f.Add([]byte("\x7f\x00\x00\x00"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewServer(&Config{ReadLimit: 4096})
		if err != nil {
			t.Fatal(err)
		}
		conn := &fakeConn{in: bytes.NewReader(data)}
		p, err := s.Accept(conn)
		if err != nil {
			return
		}
		defer p.Close()
		for range len(data) + 1 {
			m, err := p.Recv()
			if err == nil {
				if m == nil {
					t.Fatal("Recv returned neither a message nor an error")
				}
				continue
			}
			if errors.Is(err, transport.ErrClosed) || errors.Is(err, transport.ErrMessageTooBig) {
				return
			}
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Fatalf("Recv: %v, want ErrClosed, ErrMessageTooBig or ErrInvalidMessage", err)
			}
		}
		t.Fatal("Recv never reported the end of the input")
	})
}
