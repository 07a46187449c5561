//go:build !js

package longpoll

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// checkOrigin allows a browser request whose Origin is the request's own
// host or matches one of patterns, as coder/websocket's Accept does: a
// pattern is matched case insensitively with path.Match against the
// Origin's host, or against "scheme://host" when it contains "://".
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("malformed Origin %q", origin)
	}
	if u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		ok, err := path.Match(strings.ToLower(p), strings.ToLower(target))
		if err != nil {
			return fmt.Errorf("malformed origin pattern %q: %v", p, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("origin %q not allowed for host %q", origin, r.Host)
}
