package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/websocket"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// startRouter runs a router with realm1 behind a real HTTP server on
// 127.0.0.1 and returns its WebSocket URL.
func startRouter(t testing.TB, cfg server.Config) (*server.Router, string) {
	t.Helper()
	if len(cfg.Realms) == 0 {
		cfg.Realms = []server.RealmConfig{{Name: "realm1"}}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	t.Cleanup(func() {
		r.Close()
		hs.Close()
	})
	return r, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

func joinAs(t testing.TB, url, serializer string) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Join(ctx, url, "realm1", &client.Config{Serializer: serializer})
	if err != nil {
		t.Fatalf("join over %s: %v", serializer, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

var serializers = []string{"json", "msgpack", "cbor"}

// TestRPCAcrossSerializers calls between every pair of serializers with a
// binary payload and an application error, through the router.
func TestRPCAcrossSerializers(t *testing.T) {
	_, url := startRouter(t, server.Config{})
	for _, calleeSer := range serializers {
		for _, callerSer := range serializers {
			t.Run(calleeSer+"_to_"+callerSer, func(t *testing.T) {
				callee := joinAs(t, url, calleeSer)
				caller := joinAs(t, url, callerSer)
				ctx := t.Context()
				proc := wamp.URI("com.example.echo." + calleeSer + "." + callerSer)
				_, err := callee.Register(ctx, proc, func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
					if inv.Kwargs["fail"] == true {
						return nil, &wamp.Error{URI: "com.example.error.refused", Args: wamp.List{"no", int64(1) << 53}, Kwargs: wamp.Dict{"why": []byte{0xff}}}
					}
					return &client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				bin := []byte{0, 1, 2, 0xfe, 0xff}
				res, err := caller.Call(ctx, proc, wamp.List{bin, "text", int64(1)<<53 - 1, 2.5, nil, true}, wamp.Dict{"nested": wamp.Dict{"b": bin}})
				if err != nil {
					t.Fatal(err)
				}
				if got, ok := res.Args[0].([]byte); !ok || !bytes.Equal(got, bin) {
					t.Fatalf("binary arg came back as %T %v", res.Args[0], res.Args[0])
				}
				if res.Args[1] != "text" || res.Args[2] != int64(1)<<53-1 || res.Args[3] != 2.5 || res.Args[4] != nil || res.Args[5] != true {
					t.Fatalf("args came back as %#v", res.Args)
				}
				if got, _ := res.Kwargs["nested"].(wamp.Dict)["b"].([]byte); !bytes.Equal(got, bin) {
					t.Fatalf("nested binary came back as %#v", res.Kwargs)
				}
				_, err = caller.Call(ctx, proc, nil, wamp.Dict{"fail": true})
				werr, ok := errors.AsType[*wamp.Error](err)
				if !ok {
					t.Fatalf("error %v is not a *wamp.Error", err)
				}
				if werr.URI != "com.example.error.refused" || werr.Args[0] != "no" || werr.Args[1] != int64(1)<<53 {
					t.Fatalf("error came back as %#v", werr)
				}
				if b, _ := werr.Kwargs["why"].([]byte); !bytes.Equal(b, []byte{0xff}) {
					t.Fatalf("error kwargs came back as %#v", werr.Kwargs)
				}
			})
		}
	}
}

func TestPubSubAcrossSerializers(t *testing.T) {
	_, url := startRouter(t, server.Config{})
	got := make(chan string, 3)
	for _, ser := range serializers {
		s := joinAs(t, url, ser)
		_, err := s.Subscribe(t.Context(), "com.example.news", func(ev *client.Event) {
			got <- fmt.Sprintf("%s:%v:%x", ser, ev.Args[0], ev.Kwargs["b"])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pub := joinAs(t, url, "json")
	if err := pub.Publish(t.Context(), "com.example.news", wamp.List{"hi"}, wamp.Dict{"b": []byte{7}}, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"json:hi:07": true, "msgpack:hi:07": true, "cbor:hi:07": true}
	for range 3 {
		select {
		case s := <-got:
			if !want[s] {
				t.Fatalf("unexpected event %s", s)
			}
			delete(want, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("missing events: %v", want)
		}
	}
}

// rawConn is a WebSocket connection that sends hand-made frames.
type rawConn struct {
	t *testing.T
	c *ws.Conn
}

func dialRaw(t *testing.T, url, subprotocol string) *rawConn {
	t.Helper()
	c, _, err := ws.Dial(t.Context(), url, &ws.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return &rawConn{t: t, c: c}
}

func (r *rawConn) write(typ ws.MessageType, data []byte) {
	r.t.Helper()
	if err := r.c.Write(r.t.Context(), typ, data); err != nil {
		r.t.Fatal(err)
	}
}

// readMsg reads one message and decodes it with c.
func (r *rawConn) readMsg(c codec.Codec) (wamp.Message, error) {
	ctx, cancel := context.WithTimeout(r.t.Context(), 5*time.Second)
	defer cancel()
	_, data, err := r.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	return c.Decode(data)
}

const helloJSON = `[1,"realm1",{"roles":{"caller":{},"callee":{}}}]`

// TestBadInputOverWebSocket sends each kind of bad input over a real
// WebSocket and checks the documented answer, while another session on the
// same router keeps calling.
func TestBadInputOverWebSocket(t *testing.T) {
	_, url := startRouter(t, server.Config{MaxMessageSize: 4096})
	callee := joinAs(t, url, "msgpack")
	if _, err := callee.Register(t.Context(), "com.example.ping", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: wamp.List{"pong"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	bystander := joinAs(t, url, "json")
	checkBystander := func(t *testing.T) {
		t.Helper()
		res, err := bystander.Call(t.Context(), "com.example.ping", nil, nil)
		if err != nil || res.Args[0] != "pong" {
			t.Fatalf("bystander call: %v %v", res, err)
		}
	}

	big := `[48,1,{},"com.example.ping",["` + strings.Repeat("x", 5000) + `"]]`
	cases := []struct {
		name        string
		proto       string
		afterHello  bool
		typ         ws.MessageType
		frame       string
		wantAbort   wamp.URI // ABORT reason, or
		wantError   wamp.URI // ERROR URI, or
		wantClosure bool     // the connection closes (over-size)
	}{
		{"malformed JSON", "wamp.2.json", false, ws.MessageText, `[1,"realm1",{`, wamp.ErrProtocolViolation, "", false},
		{"malformed msgpack", "wamp.2.msgpack", false, ws.MessageBinary, "\x93\x01\xa6realm1\xdf\xff", wamp.ErrProtocolViolation, "", false},
		{"not a list", "wamp.2.json", false, ws.MessageText, `{"hello": 1}`, wamp.ErrProtocolViolation, "", false},
		{"message before HELLO", "wamp.2.json", false, ws.MessageText, `[48,1,{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"second HELLO", "wamp.2.json", true, ws.MessageText, helloJSON, wamp.ErrProtocolViolation, "", false},
		{"wrong arity", "wamp.2.json", true, ws.MessageText, `[48,1,{}]`, wamp.ErrProtocolViolation, "", false},
		{"unknown message type", "wamp.2.json", true, ws.MessageText, `[99,1,{}]`, wamp.ErrProtocolViolation, "", false},
		{"string ID", "wamp.2.json", true, ws.MessageText, `[48,"7",{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"float ID", "wamp.2.json", true, ws.MessageText, `[48,1.5,{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"zero ID", "wamp.2.json", true, ws.MessageText, `[48,0,{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"negative ID", "wamp.2.json", true, ws.MessageText, `[48,-1,{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"ID above 2^53", "wamp.2.json", true, ws.MessageText, `[48,9007199254740993,{},"com.example.ping"]`, wamp.ErrProtocolViolation, "", false},
		{"invalid UTF-8 in JSON", "wamp.2.json", true, ws.MessageText, "[48,1,{},\"com.\xff.ping\"]", wamp.ErrProtocolViolation, "", false},
		{"invalid UTF-8 URI in msgpack", "wamp.2.msgpack", true, ws.MessageBinary, "\x94\x30\x01\x80\xa8com.\xffpin", wamp.ErrProtocolViolation, "", false},
		{"invalid URI", "wamp.2.json", true, ws.MessageText, `[48,1,{},"com.example..ping"]`, "", wamp.ErrInvalidURI, false},
		{"router-only message", "wamp.2.json", true, ws.MessageText, `[36,1,1,{}]`, wamp.ErrProtocolViolation, "", false},
		{"oversized message", "wamp.2.json", true, ws.MessageText, big, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, url, tc.proto)
			cd, _, _ := codec.BySubprotocol(tc.proto)
			if tc.afterHello {
				hello, _ := cd.Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
				typ := ws.MessageText
				if cd.Binary() {
					typ = ws.MessageBinary
				}
				c.write(typ, hello)
				if m, err := c.readMsg(cd); err != nil || m.Type() != wamp.TypeWelcome {
					t.Fatalf("no WELCOME: %v %v", m, err)
				}
			}
			c.write(tc.typ, []byte(tc.frame))
			m, err := c.readMsg(cd)
			switch {
			case tc.wantClosure:
				if ws.CloseStatus(err) != ws.StatusMessageTooBig {
					t.Fatalf("over-size message: got %v %v, want close 1009", m, err)
				}
			case tc.wantError != "":
				e, ok := m.(*wamp.ErrorMessage)
				if err != nil || !ok || e.Error != tc.wantError {
					t.Fatalf("got %v %v, want ERROR %s", m, err, tc.wantError)
				}
			default:
				a, ok := m.(*wamp.Abort)
				if err != nil || !ok || a.Reason != tc.wantAbort {
					t.Fatalf("got %#v %v, want ABORT %s", m, err, tc.wantAbort)
				}
				if msg, _ := a.Details["message"].(string); msg == "" {
					t.Fatal("ABORT without a readable message")
				}
				if _, err := c.readMsg(cd); err == nil {
					t.Fatal("connection still open after ABORT")
				}
			}
			checkBystander(t)
		})
	}
}

func TestWebSocketRefusesMissingSubprotocol(t *testing.T) {
	_, url := startRouter(t, server.Config{})
	_, resp, err := ws.Dial(t.Context(), url, nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("dial without subprotocol: %v %v", resp, err)
	}
}

// joinBatched joins realm1 over WebSocket with the batched subprotocol of
// codec c.
func joinBatched(t *testing.T, url string, c codec.Codec) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	peer, err := websocket.Dial(ctx, url, &websocket.DialOptions{Codecs: []codec.Codec{c}, Batched: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.JoinPeer(ctx, peer, "realm1", nil)
	if err != nil {
		t.Fatalf("join over %s.batched: %v", c.Name(), err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	if info := s.Transport(); !info.Batched || info.Serializer != c.Name() || info.Transport != "websocket" {
		t.Fatalf("transport %+v, want batched websocket with %s", info, c.Name())
	}
	return s
}

// TestBatchedWebSocket: sessions on the wamp.2.*.batched subprotocols
// join, register, call, subscribe and publish through the router, with
// each serializer.
func TestBatchedWebSocket(t *testing.T) {
	_, url := startRouter(t, server.Config{})
	for _, c := range codec.All {
		t.Run(c.Name(), func(t *testing.T) {
			ctx := t.Context()
			callee := joinBatched(t, url, c)
			caller := joinBatched(t, url, c)
			proc := wamp.URI("com.example.echo." + c.Name())
			_, err := callee.Register(ctx, proc, func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
				return &client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			bin := []byte{0, 1, 0xff}
			res, err := caller.Call(ctx, proc, wamp.List{"text", int64(1) << 40, bin}, wamp.Dict{"k": 2.5})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Args) != 3 || res.Args[0] != "text" || res.Args[1] != int64(1)<<40 || !bytes.Equal(res.Args[2].([]byte), bin) || res.Kwargs["k"] != 2.5 {
				t.Fatalf("RESULT %v %v", res.Args, res.Kwargs)
			}

			// Several events in a row, unacknowledged so that the router
			// may write them in one batch, arrive in order.
			got := make(chan any, 10)
			topic := wamp.URI("com.example.batch." + c.Name())
			if _, err := callee.Subscribe(ctx, topic, func(ev *client.Event) { got <- ev.Args[0] }); err != nil {
				t.Fatal(err)
			}
			const n = 5
			for i := range n {
				if err := caller.Publish(ctx, topic, wamp.List{int64(i)}, nil); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				select {
				case v := <-got:
					if v != int64(i) {
						t.Fatalf("event %d carries %v", i, v)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("event %d did not arrive", i)
				}
			}
		})
	}
}
