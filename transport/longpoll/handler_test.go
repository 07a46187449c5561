//go:build !js

package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestOpen(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct {
		name, body string
		status     int
		protocol   string // chosen, when 200
		reason     string // in the error body, when not 200
	}{
		{"first we speak", `{"protocols":["wamp.2.xml","wamp.2.cbor.batched","wamp.2.json"]}`, 200, "wamp.2.cbor.batched", ""},
		{"autobahn", `{"protocols":["wamp.2.json"]}`, 200, "wamp.2.json", ""},
		{"spec's cache buster", `{"protocols":["wamp.2.msgpack"]}`, 200, "wamp.2.msgpack", ""},
		{"none we speak", `{"protocols":["wamp.2.xml","wamp.1.json"]}`, 400, "", "no common protocol"},
		{"empty list", `{"protocols":[]}`, 400, "", `no "protocols"`},
		{"missing", `{}`, 400, "", `no "protocols"`},
		{"not JSON", `protocols=wamp.2.json`, 400, "", "not {"},
		{"wrong type", `{"protocols":"wamp.2.json"}`, 400, "", "not {"},
		{"too big", `{"protocols":["` + strings.Repeat("x", openLimit) + `"]}`, 413, "", "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/lp/open"
			if tc.name == "spec's cache buster" {
				path += "?x=382913"
			}
			r := ts.post(t, path, []byte(tc.body))
			if r.status != tc.status {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != 200 {
				if !strings.Contains(string(r.body), tc.reason) {
					t.Errorf("reason %q lacks %q", r.body, tc.reason)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var or openResponse
			if err := json.Unmarshal(r.body, &or); err != nil {
				t.Fatal(err)
			}
			if or.Protocol != tc.protocol {
				t.Errorf("protocol %q, want %q", or.Protocol, tc.protocol)
			}
			p := ts.peer(t)
			c, batched, _ := codec.BySubprotocol(tc.protocol)
			want := transport.Info{Transport: "longpoll", Serializer: c.Name(), Batched: batched, RemoteAddr: "192.0.2.1:1234"}
			if p.Info() != want {
				t.Errorf("Info %+v, want %+v", p.Info(), want)
			}
		})
	}
	if r := ts.do(t, t.Context(), http.MethodGet, "/lp/open", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET open: HTTP %d, want 405", r.status)
	}
}

func TestIDsUnguessable(t *testing.T) {
	ts := newTestServer(t, nil)
	seen := map[string]bool{}
	base32 := regexp.MustCompile(`^[A-Z2-7]{26}$`) // rand.Text: 130 random bits
	for range 200 {
		id := ts.open(t, "wamp.2.json")
		if !base32.MatchString(id) {
			t.Fatalf("id %q is not 26 base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q twice", id)
		}
		seen[id] = true
	}
	// Every position varies across ids: no counter, no fixed prefix.
	for i := range 26 {
		chars := map[byte]bool{}
		for id := range seen {
			chars[id[i]] = true
		}
		if len(chars) < 10 {
			t.Errorf("position %d takes only %d values in 200 ids", i, len(chars))
		}
	}
	var id string
	for id = range seen {
		break
	}
	near := id[:25] + string("AB"[strings.IndexByte("A", id[25])+1])
	for _, path := range []string{"/lp/" + near, "/lp/" + strings.ToLower(id), "/lp/unknown"} {
		for _, op := range []string{"/send", "/receive", "/close"} {
			if r := ts.post(t, path+op, []byte(`[6,{},"wamp.close.normal"]`)); r.status != http.StatusNotFound {
				t.Errorf("%s%s: HTTP %d, want 404", path, op, r.status)
			}
		}
	}
	if r := ts.post(t, "/lp/"+id+"/bogus", nil); r.status != http.StatusNotFound {
		t.Errorf("bogus operation: HTTP %d, want 404", r.status)
	}
}

func TestSendStatus(t *testing.T) {
	ts := newTestServer(t, &Config{ReadLimit: 1000})
	id := ts.open(t, "wamp.2.json")
	p := ts.peer(t)
	hello := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}

	// A message: 204, and Recv returns it.
	if r := ts.post(t, "/lp/"+id+"/send", encode(t, codec.JSON, hello)); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("send: HTTP %d %q, want an empty 204", r.status, r.body)
	}
	mustRecv(t, p, roundTrip(t, codec.JSON, hello))

	// Malformed: 400, Recv reports it, and the transport stays open so
	// that the router can answer with ABORT.
	for _, body := range []string{`[1,"realm1"`, `[999]`, ``} {
		r := ts.post(t, "/lp/"+id+"/send", []byte(body))
		if r.status != http.StatusBadRequest {
			t.Fatalf("send %q: HTTP %d, want 400", body, r.status)
		}
		if _, err := recvWithin(t, p, 5*time.Second); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Fatalf("Recv after %q: %v, want ErrInvalidMessage", body, err)
		}
	}
	abort := &wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrProtocolViolation}
	if err := p.Send(abort); err != nil {
		t.Fatalf("Send after malformed input: %v", err)
	}
	if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != 200 || string(r.body) != string(encode(t, codec.JSON, abort)) {
		t.Fatalf("receive: HTTP %d %s", r.status, r.body)
	}

	// Over the read limit: 413, Recv reports ErrMessageTooBig, then the
	// transport is closed.
	big := encode(t, codec.JSON, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("x", 1000)}})
	if r := ts.post(t, "/lp/"+id+"/send", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big send: HTTP %d, want 413", r.status)
	}
	if _, err := recvWithin(t, p, 5*time.Second); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Recv after big send: %v, want ErrMessageTooBig", err)
	}
	if _, err := recvWithin(t, p, 5*time.Second); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Recv after that: %v, want ErrClosed", err)
	}
	if r := ts.post(t, "/lp/"+id+"/send", encode(t, codec.JSON, hello)); r.status != http.StatusNotFound {
		t.Fatalf("send after close: HTTP %d, want 404", r.status)
	}
}

func TestSendOverLimitWithoutLength(t *testing.T) {
	// A body that announces no length is read up to the limit, then
	// refused as one that announces too much is: 413 and ErrMessageTooBig.
	ts := newTestServer(t, &Config{ReadLimit: 1000})
	id := ts.open(t, "wamp.2.json")
	p := ts.peer(t)
	big := encode(t, codec.JSON, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("x", 1000)}})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://wamp.test/lp/"+id+"/send", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	ts.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big send of unknown length: HTTP %d, want 413", rec.Code)
	}
	if _, err := recvWithin(t, p, 5*time.Second); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Recv after big send: %v, want ErrMessageTooBig", err)
	}
}

func TestSetReadLimit(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.open(t, "wamp.2.msgpack")
	p := ts.peer(t)
	p.(transport.ReadLimiter).SetReadLimit(50)
	m := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t", Args: wamp.List{strings.Repeat("x", 60)}}
	if r := ts.post(t, "/lp/"+id+"/send", encode(t, codec.MessagePack, m)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("HTTP %d, want 413", r.status)
	}
}

func TestBatchedSendSplits(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, c := range codec.All {
		id := ts.open(t, codec.Subprotocol(c, true))
		p := ts.peer(t)
		msgs := []wamp.Message{
			&wamp.Hello{Realm: "realm1", Details: wamp.Dict{}},
			&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "p", Args: wamp.List{binary()}},
			&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut},
		}
		var body []byte
		for _, m := range msgs {
			body = codec.AppendBatch(body, c, encode(t, c, m))
		}
		if r := ts.post(t, "/lp/"+id+"/send", body); r.status != http.StatusNoContent {
			t.Fatalf("%s: HTTP %d %s", c.Name(), r.status, r.body)
		}
		for _, m := range msgs {
			mustRecv(t, p, roundTrip(t, c, m))
		}
		// A body that is not a batch: 400 and ErrInvalidMessage.
		if r := ts.post(t, "/lp/"+id+"/send", encode(t, c, msgs[0])); r.status != http.StatusBadRequest {
			t.Fatalf("%s unframed: HTTP %d, want 400", c.Name(), r.status)
		}
		if _, err := recvWithin(t, p, 5*time.Second); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Fatalf("%s unframed: Recv %v", c.Name(), err)
		}
	}
}

func TestReceive(t *testing.T) {
	msgs := []wamp.Message{
		&wamp.Welcome{Session: 7, Details: wamp.Dict{}},
		&wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{binary()}},
		&wamp.Result{Request: 3, Details: wamp.Dict{}, Args: wamp.List{"done"}},
	}
	for _, proto := range allProtocols {
		t.Run(proto, func(t *testing.T) {
			ts := newTestServer(t, nil)
			c, batched, _ := codec.BySubprotocol(proto)
			id := ts.open(t, proto)
			p := ts.peer(t)
			for _, m := range msgs {
				if err := p.Send(m); err != nil {
					t.Fatal(err)
				}
			}
			var got []wamp.Message
			for len(got) < len(msgs) {
				r := ts.post(t, "/lp/"+id+"/receive", nil)
				if r.status != http.StatusOK {
					t.Fatalf("receive: HTTP %d", r.status)
				}
				if ct, want := r.header.Get("Content-Type"), contentType(c); ct != want {
					t.Errorf("Content-Type %q, want %q", ct, want)
				}
				frames := [][]byte{r.body}
				if batched {
					var err error
					if frames, err = codec.SplitBatch(c, r.body); err != nil {
						t.Fatal(err)
					}
					if len(frames) != len(msgs) {
						t.Fatalf("batched receive: %d messages, want all %d", len(frames), len(msgs))
					}
				}
				for _, f := range frames {
					m, err := c.Decode(f)
					if err != nil {
						t.Fatalf("unbatched receive must hold exactly one message: %v", err)
					}
					got = append(got, m)
				}
			}
			for i, m := range msgs {
				if want := roundTrip(t, c, m); !reflect.DeepEqual(got[i], want) {
					t.Errorf("message %d: got %#v, want %#v", i, got[i], want)
				}
			}
		})
	}
}

func TestPollTimeout(t *testing.T) {
	for _, cfg := range []*Config{nil, {PollTimeout: 3 * time.Second}} {
		synctest.Test(t, func(t *testing.T) {
			ts := newTestServer(t, cfg)
			want := DefaultPollTimeout
			if cfg != nil {
				want = cfg.PollTimeout
			}
			id := ts.open(t, "wamp.2.json")
			start := time.Now()
			r := ts.post(t, "/lp/"+id+"/receive", nil)
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Fatalf("idle receive: HTTP %d %q, want an empty 204", r.status, r.body)
			}
			if d := time.Since(start); d != want {
				t.Errorf("idle receive answered after %v, want %v", d, want)
			}
		})
	}
}

func TestReceiveWakesOnSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		id := ts.open(t, "wamp.2.json")
		p := <-ts.peers
		done := make(chan reply)
		go func() { done <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		time.Sleep(time.Second)
		synctest.Wait()
		start := time.Now()
		m := &wamp.Welcome{Session: 1, Details: wamp.Dict{}}
		p.Send(m)
		r := <-done
		if r.status != 200 || string(r.body) != string(encode(t, codec.JSON, m)) {
			t.Fatalf("HTTP %d %s", r.status, r.body)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("waiting receive answered %v after Send", d)
		}
	})
}

func TestSecondReceiveReplacesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		id := ts.open(t, "wamp.2.json")
		p := <-ts.peers
		first, second := make(chan reply), make(chan reply)
		go func() { first <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		time.Sleep(time.Second)
		go func() { second <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		if r := <-first; r.status != http.StatusNoContent {
			t.Fatalf("replaced receive: HTTP %d, want 204", r.status)
		}
		m := &wamp.Welcome{Session: 1, Details: wamp.Dict{}}
		p.Send(m)
		if r := <-second; r.status != 200 || string(r.body) != string(encode(t, codec.JSON, m)) {
			t.Fatalf("newest receive: HTTP %d %s", r.status, r.body)
		}
	})
}

func TestSessionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		idle := ts.open(t, "wamp.2.json")
		idlePeer := <-ts.peers
		polling := ts.open(t, "wamp.2.json")
		pollingPeer := <-ts.peers

		recvErr := make(chan error, 1)
		go func() {
			_, err := idlePeer.Recv()
			recvErr <- err
		}()
		// One client polls for a minute; the other went away.
		start := time.Now()
		for time.Since(start) < time.Minute {
			if r := ts.post(t, "/lp/"+polling+"/receive", nil); r.status != http.StatusNoContent {
				t.Fatalf("poll: HTTP %d", r.status)
			}
		}
		synctest.Wait()
		select {
		case err := <-recvErr:
			if !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "silent") {
				t.Fatalf("abandoned peer Recv: %v, want ErrClosed for silence", err)
			}
		default:
			t.Fatal("abandoned peer still open after a minute")
		}
		if r := ts.post(t, "/lp/"+idle+"/receive", nil); r.status != http.StatusNotFound {
			t.Errorf("reaped transport: HTTP %d, want 404", r.status)
		}
		if err := pollingPeer.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}}); err != nil {
			t.Errorf("polled transport closed: %v", err)
		}
		if n := ts.h.Len(); n != 1 {
			t.Errorf("handler holds %d transports, want 1", n)
		}
	})
}

// TestCustomSessionTimeout: with SessionTimeout 5 s, a transport whose
// client went silent is still open at 4.9 s and is closed at 5 s, no later
// than the janitor's next tick (a quarter of the timeout).
func TestCustomSessionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 5 * time.Second
		ts := newTestServer(t, &Config{SessionTimeout: timeout})
		id := ts.open(t, "wamp.2.json")
		opened := time.Now()
		p := <-ts.peers
		closed := make(chan time.Duration, 1)
		go func() {
			_, err := p.Recv()
			if !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "silent for 5s") {
				t.Errorf("silent peer Recv: %v, want ErrClosed for 5 s of silence", err)
			}
			closed <- time.Since(opened)
		}()

		time.Sleep(timeout - 100*time.Millisecond)
		synctest.Wait()
		select {
		case d := <-closed:
			t.Fatalf("transport closed after %v of silence, before the %v timeout", d, timeout)
		default:
		}
		if n := ts.h.Len(); n != 1 {
			t.Fatalf("handler holds %d transports at 4.9 s, want 1", n)
		}

		time.Sleep(100*time.Millisecond + timeout/4)
		synctest.Wait()
		select {
		case d := <-closed:
			if d < timeout || d > timeout+timeout/4 {
				t.Errorf("closed after %v of silence, want from %v to %v", d, timeout, timeout+timeout/4)
			}
		default:
			t.Fatalf("transport still open after %v of silence", time.Since(opened))
		}
		if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != http.StatusNotFound {
			t.Errorf("reaped transport: HTTP %d, want 404", r.status)
		}
	})
}

func TestJanitorStopsWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		ts.open(t, "wamp.2.json")
		<-ts.peers
		time.Sleep(2 * DefaultSessionTimeout)
		synctest.Wait()
		ts.h.mu.Lock()
		running := ts.h.janitor
		ts.h.mu.Unlock()
		if running || ts.h.Len() != 0 {
			t.Errorf("after every transport expired: janitor running %v, %d transports", running, ts.h.Len())
		}
		// A new transport starts it again.
		ts.open(t, "wamp.2.json")
		p := <-ts.peers
		time.Sleep(2 * DefaultSessionTimeout)
		if err := p.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}}); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send on expired transport: %v, want ErrClosed", err)
		}
	})
}

func TestServerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		id := ts.open(t, "wamp.2.json")
		p := <-ts.peers

		// Close with a receive waiting and nothing queued: 204.
		waiting := make(chan reply)
		go func() { waiting <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		synctest.Wait()
		p.Close()
		if r := <-waiting; r.status != http.StatusNoContent {
			t.Fatalf("waiting receive at Close: HTTP %d, want 204", r.status)
		}
		if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != http.StatusNotFound {
			t.Fatalf("receive after Close: HTTP %d, want 404", r.status)
		}

		// What was queued before Close is still delivered; as the last of
		// it is an ABORT (an orderly end), a receive after it is held as an
		// idle one is and ends with the client's close, a send that
		// crosses the close gets 204 unread, and the client's close gets
		// 204, which Autobahn|JS needs to report the close.
		id = ts.open(t, "wamp.2.json")
		p = <-ts.peers
		abort := &wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrNoSuchRealm}
		p.Send(abort)
		p.Send(&wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrSystemShutdown})
		p.Close()
		p.Close()
		if err := p.Send(abort); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send after Close: %v", err)
		}
		if _, err := p.Recv(); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Recv after Close: %v", err)
		}
		if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != 200 || string(r.body) != string(encode(t, codec.JSON, abort)) {
			t.Fatalf("receive after Close: HTTP %d %s", r.status, r.body)
		}
		if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != 200 {
			t.Fatalf("second receive after Close: HTTP %d", r.status)
		}
		held := make(chan reply, 1)
		start := time.Now()
		go func() { held <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		synctest.Wait()
		select {
		case r := <-held:
			t.Fatalf("drained receive after an orderly Close: HTTP %d at once, want it held", r.status)
		default:
		}
		goodbye := encode(t, codec.JSON, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
		if r := ts.post(t, "/lp/"+id+"/send", goodbye); r.status != http.StatusNoContent {
			t.Fatalf("send after an orderly Close: HTTP %d, want 204", r.status)
		}
		if r := ts.post(t, "/lp/"+id+"/close", nil); r.status != http.StatusNoContent {
			t.Fatalf("client close after server Close: HTTP %d, want 204", r.status)
		}
		if r := <-held; r.status != http.StatusNoContent || time.Since(start) != 0 {
			t.Fatalf("held receive: HTTP %d after %v, want 204 at the client's close", r.status, time.Since(start))
		}
		// The client closed it: a late repeat gets an empty 204.
		if r := ts.post(t, "/lp/"+id+"/close", nil); r.status != http.StatusNoContent {
			t.Fatalf("second client close: HTTP %d, want 204", r.status)
		}
	})
}

func TestClientCloseRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		id := ts.open(t, "wamp.2.json")
		p := <-ts.peers
		recvErr := make(chan error, 1)
		go func() {
			_, err := p.Recv()
			recvErr <- err
		}()
		waiting := make(chan reply)
		go func() { waiting <- ts.post(t, "/lp/"+id+"/receive", nil) }()
		synctest.Wait()
		if r := ts.post(t, "/lp/"+id+"/close", nil); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("close: HTTP %d %q, want an empty 204", r.status, r.body)
		}
		// The waiting receive gets 204, not an error: Autobahn|JS would
		// report a second close.
		if r := <-waiting; r.status != http.StatusNoContent {
			t.Fatalf("waiting receive at close: HTTP %d, want 204", r.status)
		}
		if err := <-recvErr; !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Recv: %v, want ErrClosed", err)
		}
		// A receive or close that crossed the close on the wire gets an
		// empty 204 (a browser logs a 404 as an error); a send is an error.
		for op, want := range map[string]int{"send": http.StatusNotFound, "receive": http.StatusNoContent, "close": http.StatusNoContent} {
			if r := ts.post(t, "/lp/"+id+"/"+op, nil); r.status != want {
				t.Errorf("%s after close: HTTP %d, want %d", op, r.status, want)
			}
		}
		if ts.h.Len() != 0 {
			t.Errorf("closed transport still held")
		}
		// After SessionTimeout the id is forgotten: 404.
		time.Sleep(ts.h.cfg.SessionTimeout + time.Second)
		if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != http.StatusNotFound {
			t.Errorf("receive long after close: HTTP %d, want 404", r.status)
		}
	})
}

func TestQueueLimit(t *testing.T) {
	ts := newTestServer(t, &Config{MaxQueuedBytes: 100})
	ts.open(t, "wamp.2.json")
	p := ts.peer(t)
	m := &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{strings.Repeat("x", 30)}}
	var err error
	n := 0
	for ; err == nil && n < 10; n++ {
		err = p.Send(m)
	}
	if !errors.Is(err, transport.ErrClosed) || n != 3 {
		t.Fatalf("Send %d: %v, want ErrClosed at the third", n, err)
	}
}

func TestMaxTransports(t *testing.T) {
	ts := newTestServer(t, &Config{MaxTransports: 2})
	ts.open(t, "wamp.2.json")
	id := ts.open(t, "wamp.2.json")
	if r := ts.post(t, "/lp/open", []byte(`{"protocols":["wamp.2.json"]}`)); r.status != http.StatusServiceUnavailable {
		t.Fatalf("third open: HTTP %d, want 503", r.status)
	}
	ts.post(t, "/lp/"+id+"/close", nil)
	ts.open(t, "wamp.2.json")
}

func TestHandlerClose(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.open(t, "wamp.2.json")
	p := ts.peer(t)
	goodbye := &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrSystemShutdown}
	p.Send(goodbye)
	ts.h.Close()
	if _, err := p.Recv(); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Recv after handler Close: %v", err)
	}
	if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != 200 {
		t.Fatalf("GOODBYE not delivered after handler Close: HTTP %d", r.status)
	}
	if r := ts.post(t, "/lp/open", []byte(`{"protocols":["wamp.2.json"]}`)); r.status != http.StatusServiceUnavailable {
		t.Fatalf("open after Close: HTTP %d, want 503", r.status)
	}
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t, &Config{OriginPatterns: []string{"*.example.com", "https://app.test:8443"}})
	preflight := func(origin string) reply {
		return ts.do(t, t.Context(), http.MethodOptions, "/lp/open", nil,
			"Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	}
	for _, origin := range []string{"http://wamp.test", "https://WAMP.test", "https://demo.example.com", "https://app.test:8443"} {
		r := preflight(origin)
		if r.status != http.StatusNoContent {
			t.Errorf("preflight from %s: HTTP %d, want 204", origin, r.status)
		}
		for k, v := range map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "POST",
			"Access-Control-Allow-Headers":     "content-type",
		} {
			if got := r.header.Get(k); got != v {
				t.Errorf("preflight from %s: %s %q, want %q", origin, k, got, v)
			}
		}
		r = ts.post(t, "/lp/open", []byte(`{"protocols":["wamp.2.json"]}`), "Origin", origin)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != origin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("open from %s: HTTP %d, headers %v", origin, r.status, r.header)
		}
	}
	for _, origin := range []string{"https://evil.test", "http://app.test:8443", "https://example.com.evil.test", "null", "://bad"} {
		if r := preflight(origin); r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: HTTP %d, want 403 without CORS headers", origin, r.status)
		}
		if r := ts.post(t, "/lp/open", []byte(`{"protocols":["wamp.2.json"]}`), "Origin", origin); r.status != http.StatusForbidden {
			t.Errorf("open from %s: HTTP %d, want 403", origin, r.status)
		}
	}
	// The origin is checked on every request, not only on open.
	id := ts.open(t, "wamp.2.json")
	if r := ts.post(t, "/lp/"+id+"/receive", nil, "Origin", "https://evil.test"); r.status != http.StatusForbidden {
		t.Errorf("foreign receive: HTTP %d, want 403", r.status)
	}
}

func TestConcurrentSends(t *testing.T) {
	// Autobahn|JS does not wait for one send to finish before the next:
	// every message must still reach Recv exactly once.
	ts := newTestServer(t, nil)
	id := ts.open(t, "wamp.2.json")
	p := ts.peer(t)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := &wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Topic: "t"}
			if r := ts.post(t, "/lp/"+id+"/send", encode(t, codec.JSON, m)); r.status != http.StatusNoContent {
				t.Errorf("send %d: HTTP %d", i, r.status)
			}
		})
	}
	seen := map[wamp.ID]bool{}
	for range n {
		m, err := recvWithin(t, p, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		seen[m.(*wamp.Publish).Request] = true
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}
}

func TestSendWaitsForRouter(t *testing.T) {
	// A router that does not read holds back the client's sends instead
	// of buffering them without bound.
	synctest.Test(t, func(t *testing.T) {
		ts := newTestServer(t, nil)
		id := ts.open(t, "wamp.2.json")
		p := <-ts.peers
		body := encode(t, codec.JSON, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t"})
		if r := ts.post(t, "/lp/"+id+"/send", body); r.status != http.StatusNoContent {
			t.Fatalf("first send: HTTP %d", r.status)
		}
		ctx, cancel := context.WithCancel(t.Context())
		second := make(chan reply)
		go func() { second <- ts.do(t, ctx, http.MethodPost, "/lp/"+id+"/send", body) }()
		synctest.Wait()
		select {
		case r := <-second:
			t.Fatalf("second send answered HTTP %d before the router read the first", r.status)
		default:
		}
		p.Recv()
		if r := <-second; r.status != http.StatusNoContent {
			t.Fatalf("second send: HTTP %d", r.status)
		}
		p.Recv()
		cancel()
	})
}

// TestReceiveAfterClientClose checks that a receive arriving after the
// client's own close gets an empty 204, which a browser does not log as an
// error, and that close stays idempotent.
func TestReceiveAfterClientClose(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.open(t, "wamp.2.json")
	if r := ts.post(t, "/lp/"+id+"/close", nil); r.status != http.StatusNoContent {
		t.Fatalf("close: %d", r.status)
	}
	if r := ts.post(t, "/lp/"+id+"/receive", nil); r.status != http.StatusNoContent {
		t.Fatalf("receive after close: %d, want 204", r.status)
	}
	if r := ts.post(t, "/lp/"+id+"/close", nil); r.status != http.StatusNoContent {
		t.Fatalf("second close: %d, want 204", r.status)
	}
}
