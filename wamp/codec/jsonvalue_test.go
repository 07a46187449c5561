//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestJSONValueRoundTrip(t *testing.T) {
	v := wamp.List{
		wamp.List{int64(1) << 53, "a", []byte{0, 0xff}},
		wamp.Dict{"k": wamp.Dict{"b": []byte("x")}, "n": nil, "f": 1.5, "t": true},
	}
	data, err := AppendJSONValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"\u0000AP8="`)) {
		t.Fatalf("binary not in the WAMP convention: %s", data)
	}
	got, err := DecodeJSONValue(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("round trip: got %#v, want %#v", got, v)
	}
	for _, bad := range []string{``, `[1,`, `{"a":1} x`, "\"\xff\"", `[1e999999]`} {
		if _, err := DecodeJSONValue([]byte(bad)); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("DecodeJSONValue(%q) = %v, want ErrInvalidMessage", bad, err)
		}
	}
	if s, err := DecodeJSONValue([]byte(` "plain" `)); err != nil || s != "plain" {
		t.Fatalf("scalar: %v %v", s, err)
	}
}
