package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// carveOut, for an allowed pattern subscription or registration, is
	// a narrower permission that refuses the action on some of the URIs
	// the pattern covers; nil when there is none.
	carveOut *Permission
}

// maxAuthzCache bounds the cached dynamic decisions of one session.
const maxAuthzCache = 1024

// authzKey is a cached dynamic decision's action, URI and match policy.
type authzKey struct {
	action string
	uri    wamp.URI
	match  string
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
// subscription or registration, whose match policy options holds), with
// the action's options for a dynamic authorizer.
//
// A concrete URI is judged by the permission that matches it best. A
// pattern needs a prefix or wildcard permission that covers every URI the
// pattern matches and allows the action (an exact permission covers no
// pattern); the most specific such permission decides. A narrower
// permission that refuses the action on part of the pattern is reported
// as the decision's carveOut: the broker then checks each event's topic
// against the role before it delivers it (see mayReceive), and a
// registration is refused.
func (r *realm) authorize(s *session, action string, uri wamp.URI, options wamp.Dict) (decision, *wamp.Error) {
	if s.internal || r.authz.open {
		return decision{allow: true}, nil
	}
	ro := r.authz.roles[s.authrole]
	if ro == nil {
		return decision{}, notAuthorized(s, action, uri)
	}
	match := wamp.MatchExact
	if action == actionSubscribe || action == actionRegister {
		match, _ = matchOption(options) // validated by the broker or dealer
	}
	if ro.authorizer != "" {
		return r.authorizeDynamic(s, ro, action, uri, match, options)
	}
	var p *Permission
	var ok bool
	var d decision
	if match == wamp.MatchExact {
		p, ok = ro.perms.best(uri)
	} else {
		p, d.carveOut = ro.patternGrant(action, uri, match)
		ok = p != nil
	}
	if !ok {
		return decision{}, notAuthorized(s, action, uri)
	}
	d.allow, d.disclose = p.allows(action)
	if !d.allow {
		return decision{}, notAuthorized(s, action, uri)
	}
	return d, nil
}

// allows tells whether p allows action, and whether it discloses the
// acting session.
func (p *Permission) allows(action string) (allow, disclose bool) {
	switch action {
	case actionCall:
		return p.Allow.Call, p.Disclose.Caller
	case actionRegister:
		return p.Allow.Register, false
	case actionPublish:
		return p.Allow.Publish, p.Disclose.Publisher
	case actionSubscribe:
		return p.Allow.Subscribe, false
	}
	return false, false
}

// mayReceive tells whether the role of s may subscribe to the concrete
// topic: the check of each event that a pattern subscription with a
// carve-out would deliver to s.
func (r *realm) mayReceive(s *session, topic wamp.URI) bool {
	ro := r.authz.roles[s.authrole]
	if ro == nil {
		return false
	}
	p, ok := ro.perms.best(topic)
	return ok && p.Allow.Subscribe
}

// patternGrant finds the permission that decides action on a pattern: the
// most specific one that covers every URI the pattern matches, nil if
// none does. carveOut is a narrower permission that wins over it on some
// of those URIs and refuses the action, nil if none does.
func (ro *role) patternGrant(action string, pattern wamp.URI, match string) (base, carveOut *Permission) {
	ro.perms.each(func(m string, p *Permission) {
		if covers(p.URI, m, pattern, match) && (base == nil || moreSpecific(p.URI, m, base.URI, cmpOr(base.Match, wamp.MatchExact))) {
			base = p
		}
	})
	if base == nil {
		return nil, nil
	}
	baseMatch := cmpOr(base.Match, wamp.MatchExact)
	ro.perms.each(func(m string, p *Permission) {
		if carveOut != nil || p == base {
			return
		}
		if allow, _ := p.allows(action); allow {
			return
		}
		if moreSpecific(p.URI, m, base.URI, baseMatch) && intersects(p.URI, m, pattern, match) {
			carveOut = p
		}
	})
	return base, carveOut
}

// covers tells whether permission pattern pu (match pm) matches every URI
// that pattern su (match sm, prefix or wildcard) matches.
func covers(pu wamp.URI, pm string, su wamp.URI, sm string) bool {
	switch pm {
	case wamp.MatchPrefix:
		if sm == wamp.MatchWildcard {
			su = literalPrefix(su)
		}
		return strings.HasPrefix(string(su), string(pu))
	case wamp.MatchWildcard:
		if sm != wamp.MatchWildcard {
			return false // a prefix pattern matches URIs of every length
		}
		pc, sc := strings.Split(string(pu), "."), strings.Split(string(su), ".")
		if len(pc) != len(sc) {
			return false
		}
		for i := range pc {
			if pc[i] != "" && pc[i] != sc[i] {
				return false
			}
		}
		return true
	}
	return false
}

// literalPrefix is what every URI that wildcard pattern w matches starts
// with: its components up to the first wildcard one, each with its dot.
func literalPrefix(w wamp.URI) wamp.URI {
	if strings.HasPrefix(string(w), ".") {
		return ""
	}
	if i := strings.Index(string(w), ".."); i >= 0 {
		return w[:i+1]
	}
	return w // a trailing dot ends it before the wildcard; no dot, no wildcard
}

// moreSpecific tells whether permission pattern a (match am) wins over b
// (match bm) on every URI both match, by the precedence of uriTable.best.
func moreSpecific(a wamp.URI, am string, b wamp.URI, bm string) bool {
	switch {
	case am == wamp.MatchExact:
		return bm != wamp.MatchExact
	case bm == wamp.MatchExact:
		return false
	case am == wamp.MatchPrefix && bm == wamp.MatchPrefix:
		return len(a) > len(b)
	case am == wamp.MatchPrefix:
		return true
	case bm == wamp.MatchPrefix:
		return false
	}
	// Two wildcards matching one URI have as many components; the first
	// component concrete in one and not in the other decides.
	ac, bc := strings.Split(string(a), "."), strings.Split(string(b), ".")
	for i := range min(len(ac), len(bc)) {
		if (ac[i] == "") != (bc[i] == "") {
			return ac[i] != ""
		}
	}
	return false
}

// intersects tells whether some URI matches both permission pattern pu
// (match pm) and pattern su (match sm, prefix or wildcard).
func intersects(pu wamp.URI, pm string, su wamp.URI, sm string) bool {
	switch {
	case pm == wamp.MatchExact:
		return patternMatches(su, sm, pu)
	case pm == wamp.MatchPrefix && sm == wamp.MatchPrefix:
		return strings.HasPrefix(string(su), string(pu)) || strings.HasPrefix(string(pu), string(su))
	case pm == wamp.MatchPrefix:
		return prefixMeetsWildcard(pu, su)
	case sm == wamp.MatchPrefix:
		return prefixMeetsWildcard(su, pu)
	}
	pc, sc := strings.Split(string(pu), "."), strings.Split(string(su), ".")
	if len(pc) != len(sc) {
		return false
	}
	for i := range pc {
		if pc[i] != "" && sc[i] != "" && pc[i] != sc[i] {
			return false
		}
	}
	return true
}

// prefixMeetsWildcard tells whether some URI that wildcard pattern w
// matches starts with prefix.
func prefixMeetsWildcard(prefix, w wamp.URI) bool {
	pc, wc := strings.Split(string(prefix), "."), strings.Split(string(w), ".")
	if len(pc) > len(wc) {
		return false
	}
	for i, c := range pc {
		if i == len(pc)-1 { // the last one may end mid-component
			return wc[i] == "" || strings.HasPrefix(wc[i], c)
		}
		if c == "" || wc[i] != "" && c != wc[i] {
			return false
		}
	}
	return true
}

func notAuthorized(s *session, action string, uri wamp.URI) *wamp.Error {
	return wamp.NewError(wamp.ErrNotAuthorized, fmt.Sprintf("role %q may not %s %q", s.authrole, action, uri))
}

// authorizeDynamic asks the role's authorizer, through the realm's dealer,
// with (session details, uri, action, options). The session's reader waits
// for the answer, so that its actions keep their order; AuthorizerTimeout
// bounds the wait. For a subscription or registration, options always
// hold "match": the authorizer decides for the whole pattern.
func (r *realm) authorizeDynamic(s *session, ro *role, action string, uri wamp.URI, match string, options wamp.Dict) (decision, *wamp.Error) {
	k := authzKey{action, uri, match}
	s.authzMu.Lock()
	d, cached := s.authzCache[k]
	s.authzMu.Unlock()
	if cached {
		if !d.allow {
			return d, notAuthorized(s, action, uri)
		}
		return d, nil
	}
	opts := make(wamp.Dict, len(options)+1)
	for k, v := range options {
		opts[k] = v
	}
	if action == actionSubscribe || action == actionRegister {
		opts["match"] = match
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.router.cfg.AuthorizerTimeout)
	defer cancel()
	args, _, err := r.caller().call(ctx, ro.authorizer, wamp.List{s.info(), string(uri), action, opts})
	if err != nil {
		if e, ok := errors.AsType[*wamp.Error](err); !ok || unavailable(e.URI) {
			s.logWarn("dynamic authorizer unavailable: action refused", "role", ro.name, "procedure", string(ro.authorizer), "err", err)
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
