package wamp

import (
	"fmt"
	"strings"
)

// Error URIs that the specification names.
const (
	ErrInvalidURI                 URI = "wamp.error.invalid_uri"
	ErrNoSuchProcedure            URI = "wamp.error.no_such_procedure"
	ErrProcedureAlreadyExists     URI = "wamp.error.procedure_already_exists"
	ErrNoSuchRegistration         URI = "wamp.error.no_such_registration"
	ErrNoSuchSubscription         URI = "wamp.error.no_such_subscription"
	ErrInvalidArgument            URI = "wamp.error.invalid_argument"
	ErrSystemShutdown             URI = "wamp.close.system_shutdown"
	ErrCloseRealm                 URI = "wamp.close.close_realm"
	ErrGoodbyeAndOut              URI = "wamp.close.goodbye_and_out"
	ErrProtocolViolation          URI = "wamp.error.protocol_violation"
	ErrNotAuthorized              URI = "wamp.error.not_authorized"
	ErrAuthorizationFailed        URI = "wamp.error.authorization_failed"
	ErrAuthenticationFailed       URI = "wamp.error.authentication_failed"
	ErrNoAuthMethod               URI = "wamp.error.no_auth_method"
	ErrNoSuchRealm                URI = "wamp.error.no_such_realm"
	ErrNoSuchRole                 URI = "wamp.error.no_such_role"
	ErrNoSuchPrincipal            URI = "wamp.error.no_such_principal"
	ErrNoSuchSession              URI = "wamp.error.no_such_session"
	ErrCanceled                   URI = "wamp.error.canceled"
	ErrTimeout                    URI = "wamp.error.timeout"
	ErrOptionNotAllowed           URI = "wamp.error.option_not_allowed"
	ErrOptionDisallowedDisclose   URI = "wamp.error.option_disallowed.disclose_me"
	ErrNetworkFailure             URI = "wamp.error.network_failure"
	ErrUnavailable                URI = "wamp.error.unavailable"
	ErrNoAvailableCallee          URI = "wamp.error.no_available_callee"
	ErrFeatureNotSupported        URI = "wamp.error.feature_not_supported"
	ErrPayloadSizeExceeded        URI = "wamp.error.payload_size_exceeded"
	ErrProcedureExistsOtherPolicy URI = "wamp.error.procedure_exists_with_different_invocation_policy"
)

// Error is an application or protocol error that crosses the wire in an
// ERROR message: a URI, positional and keyword arguments. A callee's
// handler returns one and the caller receives the same one back.
type Error struct {
	URI    URI
	Args   List
	Kwargs Dict
}

// NewError returns an *Error with the given URI and arguments.
func NewError(uri URI, args ...any) *Error {
	return &Error{URI: uri, Args: args}
}

// Error returns the URI, followed by the first argument when it is a
// string, the convention for a human readable message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.URI))
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			b.WriteString(": ")
			b.WriteString(s)
		} else {
			fmt.Fprintf(&b, ": %v", e.Args)
		}
	}
	return b.String()
}

// Is reports whether target is an *Error with the same URI, so that
// errors.Is(err, &wamp.Error{URI: wamp.ErrCanceled}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.URI == e.URI
}
