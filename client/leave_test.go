package client

import (
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestLeaveWith(t *testing.T) {
	s, r := join(t, nil)
	if err := s.LeaveWith(t.Context(), "not a uri"); err == nil {
		t.Fatal("LeaveWith accepted an invalid reason")
	}
	done := async(func() error { return s.LeaveWith(t.Context(), "wamp.close.logout") })
	if g := expect[*wamp.Goodbye](r); g.Reason != "wamp.close.logout" {
		t.Errorf("GOODBYE reason %q, want wamp.close.logout", g.Reason)
	}
	r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.ErrGoodbyeAndOut})
	if err := within(t, done); err != nil {
		t.Fatal(err)
	}
	r.closed()
}
