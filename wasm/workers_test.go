package main

import (
	"sync"
	"testing"
	"time"
)

func TestWorkersRunEverything(t *testing.T) {
	w := newWorkers()
	const n = 1000
	var mu sync.Mutex
	seen := make(map[int]bool, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		w.run(func() {
			mu.Lock()
			seen[i] = true
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d of %d functions ran", len(seen), n)
	}
}

func TestWorkersKeepAtMostMaxIdle(t *testing.T) {
	w := newWorkers()
	release := make(chan struct{})
	var started sync.WaitGroup
	const busy = 3 * maxIdleWorkers
	started.Add(busy)
	for range busy { // all at once: each needs a worker of its own
		w.run(func() {
			started.Done()
			<-release
		})
	}
	started.Wait()
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for w.idle.Load() != maxIdleWorkers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := w.idle.Load(); got != maxIdleWorkers {
		t.Fatalf("%d idle workers, want %d", got, maxIdleWorkers)
	}
	// An idle worker takes the next function: no new goroutine needed.
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done
}
