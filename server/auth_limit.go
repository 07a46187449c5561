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
// bucket per remote address and one per realm and authid. An attempt takes
// a token from both at HELLO, before any key derivation, and is refused
// when either bucket is empty; it gives them back unless it ends in a
// failed guess. So a failed guess costs a token, and so does each
// handshake still in progress: parallel HELLOs get no more attempts than
// sequential ones.
type authLimits struct {
	byAddress, byAuthID *bucketTable
	now                 func() time.Time // time.Now; tests move it
}

func newAuthLimits(perAddress, perAuthID RateLimit) *authLimits {
	return &authLimits{byAddress: newBucketTable(perAddress), byAuthID: newBucketTable(perAuthID), now: time.Now}
}

// begin takes a token for an attempt from address for authid, from both
// buckets or from neither, and reports whether it did.
func (l *authLimits) begin(address, authid string) bool {
	now := l.now()
	if !l.byAddress.take(address, now) {
		return false
	}
	if !l.byAuthID.take(authid, now) {
		l.byAddress.give(address, now)
		return false
	}
	return true
}

// end gives back the tokens of an attempt that was not a failed guess.
func (l *authLimits) end(address, authid string) {
	now := l.now()
	l.byAddress.give(address, now)
	l.byAuthID.give(authid, now)
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

// take takes a token from key's bucket if it has one, and reports whether
// it did. A key the full table cannot track is let through.
func (t *bucketTable) take(key string, now time.Time) bool {
	if t.rate.Burst < 0 {
		return true
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
				return true
			}
		}
		b = &bucket{tokens: float64(t.rate.Burst), at: now}
		t.buckets[key] = b
	}
	level := t.level(b, now)
	if level < 1 {
		return false
	}
	b.tokens, b.at = level-1, now
	return true
}

// give puts a token back into key's bucket.
func (t *bucketTable) give(key string, now time.Time) {
	if t.rate.Burst < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.buckets[key]; b != nil {
		b.tokens, b.at = min(float64(t.rate.Burst), t.level(b, now)+1), now
	}
}
