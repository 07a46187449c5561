//go:build !js

package websocket_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// server is an httptest server whose handler accepts WAMP WebSocket
// connections and hands the peers to the test.
type server struct {
	*httptest.Server
	url   string
	peers chan transport.Peer

	mu   sync.Mutex
	raws []*cws.Conn
	open []transport.Peer
}

func newServer(t *testing.T, opts *websocket.AcceptOptions) *server {
	t.Helper()
	s := &server{peers: make(chan transport.Peer, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		s.peers <- p
	}))
	s.url = "ws" + strings.TrimPrefix(s.Server.URL, "http")
	t.Cleanup(s.closeAll)
	return s
}

// closeAll drops the raw connections, then closes every peer at once: a
// close handshake needs the other side to read, and a peer that is not in
// Recv reads only while it closes itself.
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.raws {
		c.CloseNow()
	}
	var wg sync.WaitGroup
	for _, p := range s.open {
		wg.Go(func() { p.Close() })
	}
	wg.Wait()
	s.Close()
}

func (s *server) track(p transport.Peer) {
	s.mu.Lock()
	s.open = append(s.open, p)
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

// connect dials s and returns both ends.
func connect(t *testing.T, s *server, opts *websocket.DialOptions) (client, srv transport.Peer) {
	t.Helper()
	c, err := websocket.Dial(t.Context(), s.url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	s.track(c)
	return c, s.next(t)
}

// rawDial opens a plain WebSocket connection offering protos, for tests that
// write frames by hand.
func rawDial(t *testing.T, s *server, protos ...string) *cws.Conn {
	t.Helper()
	c, _, err := cws.Dial(t.Context(), s.url, &cws.DialOptions{Subprotocols: protos})
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	s.mu.Lock()
	s.raws = append(s.raws, c)
	s.mu.Unlock()
	return c
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

func TestRoundTripEverySubprotocol(t *testing.T) {
	s := newServer(t, nil)
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
	for _, c := range codec.All {
		for _, batched := range []bool{false, true} {
			t.Run(codec.Subprotocol(c, batched), func(t *testing.T) {
				client, srv := connect(t, s, &websocket.DialOptions{Codecs: []codec.Codec{c}, Batched: batched})
				want := transport.Info{Transport: "websocket", Serializer: c.Name(), Batched: batched}
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
			})
		}
	}
}

func TestFrameTypes(t *testing.T) {
	s := newServer(t, nil)
	for _, c := range codec.All {
		t.Run(c.Name(), func(t *testing.T) {
			raw := rawDial(t, s, codec.Subprotocol(c, false))
			srv := s.next(t)
			send(t, srv, &wamp.Published{Request: 1, Publication: 2})
			typ, data, err := raw.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			wantTyp := cws.MessageText
			if c.Binary() {
				wantTyp = cws.MessageBinary
			}
			if typ != wantTyp {
				t.Errorf("frame type %v, want %v", typ, wantTyp)
			}
			m, err := c.Decode(data)
			if err != nil || !reflect.DeepEqual(m, &wamp.Published{Request: 1, Publication: 2}) {
				t.Errorf("frame decodes to %#v, %v", m, err)
			}
		})
	}
}

func TestBatchedFrameWithSeveralMessages(t *testing.T) {
	s := newServer(t, nil)
	for _, c := range codec.All {
		t.Run(c.Name(), func(t *testing.T) {
			raw := rawDial(t, s, codec.Subprotocol(c, true))
			srv := s.next(t)
			msgs := []wamp.Message{
				&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.a"},
				&wamp.Unsubscribe{Request: 2, Subscription: 3},
				&wamp.Publish{Request: 4, Options: wamp.Dict{}, Topic: "com.example.b", Args: wamp.List{[]byte{9}}},
			}
			var frame []byte
			for _, m := range msgs {
				enc, err := c.Encode(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				frame = codec.AppendBatch(frame, c, enc)
			}
			typ := cws.MessageText
			if c.Binary() {
				typ = cws.MessageBinary
			}
			if err := raw.Write(t.Context(), typ, frame); err != nil {
				t.Fatal(err)
			}
			for i, want := range msgs {
				if got := recv(t, srv); !reflect.DeepEqual(got, want) {
					t.Errorf("message %d: got %#v, want %#v", i, got, want)
				}
			}
			// A send on a batched subprotocol is a batch of one.
			send(t, srv, &wamp.Published{Request: 4, Publication: 5})
			_, data, err := raw.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			parts, err := codec.SplitBatch(c, data)
			if err != nil || len(parts) != 1 {
				t.Fatalf("SplitBatch = %d parts, %v; want 1", len(parts), err)
			}
			if m, err := c.Decode(parts[0]); err != nil || !reflect.DeepEqual(m, &wamp.Published{Request: 4, Publication: 5}) {
				t.Errorf("batch decodes to %#v, %v", m, err)
			}
		})
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		codecs  []codec.Codec
		offered []string
		want    string
	}{
		{"client order wins", nil, []string{"wamp.2.cbor", "wamp.2.json"}, "wamp.2.cbor"},
		{"unknown skipped", nil, []string{"wamp.2.xml", "wamp.2.msgpack.batched", "wamp.2.json"}, "wamp.2.msgpack.batched"},
		{"router restricts", []codec.Codec{codec.JSON}, []string{"wamp.2.msgpack", "wamp.2.json.batched"}, "wamp.2.json.batched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, &websocket.AcceptOptions{Codecs: tt.codecs})
			raw := rawDial(t, s, tt.offered...)
			srv := s.next(t)
			if got := raw.Subprotocol(); got != tt.want {
				t.Errorf("negotiated %q, want %q", got, tt.want)
			}
			c, batched, _ := codec.BySubprotocol(tt.want)
			if info := srv.Info(); info.Serializer != c.Name() || info.Batched != batched {
				t.Errorf("server Info() = %+v, want %s batched=%v", info, c.Name(), batched)
			}
		})
	}
}

func TestRefusedSubprotocol(t *testing.T) {
	s := newServer(t, &websocket.AcceptOptions{Codecs: []codec.Codec{codec.JSON}})
	for _, offered := range [][]string{nil, {"wamp.2.xml"}, {"wamp.2.msgpack"}, {"chat"}} {
		t.Run(strings.Join(offered, ","), func(t *testing.T) {
			_, resp, err := cws.Dial(t.Context(), s.url, &cws.DialOptions{Subprotocols: offered})
			if err == nil {
				t.Fatal("Dial succeeded, want a refusal")
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("response %v, want 400", resp)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), "WAMP subprotocol offered") || !strings.Contains(string(body), "speaks wamp.2.json, wamp.2.json.batched") {
				t.Errorf("body %q does not give the reason", body)
			}
		})
	}
	// Our own Dial reports the router's reason.
	_, err := websocket.Dial(t.Context(), s.url, &websocket.DialOptions{Codecs: []codec.Codec{codec.MessagePack}})
	if err == nil || !strings.Contains(err.Error(), "no supported WAMP subprotocol offered (got wamp.2.msgpack)") {
		t.Errorf("Dial error %v, want the router's reason", err)
	}
	select {
	case <-s.peers:
		t.Error("a refused request reached the server as a peer")
	default:
	}
}

func TestOrigin(t *testing.T) {
	dial := func(s *server, origin string) (int, error) {
		h := http.Header{}
		h.Set("Origin", origin)
		c, resp, err := cws.Dial(t.Context(), s.url, &cws.DialOptions{HTTPHeader: h, Subprotocols: []string{"wamp.2.json"}})
		if err == nil {
			c.CloseNow()
			return http.StatusSwitchingProtocols, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	strict := newServer(t, nil)
	if code, err := dial(strict, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("foreign Origin: status %d (%v), want 403", code, err)
	}
	if code, err := dial(strict, "http://"+strict.Listener.Addr().String()); code != http.StatusSwitchingProtocols {
		t.Errorf("same Origin: status %d (%v), want 101", code, err)
	}
	open := newServer(t, &websocket.AcceptOptions{OriginPatterns: []string{"*.example.com"}})
	if code, err := dial(open, "https://app.example.com"); code != http.StatusSwitchingProtocols {
		t.Errorf("allowed Origin: status %d (%v), want 101", code, err)
	}
	if code, err := dial(open, "https://example.org"); code != http.StatusForbidden {
		t.Errorf("Origin outside the pattern: status %d (%v), want 403", code, err)
	}
	// Our Dial passes HTTPHeader on.
	h := http.Header{"Origin": {"https://app.example.com"}}
	if _, err := websocket.Dial(t.Context(), open.url, &websocket.DialOptions{HTTPHeader: h}); err != nil {
		t.Errorf("Dial with an allowed Origin: %v", err)
	}
	if _, err := websocket.Dial(t.Context(), strict.url, &websocket.DialOptions{HTTPHeader: h}); err == nil {
		t.Error("Dial with a foreign Origin succeeded")
	}
}

func bigCall(n int) *wamp.Call {
	return &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.big", Args: wamp.List{strings.Repeat("x", n)}}
}

func TestMessageTooBig(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "batched"}[batched], func(t *testing.T) {
			s := newServer(t, &websocket.AcceptOptions{ReadLimit: 256})
			client, srv := connect(t, s, &websocket.DialOptions{Batched: batched})
			send(t, client, bigCall(100))
			recv(t, srv)
			cerr := make(chan error, 1)
			go func() { _, err := client.Recv(); cerr <- err }()
			send(t, client, bigCall(1000))
			start := time.Now()
			_, err := srv.Recv()
			if !errors.Is(err, transport.ErrMessageTooBig) {
				t.Fatalf("Recv of an oversize frame: %v, want ErrMessageTooBig", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("Recv took %v to refuse and close", d)
			}
			// The router closed with 1009; the client sees a closed connection.
			err = <-cerr
			if !errors.Is(err, transport.ErrClosed) {
				t.Fatalf("client Recv after the refusal: %v, want ErrClosed", err)
			}
			if code := cws.CloseStatus(err); code != cws.StatusMessageTooBig {
				t.Errorf("close status %v, want %v", code, cws.StatusMessageTooBig)
			}
			if _, err := srv.Recv(); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("server Recv after the refusal: %v, want ErrClosed", err)
			}
		})
	}
}

func TestSetReadLimit(t *testing.T) {
	s := newServer(t, &websocket.AcceptOptions{ReadLimit: 256})
	client, srv := connect(t, s, nil)
	srv.(transport.ReadLimiter).SetReadLimit(4096)
	send(t, client, bigCall(3000))
	if m := recv(t, srv).(*wamp.Call); len(m.Args[0].(string)) != 3000 {
		t.Errorf("got %d bytes", len(m.Args[0].(string)))
	}
	client.(transport.ReadLimiter).SetReadLimit(64)
	go srv.Recv() // reads the client's close
	send(t, srv, &wamp.Result{Request: 1, Args: wamp.List{strings.Repeat("y", 100)}})
	if _, err := client.Recv(); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("client Recv: %v, want ErrMessageTooBig", err)
	}
}

func TestDefaultReadLimit(t *testing.T) {
	s := newServer(t, nil)
	client, srv := connect(t, s, nil)
	send(t, client, bigCall(websocket.DefaultReadLimit-100))
	recv(t, srv)
	go client.Recv() // reads the router's close
	send(t, client, bigCall(websocket.DefaultReadLimit))
	if _, err := srv.Recv(); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Errorf("Recv: %v, want ErrMessageTooBig", err)
	}
}

func TestMalformedFrame(t *testing.T) {
	s := newServer(t, nil)
	for _, proto := range []string{"wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor", "wamp.2.json.batched", "wamp.2.cbor.batched"} {
		t.Run(proto, func(t *testing.T) {
			raw := rawDial(t, s, proto)
			srv := s.next(t)
			c, batched, _ := codec.BySubprotocol(proto)
			typ := cws.MessageText
			if c.Binary() {
				typ = cws.MessageBinary
			}
			var bad [][]byte
			if batched {
				// A batch that its framing cannot split, then a well framed
				// batch of a message that does not decode.
				bad = append(bad, []byte{0, 0, 0, 9, '['})
				if !c.Binary() {
					bad[0] = []byte(`[1,"realm",{}]`) // no 0x1E terminator
				}
				bad = append(bad, codec.AppendBatch(nil, c, []byte{0xc1, '}', 0}))
			} else {
				bad = append(bad, []byte{0xc1, '}', 0}, []byte(`[999]`))
			}
			good := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}
			enc, err := c.Encode(nil, good)
			if err != nil {
				t.Fatal(err)
			}
			if batched {
				enc = codec.AppendBatch(nil, c, enc)
			}
			for _, frame := range bad {
				if err := raw.Write(t.Context(), typ, frame); err != nil {
					t.Fatal(err)
				}
				if _, err := srv.Recv(); !errors.Is(err, wamp.ErrInvalidMessage) {
					t.Fatalf("Recv of %q: %v, want ErrInvalidMessage", frame, err)
				}
			}
			// The connection still works: the router can answer with ABORT.
			if err := raw.Write(t.Context(), typ, enc); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, srv); !reflect.DeepEqual(got, good) {
				t.Errorf("after the bad frames got %#v", got)
			}
			send(t, srv, &wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrProtocolViolation})
			if _, _, err := raw.Read(t.Context()); err != nil {
				t.Errorf("client did not get the ABORT: %v", err)
			}
		})
	}
}

// recvAsync runs p.Recv in a goroutine and returns its error.
func recvAsync(p transport.Peer) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := p.Recv()
		ch <- err
	}()
	return ch
}

func wantClosed(t *testing.T, who string, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("%s Recv: %v, want ErrClosed", who, err)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("%s Recv still blocked", who)
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	s := newServer(t, nil)
	for _, closer := range []string{"client", "server"} {
		t.Run(closer, func(t *testing.T) {
			client, srv := connect(t, s, nil)
			cerr, serr := recvAsync(client), recvAsync(srv)
			time.Sleep(20 * time.Millisecond) // let both block in Recv
			p := client
			if closer == "server" {
				p = srv
			}
			start := time.Now()
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("Close took %v although the other side answered", d)
			}
			wantClosed(t, "client", cerr)
			wantClosed(t, "server", serr)
			for _, p := range []transport.Peer{client, srv} {
				if err := p.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut}); !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Send after Close: %v, want ErrClosed", err)
				}
				if _, err := p.Recv(); !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Recv after Close: %v, want ErrClosed", err)
				}
				if err := p.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			}
		})
	}
}

func TestCloseWhenTheOtherSideNeverAnswers(t *testing.T) {
	s := newServer(t, nil)
	raw := rawDial(t, s, "wamp.2.json") // never reads, so never answers the close
	srv := s.next(t)
	serr := recvAsync(srv)
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	wantClosed(t, "server", serr)
	_ = raw
}

func TestDrop(t *testing.T) {
	// Drop ends the connection at once, with no close frame: the other
	// side reads an abnormal end, not a close status.
	s := newServer(t, nil)
	raw := rawDial(t, s, "wamp.2.json")
	srv := s.next(t)
	serr := recvAsync(srv)
	start := time.Now()
	srv.(transport.Dropper).Drop()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Drop took %v", d)
	}
	wantClosed(t, "server", serr)
	_, _, err := raw.Read(t.Context())
	if err == nil || cws.CloseStatus(err) != -1 {
		t.Errorf("client read after Drop: %v (status %d), want an end without a close frame", err, cws.CloseStatus(err))
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after Drop: %v", err)
	}
}

func TestDialerCloseWhenTheRouterNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := cws.Accept(w, r, &cws.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
		if err != nil {
			return
		}
		<-release // never reads, so never answers the close
		c.CloseNow()
	}))
	defer hs.Close()
	defer close(release)
	client, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cerr := recvAsync(client)
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	client.Close()
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	wantClosed(t, "client", cerr)
}

func TestCloseUnblocksSend(t *testing.T) {
	s := newServer(t, nil)
	rawDial(t, s, "wamp.2.json") // never reads: the server's writes fill the socket
	srv := s.next(t)
	errc := make(chan error, 1)
	go func() {
		big := bigCall(64 << 10)
		for {
			if err := srv.Send(big); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let Send block on a full socket
	start := time.Now()
	srv.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send: %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Send still blocked after Close")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close and Send took %v", d)
	}
}

func TestLostConnection(t *testing.T) {
	s := newServer(t, nil)
	raw := rawDial(t, s, "wamp.2.json")
	srv := s.next(t)
	serr := recvAsync(srv)
	raw.CloseNow() // no close frame: the TCP connection just ends
	wantClosed(t, "server", serr)
}

func TestPing(t *testing.T) {
	s := newServer(t, nil)
	client, srv := connect(t, s, nil)
	// Each side reads, as a router and a client always do, so pongs arrive.
	cerr, serr := recvAsync(client), recvAsync(srv)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	for _, p := range []transport.Peer{client, srv} {
		if err := p.(transport.Pinger).Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	}
	client.Close()
	wantClosed(t, "client", cerr)
	wantClosed(t, "server", serr)
	if err := srv.(transport.Pinger).Ping(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
}

func TestPingTimeout(t *testing.T) {
	s := newServer(t, nil)
	rawDial(t, s, "wamp.2.json") // never reads, so never answers pings
	srv := s.next(t)
	go srv.Recv()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := srv.(transport.Pinger).Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping: %v, want DeadlineExceeded", err)
	}
}

func TestPreparedEncodedOncePerSerializer(t *testing.T) {
	s := newServer(t, nil)
	var clients, servers []transport.Peer
	for i := range 10 {
		c := codec.JSON
		if i%2 == 1 {
			c = codec.MessagePack
		}
		client, srv := connect(t, s, &websocket.DialOptions{Codecs: []codec.Codec{c}, Batched: i%4 == 0})
		clients, servers = append(clients, client), append(servers, srv)
	}
	event := &wamp.Event{Subscription: 5, Publication: 6, Details: wamp.Dict{}, Args: wamp.List{"fan", []byte{1, 2}}}
	p := codec.Prepare(event)
	for _, srv := range servers {
		send(t, srv, p)
	}
	if n := p.Encodings(); n != 2 {
		t.Errorf("Encodings() = %d, want 2", n)
	}
	for i, c := range clients {
		if got := recv(t, c); !reflect.DeepEqual(got, event) {
			t.Errorf("client %d got %#v", i, got)
		}
	}
}

func TestConcurrentSendAndRecv(t *testing.T) {
	s := newServer(t, nil)
	client, srv := connect(t, s, &websocket.DialOptions{Codecs: []codec.Codec{codec.MessagePack}})
	const n = 200
	var wg sync.WaitGroup
	wg.Go(func() { // echo
		for range n {
			m, err := srv.Recv()
			if err != nil {
				t.Errorf("server Recv: %v", err)
				return
			}
			c := m.(*wamp.Call)
			if err := srv.Send(&wamp.Result{Request: c.Request, Details: wamp.Dict{}, Args: c.Args}); err != nil {
				t.Errorf("server Send: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			if err := client.Send(&wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "p", Args: wamp.List{int64(i)}}); err != nil {
				t.Errorf("client Send: %v", err)
				return
			}
		}
	})
	for i := range n {
		r := recv(t, client).(*wamp.Result)
		if r.Request != wamp.ID(i+1) || r.Args[0] != int64(i) {
			t.Fatalf("result %d: %#v", i, r)
		}
	}
	wg.Wait()
}

func TestDialContextBoundsOnlyTheHandshake(t *testing.T) {
	s := newServer(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	client, err := websocket.Dial(ctx, s.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.track(client)
	srv := s.next(t)
	cancel()
	time.Sleep(20 * time.Millisecond)
	send(t, client, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}})
	recv(t, srv)
	send(t, srv, &wamp.Welcome{Session: 1, Details: wamp.Dict{}})
	recv(t, client)
}

func TestBadInput(t *testing.T) {
	s := newServer(t, nil)
	client, _ := connect(t, s, nil)
	if err := client.Send(nil); err == nil {
		t.Error("Send(nil) succeeded")
	}
	err := client.Send(&wamp.Call{Request: 1, Procedure: "p", Args: wamp.List{make(chan int)}})
	if !errors.Is(err, codec.ErrUnsupportedValue) {
		t.Errorf("Send of an unencodable value: %v, want ErrUnsupportedValue", err)
	}
	send(t, client, &wamp.Hello{Realm: "still.works", Details: wamp.Dict{}}) // the connection survives
	for _, u := range []string{"::bad", "ftp://example.com/ws"} {
		if _, err := websocket.Dial(t.Context(), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := websocket.Dial(ctx, s.url, nil); err == nil {
		t.Error("Dial with a canceled context succeeded")
	}
}

// A router that does not speak the subprotocol it picks is refused.
func TestDialRejectsAnUnofferedSubprotocol(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := cws.Accept(w, r, nil) // picks no subprotocol
		if err != nil {
			return
		}
		c.CloseNow()
	}))
	defer hs.Close()
	_, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err == nil || !strings.Contains(err.Error(), "subprotocol") {
		t.Errorf("Dial: %v, want a subprotocol error", err)
	}
}
