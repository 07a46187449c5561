package server

import (
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// The admission checks: each action a session asks for passes through one
// function here after its URI and options are validated and before it
// takes effect, so that authorization has one place per action. A nil
// result admits the action; otherwise the *wamp.Error is sent back.
//
// Today they keep the wamp. namespace to the router: clients may call the
// meta procedures and subscribe to meta events, never register or publish
// under it. (Calls to wamp. procedures reach the meta API before any
// registration, so a pattern registration cannot capture them.)

// reserved reports whether a URI belongs to the router (the meta API).
func reserved(u wamp.URI) bool { return strings.HasPrefix(string(u), "wamp.") }

func (r *realm) admitCall(s *session, procedure wamp.URI) *wamp.Error {
	return nil
}

func (r *realm) admitRegister(s *session, procedure wamp.URI, match string) *wamp.Error {
	if reserved(procedure) {
		return wamp.NewError(wamp.ErrNotAuthorized, "procedures under wamp. belong to the router")
	}
	return nil
}

func (r *realm) admitPublish(s *session, topic wamp.URI) *wamp.Error {
	if reserved(topic) {
		return wamp.NewError(wamp.ErrNotAuthorized, "only the router publishes under wamp.")
	}
	return nil
}

func (r *realm) admitSubscribe(s *session, topic wamp.URI, match string) *wamp.Error {
	return nil
}

// errorArg is the readable message of an admission error, for sendError.
func errorArg(e *wamp.Error) string {
	if len(e.Args) > 0 {
		if m, ok := e.Args[0].(string); ok {
			return m
		}
	}
	return ""
}
