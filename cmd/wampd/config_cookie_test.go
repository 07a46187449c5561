package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wampkit/wampkit/server"
)

// cookieFile is a configuration with cookie authentication on a realm.
const cookieFile = `{
  "limits": {"max_cookie_logins": 5000},
  "realms": [
    {
      "name": "app",
      "roles": [{"name": "user", "permissions": [{"uri": "com.app.", "match": "prefix", "allow": {"call": true}}]}],
      "auth": {
        "ticket": {"principals": {"joe": {"role": "user", "ticket_hash": "pbkdf2-sha256$100000$TZep9rp1A2VXRn0jBa8jlw$T6h3vYnZWN2bft4tyvd/dZtFVyd7ICxpEv/iJJXmU1A"}}},
        "cookie": {"enabled": true, "name": "app_login", "max_age_s": 3600, "same_site": "strict", "preferred": true}
      }
    }
  ]
}`

func TestCookieConfigFile(t *testing.T) {
	fc, err := parseConfig([]byte(cookieFile))
	if err != nil {
		t.Fatal(err)
	}
	got := fc.Router.Realms[0].Auth.Cookie
	want := server.CookieAuth{Name: "app_login", MaxAge: time.Hour, SameSite: http.SameSiteStrictMode, Preferred: true}
	if got == nil || *got != want || fc.Router.MaxCookieLogins != 5000 {
		t.Fatalf("cookie read as %+v, max logins %d", got, fc.Router.MaxCookieLogins)
	}

	// Present is enabled, with the defaults; "enabled": false turns it off.
	for in, want := range map[string]*server.CookieAuth{
		`{}`:                                 {SameSite: http.SameSiteLaxMode},
		`{"enabled": false, "name": "x"}`:    nil,
		`{"enabled": true, "same_site": ""}`: {SameSite: http.SameSiteLaxMode},
	} {
		fc, err := parseConfig([]byte(strings.Replace(cookieFile, `{"enabled": true, "name": "app_login", "max_age_s": 3600, "same_site": "strict", "preferred": true}`, in, 1)))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := fc.Router.Realms[0].Auth.Cookie; (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Fatalf("%s read as %+v, want %+v", in, got, want)
		}
	}
}

func TestCookieConfigErrors(t *testing.T) {
	bad := `{
  "limits": {"max_cookie_logins": -1},
  "realms": [
    {"name": "a", "auth": {"anonymous": {}, "cookie": {"same_site": "none", "max_age_s": 0, "enabled": "yes", "bogus": 1}}},
    {"name": "b", "auth": {"ticket": {"principals": {"joe": {"role": "user", "ticket_hash": "pbkdf2-sha256$100000$TZep9rp1A2VXRn0jBa8jlw$T6h3vYnZWN2bft4tyvd/dZtFVyd7ICxpEv/iJJXmU1A"}}},
      "cookie": {"name": "other id"}}}
  ]
}`
	_, err := parseConfig([]byte(bad))
	if err == nil {
		t.Fatal("a bad file was accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"limits.max_cookie_logins: must be an integer from 0 to",
		`realms[0].auth.cookie.same_site: must be "lax" or "strict", not "none"`,
		"realms[0].auth.cookie.max_age_s: must be an integer from 1 to 34560000, not 0",
		"realms[0].auth.cookie.enabled: must be true or false, not a string",
		"realms[0].auth.cookie.bogus: unknown field",
		`realms[1].auth.cookie.name: "other id" is not a cookie name`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%s", msg)
	}

	two := `{"realms": [
    {"name": "a", "auth": {"ticket": {"principals": {"joe": {"role": "user", "ticket_hash": "pbkdf2-sha256$100000$TZep9rp1A2VXRn0jBa8jlw$T6h3vYnZWN2bft4tyvd/dZtFVyd7ICxpEv/iJJXmU1A"}}}, "cookie": {}}},
    {"name": "b", "auth": {"ticket": {"principals": {"joe": {"role": "user", "ticket_hash": "pbkdf2-sha256$100000$TZep9rp1A2VXRn0jBa8jlw$T6h3vYnZWN2bft4tyvd/dZtFVyd7ICxpEv/iJJXmU1A"}}}, "cookie": {"same_site": "strict"}}}
  ]}`
	if _, err := parseConfig([]byte(two)); err == nil || !strings.Contains(err.Error(), "realms[1].auth.cookie: SameSite differs from the one in realms[0]") {
		t.Fatalf("two realms with two SameSites: %v", err)
	}
	alone := `{"realms": [{"name": "a", "auth": {"anonymous": {}, "cookie": {}}}]}`
	if _, err := parseConfig([]byte(alone)); err == nil || !strings.Contains(err.Error(), "realms[0].auth.cookie: cookie authentication remembers a login made with another method") {
		t.Fatalf("cookie authentication alone: %v", err)
	}
}

// TestWampdSetsLoginCookie: wampd started with a file that enables cookie
// authentication hands a long-poll client its tracking cookie.
func TestWampdSetsLoginCookie(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie.json")
	if err := os.WriteFile(path, []byte(cookieFile), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startWampd(t, "--config", path)
	res, err := http.Post("http://"+addr+"/lp/open", "application/json", strings.NewReader(`{"protocols": ["wamp.2.json"]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == "app_login" {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 || len(c.Value) != 26 {
		t.Fatalf("cookie %v from %v", c, res.Header["Set-Cookie"])
	}
}
