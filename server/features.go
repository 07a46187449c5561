package server

import "github.com/wampkit/wampkit/wamp"

// routerRoles is WELCOME.Details.roles: the roles of the router and exactly
// the features it implements.
func routerRoles() wamp.Dict {
	return wamp.Dict{
		"broker": wamp.Dict{"features": wamp.Dict{
			"publisher_exclusion": true,
		}},
		"dealer": wamp.Dict{"features": wamp.Dict{}},
	}
}

// clientFeature reports whether the client announced a feature for a role
// in HELLO.Details.roles.<role>.features.
func (s *session) clientFeature(role, feature string) bool {
	r, _ := s.roles[role].(wamp.Dict)
	f, _ := r["features"].(wamp.Dict)
	b, _ := f[feature].(bool)
	return b
}
