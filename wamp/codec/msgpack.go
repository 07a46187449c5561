package codec

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"sync"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/wampkit/wampkit/wamp"
)

// MessagePack is the "msgpack" serializer (subprotocol wamp.2.msgpack).
// Strings travel as str, []byte as bin, integers in their most compact
// form. Decoding yields the closed set of package wamp: every integer
// width becomes int64 (uint64 above math.MaxInt64), float32 becomes
// float64. Map keys must be strings, unique, strings valid UTF-8; ext
// types (timestamps included) are an error.
var MessagePack Codec = msgpackCodec{}

type msgpackCodec struct{}

func (msgpackCodec) Name() string { return "msgpack" }
func (msgpackCodec) Binary() bool { return true }

func (msgpackCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	if out, ok, err := encodeMsgpackFields(dst, m); ok {
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	l, err := toList("msgpack", m)
	if err != nil {
		return dst, err
	}
	e := msgpackEncoders.Get().(*msgpackEncoder)
	e.w.b = dst
	err = e.list(l, 1)
	out := e.w.b
	e.w.b = nil
	msgpackEncoders.Put(e)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func (c msgpackCodec) Decode(data []byte) (wamp.Message, error) {
	l, err := c.decodeList(data)
	if err != nil {
		return nil, err
	}
	return wamp.FromList(l)
}

// decodeList decodes the list form of a message.
func (msgpackCodec) decodeList(data []byte) (wamp.List, error) {
	if len(data) == 0 {
		return nil, malformed("msgpack", "empty input")
	}
	if c := data[0]; !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return nil, malformed("msgpack", "message is not a list")
	}
	if err := msgpackScan(data); err != nil {
		return nil, err
	}
	d := msgpackDecoders.Get().(*msgpackDecoder)
	d.data = data
	d.r.Reset(data)
	l, err := d.list()
	d.data = nil
	d.r.Reset(nil)
	if len(data) <= 64<<10 {
		// The library's decoder keeps a buffer as large as the longest
		// string it read: let an outsized one go rather than pin it.
		msgpackDecoders.Put(d)
	}
	if err != nil {
		return nil, malformedErr("msgpack", err)
	}
	return l, nil
}

// msgpackScan checks the structure of data before the library decodes it:
// exactly one item, every length header backed by the bytes that remain
// (an array of n items needs at least n bytes, a map 2n), nesting within
// MaxDepth, string keys, valid UTF-8, no ext types. The library would
// otherwise allocate what a 5-byte header claims, up to 4 GiB for bin32,
// and recurse as deep as the input nests. After the scan, decoding
// allocates at most a small multiple of len(data).
func msgpackScan(data []byte) error {
	s := msgpackScanner{data: data}
	if err := s.item(1); err != nil {
		return err
	}
	if s.pos != len(data) {
		return malformed("msgpack", "%d bytes after the message", len(data)-s.pos)
	}
	return nil
}

type msgpackScanner struct {
	data []byte
	pos  int
}

// item scans one item that sits at nesting level depth.
func (s *msgpackScanner) item(depth int) error {
	if s.pos >= len(s.data) {
		return malformed("msgpack", "unexpected end of input")
	}
	c := s.data[s.pos]
	s.pos++
	switch {
	case msgpcode.IsFixedNum(c):
		return nil
	case msgpcode.IsFixedMap(c):
		return s.dict(int(c&msgpcode.FixedMapMask), depth)
	case msgpcode.IsFixedArray(c):
		return s.list(int(c&msgpcode.FixedArrayMask), depth)
	case msgpcode.IsFixedString(c):
		return s.str(int(c & msgpcode.FixedStrMask))
	}
	switch c {
	case msgpcode.Nil, msgpcode.False, msgpcode.True:
		return nil
	case msgpcode.Uint8, msgpcode.Int8:
		return s.skip(1)
	case msgpcode.Uint16, msgpcode.Int16:
		return s.skip(2)
	case msgpcode.Uint32, msgpcode.Int32, msgpcode.Float:
		return s.skip(4)
	case msgpcode.Uint64, msgpcode.Int64, msgpcode.Double:
		return s.skip(8)
	case msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		n, err := s.length(1 << (c - msgpcode.Bin8))
		if err != nil {
			return err
		}
		return s.skip(n)
	case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32:
		n, err := s.length(1 << (c - msgpcode.Str8))
		if err != nil {
			return err
		}
		return s.str(n)
	case msgpcode.Array16, msgpcode.Array32:
		n, err := s.length(2 << (c - msgpcode.Array16))
		if err != nil {
			return err
		}
		return s.list(n, depth)
	case msgpcode.Map16, msgpcode.Map32:
		n, err := s.length(2 << (c - msgpcode.Map16))
		if err != nil {
			return err
		}
		return s.dict(n, depth)
	}
	if c == 0xc1 {
		return malformed("msgpack", "reserved code 0xc1 at offset %d", s.pos-1)
	}
	if c == msgpcode.FixExt1 && s.pos+2 <= len(s.data) && s.data[s.pos] == 0 && s.data[s.pos+1] == 0 {
		s.pos += 2 // JavaScript's undefined; see msgpackUndefined
		return nil
	}
	return malformed("msgpack", "ext type (code %#x) at offset %d is not supported", c, s.pos-1)
}

// length reads a big-endian length of size bytes.
func (s *msgpackScanner) length(size int) (int, error) {
	if len(s.data)-s.pos < size {
		return 0, malformed("msgpack", "unexpected end of input")
	}
	b := s.data[s.pos : s.pos+size]
	s.pos += size
	switch size {
	case 1:
		return int(b[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(b)), nil
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

func (s *msgpackScanner) skip(n int) error {
	if n > len(s.data)-s.pos {
		return malformed("msgpack", "length %d at offset %d exceeds the %d bytes left", n, s.pos, len(s.data)-s.pos)
	}
	s.pos += n
	return nil
}

func (s *msgpackScanner) str(n int) error {
	start := s.pos
	if err := s.skip(n); err != nil {
		return err
	}
	if !utf8.Valid(s.data[start:s.pos]) {
		return malformed("msgpack", "string at offset %d is not valid UTF-8", start)
	}
	return nil
}

func (s *msgpackScanner) list(n, depth int) error {
	if depth > MaxDepth {
		return malformed("msgpack", "%s", errTooDeep)
	}
	if n > len(s.data)-s.pos {
		return malformed("msgpack", "list of %d items at offset %d exceeds the %d bytes left", n, s.pos, len(s.data)-s.pos)
	}
	for range n {
		if err := s.item(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func (s *msgpackScanner) dict(n, depth int) error {
	if depth > MaxDepth {
		return malformed("msgpack", "%s", errTooDeep)
	}
	if n > (len(s.data)-s.pos)/2 {
		return malformed("msgpack", "dict of %d entries at offset %d exceeds the %d bytes left", n, s.pos, len(s.data)-s.pos)
	}
	for range n {
		if s.pos >= len(s.data) {
			return malformed("msgpack", "unexpected end of input")
		}
		if c := s.data[s.pos]; !msgpcode.IsString(c) {
			return malformed("msgpack", "dict key at offset %d is not a string", s.pos)
		}
		if err := s.item(depth + 1); err != nil {
			return err
		}
		if err := s.item(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// msgpackUndefined is JavaScript's undefined, which msgpack libraries for
// JavaScript (wampy's among them) write as fixext 1 of type 0 with a zero
// byte, d4 00 00, for example for an option left undefined. A dict entry
// with it is left out and a list element becomes nil, as JSON.stringify
// does; every other ext type is refused.
type msgpackUndefined struct{}

// msgpackDecoder builds the closed set of wamp values with the library's
// decoder, from input that msgpackScan accepted. It peeks at the next code
// in data directly, which saves the library two calls through an
// interface per item.
type msgpackDecoder struct {
	data []byte
	r    bytes.Reader
	d    *msgpack.Decoder
}

var msgpackDecoders = sync.Pool{New: func() any {
	d := new(msgpackDecoder)
	d.d = msgpack.NewDecoder(&d.r) // a *bytes.Reader is read without buffering
	return d
}}

func (d *msgpackDecoder) value() (any, error) {
	c := d.data[len(d.data)-d.r.Len()] // msgpackScan checked that an item follows
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		l, err := d.list()
		if err != nil {
			return nil, err
		}
		return l, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		m, err := d.dict()
		if err != nil {
			return nil, err
		}
		return m, nil
	case msgpcode.IsString(c):
		return d.d.DecodeString()
	case msgpcode.IsBin(c):
		return d.d.DecodeBytes()
	case c <= msgpcode.PosFixedNumHigh, c >= msgpcode.Uint8 && c <= msgpcode.Uint64:
		u, err := d.d.DecodeUint64()
		return unsignedValue(u), err
	case c >= msgpcode.NegFixedNumLow, c >= msgpcode.Int8 && c <= msgpcode.Int64:
		return d.d.DecodeInt64()
	case c == msgpcode.Float || c == msgpcode.Double:
		return d.d.DecodeFloat64()
	case c == msgpcode.Nil:
		return nil, d.d.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		return d.d.DecodeBool()
	case c == msgpcode.FixExt1: // msgpackScan let only undefined through
		d.r.Seek(3, io.SeekCurrent)
		return msgpackUndefined{}, nil
	}
	return nil, malformed("msgpack", "unexpected code %#x", c) // msgpackScan let it through: a bug
}

func (d *msgpackDecoder) list() (wamp.List, error) {
	n, err := d.d.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	l := make(wamp.List, n)
	for i := range l {
		if l[i], err = d.value(); err != nil {
			return nil, err
		}
		if _, ok := l[i].(msgpackUndefined); ok {
			l[i] = nil // as JSON.stringify writes undefined in an array
		}
	}
	return l, nil
}

func (d *msgpackDecoder) dict() (wamp.Dict, error) {
	n, err := d.d.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	m := make(wamp.Dict, n)
	for range n {
		k, err := d.d.DecodeString()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, malformed("msgpack", "duplicate key %q", clip(k))
		}
		if _, ok := v.(msgpackUndefined); ok {
			continue // absent, as JSON.stringify leaves it out of an object
		}
		m[k] = v
	}
	return m, nil
}

// appendWriter is the io.Writer and io.ByteWriter the library's encoder
// writes to: it appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

type msgpackEncoder struct {
	w appendWriter
	e *msgpack.Encoder
}

var msgpackEncoders = sync.Pool{New: func() any {
	e := new(msgpackEncoder)
	e.e = msgpack.NewEncoder(&e.w)
	return e
}}

// encode writes v, a value at nesting level depth.
func (e *msgpackEncoder) encode(v any, depth int) error {
	switch v := v.(type) {
	case string:
		return e.string(v)
	case int64:
		return e.e.EncodeInt(v)
	case wamp.List:
		return e.list(v, depth)
	case wamp.Dict:
		if depth > MaxDepth {
			return unsupported("msgpack", "%s", errTooDeep)
		}
		if err := e.e.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for k, x := range v {
			if err := e.string(k); err != nil {
				return err
			}
			if err := e.encode(x, depth+1); err != nil {
				return err
			}
		}
		return nil
	case nil:
		return e.e.EncodeNil()
	case bool:
		return e.e.EncodeBool(v)
	case float64:
		return e.e.EncodeFloat64(v)
	case float32:
		return e.e.EncodeFloat32(v)
	case []byte:
		if uint64(len(v)) > math.MaxUint32 {
			return unsupported("msgpack", "%d bytes exceed the format's limit", len(v))
		}
		// EncodeBytes writes nil for a nil slice: write an empty bin instead.
		if err := e.e.EncodeBytesLen(len(v)); err != nil {
			return err
		}
		_, err := e.w.Write(v)
		return err
	case wamp.URI:
		return e.string(string(v))
	}
	switch i, u, kind := integerOf(v); kind {
	case signedInt:
		return e.e.EncodeInt(i)
	case unsignedInt:
		return e.e.EncodeUint(u)
	}
	return unsupported("msgpack", "cannot encode a value of type %T", v)
}

// encodeMsgpackFields appends the encoding of m when it is a frequent
// message (see fields) and reports whether it was one. It is not inlined
// for the reason encodeJSONFields is not.
//
//go:noinline
func encodeMsgpackFields(dst []byte, m wamp.Message) (out []byte, ok bool, err error) {
	var f fields
	if !fieldsOf(Unwrap(m), &f) {
		return dst, false, nil
	}
	e := msgpackEncoders.Get().(*msgpackEncoder)
	e.w.b = dst
	err = e.fields(&f)
	out = e.w.b
	e.w.b = nil
	msgpackEncoders.Put(e)
	return out, true, err
}

// fields writes a message's list form.
func (e *msgpackEncoder) fields(f *fields) error {
	if err := e.e.EncodeArrayLen(f.len()); err != nil {
		return err
	}
	for _, n := range f.ints[:f.nints] {
		if err := e.e.EncodeInt(n); err != nil {
			return err
		}
	}
	if err := e.encode(f.dict, 2); err != nil {
		return err
	}
	if f.hasURI {
		if err := e.string(f.uri); err != nil {
			return err
		}
	}
	if f.nargs > 0 {
		if err := e.list(f.args, 2); err != nil {
			return err
		}
	}
	if f.nargs > 1 {
		return e.encode(f.kwargs, 2)
	}
	return nil
}

// list writes l, a list at nesting level depth.
func (e *msgpackEncoder) list(l wamp.List, depth int) error {
	if depth > MaxDepth {
		return unsupported("msgpack", "%s", errTooDeep)
	}
	if err := e.e.EncodeArrayLen(len(l)); err != nil {
		return err
	}
	for _, x := range l {
		if err := e.encode(x, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (e *msgpackEncoder) string(s string) error {
	if !utf8.ValidString(s) {
		return unsupported("msgpack", "string %q is not valid UTF-8", clip(s))
	}
	if uint64(len(s)) > math.MaxUint32 {
		return unsupported("msgpack", "a string of %d bytes exceeds the format's limit", len(s))
	}
	return e.e.EncodeString(s)
}
