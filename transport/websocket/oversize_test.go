//go:build !js

package websocket_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// countedConn counts what the router reads from a connection, and notes
// how much it had read when it began to write a close frame. It offers no
// syscall.Conn, so that the router's writes all come through Write.
type countedConn struct {
	net.Conn
	tcp         *net.TCPConn
	read        atomic.Int64
	beforeClose atomic.Int64 // -1 until a close frame is written
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	if len(p) > 0 && p[0] == 0x88 { // a close frame, fin set, from the router
		c.beforeClose.CompareAndSwap(-1, c.read.Load())
	}
	return c.Conn.Write(p)
}

// CloseWrite lets the router half-close.
func (c *countedConn) CloseWrite() error { return c.tcp.CloseWrite() }

type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countedConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, tcp: c.(*net.TCPConn)}
	cc.beforeClose.Store(-1)
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

// last returns the latest accepted connection.
func (l *countingListener) last(t *testing.T) *countedConn {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == 0 {
		t.Fatal("no connection accepted")
	}
	return l.conns[len(l.conns)-1]
}

// newCountingServer is newServer with every accepted connection counted.
func newCountingServer(t *testing.T, opts *websocket.AcceptOptions) (*server, *countingListener) {
	t.Helper()
	s := &server{peers: make(chan transport.Peer, 64)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		s.peers <- p
	}))
	ln := &countingListener{Listener: s.Server.Listener}
	s.Server.Listener = ln
	s.Start()
	s.url = "ws" + strings.TrimPrefix(s.Server.URL, "http")
	t.Cleanup(s.closeAll)
	return s, ln
}

// handshake opens a TCP connection to s and makes the WebSocket handshake
// by hand, for a client that writes raw bytes. It also returns the size of
// its request.
func handshake(t *testing.T, s *server) (net.Conn, *bufio.Reader, int) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
		s.Listener.Addr())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return conn, br, req
}

// frameHeader is a masked client frame header (fin set, mask key zero, so
// that the payload goes as it is) for size bytes of payload.
func frameHeader(op byte, fin bool, size int) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, uint64(size))
	return append(h, 0, 0, 0, 0)
}

// readClose reads router frames until a close frame and returns its status.
func readClose(t *testing.T, conn net.Conn, br *bufio.Reader) uint16 {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame from the router: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint64(b[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		if h[0]&0x0f == 0x8 {
			if n < 2 {
				t.Fatalf("close frame without a status")
			}
			return binary.BigEndian.Uint16(payload)
		}
	}
}

func TestOversizeFrameRefusedFromItsHeader(t *testing.T) {
	// The client announces 4 MiB and sends only 1 KiB of it. Refusing from
	// the header is the only way to answer 1009 at once: coder/websocket
	// alone would wait for 64 KiB + 1 bytes of payload.
	const limit = 64 << 10
	s, ln := newCountingServer(t, &websocket.AcceptOptions{ReadLimit: limit})
	conn, br, req := handshake(t, s)
	srv := s.next(t)
	serr := recvAsync(srv)
	sent := append(frameHeader(0x2, true, 4<<20), bytes.Repeat([]byte{'x'}, 1024)...)
	if _, err := conn.Write(sent); err != nil {
		t.Fatal(err)
	}
	if code := readClose(t, conn, br); code != uint16(cws.StatusMessageTooBig) {
		t.Errorf("close status %d, want 1009", code)
	}
	if err := <-serr; !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("router Recv: %v, want ErrMessageTooBig", err)
	}
	// The lingering close half-closes: the client reads the end of the
	// stream while it can still write.
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("client read after the close frame: %v, want EOF", err)
	}
	if _, err := conn.Write(bytes.Repeat([]byte{'x'}, 64<<10)); err != nil {
		t.Errorf("client write during the lingering close: %v", err)
	}
	conn.Close()
	if n := ln.last(t).beforeClose.Load() - int64(req); n > int64(len(sent)) || n < 0 {
		t.Errorf("the router read %d bytes before its close frame, sent %d", n, len(sent))
	}
}

// callOverhead is the size of a JSON CALL of bigCall without its padding.
func callOverhead(t *testing.T) int {
	t.Helper()
	enc, err := codec.JSON.Encode(nil, bigCall(0))
	if err != nil {
		t.Fatal(err)
	}
	return len(enc)
}

// padded returns a JSON CALL that encodes to exactly size bytes.
func padded(t *testing.T, size int) []byte {
	t.Helper()
	b, err := codec.JSON.Encode(nil, bigCall(size-callOverhead(t)))
	if err != nil || len(b) != size {
		t.Fatalf("padded CALL of %d bytes, want %d: %v", len(b), size, err)
	}
	return b
}

// oversizeWhileWriting has a coder/websocket client write a message of
// size bytes while it reads, and checks that it gets 1009 while the router
// read only the header's part of the message before refusing it.
func oversizeWhileWriting(t *testing.T, s *server, ln *countingListener, raw *cws.Conn, srv transport.Peer, size int) {
	t.Helper()
	conn := ln.last(t)
	serr := recvAsync(srv)
	readBefore := conn.read.Load()
	werr := make(chan error, 1)
	go func() { werr <- raw.Write(t.Context(), cws.MessageText, padded(t, size)) }()
	_, _, err := raw.Read(t.Context())
	if code := cws.CloseStatus(err); code != cws.StatusMessageTooBig {
		t.Errorf("client read: %v (status %d), want 1009", err, code)
	}
	if err := <-serr; !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("router Recv: %v, want ErrMessageTooBig", err)
	}
	if err := <-werr; err != nil {
		t.Errorf("client write of the %d bytes: %v", size, err)
	}
	// One read of the router's 1 KiB buffer brings the header in.
	if n := conn.beforeClose.Load() - readBefore; n < 0 || n > 1<<10 {
		t.Errorf("the router read %d bytes of the message before refusing it, want at most 1 KiB", n)
	}
}

func TestOversizeMessageWhileTheClientWrites(t *testing.T) {
	s, ln := newCountingServer(t, &websocket.AcceptOptions{ReadLimit: 64 << 10})
	raw := rawDial(t, s, "wamp.2.json")
	srv := s.next(t)
	oversizeWhileWriting(t, s, ln, raw, srv, 4<<20)
}

func TestOversizeMessageOverTLS(t *testing.T) {
	// Over TLS the lingering close half-closes with close_notify and reads
	// through the TLS layer.
	s := &server{peers: make(chan transport.Peer, 16)}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := websocket.Accept(w, r, &websocket.AcceptOptions{ReadLimit: 64 << 10})
		if err == nil {
			s.peers <- p
		}
	}))
	s.url = "wss" + strings.TrimPrefix(s.Server.URL, "https")
	t.Cleanup(s.closeAll)
	raw, _, err := cws.Dial(t.Context(), s.url, &cws.DialOptions{Subprotocols: []string{"wamp.2.json"}, HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	srv := s.next(t)
	serr := recvAsync(srv)
	werr := make(chan error, 1)
	go func() { werr <- raw.Write(t.Context(), cws.MessageText, padded(t, 4<<20)) }()
	if _, _, err := raw.Read(t.Context()); cws.CloseStatus(err) != cws.StatusMessageTooBig {
		t.Errorf("client read: %v, want 1009", err)
	}
	if err := <-serr; !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("router Recv: %v, want ErrMessageTooBig", err)
	}
	if err := <-werr; err != nil {
		t.Errorf("client write: %v", err)
	}
}

func TestOversizeAfterSetReadLimit(t *testing.T) {
	for _, c := range []struct {
		name       string
		limit      int64
		fits, over int
	}{
		{"raised", 256 << 10, 200 << 10, 4 << 20},
		{"lowered", 2 << 10, 2 << 10, 8 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ln := newCountingServer(t, &websocket.AcceptOptions{ReadLimit: 64 << 10})
			raw := rawDial(t, s, "wamp.2.json")
			srv := s.next(t)
			srv.(transport.ReadLimiter).SetReadLimit(c.limit)
			if err := raw.Write(t.Context(), cws.MessageText, padded(t, c.fits)); err != nil {
				t.Fatal(err)
			}
			recv(t, srv)
			oversizeWhileWriting(t, s, ln, raw, srv, c.over)
		})
	}
}

func TestMessageAtTheLimit(t *testing.T) {
	const limit = 8 << 10
	s := newServer(t, &websocket.AcceptOptions{ReadLimit: limit})
	raw := rawDial(t, s, "wamp.2.json")
	srv := s.next(t)
	for range 3 {
		if err := raw.Write(t.Context(), cws.MessageText, padded(t, limit)); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, srv).(*wamp.Call); len(m.Args[0].(string)) != limit-callOverhead(t) {
			t.Errorf("got %d bytes of padding", len(m.Args[0].(string)))
		}
	}
	go raw.Read(t.Context()) // reads the router's close
	if err := raw.Write(t.Context(), cws.MessageText, padded(t, limit+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Recv(); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("Recv of limit+1 bytes: %v, want ErrMessageTooBig", err)
	}
}

func TestFragmentedOversizeMessage(t *testing.T) {
	// Frames that each fit but add up to more than the limit: coder/websocket
	// refuses the message as it reads.
	const limit = 8 << 10
	s := newServer(t, &websocket.AcceptOptions{ReadLimit: limit})
	raw := rawDial(t, s, "wamp.2.json")
	srv := s.next(t)
	serr := recvAsync(srv)
	cerr := make(chan error, 1)
	go func() { _, _, err := raw.Read(t.Context()); cerr <- err }()
	w, err := raw.Writer(t.Context(), cws.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	msg := padded(t, 4*limit)
	for i := 0; i < len(msg); i += limit / 2 {
		// coder/websocket writes each call as a frame of its own.
		if _, err := w.Write(msg[i : i+limit/2]); err != nil {
			break // the router closed
		}
	}
	w.Close()
	if err := <-serr; !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("router Recv: %v, want ErrMessageTooBig", err)
	}
	if code := cws.CloseStatus(<-cerr); code != cws.StatusMessageTooBig {
		t.Errorf("close status %d, want 1009", code)
	}
}

func TestSessionUnharmedByOversizeAttacks(t *testing.T) {
	s, _ := newCountingServer(t, &websocket.AcceptOptions{ReadLimit: 16 << 10})
	client, srv := connect(t, s, nil)
	stop := make(chan struct{})
	var attacks sync.WaitGroup
	var refused atomic.Int64
	for range 4 {
		attacks.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _, err := cws.Dial(t.Context(), s.url, &cws.DialOptions{Subprotocols: []string{"wamp.2.json"}})
				if err != nil {
					t.Errorf("attacker dial: %v", err)
					return
				}
				p := s.next(t)
				go p.Recv()
				go c.Write(t.Context(), cws.MessageText, make([]byte, 1<<20))
				if _, _, err := c.Read(t.Context()); cws.CloseStatus(err) == cws.StatusMessageTooBig {
					refused.Add(1)
				}
				c.CloseNow()
			}
		})
	}
	// Round trips until many attacks were refused.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; refused.Load() < 50 && time.Now().Before(deadline); i++ {
		send(t, client, &wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Topic: "com.example.t"})
		if m := recv(t, srv).(*wamp.Publish); m.Request != wamp.ID(i+1) {
			t.Fatalf("message %d: got request %d", i+1, m.Request)
		}
		send(t, srv, &wamp.Published{Request: wamp.ID(i + 1), Publication: 7})
		if m := recv(t, client).(*wamp.Published); m.Request != wamp.ID(i+1) {
			t.Fatalf("answer %d: got request %d", i+1, m.Request)
		}
	}
	close(stop)
	attacks.Wait()
	if refused.Load() < 50 {
		t.Errorf("%d attacks refused with 1009 in 10s, want 50", refused.Load())
	}
}

// TestSendLimit: a dialing peer told the other side's limit sends a
// message at the limit and refuses one a byte over it itself, with a
// *transport.SendTooBigError, and the connection stays usable.
func TestSendLimit(t *testing.T) {
	const limit = 8 << 10
	s := newServer(t, &websocket.AcceptOptions{ReadLimit: limit})
	client, srv := connect(t, s, nil)
	client.(transport.SendLimiter).SetSendLimit(limit)
	send(t, client, bigCall(limit-callOverhead(t)))
	if m := recv(t, srv).(*wamp.Call); len(m.Args[0].(string)) != limit-callOverhead(t) {
		t.Errorf("got %d bytes of padding", len(m.Args[0].(string)))
	}
	over := bigCall(limit + 1 - callOverhead(t))
	err := client.Send(over)
	var tooBig *transport.SendTooBigError
	if !errors.As(err, &tooBig) || tooBig.Message != over || tooBig.Size != limit+1 || tooBig.Limit != limit {
		t.Fatalf("Send of limit+1 bytes: %v, want a *transport.SendTooBigError for it", err)
	}
	send(t, client, bigCall(10))
	if m := recv(t, srv).(*wamp.Call); len(m.Args[0].(string)) != 10 {
		t.Errorf("after the refusal: got %d bytes of padding, want 10", len(m.Args[0].(string)))
	}
	client.(transport.SendLimiter).SetSendLimit(0)
	if err := client.Send(over); err != nil {
		t.Errorf("Send with the bound removed: %v", err)
	}
}
