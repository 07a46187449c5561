// Package gcfloor keeps Go's garbage collector from running every few
// milliseconds while a process's heap is small.
//
// With GOGC=100 the collector runs each time the heap doubles: a router
// whose live heap is 2 MiB collects every 2 MiB it allocates, so a burst
// of traffic (a publisher sending 10 MB of events) means a collection
// every few milliseconds, each with its pauses and its share of the CPU
// taken from the sessions. Set sets the collector's percent, after each
// collection, so that its next goal is at least a floor: a small heap
// grows to the floor before the collector runs, a heap above it is
// collected as GOGC says.
package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// maxPercent bounds the percent Set chooses for a nearly empty heap.
const maxPercent = 100_000

var (
	mu      sync.Mutex
	floor   uint64 // 0: not set
	base    int    // the percent the process had before Set
	running bool   // a sentinel is armed
)

// Set makes the heap goal at least floor bytes from the next collection
// on; 0 gives the process its percent back. The percent the process had
// (GOGC) stays the least used; with GOGC=off Set does nothing.
func Set(bytes uint64) {
	mu.Lock()
	defer mu.Unlock()
	if floor == 0 {
		base = gogc()
	}
	if base < 0 {
		return
	}
	floor = bytes
	if floor == 0 {
		debug.SetGCPercent(base)
		return
	}
	debug.SetGCPercent(percentFor(liveHeap(), floor, base))
	if !running {
		running = true
		arm()
	}
}

// percentFor returns the percent whose goal, live*(1+percent/100), is at
// least floor, and at least base.
func percentFor(live, floor uint64, base int) int {
	if live == 0 {
		return max(base, maxPercent)
	}
	p := math.Ceil(100 * (float64(floor)/float64(live) - 1))
	return max(base, int(min(p, maxPercent)))
}

// arm sets a sentinel whose finalizer runs after the next collection: it
// sets the percent for the live heap that collection found, and arms
// another.
func arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) { after() })
}

// sentinel holds a pointer so that it is not one of the tiny allocations
// that share a block, whose finalizers may wait for their neighbours.
type sentinel struct{ _ *int }

func after() {
	mu.Lock()
	defer mu.Unlock()
	if floor == 0 {
		running = false
		return
	}
	debug.SetGCPercent(percentFor(liveHeap(), floor, base))
	arm()
}

// gogc returns the collector's percent (GOGC), negative when it is off.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int(int64(s[0].Value.Uint64())) // off reads as -1 in two's complement
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
