package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wampkit/wampkit/wamp"
)

func TestURITable(t *testing.T) {
	tb := newURITable[string]()
	for _, p := range []struct {
		uri   wamp.URI
		match string
	}{
		{"a.b.c", "exact"}, {"a.b", "prefix"}, {"a", "prefix"}, {"a..c", "wildcard"}, {".b.c", "wildcard"}, {"..", "wildcard"},
	} {
		tb.put(p.uri, p.match, p.match+":"+string(p.uri))
	}
	var got []string
	tb.matches("a.b.c", func(v string) { got = append(got, v) })
	want := []string{"exact:a.b.c", "prefix:a.b", "prefix:a", "wildcard:a..c", "wildcard:.b.c", "wildcard:.."}
	if !slices.Equal(got, want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
	for uri, want := range map[wamp.URI]string{"a.b.c": "exact:a.b.c", "a.bx": "prefix:a.b", "ax.y": "prefix:a", "x.b.c": "wildcard:.b.c", "x.y.z": "wildcard:..", "x.y": ""} {
		if v, _ := tb.best(uri); v != want {
			t.Fatalf("best(%s) = %q, want %q", uri, v, want)
		}
	}
	tb.remove("a..c", "wildcard")
	tb.remove("..", "wildcard")
	tb.remove("a", "prefix")
	if v, ok := tb.get(".b.c", "wildcard"); !ok || v != "wildcard:.b.c" {
		t.Fatalf("get .b.c = %q %v", v, ok)
	}
	if _, ok := tb.get("..", "wildcard"); ok {
		t.Fatal("removed pattern still found")
	}
	tb.remove(".b.c", "wildcard")
	if tb.nWild != 0 || !tb.wild.empty() || !slices.Equal(tb.prefixLens, []int{3}) {
		t.Fatalf("after removals: %d wildcards, root empty %v, prefix lengths %v", tb.nWild, tb.wild.empty(), tb.prefixLens)
	}
}

// BenchmarkURITableMatch measures the lookup of a publication's matching
// subscriptions among 10,000 exact, 1,000 prefix and 1,000 wildcard
// patterns.
func BenchmarkURITableMatch(b *testing.B) {
	tb := newURITable[int]()
	for i := range 10000 {
		tb.put(wamp.URI(fmt.Sprintf("com.example.topic%d.x", i)), "exact", i)
	}
	for i := range 1000 {
		tb.put(wamp.URI(fmt.Sprintf("com.example.topic%d", i)), "prefix", i)
		tb.put(wamp.URI(fmt.Sprintf("com..topic%d.x", i)), "wildcard", i)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		tb.matches("com.example.topic500.x", func(int) { n++ })
	}
	if n == 0 {
		b.Fatal("no match")
	}
}

// BenchmarkPublishPatternFanOut publishes to a topic that 10 subscribers
// reach through an exact, a prefix and a wildcard subscription each.
func BenchmarkPublishPatternFanOut(b *testing.B) {
	r := newTestRouter(b, Config{MaxQueuedBytes: 1 << 30})
	for range 10 {
		c := join(b, r)
		c.subscribe("com.example.bench", nil)
		c.subscribe("com.example", wamp.Dict{"match": "prefix"})
		c.subscribe("com..bench", wamp.Dict{"match": "wildcard"})
		go func() {
			for {
				if _, err := c.peer.Recv(); err != nil {
					return
				}
			}
		}()
	}
	pub := join(b, r)
	rlm := r.realm("realm1")
	s := rlm.session(pub.id)
	m := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.bench", Args: wamp.List{"x"}}
	b.ReportAllocs()
	for b.Loop() {
		rlm.broker.publish(s, m)
	}
}
