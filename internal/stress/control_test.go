package main

import (
	"testing"
	"time"
)

// TestMergeJudgesEveryLatency: the p99 of a case is taken over the calls
// of all its windows, not the highest p99 of each, which for a window of a
// few dozen calls is its slowest call.
func TestMergeJudgesEveryLatency(t *testing.T) {
	same := func(n int, d time.Duration) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = d
		}
		return s
	}
	short := window{calls: 60, samples: append(same(59, time.Millisecond), 9*time.Millisecond)}
	long := window{calls: 541, errs: 1, samples: same(540, 2*time.Millisecond)}
	aside := window{calls: 50} // its latencies left out
	if got := short.p99(); got != 9*time.Millisecond {
		t.Fatalf("p99 of 60 calls = %v, want their slowest, 9ms", got)
	}
	m := merge(short, aside, long)
	if m.calls != 651 || m.errs != 1 || len(m.samples) != 600 {
		t.Fatalf("merged %d calls, %d errors, %d latencies; want 651, 1, 600", m.calls, m.errs, len(m.samples))
	}
	// 600 latencies: the p99 is the sixth slowest, one of the 2ms calls.
	if got := m.p99(); got != 2*time.Millisecond {
		t.Errorf("merged p99 = %v, want 2ms", got)
	}
	if got := (window{}).p99(); got != 0 {
		t.Errorf("p99 of no calls = %v", got)
	}
}
