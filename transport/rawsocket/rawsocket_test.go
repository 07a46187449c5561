//go:build !js

package rawsocket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/internal/leakcheck"
	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// TestMain fails the run when goroutines outlive the tests: a peer, a
// flusher or a handshake that was never cleaned up.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// networks are the socket kinds every transport test runs over.
var networks = []string{"tcp", "unix"}

// listen opens a listener on a free TCP port of 127.0.0.1 or a Unix socket
// in a fresh directory (short, since socket paths are limited to about 100
// bytes).
func listen(t *testing.T, network string) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "rs")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// server runs rawsocket.Serve and hands the accepted peers to the test.
type server struct {
	network, addr string
	peers         chan transport.Peer

	mu   sync.Mutex
	open []io.Closer
}

func newServer(t *testing.T, network string, cfg *rawsocket.Config) *server {
	t.Helper()
	ln := listen(t, network)
	s := &server{network: network, addr: ln.Addr().String(), peers: make(chan transport.Peer, 16)}
	done := make(chan error, 1)
	go func() {
		done <- rawsocket.Serve(ln, cfg, func(p transport.Peer) { s.peers <- p })
	}()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after the listener closed", err)
		}
		for {
			select {
			case p := <-s.peers:
				p.Close()
				continue
			default:
			}
			break
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var wg sync.WaitGroup
		for _, c := range s.open {
			wg.Go(func() { c.Close() })
		}
		wg.Wait()
	})
	return s
}

func (s *server) track(c io.Closer) {
	s.mu.Lock()
	s.open = append(s.open, c)
	s.mu.Unlock()
}

// next returns the server side of the latest connection.
func (s *server) next(t *testing.T) transport.Peer {
	t.Helper()
	select {
	case p := <-s.peers:
		s.track(p)
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no connection reached the server")
		return nil
	}
}

// dial connects a client peer to s.
func (s *server) dial(t *testing.T, opts *rawsocket.DialOptions) transport.Peer {
	t.Helper()
	p, err := rawsocket.Dial(t.Context(), s.network, s.addr, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	s.track(p)
	return p
}

// connect dials s and returns both ends.
func (s *server) connect(t *testing.T, opts *rawsocket.DialOptions) (client, srv transport.Peer) {
	t.Helper()
	c := s.dial(t, opts)
	return c, s.next(t)
}

// raw opens a bare connection to s, for tests that write bytes by hand.
func (s *server) raw(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial(s.network, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	s.track(c)
	return c
}

// handshake sends a handshake request on c and returns the 4 octets of the
// reply.
func handshake(t *testing.T, c net.Conn, req ...byte) [4]byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var reply [4]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		t.Fatalf("reading the handshake reply to % x: %v", req, err)
	}
	return reply
}

// frame builds a frame of type typ around payload.
func frame(typ byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

// readFrame reads one frame from c.
func readFrame(t *testing.T, c net.Conn) (byte, []byte) {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatalf("reading a frame header: %v", err)
	}
	payload := make([]byte, int(h[1])<<16|int(h[2])<<8|int(h[3]))
	if _, err := io.ReadFull(c, payload); err != nil {
		t.Fatalf("reading a frame payload: %v", err)
	}
	return h[0], payload
}

// expectEOF asserts that the other side closes c without sending more.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || err == nil {
		t.Fatalf("read %d octets (% x), %v; want the connection closed", n, b[:n], err)
	}
}

func recv(t *testing.T, p transport.Peer) wamp.Message {
	t.Helper()
	m, err := p.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return m
}

func send(t *testing.T, p transport.Peer, m wamp.Message) {
	t.Helper()
	if err := p.Send(m); err != nil {
		t.Fatalf("Send(%v): %v", m.Type(), err)
	}
}

// sized returns a PUBLISH whose encoding with c is exactly n octets long.
func sized(t *testing.T, c codec.Codec, n int) *wamp.Publish {
	t.Helper()
	m := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.t", Args: wamp.List{""}}
	base, err := c.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	// A string's length header grows with the string: adjust until exact.
	for pad := n - len(base); pad >= 0; pad-- {
		m.Args[0] = strings.Repeat("x", pad)
		enc, _ := c.Encode(nil, m)
		if len(enc) == n {
			return m
		}
	}
	t.Fatalf("no %s PUBLISH of exactly %d octets", c.Name(), n)
	return nil
}

func TestRoundTripEverySerializer(t *testing.T) {
	call := &wamp.Call{
		Request:   7,
		Options:   wamp.Dict{"receive_progress": true},
		Procedure: "com.example.echo",
		Args:      wamp.List{int64(-3), "héllo", []byte{0, 1, 2, 0xfe, 0xff}, 2.5},
		Kwargs:    wamp.Dict{"blob": []byte("raw\x00bytes"), "n": nil},
	}
	result := &wamp.Result{
		Request: 7,
		Details: wamp.Dict{},
		Args:    wamp.List{[]byte{0xde, 0xad, 0xbe, 0xef}, wamp.List{"nested", int64(1)}},
	}
	for _, network := range networks {
		s := newServer(t, network, nil)
		for _, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				client, srv := s.connect(t, &rawsocket.DialOptions{Codec: c})
				want := transport.Info{Transport: "rawsocket", Serializer: c.Name()}
				for _, p := range []transport.Peer{client, srv} {
					info := p.Info()
					if info.RemoteAddr == "" {
						t.Errorf("Info().RemoteAddr is empty")
					}
					info.RemoteAddr = ""
					if info != want {
						t.Errorf("Info() = %+v, want %+v", info, want)
					}
				}
				send(t, client, call)
				if got := recv(t, srv); !reflect.DeepEqual(got, call) {
					t.Errorf("server got %#v, want %#v", got, call)
				}
				send(t, srv, result)
				if got := recv(t, client); !reflect.DeepEqual(got, result) {
					t.Errorf("client got %#v, want %#v", got, result)
				}
				// A prepared message is sent from its cached encoding.
				ev := codec.Prepare(&wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{"fan"}})
				send(t, srv, ev)
				if got := recv(t, client); !reflect.DeepEqual(got, ev.Message) {
					t.Errorf("client got %#v, want %#v", got, ev.Message)
				}
			})
		}
	}
}

// TestWireFormat checks the octets on the wire: the handshake reply and a
// message frame, for each serializer.
func TestWireFormat(t *testing.T) {
	for _, network := range networks {
		// 64 KiB announces LENGTH 7 (2^16).
		s := newServer(t, network, &rawsocket.Config{ReadLimit: 64 << 10})
		for i, c := range codec.All {
			id := byte(i + 1)
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				raw := s.raw(t)
				// LENGTH 15 (16 MiB) and the serializer.
				if got, want := handshake(t, raw, 0x7F, 0xF0|id, 0, 0), [4]byte{0x7F, 0x70 | id, 0, 0}; got != want {
					t.Fatalf("handshake reply % x, want % x", got, want)
				}
				srv := s.next(t)
				want := &wamp.Published{Request: 1, Publication: 2}
				send(t, srv, want)
				typ, payload := readFrame(t, raw)
				if typ != 0 {
					t.Errorf("frame type %d, want 0", typ)
				}
				if m, err := c.Decode(payload); err != nil || !reflect.DeepEqual(m, want) {
					t.Errorf("frame decodes to %#v, %v", m, err)
				}
				enc, err := c.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := raw.Write(frame(0, enc)); err != nil {
					t.Fatal(err)
				}
				if m := recv(t, srv); m.Type() != wamp.TypeGoodbye {
					t.Errorf("server got %v, want GOODBYE", m.Type())
				}
			})
		}
	}
}

func TestReadLimitAnnounced(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		want  byte
	}{
		{0, 0xB1},            // DefaultReadLimit, 1 MiB = 2^20
		{512, 0x01},          // the minimum
		{1000, 0x01},         // rounded down to 512
		{1 << 24, 0xF1},      // the maximum
		{-1, 0xF1},           // no limit: the maximum
		{3 << 20, 0xB1 + 16}, // 2 MiB
	} {
		s := newServer(t, "tcp", &rawsocket.Config{ReadLimit: tt.limit})
		raw := s.raw(t)
		if got := handshake(t, raw, 0x7F, 0xF1, 0, 0); got[1] != tt.want {
			t.Errorf("ReadLimit %d: reply octet 0x%02x, want 0x%02x", tt.limit, got[1], tt.want)
		}
	}
	if _, err := rawsocket.NewServer(&rawsocket.Config{ReadLimit: 100}); err == nil || !strings.Contains(err.Error(), "minimum of 512") {
		t.Errorf("ReadLimit 100: err = %v, want the minimum named", err)
	}
}

// TestHandshakeErrors sends each handshake that the router must refuse and
// checks the error reply octet by octet, then that the connection closes.
func TestHandshakeErrors(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			jsonOnly := newServer(t, network, &rawsocket.Config{Codecs: []codec.Codec{codec.JSON}, MinClientLimit: 4096})
			for _, tt := range []struct {
				name string
				req  []byte
				code rawsocket.RefusalCode
			}{
				{"serializer 0 (illegal)", []byte{0x7F, 0xF0, 0, 0}, rawsocket.SerializerUnsupported},
				{"serializer 4 (undefined)", []byte{0x7F, 0xF4, 0, 0}, rawsocket.SerializerUnsupported},
				{"serializer 15 (undefined)", []byte{0x7F, 0xFF, 0, 0}, rawsocket.SerializerUnsupported},
				{"MessagePack not configured", []byte{0x7F, 0xF2, 0, 0}, rawsocket.SerializerUnsupported},
				{"CBOR not configured", []byte{0x7F, 0xF3, 0, 0}, rawsocket.SerializerUnsupported},
				{"512 bytes below MinClientLimit", []byte{0x7F, 0x01, 0, 0}, rawsocket.LengthUnacceptable},
				{"2 KiB below MinClientLimit", []byte{0x7F, 0x21, 0, 0}, rawsocket.LengthUnacceptable},
				{"third octet set", []byte{0x7F, 0xF1, 0x01, 0}, rawsocket.ReservedBitsUsed},
				{"fourth octet set", []byte{0x7F, 0xF1, 0, 0x80}, rawsocket.ReservedBitsUsed},
			} {
				t.Run(tt.name, func(t *testing.T) {
					raw := jsonOnly.raw(t)
					if got, want := handshake(t, raw, tt.req...), [4]byte{0x7F, byte(tt.code) << 4, 0, 0}; got != want {
						t.Errorf("reply % x, want % x (%v)", got, want, tt.code)
					}
					expectEOF(t, raw)
				})
			}
			// 4 KiB is enough.
			raw := jsonOnly.raw(t)
			if got := handshake(t, raw, 0x7F, 0x31, 0, 0); got != [4]byte{0x7F, 0xB1, 0, 0} {
				t.Errorf("4 KiB client: reply % x, want 7f b1 00 00", got)
			}
			jsonOnly.next(t)

			t.Run("not a raw socket", func(t *testing.T) {
				raw := jsonOnly.raw(t)
				if _, err := raw.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
					t.Fatal(err)
				}
				expectEOF(t, raw)
			})
		})
	}
}

// TestDefaultMinClientLimit: with MinClientLimit left at zero, a client
// that announces less than 4 KiB (legal, but too small for a router's
// WELCOME) gets the spec's "maximum message length unacceptable" reply
// instead of being accepted and cut off later; 4 KiB and more are
// accepted, and a negative MinClientLimit accepts the protocol's minimum.
func TestDefaultMinClientLimit(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, nil)
			for _, lengthOctet := range []byte{0x01, 0x11, 0x21} { // 512 B, 1 KiB, 2 KiB
				raw := s.raw(t)
				if got, want := handshake(t, raw, 0x7F, lengthOctet, 0, 0), [4]byte{0x7F, byte(rawsocket.LengthUnacceptable) << 4, 0, 0}; got != want {
					t.Errorf("client announcing 2^%d bytes: reply % x, want % x", 9+lengthOctet>>4, got, want)
				}
				expectEOF(t, raw)
			}
			_, err := rawsocket.Dial(t.Context(), network, s.addr, &rawsocket.DialOptions{ReadLimit: 512})
			if herr, ok := errors.AsType[*rawsocket.HandshakeError](err); !ok || herr.Code != rawsocket.LengthUnacceptable {
				t.Errorf("Dial with a 512-byte limit: err = %v, want a HandshakeError LengthUnacceptable", err)
			}
			raw := s.raw(t)
			if got := handshake(t, raw, 0x7F, 0x31, 0, 0); got != [4]byte{0x7F, 0xB1, 0, 0} {
				t.Errorf("4 KiB client: reply % x, want 7f b1 00 00", got)
			}
			s.next(t)

			anyClient := newServer(t, network, &rawsocket.Config{MinClientLimit: -1})
			raw = anyClient.raw(t)
			if got := handshake(t, raw, 0x7F, 0x01, 0, 0); got != [4]byte{0x7F, 0xB1, 0, 0} {
				t.Errorf("512-byte client with MinClientLimit -1: reply % x, want 7f b1 00 00", got)
			}
			anyClient.next(t)
		})
	}
}

func TestDialReportsRefusal(t *testing.T) {
	s := newServer(t, "tcp", &rawsocket.Config{Codecs: []codec.Codec{codec.JSON}, MinClientLimit: 1 << 20})
	_, err := rawsocket.Dial(t.Context(), "tcp", s.addr, &rawsocket.DialOptions{Codec: codec.MessagePack})
	if herr, ok := errors.AsType[*rawsocket.HandshakeError](err); !ok || herr.Code != rawsocket.SerializerUnsupported {
		t.Errorf("Dial with msgpack: err = %v, want a HandshakeError SerializerUnsupported", err)
	}
	_, err = rawsocket.Dial(t.Context(), "tcp", s.addr, &rawsocket.DialOptions{Codec: codec.JSON, ReadLimit: 64 << 10})
	if herr, ok := errors.AsType[*rawsocket.HandshakeError](err); !ok || herr.Code != rawsocket.LengthUnacceptable {
		t.Errorf("Dial with a 64 KiB limit: err = %v, want a HandshakeError LengthUnacceptable", err)
	} else if got := err.Error(); got != "rawsocket: handshake refused: maximum message length unacceptable" {
		t.Errorf("error text %q", got)
	}
}

func TestConnectionLimit(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, &rawsocket.Config{MaxConnections: 2})
			a, srvA := s.connect(t, nil)
			s.connect(t, nil)
			_, err := rawsocket.Dial(t.Context(), network, s.addr, nil)
			if herr, ok := errors.AsType[*rawsocket.HandshakeError](err); !ok || herr.Code != rawsocket.ConnectionLimitReached {
				t.Fatalf("third Dial: err = %v, want a HandshakeError ConnectionLimitReached", err)
			}
			raw := s.raw(t)
			if got := handshake(t, raw, 0x7F, 0xF1, 0, 0); got != [4]byte{0x7F, 0x40, 0, 0} {
				t.Errorf("reply % x, want 7f 40 00 00", got)
			}
			expectEOF(t, raw)
			// A closed connection frees its place once the server side
			// reads the end of the stream.
			a.Close()
			if _, err := srvA.Recv(); !errors.Is(err, transport.ErrClosed) {
				t.Fatalf("server Recv after the client closed: %v", err)
			}
			s.dial(t, nil)
			s.next(t)
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	s := newServer(t, "tcp", &rawsocket.Config{HandshakeTimeout: 100 * time.Millisecond})
	raw := s.raw(t)
	raw.Write([]byte{0x7F, 0xF1}) // half a handshake
	start := time.Now()
	expectEOF(t, raw)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a silent client was dropped after %v, want about 100 ms", d)
	}
}

// fakeRouter accepts one connection, reads its handshake, answers reply
// and closes.
func fakeRouter(t *testing.T, reply []byte) string {
	t.Helper()
	ln := listen(t, "tcp")
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var req [4]byte
		io.ReadFull(c, req[:])
		c.Write(reply)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestDialChecksReply(t *testing.T) {
	for _, tt := range []struct {
		name, reply, want string
	}{
		{"HTTP server", "HTTP/1.1 400 Bad Request\r\n", "not a raw socket router"},
		{"other serializer", "\x7f\xf2\x00\x00", "serializer 2, not 1 (json)"},
		{"reserved octets", "\x7f\xf1\x00\x01", "reserved octets"},
		{"unknown error", "\x7f\x70\x00\x00", "handshake refused: error code 7"},
		{"closed early", "\x7f\xf1", "reading the router's reply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeRouter(t, []byte(tt.reply))
			p, err := rawsocket.Dial(t.Context(), "tcp", addr, nil)
			if err == nil {
				p.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDialContext(t *testing.T) {
	// A router that accepts and never answers.
	ln := listen(t, "tcp")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := rawsocket.Dial(ctx, "tcp", ln.Addr().String(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if _, err := rawsocket.Dial(t.Context(), "tcp", "127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "rawsocket: dial") {
		t.Errorf("Dial to a closed port: %v", err)
	}
	if _, err := rawsocket.Dial(t.Context(), "tcp", "127.0.0.1:1", &rawsocket.DialOptions{ReadLimit: 10}); err == nil || !strings.Contains(err.Error(), "below the protocol's minimum") {
		t.Errorf("ReadLimit 10: %v", err)
	}
}

// TestPingAnswered: a PING is answered at once with a PONG that echoes its
// payload, whatever the serializer, and the server's Recv goes on to the
// next message.
func TestPingAnswered(t *testing.T) {
	serializerIDs := map[string]byte{"json": 1, "msgpack": 2, "cbor": 3}
	for _, network := range networks {
		for _, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				s := newServer(t, network, nil)
				raw := s.raw(t)
				handshake(t, raw, 0x7F, 0xF0|serializerIDs[c.Name()], 0, 0)
				srv := s.next(t)
				got := make(chan wamp.Message, 1)
				go func() {
					m, _ := srv.Recv()
					got <- m
				}()
				for _, payload := range [][]byte{[]byte("hello"), {}, {0, 0xff, 0x80}} {
					raw.Write(frame(1, payload))
					typ, echo := readFrame(t, raw)
					if typ != 2 || string(echo) != string(payload) {
						t.Errorf("PING % x: answer type %d payload % x, want PONG with the same payload", payload, typ, echo)
					}
				}
				// An unsolicited PONG is ignored.
				raw.Write(frame(2, []byte("stray")))
				goodbye, err := c.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.normal"})
				if err != nil {
					t.Fatal(err)
				}
				raw.Write(frame(0, goodbye))
				if m := <-got; m == nil || m.Type() != wamp.TypeGoodbye {
					t.Errorf("Recv after the pings: %v, want GOODBYE", m)
				}
			})
		}
	}
}

func TestPing(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, nil)
			client, srv := s.connect(t, nil)
			for _, p := range []transport.Peer{client, srv} {
				if _, ok := p.(transport.Pinger); !ok {
					t.Fatalf("%T is not a transport.Pinger", p)
				}
			}
			// Nobody reads on the client yet: the PONG does not come.
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			if err := srv.(transport.Pinger).Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Ping without a reader: %v, want context.DeadlineExceeded", err)
			}
			recvDone := make(chan error, 2)
			for _, p := range []transport.Peer{client, srv} {
				go func() {
					_, err := p.Recv()
					recvDone <- err
				}()
			}
			for range 3 {
				if err := srv.(transport.Pinger).Ping(t.Context()); err != nil {
					t.Fatalf("router Ping: %v", err)
				}
				if err := client.(transport.Pinger).Ping(t.Context()); err != nil {
					t.Fatalf("client Ping: %v", err)
				}
			}
			client.Close()
			for range 2 {
				if err := <-recvDone; !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Recv after Close: %v, want ErrClosed", err)
				}
			}
			if err := client.(transport.Pinger).Ping(t.Context()); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Ping after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestReadLimit: a frame above the announced (or lowered) limit closes the
// connection with transport.ErrMessageTooBig; one at the limit passes.
func TestReadLimit(t *testing.T) {
	for _, network := range networks {
		for _, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				s := newServer(t, network, &rawsocket.Config{ReadLimit: 2048})
				client, srv := s.connect(t, &rawsocket.DialOptions{Codec: c})
				send(t, client, sized(t, c, 2048))
				if m := recv(t, srv); m.Type() != wamp.TypePublish {
					t.Fatalf("got %v", m.Type())
				}
				// The client never sends above the server's limit.
				err := client.Send(sized(t, c, 2049))
				if !errors.Is(err, transport.ErrMessageTooBig) {
					t.Fatalf("client Send of 2049 octets: %v, want ErrMessageTooBig", err)
				}
				send(t, client, sized(t, c, 100)) // still usable
				recv(t, srv)

				srv.(transport.ReadLimiter).SetReadLimit(600)
				send(t, client, sized(t, c, 600))
				recv(t, srv)
				send(t, client, sized(t, c, 601))
				if _, err := srv.Recv(); !errors.Is(err, transport.ErrMessageTooBig) {
					t.Fatalf("Recv of 601 octets with limit 600: %v, want ErrMessageTooBig", err)
				}
				if _, err := client.Recv(); !errors.Is(err, transport.ErrClosed) {
					t.Errorf("client Recv after the server dropped it: %v, want ErrClosed", err)
				}
			})
		}
	}
}

func TestReadLimitRaisedBackToAnnounced(t *testing.T) {
	s := newServer(t, "tcp", &rawsocket.Config{ReadLimit: 1024})
	raw := s.raw(t)
	handshake(t, raw, 0x7F, 0xF1, 0, 0)
	srv := s.next(t)
	srv.(transport.ReadLimiter).SetReadLimit(100)
	srv.(transport.ReadLimiter).SetReadLimit(1 << 20) // capped at the announced 1024
	msg := sized(t, codec.JSON, 1024)
	enc, _ := codec.JSON.Encode(nil, msg)
	raw.Write(frame(0, enc))
	recv(t, srv)
	raw.Write(frame(0, append(enc, ' ')))
	if _, err := srv.Recv(); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Recv of 1025 octets: %v, want ErrMessageTooBig", err)
	}
	expectEOF(t, raw)
}

// TestSendLimit: the router never sends above what the client announced;
// the message is refused and the connection stays usable.
func TestSendLimit(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, &rawsocket.Config{MinClientLimit: -1})
			client, srv := s.connect(t, &rawsocket.DialOptions{ReadLimit: 512})
			send(t, srv, sized(t, codec.JSON, 512))
			recv(t, client)
			big := sized(t, codec.JSON, 513)
			err := srv.Send(big)
			if !errors.Is(err, transport.ErrMessageTooBig) || !strings.Contains(err.Error(), "above the 512 bytes") {
				t.Fatalf("Send of 513 octets to a 512 client: %v, want ErrMessageTooBig", err)
			}
			var refused *transport.SendTooBigError
			if !errors.As(err, &refused) || refused.Message != big || refused.Size != 513 || refused.Limit != 512 {
				t.Fatalf("Send of 513 octets: %#v, want a SendTooBigError naming the message, 513 and 512", err)
			}
			// In a batch, the messages before the big one are written; the
			// error names the one refused.
			small := &wamp.Published{Request: 9, Publication: 10}
			big = sized(t, codec.JSON, 600)
			err = srv.(transport.BatchSender).SendBatch([]wamp.Message{small, big, small})
			if !errors.As(err, &refused) || refused.Message != big || refused.Size != 600 {
				t.Fatalf("SendBatch with a big message: %v, want a SendTooBigError naming it", err)
			}
			send(t, srv, &wamp.Published{Request: 11, Publication: 12})
			if m := recv(t, client); !reflect.DeepEqual(m, small) {
				t.Errorf("got %#v, want %#v", m, small)
			}
			if m := recv(t, client); !reflect.DeepEqual(m, &wamp.Published{Request: 11, Publication: 12}) {
				t.Errorf("got %#v after the refused message", m)
			}
		})
	}
}

func TestMalformedMessageKeepsConnection(t *testing.T) {
	for _, network := range networks {
		for i, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				s := newServer(t, network, nil)
				raw := s.raw(t)
				handshake(t, raw, 0x7F, 0xF1+byte(i), 0, 0)
				srv := s.next(t)
				raw.Write(frame(0, []byte{0xc1, 0xff, '[', '}'}))
				if _, err := srv.Recv(); !errors.Is(err, wamp.ErrInvalidMessage) {
					t.Fatalf("Recv of garbage: %v, want ErrInvalidMessage", err)
				}
				raw.Write(frame(0, nil))
				if _, err := srv.Recv(); !errors.Is(err, wamp.ErrInvalidMessage) {
					t.Fatalf("Recv of an empty frame: %v, want ErrInvalidMessage", err)
				}
				enc, _ := c.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
				raw.Write(frame(0, enc))
				if m := recv(t, srv); m.Type() != wamp.TypeGoodbye {
					t.Errorf("got %v, want GOODBYE", m.Type())
				}
			})
		}
	}
}

// TestBadFrameHeader: a reserved frame type or reserved bits make the
// stream unreadable; Recv says so (ErrInvalidMessage, then ErrClosed) and
// the router can still send its ABORT.
func TestBadFrameHeader(t *testing.T) {
	for _, first := range []byte{3, 7, 0x08, 0x80} {
		s := newServer(t, "tcp", nil)
		raw := s.raw(t)
		handshake(t, raw, 0x7F, 0xF1, 0, 0)
		srv := s.next(t)
		raw.Write([]byte{first, 0, 0, 2, '[', ']'})
		_, err := srv.Recv()
		if !errors.Is(err, wamp.ErrInvalidMessage) || !strings.Contains(err.Error(), "reserved") {
			t.Fatalf("header %02x: Recv = %v, want ErrInvalidMessage naming the reserved bits", first, err)
		}
		if _, err := srv.Recv(); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("header %02x: second Recv = %v, want ErrClosed", first, err)
		}
		send(t, srv, &wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrProtocolViolation})
		if typ, payload := readFrame(t, raw); typ != 0 || !strings.Contains(string(payload), "protocol_violation") {
			t.Errorf("header %02x: after the bad frame got type %d %q, want the ABORT", first, typ, payload)
		}
	}
}

func TestClose(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, nil)
			client, srv := s.connect(t, nil)
			recvErr := make(chan error, 1)
			go func() {
				_, err := srv.Recv()
				recvErr <- err
			}()
			time.Sleep(10 * time.Millisecond)
			srv.Close()
			select {
			case err := <-recvErr:
				if !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Recv unblocked by Close: %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock Recv")
			}
			if err := srv.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := srv.Send(&wamp.Published{Request: 1, Publication: 1}); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Send after Close: %v, want ErrClosed", err)
			}
			if _, err := client.Recv(); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("the other side's Recv: %v, want ErrClosed", err)
			}
			// The client finds out on its next write or read.
			deadline := time.Now().Add(5 * time.Second)
			for client.Send(&wamp.Published{Request: 1, Publication: 1}) == nil {
				if time.Now().After(deadline) {
					t.Fatal("the client keeps sending to a closed connection")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestCloseWritesBufferedMessages: a final message still in the write
// buffer when Close is called reaches the other side.
func TestCloseWritesBufferedMessages(t *testing.T) {
	// A Unix socket buffers a few hundred KiB at most.
	s := newServer(t, "unix", nil)
	client, srv := s.connect(t, nil)
	big := sized(t, codec.JSON, 1000<<10)
	send(t, srv, big)
	send(t, srv, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	if m := recv(t, client); m.Type() != wamp.TypePublish {
		t.Fatalf("got %v, want the big PUBLISH", m.Type())
	}
	if m := recv(t, client); m.Type() != wamp.TypeGoodbye {
		t.Fatalf("got %v, want GOODBYE", m.Type())
	}
	<-closed
}

func TestNonBlockingSends(t *testing.T) {
	s := newServer(t, "tcp", &rawsocket.Config{WriteBufferLimit: 1 << 20})
	client, srv := s.connect(t, nil)
	if nb, ok := srv.(transport.NonBlockingSender); !ok || !nb.SendsWithoutBlocking() {
		t.Error("the accepted peer does not send without blocking")
	}
	if nb, ok := client.(transport.NonBlockingSender); ok && nb.SendsWithoutBlocking() {
		t.Error("the dialed peer claims to send without blocking")
	}
	// The client never reads: sends fill the socket, then the buffer, and
	// then fail with ErrSlowConsumer, none of them waiting.
	msg := sized(t, codec.JSON, 64<<10)
	done := make(chan error, 1)
	go func() {
		for range 1000 {
			if err := srv.Send(msg); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrSlowConsumer) || !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send to a client that does not read: %v, want ErrSlowConsumer and ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a client that does not read")
	}
}

func TestSendBatch(t *testing.T) {
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			s := newServer(t, network, nil)
			client, srv := s.connect(t, &rawsocket.DialOptions{Codec: codec.MessagePack})
			var msgs []wamp.Message
			for i := range 50 {
				msgs = append(msgs, &wamp.Event{Subscription: 1, Publication: wamp.ID(i + 1), Details: wamp.Dict{}, Args: wamp.List{int64(i)}})
			}
			for _, p := range []transport.Peer{srv, client} {
				if err := p.(transport.BatchSender).SendBatch(msgs); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []transport.Peer{client, srv} {
				for i, want := range msgs {
					if got := recv(t, p); !reflect.DeepEqual(got, want) {
						t.Fatalf("message %d: got %#v, want %#v", i, got, want)
					}
				}
			}
			if err := srv.(transport.BatchSender).SendBatch([]wamp.Message{msgs[0], nil}); err == nil {
				t.Error("SendBatch with a nil message succeeded")
			}
			recv(t, client)
		})
	}
}

func TestServeStops(t *testing.T) {
	ln := listen(t, "tcp")
	done := make(chan error, 1)
	go func() { done <- rawsocket.Serve(ln, nil, func(p transport.Peer) { p.Close() }) }()
	// A client in the middle of its handshake.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0x7F})
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after the listener closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the listener closed")
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	expectEOF(t, c)
	if err := rawsocket.Serve(ln, &rawsocket.Config{Codecs: []codec.Codec{badCodec{}}}, nil); err == nil || !strings.Contains(err.Error(), "no raw socket ID") {
		t.Errorf("Serve with an unknown codec: %v", err)
	}
	if err := rawsocket.Serve(ln, nil, nil); err == nil {
		t.Error("Serve without an accept function succeeded")
	}
}

// badCodec is a serializer the raw socket protocol has no number for.
type badCodec struct{ codec.Codec }

func (badCodec) Name() string { return "xml" }
