package server

import (
	"slices"
	"strings"

	"github.com/wampkit/wampkit/wamp"
)

// uriTable indexes values (subscriptions, registrations) by URI pattern
// under the three match policies, so that a concrete URI finds its matches
// without a scan over every pattern:
//
//   - exact: a map;
//   - prefix: a map of prefixes plus the distinct prefix lengths, so that a
//     URI tries one map lookup per distinct length (a few), longest first;
//   - wildcard: a trie with one level per URI component, where an empty
//     pattern component is a wildcard child; a walk visits concrete children
//     before wildcard ones.
//
// It is not safe for concurrent use: the broker and dealer guard it.
type uriTable[T any] struct {
	exact      map[wamp.URI]T
	prefix     map[wamp.URI]T
	prefixLens []int       // distinct lengths in prefix, longest first
	lenCount   map[int]int // how many prefixes have each length
	wild       wildNode[T]
	nWild      int
}

type wildNode[T any] struct {
	children map[string]*wildNode[T]
	any      *wildNode[T] // the child for a wildcard (empty) component
	val      T
	set      bool
}

func newURITable[T any]() *uriTable[T] {
	return &uriTable[T]{
		exact:    make(map[wamp.URI]T),
		prefix:   make(map[wamp.URI]T),
		lenCount: make(map[int]int),
	}
}

// get returns the value stored for pattern under match.
func (t *uriTable[T]) get(pattern wamp.URI, match string) (T, bool) {
	switch match {
	case wamp.MatchPrefix:
		v, ok := t.prefix[pattern]
		return v, ok
	case wamp.MatchWildcard:
		n := &t.wild
		for c := range strings.SplitSeq(string(pattern), ".") {
			if c == "" {
				n = n.any
			} else {
				n = n.children[c]
			}
			if n == nil {
				var zero T
				return zero, false
			}
		}
		return n.val, n.set
	}
	v, ok := t.exact[pattern]
	return v, ok
}

// put stores v for pattern under match, replacing any value there.
func (t *uriTable[T]) put(pattern wamp.URI, match string, v T) {
	switch match {
	case wamp.MatchPrefix:
		if _, ok := t.prefix[pattern]; !ok {
			t.lenCount[len(pattern)]++
			if t.lenCount[len(pattern)] == 1 {
				t.prefixLens = append(t.prefixLens, len(pattern))
				slices.SortFunc(t.prefixLens, func(a, b int) int { return b - a })
			}
		}
		t.prefix[pattern] = v
	case wamp.MatchWildcard:
		n := &t.wild
		for c := range strings.SplitSeq(string(pattern), ".") {
			if c == "" {
				if n.any == nil {
					n.any = &wildNode[T]{}
				}
				n = n.any
				continue
			}
			next := n.children[c]
			if next == nil {
				if n.children == nil {
					n.children = make(map[string]*wildNode[T])
				}
				next = &wildNode[T]{}
				n.children[c] = next
			}
			n = next
		}
		if !n.set {
			t.nWild++
		}
		n.val, n.set = v, true
	default:
		t.exact[pattern] = v
	}
}

// remove deletes the value stored for pattern under match.
func (t *uriTable[T]) remove(pattern wamp.URI, match string) {
	switch match {
	case wamp.MatchPrefix:
		if _, ok := t.prefix[pattern]; !ok {
			return
		}
		delete(t.prefix, pattern)
		t.lenCount[len(pattern)]--
		if t.lenCount[len(pattern)] == 0 {
			delete(t.lenCount, len(pattern))
			t.prefixLens = slices.DeleteFunc(t.prefixLens, func(l int) bool { return l == len(pattern) })
		}
	case wamp.MatchWildcard:
		if t.wild.remove(string(pattern)) {
			t.nWild--
		}
	default:
		delete(t.exact, pattern)
	}
}

// remove unsets the value at the pattern's path and prunes nodes left
// empty. It reports whether a value was removed.
func (n *wildNode[T]) remove(pattern string) bool {
	c, rest, more := strings.Cut(pattern, ".")
	child := n.any
	if c != "" {
		child = n.children[c]
	}
	if child == nil {
		return false
	}
	var removed bool
	if more {
		removed = child.remove(rest)
	} else if child.set {
		var zero T
		child.val, child.set, removed = zero, false, true
	}
	if child.empty() {
		if c == "" {
			n.any = nil
		} else {
			delete(n.children, c)
		}
	}
	return removed
}

func (n *wildNode[T]) empty() bool { return !n.set && n.any == nil && len(n.children) == 0 }

// best returns the value whose pattern matches uri best, by the
// specification's precedence: exact, then the longest prefix, then the
// wildcard pattern whose concrete components come first (comparing
// components left to right, a concrete one beats a wildcard).
func (t *uriTable[T]) best(uri wamp.URI) (T, bool) {
	if v, ok := t.exact[uri]; ok {
		return v, true
	}
	for _, l := range t.prefixLens {
		if l <= len(uri) {
			if v, ok := t.prefix[uri[:l]]; ok {
				return v, true
			}
		}
	}
	if t.nWild > 0 {
		var found T
		var ok bool
		t.wild.walk(string(uri), func(v T) bool { found, ok = v, true; return false })
		return found, ok
	}
	var zero T
	return zero, false
}

// matches calls fn with every value whose pattern matches uri: the exact
// one, then prefixes (longest first), then wildcards (best first).
func (t *uriTable[T]) matches(uri wamp.URI, fn func(T)) {
	if v, ok := t.exact[uri]; ok {
		fn(v)
	}
	for _, l := range t.prefixLens {
		if l <= len(uri) {
			if v, ok := t.prefix[uri[:l]]; ok {
				fn(v)
			}
		}
	}
	if t.nWild > 0 {
		t.wild.walk(string(uri), func(v T) bool { fn(v); return true })
	}
}

// walk visits the values under n whose wildcard pattern matches the
// remaining components of uri, concrete children first; it stops when fn
// returns false, and reports whether it was stopped.
func (n *wildNode[T]) walk(uri string, fn func(T) bool) bool {
	c, rest, more := strings.Cut(uri, ".")
	for _, child := range [2]*wildNode[T]{n.children[c], n.any} {
		if child == nil {
			continue
		}
		if more {
			if child.walk(rest, fn) {
				return true
			}
		} else if child.set && !fn(child.val) {
			return true
		}
	}
	return false
}

// each calls fn with every value and its match policy.
func (t *uriTable[T]) each(fn func(match string, v T)) {
	for _, v := range t.exact {
		fn(wamp.MatchExact, v)
	}
	for _, v := range t.prefix {
		fn(wamp.MatchPrefix, v)
	}
	t.wild.each(func(v T) { fn(wamp.MatchWildcard, v) })
}

func (n *wildNode[T]) each(fn func(T)) {
	if n.set {
		fn(n.val)
	}
	if n.any != nil {
		n.any.each(fn)
	}
	for _, c := range n.children {
		c.each(fn)
	}
}

// patternMatches reports whether a concrete URI matches pattern under a
// match policy.
func patternMatches(pattern wamp.URI, match string, uri wamp.URI) bool {
	switch match {
	case wamp.MatchPrefix:
		return strings.HasPrefix(string(uri), string(pattern))
	case wamp.MatchWildcard:
		return wamp.MatchWildcardURI(pattern, uri)
	}
	return pattern == uri
}
