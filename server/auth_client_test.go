package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/transport/local"
	"github.com/wampkit/wampkit/wamp"
)

// joinGo joins realm with the Go client over an in-process connection.
func joinGo(t testing.TB, r *Router, realm string, cfg *client.Config) (*client.Session, error) {
	t.Helper()
	c, s := local.Pair()
	go r.Serve(s)
	sess, err := client.JoinPeer(t.Context(), c, realm, cfg)
	if err == nil {
		t.Cleanup(func() { sess.Leave(context.Background()) })
	}
	return sess, err
}

func mustJoinGo(t testing.TB, r *Router, realm string, cfg *client.Config) *client.Session {
	t.Helper()
	s, err := joinGo(t, r, realm, cfg)
	if err != nil {
		t.Fatalf("join %s: %v", realm, err)
	}
	return s
}

func wantAuthFailed(t *testing.T, err error) {
	t.Helper()
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrAuthenticationFailed {
		t.Fatalf("join: %v, want %s", err, wamp.ErrAuthenticationFailed)
	}
}

func TestGoClientStaticMethods(t *testing.T) {
	r := newSecureRouter(t, nil)
	for name, tc := range map[string]struct {
		cfg                                    client.Config
		authid, authrole, authmethod, wrongKey string
	}{
		"ticket": {cfg: client.Config{AuthID: "alice", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("alice-ticket")},
			authid: "alice", authrole: "user", authmethod: "ticket"},
		"wampcra": {cfg: client.Config{AuthID: "carol", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("carol-secret")},
			authid: "carol", authrole: "user", authmethod: "wampcra"},
		"wampcra salted": {cfg: client.Config{AuthID: "dave", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("dave-password")},
			authid: "dave", authrole: "admin", authmethod: "wampcra"},
		"cryptosign": {cfg: client.Config{AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(erinKey), OnChallenge: client.CryptosignAuth(erinKey)},
			authid: "erin", authrole: "user", authmethod: "cryptosign"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := tc.cfg
			s := mustJoinGo(t, r, "secure", &cfg)
			d := s.Details()
			if d["authid"] != tc.authid || d["authrole"] != tc.authrole || d["authmethod"] != tc.authmethod || d["authprovider"] != "static" {
				t.Fatalf("WELCOME details %v", d)
			}
		})
	}
	for name, cfg := range map[string]client.Config{
		"ticket":         {AuthID: "alice", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("nope")},
		"wampcra":        {AuthID: "carol", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("nope")},
		"wampcra salted": {AuthID: "dave", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("nope")},
		"cryptosign":     {AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(otherKey), OnChallenge: client.CryptosignAuth(otherKey)},
		// A key that signs for a public key it is not.
		"cryptosign wrong key": {AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(erinKey), OnChallenge: client.CryptosignAuth(otherKey)},
	} {
		t.Run(name+" fails", func(t *testing.T) {
			_, err := joinGo(t, r, "secure", &cfg)
			wantAuthFailed(t, err)
		})
	}
}

// authBackend is a trusted Go backend: it joins realm "app" with
// cryptosign as role "backend" and registers the dynamic authenticators
// and the authorizer.
type authBackend struct {
	mu         sync.Mutex
	authorized []wamp.List // the authorizer's calls
}

var backendKey = seedKey("6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b")

func dynamicRouter(t *testing.T) (*Router, *authBackend) {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	r := newTestRouter(t, Config{Realms: []RealmConfig{
		{
			Name: "app",
			Roles: []RoleConfig{
				{Name: "backend", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}},
				{Name: "user", Permissions: []Permission{{URI: "com.app.", Match: "prefix", Allow: Actions{Call: true}}}},
				{Name: "guest", Authorizer: "com.auth.authorize"},
				{Name: "orphan", Authorizer: "com.auth.nobody"},
			},
			Auth: AuthConfig{
				Cryptosign: &CryptosignAuth{Principals: map[string]CryptosignPrincipal{"backend": {Role: "backend", AuthorizedKeys: []string{pubHex(backendKey)}}}},
				Ticket:     &TicketAuth{Authenticator: "com.auth.ticket"},
				WAMPCRA:    &WAMPCRAAuth{Authenticator: "com.auth.cra"},
			},
		},
		{
			Name:  "keys",
			Roles: []RoleConfig{{Name: "user", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}}},
			Auth:  AuthConfig{Cryptosign: &CryptosignAuth{Authenticator: "com.auth.pubkey", AuthenticatorRealm: "app"}},
		},
	}})
	b := &authBackend{}
	s := mustJoinGo(t, r, "app", &client.Config{AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(backendKey), OnChallenge: client.CryptosignAuth(backendKey)})
	deny := &wamp.Error{URI: "com.auth.no_such_user", Args: wamp.List{"no"}}
	reg := func(proc wamp.URI, h func(inv *client.Invocation) (any, error)) {
		t.Helper()
		_, err := s.Register(t.Context(), proc, func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
			v, err := h(inv)
			if err != nil {
				return nil, err
			}
			return &client.Result{Args: wamp.List{v}}, nil
		})
		if err != nil {
			t.Fatalf("register %s: %v", proc, err)
		}
	}
	reg("com.auth.ticket", func(inv *client.Invocation) (any, error) {
		realm, authid := inv.Args[0], inv.Args[1]
		details := inv.Args[2].(wamp.Dict)
		ticket := details["ticket"]
		// The session's details come with the ticket: frank is admitted
		// only when they are all there.
		transport, _ := details["transport"].(wamp.Dict)
		session, _ := wamp.AsInt(details["session"])
		complete := details["authid"] == authid && details["authmethod"] == "ticket" && session > 0 && transport["type"] != nil
		switch {
		case realm == "app" && authid == "frank" && ticket == "sesame" && !complete:
			return nil, wamp.NewError("com.auth.incomplete_details", fmt.Sprint(details))
		case realm == "app" && authid == "frank" && ticket == "sesame":
			return wamp.Dict{"role": "user", "extra": wamp.Dict{"greeting": "hi frank"}}, nil
		case authid == "gina" && ticket == "guest":
			return "guest", nil
		case authid == "olga" && ticket == "orphan":
			return "orphan", nil
		case authid == "nemo":
			return "no-such-role", nil
		}
		return nil, deny
	})
	ivyKey, _ := client.DeriveCRAKey("ivy-password", "ivy-salt", 100, 32)
	reg("com.auth.cra", func(inv *client.Invocation) (any, error) {
		switch inv.Args[1] {
		case "hank":
			return wamp.Dict{"secret": "hank-secret", "role": "user", "authid": "hank@example.com"}, nil
		case "ivy":
			return wamp.Dict{"secret": ivyKey, "salt": "ivy-salt", "iterations": int64(100), "keylen": int64(32), "role": "user"}, nil
		}
		return nil, deny
	})
	reg("com.auth.pubkey", func(inv *client.Invocation) (any, error) {
		details := inv.Args[2].(wamp.Dict)
		pk := details["authextra"].(wamp.Dict)["pubkey"]
		if inv.Args[0] == "keys" && pk == pubHex(erinKey) {
			return wamp.Dict{"pubkey": pk, "role": "user", "authid": "erin-by-key"}, nil
		}
		if pk == pubHex(otherKey) { // a buggy authenticator: another key
			return wamp.Dict{"pubkey": pubHex(erinKey), "role": "user"}, nil
		}
		return nil, deny
	})
	reg("com.auth.authorize", func(inv *client.Invocation) (any, error) {
		b.mu.Lock()
		b.authorized = append(b.authorized, inv.Args)
		b.mu.Unlock()
		uri, action := inv.Args[1], inv.Args[2]
		switch {
		case uri == "com.app.open" && action == "call":
			return wamp.Dict{"allow": true, "cache": true, "disclose": true}, nil
		case uri == "com.app.feed" && action == "subscribe":
			return true, nil
		}
		return false, nil
	})
	reg("com.app.open", func(inv *client.Invocation) (any, error) { return inv.Details["caller_authid"], nil })
	reg("com.app.closed", func(inv *client.Invocation) (any, error) { return "closed", nil })
	return r, b
}

func TestDynamicTicket(t *testing.T) {
	r, _ := dynamicRouter(t)
	s := mustJoinGo(t, r, "app", &client.Config{AuthID: "frank", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("sesame")})
	d := s.Details()
	extra, _ := d["authextra"].(wamp.Dict)
	if d["authid"] != "frank" || d["authrole"] != "user" || d["authmethod"] != "ticket" || d["authprovider"] != "dynamic" || extra["greeting"] != "hi frank" {
		t.Fatalf("WELCOME details %v", d)
	}
	if _, err := s.Call(t.Context(), "com.app.closed", nil, nil); err != nil {
		t.Fatalf("user calls com.app.closed: %v", err)
	}
	_, err := joinGo(t, r, "app", &client.Config{AuthID: "frank", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("wrong")})
	wantAuthFailed(t, err)

	_, err = joinGo(t, r, "app", &client.Config{AuthID: "nemo", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("x")})
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNoSuchRole {
		t.Fatalf("a principal with an unknown role joined: %v", err)
	}
}

func TestDynamicWAMPCRA(t *testing.T) {
	r, _ := dynamicRouter(t)
	s := mustJoinGo(t, r, "app", &client.Config{AuthID: "hank", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("hank-secret")})
	if d := s.Details(); d["authid"] != "hank@example.com" || d["authrole"] != "user" || d["authprovider"] != "dynamic" {
		t.Fatalf("WELCOME details %v", d)
	}
	mustJoinGo(t, r, "app", &client.Config{AuthID: "ivy", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("ivy-password")})
	for _, cfg := range []client.Config{
		{AuthID: "hank", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("wrong")},
		{AuthID: "ivy", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("wrong")},
		{AuthID: "nobody", AuthMethods: []string{"wampcra"}, OnChallenge: client.CRAAuth("x")},
	} {
		_, err := joinGo(t, r, "app", &cfg)
		wantAuthFailed(t, err)
	}
}

func TestDynamicCryptosignInAnotherRealm(t *testing.T) {
	r, _ := dynamicRouter(t)
	join := func(k ed25519.PrivateKey) (*client.Session, error) {
		return joinGo(t, r, "keys", &client.Config{AuthMethods: []string{"cryptosign"}, AuthExtra: client.CryptosignAuthExtra(k), OnChallenge: client.CryptosignAuth(k)})
	}
	s, err := join(erinKey)
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Details(); d["authid"] != "erin-by-key" || d["authrole"] != "user" || d["authprovider"] != "dynamic" {
		t.Fatalf("WELCOME details %v", d)
	}
	_, err = join(backendKey) // the authenticator refuses it
	wantAuthFailed(t, err)
	_, err = join(otherKey) // the authenticator returns another key
	wantAuthFailed(t, err)
}

func TestDynamicAuthorizer(t *testing.T) {
	r, b := dynamicRouter(t)
	s := mustJoinGo(t, r, "app", &client.Config{AuthID: "gina", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("guest")})
	for range 2 {
		res, err := s.Call(t.Context(), "com.app.open", nil, nil)
		if err != nil {
			t.Fatalf("guest calls com.app.open: %v", err)
		}
		if res.Args[0] != "gina" {
			t.Fatalf("callee saw caller_authid %v: the authorizer's disclose was not applied", res.Args[0])
		}
	}
	_, err := s.Call(t.Context(), "com.app.closed", nil, nil)
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNotAuthorized {
		t.Fatalf("guest calls com.app.closed: %v", err)
	}
	if _, err := s.Subscribe(t.Context(), "com.app.feed", func(*client.Event) {}); err != nil {
		t.Fatalf("guest subscribes com.app.feed: %v", err)
	}
	err = s.Publish(t.Context(), "com.app.feed", nil, nil, client.Acknowledge())
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrNotAuthorized {
		t.Fatalf("guest publishes: %v", err)
	}

	b.mu.Lock()
	calls := b.authorized
	b.mu.Unlock()
	// com.app.open was asked once (then cached), com.app.closed,
	// com.app.feed twice (subscribe, publish).
	if len(calls) != 4 {
		t.Fatalf("authorizer called %d times: %v", len(calls), calls)
	}
	details := calls[0][0].(wamp.Dict)
	if details["authid"] != "gina" || details["authrole"] != "guest" || details["session"] != int64(s.ID()) || calls[0][1] != "com.app.open" || calls[0][2] != "call" {
		t.Fatalf("authorizer's arguments %v", calls[0])
	}

	// A role whose authorizer nobody registered can do nothing.
	o := mustJoinGo(t, r, "app", &client.Config{AuthID: "olga", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("orphan")})
	_, err = o.Call(t.Context(), "com.app.open", nil, nil)
	if e, ok := errors.AsType[*wamp.Error](err); !ok || e.URI != wamp.ErrAuthorizationFailed {
		t.Fatalf("call with a missing authorizer: %v", err)
	}
}

func TestDynamicAuthenticatorUnavailable(t *testing.T) {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	r := newTestRouter(t, Config{Realms: []RealmConfig{{
		Name:  "app",
		Roles: []RoleConfig{{Name: "user", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}}},
		Auth:  AuthConfig{Ticket: &TicketAuth{Authenticator: "com.auth.ticket"}},
	}}})
	_, err := joinGo(t, r, "app", &client.Config{AuthID: "frank", AuthMethods: []string{"ticket"}, OnChallenge: client.TicketAuth("sesame")})
	e, ok := errors.AsType[*wamp.Error](err)
	if !ok || e.URI != wamp.ErrAuthenticationFailed || e.Args[0] != "authentication is unavailable" {
		t.Fatalf("join without an authenticator: %v", err)
	}
}
