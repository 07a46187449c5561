//go:build !js

package longpoll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// The fuzz targets of the long-poll framing, both ends. The server's drive
// the real Handler through its mux (no network); the client's drive the
// real client with a post function that answers with the fuzzed bytes.
// Their seeds are in testdata/fuzz/<Target>, besides the encoded messages
// of every protocol that the targets add themselves.

// fuzzReadLimit is the send body limit of the fuzzed handler: small, so
// that the 413 path runs too.
const fuzzReadLimit = 4096

// fuzzDeadline bounds each request and each Recv of the fuzz targets: a
// hang fails the input instead of stalling the fuzzer.
const fuzzDeadline = 5 * time.Second

// fuzzProtocols lists every subprotocol the codecs of this build speak,
// unbatched and batched.
func fuzzProtocols() []string {
	var ps []string
	for _, c := range codec.All {
		ps = append(ps, codec.Subprotocol(c, false), codec.Subprotocol(c, true))
	}
	return ps
}

// oracleDecode reads a send or receive body independently of decodeBody:
// the messages it holds, and whether it ends with a malformed part (or is
// not a batch at all).
func oracleDecode(c codec.Codec, batched bool, body []byte) (msgs []wamp.Message, bad bool) {
	frames := [][]byte{body}
	if batched {
		var err error
		if frames, err = codec.SplitBatch(c, body); err != nil || len(frames) == 0 {
			return nil, true
		}
	}
	for _, f := range frames {
		m, err := c.Decode(f)
		if err != nil {
			return msgs, true
		}
		msgs = append(msgs, m)
	}
	return msgs, false
}

// sameMessage compares two messages by their wire form (wamp.ToList,
// which leaves out empty trailing Args and Kwargs: a CALL with Args [] and
// one without are the same message). fmt prints maps in key order and NaN
// as NaN, where reflect.DeepEqual would call two NaNs different.
func sameMessage(a, b wamp.Message) bool {
	return fmt.Sprintf("%#v", wamp.ToList(a)) == fmt.Sprintf("%#v", wamp.ToList(b))
}

// fuzzPost posts body to path through ts's mux within fuzzDeadline and
// fails the input when the handler did not answer in time.
func fuzzPost(t *testing.T, ts *testServer, path string, body []byte) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), fuzzDeadline)
	defer cancel()
	r := ts.do(t, ctx, http.MethodPost, path, body)
	if ctx.Err() != nil {
		t.Fatalf("POST %s did not answer within %v", path, fuzzDeadline)
	}
	if r.status >= 500 {
		t.Fatalf("POST %s: HTTP %d %s", path, r.status, r.body)
	}
	return r
}

// FuzzHandlerOpen posts arbitrary bodies to {base}/open. The handler
// answers 200 with the first offered protocol it speaks, and the transport
// it opened works; or it answers 4xx when there is none or the body is not
// {"protocols": [...]}. Never a 5xx, a panic or a hang.
func FuzzHandlerOpen(f *testing.F) {
	ts := newTestServer(f, &Config{SessionTimeout: time.Hour})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzPost(t, ts, "/lp/open", body)

		// What the handler must choose: the first protocol it speaks.
		var req openRequest
		want := ""
		if err := json.Unmarshal(body, &req); err == nil {
			for _, p := range req.Protocols {
				if _, _, ok := codec.BySubprotocol(p); ok {
					want = p
					break
				}
			}
		}
		switch {
		case len(body) > openLimit:
			if r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("open with %d bytes: HTTP %d, want 413", len(body), r.status)
			}
			return
		case want == "":
			if r.status != http.StatusBadRequest {
				t.Fatalf("open %q: HTTP %d %s, want 400", body, r.status, r.body)
			}
			return
		case r.status != http.StatusOK:
			t.Fatalf("open %q: HTTP %d %s, want 200 with %s", body, r.status, r.body, want)
		}

		or, err := parseOpenResponse(r.body)
		if err != nil || or.Transport == "" || or.Protocol != want {
			t.Fatalf("open %q answered %s (%v), want a transport with %s", body, r.body, err, want)
		}
		var p transport.Peer
		select {
		case p = <-ts.peers:
		default:
			t.Fatal("open answered 200 before the router got the transport")
		}
		c, batched, _ := codec.BySubprotocol(want)
		if info := p.Info(); info.Transport != "longpoll" || info.Serializer != c.Name() || info.Batched != batched {
			t.Fatalf("transport for %s: %+v", want, info)
		}
		if r := fuzzPost(t, ts, "/lp/"+or.Transport+"/close", nil); r.status != http.StatusNoContent {
			t.Fatalf("close: HTTP %d %s", r.status, r.body)
		}
		if _, err := recvWithin(t, p, fuzzDeadline); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Recv after the client's close: %v, want ErrClosed", err)
		}
	})
}

// fuzzSession is an open server transport of FuzzHandlerSend.
type fuzzSession struct {
	id string
	c  *conn
}

// FuzzHandlerSend posts arbitrary bodies to {base}/{id}/send of transports
// opened with each protocol. The handler answers 204 and Recv returns
// every message of the body; or 400 and Recv returns the messages before
// the malformed one, then an error wrapping wamp.ErrInvalidMessage, and
// the transport stays open; or 413 and Recv returns ErrMessageTooBig, then
// ErrClosed. Either way the inbox ends empty and free for the next body.
// What was delivered is then sent back: a receive returns it framed as the
// protocol says, and it decodes to the same messages.
func FuzzHandlerSend(f *testing.F) {
	protocols := fuzzProtocols()
	for i, p := range protocols {
		c, batched, _ := codec.BySubprotocol(p)
		var body []byte
		for _, m := range []wamp.Message{
			&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}},
			&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.add", Args: wamp.List{int64(2), 3.5, binary()}},
		} {
			data, err := c.Encode(nil, m)
			if err != nil {
				f.Fatal(err)
			}
			if !batched {
				f.Add(uint8(i), data)
				continue
			}
			body = codec.AppendBatch(body, c, data)
		}
		if batched {
			f.Add(uint8(i), body)
			f.Add(uint8(i), body[:len(body)-3])
		}
	}

	ts := newTestServer(f, &Config{ReadLimit: fuzzReadLimit, SessionTimeout: time.Hour})
	sessions := map[string]*fuzzSession{}
	f.Fuzz(func(t *testing.T, proto uint8, body []byte) {
		protocol := protocols[int(proto)%len(protocols)]
		c, batched, _ := codec.BySubprotocol(protocol)
		s := sessions[protocol]
		if s == nil {
			id := ts.open(t, protocol)
			s = &fuzzSession{id: id, c: ts.peer(t).(*conn)}
			sessions[protocol] = s
		}
		r := fuzzPost(t, ts, "/lp/"+s.id+"/send", body)

		if len(body) > fuzzReadLimit {
			delete(sessions, protocol)
			if r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("send of %d bytes: HTTP %d %s, want 413", len(body), r.status, r.body)
			}
			if _, err := recvWithin(t, s.c, fuzzDeadline); !errors.Is(err, transport.ErrMessageTooBig) {
				t.Fatalf("Recv after 413: %v, want ErrMessageTooBig", err)
			}
			if _, err := recvWithin(t, s.c, fuzzDeadline); !errors.Is(err, transport.ErrClosed) {
				t.Fatalf("Recv after ErrMessageTooBig: %v, want ErrClosed", err)
			}
			fuzzPost(t, ts, "/lp/"+s.id+"/close", nil) // the handler forgets it
			return
		}

		want, bad := oracleDecode(c, batched, body)
		if wantStatus := map[bool]int{false: http.StatusNoContent, true: http.StatusBadRequest}[bad]; r.status != wantStatus {
			t.Fatalf("%s send %q: HTTP %d %s, want %d", protocol, body, r.status, r.body, wantStatus)
		}
		for i, w := range want {
			m, err := recvWithin(t, s.c, fuzzDeadline)
			if err != nil || !sameMessage(m, w) {
				t.Fatalf("%s send %q: Recv %d = %#v, %v; want %#v", protocol, body, i, m, err, w)
			}
		}
		if bad {
			if _, err := recvWithin(t, s.c, fuzzDeadline); !errors.Is(err, wamp.ErrInvalidMessage) || errors.Is(err, transport.ErrClosed) {
				t.Fatalf("%s send %q: Recv after the messages: %v, want ErrInvalidMessage", protocol, body, err)
			}
		}
		s.c.mu.Lock()
		left, free, closed := len(s.c.in), len(s.c.inFree), s.c.closed
		s.c.mu.Unlock()
		if left != 0 || free != 1 || closed {
			t.Fatalf("%s send %q: after Recv, %d items left, inbox token %d, closed %v; want 0, 1, false", protocol, body, left, free, closed)
		}
		if bad {
			return
		}

		// Back the other way: the server's framing of what it sends.
		for _, m := range want {
			if err := s.c.Send(m); err != nil {
				t.Fatalf("%s: Send of %#v, decoded from %q: %v", protocol, m, body, err)
			}
		}
		var got []wamp.Message
		for len(got) < len(want) {
			r := fuzzPost(t, ts, "/lp/"+s.id+"/receive", nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s receive: HTTP %d %s, want 200", protocol, r.status, r.body)
			}
			msgs, bad := oracleDecode(c, batched, r.body)
			if bad || len(msgs) == 0 {
				t.Fatalf("%s receive: body %q does not decode", protocol, r.body)
			}
			got = append(got, msgs...)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: sent %d messages, received %d", protocol, len(want), len(got))
		}
		for i := range want {
			if !sameMessage(got[i], want[i]) {
				t.Fatalf("%s: message %d came back as %#v, want %#v", protocol, i, got[i], want[i])
			}
		}
	})
}

// fuzzStatuses are the statuses a fuzzed router answers a receive with.
var fuzzStatuses = []int{200, 204, 404, 500, 413, 302}

// fakeRouter is a post function that plays a long-poll router: open
// answers with open, the first receive with (status, body), later receives
// wait until the client closes the transport, as a router ends a pending
// receive when it closes one (or until the request is canceled); send and
// close answer 204. It records the URLs of the receives on polled.
type fakeRouter struct {
	open      []byte
	status    int
	body      []byte
	polled    chan string // buffered
	served    chan struct{}
	closed    chan struct{} // closed by the client's close request
	closeOnce sync.Once
}

func newFakeRouter(open []byte, status int, body []byte) *fakeRouter {
	return &fakeRouter{open: open, status: status, body: body, polled: make(chan string, 2), served: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (fr *fakeRouter) post(ctx context.Context, u, contentType string, body []byte, limit int64) (int, []byte, error) {
	switch {
	case strings.HasSuffix(u, "/open"):
		return http.StatusOK, fr.open, nil
	case strings.HasSuffix(u, "/receive"):
		select {
		case fr.polled <- u:
		default:
		}
		select {
		case fr.served <- struct{}{}:
			return fr.status, fr.body, nil
		default:
		}
		select {
		case <-fr.closed:
			return http.StatusNoContent, nil, nil
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	case strings.HasSuffix(u, "/close"):
		fr.closeOnce.Do(func() { close(fr.closed) })
	}
	return http.StatusNoContent, nil, nil
}

// FuzzClientOpen feeds arbitrary answers to the client's open request.
// Dial fails with an error, or the answer named a transport and one of the
// protocols offered, and the client uses them: it polls that transport's
// URL and speaks that protocol.
func FuzzClientOpen(f *testing.F) {
	offered := fuzzProtocols()
	f.Fuzz(func(t *testing.T, body []byte) {
		fr := newFakeRouter(body, http.StatusNoContent, nil)
		ctx, cancel := context.WithTimeout(t.Context(), fuzzDeadline)
		defer cancel()
		cp, err := dial(ctx, "http://wamp.test/lp", clientConfig{protocols: offered, post: fr.post})
		or, perr := parseOpenResponse(body)
		if err != nil {
			if perr == nil && or.Transport != "" && slices.Contains(offered, or.Protocol) {
				t.Fatalf("Dial refused a good answer %q: %v", body, err)
			}
			return
		}
		if perr != nil || or.Transport == "" || !slices.Contains(offered, or.Protocol) {
			t.Fatalf("Dial accepted %q (%+v, %v)", body, or, perr)
		}
		defer cp.Close()
		c, batched, _ := codec.BySubprotocol(or.Protocol)
		if info := cp.Info(); info.Serializer != c.Name() || info.Batched != batched || cp.ctype != contentType(c) {
			t.Fatalf("answer %q: client speaks %+v, %s", body, info, cp.ctype)
		}
		var polled string
		select {
		case polled = <-fr.polled:
		case <-time.After(fuzzDeadline):
			t.Fatal("the client does not poll")
		}
		u, err := url.Parse(polled)
		if err != nil {
			t.Fatalf("receive URL %q: %v", polled, err)
		}
		seg := strings.TrimSuffix(strings.TrimPrefix(u.EscapedPath(), "/lp/"), "/receive")
		if id, err := url.PathUnescape(seg); err != nil || id != or.Transport || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("receive URL %q for transport %q", polled, or.Transport)
		}
		if err := cp.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// FuzzClientReceive feeds arbitrary answers to the client's receive
// request, for a transport of each protocol. A 200 gives Recv the messages
// of the body, then an error wrapping wamp.ErrInvalidMessage if a part is
// malformed, and the client polls again; a 204 or an empty body gives
// nothing and it polls again; another status fails the transport with an
// error wrapping transport.ErrClosed.
func FuzzClientReceive(f *testing.F) {
	protocols := fuzzProtocols()
	for i, p := range protocols {
		c, batched, _ := codec.BySubprotocol(p)
		data, err := c.Encode(nil, &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{"hi", binary()}})
		if err != nil {
			f.Fatal(err)
		}
		if batched {
			data = codec.AppendBatch(codec.AppendBatch(nil, c, data), c, data)
		}
		f.Add(uint8(i), uint8(0), data)
		f.Add(uint8(i), uint8(0), data[:len(data)-1])
	}
	f.Fuzz(func(t *testing.T, proto, status uint8, body []byte) {
		protocol := protocols[int(proto)%len(protocols)]
		c, batched, _ := codec.BySubprotocol(protocol)
		code := fuzzStatuses[int(status)%len(fuzzStatuses)]
		fr := newFakeRouter([]byte(`{"transport":"t1","protocol":"`+protocol+`"}`), code, body)
		cp, err := dial(t.Context(), "http://wamp.test/lp", clientConfig{protocols: []string{protocol}, post: fr.post})
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		<-fr.polled

		if code != http.StatusOK && code != http.StatusNoContent {
			_, err := recvWithin(t, cp, fuzzDeadline)
			if !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", code)) {
				t.Fatalf("Recv after HTTP %d: %v, want ErrClosed with the status", code, err)
			}
			if err := cp.Close(); err != nil {
				t.Fatalf("Close after a failure: %v", err)
			}
			return
		}
		var want []wamp.Message
		var bad bool
		if code == http.StatusOK && len(body) > 0 {
			want, bad = oracleDecode(c, batched, body)
		}
		for i, w := range want {
			m, err := recvWithin(t, cp, fuzzDeadline)
			if err != nil || !sameMessage(m, w) {
				t.Fatalf("%s receive %q: Recv %d = %#v, %v; want %#v", protocol, body, i, m, err, w)
			}
		}
		if bad {
			if _, err := recvWithin(t, cp, fuzzDeadline); !errors.Is(err, wamp.ErrInvalidMessage) || errors.Is(err, transport.ErrClosed) {
				t.Fatalf("%s receive %q: Recv after the messages: %v, want ErrInvalidMessage", protocol, body, err)
			}
		}
		// The client polls again once Recv took everything, and holds nothing more.
		select {
		case <-fr.polled:
		case <-time.After(fuzzDeadline):
			t.Fatalf("%s receive %q: the client does not poll again", protocol, body)
		}
		cp.mu.Lock()
		left, closed := len(cp.in), cp.closed
		cp.mu.Unlock()
		if left != 0 || closed {
			t.Fatalf("%s receive %q: %d items left, closed %v", protocol, body, left, closed)
		}
		if err := cp.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}
