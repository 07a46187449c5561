//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/wamp"
)

// payload holds one value of every type of the closed set.
func payload() (wamp.List, wamp.Dict) {
	args := wamp.List{
		nil, true, false, int64(0), int64(-1), int64(1 << 53), int64(math.MinInt64),
		uint64(math.MaxUint64), 1.5, -0.25, "text", "", "quote\" backslash\\ tab\t nl\n ctl\x01 é ✓ 😀",
		[]byte{0, 1, 2, 0xfe, 0xff}, []byte{},
		wamp.List{}, wamp.List{int64(1), wamp.List{"nested"}}, wamp.Dict{}, wamp.Dict{"k": wamp.Dict{"deep": wamp.List{}}},
	}
	kwargs := wamp.Dict{"precision": "high", "n": int64(42), "bin": []byte("hi"), "f": 3.25, "none": nil}
	return args, kwargs
}

// messages returns one message of every type, with arguments where the
// type takes them. Every value is in the closed set, so a round trip gives
// back the same message.
func messages() []wamp.Message {
	args, kwargs := payload()
	details := wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}, "authid": "alice"}
	return []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: details},
		&wamp.Welcome{Session: 9007199254740992, Details: details},
		&wamp.Abort{Details: wamp.Dict{"message": "bye"}, Reason: wamp.ErrNoSuchRealm},
		&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "{}"}},
		&wamp.Authenticate{Signature: "c2lnbmF0dXJl", Extra: wamp.Dict{}},
		&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut},
		&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 7, Details: wamp.Dict{}, Error: wamp.ErrInvalidArgument, Args: args, Kwargs: kwargs},
		&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic", Args: args},
		&wamp.Published{Request: 1, Publication: 2},
		&wamp.Subscribe{Request: 3, Options: wamp.Dict{"match": "prefix"}, Topic: "com.example"},
		&wamp.Subscribed{Request: 3, Subscription: 4},
		&wamp.Unsubscribe{Request: 5, Subscription: 4},
		&wamp.Unsubscribed{Request: 5},
		&wamp.Unsubscribed{Request: 0, Details: wamp.Dict{"subscription": int64(4), "reason": "wamp.error.revoked"}},
		&wamp.Event{Subscription: 4, Publication: 2, Details: wamp.Dict{}, Args: args, Kwargs: kwargs},
		&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.add", Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"precision": "high"}},
		&wamp.Call{Request: 8, Options: wamp.Dict{"timeout": int64(1000)}, Procedure: "com.example.noargs"},
		&wamp.Call{Request: 9, Options: wamp.Dict{}, Procedure: "com.example.kwonly", Args: wamp.List{}, Kwargs: kwargs},
		&wamp.Cancel{Request: 7, Options: wamp.Dict{"mode": "kill"}},
		&wamp.Result{Request: 7, Details: wamp.Dict{"progress": true}, Args: args, Kwargs: kwargs},
		&wamp.Register{Request: 10, Options: wamp.Dict{"invoke": "roundrobin"}, Procedure: "com.example.add"},
		&wamp.Registered{Request: 10, Registration: 11},
		&wamp.Unregister{Request: 12, Registration: 11},
		&wamp.Unregistered{Request: 12},
		&wamp.Invocation{Request: 13, Registration: 11, Details: wamp.Dict{"caller": int64(9007199254740992)}, Args: args, Kwargs: kwargs},
		&wamp.Interrupt{Request: 13, Options: wamp.Dict{"mode": "killnowait"}},
		&wamp.Yield{Request: 13, Options: wamp.Dict{}, Args: wamp.List{int64(5)}},
	}
}

// sameMessage reports whether a and b are the same message on the wire:
// same type, deeply equal list forms. NaN equals NaN, and the type of every
// number counts (int64(1) differs from float64(1)).
func sameMessage(a, b wamp.Message) bool {
	if a == nil || b == nil || a.Type() != b.Type() {
		return false
	}
	return sameValue(wamp.ToList(a), wamp.ToList(b))
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b))
	case wamp.List:
		b, ok := b.(wamp.List)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case wamp.Dict:
		b, ok := b.(wamp.Dict)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []byte:
		b, ok := b.([]byte)
		return ok && a != nil && b != nil && bytes.Equal(a, b)
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

func TestRoundTrip(t *testing.T) {
	for _, c := range All {
		for _, m := range messages() {
			t.Run(c.Name()+"/"+m.Type().String(), func(t *testing.T) {
				data, err := c.Encode(nil, m)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := c.Decode(data)
				if err != nil {
					t.Fatalf("Decode(%q): %v", data, err)
				}
				if !sameMessage(got, m) {
					t.Fatalf("round trip changed the message\n got %#v\nwant %#v", got, m)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("round trip is not deeply equal\n got %#v\nwant %#v", got, m)
				}
			})
		}
	}
}

func TestEncodeAppends(t *testing.T) {
	m := &wamp.Published{Request: 1, Publication: 2}
	for _, c := range All {
		want, err := c.Encode(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Encode([]byte("prefix"), m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("%s: Encode(prefix) = %q, want prefix%q", c.Name(), got, want)
		}
		p := Prepare(m)
		if got, err := c.Encode(nil, p); err != nil || string(got) != string(want) {
			t.Errorf("%s: Encode(Prepared) = %q, %v; want %q", c.Name(), got, err, want)
		}
		if got, err := Marshal(c, p); err != nil || string(got) != string(want) || p.Encodings() != 1 {
			t.Errorf("%s: Marshal(Prepared) = %q, %v, %d encodings; want %q once", c.Name(), got, err, p.Encodings(), want)
		}
	}
}

// TestIntegers checks that integers cross every codec exactly, including
// those that a float64 cannot hold.
func TestIntegers(t *testing.T) {
	ints := wamp.List{
		int64(1 << 53), int64(1<<53 - 1), int64(-1 << 53), int64(1<<53 + 1),
		int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64), uint64(math.MaxInt64 + 1),
		int64(0), int64(127), int64(128), int64(-32), int64(-33), int64(255), int64(256), int64(65536), int64(-1 << 31),
	}
	m := &wamp.Event{Subscription: 1, Publication: 1, Details: wamp.Dict{}, Args: ints}
	for _, c := range All {
		data, err := c.Encode(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		for i, v := range got.(*wamp.Event).Args {
			if !sameValue(v, ints[i]) {
				t.Errorf("%s: integer %d: got %T %v, want %T %v", c.Name(), i, v, v, ints[i], ints[i])
			}
		}
	}
}

// TestGoWidths checks that encoders take every Go integer and float width
// and that decoders give them back in the closed set.
func TestGoWidths(t *testing.T) {
	in := wamp.List{
		int(-1), int8(-8), int16(-16), int32(-32), int64(-64), uint(1), uint8(8), uint16(16), uint32(32),
		uint64(64), uint64(math.MaxUint64), float32(1.5), float64(2.5), wamp.ID(1 << 53), wamp.URI("com.example"),
		wamp.List(nil), wamp.Dict(nil), []byte(nil),
	}
	want := wamp.List{
		int64(-1), int64(-8), int64(-16), int64(-32), int64(-64), int64(1), int64(8), int64(16), int64(32),
		int64(64), uint64(math.MaxUint64), 1.5, 2.5, int64(1 << 53), "com.example",
		wamp.List{}, wamp.Dict{}, []byte{},
	}
	for _, c := range All {
		data, err := c.Encode(nil, &wamp.Yield{Request: 1, Args: in})
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		got, err := c.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		if args := got.(*wamp.Yield).Args; !sameValue(args, want) {
			t.Errorf("%s: got %#v\nwant %#v", c.Name(), args, want)
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, c := range All {
		for _, b := range [][]byte{{}, {0}, {0xff}, []byte("\x00abc"), all, bytes.Repeat([]byte{0xa5}, 70000)} {
			m := &wamp.Result{Request: 1, Details: wamp.Dict{}, Args: wamp.List{b}, Kwargs: wamp.Dict{"b": b}}
			data, err := c.Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(data)
			if err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			r := got.(*wamp.Result)
			for _, v := range []any{r.Args[0], r.Kwargs["b"]} {
				if g, ok := v.([]byte); !ok || !bytes.Equal(g, b) {
					t.Errorf("%s: %d bytes came back as %T of length %d", c.Name(), len(b), v, len(g))
				}
			}
		}
	}
}

// TestCrossCodec decodes bytes from JSON, re-encodes the message with each
// binary codec and back to JSON: []byte stays []byte all the way.
func TestCrossCodec(t *testing.T) {
	in := []byte(`[36,4,2,{},["\u0000AAEC/w==","text"],{"b":"\u0000aGk="}]`)
	want := &wamp.Event{Subscription: 4, Publication: 2, Details: wamp.Dict{},
		Args: wamp.List{[]byte{0, 1, 2, 0xff}, "text"}, Kwargs: wamp.Dict{"b": []byte("hi")}}
	m, err := JSON.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMessage(m, want) {
		t.Fatalf("JSON decoded %#v", m)
	}
	for _, c := range []Codec{MessagePack, CBOR} {
		data, err := c.Encode(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := c.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if !sameMessage(m2, want) {
			t.Fatalf("%s changed the message: %#v", c.Name(), m2)
		}
		back, err := JSON.Encode(nil, m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, in) {
			t.Errorf("JSON -> %s -> JSON = %s, want %s", c.Name(), back, in)
		}
	}
}

func TestEncodeUnsupported(t *testing.T) {
	cyclic := make(wamp.List, 1)
	cyclic[0] = cyclic
	deep := any(wamp.List{})
	for range MaxDepth {
		deep = wamp.List{deep}
	}
	for _, v := range []any{
		struct{}{}, []string{"a"}, map[string]string{"a": "b"}, &wamp.Dict{}, time.Second, complex(1, 2),
		map[string]any{"k": []int{1}}, "bad utf-8 \xff", wamp.Dict{"\xff": 1}, cyclic, deep,
	} {
		for _, c := range All {
			got, err := c.Encode([]byte("prefix"), &wamp.Yield{Request: 1, Args: wamp.List{v}})
			if !errors.Is(err, ErrUnsupportedValue) || string(got) != "prefix" {
				t.Errorf("%s: Encode(%T) = %q, %v; want prefix, ErrUnsupportedValue", c.Name(), v, got, err)
			}
		}
	}
	for _, m := range []wamp.Message{nil, (*wamp.Call)(nil), customMessage{}} {
		for _, c := range All {
			if _, err := c.Encode(nil, m); !errors.Is(err, ErrUnsupportedValue) {
				t.Errorf("%s: Encode(%T) error = %v, want ErrUnsupportedValue", c.Name(), m, err)
			}
		}
	}
}

type customMessage struct{}

func (customMessage) Type() wamp.MessageType { return wamp.TypeCall }

// TestMaxDepth checks that every codec accepts MaxDepth levels of nesting
// and refuses one more, both ways.
func TestMaxDepth(t *testing.T) {
	nest := func(levels int) wamp.List { // a YIELD whose list form nests levels deep
		var v any = wamp.List{}
		for range levels - 3 {
			v = wamp.List{v}
		}
		return wamp.List{int64(wamp.TypeYield), int64(1), wamp.Dict{}, wamp.List{v}}
	}
	for _, c := range All {
		ok := &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: nest(MaxDepth)[3].(wamp.List)}
		data, err := c.Encode(nil, ok)
		if err != nil {
			t.Fatalf("%s: Encode at MaxDepth: %v", c.Name(), err)
		}
		if _, err := c.Decode(data); err != nil {
			t.Errorf("%s: Decode at MaxDepth: %v", c.Name(), err)
		}
		over := &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: nest(MaxDepth + 1)[3].(wamp.List)}
		if _, err := c.Encode(nil, over); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("%s: Encode beyond MaxDepth: %v", c.Name(), err)
		}
		// Encode one level less, then wrap it by hand.
		data = wrapList(c, data)
		if _, err := c.Decode(data); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("%s: Decode beyond MaxDepth: %v", c.Name(), err)
		}
	}
}

// wrapList returns the encoding of a YIELD whose arguments are one list
// that holds the arguments of the YIELD encoded in data: one level deeper.
func wrapList(c Codec, data []byte) []byte {
	switch c.Name() {
	case "json":
		s := string(data)
		i := strings.Index(s, "{},") + 3
		return []byte(s[:i] + "[" + s[i:len(s)-1] + "]]")
	case "msgpack":
		// [0x94 YIELD 1 {} args] -> [0x94 YIELD 1 {} [args]]
		return append([]byte{0x94, 70, 1, 0x80, 0x91}, data[4:]...)
	default:
		return append([]byte{0x84, 0x18, 70, 1, 0xa0, 0x81}, data[5:]...)
	}
}

// TestMalformed checks that bad input of every kind gets an error that
// wraps wamp.ErrInvalidMessage, for every codec.
func TestMalformed(t *testing.T) {
	valid := &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.add", Args: wamp.List{int64(2), "three"}}
	invalidLists := []wamp.List{
		{},
		{"CALL"},
		{int64(999), int64(1)},
		{int64(wamp.TypeCall), int64(7), wamp.Dict{}},
		{int64(wamp.TypeCall), "seven", wamp.Dict{}, "com.example.add"},
		{int64(wamp.TypeCall), int64(7), wamp.List{}, "com.example.add"},
		{int64(wamp.TypeCall), int64(7), wamp.Dict{}, int64(5)},
		{int64(wamp.TypeCall), int64(0), wamp.Dict{}, "com.example.add"},
		{int64(wamp.TypeCall), int64(1<<53 + 1), wamp.Dict{}, "com.example.add"},
		{int64(wamp.TypeCall), int64(7), wamp.Dict{}, "com.example.add", wamp.Dict{}},
	}
	for _, c := range All {
		good, err := c.Encode(nil, valid)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string][]byte{"empty": {}, "nul": {0}}
		for n := 1; n < len(good); n++ {
			inputs[fmt.Sprintf("truncated to %d bytes", n)] = good[:n]
		}
		inputs["trailing garbage"] = append(append([]byte{}, good...), good...)
		for i, l := range invalidLists {
			data, err := encodeValue(c, l)
			if err != nil {
				t.Fatal(err)
			}
			inputs[fmt.Sprintf("invalid list %d", i)] = data
		}
		for _, top := range []any{int64(1), "text", wamp.Dict{"a": int64(1)}, nil, []byte("b")} {
			data, err := encodeValue(c, top)
			if err != nil {
				t.Fatal(err)
			}
			inputs[fmt.Sprintf("top level %T", top)] = data
		}
		for name, data := range inputs {
			m, err := c.Decode(data)
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Errorf("%s: %s: Decode(%q) = %v, %v; want ErrInvalidMessage", c.Name(), name, data, m, err)
			}
		}
	}
}

// encodeValue encodes v, which need not be a valid message, with the
// codec's own value encoder.
func encodeValue(c Codec, v any) ([]byte, error) {
	switch c.Name() {
	case "json":
		return appendJSON(nil, v, 1)
	case "msgpack":
		e := msgpackEncoders.Get().(*msgpackEncoder)
		defer msgpackEncoders.Put(e)
		e.w.b = nil
		err := e.encode(v, 1)
		return e.w.b, err
	default:
		return cborEncMode.Marshal(v)
	}
}

// bombs are small inputs whose headers claim far more than they hold, or
// that nest n levels deep, far deeper than MaxDepth.
func bombs(n int) map[string]map[string][]byte {
	deep := func(open, close string) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	return map[string]map[string][]byte{
		"json": {
			"deep list":  deep("[", "]"),
			"deep dict":  []byte("[" + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "]"),
			"open lists": []byte(strings.Repeat("[", n)),
			"long num":   []byte("[" + strings.Repeat("9", n) + "]"),
		},
		"msgpack": {
			"array32":    {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01},
			"map32":      {0x91, 0xdf, 0xff, 0xff, 0xff, 0xff},
			"str32":      {0x91, 0xdb, 0xff, 0xff, 0xff, 0xff},
			"bin32":      {0x91, 0xc6, 0xff, 0xff, 0xff, 0xff},
			"array16":    {0xdc, 0xff, 0xff, 0x01, 0x01, 0x01},
			"inner arr":  {0x91, 0xdd, 0xff, 0xff, 0xff, 0xff},
			"ext32":      {0x91, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01},
			"deep":       bytes.Repeat([]byte{0x91}, n),
			"deep map":   append([]byte{0x91}, bytes.Repeat([]byte{0x81, 0xa1, 'a'}, n)...),
			"nested max": append(bytes.Repeat([]byte{0xdd, 0x00, 0x00, 0x00, 0x01}, n/5), 0xc0),
		},
		"cbor": {
			"array64":   {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			"array32":   {0x9a, 0xff, 0xff, 0xff, 0xff, 0x01},
			"map32":     {0x81, 0xba, 0xff, 0xff, 0xff, 0xff},
			"bytes64":   {0x81, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			"text32":    {0x81, 0x7a, 0xff, 0xff, 0xff, 0xff},
			"indef":     append([]byte{0x9f}, bytes.Repeat([]byte{0x9f}, n)...),
			"deep":      bytes.Repeat([]byte{0x81}, n),
			"deep map":  append([]byte{0x81}, bytes.Repeat([]byte{0xa1, 0x61, 'a'}, n)...),
			"deep tags": append([]byte{0x81}, bytes.Repeat([]byte{0xc6}, n)...),
		},
	}
}

// TestBombs checks that each bomb fails fast, with an error, without
// allocating for what its headers claim.
func TestBombs(t *testing.T) {
	for name, inputs := range bombs(100000) {
		c, _ := ByName(name)
		for what, data := range inputs {
			t.Run(name+"/"+what, func(t *testing.T) {
				start := time.Now()
				if _, err := c.Decode(data); !errors.Is(err, wamp.ErrInvalidMessage) {
					t.Fatalf("Decode = %v, want ErrInvalidMessage", err)
				}
				if d := time.Since(start); d > 100*time.Millisecond {
					t.Errorf("Decode took %v", d)
				}
				if len(data) > 16 {
					return
				}
				if b := allocatedBy(func() { _, _ = c.Decode(data) }); b > 64<<10 {
					t.Errorf("decoding %d bytes allocated %d bytes", len(data), b)
				}
			})
		}
	}
}

// allocatedBy returns the bytes that f allocates, at most, over a few runs.
func allocatedBy(f func()) uint64 {
	var most uint64
	for range 5 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		most = max(most, after.TotalAlloc-before.TotalAlloc)
	}
	return most
}
