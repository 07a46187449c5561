package codec

import (
	"reflect"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

// TestDecodeKeepsNoInput checks the promise of Codec.Decode that transports
// rely on to read frames into a reused buffer: overwriting the input after
// decoding changes nothing in the message, strings and binary values
// included.
func TestDecodeKeepsNoInput(t *testing.T) {
	m := &wamp.Call{Request: 7, Options: wamp.Dict{"disclose_me": true}, Procedure: "com.example.echo",
		Args:   wamp.List{"text", []byte{1, 2, 3, 0xff}, int64(1) << 40, wamp.List{"nested"}},
		Kwargs: wamp.Dict{"key": "value", "bin": []byte{9, 8}}}
	for _, c := range All {
		t.Run(c.Name(), func(t *testing.T) {
			data, err := c.Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			for i := range data {
				data[i] = 'x'
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("after overwriting the input, decoded %#v, want %#v", got, m)
			}
		})
	}
}
