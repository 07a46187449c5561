package codec

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wampkit/wampkit/wamp"
)

// JSON is the "json" serializer (subprotocol wamp.2.json). A []byte travels
// as a JSON string made of U+0000 followed by its standard, padded base64,
// the specification's convention for binary values; a decoded string that
// starts with U+0000 becomes a []byte again. Integers are exact both ways:
// a number without fraction or exponent decodes to int64, or to uint64
// above math.MaxInt64, and one beyond uint64 is an error; other numbers
// decode to float64. Floats encode with a fraction or an exponent, so that
// they decode as floats; NaN and infinities cannot be encoded, nor a string
// that starts with U+0000, which would read back as binary. Input must be
// valid UTF-8; duplicate keys in an object are an error.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }
func (jsonCodec) Binary() bool { return false }

func (jsonCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	if out, ok, err := encodeJSONFields(dst, m); ok {
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	l, err := toList("json", m)
	if err != nil {
		return dst, err
	}
	out, err := appendJSONList(dst, l, 1)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func (c jsonCodec) Decode(data []byte) (wamp.Message, error) {
	l, err := c.decodeList(data)
	if err != nil {
		return nil, err
	}
	return wamp.FromList(l)
}

// decodeList decodes the list form of a message.
func (jsonCodec) decodeList(data []byte) (wamp.List, error) {
	d := jsonDecoders.Get().(*jsonDecoder)
	l, err := d.decode(data)
	d.release()
	return l, err
}

// encodeJSONFields appends the JSON text of m when it is a frequent
// message (see fields) and reports whether it was one. It is not inlined,
// so that its fields take no room in Encode's frame on the other path: a
// router session's stack would otherwise outgrow its first 4 KiB while it
// sends WELCOME, and an idle session would keep 8 KiB of stack.
//
//go:noinline
func encodeJSONFields(dst []byte, m wamp.Message) (out []byte, ok bool, err error) {
	var f fields
	if !fieldsOf(Unwrap(m), &f) {
		return dst, false, nil
	}
	out, err = appendJSONFields(dst, &f)
	return out, true, err
}

// appendJSONFields appends the JSON text of a message's list form.
func appendJSONFields(dst []byte, f *fields) ([]byte, error) {
	var err error
	dst = append(dst, '[')
	for i := range f.nints {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, f.ints[i], 10)
	}
	dst = append(dst, ',')
	if dst, err = appendJSON(dst, f.dict, 2); err != nil {
		return dst, err
	}
	if f.hasURI {
		dst = append(dst, ',')
		if dst, err = appendJSONText(dst, f.uri); err != nil {
			return dst, err
		}
	}
	if f.nargs > 0 {
		dst = append(dst, ',')
		if dst, err = appendJSONList(dst, f.args, 2); err != nil {
			return dst, err
		}
	}
	if f.nargs > 1 {
		dst = append(dst, ',')
		if dst, err = appendJSON(dst, f.kwargs, 2); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendJSON appends the JSON text of v, a value at nesting level depth.
func appendJSON(dst []byte, v any, depth int) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case string:
		return appendJSONText(dst, v)
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case wamp.List:
		return appendJSONList(dst, v, depth)
	case wamp.Dict:
		if depth > MaxDepth {
			return dst, unsupported("json", "%s", errTooDeep)
		}
		dst = append(dst, '{')
		first := true
		for k, e := range v {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			if dst, err = appendJSONString(dst, k); err != nil {
				return dst, err
			}
			dst = append(dst, ':')
			if dst, err = appendJSON(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case float64:
		return appendJSONFloat(dst, v, 64)
	case float32:
		return appendJSONFloat(dst, float64(v), 32)
	case []byte:
		dst = append(dst, `"\u0000`...)
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"'), nil
	case wamp.URI:
		return appendJSON(dst, string(v), depth)
	}
	switch i, u, kind := integerOf(v); kind {
	case signedInt:
		return strconv.AppendInt(dst, i, 10), nil
	case unsignedInt:
		return strconv.AppendUint(dst, u, 10), nil
	}
	return dst, unsupported("json", "cannot encode a value of type %T", v)
}

// appendJSONList appends the JSON text of l, a list at nesting level depth.
func appendJSONList(dst []byte, l wamp.List, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, unsupported("json", "%s", errTooDeep)
	}
	dst = append(dst, '[')
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendJSON(dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendJSONText appends a string value, which must not start with U+0000:
// that marks a binary value.
func appendJSONText(dst []byte, s string) ([]byte, error) {
	if len(s) > 0 && s[0] == 0 {
		return dst, unsupported("json", "string %q starts with U+0000, which JSON reserves for binary values", clip(s))
	}
	return appendJSONString(dst, s)
}

// jsonPlain marks the bytes that a JSON string holds as they are: not a
// control character, not a quote, not a backslash.
var jsonPlain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return dst, unsupported("json", "string %q is not valid UTF-8", clip(s))
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonPlain[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

// appendJSONFloat writes f in the shortest form that reads back the same
// float, always with a fraction or an exponent.
func appendJSONFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, unsupported("json", "cannot encode %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst, nil
		}
	}
	return append(dst, '.', '0'), nil
}

// jsonDecoder parses the closed set of wamp values from JSON text. It keeps
// its scratch space between uses: a stack of list elements, so that each
// list is allocated once at its final length, and a buffer for strings
// with escapes.
type jsonDecoder struct {
	data  []byte
	pos   int
	stack []any
	buf   []byte
}

var jsonDecoders = sync.Pool{New: func() any { return new(jsonDecoder) }}

// release returns d to its pool, dropping references to the decoded data.
func (d *jsonDecoder) release() {
	d.data = nil
	if cap(d.stack) > 1024 || cap(d.buf) > 64<<10 {
		return // let an outsized decoder go rather than pin its memory
	}
	jsonDecoders.Put(d)
}

func (d *jsonDecoder) decode(data []byte) (wamp.List, error) {
	if !utf8.Valid(data) {
		return nil, malformed("json", "input is not valid UTF-8")
	}
	d.data, d.pos = data, 0
	d.skipSpace()
	if d.pos == len(data) {
		return nil, malformed("json", "empty input")
	}
	if data[d.pos] != '[' {
		return nil, malformed("json", "message is not a list")
	}
	l, err := d.list(1)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(data) {
		return nil, d.unexpected()
	}
	return l, nil
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) unexpected() error {
	if d.pos >= len(d.data) {
		return malformed("json", "unexpected end of input")
	}
	return malformed("json", "unexpected %q at offset %d", d.data[d.pos], d.pos)
}

// value parses the value at d.pos, which starts at nesting level depth.
func (d *jsonDecoder) value(depth int) (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.unexpected()
	}
	switch c := d.data[d.pos]; c {
	case '[':
		l, err := d.list(depth)
		if err != nil {
			return nil, err
		}
		return l, nil
	case '{':
		m, err := d.dict(depth)
		if err != nil {
			return nil, err
		}
		return m, nil
	case '"':
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)-1))
			n, err := base64.StdEncoding.Decode(b, s[1:])
			if err != nil {
				return nil, malformed("json", "binary string: %v", err)
			}
			return b[:n], nil
		}
		return string(s), nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
		return nil, d.unexpected()
	}
}

func (d *jsonDecoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.unexpected()
	}
	d.pos += len(word)
	return nil
}

func (d *jsonDecoder) list(depth int) (wamp.List, error) {
	if depth > MaxDepth {
		return nil, malformed("json", "%s", errTooDeep)
	}
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return wamp.List{}, nil
	}
	base := len(d.stack)
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			d.dropStack(base)
			return nil, err
		}
		d.stack = append(d.stack, v)
		d.skipSpace()
		if d.pos < len(d.data) {
			c := d.data[d.pos]
			d.pos++
			if c == ',' {
				continue
			}
			if c == ']' {
				break
			}
			d.pos--
		}
		d.dropStack(base)
		return nil, d.unexpected()
	}
	l := make(wamp.List, len(d.stack)-base)
	copy(l, d.stack[base:])
	d.dropStack(base)
	return l, nil
}

// dropStack pops the stack down to n elements and clears what it pops, so
// that the pooled decoder keeps no decoded value alive.
func (d *jsonDecoder) dropStack(n int) {
	clear(d.stack[n:])
	d.stack = d.stack[:n]
}

func (d *jsonDecoder) dict(depth int) (wamp.Dict, error) {
	if depth > MaxDepth {
		return nil, malformed("json", "%s", errTooDeep)
	}
	d.pos++ // '{'
	m := make(wamp.Dict)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.unexpected()
		}
		kb, err := d.string()
		if err != nil {
			return nil, err
		}
		k := string(kb)
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.unexpected()
		}
		d.pos++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, malformed("json", "duplicate key %q", clip(k))
		}
		m[k] = v
		d.skipSpace()
		if d.pos < len(d.data) {
			c := d.data[d.pos]
			d.pos++
			if c == ',' {
				continue
			}
			if c == '}' {
				return m, nil
			}
			d.pos--
		}
		return nil, d.unexpected()
	}
}

// string parses the string at d.pos and returns its unescaped bytes, which
// alias the input or the decoder's buffer: valid until the next call.
func (d *jsonDecoder) string() ([]byte, error) {
	d.pos++ // '"'
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			d.pos++
			return d.data[start : d.pos-1], nil
		}
		if c == '\\' {
			return d.escapedString(start)
		}
		if c < 0x20 {
			return nil, malformed("json", "control character %#x in string at offset %d", c, d.pos)
		}
		d.pos++
	}
	return nil, d.unexpected()
}

// escapedString continues string from the first backslash, unescaping
// into d.buf. A \u escape of a lone UTF-16 surrogate becomes U+FFFD, as
// with encoding/json.
func (d *jsonDecoder) escapedString(start int) ([]byte, error) {
	b := append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = b
			return b, nil
		case c < 0x20:
			return nil, malformed("json", "control character %#x in string at offset %d", c, d.pos)
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return nil, d.unexpected()
		}
		d.pos += 2
		switch e := d.data[d.pos-1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4(d.pos)
			if !ok {
				return nil, malformed("json", "bad \\u escape at offset %d", d.pos-2)
			}
			d.pos += 4
			if utf16.IsSurrogate(r) {
				r = d.lowSurrogate(r)
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos -= 2
			return nil, malformed("json", "bad escape at offset %d", d.pos)
		}
	}
	d.buf = b
	return nil, d.unexpected()
}

// hex4 reads the four hex digits at i.
func (d *jsonDecoder) hex4(i int) (rune, bool) {
	if len(d.data)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// lowSurrogate completes the surrogate r with the \u escape at d.pos, which
// it consumes if the two form a pair. A lone surrogate becomes U+FFFD.
func (d *jsonDecoder) lowSurrogate(r rune) rune {
	if d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
		return utf8.RuneError
	}
	r2, ok := d.hex4(d.pos + 2)
	if !ok {
		return utf8.RuneError
	}
	pair := utf16.DecodeRune(r, r2)
	if pair != utf8.RuneError {
		d.pos += 6
	}
	return pair
}

// number parses a JSON number: exact int64 or uint64 without fraction and
// exponent, float64 with either.
func (d *jsonDecoder) number() (any, error) {
	start := d.pos
	neg := d.data[d.pos] == '-'
	if neg {
		d.pos++
	}
	digits := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if !d.digits() {
		return nil, d.unexpected()
	}
	intEnd := d.pos
	isFloat := false
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if !d.digits() {
			return nil, d.unexpected()
		}
		isFloat = true
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			return nil, d.unexpected()
		}
		isFloat = true
	}
	if isFloat {
		f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
		if err != nil {
			return nil, malformed("json", "number %s is out of range", clip(d.data[start:d.pos]))
		}
		return f, nil
	}
	var u uint64
	for _, c := range d.data[digits:intEnd] {
		digit := uint64(c - '0')
		if u > math.MaxUint64/10 || u*10 > math.MaxUint64-digit {
			return nil, malformed("json", "integer %s is out of range", clip(d.data[start:d.pos]))
		}
		u = u*10 + digit
	}
	switch {
	case !neg:
		return unsignedValue(u), nil
	case u <= 1<<63:
		return int64(-u), nil // two's complement: -(1<<63) is math.MinInt64
	}
	return nil, malformed("json", "integer %s is out of range", clip(d.data[start:d.pos]))
}

// digits consumes one or more decimal digits and reports whether there was
// at least one.
func (d *jsonDecoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}
