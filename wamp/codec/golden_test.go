//go:build !nocbor

package codec

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/wampkit/wampkit/wamp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden and the seed corpus in testdata/fuzz")

// goldenMessages has one small message of every type. Dicts hold at most
// one key, so that each encoding is deterministic.
func goldenMessages() []wamp.Message {
	return []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}},
		&wamp.Welcome{Session: 9007199254740992, Details: wamp.Dict{"authrole": "anonymous"}},
		&wamp.Abort{Details: wamp.Dict{"message": "no such realm"}, Reason: wamp.ErrNoSuchRealm},
		&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": `{"nonce":"LHRTC9zeOIrt_9U3"}`}},
		&wamp.Authenticate{Signature: "Pji30JC9tb/T9tbEwxw5i0RyRa5UVBxuoIVTgT7hnkE=", Extra: wamp.Dict{}},
		&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrCloseRealm},
		&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 7, Details: wamp.Dict{}, Error: wamp.ErrInvalidArgument,
			Args: wamp.List{"bad \"argument\""}, Kwargs: wamp.Dict{"index": int64(1)}},
		&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic",
			Args: wamp.List{"hello", int64(-5), 2.5, nil, false}},
		&wamp.Published{Request: 1, Publication: 2},
		&wamp.Subscribe{Request: 3, Options: wamp.Dict{"match": "prefix"}, Topic: "com.example"},
		&wamp.Subscribed{Request: 3, Subscription: 4},
		&wamp.Unsubscribe{Request: 5, Subscription: 4},
		&wamp.Unsubscribed{Request: 5},
		&wamp.Event{Subscription: 4, Publication: 2, Details: wamp.Dict{},
			Args: wamp.List{[]byte{0x10, 0xe3, 0xff, 0x90}}, Kwargs: wamp.Dict{"unicode": "é✓😀"}},
		&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.add",
			Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"precision": "high"}},
		&wamp.Cancel{Request: 7, Options: wamp.Dict{"mode": "kill"}},
		&wamp.Result{Request: 7, Details: wamp.Dict{"progress": true},
			Args: wamp.List{int64(math.MaxInt64), uint64(math.MaxUint64), int64(math.MinInt64)}},
		&wamp.Register{Request: 10, Options: wamp.Dict{"invoke": "roundrobin"}, Procedure: "com.example.add"},
		&wamp.Registered{Request: 10, Registration: 11},
		&wamp.Unregister{Request: 12, Registration: 11},
		&wamp.Unregistered{Request: 12},
		&wamp.Invocation{Request: 13, Registration: 11, Details: wamp.Dict{},
			Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"precision": "high"}},
		&wamp.Interrupt{Request: 13, Options: wamp.Dict{"mode": "killnowait"}},
		&wamp.Yield{Request: 13, Options: wamp.Dict{}, Args: wamp.List{int64(5), wamp.List{}, wamp.Dict{}}},
	}
}

func goldenPath(c Codec, m wamp.Message) string {
	return filepath.Join("testdata", "golden", strings.ToLower(m.Type().String())+"."+c.Name())
}

func TestGolden(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	for _, c := range All {
		for _, m := range goldenMessages() {
			path := goldenPath(c, m)
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, golden) {
				t.Errorf("%s: Encode = %q, golden %q", path, got, golden)
			}
			d, err := c.Decode(golden)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if !sameMessage(d, m) {
				t.Errorf("%s: Decode = %#v, want %#v", path, d, m)
			}
			// The golden bytes mean the same to a decoder that this package
			// did not write.
			plain, err := plainDecode(c, golden)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if want := wamp.ToList(m); !sameValue(plain, want) {
				t.Errorf("%s: plain decoding = %#v, want %#v", path, plain, want)
			}
		}
	}
}

// plainCBOR is the library's default decoding, but for nesting, where the
// default of 32 levels is below MaxDepth.
var plainCBOR = must(cbor.DecOptions{MaxNestedLevels: MaxDepth}.DecMode())

// plainDecode decodes data with encoding/json, or the msgpack or cbor
// library's own generic decoding, and brings the result into the closed
// set.
func plainDecode(c Codec, data []byte) (any, error) {
	var v any
	var err error
	switch c.Name() {
	case "json":
		return stdlibDecode(data)
	case "msgpack":
		err = msgpack.Unmarshal(data, &v)
	default:
		err = plainCBOR.Unmarshal(data, &v)
	}
	if err != nil {
		return nil, err
	}
	return plainValue(v)
}

func plainValue(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		l := make(wamp.List, len(v))
		for i, e := range v {
			var err error
			if l[i], err = plainValue(e); err != nil {
				return nil, err
			}
		}
		return l, nil
	case map[string]any:
		m := wamp.Dict{}
		for k, e := range v {
			var err error
			if m[k], err = plainValue(e); err != nil {
				return nil, err
			}
		}
		return m, nil
	case map[any]any:
		m := wamp.Dict{}
		for k, e := range v {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key of type %T", k)
			}
			var err error
			if m[ks], err = plainValue(e); err != nil {
				return nil, err
			}
		}
		return m, nil
	case float32:
		return float64(v), nil
	case nil, bool, float64, string, []byte:
		return v, nil
	}
	if i, u, kind := integerOf(v); kind == signedInt {
		return i, nil
	} else if kind == unsignedInt {
		return unsignedValue(u), nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// writeGolden rewrites the golden files and the seed corpus of the fuzz
// targets: golden files and bombs.
func writeGolden(t *testing.T) {
	for _, c := range All {
		for _, m := range goldenMessages() {
			data, err := c.Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, goldenPath(c, m), data)
			name := strings.ToLower(m.Type().String())
			writeSeed(t, fuzzTarget(c), "golden_"+name, data)
			batch := AppendBatch(AppendBatch(nil, c, data), c, data)
			writeSeed(t, "FuzzSplitBatch", c.Name()+"_"+name, c.Binary(), batch)
		}
	}
	for name, inputs := range bombs(1000) {
		c, _ := ByName(name)
		keys := make([]string, 0, len(inputs))
		for k := range inputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			writeSeed(t, fuzzTarget(c), "bomb_"+strings.ReplaceAll(k, " ", "_"), inputs[k])
		}
	}
}

func fuzzTarget(c Codec) string {
	return map[string]string{"json": "FuzzDecodeJSON", "msgpack": "FuzzDecodeMsgpack", "cbor": "FuzzDecodeCBOR"}[c.Name()]
}

// writeSeed writes one file of the seed corpus in the "go test fuzz v1"
// format.
func writeSeed(t *testing.T, target, name string, args ...any) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch a := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", a)
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", a)
		}
	}
	writeFile(t, filepath.Join("testdata", "fuzz", target, name), []byte(b.String()))
}

func writeFile(t *testing.T, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
