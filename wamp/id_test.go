package wamp

import (
	"sync"
	"testing"
)

func TestSequentialID(t *testing.T) {
	var s SequentialID
	for want := ID(1); want <= 3; want++ {
		if got := s.Next(); got != want {
			t.Fatalf("Next() = %d, want %d", got, want)
		}
	}
	s.last.Store(uint64(MaxID) - 1)
	for _, want := range []ID{MaxID, 1, 2} {
		if got := s.Next(); got != want {
			t.Errorf("Next() near 2^53 = %d, want %d", got, want)
		}
	}
}

func TestSequentialIDConcurrent(t *testing.T) {
	var s SequentialID
	const workers, each = 8, 1000
	ids := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				ids[w] = append(ids[w], s.Next())
			}
		})
	}
	wg.Wait()
	seen := make(map[ID]bool, workers*each)
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Fatalf("ID %d handed out twice", id)
			}
			seen[id] = true
		}
	}
	for id := ID(1); id <= workers*each; id++ {
		if !seen[id] {
			t.Fatalf("ID %d skipped", id)
		}
	}
}

func TestGlobalID(t *testing.T) {
	const n = 100000
	seen := make(map[ID]bool, n)
	high := 0
	for range n {
		id := GlobalID()
		if id < 1 || id > MaxID {
			t.Fatalf("GlobalID() = %d, outside [1, 2^53]", id)
		}
		if id > MaxID/2 {
			high++
		}
		seen[id] = true
	}
	// Uniform over 2^53 values: n draws are all distinct (a collision has
	// a probability near 5e-7) and about half fall in the upper half.
	if len(seen) != n {
		t.Errorf("%d distinct IDs in %d draws", len(seen), n)
	}
	if high < n*45/100 || high > n*55/100 {
		t.Errorf("%d of %d IDs in the upper half of the range", high, n)
	}
}
