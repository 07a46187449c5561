package server

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// remote is a documentation address: a network peer that is not loopback.
const remote = "203.0.113.7:50000"

// netPeer presents a local peer as a WebSocket connection from addr, over
// TLS or not.
type netPeer struct {
	transport.Peer
	addr string
	tls  bool
}

func (p netPeer) Info() transport.Info {
	return transport.Info{Transport: "websocket", Serializer: "json", RemoteAddr: p.addr, TLS: p.tls}
}

// dialFrom connects to r as a network peer from addr.
func dialFrom(t testing.TB, r *Router, addr string, tls bool) *rawClient {
	t.Helper()
	return connectWrapped(t, r, func(p transport.Peer) transport.Peer { return netPeer{p, addr, tls} })
}

// hello sends HELLO with authentication details.
func (c *rawClient) hello(realm wamp.URI, authid string, methods []string, extra wamp.Dict) {
	c.t.Helper()
	d := wamp.Dict{"roles": allRoles}
	if authid != "" {
		d["authid"] = authid
	}
	if methods != nil {
		l := wamp.List{}
		for _, m := range methods {
			l = append(l, m)
		}
		d["authmethods"] = l
	}
	if extra != nil {
		d["authextra"] = extra
	}
	c.send(&wamp.Hello{Realm: realm, Details: d})
}

// welcome expects WELCOME, checks its identity and records the session.
func (c *rawClient) welcome(authid, authrole, authmethod, authprovider string) *wamp.Welcome {
	c.t.Helper()
	w := expect[*wamp.Welcome](c)
	d := w.Details
	if (authid != "" && d["authid"] != authid) || d["authrole"] != authrole || d["authmethod"] != authmethod || d["authprovider"] != authprovider {
		c.t.Fatalf("WELCOME %v, want authid %q authrole %q authmethod %q authprovider %q", d, authid, authrole, authmethod, authprovider)
	}
	c.id = w.Session
	return w
}

// challenge expects CHALLENGE for method.
func (c *rawClient) challenge(method string) *wamp.Challenge {
	c.t.Helper()
	ch := expect[*wamp.Challenge](c)
	if ch.AuthMethod != method {
		c.t.Fatalf("CHALLENGE for %q, want %q", ch.AuthMethod, method)
	}
	return ch
}

// authFailed expects ABORT wamp.error.authentication_failed with msg.
func (c *rawClient) authFailed(msg string) {
	c.t.Helper()
	a := c.expectAbort(wamp.ErrAuthenticationFailed)
	if got, _ := a.Details["message"].(string); !strings.Contains(got, msg) {
		c.t.Fatalf("ABORT message %q, want %q", got, msg)
	}
}

// Test keys: Ed25519 seeds from the cryptosign test vectors.
var (
	erinKey  = seedKey("4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510")
	otherKey = seedKey("d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd")
)

func seedKey(h string) ed25519.PrivateKey {
	seed, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func pubHex(k ed25519.PrivateKey) string { return hex.EncodeToString(k.Public().(ed25519.PublicKey)) }

// deriveCRA is Autobahn's derive_key, computed here independently of the
// router and the Go client.
func deriveCRA(password, salt string, iterations, keylen int) string {
	k, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, keylen)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signCS answers a cryptosign challenge: signature then message, hex.
func signCS(k ed25519.PrivateKey, ch *wamp.Challenge) string {
	msg, _ := hex.DecodeString(ch.Extra["challenge"].(string))
	return hex.EncodeToString(append(ed25519.Sign(k, msg), msg...))
}

// bobHash is bob's ticket hash, computed once: each costs a derivation.
var bobHash = sync.OnceValue(func() string { return HashTicket("bob-ticket") })

// secureRealm is a realm with every static method and three roles.
func secureRealm() RealmConfig {
	all := Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	return RealmConfig{
		Name: "secure",
		Roles: []RoleConfig{
			{Name: "anonymous", Permissions: []Permission{{URI: "com.app.news", Allow: Actions{Subscribe: true}}}},
			{Name: "user", Permissions: []Permission{{URI: "com.app.", Match: "prefix", Allow: all}}},
			{Name: "admin", Permissions: []Permission{{URI: "", Match: "prefix", Allow: all}}},
		},
		Auth: AuthConfig{
			Anonymous: &AnonymousAuth{},
			Ticket: &TicketAuth{Principals: map[string]TicketPrincipal{
				"alice": {Role: "user", Ticket: "alice-ticket"},
				"bob":   {Role: "admin", TicketHash: bobHash()},
			}},
			WAMPCRA: &WAMPCRAAuth{Users: map[string]CRAUser{
				"carol": {Role: "user", Secret: "carol-secret"},
				"dave":  {Role: "admin", Secret: deriveCRA("dave-password", "salt123", 1000, 32), Salt: "salt123", Iterations: 1000, KeyLen: 32},
			}},
			Cryptosign: &CryptosignAuth{Principals: map[string]CryptosignPrincipal{
				"erin": {Role: "user", AuthorizedKeys: []string{pubHex(erinKey)}},
			}},
		},
	}
}

func newSecureRouter(t *testing.T, mod func(*Config)) *Router {
	t.Helper()
	cfg := Config{Realms: []RealmConfig{secureRealm()}}
	if mod != nil {
		mod(&cfg)
	}
	return newTestRouter(t, cfg)
}

func TestTicket(t *testing.T) {
	r := newSecureRouter(t, nil)
	ticket := func(c *rawClient, authid, ticket string) {
		c.hello("secure", authid, []string{"ticket"}, nil)
		ch := c.challenge("ticket")
		if len(ch.Extra) != 0 {
			t.Fatalf("ticket CHALLENGE extra %v, want empty", ch.Extra)
		}
		c.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
	}

	t.Run("plain on loopback", func(t *testing.T) {
		c := dialFrom(t, r, "127.0.0.1:40000", false)
		ticket(c, "alice", "alice-ticket")
		c.welcome("alice", "user", "ticket", "static")
	})
	t.Run("hashed over TLS", func(t *testing.T) {
		c := dialFrom(t, r, remote, true)
		ticket(c, "bob", "bob-ticket")
		c.welcome("bob", "admin", "ticket", "static")
	})
	t.Run("wrong ticket", func(t *testing.T) {
		c := connect(t, r)
		ticket(c, "bob", "alice-ticket")
		c.authFailed("authentication failed")
	})
	t.Run("unknown user goes the same way", func(t *testing.T) {
		c := connect(t, r)
		ticket(c, "mallory", "alice-ticket")
		c.authFailed("authentication failed")
	})
	t.Run("refused in clear", func(t *testing.T) {
		c := dialFrom(t, r, remote, false)
		c.hello("secure", "alice", []string{"ticket"}, nil)
		c.authFailed("neither TLS nor loopback") // at once: no CHALLENGE
	})
	t.Run("allowed in clear when configured", func(t *testing.T) {
		r := newSecureRouter(t, func(c *Config) { c.Realms[0].Auth.Ticket.AllowInsecure = true })
		c := dialFrom(t, r, remote, false)
		ticket(c, "alice", "alice-ticket")
		c.welcome("alice", "user", "ticket", "static")
	})
}

func TestTicketHash(t *testing.T) {
	h := HashTicket("s3cret")
	p, err := parseTicketHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if p.iterations != TicketHashIterations || len(p.salt) != 16 || len(p.key) != 32 {
		t.Fatalf("hash %q parsed as %+v", h, p)
	}
	if !p.matches("s3cret") || p.matches("s3cret ") {
		t.Fatal("hash does not tell the ticket from another")
	}
	// PBKDF2's HMAC pads a short key with zeros: without a check, these
	// would derive the same key as "s3cret" (found by FuzzAuthVerify).
	for _, padded := range []string{"s3cret\x00", "s3cret\x00\x00\x00"} {
		if p.matches(padded) {
			t.Errorf("the hash of s3cret matches %q", padded)
		}
	}
	if h == HashTicket("s3cret") {
		t.Fatal("two hashes of one ticket are equal: no random salt")
	}
	for _, bad := range []string{"s3cret", "pbkdf2-sha256$0$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "pbkdf2-sha256$1000$!!$AAAA", "md5$1$a$b"} {
		if _, err := parseTicketHash(bad); err == nil {
			t.Errorf("parseTicketHash(%q) accepted", bad)
		}
	}
}

func TestWAMPCRA(t *testing.T) {
	r := newSecureRouter(t, nil)
	challenge := func(c *rawClient, authid string) (*wamp.Challenge, craChallenge) {
		c.t.Helper()
		c.hello("secure", authid, []string{"wampcra"}, nil)
		ch := c.challenge("wampcra")
		var cc craChallenge
		if err := json.Unmarshal([]byte(ch.Extra["challenge"].(string)), &cc); err != nil {
			t.Fatalf("challenge is not JSON: %v", err)
		}
		return ch, cc
	}

	t.Run("unsalted", func(t *testing.T) {
		c := connect(t, r)
		ch, cc := challenge(c, "carol")
		if _, salted := ch.Extra["salt"]; salted {
			t.Fatalf("unsalted user's CHALLENGE has a salt: %v", ch.Extra)
		}
		if cc.AuthID != "carol" || cc.AuthRole != "user" || cc.AuthMethod != "wampcra" || cc.AuthProvider != "static" || len(cc.Nonce) < 16 {
			t.Fatalf("challenge %+v", cc)
		}
		if ts, err := time.Parse("2006-01-02T15:04:05.000Z", cc.Timestamp); err != nil || time.Since(ts) > time.Minute {
			t.Fatalf("timestamp %q: %v", cc.Timestamp, err)
		}
		c.send(&wamp.Authenticate{Signature: hmacB64("carol-secret", ch.Extra["challenge"].(string))})
		w := c.welcome("carol", "user", "wampcra", "static")
		if int64(w.Session) != cc.Session {
			t.Fatalf("challenge for session %d, WELCOME %d", cc.Session, w.Session)
		}
	})
	t.Run("salted", func(t *testing.T) {
		c := connect(t, r)
		ch, _ := challenge(c, "dave")
		if ch.Extra["salt"] != "salt123" || ch.Extra["iterations"] != int64(1000) || ch.Extra["keylen"] != int64(32) {
			t.Fatalf("salted CHALLENGE extra %v", ch.Extra)
		}
		key := deriveCRA("dave-password", "salt123", 1000, 32)
		c.send(&wamp.Authenticate{Signature: hmacB64(key, ch.Extra["challenge"].(string))})
		c.welcome("dave", "admin", "wampcra", "static")
	})
	t.Run("wrong secret", func(t *testing.T) {
		c := connect(t, r)
		ch, _ := challenge(c, "carol")
		c.send(&wamp.Authenticate{Signature: hmacB64("carol-secreT", ch.Extra["challenge"].(string))})
		c.authFailed("authentication failed")
	})
	t.Run("unknown user fails like a wrong secret", func(t *testing.T) {
		c := connect(t, r)
		ch, cc := challenge(c, "mallory")
		if cc.AuthID != "mallory" || cc.AuthProvider != "static" {
			t.Fatalf("decoy challenge %+v", cc)
		}
		c.send(&wamp.Authenticate{Signature: hmacB64("guess", ch.Extra["challenge"].(string))})
		c.authFailed("authentication failed")
	})
	t.Run("replayed AUTHENTICATE", func(t *testing.T) {
		c := connect(t, r)
		ch, _ := challenge(c, "carol")
		old := &wamp.Authenticate{Signature: hmacB64("carol-secret", ch.Extra["challenge"].(string))}
		c.send(old)
		c.welcome("carol", "user", "wampcra", "static")

		c2 := connect(t, r)
		ch2, _ := challenge(c2, "carol")
		if ch2.Extra["challenge"] == ch.Extra["challenge"] {
			t.Fatal("the router issued the same challenge twice")
		}
		c2.send(old)
		c2.authFailed("authentication failed")
	})
}

// TestWAMPCRADecoys checks that an unknown user's CHALLENGE has the shape
// of a real user's (the keys of extra, salt length and characters,
// iterations, keylen, role), the same on every attempt, and that the
// decoys take every real shape.
func TestWAMPCRADecoys(t *testing.T) {
	type shape struct {
		keys               string
		saltLen            int
		iterations, keylen any
		role, authprovider string
	}
	rc := secureRealm()
	hexSalt, b64Salt := "9f86d081884c7d659a2feaa0c55ad015", "Xr0ZK+9gq/PtYwN2h7cJ1A"
	rc.Auth.WAMPCRA.Users["hexa"] = CRAUser{Role: "admin", Secret: "k", Salt: hexSalt, Iterations: 5000, KeyLen: 16}
	rc.Auth.WAMPCRA.Users["b64"] = CRAUser{Role: "user", Secret: "k", Salt: b64Salt, Iterations: 2000, KeyLen: 64}
	r := newTestRouter(t, Config{Realms: []RealmConfig{rc}})
	get := func(authid string) (shape, wamp.Dict) {
		t.Helper()
		c := connect(t, r)
		c.hello("secure", authid, []string{"wampcra"}, nil)
		ch := c.challenge("wampcra")
		c.send(&wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrCanceled})
		var cc craChallenge
		if err := json.Unmarshal([]byte(ch.Extra["challenge"].(string)), &cc); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(ch.Extra))
		salt, _ := ch.Extra["salt"].(string)
		return shape{strings.Join(keys, ","), len(salt), ch.Extra["iterations"], ch.Extra["keylen"], cc.AuthRole, cc.AuthProvider}, ch.Extra
	}
	// The salt characters of each real shape.
	saltChars := map[shape]*regexp.Regexp{}
	for id, re := range map[string]string{"carol": `^$`, "dave": `^[0-9a-z]{7}$`, "hexa": `^[0-9a-f]{32}$`, "b64": `^[0-9A-Za-z+/]{22}$`} {
		sh, extra := get(id)
		salt, _ := extra["salt"].(string)
		if !regexp.MustCompile(re).MatchString(salt) {
			t.Fatalf("%s's salt %q does not match %s", id, salt, re)
		}
		saltChars[sh] = regexp.MustCompile(re)
	}
	if len(saltChars) != 4 {
		t.Fatalf("real shapes %v: want 4 different ones", saltChars)
	}
	seen := map[shape]bool{}
	for i := range 40 {
		id := "nobody" + strconv.Itoa(i)
		sh, extra := get(id)
		re := saltChars[sh]
		if re == nil {
			t.Fatalf("%s's CHALLENGE %v has a shape %+v that no real user has", id, extra, sh)
		}
		salt, _ := extra["salt"].(string)
		if !re.MatchString(salt) {
			t.Fatalf("%s's salt %q, want one like %s", id, salt, re)
		}
		if salt != "" && strings.Contains(hexSalt+b64Salt+"salt123", salt) {
			t.Fatalf("%s's salt %q is a real user's", id, salt)
		}
		if sh2, extra2 := get(id); sh2 != sh || extra2["salt"] != extra["salt"] {
			t.Fatalf("%s's CHALLENGE changed between attempts: %v, then %v", id, extra, extra2)
		}
		seen[sh] = true
	}
	if len(seen) != len(saltChars) {
		t.Fatalf("40 unknown users took %d of the %d real shapes", len(seen), len(saltChars))
	}
}

// TestTicketCheckCostsTheSame checks that a static ticket check takes as
// long for an unknown user, a plain ticket and a cheaper hash as for the
// costliest hash: its time tells no user from another.
func TestTicketCheckCostsTheSame(t *testing.T) {
	salt := []byte("0123456789abcdef")
	hash := func(ticket string, iterations int) string {
		return ticketHash{iterations: iterations, salt: salt, key: deriveTicket(ticket, salt, iterations)}.String()
	}
	rc := secureRealm()
	rc.Auth.Ticket.Principals = map[string]TicketPrincipal{
		"plain": {Role: "user", Ticket: "p"},
		"cheap": {Role: "user", TicketHash: hash("c", 1000)},
		"dear":  {Role: "user", TicketHash: hash("d", 10_000)},
	}
	r := newTestRouter(t, Config{Realms: []RealmConfig{rc}})
	a := r.realm("secure").auth[methodTicket].(*ticketAuth)
	// fastest is the least time of several checks: noise only adds.
	fastest := func(authid, ticket string) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			a.static(&authRequest{realm: "secure", authid: authid}, ticket)
			best = min(best, time.Since(start))
		}
		return best
	}
	ref := fastest("dear", "wrong")
	for _, c := range []struct{ authid, ticket string }{{"dear", "d"}, {"plain", "p"}, {"plain", "wrong"}, {"cheap", "c"}, {"mallory", "x"}, {"dear", "d\x00"}} {
		if d := fastest(c.authid, c.ticket); d < ref/2 || d > ref*2 {
			t.Errorf("checking %q's ticket %q took %v, a wrong ticket of the costliest hash %v", c.authid, c.ticket, d, ref)
		}
	}
	if _, err := a.static(&authRequest{realm: "secure", authid: "cheap"}, "c"); err != nil {
		t.Fatalf("cheap's ticket: %v", err)
	}
	if _, err := a.static(&authRequest{realm: "secure", authid: "plain"}, "p"); err != nil {
		t.Fatalf("plain's ticket: %v", err)
	}
}

func TestCryptosign(t *testing.T) {
	r := newSecureRouter(t, nil)
	start := func(c *rawClient, authid string, k ed25519.PrivateKey) *wamp.Challenge {
		c.t.Helper()
		c.hello("secure", authid, []string{"cryptosign"}, wamp.Dict{"pubkey": pubHex(k)})
		ch := c.challenge("cryptosign")
		if s, _ := ch.Extra["challenge"].(string); len(s) != 64 {
			t.Fatalf("challenge %q is not 32 bytes in hex", s)
		}
		return ch
	}

	t.Run("with authid", func(t *testing.T) {
		c := connect(t, r)
		ch := start(c, "erin", erinKey)
		c.send(&wamp.Authenticate{Signature: signCS(erinKey, ch)})
		c.welcome("erin", "user", "cryptosign", "static")
	})
	t.Run("found by key", func(t *testing.T) {
		c := connect(t, r)
		ch := start(c, "", erinKey)
		c.send(&wamp.Authenticate{Signature: signCS(erinKey, ch)})
		c.welcome("erin", "user", "cryptosign", "static")
	})
	bad := map[string]func(sig string) string{
		"tampered signature": func(sig string) string {
			b, _ := hex.DecodeString(sig)
			b[10] ^= 1
			return hex.EncodeToString(b)
		},
		"tampered message": func(sig string) string {
			b, _ := hex.DecodeString(sig)
			b[70] ^= 1
			return hex.EncodeToString(b)
		},
		"signature only (64 bytes)": func(sig string) string { return sig[:128] },
		"one byte more":             func(sig string) string { return sig + "00" },
		"not hex":                   func(sig string) string { return "zz" + sig[2:] },
	}
	for name, mangle := range bad {
		t.Run(name, func(t *testing.T) {
			c := connect(t, r)
			ch := start(c, "erin", erinKey)
			c.send(&wamp.Authenticate{Signature: mangle(signCS(erinKey, ch))})
			c.authFailed("authentication failed")
		})
	}
	t.Run("unknown key is challenged all the same", func(t *testing.T) {
		c := connect(t, r)
		ch := start(c, "", otherKey)
		c.send(&wamp.Authenticate{Signature: signCS(otherKey, ch)})
		c.authFailed("authentication failed")
	})
	t.Run("key of another authid", func(t *testing.T) {
		c := connect(t, r)
		ch := start(c, "alice", erinKey)
		c.send(&wamp.Authenticate{Signature: signCS(erinKey, ch)})
		c.authFailed("authentication failed")
	})
	t.Run("replayed AUTHENTICATE", func(t *testing.T) {
		c := connect(t, r)
		ch := start(c, "erin", erinKey)
		old := &wamp.Authenticate{Signature: signCS(erinKey, ch)}
		c.send(old)
		c.welcome("erin", "user", "cryptosign", "static")

		c2 := connect(t, r)
		start(c2, "erin", erinKey)
		c2.send(old)
		c2.authFailed("authentication failed")
		// Nor does it open the session it was made for.
		c.send(old)
		c.expectAbort(wamp.ErrProtocolViolation)
	})
	t.Run("no public key", func(t *testing.T) {
		c := connect(t, r)
		c.hello("secure", "erin", []string{"cryptosign"}, wamp.Dict{"pubkey": "abcd"})
		c.authFailed("authextra.pubkey")
	})
	t.Run("channel binding asked, none given", func(t *testing.T) {
		c := connect(t, r)
		c.hello("secure", "erin", []string{"cryptosign"}, wamp.Dict{"pubkey": pubHex(erinKey), "channel_binding": "tls-unique"})
		ch := c.challenge("cryptosign")
		if v, ok := ch.Extra["channel_binding"]; !ok || v != nil {
			t.Fatalf("CHALLENGE channel_binding %v, want null", ch.Extra)
		}
		c.send(&wamp.Authenticate{Signature: signCS(erinKey, ch)})
		c.welcome("erin", "user", "cryptosign", "static")
	})
}

// TestCryptosignSpecVectors checks the specification's test vectors: the
// signature computed from private key and challenge (XOR the channel ID)
// is the vector's, and the router's check accepts it and nothing else.
func TestCryptosignSpecVectors(t *testing.T) {
	vectors := []struct{ channelID, key, challenge, signature string }{
		{"", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd", "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
		{"", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b", "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd", "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b", "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d"},
	}
	for i, v := range vectors {
		key := seedKey(v.key)
		pub := key.Public().(ed25519.PublicKey)
		ch, _ := hex.DecodeString(v.challenge)
		var cid []byte
		msg := ch
		if v.channelID != "" {
			cid, _ = hex.DecodeString(v.channelID)
			msg = make([]byte, 32)
			for j := range msg {
				msg[j] = ch[j] ^ cid[j]
			}
		}
		if got := hex.EncodeToString(append(ed25519.Sign(key, msg), msg...)); got != v.signature {
			t.Errorf("vector %d: signature\n%s, want\n%s", i, got, v.signature)
		}
		if !cryptosignVerify(pub, ch, cid, v.signature) {
			t.Errorf("vector %d: the router's check refuses the vector's signature", i)
		}
		other := vectors[(i+1)%3].challenge
		och, _ := hex.DecodeString(other)
		if cryptosignVerify(pub, och, cid, v.signature) {
			t.Errorf("vector %d: signature accepted for another challenge", i)
		}
		if cryptosignVerify(seedKey(vectors[(i+1)%3].key).Public().(ed25519.PublicKey), ch, cid, v.signature) {
			t.Errorf("vector %d: signature accepted for another key", i)
		}
	}
}

func TestAnonymousClaimsNothing(t *testing.T) {
	r := newSecureRouter(t, nil)
	c := connect(t, r)
	c.send(&wamp.Hello{Realm: "secure", Details: wamp.Dict{
		"roles": allRoles, "authid": "admin", "authrole": "admin", "authmethod": "ticket", "authprovider": "static",
	}})
	w := c.welcome("", "anonymous", "anonymous", "static")
	if w.Details["authid"] == "admin" {
		t.Fatal("an anonymous session got the authid it claimed")
	}
	c.callError("wamp.session.list", nil, nil, wamp.ErrNotAuthorized)
	c.callError("com.app.anything", nil, nil, wamp.ErrNotAuthorized)
	req := c.req.Next()
	c.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "com.app.anything"})
	c.expectError(wamp.TypeRegister, req, wamp.ErrNotAuthorized)
	c.subscribe("com.app.news", nil) // what anonymous may do
}

func TestAuthMethodChoice(t *testing.T) {
	r := newTestRouter(t, Config{Realms: []RealmConfig{{
		Name: "closed",
		Auth: AuthConfig{Ticket: &TicketAuth{Principals: map[string]TicketPrincipal{"alice": {Role: "user", Ticket: "t"}}}},
	}}})
	c := connect(t, r)
	c.hello("closed", "", nil, nil)
	a := c.expectAbort(wamp.ErrNoAuthMethod)
	if m, _ := a.Details["message"].(string); !strings.Contains(m, "it accepts ticket") {
		t.Fatalf("ABORT message %q does not list the realm's methods", m)
	}
	// The first offered method the realm has is used.
	c = connect(t, r)
	c.hello("closed", "alice", []string{"cryptosign", "ticket"}, nil)
	c.challenge("ticket")
	c.send(&wamp.Authenticate{Signature: "t"})
	c.welcome("alice", "user", "ticket", "static")

	c = connect(t, r)
	c.send(&wamp.Hello{Realm: "closed", Details: wamp.Dict{"roles": allRoles, "authmethods": "ticket"}})
	c.expectAbort(wamp.ErrProtocolViolation)
}

func TestAuthenticateMustAnswerChallenge(t *testing.T) {
	r := newSecureRouter(t, nil)
	c := connect(t, r)
	c.hello("secure", "alice", []string{"ticket"}, nil)
	c.challenge("ticket")
	c.send(&wamp.Hello{Realm: "secure", Details: wamp.Dict{"roles": allRoles}})
	c.expectAbort(wamp.ErrProtocolViolation)
}

func TestHelloTimeoutCoversAuthentication(t *testing.T) {
	r := newSecureRouter(t, func(c *Config) { c.HelloTimeout = 100 * time.Millisecond })
	c := connect(t, r)
	c.hello("secure", "alice", []string{"ticket"}, nil)
	c.challenge("ticket")
	// No AUTHENTICATE: the router closes the connection.
	c.expectClosed()
}

func TestRateLimitFailedAttempts(t *testing.T) {
	r := newSecureRouter(t, func(c *Config) {
		c.AuthFailuresPerAddress = RateLimit{Burst: 3, Every: time.Hour}
		c.AuthFailuresPerAuthID = RateLimit{Burst: 5, Every: time.Hour}
	})
	try := func(addr, authid, ticket string) *rawClient {
		c := dialFrom(t, r, addr, true)
		c.hello("secure", authid, []string{"ticket"}, nil)
		m := c.next()
		if _, ok := m.(*wamp.Challenge); !ok {
			// Refused at HELLO: no CHALLENGE, hence no key derivation.
			a, ok := m.(*wamp.Abort)
			if !ok || a.Reason != wamp.ErrAuthenticationFailed || !strings.Contains(a.Details["message"].(string), "too many") {
				t.Fatalf("got %s %v, want CHALLENGE or ABORT too many", m.Type(), m)
			}
			return nil
		}
		c.send(&wamp.Authenticate{Signature: ticket})
		return c
	}
	attacker := "198.51.100.1:1234"
	for i := range 3 {
		c := try(attacker, "bob", "guess")
		if c == nil {
			t.Fatalf("attempt %d refused before the burst is spent", i+1)
		}
		c.authFailed("authentication failed")
	}
	if try(attacker, "bob", "bob-ticket") != nil {
		t.Fatal("the attacker's address was not limited after its burst")
	}
	if try(attacker, "alice", "alice-ticket") != nil {
		t.Fatal("the limit is per address: another authid from it is limited too")
	}
	// The real user, elsewhere, still logs in: one address cannot lock
	// bob out (its own limit stops it first).
	try("192.0.2.10:999", "bob", "bob-ticket").welcome("bob", "admin", "ticket", "static")

	// From many addresses, the per-authid limit holds: bob has 5 failures
	// to give, 3 spent.
	for i, addr := range []string{"198.51.100.2:1", "198.51.100.3:1"} {
		c := try(addr, "bob", "guess")
		if c == nil {
			t.Fatalf("attempt %d for bob refused early", i)
		}
		c.authFailed("authentication failed")
	}
	if try("198.51.100.4:1", "bob", "bob-ticket") != nil {
		t.Fatal("bob's authid was not limited after its burst")
	}
	try("198.51.100.4:1", "alice", "alice-ticket").welcome("alice", "user", "ticket", "static")
}

// fakeClock makes r's failed-authentication limits read their time from
// the clock returned, which starts now and moves only when told.
func fakeClock(r *Router) *atomic.Int64 {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	r.authLimits.now = func() time.Time { return time.Unix(0, clock.Load()) }
	return &clock
}

func TestRateLimitRefills(t *testing.T) {
	r := newSecureRouter(t, func(c *Config) {
		c.AuthFailuresPerAddress = RateLimit{Burst: 2, Every: 200 * time.Millisecond}
	})
	clock := fakeClock(r)
	attempt := func(ticket string) wamp.Message {
		c := dialFrom(t, r, "198.51.100.9:1", true)
		c.hello("secure", "alice", []string{"ticket"}, nil)
		m := c.next()
		if _, ok := m.(*wamp.Challenge); ok {
			c.send(&wamp.Authenticate{Signature: ticket})
			m = c.next()
		}
		return m
	}
	attempt("x")
	attempt("y")
	if a, ok := attempt("alice-ticket").(*wamp.Abort); !ok || !strings.Contains(a.Details["message"].(string), "too many") {
		t.Fatalf("third attempt not limited: %v", a)
	}
	clock.Add(int64(150 * time.Millisecond))
	if a, ok := attempt("alice-ticket").(*wamp.Abort); !ok || !strings.Contains(a.Details["message"].(string), "too many") {
		t.Fatalf("attempt before a token came back not limited: %v", a)
	}
	clock.Add(int64(100 * time.Millisecond))
	if w, ok := attempt("alice-ticket").(*wamp.Welcome); !ok || w.Details["authid"] != "alice" {
		t.Fatalf("correct login after the refill: %v", w)
	}
}

// TestRateLimitParallelHandshakes opens many handshakes at once: each
// holds a token until it ends, so parallel HELLOs get no more CHALLENGEs
// (and key derivations) than the burst.
func TestRateLimitParallelHandshakes(t *testing.T) {
	r := newSecureRouter(t, func(c *Config) {
		c.AuthFailuresPerAddress = RateLimit{Burst: 3, Every: time.Hour}
		c.AuthFailuresPerAuthID = RateLimit{Burst: 5, Every: time.Hour}
	})
	clock := fakeClock(r)

	// hellos sends n HELLOs at once, one per connection, and returns the
	// connections that got a CHALLENGE; the others must get ABORT.
	hellos := func(n int, addr func(i int) string, authid string) []*rawClient {
		t.Helper()
		cs := make([]*rawClient, n)
		for i := range cs {
			cs[i] = dialFrom(t, r, addr(i), true)
		}
		for _, c := range cs {
			c.hello("secure", authid, []string{"ticket"}, nil)
		}
		var challenged []*rawClient
		for _, c := range cs {
			switch m := c.next().(type) {
			case *wamp.Challenge:
				challenged = append(challenged, c)
			case *wamp.Abort:
				if m.Reason != wamp.ErrAuthenticationFailed || !strings.Contains(m.Details["message"].(string), "too many") {
					t.Fatalf("ABORT %v", m)
				}
			default:
				t.Fatalf("got %s, want CHALLENGE or ABORT", m.Type())
			}
		}
		return challenged
	}
	login := func(addr, authid, ticket string) wamp.Message {
		t.Helper()
		c := dialFrom(t, r, addr, true)
		c.hello("secure", authid, []string{"ticket"}, nil)
		m := c.next()
		if _, ok := m.(*wamp.Challenge); ok {
			c.send(&wamp.Authenticate{Signature: ticket})
			m = c.next()
		}
		return m
	}

	attacker := "198.51.100.1:1234"
	guesses := hellos(12, func(int) string { return attacker }, "alice")
	if len(guesses) != 3 {
		t.Fatalf("%d of 12 parallel HELLOs from one address got a CHALLENGE, want the burst, 3", len(guesses))
	}
	for _, c := range guesses {
		c.send(&wamp.Authenticate{Signature: "guess"})
		c.authFailed("authentication failed")
	}
	if m := login(attacker, "alice", "alice-ticket"); m.Type() != wamp.TypeAbort {
		t.Fatalf("got %s after the burst was spent, want ABORT", m.Type())
	}
	clock.Add(int64(time.Hour)) // one token back
	for range 3 {               // a success gives its token back
		if w, ok := login(attacker, "alice", "alice-ticket").(*wamp.Welcome); !ok || w.Details["authid"] != "alice" {
			t.Fatalf("correct login after the refill: %v", w)
		}
	}

	// From many addresses, one authid's pending handshakes are bounded
	// too; handshakes abandoned without a guess give their tokens back.
	pending := hellos(12, func(i int) string { return "198.51.100." + strconv.Itoa(10+i) + ":1" }, "bob")
	if len(pending) != 5 {
		t.Fatalf("%d of 12 parallel HELLOs for one authid got a CHALLENGE, want the burst, 5", len(pending))
	}
	for _, c := range pending {
		c.send(&wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrCanceled})
		c.expectClosed()
	}
	if w, ok := login("192.0.2.10:999", "bob", "bob-ticket").(*wamp.Welcome); !ok || w.Details["authid"] != "bob" {
		t.Fatalf("bob's login after abandoned handshakes: %v", w)
	}
}

func TestBucketTableBounded(t *testing.T) {
	bt := newBucketTable(RateLimit{Burst: 2, Every: time.Millisecond})
	now := time.Now()
	for i := range maxBuckets {
		bt.take(strconv.Itoa(i), now)
	}
	if len(bt.buckets) != maxBuckets {
		t.Fatalf("%d buckets", len(bt.buckets))
	}
	// A key the full table cannot track is let through untracked.
	if !bt.take("untracked", now) || len(bt.buckets) != maxBuckets {
		t.Fatalf("full table: %d buckets", len(bt.buckets))
	}
	// Later, the old buckets are full again and make room.
	if !bt.take("new", now.Add(time.Second)) || len(bt.buckets) != 1 {
		t.Fatalf("after sweep: %d buckets", len(bt.buckets))
	}
}

func TestBucketTakeAndGive(t *testing.T) {
	bt := newBucketTable(RateLimit{Burst: 2, Every: time.Minute})
	now := time.Now()
	if !bt.take("k", now) || !bt.take("k", now) || bt.take("k", now) {
		t.Fatal("a bucket of 2 did not give exactly 2 tokens")
	}
	bt.give("k", now)
	if !bt.take("k", now) || bt.take("k", now) {
		t.Fatal("a token given back was not taken again, or more came back")
	}
	if !bt.take("k", now.Add(time.Minute)) || bt.take("k", now.Add(time.Minute)) {
		t.Fatal("the refill did not give one token")
	}
	for range 5 {
		bt.give("k", now.Add(time.Minute))
	}
	if !bt.take("k", now.Add(time.Minute)) || !bt.take("k", now.Add(time.Minute)) || bt.take("k", now.Add(time.Minute)) {
		t.Fatal("tokens given back overflowed the burst")
	}
	other := newBucketTable(RateLimit{Burst: -1})
	for range 10 {
		if !other.take("k", now) {
			t.Fatal("a disabled limit refused")
		}
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.1:80":            "198.51.100.1",
		"[2001:db8:1:2:3::4]:80":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::ffff:198.51.100.1]:80":   "198.51.100.1",
		"":                           "",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
	for addr, secure := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, remote: false, "": false} {
		if got := secureConn("websocket", addr, false); got != secure {
			t.Errorf("secureConn(%q) = %v", addr, got)
		}
	}
	if !secureConn("rawsocket", "unix:/run/wampd.sock", false) {
		t.Error("a Unix socket connection is not secure")
	}
}

func TestNoSuchRole(t *testing.T) {
	rc := secureRealm()
	rc.Auth.Anonymous.Role = "visitor" // not among the roles
	if _, err := New(Config{Realms: []RealmConfig{rc}}); err == nil || !strings.Contains(err.Error(), `realms[0].auth.anonymous.role: realm "secure" has no role "visitor"`) {
		t.Fatalf("New: %v", err)
	}
}
