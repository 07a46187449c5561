//go:build !nocbor

package codec

import (
	"strings"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// benchMessages are a typical CALL and a typical EVENT with a 100-byte
// string payload.
func benchMessages() []struct {
	name string
	m    wamp.Message
} {
	return []struct {
		name string
		m    wamp.Message
	}{
		{"call", &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.add",
			Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"precision": "high"}}},
		{"event", &wamp.Event{Subscription: 5512315355, Publication: 4429313566, Details: wamp.Dict{},
			Args: wamp.List{strings.Repeat("x", 100)}}},
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range All {
		for _, bm := range benchMessages() {
			b.Run(c.Name()+"/"+bm.name, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 512)
				for b.Loop() {
					var err error
					if buf, err = c.Encode(buf[:0], bm.m); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(buf)))
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range All {
		for _, bm := range benchMessages() {
			b.Run(c.Name()+"/"+bm.name, func(b *testing.B) {
				data, err := c.Encode(nil, bm.m)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := c.Decode(data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
