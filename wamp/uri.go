package wamp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match policies for pattern-based subscriptions and registrations.
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchWildcard = "wildcard"
)

// ValidURI reports whether u is a valid URI. Loose URIs allow any character
// but whitespace (Unicode's, like the specification's \s), '.' and '#' in a
// component; strict URIs allow only [0-9a-z_]. Components may be empty only
// when allowEmpty is set, which prefix and wildcard patterns need
// ("com..add", "com.example."). A URI is never empty and is always valid
// UTF-8.
func ValidURI(u URI, strict, allowEmpty bool) bool {
	s := string(u)
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	if !allowEmpty && (s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '.':
		case strict:
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return false
			}
		case r == '#' || unicode.IsSpace(r):
			return false
		}
	}
	return true
}

// ValidPattern reports whether u is valid as a subscription topic or
// registration procedure under the given match policy: exact URIs have no
// empty component, prefix URIs may end with '.', wildcard URIs may have
// empty components anywhere. It reports false for an unknown policy.
func ValidPattern(u URI, match string, strict bool) bool {
	switch match {
	case "", MatchExact:
		return ValidURI(u, strict, false)
	case MatchPrefix:
		return ValidURI(u, strict, true) && !strings.Contains(string(u), "..") && u[0] != '.'
	case MatchWildcard:
		return ValidURI(u, strict, true) || u == "."
	}
	return false
}

// MatchWildcardURI reports whether a concrete URI matches a wildcard
// pattern: both have the same number of components and every non-empty
// component of the pattern equals the URI's.
func MatchWildcardURI(pattern, uri URI) bool {
	p, s := string(pattern), string(uri)
	for {
		pi := strings.IndexByte(p, '.')
		si := strings.IndexByte(s, '.')
		if (pi < 0) != (si < 0) {
			return false
		}
		pc, sc := p, s
		if pi >= 0 {
			pc, sc = p[:pi], s[:si]
		}
		if pc != "" && pc != sc {
			return false
		}
		if pi < 0 {
			return true
		}
		p, s = p[pi+1:], s[si+1:]
	}
}
