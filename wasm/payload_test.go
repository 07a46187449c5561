package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

func TestDecodeRequest(t *testing.T) {
	r, err := decodeRequest([]byte(`[[1,"x","\u0000AAH/",2.5],{"k":true},{"timeout":1000,"acknowledge":true}]`))
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := wamp.List{int64(1), "x", []byte{0, 1, 255}, 2.5}
	if !reflect.DeepEqual(r.args, wantArgs) {
		t.Errorf("args = %#v, want %#v", r.args, wantArgs)
	}
	if !reflect.DeepEqual(r.kwargs, wamp.Dict{"k": true}) {
		t.Errorf("kwargs = %#v", r.kwargs)
	}
	if d, err := callTimeout(r.options); err != nil || d != time.Second {
		t.Errorf("callTimeout = %v, %v; want 1s", d, err)
	}

	r, err = decodeRequest([]byte(`[null,null,null]`))
	if err != nil || r.args != nil || r.kwargs != nil || r.options != nil {
		t.Errorf("nulls: %+v, %v", r, err)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for in, want := range map[string]string{
		`[1,2]`:                  "want 3 elements, got 2",
		`{"a":1}`:                "want an array, got an object",
		`["x",null,null]`:        "args: want an array, got a string",
		`[[],[],null]`:           "kwargs: want an object, got an array",
		`[[],null,5]`:            "options: want an object, got a number",
		`[["\u0000!!"],{},{}]`:   "binary string",
		`[[1],{},{}] trailing`:   "unexpected",
		``:                       "unexpected end of input",
		"[[\"\xff\"],null,null]": "not valid UTF-8",
	} {
		_, err := decodeRequest([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeRequest(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestCallTimeout(t *testing.T) {
	for _, c := range []struct {
		options wamp.Dict
		want    time.Duration
		err     bool
	}{
		{nil, 0, false},
		{wamp.Dict{"timeout": nil}, 0, false},
		{wamp.Dict{"timeout": int64(250)}, 250 * time.Millisecond, false},
		{wamp.Dict{"timeout": 250.0}, 250 * time.Millisecond, false},
		{wamp.Dict{"timeout": 2.5}, 0, true},
		{wamp.Dict{"timeout": int64(-1)}, 0, true},
		{wamp.Dict{"timeout": "1s"}, 0, true},
		{wamp.Dict{"timeout": int64(1) << 60}, 0, true},
	} {
		got, err := callTimeout(c.options)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("callTimeout(%v) = %v, %v; want %v, error %v", c.options, got, err, c.want, c.err)
		}
	}
}

func TestOptionsOf(t *testing.T) {
	if opts := optionsOf(wamp.Dict{"match": "prefix", "disclose_me": true}); len(opts) != 2 {
		t.Errorf("optionsOf: %d options, want 2", len(opts))
	}
	if d, err := decodeOptions([]byte(`null`)); d != nil || err != nil {
		t.Errorf("decodeOptions(null) = %v, %v", d, err)
	}
	if _, err := decodeOptions([]byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "want an object, got an array") {
		t.Errorf("decodeOptions([1]) error = %v", err)
	}
}

func TestDecodeCall(t *testing.T) {
	c, err := decodeCall([]byte(`[[1],{"k":2},{"timeout":1500,"disclose_me":true},{"progress":true,"cancelMode":"kill"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.args, wamp.List{int64(1)}) || !reflect.DeepEqual(c.kwargs, wamp.Dict{"k": int64(2)}) ||
		!reflect.DeepEqual(c.options, wamp.Dict{"disclose_me": true}) || c.timeout != 1500*time.Millisecond ||
		!c.progress || c.cancelMode != client.CancelKill {
		t.Errorf("decodeCall = %+v", c)
	}
	if n := len(c.clientOptions(func(*client.Result) {})); n != 4 {
		t.Errorf("clientOptions: %d options, want 4 (disclose_me, timeout, progress, cancel mode)", n)
	}
	c, err = decodeCall([]byte(`[null,null,null,null]`))
	if err != nil || c.progress || c.cancelMode != "" || c.timeout != 0 || len(c.clientOptions(nil)) != 0 {
		t.Errorf("nulls: %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		`[[],{},{}]`:                       "want 4 elements, got 3",
		`[[],{},{"timeout":-5},null]`:      "options.timeout: want a number of milliseconds",
		`[[],{},{},{"cancelMode":"nuke"}]`: `options.cancelMode "nuke": want skip, kill or killnowait`,
		`[[],{},{},{"cancelMode":1}]`:      "options.cancelMode: want a string, got a number",
		`[[],{},{},[]]`:                    "local: want an object, got an array",
		`[{},{},{},null]`:                  "args: want an array, got an object",
	} {
		if _, err := decodeCall([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeCall(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestProgressPayloads(t *testing.T) {
	args, kwargs, err := decodeProgress([]byte(`[["\u0000AQI="],{"n":1}]`))
	if err != nil || !reflect.DeepEqual(args, wamp.List{[]byte{1, 2}}) || !reflect.DeepEqual(kwargs, wamp.Dict{"n": int64(1)}) {
		t.Errorf("decodeProgress = %v, %v, %v", args, kwargs, err)
	}
	if _, _, err := decodeProgress([]byte(`[1]`)); err == nil {
		t.Error("decodeProgress([1]) succeeded")
	}
	b, err := encodePart(&client.Part{Args: wamp.List{"x"}, Final: true})
	if err != nil || string(b) != `[["x"],{},true]` {
		t.Errorf("encodePart = %s, %v", b, err)
	}
	for _, tt := range []struct {
		cause error
		want  string
	}{
		{&client.InterruptError{Mode: "kill", Reason: wamp.ErrCanceled}, `["wamp.error.canceled","kill","client: invocation interrupted (mode \"kill\"): wamp.error.canceled"]`},
		{&client.InterruptError{Mode: "killnowait", Reason: wamp.ErrTimeout}, `["wamp.error.timeout","killnowait",`},
		{context.Canceled, `["wamp.error.canceled","","context canceled"]`},
	} {
		if got := string(encodeInterrupt(tt.cause)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("encodeInterrupt(%v) = %s, want %s...", tt.cause, got, tt.want)
		}
	}
}

func TestDecodeStreamPart(t *testing.T) {
	p, err := decodeStreamPart([]byte(`[["\u0000AQI=",3],{"k":"v"},true]`))
	if err != nil || !reflect.DeepEqual(p.args, wamp.List{[]byte{1, 2}, int64(3)}) ||
		!reflect.DeepEqual(p.kwargs, wamp.Dict{"k": "v"}) || !p.final {
		t.Errorf("decodeStreamPart = %+v, %v", p, err)
	}
	p, err = decodeStreamPart([]byte(`[null,null,false]`))
	if err != nil || p.args != nil || p.kwargs != nil || p.final {
		t.Errorf("decodeStreamPart of nulls = %+v, %v", p, err)
	}
	for in, want := range map[string]string{
		`[[],{}]`:        "want 3 elements, got 2",
		`[[],{},1]`:      "final: want a boolean, got a number",
		`[[],{},null]`:   "final: want a boolean, got null",
		`[{},{},true]`:   "args: want an array, got an object",
		`[[],[],true]`:   "kwargs: want an object, got an array",
		`{"args":[]}`:    "want an array, got an object",
		`[[],{},true] 1`: "unexpected",
	} {
		if _, err := decodeStreamPart([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeStreamPart(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestHandlerDetails(t *testing.T) {
	inv := &client.Invocation{Details: wamp.Dict{"procedure": "com.example.a.b", "caller": int64(3)}}
	if d := invocationDetails(inv); !reflect.DeepEqual(d, inv.Details) {
		t.Errorf("pattern invocation details = %v", d)
	}
	inv = &client.Invocation{Details: wamp.Dict{"caller": int64(3)}}
	if d := invocationDetails(inv); d["caller"] != int64(3) || d["procedure"] == nil || inv.Details["procedure"] != nil {
		t.Errorf("exact invocation details = %v (and the INVOCATION's %v)", d, inv.Details)
	}
	ev := &client.Event{Details: wamp.Dict{"topic": "com.example.t", "retained": true}}
	if d := eventDetails(ev); !reflect.DeepEqual(d, ev.Details) {
		t.Errorf("pattern event details = %v", d)
	}
	ev = &client.Event{}
	if d := eventDetails(ev); d["topic"] == nil {
		t.Errorf("exact event details = %v", d)
	}
}

func TestEncodeTriple(t *testing.T) {
	b, err := encodeTriple(wamp.List{int64(5), []byte{1, 2}, uint64(1) << 63}, wamp.Dict{"a": "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[[5,"\u0000AQI=",9223372036854775808],{"a":"b"},{}]`; string(b) != want {
		t.Errorf("encodeTriple = %s, want %s", b, want)
	}
	if b, _ := encodeTriple(nil, nil, nil); string(b) != `[[],{},{}]` {
		t.Errorf("empty triple = %s", b)
	}
}

func TestEncodeError(t *testing.T) {
	e := &wamp.Error{URI: "com.example.error.x", Args: wamp.List{"why", int64(1)}, Kwargs: wamp.Dict{"k": "v"}}
	got := string(encodeError(fmt.Errorf("wrapped: %w", e)))
	if want := `["com.example.error.x",["why",1],{"k":"v"},"wrapped: com.example.error.x: why"]`; got != want {
		t.Errorf("wamp error = %s, want %s", got, want)
	}
	got = string(encodeError(&wamp.Error{URI: "com.x", Args: wamp.List{func() {}}}))
	if !strings.HasPrefix(got, `["com.x",null,null,`) {
		t.Errorf("unencodable args = %s, want URI kept and args dropped", got)
	}
	if got := string(encodeError(client.ErrNotConnected)); got != `["",null,null,"client: not connected"]` {
		t.Errorf("plain error = %s", got)
	}
}

func TestDecodeOutcome(t *testing.T) {
	res, err := decodeOutcome([]byte(`[0,[1,"\u0000AQ=="],{"k":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, &client.Result{Args: wamp.List{int64(1), []byte{1}}, Kwargs: wamp.Dict{"k": int64(1)}}) {
		t.Errorf("yield = %#v", res)
	}
	_, err = decodeOutcome([]byte(`[1,"com.example.error.x",["a"],{"b":2}]`))
	we, ok := errors.AsType[*wamp.Error](err)
	if !ok || we.URI != "com.example.error.x" || !reflect.DeepEqual(we.Args, wamp.List{"a"}) || !reflect.DeepEqual(we.Kwargs, wamp.Dict{"b": int64(2)}) {
		t.Errorf("error outcome = %#v", err)
	}
	for in, want := range map[string]string{
		`[2,[],{}]`:            "starts with 0 or 1",
		`[]`:                   "starts with 0 or 1",
		`[0,[]]`:               "want [0, args, kwargs]",
		`[1,"x",[]]`:           "want [1, uri, args, kwargs]",
		`[1,5,[],{}]`:          "error URI: want a string, got a number",
		`[0,{},{}]`:            "args: want an array, got an object",
		`"x"`:                  "want an array, got a string",
		`[0,[],{}`:             "unexpected end of input",
		`[0,[],{"a":1,"a":2}]`: "duplicate",
	} {
		_, err := decodeOutcome([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeOutcome(%s) = %v, want an error containing %q", in, err, want)
		}
		if _, ok := errors.AsType[*wamp.Error](err); ok {
			t.Errorf("decodeOutcome(%s) returned a *wamp.Error for malformed input", in)
		}
	}
}

func TestChallenge(t *testing.T) {
	b, err := encodeChallenge(7, &wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{"x": "y"}})
	if err != nil || string(b) != `[7,"ticket",{"x":"y"}]` {
		t.Errorf("encodeChallenge = %s, %v", b, err)
	}
	sig, extra, err := decodeChallengeAnswer([]byte(`[0,"secret",{"e":1}]`))
	if err != nil || sig != "secret" || !reflect.DeepEqual(extra, wamp.Dict{"e": int64(1)}) {
		t.Errorf("answer = %q, %v, %v", sig, extra, err)
	}
	if _, _, err := decodeChallengeAnswer([]byte(`[1,"no ticket"]`)); err == nil || err.Error() != "no ticket" {
		t.Errorf("failed answer error = %v", err)
	}
	if _, _, err := decodeChallengeAnswer([]byte(`[0,42,null]`)); err == nil || !strings.Contains(err.Error(), "string signature, got a number") {
		t.Errorf("numeric signature error = %v", err)
	}
}

func TestDecodeConnectConfig(t *testing.T) {
	c, err := decodeConnectConfig([]byte(`{"realm":"realm1","url":"wss://h/ws","longpollUrl":"https://h/lp","challenge":true,
		"authid":"joe","authmethods":["ticket"],"authextra":{"a":1},"serializer":"msgpack","retry":false}`))
	if err != nil {
		t.Fatal(err)
	}
	want := connectConfig{realm: "realm1", urls: []string{"wss://h/ws", "https://h/lp"}, serializer: "msgpack", authID: "joe",
		authMethods: []string{"ticket"}, authExtra: wamp.Dict{"a": int64(1)}, challenge: true}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config = %+v\nwant     %+v", c, want)
	}

	// CBOR is a serializer of the protocol that a build may leave out
	// (the default wamp.wasm does: browsertests' TestConnectOptions).
	c, err = decodeConnectConfig([]byte(`{"realm":"r","url":"ws://h/ws","transports":["websocket"],"serializer":"cbor"}`))
	if _, inBuild := codec.ByName("cbor"); inBuild {
		if err != nil || c.serializer != "cbor" {
			t.Errorf("cbor in a build with CBOR: %+v, %v", c, err)
		}
	} else if err == nil || !strings.Contains(err.Error(), `serializer "cbor" is not in this build of wamp.wasm (it has json, msgpack)`) {
		t.Errorf("cbor in a build without CBOR: %v", err)
	}

	c, err = decodeConnectConfig([]byte(`{"realm":"r","url":"ws://h/ws","longpollUrl":"http://h/lp","transports":["longpoll"]}`))
	if err != nil || !reflect.DeepEqual(c.urls, []string{"http://h/lp"}) || !c.retry || c.serializer != "json" {
		t.Errorf("longpoll only: %+v, %v", c, err)
	}
	c, err = decodeConnectConfig([]byte(`{"realm":"r","url":"ws://h/ws","transports":["websocket"]}`))
	if err != nil || !reflect.DeepEqual(c.urls, []string{"ws://h/ws"}) {
		t.Errorf("websocket only: %+v, %v", c, err)
	}

	for in, want := range map[string]string{
		`[]`:                           "want an object, got an array",
		`{}`:                           "realm is required",
		`{"realm":1}`:                  "realm: want a string, got a number",
		`{"realm":"r","url":"ws://h"}`: "longpollUrl is required",
		`{"realm":"r","url":"http://h/ws","longpollUrl":"http://h/lp"}`:              `want an absolute ws:// or wss:// URL`,
		`{"realm":"r","url":"ws://h/ws","longpollUrl":"ws://h/lp"}`:                  `want an absolute http:// or https:// URL`,
		`{"realm":"r","url":"/ws","transports":["websocket"]}`:                       "want an absolute",
		`{"realm":"r","url":"ws://h","transports":["websocket","websocket"]}`:        "listed twice",
		`{"realm":"r","url":"ws://h","transports":["rawsocket"]}`:                    `unknown transport "rawsocket"`,
		`{"realm":"r","url":"ws://h","transports":[]}`:                               "transports is empty",
		`{"realm":"r","url":"ws://h","transports":"websocket"}`:                      "want an array of strings",
		`{"realm":"r","url":"ws://h","transports":["websocket"],"serializer":"xml"}`: `serializer "xml"`,
		`{"realm":"r","url":"ws://h","transports":["websocket"],"retry":"yes"}`:      "retry: want a boolean",
		`{"realm":"r","url":"ws://h","transports":["websocket"],"authmethods":[1]}`:  "authmethods[0]: want a string",
		`{"realm":"r","url":"ws://h","transports":["websocket"],"authextra":[]}`:     "authextra: want an object",
	} {
		_, err := decodeConnectConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeConnectConfig(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestEncodeOpen(t *testing.T) {
	b, err := encodeOpen(42, wamp.Dict{"authrole": "anonymous"}, "longpoll")
	if err != nil || string(b) != `[42,{"authrole":"anonymous"},"longpoll"]` {
		t.Errorf("encodeOpen = %s, %v", b, err)
	}
}

func TestEncodeClose(t *testing.T) {
	for _, c := range []struct {
		err       error
		joined    bool
		willRetry bool
		want      string
	}{
		{nil, true, false, `{"reason":"closed","willRetry":false}`},
		{&client.CloseError{Reason: wamp.ErrSystemShutdown, Details: wamp.Dict{"message": "bye"}}, true, true,
			`{"message":"bye","reason":"wamp.close.system_shutdown","willRetry":true}`},
		{&wamp.Error{URI: wamp.ErrNoSuchRealm, Args: wamp.List{"no realm"}}, false, false,
			`{"error":["wamp.error.no_such_realm",["no realm"],{}],"message":"wamp.error.no_such_realm: no realm","reason":"wamp.error.no_such_realm","willRetry":false}`},
		{errors.New("dial failed"), false, false, `{"message":"dial failed","reason":"unreachable","willRetry":false}`},
		{errors.New("reset"), true, true, `{"message":"reset","reason":"lost","willRetry":true}`},
	} {
		got, err := codec.DecodeJSONValue(encodeClose(c.err, c.joined, c.willRetry))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := codec.DecodeJSONValue([]byte(c.want))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("encodeClose(%v, %v, %v) = %v, want %v", c.err, c.joined, c.willRetry, got, want)
		}
	}
}
