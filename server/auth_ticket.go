package server

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// TicketHashIterations is the PBKDF2 iteration count of HashTicket. Each
// ticket login costs the router one such derivation (about 30 ms of one
// core), which the failed-attempt limits keep attackers from multiplying.
const TicketHashIterations = 100_000

// maxIterations bounds PBKDF2 iteration counts in a configuration, so that
// a typo cannot make each login (or a client's key derivation) take
// minutes.
const maxIterations = 10_000_000

// HashTicket hashes a ticket for TicketPrincipal.TicketHash (and wampd's
// configuration file): "pbkdf2-sha256$<iterations>$<salt>$<key>", salt and
// key in unpadded standard base64, the key PBKDF2-HMAC-SHA256 of the
// ticket with a random 16-byte salt.
func HashTicket(ticket string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	return ticketHash{iterations: TicketHashIterations, salt: salt, key: deriveTicket(ticket, salt, TicketHashIterations)}.String()
}

// ticketHash is a parsed TicketHash.
type ticketHash struct {
	iterations int
	salt, key  []byte
}

func (h ticketHash) String() string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", h.iterations, enc.EncodeToString(h.salt), enc.EncodeToString(h.key))
}

func parseTicketHash(s string) (ticketHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return ticketHash{}, errors.New(`not a ticket hash "pbkdf2-sha256$<iterations>$<salt>$<key>" (see wampd --hash-ticket)`)
	}
	var h ticketHash
	var err error
	if h.iterations, err = strconv.Atoi(parts[1]); err != nil || h.iterations < 1 || h.iterations > maxIterations {
		return ticketHash{}, fmt.Errorf("ticket hash iterations %q is not in [1, %d]", parts[1], maxIterations)
	}
	enc := base64.RawStdEncoding
	if h.salt, err = enc.DecodeString(parts[2]); err != nil || len(h.salt) < 8 {
		return ticketHash{}, errors.New("ticket hash salt is not base64 of at least 8 bytes")
	}
	if h.key, err = enc.DecodeString(parts[3]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return ticketHash{}, errors.New("ticket hash key is not base64 of 16 to 64 bytes")
	}
	return h, nil
}

func deriveTicket(ticket string, salt []byte, iterations int) []byte {
	k, err := pbkdf2.Key(sha256.New, ticket, salt, iterations, 32)
	if err != nil {
		panic(err) // only for an invalid key length, which is constant
	}
	return k
}

// matches checks a ticket against the hash; it always costs one
// derivation, h.cost(). A ticket with a NUL byte never matches: PBKDF2's
// HMAC pads a short key with zero bytes, so "t" and "t\x00" would derive
// the same key.
func (h ticketHash) matches(ticket string) bool {
	k, err := pbkdf2.Key(sha256.New, ticket, h.salt, h.iterations, len(h.key))
	return err == nil && strings.IndexByte(ticket, 0) < 0 && subtle.ConstantTimeCompare(k, h.key) == 1
}

// cost is the work of one derivation of h: iterations of HMAC-SHA256 per
// 32-byte block of the key.
func (h ticketHash) cost() int {
	return h.iterations * ((len(h.key) + sha256.Size - 1) / sha256.Size)
}

// ticketAuth is WAMP-Ticket: the client sends a shared ticket in
// AUTHENTICATE, in clear, after an empty CHALLENGE.
//
// Every static check costs the same, so that its time tells no user from
// another: that of the costliest hashed ticket. A check that derives less
// (an unknown user, a plain ticket, a cheaper hash) derives the rest from
// a throwaway key.
type ticketAuth struct {
	r     *realm
	cfg   *TicketAuth
	users map[string]ticketUser
	work  int    // the cost of the costliest hash, 0 when none is hashed
	salt  []byte // of the throwaway derivations
}

type ticketUser struct {
	role  string
	plain string
	hash  *ticketHash
}

func newTicketAuth(r *realm, cfg *TicketAuth) *ticketAuth {
	a := &ticketAuth{r: r, cfg: cfg, users: map[string]ticketUser{}, salt: make([]byte, 16)}
	rand.Read(a.salt)
	for id, p := range cfg.Principals {
		u := ticketUser{role: p.Role, plain: p.Ticket}
		if p.TicketHash != "" {
			h, _ := parseTicketHash(p.TicketHash) // validated
			u.hash = &h
			a.work = max(a.work, h.cost())
		}
		a.users[id] = u
	}
	return a
}

// pad spends work iterations of a throwaway derivation.
func (a *ticketAuth) pad(work int) {
	if work > 0 {
		pbkdf2.Key(sha256.New, "", a.salt, work, sha256.Size)
	}
}

func (a *ticketAuth) hello(ctx context.Context, req *authRequest) (*identity, *challenge, error) {
	if !req.secure && !a.cfg.AllowInsecure {
		return nil, nil, refused(wamp.ErrAuthenticationFailed,
			"ticket authentication is refused on a connection that is neither TLS nor loopback: the ticket would travel in clear")
	}
	return nil, &challenge{extra: wamp.Dict{}, verify: func(ctx context.Context, m *wamp.Authenticate) (*identity, error) {
		if a.cfg.Authenticator != "" {
			return a.dynamic(ctx, req, m.Signature)
		}
		return a.static(req, m.Signature)
	}}, nil
}

func (a *ticketAuth) static(req *authRequest, ticket string) (*identity, error) {
	u, known := a.users[req.authid]
	var ok bool
	spent := 0
	switch {
	case known && u.hash != nil:
		ok, spent = u.hash.matches(ticket), u.hash.cost()
	case known:
		ok = equalSecret(ticket, u.plain)
	}
	a.pad(a.work - spent) // the same cost whoever it is
	if !known {
		return nil, badCredentials(fmt.Sprintf("no ticket principal %q", req.authid))
	}
	if !ok {
		return nil, badCredentials("wrong ticket")
	}
	return &identity{authid: req.authid, authrole: u.role, authmethod: methodTicket, authprovider: "static"}, nil
}

func (a *ticketAuth) dynamic(ctx context.Context, req *authRequest, ticket string) (*identity, error) {
	details := wamp.Dict{"ticket": ticket}
	for k, v := range req.details() {
		details[k] = v
	}
	p, err := a.r.callAuthenticator(ctx, a.cfg.AuthenticatorRealm, a.cfg.Authenticator, req, details)
	if err != nil {
		return nil, err
	}
	id := &identity{authid: cmpOr(p.authid, req.authid), authrole: p.role, authmethod: methodTicket, authprovider: "dynamic", authextra: p.extra}
	if id.authid == "" {
		return nil, badCredentials("the authenticator assigned no authid")
	}
	return id, nil
}
