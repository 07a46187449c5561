// Package codec holds the WAMP serializers: JSON (with the specification's
// convention for binary values), MessagePack and CBOR, and the batched
// framing that batched WebSocket subprotocols and long-poll share.
//
// Decoders accept untrusted input: they reject malformed data, excessive
// nesting and length headers that the input cannot back, before they
// allocate for them. Decoded values use the closed set of Go types that
// package wamp documents.
//
// The build tag nocbor leaves CBOR out, which the browser client's default
// build uses: the CBOR library weighs about 260 KB of a gzipped wamp.wasm.
package codec

import (
	"strings"
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// Codec encodes and decodes WAMP messages for one serializer.
type Codec interface {
	// Name is the serializer's name as it appears in the subprotocol:
	// "json", "msgpack" or "cbor".
	Name() string
	// Binary reports whether encoded messages are binary, which decides the
	// WebSocket frame type.
	Binary() bool
	// Encode appends the encoding of m to dst and returns the result.
	Encode(dst []byte, m wamp.Message) ([]byte, error)
	// Decode decodes one message and validates it with wamp.FromList.
	// The message keeps no reference to data, which the caller may reuse.
	Decode(data []byte) (wamp.Message, error)
}

// Subprotocol returns the WebSocket subprotocol of a codec, for example
// "wamp.2.json" or, batched, "wamp.2.json.batched".
func Subprotocol(c Codec, batched bool) string {
	if batched {
		return "wamp.2." + c.Name() + ".batched"
	}
	return "wamp.2." + c.Name()
}

// ByName returns the codec called name ("json", "msgpack", "cbor").
func ByName(name string) (Codec, bool) {
	for _, c := range All {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// Names lists the names of the codecs in this build, in order of
// preference.
func Names() []string {
	names := make([]string, len(All))
	for i, c := range All {
		names[i] = c.Name()
	}
	return names
}

// BySubprotocol parses a subprotocol such as "wamp.2.msgpack.batched".
func BySubprotocol(p string) (c Codec, batched bool, ok bool) {
	name, found := strings.CutPrefix(p, "wamp.2.")
	if !found {
		return nil, false, false
	}
	name, batched = strings.CutSuffix(name, ".batched")
	c, ok = ByName(name)
	return c, batched, ok
}

// Marshal encodes m with c. When m is a *Prepared, its cached encoding is
// returned and must not be modified.
func Marshal(c Codec, m wamp.Message) ([]byte, error) {
	if p, ok := m.(*Prepared); ok {
		return p.Encoded(c)
	}
	return c.Encode(nil, m)
}

// Prepared wraps a message that goes to many peers, such as an EVENT fanned
// out to every subscriber of a topic, so that it is encoded at most once per
// serializer however many peers it reaches. It is safe for concurrent use.
type Prepared struct {
	wamp.Message

	mu      sync.Mutex
	encoded []preparedEncoding
}

type preparedEncoding struct {
	codec Codec
	data  []byte
	err   error
}

// Prepare wraps m for a fan-out.
func Prepare(m wamp.Message) *Prepared {
	return &Prepared{Message: m}
}

// Encoded returns the encoding of the message with c, encoding it on first
// use. The returned slice is shared and must not be modified.
func (p *Prepared) Encoded(c Codec) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.encoded {
		if e.codec == c {
			return e.data, e.err
		}
	}
	data, err := c.Encode(nil, p.Message)
	p.encoded = append(p.encoded, preparedEncoding{codec: c, data: data, err: err})
	return data, err
}

// Encodings reports how many times the message has been encoded: at most
// once per serializer.
func (p *Prepared) Encodings() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.encoded)
}

// Unwrap returns the message inside a *Prepared, or m itself.
func Unwrap(m wamp.Message) wamp.Message {
	if p, ok := m.(*Prepared); ok {
		return p.Message
	}
	return m
}
