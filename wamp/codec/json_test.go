//go:build !nocbor

package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wampkit/wampkit/wamp"
)

// TestJSONBinaryWireForm checks the specification's example: the bytes
// 10e3ff9053075c526f5fc06d4fe37cdb travel as "\u0000EOP/kFMHXFJvX8BtT+N82w==".
func TestJSONBinaryWireForm(t *testing.T) {
	b := []byte{0x10, 0xe3, 0xff, 0x90, 0x53, 0x07, 0x5c, 0x52, 0x6f, 0x5f, 0xc0, 0x6d, 0x4f, 0xe3, 0x7c, 0xdb}
	m := &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{b, []byte{}}}
	got, err := JSON.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `[36,1,2,{},["\u0000EOP/kFMHXFJvX8BtT+N82w==","\u0000"]]`
	if string(got) != want {
		t.Fatalf("Encode = %s\nwant     %s", got, want)
	}
	// Another encoder may escape the slash; the decoder unescapes first.
	d, err := JSON.Decode([]byte(`[36,1,2,{},["\u0000EOP\/kFMHXFJvX8BtT+N82w==","\u0000"]]`))
	if err != nil {
		t.Fatal(err)
	}
	if !sameMessage(d, m) {
		t.Fatalf("Decode = %#v", d)
	}
}

func TestJSONEncode(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{int64(1<<53 + 1), "9007199254740993"},
		{1.0, "1.0"},
		{-0.0 * 1, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0.1, "0.1"},
		{float32(0.1), "0.1"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000.0"},
		{1.5e-7, "1.5e-07"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{"\"\\/\b\f\n\r\t\x00\x1e\x7f<>&\u2028é", `"\"\\/\u0008\u000c\n\r\t\u0000\u001e` + "\x7f<>&\u2028é\""},
		{wamp.Dict{"\x00k": nil}, `{"\u0000k":null}`},
		{wamp.List{true, false, nil}, `[true,false,null]`},
	} {
		got, err := appendJSON(nil, tc.v, 1)
		if err != nil || string(got) != tc.want {
			t.Errorf("appendJSON(%#v) = %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), "\x00starts with NUL"} {
		if _, err := appendJSON(nil, v, 1); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("appendJSON(%q) error = %v, want ErrUnsupportedValue", v, err)
		}
	}
}

// TestJSONStringEscaping encodes every ASCII character and some others and
// checks that encoding/json reads back the same string.
func TestJSONStringEscaping(t *testing.T) {
	var b strings.Builder
	for r := rune(1); r < 0x80; r++ {
		b.WriteRune(r)
	}
	b.WriteString("é ✓ 😀 \u2028\u2029 \ufeff \U0010ffff")
	s := b.String()
	enc, err := appendJSONString(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(enc, &back); err != nil || back != s {
		t.Fatalf("encoding/json read %q (%v) from %s", back, err, enc)
	}
}

func TestJSONDecodeNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any // nil: an error
	}{
		{"0", int64(0)},
		{"-0", int64(0)},
		{"9007199254740992", int64(1 << 53)},
		{"9007199254740993", int64(1<<53 + 1)},
		{"-9007199254740992", int64(-1 << 53)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", uint64(math.MaxInt64 + 1)},
		{"18446744073709551615", uint64(math.MaxUint64)},
		{"18446744073709551616", nil},
		{"99999999999999999999", nil},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"-9223372036854775809", nil},
		{"1.0", 1.0},
		{"-0.0", math.Copysign(0, -1)},
		{"1E2", 100.0},
		{"1e+2", 100.0},
		{"25e-1", 2.5},
		{"1e400", nil},
		{"1e-400", 0.0},
		{"01", nil},
		{"-01", nil},
		{"1.", nil},
		{".5", nil},
		{"-", nil},
		{"+1", nil},
		{"1e", nil},
		{"1e+", nil},
		{"0x10", nil},
		{"Infinity", nil},
		{"NaN", nil},
		{"1_000", nil},
	} {
		m, err := JSON.Decode([]byte(`[70,1,{},[` + tc.in + `]]`))
		if tc.want == nil {
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Errorf("%s: got %v, %v; want ErrInvalidMessage", tc.in, m, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := m.(*wamp.Yield).Args[0]; !sameValue(got, tc.want) {
			t.Errorf("%s: got %T %v, want %T %v", tc.in, got, got, tc.want, tc.want)
		}
	}
}

func TestJSONDecodeStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any // nil: an error
	}{
		{`"plain"`, "plain"},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u00e9\u00E9"`, "éé"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\ufffd"},
		{`"\ude00x"`, "\ufffdx"},
		{`"\ud83d\u0041"`, "\ufffdA"},
		{`"\ud83d\ud83d\ude00"`, "\ufffd😀"},
		{`"\u0000"`, []byte{}},
		{`"\u0000aGk="`, []byte("hi")},
		{`"\u0000aGk"`, nil},
		{`"\u0000a!k="`, nil},
		{`"\u0000\u0000"`, nil},
		{`"\x"`, nil},
		{`"\u12"`, nil},
		{`"\u12g4"`, nil},
		{"\"tab\tinside\"", nil},
		{"\"nl\ninside\"", nil},
		{`"unterminated`, nil},
		{`"unterminated\`, nil},
		{"\"bad utf-8 \xff\"", nil},
	} {
		m, err := JSON.Decode([]byte(`[70,1,{},[` + tc.in + `]]`))
		if tc.want == nil {
			if !errors.Is(err, wamp.ErrInvalidMessage) {
				t.Errorf("%s: got %v, %v; want ErrInvalidMessage", tc.in, m, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := m.(*wamp.Yield).Args[0]; !sameValue(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestJSONDecodeSyntax(t *testing.T) {
	valid := []string{
		" \t\r\n[ 70 , 1 , { } , [ ] , { \"k\" : [ true , false , null ] } ] \n",
		`[70,1,{"":1,"\u0000":2},[]]`,
	}
	for _, in := range valid {
		if _, err := JSON.Decode([]byte(in)); err != nil {
			t.Errorf("Decode(%q): %v", in, err)
		}
	}
	invalid := []string{
		``, ` `, `[`, `[70,1,{},[]`, `[70,1,{},[]]]`, `[70,1,{},[],]`, `[70,1,{},[,]]`, `[70 1 {} []]`,
		`[70,1,{"a" 1},[]]`, `[70,1,{"a":},[]]`, `[70,1,{a:1},[]]`, `[70,1,{"a":1,},[]]`, `[70,1,{,},[]]`,
		`[70,1,{"a":1,"a":1},[]]`, `[70,1,{},[tru]]`, `[70,1,{},[nul]]`, `[70,1,{},[True]]`,
		`[70,1,{},[]] x`, `[70,1,{},[]][]`, `{"a":1}`, `"text"`, `70`, `null`, "[70,1,{},[]]\x00",
		"\ufeff[70,1,{},[]]", `[70,1,{},['a']]`, `[70,1,{},[]]/**/`,
	}
	for _, in := range invalid {
		if m, err := JSON.Decode([]byte(in)); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("Decode(%q) = %v, %v; want ErrInvalidMessage", in, m, err)
		}
	}
}

// stdlibDecode is the oracle for the JSON decoder: the same rules, built on
// encoding/json's tokenizer with UseNumber instead of the hand-written
// parser.
func stdlibDecode(data []byte) (wamp.List, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := stdlibValue(dec, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data: %v", err)
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, errors.New("not a list")
	}
	return l, nil
}

func stdlibValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if depth > MaxDepth {
			return nil, errors.New("too deep")
		}
		if tok == '[' {
			l := wamp.List{}
			for dec.More() {
				v, err := stdlibValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		m := wamp.Dict{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := stdlibValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k.(string)]; dup {
				return nil, errors.New("duplicate key")
			}
			m[k.(string)] = v
		}
		_, err := dec.Token()
		return m, err
	case string:
		if strings.HasPrefix(tok, "\x00") {
			return base64.StdEncoding.DecodeString(tok[1:])
		}
		return tok, nil
	case json.Number:
		s := tok.String()
		if strings.ContainsAny(s, ".eE") {
			return strconv.ParseFloat(s, 64)
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		return strconv.ParseUint(s, 10, 64)
	}
	return tok, nil // bool or nil
}

// checkJSONOracle reports a difference between the decoder and its oracle
// on data.
func checkJSONOracle(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := stdlibDecode(data)
	got, err := jsonCodec{}.decodeList(data)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("decoder error %v, encoding/json error %v, on %q", err, wantErr, data)
	}
	if err == nil && !sameValue(got, want) {
		t.Fatalf("decoder %#v, encoding/json %#v, on %q", got, want, data)
	}
}

func TestJSONOracle(t *testing.T) {
	inputs := []string{
		`[1,2.5,-3e2,"s","\u0000AQ==",true,false,null,[],{},{"a":[{"b":{}}]}]`,
		`[18446744073709551615,-9223372036854775808,9223372036854775808,0.000001]`,
		`["\ud83d\ude00","\ud83d","\ude00","\ud83d\u0041","\"\\\/\b\f\n\r\t"]`,
		`[1,]`, `[1 2]`, `[01]`, `[1e400]`, `[18446744073709551616]`, `["\u0000!"]`, `[{"a":1,"a":2}]`,
		`  [  ]  `, `[]x`, `{}`, `"s"`, `[` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth),
		`[` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth+1),
	}
	for _, in := range inputs {
		checkJSONOracle(t, []byte(in))
	}
}
