package main

import (
	"strings"
	"testing"
)

// TestTopicLimitsFromConfigFile: limits.max_retained_topics and
// limits.max_history_topics reach the router's configuration; a bad value
// is reported with its key.
func TestTopicLimitsFromConfigFile(t *testing.T) {
	fc, err := parseConfig([]byte(`{"realms": [{"name": "app"}], "limits": {"max_retained_topics": 500, "max_history_topics": 70}}`))
	if err != nil {
		t.Fatal(err)
	}
	if fc.Router.MaxRetainedTopics != 500 || fc.Router.MaxHistoryTopics != 70 {
		t.Fatalf("read as %d retained and %d history topics, want 500 and 70", fc.Router.MaxRetainedTopics, fc.Router.MaxHistoryTopics)
	}
	_, err = parseConfig([]byte(`{"realms": [{"name": "app"}], "limits": {"max_retained_topics": -1, "max_history_topics": "many"}}`))
	if err == nil {
		t.Fatal("bad limits accepted")
	}
	for _, want := range []string{"limits.max_retained_topics: must be an integer from 0 to", "limits.max_history_topics: must be a number, not a string"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
