package wamp

import (
	"math/rand/v2"
	"sync/atomic"
)

// GlobalID returns a random ID drawn uniformly from [1, 2^53], for the
// global scope: sessions and publications.
func GlobalID() ID {
	return ID(rand.Uint64N(uint64(MaxID))) + 1
}

// SequentialID hands out the IDs of the router and session scopes:
// 1, 2, 3 ... up to 2^53, then 1 again. It is safe for concurrent use and
// its zero value is ready.
type SequentialID struct {
	last atomic.Uint64
}

// Next returns the next ID.
func (s *SequentialID) Next() ID {
	for {
		old := s.last.Load()
		next := old + 1
		if next > uint64(MaxID) {
			next = 1
		}
		if s.last.CompareAndSwap(old, next) {
			return ID(next)
		}
	}
}
