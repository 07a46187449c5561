package interop

import (
	"crypto/ed25519"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/server"
)

// TestAuthentication runs js/auth.mjs: Autobahn|JS joins with ticket,
// wampcra and cryptosign, wampy with ticket and wampcra, against a realm with
// a static principal for each.
func TestAuthentication(t *testing.T) {
	requireNode(t)
	seed, _ := hex.DecodeString("4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510")
	pub := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	peterKey, err := client.DeriveCRAKey("peter-password", "peter-salt", 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	all := server.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	log := &routerLog{}
	r, err := server.New(server.Config{
		Logger: slog.New(log.handler()),
		Realms: []server.RealmConfig{{
			Name:  "secure",
			Roles: []server.RoleConfig{{Name: "user", Permissions: []server.Permission{{URI: "", Match: "prefix", Allow: all}}}},
			Auth: server.AuthConfig{
				Ticket: &server.TicketAuth{Principals: map[string]server.TicketPrincipal{"alice": {Role: "user", TicketHash: server.HashTicket("alice-ticket")}}},
				WAMPCRA: &server.WAMPCRAAuth{Users: map[string]server.CRAUser{
					"carol": {Role: "user", Secret: "carol-secret"},
					"peter": {Role: "user", Secret: peterKey, Salt: "peter-salt", Iterations: 1000, KeyLen: 32},
				}},
				Cryptosign: &server.CryptosignAuth{Principals: map[string]server.CryptosignPrincipal{"device": {Role: "user", AuthorizedKeys: []string{pub}}}},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(r.Handler(server.HTTPConfig{}))
	t.Cleanup(func() {
		r.Close()
		hs.Close()
	})
	s := startScript(t, "auth.mjs", "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws", "secure", "json")
	<-s.done
	if s.err != nil || !s.stdout.hasPrefix("PASS ") {
		t.Fatalf("node js/auth.mjs failed (%v)\n%s--- router log ---\n%s", s.err, s.transcript(), log.text())
	}
}
