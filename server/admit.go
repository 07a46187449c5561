package server

import (
	"fmt"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// The admission checks: each action a session asks for passes through one
// function here after its URI and options are validated and before it
// takes effect. A nil error admits the action; otherwise the *wamp.Error is
// sent back (wamp.error.not_authorized, or wamp.error.authorization_failed
// when a dynamic authorizer could not decide).
//
// The wamp. namespace belongs to the router: no client may register or
// publish under it, whatever its role. Calling meta procedures and
// subscribing to meta events are actions like any other, judged by the
// role's permissions (allowed to all in a realm without roles). Calls to
// wamp. procedures reach the meta API before any registration, so a
// pattern registration cannot capture them.

// reserved reports whether a URI belongs to the router (the meta API).
func reserved(u wamp.URI) bool { return strings.HasPrefix(string(u), "wamp.") }

// admitCall judges a CALL; disclose tells whether the caller's role
// discloses it to the callee.
func (r *realm) admitCall(s *session, procedure wamp.URI, options wamp.Dict) (disclose bool, e *wamp.Error) {
	d, e := r.authorize(s, actionCall, procedure, options)
	return d.disclose, e
}

func (r *realm) admitRegister(s *session, procedure wamp.URI, options wamp.Dict) *wamp.Error {
	if reserved(procedure) && !s.internal {
		return wamp.NewError(wamp.ErrNotAuthorized, "procedures under wamp. belong to the router")
	}
	d, e := r.authorize(s, actionRegister, procedure, options)
	if e == nil && d.carveOut != nil {
		// The pattern would route to s calls that its role may not
		// register, such as those of the carve-out.
		return wamp.NewError(wamp.ErrNotAuthorized, fmt.Sprintf("role %q may not register pattern %q: it covers procedures the role may not register (%q)",
			s.authrole, procedure, d.carveOut.URI))
	}
	return e
}

// admitPublish judges a PUBLISH; disclose tells whether the publisher's
// role discloses it to the subscribers.
func (r *realm) admitPublish(s *session, topic wamp.URI, options wamp.Dict) (disclose bool, e *wamp.Error) {
	if reserved(topic) && !s.internal {
		return false, wamp.NewError(wamp.ErrNotAuthorized, "only the router publishes under wamp.")
	}
	d, e := r.authorize(s, actionPublish, topic, options)
	return d.disclose, e
}

// admitSubscribe judges a SUBSCRIBE; guarded tells that the pattern
// covers topics the role may not subscribe to, so that each event's topic
// must be checked with mayReceive before it is delivered to s.
func (r *realm) admitSubscribe(s *session, topic wamp.URI, options wamp.Dict) (guarded bool, e *wamp.Error) {
	d, e := r.authorize(s, actionSubscribe, topic, options)
	return d.carveOut != nil, e
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
