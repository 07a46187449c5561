//go:build !nocbor

package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestBatchRoundTrip(t *testing.T) {
	msgs := []wamp.Message{
		&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.add", Args: wamp.List{int64(2), int64(3)}},
		&wamp.Published{Request: 1, Publication: 2},
		&wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Args: wamp.List{[]byte("\x1e\x1e")}},
	}
	for _, c := range All {
		var batch []byte
		for _, m := range msgs {
			data, err := c.Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			batch = AppendBatch(batch, c, data)
		}
		parts, err := SplitBatch(c, batch)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		if len(parts) != len(msgs) {
			t.Fatalf("%s: %d parts, want %d", c.Name(), len(parts), len(msgs))
		}
		for i, p := range parts {
			m, err := c.Decode(p)
			if err != nil {
				t.Fatalf("%s: part %d: %v", c.Name(), i, err)
			}
			if !sameMessage(m, msgs[i]) {
				t.Errorf("%s: part %d is %#v", c.Name(), i, m)
			}
		}
		// Parts are capped: appending to one leaves the next intact.
		_ = append(parts[0], 'x')
		if m, err := c.Decode(parts[1]); err != nil || !sameMessage(m, msgs[1]) {
			t.Errorf("%s: appending to part 0 changed part 1: %v", c.Name(), err)
		}
	}
}

func TestBatchFraming(t *testing.T) {
	if got := AppendBatch([]byte("[1]\x1e"), JSON, []byte("[2]")); string(got) != "[1]\x1e[2]\x1e" {
		t.Errorf("JSON batch = %q", got)
	}
	for _, c := range []Codec{MessagePack, CBOR} {
		got := AppendBatch(nil, c, bytes.Repeat([]byte{7}, 258))
		if !bytes.Equal(got[:4], []byte{0, 0, 1, 2}) || len(got) != 262 {
			t.Errorf("%s batch header = % x, length %d", c.Name(), got[:4], len(got))
		}
	}
	for _, c := range All {
		if added := len(AppendBatch(nil, c, []byte("[1]"))) - 3; BatchFraming(c) != added {
			t.Errorf("%s: BatchFraming = %d, AppendBatch adds %d", c.Name(), BatchFraming(c), added)
		}
		parts, err := SplitBatch(c, nil)
		if err != nil || len(parts) != 0 {
			t.Errorf("%s: SplitBatch(empty) = %q, %v", c.Name(), parts, err)
		}
	}
}

func TestSplitBatchErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Codec
		data string
	}{
		{JSON, "[1]"},
		{JSON, "[1]\x1e[2]"},
		{JSON, "\x1e"},
		{JSON, "[1]\x1e\x1e"},
		{MessagePack, "\x00\x00\x00"},
		{MessagePack, "\x00\x00\x00\x02\x91"},
		{MessagePack, "\x00\x00\x00\x01\x90\x00"},
		{CBOR, "\xff\xff\xff\xff\x80"},
		{CBOR, "\x00\x00\x00\x00"},
	} {
		if parts, err := SplitBatch(tc.c, []byte(tc.data)); !errors.Is(err, wamp.ErrInvalidMessage) {
			t.Errorf("%s: SplitBatch(%q) = %q, %v; want ErrInvalidMessage", tc.c.Name(), tc.data, parts, err)
		}
	}
}
