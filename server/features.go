package server

import (
	"sync"

	"github.com/wampkit/wampkit/wamp"
)

// routerRoles is WELCOME.Details.roles: the roles of the router and exactly
// the features it implements. It is made once and shared by every WELCOME
// (and, over transport/local, handed to the client as is): read only.
var routerRoles = sync.OnceValue(func() wamp.Dict {
	return wamp.Dict{
		"broker": wamp.Dict{"features": wamp.Dict{
			"publisher_identification":      true,
			"publisher_exclusion":           true,
			"subscriber_blackwhite_listing": true,
			"pattern_based_subscription":    true,
			"event_retention":               true,
			"event_history":                 true,
			"subscription_revocation":       true,
			"session_meta_api":              true,
			"subscription_meta_api":         true,
		}},
		"dealer": wamp.Dict{"features": wamp.Dict{
			"progressive_call_results":     true,
			"progressive_call_invocations": true,
			"call_timeout":                 true,
			"call_trustlevels":             true,
			"call_canceling":               true,
			"call_cancelling":              true,
			"caller_identification":        true,
			"pattern_based_registration":   true,
			"shared_registration":          true,
			"registration_revocation":      true,
			"session_meta_api":             true,
			"registration_meta_api":        true,
			"testament_meta_api":           true,
		}},
	}
})

// clientFeature reports whether the client announced a feature for a role
// in HELLO.Details.roles.<role>.features.
func (s *session) clientFeature(role, feature string) bool {
	r, _ := s.roles[role].(wamp.Dict)
	f, _ := r["features"].(wamp.Dict)
	b, _ := f[feature].(bool)
	return b
}
