package server

import (
	"sync"
	"time"
)

// maxBuckets bounds each failed-attempt table, so that an attacker who
// cycles through authids or addresses cannot grow the router's memory:
// when a table is full, buckets back at full are dropped (they are the
// same as no bucket), and if none is, new keys go untracked in that table
// while the other still applies.
const maxBuckets = 100_000

// authLimits are the router's failed-authentication limits: one token
// bucket per remote address and one per realm and authid. An attempt is
// refused at HELLO when either bucket is empty; each failed guess takes a
// token from both. Checking costs no key derivation.
type authLimits struct {
	byAddress, byAuthID *bucketTable
}

func newAuthLimits(perAddress, perAuthID RateLimit) *authLimits {
	return &authLimits{byAddress: newBucketTable(perAddress), byAuthID: newBucketTable(perAuthID)}
}

// allowed tells whether an attempt from address for authid may proceed.
func (l *authLimits) allowed(address, authid string) bool {
	now := time.Now()
	return l.byAddress.allowed(address, now) && l.byAuthID.allowed(authid, now)
}

// failed records a failed guess.
func (l *authLimits) failed(address, authid string) {
	now := time.Now()
	l.byAddress.take(address, now)
	l.byAuthID.take(authid, now)
}

// bucketTable is a set of token buckets, by key.
type bucketTable struct {
	rate RateLimit

	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket holds the tokens left at a time; tokens come back over time.
type bucket struct {
	tokens float64
	at     time.Time
}

func newBucketTable(rate RateLimit) *bucketTable {
	return &bucketTable{rate: rate, buckets: make(map[string]*bucket)}
}

// level returns the bucket's tokens at now.
func (t *bucketTable) level(b *bucket, now time.Time) float64 {
	return min(float64(t.rate.Burst), b.tokens+float64(now.Sub(b.at))/float64(t.rate.Every))
}

func (t *bucketTable) allowed(key string, now time.Time) bool {
	if t.rate.Burst < 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	return b == nil || t.level(b, now) >= 1
}

func (t *bucketTable) take(key string, now time.Time) {
	if t.rate.Burst < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		if len(t.buckets) >= maxBuckets {
			for k, x := range t.buckets {
				if t.level(x, now) >= float64(t.rate.Burst) {
					delete(t.buckets, k)
				}
			}
			if len(t.buckets) >= maxBuckets {
				return
			}
		}
		b = &bucket{tokens: float64(t.rate.Burst), at: now}
		t.buckets[key] = b
	}
	b.tokens = max(0, t.level(b, now)-1)
	b.at = now
}
