package main

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestAttackKeepsItsSchedule: the i-th connection of an attack starts at
// i/rate, however many workers are free, and the rate achieved is reported.
func TestAttackKeepsItsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, width, rate = 10, 4, 500.0 // one start per 2ms
		start := time.Now()
		var mu sync.Mutex
		began := make([]time.Duration, n)
		got := attack(n, width, rate, func(i int) {
			mu.Lock()
			began[i] = time.Since(start)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond) // longer than the pace: 3 workers busy at once
		})
		for i, d := range began {
			if want := time.Duration(i) * 2 * time.Millisecond; d != want {
				t.Errorf("connection %d began at %v, want %v", i, d, want)
			}
		}
		// The last one begins at 18ms and ends at 23ms.
		if want := n / 0.023; got < want-0.01 || got > want+0.01 {
			t.Errorf("rate achieved %.2f/s, want %.2f/s", got, want)
		}
	})
}
