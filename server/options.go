package server

import (
	"fmt"
	"math"

	"github.com/wampkit/wampkit/wamp"
)

// Readers for the values of options dictionaries and meta procedure
// arguments. Each reports an error, in words for the peer, when the value
// has the wrong type; an absent key yields the default.

func boolOption(d wamp.Dict, key string, def bool) (bool, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return def, fmt.Errorf("option %s must be a boolean", key)
	}
	return b, nil
}

func stringOption(d wamp.Dict, key, def string) (string, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, fmt.Errorf("option %s must be a string", key)
	}
	return s, nil
}

// toInt reads an integer, which JSON may have decoded as an integral
// float64.
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}

// toID reads a WAMP ID: an integer in [0, 2^53].
func toID(v any) (wamp.ID, bool) {
	n, ok := toInt(v)
	if !ok || n < 0 || wamp.ID(n) > wamp.MaxID {
		return 0, false
	}
	return wamp.ID(n), true
}

// idSet reads an optional list of session IDs into a set; nil means the
// key is absent, an empty set that the list is empty.
func idSet(d wamp.Dict, key string) (map[wamp.ID]struct{}, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, fmt.Errorf("option %s must be a list of session IDs", key)
	}
	set := make(map[wamp.ID]struct{}, len(l))
	for _, e := range l {
		id, ok := toID(e)
		if !ok {
			return nil, fmt.Errorf("option %s must be a list of session IDs", key)
		}
		set[id] = struct{}{}
	}
	return set, nil
}

// stringSet reads an optional list of strings into a set, as idSet does.
func stringSet(d wamp.Dict, key string) (map[string]struct{}, error) {
	v, ok := d[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, fmt.Errorf("option %s must be a list of strings", key)
	}
	set := make(map[string]struct{}, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("option %s must be a list of strings", key)
		}
		set[s] = struct{}{}
	}
	return set, nil
}

// matchOption reads Options.match, which must be a known policy.
func matchOption(d wamp.Dict) (string, error) {
	match, err := stringOption(d, "match", wamp.MatchExact)
	if err != nil {
		return "", err
	}
	switch match {
	case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
		return match, nil
	}
	return "", fmt.Errorf("match policy %q is not one of exact, prefix, wildcard", match)
}
