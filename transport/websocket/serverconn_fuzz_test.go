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

// FuzzServerConnRead feeds serverConn.Read a client's byte stream, cut
// into pieces by the socket and read into buffers of fuzzed sizes, and
// checks it against a plain walk over the whole stream: Read hands over
// the stream's bytes in order and unchanged, up to the header of the
// first uncompressed data frame above the limit, which it refuses with
// that frame's size, or the whole stream when there is none.
func FuzzServerConnRead(f *testing.F) {
	frames := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	f.Add(frames(clientFrame(opText, false, 10), clientFrame(opBinary, false, 300)), uint16(0), []byte{3}, []byte{7}, int32(100))
	f.Add(frames(clientFrame(opBinary, true, 500), clientFrame(opContinuation, false, 500), clientFrame(opText, false, 2)), uint16(5), []byte{0, 1, 200}, []byte{0}, int32(100))
	f.Add(frames(clientFrame(0x9, false, 125), clientFrame(opBinary, false, 70000)), uint16(130), []byte{255}, []byte{255, 1}, int32(65535))
	f.Add([]byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, uint16(1), []byte{1}, []byte{2}, int32(-1))
	f.Add(frames([]byte{0x01, 0x80 | 5, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'}, clientFrame(opContinuation, false, 400)), uint16(0), []byte{12}, []byte{4}, int32(300))
	f.Fuzz(func(t *testing.T, stream []byte, prefixLen uint16, pieces, bufSizes []byte, limit int32) {
		// Frames past the first few kilobytes find nothing new, and a
		// long stream read a byte at a time only slows the fuzzer down.
		stream = stream[:min(len(stream), 16<<10)]
		if len(pieces) == 0 {
			pieces = []byte{255}
		}
		if len(bufSizes) == 0 {
			bufSizes = []byte{255}
		}
		// What net/http read past the handshake comes first, then the
		// socket in pieces.
		cut := min(int(prefixLen), len(stream))
		c := &serverConn{prefix: bytes.Clone(stream[:cut]), Conn: &piecesConn{data: stream[cut:], pieces: pieces}}
		c.setReadLimit(int64(limit))

		var got []byte
		var err error
		buf := make([]byte, 1+255*17)
		for i := 0; err == nil; i++ {
			size := 1 + int(bufSizes[i%len(bufSizes)])*17
			var n int
			n, err = c.Read(buf[:size])
			if n < 0 || n > size {
				t.Fatalf("Read returned %d for a buffer of %d", n, size)
			}
			got = append(got, buf[:n]...)
			if i > 2*len(stream)+2 {
				t.Fatalf("no error after %d reads of %d bytes", i, len(stream))
			}
		}
		if !bytes.Equal(got, stream[:len(got)]) {
			t.Fatalf("Read handed over %d bytes that are not the stream's first bytes", len(got))
		}
		at, size, headerLen := firstTooBig(stream, int64(limit))
		if at < 0 {
			if err != io.EOF || len(got) != len(stream) {
				t.Fatalf("no frame above the limit: got %d of %d bytes, then %v", len(got), len(stream), err)
			}
			return
		}
		// A header cut between two reads is refused where the second
		// read starts: after its first bytes.
		var tooBig *frameTooBigError
		if !errors.Is(err, transport.ErrMessageTooBig) || !errors.As(err, &tooBig) || tooBig.size != size || tooBig.limit != int64(limit) {
			t.Fatalf("frame of %d bytes at %d (limit %d): Read ended with %v", size, at, limit, err)
		}
		if len(got) < at || len(got) >= at+headerLen {
			t.Fatalf("frame of %d bytes at %d, header of %d bytes: Read handed over %d bytes", size, at, headerLen, len(got))
		}
		if n, again := c.Read(make([]byte, 64)); n != 0 || again != err {
			t.Fatalf("Read after the refusal: %d bytes, %v; want the same error", n, again)
		}
	})
}

// firstTooBig walks the frames of stream and returns where the header of
// the first uncompressed data frame with a payload above limit starts, its
// payload size and its header's length; at is -1 when the stream ends
// first. It is written apart from frameScanner, from RFC 6455 section 5.2,
// to check it.
func firstTooBig(stream []byte, limit int64) (at int, size uint64, headerLen int) {
	compressed := false // the message under way was compressed
	for i := 0; ; {
		rest := stream[i:]
		if len(rest) < 2 {
			return -1, 0, 0
		}
		opcode, rsv1, masked, len7 := rest[0]&0x0f, rest[0]&0x40 != 0, rest[1]&0x80 != 0, rest[1]&0x7f
		headerLen = 2
		switch len7 {
		case 126:
			headerLen += 2
		case 127:
			headerLen += 8
		}
		if masked {
			headerLen += 4
		}
		if len(rest) < headerLen {
			return -1, 0, 0
		}
		switch len7 {
		case 126:
			size = uint64(binary.BigEndian.Uint16(rest[2:4]))
		case 127:
			size = binary.BigEndian.Uint64(rest[2:10])
		default:
			size = uint64(len7)
		}
		if opcode <= 2 { // continuation, text, binary
			if opcode != 0 {
				compressed = rsv1
			}
			if !compressed && limit >= 0 && size > uint64(limit) {
				return i, size, headerLen
			}
		}
		if uint64(len(rest)-headerLen) < size {
			return -1, 0, 0
		}
		i += headerLen + int(size)
	}
}

// piecesConn is a connection whose reads return data in pieces of at most
// 1 to 256 bytes, their sizes taken in turn from pieces.
type piecesConn struct {
	net.Conn // nil: only Read is used
	data     []byte
	pieces   []byte
	reads    int
}

func (c *piecesConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(1+int(c.pieces[c.reads%len(c.pieces)]), len(p), len(c.data))
	c.reads++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}
