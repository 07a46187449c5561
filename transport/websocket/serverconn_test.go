//go:build !js

package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/wampkit/wampkit/transport"
)

// clientFrame encodes a masked client frame header with opcode op (fin
// set, RSV1 when compressed) and size bytes of payload.
func clientFrame(op byte, compressed bool, size int) []byte {
	b0 := 0x80 | op
	if compressed {
		b0 |= 0x40
	}
	h := []byte{b0}
	switch {
	case size < 126:
		h = append(h, 0x80|byte(size))
	case size <= 0xffff:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(size))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(size))
	}
	h = append(h, 1, 2, 3, 4) // mask key
	return append(h, bytes.Repeat([]byte{'p'}, size)...)
}

// scanAll feeds stream to a scanner in pieces of at most chunk bytes, the
// way Read does (a cut piece is scanned again), and returns the offset in
// stream of the piece that the scanner refused, or -1: the start of the
// refused header, or a later offset inside it when the header was split.
func scanAll(stream []byte, chunk int, limit int64) int {
	var s frameScanner
	for off := 0; off < len(stream); {
		end := min(off+chunk, len(stream))
		start, _, tooBig := s.scan(stream[off:end], limit)
		if tooBig {
			if start > 0 {
				off += start
				continue
			}
			return off
		}
		off = end
	}
	return -1
}

func TestFrameScanner(t *testing.T) {
	const limit = 300
	var stream []byte
	add := func(b []byte) int { at := len(stream); stream = append(stream, b...); return at }
	add(clientFrame(opText, false, 10))
	add(clientFrame(opBinary, false, limit)) // at the limit: fine
	add(clientFrame(0x9, false, 125))        // ping
	add(clientFrame(opText, false, 200))
	add(clientFrame(opBinary, true, 5000))        // compressed: coder's job
	add(clientFrame(opContinuation, false, 5000)) // of the compressed message
	add(clientFrame(opBinary, false, 1))
	add(clientFrame(0xa, false, 0)) // pong
	refused := add(clientFrame(opBinary, false, 70000))
	add(clientFrame(opText, false, 3))
	for _, chunk := range []int{1, 2, 3, 5, 7, 13, 64, 1024, len(stream)} {
		// The header is 14 bytes long; when no piece splits it, the cut
		// comes right before it.
		whole := refused/chunk == (refused+13)/chunk
		if got := scanAll(stream, chunk, limit); got < refused || got >= refused+14 || whole && got != refused {
			t.Errorf("chunks of %d: refused at %d, want the header at %d", chunk, got, refused)
		}
	}
	if got := scanAll(stream, 7, -1); got != -1 {
		t.Errorf("no limit: refused at %d", got)
	}
	if got := scanAll(stream, 7, 70000); got != -1 {
		t.Errorf("limit 70000: refused at %d", got)
	}
	// A continuation frame over the limit of an uncompressed message, and
	// a 64-bit length with its top bit set.
	for _, frame := range [][]byte{
		append([]byte{0x01, 0x80 | 5, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'}, clientFrame(opContinuation, false, 400)...),
		{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
	} {
		if got := scanAll(frame, 3, limit); got == -1 {
			t.Errorf("% x...: not refused", frame[:min(len(frame), 16)])
		}
	}
}

// pipeConn is a serverConn on one end of a loopback TCP connection and the
// other end, on which the test plays the client.
func pipeConn(t *testing.T) (*serverConn, net.Conn) {
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
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw := <-accepted
	if raw == nil {
		t.Fatal("accept failed")
	}
	sc := newServerConn(raw, 1<<20)
	t.Cleanup(func() {
		client.Close()
		raw.Close()
	})
	return sc, client
}

func TestServerConnRefusesFromTheHeader(t *testing.T) {
	sc, client := pipeConn(t)
	sc.setReadLimit(1000)
	small := clientFrame(opText, false, 100)
	big := clientFrame(opBinary, false, 4<<20)
	// The small frame and the big one's header and first bytes arrive
	// together; Read hands over the small frame alone.
	if _, err := client.Write(append(small, big[:2000]...)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := io.ReadAtLeast(sc, buf, len(small))
	if err != nil || !bytes.Equal(buf[:n], small) {
		t.Fatalf("first read: %d bytes, %v; want the small frame alone (%d bytes)", n, err, len(small))
	}
	for range 2 { // the error sticks
		n, err = sc.Read(buf)
		var tooBig *frameTooBigError
		if n != 0 || !errors.Is(err, transport.ErrMessageTooBig) || !errors.As(err, &tooBig) || tooBig.size != 4<<20 || tooBig.limit != 1000 {
			t.Fatalf("read of the big frame: %d bytes, %v", n, err)
		}
	}
}

func TestServerConnJudgesUnderTheLimitInForce(t *testing.T) {
	// The big frame's header arrives behind a small frame, under a low
	// limit; the limit is raised before the header's turn comes.
	sc, client := pipeConn(t)
	sc.setReadLimit(1000)
	small := clientFrame(opText, false, 100)
	big := clientFrame(opBinary, false, 5000)
	if _, err := client.Write(append(small, big...)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := io.ReadAtLeast(sc, buf, len(small))
	if err != nil || n != len(small) {
		t.Fatalf("first read: %d bytes, %v", n, err)
	}
	sc.setReadLimit(5000)
	n, err = io.ReadFull(sc, buf[:len(big)])
	if err != nil || !bytes.Equal(buf[:n], big) {
		t.Fatalf("the big frame under the raised limit: %d bytes, %v", n, err)
	}
	// Lowered again: the next frame over it is refused.
	if _, err := client.Write(clientFrame(opText, false, 200)); err != nil {
		t.Fatal(err)
	}
	sc.setReadLimit(100)
	if n, err := sc.Read(buf); n != 0 || !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("under the lowered limit: %d bytes, %v", n, err)
	}
}

func TestServerConnLingeringClose(t *testing.T) {
	// After a refusal, Close half-closes at once (the client reads EOF)
	// and reads the refused payload, so that the client's write of it
	// completes instead of meeting a reset.
	sc, client := pipeConn(t)
	sc.setReadLimit(1000)
	big := clientFrame(opBinary, false, 4<<20)
	if _, err := client.Write(big[:100]); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(make([]byte, 1024)); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Read: %v", err)
	}
	if err := sc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if n, err := client.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("client read after Close: %d bytes, %v; want EOF", n, err)
	}
	if _, err := client.Write(big[100:]); err != nil {
		t.Fatalf("client write of the rest of the payload: %v", err)
	}
}
