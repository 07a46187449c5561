//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestMsgpackWireForm(t *testing.T) {
	m := &wamp.Yield{Request: 1, Options: wamp.Dict{}, Args: wamp.List{
		"ab", []byte{1, 2}, int64(127), int64(200), int64(-1), int64(-100), int64(70000), uint64(math.MaxUint64), float32(1), 1.0, nil, true,
	}}
	got, err := MessagePack.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x94, 70, 1, 0x80, 0x9c,
		0xa2, 'a', 'b', // fixstr
		0xc4, 2, 1, 2, // bin8
		0x7f,      // positive fixint
		0xcc, 200, // uint8
		0xff,       // negative fixint
		0xd0, 0x9c, // int8
		0xce, 0, 1, 0x11, 0x70, // uint32
		0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // uint64
		0xca, 0x3f, 0x80, 0, 0, // float32
		0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, // float64
		0xc0, 0xc3,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = % x\nwant     % x", got, want)
	}
}

// TestMsgpackDecodeNormalises feeds every integer width, float32 and the
// other codes and checks the closed set comes out.
func TestMsgpackDecodeNormalises(t *testing.T) {
	in := []byte{
		0x94, 70, 1, 0x80, 0xdc, 0, 16, // YIELD with an array16 of 16 arguments
		0xcc, 5, // uint8
		0xcd, 0, 5, // uint16
		0xce, 0, 0, 0, 5, // uint32
		0xcf, 0, 0, 0, 0, 0, 0, 0, 5, // uint64
		0xd0, 0xfb, // int8 -5
		0xd1, 0xff, 0xfb, // int16 -5
		0xd2, 0xff, 0xff, 0xff, 0xfb, // int32 -5
		0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, // int64 -5
		0xd0, 5, // int8 +5
		0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, // uint64 2^63
		0xca, 0x3f, 0xc0, 0, 0, // float32 1.5
		0xd9, 1, 'x', // str8
		0xda, 0, 1, 'y', // str16
		0xdb, 0, 0, 0, 1, 'z', // str32
		0xc5, 0, 1, 7, // bin16
		0xde, 0, 1, 0xa1, 'k', 0xc2, // map16 {"k": false}
	}
	want := wamp.List{
		int64(5), int64(5), int64(5), int64(5), int64(-5), int64(-5), int64(-5), int64(-5), int64(5),
		uint64(1 << 63), 1.5, "x", "y", "z", []byte{7}, wamp.Dict{"k": false},
	}
	m, err := MessagePack.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*wamp.Yield).Args; !sameValue(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestMsgpackDecodeErrors(t *testing.T) {
	prefix := []byte{0x94, 70, 1, 0x80, 0x91} // YIELD with one argument
	for name, arg := range map[string][]byte{
		"int key":        {0x81, 0x01, 0xc0},
		"bin key":        {0x81, 0xc4, 1, 'k', 0xc0},
		"duplicate key":  {0x82, 0xa1, 'k', 1, 0xa1, 'k', 2},
		"timestamp ext":  {0xd6, 0xff, 0, 0, 0, 0},
		"fixext1":        {0xd4, 1, 1},
		"ext8":           {0xc7, 1, 1, 1},
		"reserved 0xc1":  {0xc1},
		"bad utf-8":      {0xa1, 0xff},
		"bad utf-8 key":  {0x81, 0xa1, 0xff, 0xc0},
		"short float64":  {0xcb, 0, 0},
		"short uint16":   {0xcd, 0},
		"short str8 len": {0xd9},
		"short map":      {0x82, 0xa1, 'k', 1},
	} {
		data := append(append([]byte{}, prefix...), arg...)
		if m, err := MessagePack.Decode(data); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("%s: Decode(% x) = %v, %v; want ErrInvalidMessage", name, data, m, err)
		}
	}
}

// TestMsgpackUndefined decodes JavaScript's undefined (d4 00 00) as wampy
// sends it: left out of a dict, nil in a list; other ext types fail.
func TestMsgpackUndefined(t *testing.T) {
	// [32, 12, {"match": "exact", "get_retained": undefined}, "a.b"]
	data := []byte("\x94\x20\x0c\x82\xa5match\xa5exact\xacget_retained\xd4\x00\x00\xa3a.b")
	m, err := MessagePack.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sub := m.(*wamp.Subscribe)
	if _, ok := sub.Options["get_retained"]; ok || sub.Options["match"] != "exact" || len(sub.Options) != 1 {
		t.Fatalf("options %#v", sub.Options)
	}
	// [70, 1, {}, [undefined, 1]]
	m, err = MessagePack.Decode([]byte("\x94\x46\x01\x80\x92\xd4\x00\x00\x01"))
	if err != nil {
		t.Fatal(err)
	}
	if args := m.(*wamp.Yield).Args; len(args) != 2 || args[0] != nil || args[1] != int64(1) {
		t.Fatalf("args %#v", args)
	}
	for _, bad := range []string{"\x94\x46\x01\x80\x91\xd4\x01\x00", "\x94\x46\x01\x80\x91\xd4\x00\x01", "\x94\x46\x01\x80\x91\xd4\x00"} {
		if _, err := MessagePack.Decode([]byte(bad)); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("Decode(% x) = %v, want ErrInvalidMessage", bad, err)
		}
	}
}
