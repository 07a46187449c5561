package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
)

// authorizerLog records a dynamic authorizer's calls: uri, action and
// options.match of each.
type authorizerLog struct {
	mu    sync.Mutex
	calls [][3]any
}

func (l *authorizerLog) count(uri, action string, match any) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c == [3]any{uri, action, match} {
			n++
		}
	}
	return n
}

// dynamicAuthzRouter has realm "dyn" whose anonymous sessions get role
// guest, decided by the authorizer com.auth.authorize of the ticket user
// backend; the authorizer takes longer than AuthorizerTimeout for
// com.app.slow.
func dynamicAuthzRouter(t *testing.T) (*Router, *authorizerLog) {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	r := newTestRouter(t, Config{
		AuthorizerTimeout: 200 * time.Millisecond,
		Realms: []RealmConfig{{
			Name: "dyn",
			Roles: []RoleConfig{
				{Name: "backend", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}},
				{Name: "guest", Authorizer: "com.auth.authorize"},
			},
			Auth: AuthConfig{
				Anonymous: &AnonymousAuth{Role: "guest"},
				Ticket:    &TicketAuth{Principals: map[string]TicketPrincipal{"backend": {Role: "backend", Ticket: "backend"}}},
			},
		}},
	})
	log := &authorizerLog{}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	b := mustJoinGo(t, r, "dyn", &client.Config{AuthID: "backend", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("backend")})
	_, err := b.Register(t.Context(), "com.auth.authorize", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		uri, action := inv.Args[1], inv.Args[2]
		match := inv.Args[3].(wamp.Dict)["match"]
		log.mu.Lock()
		log.calls = append(log.calls, [3]any{uri, action, match})
		log.mu.Unlock()
		var answer any = false
		switch [3]any{uri, action, match} {
		case [3]any{"com.app.svc", "register", "exact"}, [3]any{"com.app.", "subscribe", "prefix"}:
			answer = true
		case [3]any{"com.app.feed", "subscribe", "exact"}:
			answer = wamp.Dict{"allow": true, "cache": true}
		}
		if uri == "com.app.slow" {
			select { // late, whether the router cancels the call or not
			case <-ctx.Done():
			case <-release:
			}
			answer = true
		}
		return &client.Result{Args: wamp.List{answer}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, log
}

func TestDynamicAuthorizerPatternsAndRegister(t *testing.T) {
	r, log := dynamicAuthzRouter(t)
	g := joinWith(t, r, "dyn", allRoles)
	ok, no := wamp.URI(""), wamp.ErrNotAuthorized
	for _, tc := range []struct {
		action string
		uri    wamp.URI
		opts   wamp.Dict
		want   wamp.URI
		match  string // as the authorizer must see it
	}{
		{actionRegister, "com.app.svc", nil, ok, "exact"},
		{actionRegister, "com.app.svc", prefix, no, "prefix"},
		{actionRegister, "com.app.other", nil, no, "exact"},
		{actionSubscribe, "com.app.", prefix, ok, "prefix"},
		{actionSubscribe, "com.app.", wildcard, no, "wildcard"},
		// An allowed and cached exact subscription does not answer for
		// a pattern of the same string.
		{actionSubscribe, "com.app.feed", nil, ok, "exact"},
		{actionSubscribe, "com.app.feed", prefix, no, "prefix"},
	} {
		if got := g.try(tc.action, tc.uri, tc.opts); got != tc.want {
			t.Errorf("guest %s %q %v: %q, want %q", tc.action, tc.uri, tc.opts, got, tc.want)
		}
		if n := log.count(string(tc.uri), tc.action, tc.match); n != 1 {
			t.Errorf("the authorizer was asked %d times about %s %q with match %q, want once", n, tc.action, tc.uri, tc.match)
		}
	}
	// The cached answer serves the exact subscription again.
	if got := g.try(actionSubscribe, "com.app.feed", wamp.Dict{"match": "exact"}); got != ok {
		t.Fatalf("cached subscribe: %q", got)
	}
	if n := log.count("com.app.feed", "subscribe", "exact"); n != 1 {
		t.Fatalf("the authorizer was asked %d times about the cached subscription", n)
	}

	// The registration works: a call reaches the guest.
	caller := mustJoinGo(t, r, "dyn", &client.Config{AuthID: "backend", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("backend")})
	done := make(chan error, 1)
	go func() {
		_, err := caller.Call(t.Context(), "com.app.svc", wamp.List{"ping"}, nil)
		done <- err
	}()
	inv := g.invocation("ping")
	g.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	if err := <-done; err != nil {
		t.Fatalf("call to the guest's registration: %v", err)
	}
}

func TestDynamicAuthorizerTimeout(t *testing.T) {
	r, log := dynamicAuthzRouter(t)
	g := joinWith(t, r, "dyn", allRoles)
	for _, action := range []string{actionCall, actionSubscribe, actionRegister} {
		start := time.Now()
		if got := g.try(action, "com.app.slow", nil); got != wamp.ErrAuthorizationFailed {
			t.Fatalf("%s with a late authorizer: %q, want %q", action, got, wamp.ErrAuthorizationFailed)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
			t.Fatalf("%s refused after %v, want about the AuthorizerTimeout, 200ms", action, d)
		}
	}
	if n := log.count("com.app.slow", "call", nil); n != 1 {
		t.Fatalf("the authorizer was asked %d times about the call", n)
	}
	// The session goes on.
	if got := g.try(actionSubscribe, "com.app.", prefix); got != "" {
		t.Fatalf("subscribe after the timeouts: %q", got)
	}
}
