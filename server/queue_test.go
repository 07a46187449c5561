package server

import (
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestQueueMeasuresOnlyWaitingMessages(t *testing.T) {
	q := &outQueue{limit: 1 << 20}
	big := &wamp.Result{Request: 1, Details: wamp.Dict{}, Args: wamp.List{string(make([]byte, 1000))}}
	if got := q.push(big, measureIfQueued); got != pushedStart {
		t.Fatalf("first push: %v, want pushedStart", got)
	}
	if q.bytes != 0 {
		t.Errorf("a message on an idle queue counts %d bytes, want 0: its writer takes it at once", q.bytes)
	}
	if got := q.push(big, measureIfQueued); got != pushed {
		t.Fatalf("second push: %v, want pushed", got)
	}
	if want := approxSize(big); q.bytes != want || want < 1000 {
		t.Errorf("a waiting message counts %d bytes, want approxSize %d", q.bytes, want)
	}
	// Over the budget: the session must go.
	q.limit = q.bytes + 10
	if got := q.push(big, measureIfQueued); got != pushOverflow {
		t.Errorf("push over the limit: %v, want pushOverflow", got)
	}
}
