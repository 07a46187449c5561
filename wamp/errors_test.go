package wamp

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{NewError(ErrCanceled), "wamp.error.canceled"},
		{NewError(ErrInvalidArgument, "x must be positive"), "wamp.error.invalid_argument: x must be positive"},
		{NewError("com.example.error.full", int64(3), "items"), "com.example.error.full: [3 items]"},
		{&Error{URI: ErrNotAuthorized, Kwargs: Dict{"k": "v"}}, "wamp.error.not_authorized"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("call failed: %w", NewError(ErrNoSuchProcedure, "no callee for com.example.add"))
	if !errors.Is(err, &Error{URI: ErrNoSuchProcedure}) {
		t.Error("errors.Is with the same URI = false")
	}
	if errors.Is(err, &Error{URI: ErrCanceled}) {
		t.Error("errors.Is with another URI = true")
	}
	if errors.Is(err, ErrInvalidMessage) {
		t.Error("errors.Is with a sentinel = true")
	}
	e, ok := errors.AsType[*Error](err)
	if !ok || e.URI != ErrNoSuchProcedure || e.Args[0] != "no callee for com.example.add" {
		t.Errorf("errors.AsType = %#v, %v", e, ok)
	}
}
