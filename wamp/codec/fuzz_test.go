//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func FuzzDecodeJSON(f *testing.F) {
	fuzzDecode(f, JSON, checkJSONOracle)
}

func FuzzDecodeMsgpack(f *testing.F) {
	fuzzDecode(f, MessagePack, func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte{0xd4, 0, 0}) {
			return // JavaScript's undefined, which the library does not know
		}
		checkPlain(t, MessagePack, data, msgpackCodec{}.decodeList)
	})
}

func FuzzDecodeCBOR(f *testing.F) {
	fuzzDecode(f, CBOR, func(t *testing.T, data []byte) {
		checkPlain(t, CBOR, data, cborCodec{}.decodeList)
	})
}

// checkPlain checks that whatever list decodeList accepts, the library's
// own generic decoding reads the same way.
func checkPlain(t *testing.T, c Codec, data []byte, decodeList func([]byte) (wamp.List, error)) {
	t.Helper()
	l, err := decodeList(data)
	if err != nil {
		return
	}
	plain, err := plainDecode(c, data)
	if err != nil {
		t.Fatalf("library refuses %q, which the codec decodes to %#v: %v", data, l, err)
	}
	if !sameValue(plain, l) {
		t.Fatalf("library decodes %q to %#v, the codec to %#v", data, plain, l)
	}
}

// fuzzDecode checks that c.Decode never panics, fails only with
// wamp.ErrInvalidMessage, and that what it decodes every codec encodes
// and decodes again to the same message (JSON may refuse NaN, infinities
// and strings that start with U+0000). check, if not nil, runs on every
// input as well.
func fuzzDecode(f *testing.F, c Codec, check func(*testing.T, []byte)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if check != nil {
			check(t, data)
		}
		m, err := c.Decode(data)
		if err != nil {
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Fatalf("Decode error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		for _, c2 := range All {
			enc, err := c2.Encode(nil, m)
			if err != nil {
				if c2 == JSON && c != JSON && errors.Is(err, ErrUnsupportedValue) {
					continue
				}
				t.Fatalf("%s: Encode of decoded %#v: %v", c2.Name(), m, err)
			}
			m2, err := c2.Decode(enc)
			if err != nil {
				t.Fatalf("%s: Decode(%q) of re-encoded message: %v", c2.Name(), enc, err)
			}
			if !sameMessage(m, m2) {
				t.Fatalf("%s: round trip changed the message\n got %#v\nwant %#v", c2.Name(), m2, m)
			}
		}
	})
}

// FuzzSplitBatch checks that SplitBatch never panics, fails only with
// wamp.ErrInvalidMessage, and that AppendBatch rebuilds exactly the batch
// it split.
func FuzzSplitBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		c := JSON
		if binary {
			c = MessagePack
		}
		parts, err := SplitBatch(c, data)
		if err != nil {
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Fatalf("SplitBatch error %v does not wrap ErrInvalidMessage", err)
			}
			return
		}
		var rebuilt []byte
		for _, p := range parts {
			if len(p) == 0 {
				t.Fatal("empty part")
			}
			rebuilt = AppendBatch(rebuilt, c, p)
		}
		if !bytes.Equal(rebuilt, data) {
			t.Fatalf("AppendBatch rebuilt %q from %q", rebuilt, data)
		}
	})
}
