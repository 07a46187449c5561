package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wampkit/wampkit/server"
	"github.com/wampkit/wampkit/transport/rawsocket"
	"github.com/wampkit/wampkit/wamp"
)

// wampd's configuration file is JSON shaped like Crossbar.io's realm, role
// and permission configuration (README.md documents it, and
// testdata/example.json is a complete example that a test loads). It is
// read into generic values and walked field by field, so that every
// mistake is reported at once with its location, as a path such as
// realms[0].roles[1].permissions[2].uri; the router's own checks
// (server.Config.Validate) report in the same vocabulary.

// configFile is a checked configuration file.
type configFile struct {
	// Listen is the HTTP address, overridden by --addr.
	Listen string
	// TLSCert and TLSKey, when set, make wampd serve HTTPS and WSS with
	// TLSCertificate, the key pair read from them.
	TLSCert, TLSKey string
	TLSCertificate  *tls.Certificate
	// TLSClientCAs, read from tls.client_ca_file, are the CAs whose client
	// certificates HTTPS verifies when a client presents one, for the tls
	// authentication method; nil when the file names none.
	TLSClientCAs *x509.CertPool
	// WebSocketPath and LongPollPath are where the WAMP transports are
	// mounted: "/ws" and "/lp" by default.
	WebSocketPath, LongPollPath string
	// RawSocketListen is the TCP address of the raw socket transport, ""
	// for none; RawSocketUnix, the path of its Unix socket, "" for none.
	RawSocketListen, RawSocketUnix string
	// RawSocketTLS serves RawSocketListen over TLS (rss://) with
	// TLSCertificate.
	RawSocketTLS bool
	// RawSocketMaxConnections bounds the raw socket connections (0: no
	// bound); RawSocketMinClientLength refuses a client whose largest
	// message is shorter (0: any).
	RawSocketMaxConnections, RawSocketMinClientLength int
	// Bridge configures the HTTP bridge; nil for none.
	Bridge *server.BridgeConfig
	// Router and HTTP configure the router; Logger is left to the caller.
	Router server.Config
	HTTP   server.HTTPConfig
	// Warnings are legal but unwise settings, such as tickets in clear.
	Warnings []string
}

// loadConfigFile reads and checks a configuration file. The error lists
// every mistake, one per line, each with its location.
func loadConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// configErrors is the list of a configuration's mistakes.
type configErrors []string

func (e configErrors) Error() string {
	if len(e) == 1 {
		return e[0]
	}
	return fmt.Sprintf("%d mistakes:\n  %s", len(e), strings.Join(e, "\n  "))
}

// parseConfig checks a configuration file's contents.
func parseConfig(data []byte) (*configFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, configErrors{jsonError(data, err)}
	}
	if dec.More() {
		return nil, configErrors{"data after the top-level object"}
	}
	fc := &configFile{WebSocketPath: "/ws", LongPollPath: "/lp"}
	var rd reader
	rd.file(fc, root)
	// Then the router's checks, in the file's vocabulary; those at a place
	// already reported (a value of the wrong type, read as empty) are
	// left out.
	var ves []error
	if err := fc.Router.Validate(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			ves = j.Unwrap()
		} else {
			ves = []error{err}
		}
	}
	for _, e := range ves {
		if ce, ok := errors.AsType[*server.ConfigError](e); ok && rd.reported(ce.Path) {
			continue
		}
		rd.errs = append(rd.errs, e.Error())
	}
	if len(rd.errs) > 0 {
		return nil, configErrors(rd.errs)
	}
	fc.Warnings = rd.warns
	return fc, nil
}

// jsonError locates a JSON syntax or type error by line and column.
func jsonError(data []byte, err error) string {
	var off int64 = -1
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		off = se.Offset
	}
	if off < 0 {
		return "not JSON: " + err.Error()
	}
	line, col := 1, 1
	// Offset counts the offending byte.
	for _, b := range data[:max(0, min(int(off)-1, len(data)))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: not JSON: %v", line, col, err)
}

// reader walks a decoded file and collects every mistake.
type reader struct {
	errs, warns []string
	paths       []string // where errs are
}

func (r *reader) errorf(path, format string, a ...any) {
	r.errs = append(r.errs, path+": "+fmt.Sprintf(format, a...))
	r.paths = append(r.paths, path)
}

// reported tells whether a mistake was reported at path or around it.
func (r *reader) reported(path string) bool {
	for _, p := range r.paths {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") || strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// object reads an object whose keys must be among fields; nil is an
// empty object.
func (r *reader) object(path string, v any, fields ...string) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.errorf(path, "must be an object, not %s", kind(v))
		return map[string]any{}
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(fields, k) {
			r.errorf(join(path, k), "unknown field (known: %s)", strings.Join(fields, ", "))
		}
	}
	return m
}

func (r *reader) str(path string, v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.errorf(path, "must be a string, not %s", kind(v))
	}
	return s
}

func (r *reader) boolean(path string, v any) bool {
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.errorf(path, "must be true or false, not %s", kind(v))
	}
	return b
}

// integer reads an integer in [lo, hi]; absent is 0.
func (r *reader) integer(path string, v any, lo, hi int64) int64 {
	if v == nil {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		r.errorf(path, "must be a number, not %s", kind(v))
		return 0
	}
	i, err := n.Int64()
	if err != nil || i < lo || i > hi {
		r.errorf(path, "must be an integer from %d to %d, not %s", lo, hi, n)
		return 0
	}
	return i
}

func (r *reader) ms(path string, v any) time.Duration {
	return time.Duration(r.integer(path, v, 0, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
}

func (r *reader) list(path string, v any) []any {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		r.errorf(path, "must be a list, not %s", kind(v))
	}
	return l
}

func (r *reader) strings(path string, v any) []string {
	var out []string
	for i, e := range r.list(path, v) {
		out = append(out, r.str(fmt.Sprintf("%s[%d]", path, i), e))
	}
	return out
}

// join writes path.key, or path["key"] for a key that is no identifier.
func join(path, key string) string {
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Sprintf("%s[%q]", path, key)
		}
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// entry is the path of a map entry keyed by a name (a principal's authid),
// as the router writes it.
func entry(path, key string) string { return fmt.Sprintf("%s[%q]", path, key) }

func kind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (r *reader) file(fc *configFile, v any) {
	m := r.object("", v, "listen", "tls", "transports", "allowed_origins", "strict_uris", "limits", "realms", "bridge")
	fc.Listen = r.str("listen", m["listen"])
	if t := m["tls"]; t != nil {
		tm := r.object("tls", t, "cert_file", "key_file", "client_ca_file")
		fc.TLSCert, fc.TLSKey = r.str("tls.cert_file", tm["cert_file"]), r.str("tls.key_file", tm["key_file"])
		if fc.TLSCert == "" || fc.TLSKey == "" {
			r.errorf("tls", "needs both cert_file and key_file")
		} else if !r.reported("tls.cert_file") && !r.reported("tls.key_file") {
			// Checked now, so that a missing or mismatched file is
			// reported at its place rather than when HTTPS starts.
			cert, err := tls.LoadX509KeyPair(fc.TLSCert, fc.TLSKey)
			if err != nil {
				r.errorf("tls.cert_file", "with tls.key_file: %v", err)
			} else {
				fc.TLSCertificate = &cert
			}
		}
		if f := r.str("tls.client_ca_file", tm["client_ca_file"]); f != "" {
			fc.TLSClientCAs = r.certPool("tls.client_ca_file", f)
		}
	}
	tr := r.object("transports", m["transports"], "websocket", "longpoll", "rawsocket")
	for _, t := range []struct {
		name   string
		to     *string
		fields []string
	}{{"websocket", &fc.WebSocketPath, []string{"path"}}, {"longpoll", &fc.LongPollPath, []string{"path", "poll_timeout_ms", "session_timeout_ms"}}} {
		if tr[t.name] == nil {
			continue
		}
		p := "transports." + t.name
		tm := r.object(p, tr[t.name], t.fields...)
		if path := r.str(p+".path", tm["path"]); path != "" {
			if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.ContainsAny(path, " {}") {
				r.errorf(p+".path", "must start with / and not end with one, such as \"/ws\"")
			}
			*t.to = path
		}
	}
	if fc.WebSocketPath == fc.LongPollPath {
		r.errorf("transports.longpoll.path", "the same path as the WebSocket transport")
	}
	if lp := mapOf(tr["longpoll"]); lp != nil {
		fc.HTTP.LongPoll.PollTimeout = r.ms("transports.longpoll.poll_timeout_ms", lp["poll_timeout_ms"])
		fc.HTTP.LongPoll.SessionTimeout = r.ms("transports.longpoll.session_timeout_ms", lp["session_timeout_ms"])
	}
	if tr["rawsocket"] != nil {
		const rp = "transports.rawsocket"
		tm := r.object(rp, tr["rawsocket"], "listen", "tls", "unix", "max_connections", "min_client_length")
		fc.RawSocketListen = r.str(rp+".listen", tm["listen"])
		fc.RawSocketTLS = r.boolean(rp+".tls", tm["tls"])
		if fc.RawSocketTLS && m["tls"] == nil {
			r.errorf(rp+".tls", "needs the file's tls section (cert_file and key_file): the router's certificate")
		}
		fc.RawSocketUnix = r.str(rp+".unix", tm["unix"])
		fc.RawSocketMaxConnections = int(r.integer(rp+".max_connections", tm["max_connections"], 0, 1<<30))
		fc.RawSocketMinClientLength = int(r.integer(rp+".min_client_length", tm["min_client_length"], 0, rawsocket.MaxMessageSize))
	}
	fc.HTTP.OriginPatterns = r.strings("allowed_origins", m["allowed_origins"])
	cfg := &fc.Router
	cfg.StrictURIs = r.boolean("strict_uris", m["strict_uris"])
	r.limits(cfg, m["limits"])
	for i, rv := range r.list("realms", m["realms"]) {
		cfg.Realms = append(cfg.Realms, r.realm(fmt.Sprintf("realms[%d]", i), rv))
		if cfg.Realms[i].Auth.TLS != nil && fc.TLSClientCAs == nil && !r.reported("tls.client_ca_file") {
			r.errorf(fmt.Sprintf("realms[%d].auth.tls", i), "needs tls.client_ca_file: without it no client certificate is verified")
		}
	}
	if m["bridge"] != nil {
		fc.Bridge = r.bridge("bridge", m["bridge"], cfg.Realms)
	}
}

// bridge reads the HTTP bridge's section, shaped like the options of
// Crossbar.io's HTTP publisher and caller: the realm and role its
// requests act in, and the keys that sign them. A secret is given in
// clear (warned about), or named: an environment variable or a file. It
// cannot be hashed, since the router computes the HMAC with it.
func (r *reader) bridge(p string, v any, realms []server.RealmConfig) *server.BridgeConfig {
	m := r.object(p, v, "realm", "authrole", "authid", "keys", "call_timeout_ms", "timestamp_window_ms", "max_body_size")
	b := &server.BridgeConfig{
		Realm:           wamp.URI(r.str(p+".realm", m["realm"])),
		AuthRole:        r.str(p+".authrole", m["authrole"]),
		AuthID:          r.str(p+".authid", m["authid"]),
		CallTimeout:     r.ms(p+".call_timeout_ms", m["call_timeout_ms"]),
		TimestampWindow: r.ms(p+".timestamp_window_ms", m["timestamp_window_ms"]),
		MaxBodySize:     r.integer(p+".max_body_size", m["max_body_size"], 0, 1<<30),
	}
	if b.Realm == "" && !r.reported(p+".realm") {
		r.errorf(p+".realm", "the bridge needs a realm")
	}
	keys := r.object(p+".keys", m["keys"], sortedKeys(mapOf(m["keys"]))...)
	if len(keys) == 0 && !r.reported(p+".keys") {
		r.errorf(p+".keys", "the bridge needs at least one key: id → {\"secret_env\": VARIABLE}, {\"secret_file\": PATH} or {\"secret\": SECRET}")
	}
	for _, id := range sortedKeys(keys) {
		kp := entry(p+".keys", id)
		km := r.object(kp, keys[id], "secret", "secret_env", "secret_file")
		var secret string
		given := 0
		if v, ok := km["secret"]; ok {
			given++
			secret = r.str(kp+".secret", v)
			r.warns = append(r.warns, kp+".secret: a secret in clear; name it instead (secret_env or secret_file)")
		}
		if v, ok := km["secret_env"]; ok {
			given++
			if name := r.str(kp+".secret_env", v); name != "" {
				secret = os.Getenv(name)
				if secret == "" {
					r.errorf(kp+".secret_env", "the environment variable %s is not set", name)
				}
			}
		}
		if v, ok := km["secret_file"]; ok {
			given++
			if file := r.str(kp+".secret_file", v); file != "" {
				data, err := os.ReadFile(file)
				if err != nil {
					r.errorf(kp+".secret_file", "%v", err)
				}
				secret = strings.TrimSpace(string(data))
			}
		}
		switch {
		case given != 1:
			r.errorf(kp, "set exactly one of secret, secret_env and secret_file")
		case r.reported(kp):
		case len(secret) < 16:
			r.errorf(kp, "the secret is shorter than 16 bytes")
		}
		mapSet(&b.Keys, id, secret)
	}
	// The realm and role are checked here for their location; the router
	// checks them again, for flags, when the bridge starts.
	if b.Realm == "" || len(realms) == 0 {
		return b
	}
	i := slices.IndexFunc(realms, func(rc server.RealmConfig) bool { return rc.Name == b.Realm })
	if i < 0 {
		r.errorf(p+".realm", "no realm %q in realms", b.Realm)
		return b
	}
	if role := cmp.Or(b.AuthRole, "http-bridge"); len(realms[i].Roles) > 0 &&
		!slices.ContainsFunc(realms[i].Roles, func(rc server.RoleConfig) bool { return rc.Name == role }) {
		r.errorf(p+".authrole", "realm %q has no role %q", b.Realm, role)
	}
	return b
}

// certPool reads a PEM bundle of CA certificates.
func (r *reader) certPool(path, file string) *x509.CertPool {
	data, err := os.ReadFile(file)
	if err != nil {
		r.errorf(path, "%v", err)
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		r.errorf(path, "%s holds no PEM certificate", file)
		return nil
	}
	return pool
}

func (r *reader) limits(cfg *server.Config, v any) {
	const p = "limits"
	m := r.object(p, v, "max_message_size", "max_hello_size", "hello_timeout_ms", "max_queued_bytes", "max_pending_calls",
		"ping_interval_ms", "ping_timeout_ms", "goodbye_timeout_ms", "default_call_timeout_ms", "max_call_timeout_ms",
		"authorizer_timeout_ms", "auth_failures_per_address", "auth_failures_per_authid", "max_cookie_logins",
		"max_retained_topics", "max_history_topics")
	cfg.MaxMessageSize = r.integer(p+".max_message_size", m["max_message_size"], 0, 1<<30)
	cfg.MaxHelloSize = r.integer(p+".max_hello_size", m["max_hello_size"], 0, 1<<30)
	cfg.HelloTimeout = r.ms(p+".hello_timeout_ms", m["hello_timeout_ms"])
	cfg.MaxQueuedBytes = int(r.integer(p+".max_queued_bytes", m["max_queued_bytes"], 0, 1<<40))
	cfg.MaxPendingCalls = int(r.integer(p+".max_pending_calls", m["max_pending_calls"], 0, 1<<30))
	if v, ok := m["ping_interval_ms"]; ok {
		cfg.PingInterval = time.Duration(r.integer(p+".ping_interval_ms", v, -1, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
	}
	cfg.PingTimeout = r.ms(p+".ping_timeout_ms", m["ping_timeout_ms"])
	cfg.GoodbyeTimeout = r.ms(p+".goodbye_timeout_ms", m["goodbye_timeout_ms"])
	cfg.DefaultCallTimeout = r.ms(p+".default_call_timeout_ms", m["default_call_timeout_ms"])
	cfg.MaxCallTimeout = r.ms(p+".max_call_timeout_ms", m["max_call_timeout_ms"])
	cfg.AuthorizerTimeout = r.ms(p+".authorizer_timeout_ms", m["authorizer_timeout_ms"])
	cfg.MaxCookieLogins = int(r.integer(p+".max_cookie_logins", m["max_cookie_logins"], 0, 1<<30))
	cfg.MaxRetainedTopics = int(r.integer(p+".max_retained_topics", m["max_retained_topics"], 0, 1<<30))
	cfg.MaxHistoryTopics = int(r.integer(p+".max_history_topics", m["max_history_topics"], 0, 1<<30))
	for _, l := range []struct {
		key string
		to  *server.RateLimit
	}{{"auth_failures_per_address", &cfg.AuthFailuresPerAddress}, {"auth_failures_per_authid", &cfg.AuthFailuresPerAuthID}} {
		if m[l.key] == nil {
			continue
		}
		lp := p + "." + l.key
		lm := r.object(lp, m[l.key], "burst", "every_ms")
		l.to.Burst = int(r.integer(lp+".burst", lm["burst"], -1, 1<<20))
		l.to.Every = r.ms(lp+".every_ms", lm["every_ms"])
		if l.to.Burst > 0 && l.to.Every <= 0 {
			r.errorf(lp+".every_ms", "a limit with a burst needs a positive refill interval")
		}
		if l.to.Burst == 0 {
			r.errorf(lp+".burst", "must be positive, or -1 to disable the limit")
		}
	}
}

func (r *reader) realm(p string, v any) server.RealmConfig {
	m := r.object(p, v, "name", "roles", "auth", "event_history")
	rc := server.RealmConfig{Name: wamp.URI(r.str(p+".name", m["name"]))}
	if rc.Name == "" {
		r.errorf(p+".name", "a realm needs a name")
	}
	for i, hv := range r.list(p+".event_history", m["event_history"]) {
		hp := fmt.Sprintf("%s.event_history[%d]", p, i)
		hm := r.object(hp, hv, "topic", "match", "limit")
		rc.EventHistory = append(rc.EventHistory, server.EventHistoryConfig{
			Topic: wamp.URI(r.str(hp+".topic", hm["topic"])),
			Match: r.str(hp+".match", hm["match"]),
			Limit: int(r.integer(hp+".limit", hm["limit"], 1, 1<<20)),
		})
	}
	for i, rv := range r.list(p+".roles", m["roles"]) {
		rc.Roles = append(rc.Roles, r.role(fmt.Sprintf("%s.roles[%d]", p, i), rv))
	}
	r.auth(p+".auth", m["auth"], &rc.Auth)
	return rc
}

func (r *reader) role(p string, v any) server.RoleConfig {
	m := r.object(p, v, "name", "permissions", "authorizer", "trustlevel")
	rc := server.RoleConfig{Name: r.str(p+".name", m["name"]), Authorizer: wamp.URI(r.str(p+".authorizer", m["authorizer"]))}
	if tv, ok := m["trustlevel"]; ok {
		level := int(r.integer(p+".trustlevel", tv, 0, 1<<31-1))
		rc.TrustLevel = &level
	}
	for i, pv := range r.list(p+".permissions", m["permissions"]) {
		pp := fmt.Sprintf("%s.permissions[%d]", p, i)
		// "cache" is accepted for configurations ported from Crossbar.io;
		// static permissions need none.
		pm := r.object(pp, pv, "uri", "match", "allow", "disclose", "cache")
		r.boolean(pp+".cache", pm["cache"])
		perm := server.Permission{URI: wamp.URI(r.str(pp+".uri", pm["uri"])), Match: r.str(pp+".match", pm["match"])}
		if _, ok := pm["uri"]; !ok {
			r.errorf(pp+".uri", "a permission needs a uri (\"\" with match \"prefix\" for every URI)")
		}
		am := r.object(pp+".allow", pm["allow"], "call", "register", "publish", "subscribe")
		perm.Allow = server.Actions{
			Call:      r.boolean(pp+".allow.call", am["call"]),
			Register:  r.boolean(pp+".allow.register", am["register"]),
			Publish:   r.boolean(pp+".allow.publish", am["publish"]),
			Subscribe: r.boolean(pp+".allow.subscribe", am["subscribe"]),
		}
		dm := r.object(pp+".disclose", pm["disclose"], "caller", "publisher")
		perm.Disclose = server.Disclose{Caller: r.boolean(pp+".disclose.caller", dm["caller"]), Publisher: r.boolean(pp+".disclose.publisher", dm["publisher"])}
		rc.Permissions = append(rc.Permissions, perm)
	}
	return rc
}

// method reads the fields every auth method has: "type" (static or
// dynamic, as in Crossbar.io) and the dynamic authenticator.
func (r *reader) method(p string, m map[string]any, static bool) (proc, realm wamp.URI) {
	proc = wamp.URI(r.str(p+".authenticator", m["authenticator"]))
	realm = wamp.URI(r.str(p+".authenticator_realm", m["authenticator_realm"]))
	if v, ok := m["authenticator-realm"]; ok { // Crossbar.io's spelling
		realm = wamp.URI(r.str(p+".authenticator-realm", v))
	}
	t := r.str(p+".type", m["type"])
	switch {
	case t != "" && t != "static" && t != "dynamic":
		r.errorf(p+".type", "must be \"static\" or \"dynamic\", not %q", t)
	case t == "dynamic" && proc == "":
		r.errorf(p+".authenticator", "a dynamic method needs an authenticator procedure")
	case t == "static" && proc != "":
		r.errorf(p+".type", "a static method has no authenticator; say \"dynamic\"")
	case proc == "" && !static:
		r.errorf(p, "needs principals (static) or an authenticator (dynamic)")
	}
	return proc, realm
}

func (r *reader) auth(p string, v any, a *server.AuthConfig) {
	m := r.object(p, v, "anonymous", "ticket", "wampcra", "cryptosign", "tls", "cookie")
	dynFields := []string{"type", "authenticator", "authenticator_realm", "authenticator-realm"}
	if v := m["anonymous"]; v != nil {
		ap := p + ".anonymous"
		am := r.object(ap, v, "type", "role")
		if t := r.str(ap+".type", am["type"]); t != "" && t != "static" {
			r.errorf(ap+".type", "anonymous authentication is \"static\" only")
		}
		a.Anonymous = &server.AnonymousAuth{Role: r.str(ap+".role", am["role"])}
	}
	if v := m["ticket"]; v != nil {
		tp := p + ".ticket"
		tm := r.object(tp, v, append(dynFields, "principals", "allow_insecure")...)
		t := &server.TicketAuth{AllowInsecure: r.boolean(tp+".allow_insecure", tm["allow_insecure"])}
		principals := r.object(tp+".principals", tm["principals"], sortedKeys(mapOf(tm["principals"]))...)
		t.Authenticator, t.AuthenticatorRealm = r.method(tp, tm, len(principals) > 0)
		for _, id := range sortedKeys(principals) {
			up := entry(tp+".principals", id)
			um := r.object(up, principals[id], "role", "ticket", "ticket_hash")
			u := server.TicketPrincipal{Role: r.str(up+".role", um["role"]), Ticket: r.str(up+".ticket", um["ticket"]), TicketHash: r.str(up+".ticket_hash", um["ticket_hash"])}
			if u.Ticket != "" {
				r.warns = append(r.warns, up+".ticket: a ticket in clear; store its hash instead (ticket_hash, from wampd --hash-ticket)")
			}
			mapSet(&t.Principals, id, u)
		}
		a.Ticket = t
	}
	if v := m["wampcra"]; v != nil {
		wp := p + ".wampcra"
		wm := r.object(wp, v, append(dynFields, "users")...)
		w := &server.WAMPCRAAuth{}
		users := r.object(wp+".users", wm["users"], sortedKeys(mapOf(wm["users"]))...)
		w.Authenticator, w.AuthenticatorRealm = r.method(wp, wm, len(users) > 0)
		for _, id := range sortedKeys(users) {
			up := entry(wp+".users", id)
			um := r.object(up, users[id], "role", "secret", "salt", "iterations", "keylen")
			u := server.CRAUser{
				Role: r.str(up+".role", um["role"]), Secret: r.str(up+".secret", um["secret"]), Salt: r.str(up+".salt", um["salt"]),
				Iterations: int(r.integer(up+".iterations", um["iterations"], 1, 10_000_000)),
				KeyLen:     int(r.integer(up+".keylen", um["keylen"], 1, 256)),
			}
			if u.Salt == "" {
				r.warns = append(r.warns, up+".secret: an unsalted secret is the password itself; prefer a salted key (salt, iterations, keylen)")
			}
			mapSet(&w.Users, id, u)
		}
		a.WAMPCRA = w
	}
	if v := m["cryptosign"]; v != nil {
		cp := p + ".cryptosign"
		cm := r.object(cp, v, append(dynFields, "principals")...)
		c := &server.CryptosignAuth{}
		principals := r.object(cp+".principals", cm["principals"], sortedKeys(mapOf(cm["principals"]))...)
		c.Authenticator, c.AuthenticatorRealm = r.method(cp, cm, len(principals) > 0)
		for _, id := range sortedKeys(principals) {
			up := entry(cp+".principals", id)
			um := r.object(up, principals[id], "role", "authorized_keys")
			mapSet(&c.Principals, id, server.CryptosignPrincipal{Role: r.str(up+".role", um["role"]), AuthorizedKeys: r.strings(up+".authorized_keys", um["authorized_keys"])})
		}
		a.Cryptosign = c
	}
	if v := m["tls"]; v != nil {
		tp := p + ".tls"
		tm := r.object(tp, v, "type", "role", "principals")
		if t := r.str(tp+".type", tm["type"]); t != "" && t != "static" {
			r.errorf(tp+".type", "tls authentication is \"static\" only")
		}
		t := &server.TLSAuth{Role: r.str(tp+".role", tm["role"])}
		principals := r.object(tp+".principals", tm["principals"], sortedKeys(mapOf(tm["principals"]))...)
		for _, id := range sortedKeys(principals) {
			up := entry(tp+".principals", id)
			um := r.object(up, principals[id], "role", "fingerprint")
			mapSet(&t.Principals, id, server.TLSPrincipal{Role: r.str(up+".role", um["role"]), Fingerprint: r.str(up+".fingerprint", um["fingerprint"])})
		}
		a.TLS = t
	}
	if v := m["cookie"]; v != nil {
		a.Cookie = r.cookie(p+".cookie", v)
	}
}

// cookie reads a realm's cookie authentication, nil when disabled.
func (r *reader) cookie(p string, v any) *server.CookieAuth {
	m := r.object(p, v, "enabled", "name", "max_age_s", "same_site", "preferred")
	c := &server.CookieAuth{
		Name:      r.str(p+".name", m["name"]),
		MaxAge:    time.Duration(r.integer(p+".max_age_s", m["max_age_s"], 1, 400*24*3600)) * time.Second,
		Preferred: r.boolean(p+".preferred", m["preferred"]),
	}
	switch s := r.str(p+".same_site", m["same_site"]); s {
	case "", "lax":
		c.SameSite = http.SameSiteLaxMode
	case "strict":
		c.SameSite = http.SameSiteStrictMode
	default:
		r.errorf(p+".same_site", "must be \"lax\" or \"strict\", not %q", s)
	}
	// Present is enabled, as in Crossbar.io ("cookie": {}); "enabled":
	// false keeps the settings but turns cookies off.
	if e, ok := m["enabled"]; ok && !r.boolean(p+".enabled", e) {
		return nil
	}
	return c
}

// mapOf returns v as an object, or nil.
func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func mapSet[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = make(map[string]V)
	}
	(*m)[k] = v
}

// apply sets the file's settings on the router's and HTTP handler's
// configurations, keeping what the caller set that the file does not
// (the logger).
func (fc *configFile) apply(cfg server.Config, hc server.HTTPConfig) (server.Config, server.HTTPConfig) {
	logger := cfg.Logger
	cfg = fc.Router
	cfg.Realms = slices.Clone(fc.Router.Realms)
	cfg.Logger = logger
	hc.OriginPatterns = append(hc.OriginPatterns, fc.HTTP.OriginPatterns...)
	hc.LongPoll = fc.HTTP.LongPoll
	return cfg, hc
}

// checkConfig is --check-config: it checks the file, prints its warnings
// and "ok", and returns every mistake.
func checkConfig(path string, stdout io.Writer) error {
	fc, err := loadConfigFile(path)
	if err != nil {
		return err
	}
	for _, w := range fc.Warnings {
		fmt.Fprintf(stdout, "%s: warning: %s\n", path, w)
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

// hashTicket is --hash-ticket: it reads a ticket (its first line) and
// prints its hash for the configuration file's ticket_hash.
func hashTicket(in io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	ticket := strings.TrimRight(line, "\r\n")
	if ticket == "" {
		return errors.New("--hash-ticket: no ticket on standard input")
	}
	if strings.IndexByte(ticket, 0) >= 0 {
		return errors.New("--hash-ticket: a ticket cannot hold a NUL byte")
	}
	fmt.Fprintln(stdout, server.HashTicket(ticket))
	return nil
}

// mountTransports mounts the router's WebSocket and long-poll handlers at
// the configured paths (/ws and /lp by default).
func mountTransports(mux *http.ServeMux, r *server.Router, hc server.HTTPConfig, fc *configFile) {
	ws, lp := "/ws", "/lp"
	if fc != nil {
		ws, lp = fc.WebSocketPath, fc.LongPollPath
	}
	mux.Handle("GET "+ws, r.WebSocketHandler(hc))
	// Every method: CORS preflights are OPTIONS.
	mux.Handle(lp+"/", http.StripPrefix(lp, r.LongPollHandler(hc)))
}

// serverTLS is the TLS configuration of HTTPS and of TLS raw sockets:
// the file's certificate and, with tls.client_ca_file, the verification
// of the client certificates given. It is nil when the file configures
// no TLS.
func serverTLS(fc *configFile) *tls.Config {
	if fc == nil || fc.TLSCertificate == nil {
		return nil
	}
	c := &tls.Config{Certificates: []tls.Certificate{*fc.TLSCertificate}}
	if fc.TLSClientCAs != nil {
		// Asked for, not required: a client without a certificate still
		// connects, and authenticates another way.
		c.ClientCAs, c.ClientAuth = fc.TLSClientCAs, tls.VerifyClientCertIfGiven
	}
	return c
}

// serveHTTP serves HTTP, or HTTPS with tlsCfg when it is not nil.
func serveHTTP(srv *http.Server, ln net.Listener, tlsCfg *tls.Config) error {
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// wsURL is the WebSocket URL of the router, for the log.
func wsURL(addr string, fc *configFile) string {
	if fc == nil {
		return "ws://" + addr + "/ws"
	}
	scheme := "ws://"
	if fc.TLSCert != "" {
		scheme = "wss://"
	}
	return scheme + addr + fc.WebSocketPath
}
