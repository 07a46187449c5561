package wamp

import "testing"

func TestValidURI(t *testing.T) {
	invalidUTF8 := URI("com.\xff.x")
	tests := []struct {
		uri                                        URI
		loose, looseEmpty, strictOK, strictEmptyOK bool
	}{
		{"com.example.add", true, true, true, true},
		{"a", true, true, true, true},
		{"com.example.a_b1", true, true, true, true},
		{"com.Example.add", true, true, false, false},     // upper case is loose only
		{"com.example-app.add", true, true, false, false}, // so is '-'
		{"com.exämple.add", true, true, false, false},     // and non-ASCII
		{"com.example.\u00e9v\u00e9nement", true, true, false, false},
		{"com..add", false, true, false, true},
		{"com.example.", false, true, false, true},
		{".com.example", false, true, false, true},
		{".", false, true, false, true},
		{"..", false, true, false, true},
		{"", false, false, false, false},
		{"com.exa mple", false, false, false, false},
		{"com.example\t", false, false, false, false},
		{"com.\nexample", false, false, false, false},
		{"com.exa\u00a0mple", false, false, false, false}, // no-break space
		{"com.exa\u2028mple", false, false, false, false}, // line separator
		{"com.example#", false, false, false, false},
		{"com.#.add", false, false, false, false},
		{invalidUTF8, false, false, false, false},
		{"\ufffd", true, true, false, false}, // U+FFFD itself is a character like others
	}
	for _, tt := range tests {
		for _, c := range []struct {
			strict, allowEmpty, want bool
		}{
			{false, false, tt.loose},
			{false, true, tt.looseEmpty},
			{true, false, tt.strictOK},
			{true, true, tt.strictEmptyOK},
		} {
			if got := ValidURI(tt.uri, c.strict, c.allowEmpty); got != c.want {
				t.Errorf("ValidURI(%q, strict=%v, allowEmpty=%v) = %v, want %v", tt.uri, c.strict, c.allowEmpty, got, c.want)
			}
		}
	}
}

func TestValidPattern(t *testing.T) {
	tests := []struct {
		uri   URI
		match string
		want  bool
	}{
		{"com.example.add", "", true},
		{"com.example.add", MatchExact, true},
		{"com..add", MatchExact, false},
		{"com.example.", MatchExact, false},
		{"com.example", MatchPrefix, true},
		{"com.example.", MatchPrefix, true},
		{"com", MatchPrefix, true},
		{"com..add", MatchPrefix, false},
		{".com", MatchPrefix, false},
		{"", MatchPrefix, false},
		{"com..add", MatchWildcard, true},
		{".example.", MatchWildcard, true},
		{".", MatchWildcard, true},
		{"com.example.add", MatchWildcard, true},
		{"", MatchWildcard, false},
		{"com.#.add", MatchWildcard, false},
		{"com.example", "regex", false},
		{"com.example", "Exact", false},
	}
	for _, tt := range tests {
		if got := ValidPattern(tt.uri, tt.match, false); got != tt.want {
			t.Errorf("ValidPattern(%q, %q, loose) = %v, want %v", tt.uri, tt.match, got, tt.want)
		}
	}
	for _, tt := range []struct {
		uri   URI
		match string
		want  bool
	}{
		{"com.example.add", MatchExact, true},
		{"com.Example.add", MatchExact, false},
		{"com.example.", MatchPrefix, true},
		{"com.Example.", MatchPrefix, false},
		{"com..add", MatchWildcard, true},
		{"com..Add", MatchWildcard, false},
	} {
		if got := ValidPattern(tt.uri, tt.match, true); got != tt.want {
			t.Errorf("ValidPattern(%q, %q, strict) = %v, want %v", tt.uri, tt.match, got, tt.want)
		}
	}
}

func TestMatchWildcardURI(t *testing.T) {
	tests := []struct {
		pattern, uri URI
		want         bool
	}{
		{"com..add", "com.example.add", true},
		{"com..add", "com.other.add", true},
		{"com..add", "com.example.sub", false},
		{"com..add", "com.example.add.more", false},
		{"com..add", "com.add", false},
		{"..", "a.b.c", true},
		{"..", "a.b", false},
		{".b.", "a.b.c", true},
		{".b.", "a.x.c", false},
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b.d", false},
		{"a.", "a.b", true},
		{".", "a.b", true},
		{".", "a", false},
		{"com..add", "com..add", true},
		{"com.x.add", "com..add", false},
	}
	for _, tt := range tests {
		if got := MatchWildcardURI(tt.pattern, tt.uri); got != tt.want {
			t.Errorf("MatchWildcardURI(%q, %q) = %v, want %v", tt.pattern, tt.uri, got, tt.want)
		}
	}
}
