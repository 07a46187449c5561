package server

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// FuzzBridgeRequest sends the HTTP bridge correctly signed requests with
// fuzzed bodies and Content-Types, so that they get past authentication
// to the body's decoding and checks, the broker and the dealer. Every
// answer must be JSON with the documented status: 415 for a
// Content-Type other than JSON, 400 with wamp.error.invalid_argument for a
// body that is not a JSON object of the documented fields, 400 with
// wamp.error.option_not_allowed for the progress options HTTP cannot
// carry, and otherwise 200, with the publication's id, the echoing
// callee's arguments, or the WAMP error of the broker or dealer. Nothing
// else, 503 included: this bridge's replay cache is too large to fill.
func FuzzBridgeRequest(f *testing.F) {
	r := newTestRouter(f, Config{})
	b, err := r.NewBridge(BridgeConfig{
		Realm:           "realm1",
		Keys:            map[string]string{testKeyID: testSecret},
		TimestampWindow: 2 * time.Second, // nonces leave the cache soon
		MaxNonces:       1 << 22,
		CallTimeout:     5 * time.Second,
	})
	if err != nil {
		f.Fatal(err)
	}
	callee := mustJoinGo(f, r, "realm1", nil)
	echo := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}
	if _, err := callee.Register(context.Background(), "fuzz.echo", echo); err != nil {
		f.Fatal(err)
	}

	f.Add(false, "application/json", []byte(`{"topic": "fuzz.news", "args": [1, "two", "\u0000AQI="], "kwargs": {"k": true}}`))
	f.Add(true, "application/json; charset=utf-8", []byte(`{"procedure": "fuzz.echo", "args": [1.5, null, [{}]], "kwargs": {"a": -7}}`))
	f.Add(true, "", []byte(`{"procedure": "fuzz.nobody", "options": {"timeout": 100}}`))
	f.Add(true, "application/json", []byte(`{"procedure": "fuzz.echo", "options": {"receive_progress": true}}`))
	f.Add(false, "application/json", []byte(`{"topic": "wamp.session.on_join"}`))
	f.Add(false, "text/plain", []byte(`{"topic": "fuzz.news"}`))
	f.Add(false, "Application/JSON; charset=Utf-8", []byte(`{"topic": "fuzz.news"}`))
	f.Add(false, "application/json; charset=latin1", []byte(`{"topic": "fuzz.news"}`))
	f.Add(false, "application/json", []byte(`{"topic": "fuzz.news", "extra": 1}`))
	f.Add(true, "application/json", []byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, call bool, contentType string, body []byte) {
		action, uriKey := "publish", "topic"
		if call {
			action, uriKey = "call", "procedure"
		}
		req := httptest.NewRequest("POST", "/"+action, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		SignBridgeRequest(req, testKeyID, testSecret, body)
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		}
		v, err := codec.DecodeJSONValue(bytes.TrimSpace(rec.Body.Bytes()))
		answer, ok := v.(wamp.Dict)
		if err != nil || !ok {
			t.Fatalf("status %d with a body that is not a JSON object: %q (%v)", rec.Code, rec.Body, err)
		}
		errURI, _ := answer["error"].(string)
		if rec.Code != http.StatusOK && !strings.HasPrefix(errURI, "wamp.error.") {
			t.Fatalf("status %d without a WAMP error URI: %v", rec.Code, answer)
		}

		mediaOK := contentType == "" || isJSONMediaType(contentType)
		fields, fieldsOK := bridgeFields(body, uriKey)
		switch {
		case !mediaOK:
			if rec.Code != http.StatusUnsupportedMediaType {
				t.Fatalf("Content-Type %q: status %d %v, want 415", contentType, rec.Code, answer)
			}
		case !fieldsOK:
			if rec.Code != http.StatusBadRequest || errURI != string(wamp.ErrInvalidArgument) {
				t.Fatalf("body %q: status %d %v, want 400 %s", body, rec.Code, answer, wamp.ErrInvalidArgument)
			}
		case rec.Code == http.StatusBadRequest:
			// Well-formed, but an option the bridge refuses.
			if errURI != string(wamp.ErrOptionNotAllowed) {
				t.Fatalf("body %q: status 400 %v", body, answer)
			}
		case rec.Code != http.StatusOK:
			t.Fatalf("body %q: status %d %v, want 200", body, rec.Code, answer)
		case errURI != "":
			// The broker's or the dealer's refusal.
		case !call:
			if id, _ := answer["id"].(int64); id <= 0 {
				t.Fatalf("publish answered without a publication id: %v", answer)
			}
		case fields[uriKey] != "fuzz.echo":
			// Only the meta procedures answer besides the echo.
			if p, _ := fields[uriKey].(string); !strings.HasPrefix(p, "wamp.") {
				t.Fatalf("a call of %q succeeded: %v", p, answer)
			}
		default:
			got, _ := answer["args"].(wamp.List)
			want, _ := fields["args"].(wamp.List)
			if len(got) != len(want) {
				t.Fatalf("the echo returned %d arguments for %d: %v", len(got), len(want), answer)
			}
		}
	})
}

// isJSONMediaType reports whether the bridge takes a body of Content-Type
// ct: application/json, in UTF-8 if a charset is named.
func isJSONMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	charset, named := params["charset"]
	return err == nil && mt == "application/json" && (!named || strings.EqualFold(charset, "utf-8"))
}

// bridgeFields decodes body as the bridge documents it: a JSON object
// with uriKey, a non-empty string, and optionally args (an array or
// null), kwargs and options (objects or null), nothing else.
func bridgeFields(body []byte, uriKey string) (wamp.Dict, bool) {
	v, err := codec.DecodeJSONValue(body)
	d, ok := v.(wamp.Dict)
	if err != nil || !ok {
		return nil, false
	}
	for k, v := range d {
		switch k {
		case uriKey:
			if s, ok := v.(string); !ok || s == "" {
				return nil, false
			}
		case "args":
			if _, ok := v.(wamp.List); !ok && v != nil {
				return nil, false
			}
		case "kwargs", "options":
			if _, ok := v.(wamp.Dict); !ok && v != nil {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	_, ok = d[uriKey]
	return d, ok
}
