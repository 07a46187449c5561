package main

import (
	"encoding/hex"
	"errors"
	"maps"
	"net/url"
	"reflect"
	"testing"

	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// The fuzz targets of the JSON payloads that the shim sends across the
// bridge. Each decoder returns a value or an error, never panics, and what
// it returns, encoded back into the payload's form, decodes to the same.
// The seeds are in testdata/fuzz/<Target>.

// orNull is v, or an untyped nil when v is a nil list or dictionary: the
// encoder writes those as [] and {}, the decoders read null as nil.
func orNull[T wamp.List | wamp.Dict](v T) any {
	if v == nil {
		return nil
	}
	return v
}

// encodePayload encodes a payload rebuilt by a fuzz target.
func encodePayload(t *testing.T, v any) []byte {
	t.Helper()
	b, err := codec.AppendJSONValue(nil, v)
	if err != nil {
		t.Fatalf("encoding %#v: %v", v, err)
	}
	return b
}

// FuzzDecodeRequest checks the [args, kwargs, options] payload of publish
// (decodeRequest) and the [args, kwargs] of progress (decodeProgress).
func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := decodeRequest(data); err == nil {
			back := encodePayload(t, wamp.List{orNull(r.args), orNull(r.kwargs), orNull(r.options)})
			if r2, err := decodeRequest(back); err != nil || !reflect.DeepEqual(r2, r) {
				t.Fatalf("request %q decodes to %+v; encoded back as %s: %+v, %v", data, r, back, r2, err)
			}
		}
		if args, kwargs, err := decodeProgress(data); err == nil {
			back := encodePayload(t, wamp.List{orNull(args), orNull(kwargs)})
			args2, kwargs2, err := decodeProgress(back)
			if err != nil || !reflect.DeepEqual(args2, args) || !reflect.DeepEqual(kwargs2, kwargs) {
				t.Fatalf("progress %q decodes to %v %v; encoded back as %s: %v %v, %v", data, args, kwargs, back, args2, kwargs2, err)
			}
		}
	})
}

// FuzzDecodeOptions checks the options object of register and subscribe.
func FuzzDecodeOptions(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeOptions(data)
		if err != nil {
			if d != nil {
				t.Fatalf("decodeOptions(%q) = %v with error %v", data, d, err)
			}
			return
		}
		if len(optionsOf(d)) != len(d) {
			t.Fatalf("optionsOf(%v) does not give one option per key", d)
		}
		back := encodePayload(t, orNull(d))
		if d2, err := decodeOptions(back); err != nil || !reflect.DeepEqual(d2, d) {
			t.Fatalf("options %q decode to %v; encoded back as %s: %v, %v", data, d, back, d2, err)
		}
	})
}

// FuzzDecodeCall checks the call payload [args, kwargs, options, local]:
// a decoded call has a valid cancel mode and its timeout out of options,
// and encoded back (timeout in options again) it decodes to the same.
func FuzzDecodeCall(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCall(data)
		if err != nil {
			return
		}
		switch c.cancelMode {
		case "", "skip", "kill", "killnowait":
		default:
			t.Fatalf("call %q: cancel mode %q", data, c.cancelMode)
		}
		if _, ok := c.options["timeout"]; c.timeout < 0 || (c.timeout > 0 && ok) {
			t.Fatalf("call %q: timeout %v, options %v", data, c.timeout, c.options)
		}
		n := len(c.options)
		for _, b := range []bool{c.timeout > 0, c.progress, c.cancelMode != ""} {
			if b {
				n++
			}
		}
		if got := len(c.clientOptions(nil)); got != n {
			t.Fatalf("call %q: %d client options, want %d", data, got, n)
		}

		options := c.options
		if c.timeout > 0 {
			options = maps.Clone(options)
			if options == nil {
				options = wamp.Dict{}
			}
			options["timeout"] = c.timeout.Milliseconds()
		}
		local := wamp.Dict{"progress": c.progress}
		if c.cancelMode != "" {
			local["cancelMode"] = c.cancelMode
		}
		back := encodePayload(t, wamp.List{orNull(c.args), orNull(c.kwargs), orNull(options), local})
		if c2, err := decodeCall(back); err != nil || !reflect.DeepEqual(c2, c) {
			t.Fatalf("call %q decodes to %+v; encoded back as %s: %+v, %v", data, c, back, c2, err)
		}
	})
}

// FuzzDecodeOutcome checks a handler's outcome: [0, args, kwargs] is a
// result, [1, uri, args, kwargs] a *wamp.Error, anything else a plain
// error; results and WAMP errors encode back to the same.
func FuzzDecodeOutcome(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := decodeOutcome(data)
		we, isWAMP := errors.AsType[*wamp.Error](err)
		switch {
		case err == nil:
			if res == nil || res.Details != nil {
				t.Fatalf("outcome %q: result %#v", data, res)
			}
			back := encodePayload(t, wamp.List{int64(outcomeOK), orNull(res.Args), orNull(res.Kwargs)})
			if res2, err := decodeOutcome(back); err != nil || !reflect.DeepEqual(res2, res) {
				t.Fatalf("outcome %q decodes to %#v; encoded back as %s: %#v, %v", data, res, back, res2, err)
			}
		case res != nil:
			t.Fatalf("outcome %q: both %#v and %v", data, res, err)
		case isWAMP:
			back := encodePayload(t, wamp.List{int64(outcomeError), string(we.URI), orNull(we.Args), orNull(we.Kwargs)})
			_, err2 := decodeOutcome(back)
			if we2, ok := errors.AsType[*wamp.Error](err2); !ok || !reflect.DeepEqual(we2, we) {
				t.Fatalf("outcome %q decodes to %#v; encoded back as %s: %#v", data, we, back, err2)
			}
		case err.Error() == "":
			t.Fatalf("outcome %q: an error without a message", data)
		}
	})
}

// FuzzDecodeChallengeAnswer checks onchallenge's answer: [0, signature,
// extra] encodes back to the same; [1, message] fails with message; all
// else fails with a message.
func FuzzDecodeChallengeAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, extra, err := decodeChallengeAnswer(data)
		if err != nil {
			if sig != "" || extra != nil || err.Error() == "" {
				t.Fatalf("answer %q: %q, %v with error %q", data, sig, extra, err)
			}
			return
		}
		back := encodePayload(t, wamp.List{int64(outcomeOK), sig, orNull(extra)})
		sig2, extra2, err := decodeChallengeAnswer(back)
		if err != nil || sig2 != sig || !reflect.DeepEqual(extra2, extra) {
			t.Fatalf("answer %q decodes to %q %v; encoded back as %s: %q %v, %v", data, sig, extra, back, sig2, extra2, err)
		}
	})
}

// FuzzDecodeConnectConfig checks connect's options: a decoded config has a
// realm, a known serializer and one absolute URL of the right scheme per
// transport, its credentials need an authid, and it encodes back to an
// options object that decodes to the same config.
func FuzzDecodeConnectConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeConnectConfig(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("config %q: an error without a message", data)
			}
			return
		}
		if c.realm == "" || len(c.urls) == 0 || len(c.urls) > 2 {
			t.Fatalf("config %q: realm %q, urls %q", data, c.realm, c.urls)
		}
		if c.serializer != "json" && c.serializer != "msgpack" && c.serializer != "cbor" {
			t.Fatalf("config %q: serializer %q", data, c.serializer)
		}
		if (c.creds.ticket != "" || c.creds.secret != "") && c.authID == "" {
			t.Fatalf("config %q: credentials without an authid", data)
		}

		d := wamp.Dict{"realm": c.realm, "serializer": c.serializer, "retry": c.retry, "challenge": c.challenge}
		var transports wamp.List
		for _, raw := range c.urls {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				t.Fatalf("config %q: URL %q is not absolute", data, raw)
			}
			switch u.Scheme {
			case "ws", "wss":
				transports, d["url"] = append(transports, transportWebSocket), raw
			case "http", "https":
				transports, d["longpollUrl"] = append(transports, transportLongPoll), raw
			default:
				t.Fatalf("config %q: URL %q", data, raw)
			}
		}
		d["transports"] = transports
		if c.authID != "" {
			d["authid"] = c.authID
		}
		if c.authMethods != nil {
			l := wamp.List{}
			for _, m := range c.authMethods {
				l = append(l, m)
			}
			d["authmethods"] = l
		}
		if c.authExtra != nil {
			d["authextra"] = c.authExtra
		}
		if c.creds.ticket != "" {
			d["ticket"] = c.creds.ticket
		}
		if c.creds.secret != "" {
			d["secret"] = c.creds.secret
		}
		if c.creds.key != nil {
			d["privateKey"] = hex.EncodeToString(c.creds.key.Seed())
		}
		back := encodePayload(t, d)
		if c2, err := decodeConnectConfig(back); err != nil || !reflect.DeepEqual(c2, c) {
			t.Fatalf("config %q decodes to %+v; encoded back as %s: %+v, %v", data, c, back, c2, err)
		}
	})
}
