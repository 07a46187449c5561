//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestCBORWireForm(t *testing.T) {
	m := &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: wamp.List{
		"ab", []byte{1, 2}, int64(23), int64(24), int64(-1), int64(-25), uint64(math.MaxUint64), 1.5, nil, true, wamp.List(nil),
	}}
	got, err := CBOR.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x84, 0x18, 70, 1, 0xa0, 0x8b,
		0x62, 'a', 'b', // text string
		0x42, 1, 2, // byte string
		0x17,     // 23
		0x18, 24, // 24
		0x20,     // -1
		0x38, 24, // -25
		0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // 2^64-1
		0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // float64 1.5
		0xf6, 0xf5, // null, true
		0x80, // a nil list is empty
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = % x\nwant     % x", got, want)
	}
}

func TestCBORDecodeNormalises(t *testing.T) {
	in := []byte{
		0x84, 0x18, 70, 1, 0xa0, 0x8a, // YIELD with 10 arguments
		0x1b, 0, 0, 0, 0, 0, 0, 0, 5, // uint64 5
		0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0, // 2^63
		0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // -2^63
		0xf9, 0x3e, 0x00, // float16 1.5
		0xfa, 0x3f, 0xc0, 0, 0, // float32 1.5
		0xf7,                         // undefined
		0x5f, 0x41, 1, 0x41, 2, 0xff, // indefinite byte string
		0x7f, 0x61, 'a', 0x61, 'b', 0xff, // indefinite text string
		0x9f, 0x01, 0xff, // indefinite array
		0xbf, 0x61, 'k', 0xf4, 0xff, // indefinite map
	}
	want := wamp.List{int64(5), uint64(1 << 63), int64(math.MinInt64), 1.5, 1.5, nil, []byte{1, 2}, "ab", wamp.List{int64(1)}, wamp.Dict{"k": false}}
	m, err := CBOR.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*wamp.Yield).Args; !sameValue(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestCBORDecodeErrors(t *testing.T) {
	prefix := []byte{0x84, 0x18, 70, 1, 0xa0, 0x81} // YIELD with one argument
	for name, arg := range map[string][]byte{
		"int key":          {0xa1, 0x01, 0xf6},
		"bytes key":        {0xa1, 0x41, 'k', 0xf6},
		"null key":         {0xa1, 0xf6, 0x01},
		"undefined key":    {0xa1, 0xf7, 0x01},
		"list key":         {0xa1, 0x80, 0x01},
		"duplicate key":    {0xa2, 0x61, 'k', 1, 0x61, 'k', 2},
		"epoch time tag":   {0xc1, 0x01},
		"bignum tag":       {0xc2, 0x41, 0x01},
		"tag 64 on text":   {0xd8, 0x40, 0x61, 'a'},
		"unknown tag":      {0xd8, 0x63, 0x01},
		"simple value 16":  {0xf0},
		"simple value 255": {0xf8, 0xff},
		"bad utf-8":        {0x61, 0xff},
		"below MinInt64":   {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0},
		"short float":      {0xfb, 0, 0},
		"break alone":      {0xff},
		"reserved info":    {0x1c},
	} {
		data := append(append([]byte{}, prefix...), arg...)
		if m, err := CBOR.Decode(data); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("%s: Decode(% x) = %v, %v; want ErrInvalidMessage", name, data, m, err)
		}
	}
}

// TestCBORTypedArrayAndSelfDescribe checks the two tags a real peer sends:
// node-cbor (Autobahn|JS) sends a Uint8Array as tag 64, and the
// self-describe tag 55799 may prefix any item.
func TestCBORTypedArrayAndSelfDescribe(t *testing.T) {
	prefix := []byte{0x84, 0x18, 70, 1, 0xa0, 0x82} // YIELD with two arguments
	data := append(prefix, 0xd8, 0x40, 0x43, 1, 2, 3, 0xd9, 0xd9, 0xf7, 0x05)
	m, err := CBOR.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	args := m.(*wamp.Yield).Args
	if b, ok := args[0].([]byte); !ok || string(b) != "\x01\x02\x03" || args[1] != int64(5) {
		t.Fatalf("args %#v", args)
	}
}

// TestCBORNaN checks that NaN and infinities cross CBOR (JSON refuses them).
func TestCBORNaN(t *testing.T) {
	for _, c := range []Codec{CBOR, MessagePack} {
		m := &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: wamp.List{math.NaN(), math.Inf(1), math.Inf(-1)}}
		data, err := c.Encode(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if !sameMessage(got, m) {
			t.Errorf("%s: got %#v", c.Name(), got)
		}
	}
}
