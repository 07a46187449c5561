package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live, floor uint64
		base, want  int
	}{
		{live: 1 << 20, floor: 64 << 20, base: 100, want: 6300},
		{live: 32 << 20, floor: 64 << 20, base: 100, want: 100},
		{live: 30 << 20, floor: 64 << 20, base: 100, want: 114},
		{live: 100 << 20, floor: 64 << 20, base: 100, want: 100},
		{live: 100 << 20, floor: 64 << 20, base: 300, want: 300},
		{live: 1, floor: 64 << 30, base: 100, want: maxPercent},
		{live: 0, floor: 64 << 20, base: 100, want: maxPercent},
	} {
		if got := percentFor(tc.live, tc.floor, tc.base); got != tc.want {
			t.Errorf("percentFor(%d, %d, %d) = %d, want %d", tc.live, tc.floor, tc.base, got, tc.want)
		}
	}
}

var sink []byte

// collections allocates n MiB of garbage in 64 KiB pieces and returns how
// many collections that took.
func collections(n int) uint32 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n * 16 {
		sink = make([]byte, 64<<10)
	}
	sink = nil
	runtime.ReadMemStats(&after)
	return after.NumGC - before.NumGC
}

// TestFloorSparesSmallHeaps: 64 MiB of garbage on a heap of a few MiB
// takes the collector many runs at GOGC=100, and at most two with a floor
// of 256 MiB; without the floor again, many.
func TestFloorSparesSmallHeaps(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	without := collections(64)
	if without < 8 {
		t.Fatalf("64 MiB of garbage took %d collections at GOGC=100, want at least 8 (the test's premise)", without)
	}
	Set(256 << 20)
	runtime.GC() // the floor's percent is set again for the heap this finds
	with := collections(64)
	Set(0)
	if with > 2 {
		t.Errorf("64 MiB of garbage took %d collections with a floor of 256 MiB, want at most 2", with)
	}
	runtime.GC()
	if again := collections(64); again < 8 {
		t.Errorf("after Set(0), 64 MiB of garbage took %d collections, want at least 8 as before (%d)", again, without)
	}
}
