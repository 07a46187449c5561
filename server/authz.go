package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/wampkit/wampkit/wamp"
)

// Authorization: each action a session asks for (call, register, publish,
// subscribe) is judged by its role's rules before it takes effect; see
// admit.go. A realm with no roles configured allows everything, as a
// router without authorization does.

// The four actions.
const (
	actionCall      = "call"
	actionRegister  = "register"
	actionPublish   = "publish"
	actionSubscribe = "subscribe"
)

// authz holds a realm's roles.
type authz struct {
	open  bool // no roles configured: everything is allowed
	roles map[string]*role
}

// role is one role's compiled rules: a permission table, or a dynamic
// authorizer.
type role struct {
	name       string
	perms      *uriTable[*Permission]
	authorizer wamp.URI
	trustLevel *int
}

// decision is the outcome of an authorization.
type decision struct {
	allow    bool
	disclose bool // disclose the caller or publisher
}

// maxAuthzCache bounds the cached dynamic decisions of one session.
const maxAuthzCache = 1024

// authzKey is a cached dynamic decision's action and URI.
type authzKey struct {
	action string
	uri    wamp.URI
}

func newAuthz(roles []RoleConfig) *authz {
	a := &authz{open: len(roles) == 0, roles: make(map[string]*role, len(roles))}
	for _, rc := range roles {
		ro := &role{name: rc.Name, perms: newURITable[*Permission](), authorizer: rc.Authorizer, trustLevel: rc.TrustLevel}
		for i := range rc.Permissions {
			p := &rc.Permissions[i]
			ro.perms.put(p.URI, cmpOr(p.Match, wamp.MatchExact), p)
		}
		a.roles[rc.Name] = ro
	}
	return a
}

// trustLevel returns the trust level of the calls of authrole's sessions.
func (a *authz) trustLevel(authrole string) (int, bool) {
	if ro := a.roles[authrole]; ro != nil && ro.trustLevel != nil {
		return *ro.trustLevel, true
	}
	return 0, false
}

// hasRole tells whether a session may join under authrole.
func (a *authz) hasRole(authrole string) bool {
	return a.open || a.roles[authrole] != nil
}

// authorize judges one action of s on uri (a URI, or the pattern of a
// subscription or registration), with the action's options for a dynamic
// authorizer.
func (r *realm) authorize(s *session, action string, uri wamp.URI, options wamp.Dict) (decision, *wamp.Error) {
	if s.internal || r.authz.open {
		return decision{allow: true}, nil
	}
	ro := r.authz.roles[s.authrole]
	if ro == nil {
		return decision{}, notAuthorized(s, action, uri)
	}
	if ro.authorizer != "" {
		return r.authorizeDynamic(s, ro, action, uri, options)
	}
	p, ok := ro.perms.best(uri)
	if !ok {
		return decision{}, notAuthorized(s, action, uri)
	}
	var allow, disclose bool
	switch action {
	case actionCall:
		allow, disclose = p.Allow.Call, p.Disclose.Caller
	case actionRegister:
		allow = p.Allow.Register
	case actionPublish:
		allow, disclose = p.Allow.Publish, p.Disclose.Publisher
	case actionSubscribe:
		allow = p.Allow.Subscribe
	}
	if !allow {
		return decision{}, notAuthorized(s, action, uri)
	}
	return decision{allow: true, disclose: disclose}, nil
}

func notAuthorized(s *session, action string, uri wamp.URI) *wamp.Error {
	return wamp.NewError(wamp.ErrNotAuthorized, fmt.Sprintf("role %q may not %s %q", s.authrole, action, uri))
}

// authorizeDynamic asks the role's authorizer, through the realm's dealer,
// with (session details, uri, action, options). The session's reader waits
// for the answer, so that its actions keep their order; AuthorizerTimeout
// bounds the wait.
func (r *realm) authorizeDynamic(s *session, ro *role, action string, uri wamp.URI, options wamp.Dict) (decision, *wamp.Error) {
	k := authzKey{action, uri}
	s.authzMu.Lock()
	d, cached := s.authzCache[k]
	s.authzMu.Unlock()
	if cached {
		if !d.allow {
			return d, notAuthorized(s, action, uri)
		}
		return d, nil
	}
	if options == nil {
		options = wamp.Dict{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.router.cfg.AuthorizerTimeout)
	defer cancel()
	args, _, err := r.caller().call(ctx, ro.authorizer, wamp.List{s.info(), string(uri), action, options})
	if err != nil {
		if e, ok := errors.AsType[*wamp.Error](err); !ok || unavailable(e.URI) {
			s.logger().Warn("dynamic authorizer unavailable: action refused", "role", ro.name, "procedure", string(ro.authorizer), "err", err)
		}
		return decision{}, wamp.NewError(wamp.ErrAuthorizationFailed, fmt.Sprintf("the authorizer of role %q failed: %v", ro.name, err))
	}
	var cache bool
	if len(args) > 0 {
		switch v := args[0].(type) {
		case bool:
			d.allow = v
		case wamp.Dict:
			d.allow, _ = v["allow"].(bool)
			d.disclose, _ = v["disclose"].(bool)
			cache, _ = v["cache"].(bool)
		}
	}
	if cache {
		s.authzMu.Lock()
		if len(s.authzCache) >= maxAuthzCache || s.authzCache == nil {
			s.authzCache = make(map[authzKey]decision)
		}
		s.authzCache[k] = d
		s.authzMu.Unlock()
	}
	if !d.allow {
		return d, notAuthorized(s, action, uri)
	}
	return d, nil
}
