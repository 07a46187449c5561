package server

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampkit/wampkit/transport/longpoll"
	"github.com/wampkit/wampkit/wamp"
)

// The router's counters cost the hot path one uncontended atomic add per
// message: they live in shards, each session writes to the shard it was
// given when it was created, and Stats adds the shards up when asked (on a
// Prometheus scrape, for instance). Gauges (sessions, calls in flight,
// long-poll transports) are not kept at all: Stats counts them from the
// router's own tables. Nothing here knows about Prometheus; package
// internal/metrics turns a Stats into metrics.

// statShards is the number of counter shards. Sessions are spread over
// them in turn, so that readers on different cores rarely add to the same
// cache line.
const statShards = 16

// maxMessageType bounds the message type codes counted one by one; the
// largest WAMP code is YIELD, 70.
const maxMessageType = 70

// callLatencyBounds are the upper bounds of the call latency histogram's
// buckets: from 100 µs (a call between two local sessions) to a minute.
var callLatencyBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second, 30 * time.Second, time.Minute,
}

// statShard is one shard of the router's counters. Its size is a multiple
// of 64 bytes, so that shards never share a cache line.
type statShard struct {
	in, out   [maxMessageType + 1]atomic.Uint64
	latency   [len(callLatencyBounds) + 1]atomic.Uint64 // then +Inf
	latencyNS atomic.Int64
	_         [48]byte
}

// routerStats holds the router's counters.
type routerStats struct {
	shards        [statShards]statShard
	next          atomic.Uint32
	slowConsumers atomic.Uint64

	mu           sync.Mutex
	authFailures map[string]uint64
	longPolls    []*longpoll.Handler
}

// shard hands out the shards in turn.
func (rs *routerStats) shard() *statShard {
	return &rs.shards[rs.next.Add(1)%statShards]
}

// received counts a message a session received.
func (sh *statShard) received(t wamp.MessageType) {
	if t <= maxMessageType {
		sh.in[t].Add(1)
	}
}

// sent counts a message written to a session's transport.
func (sh *statShard) sent(t wamp.MessageType) {
	if t <= maxMessageType {
		sh.out[t].Add(1)
	}
}

// unsent takes back the count of a message that the transport refused.
func (sh *statShard) unsent(t wamp.MessageType) {
	if t <= maxMessageType {
		sh.out[t].Add(^uint64(0))
	}
}

// CallLatencyBounds returns the upper bounds of the call latency
// histogram's buckets, in Stats.CallLatency.
func CallLatencyBounds() []time.Duration { return slices.Clone(callLatencyBounds[:]) }

// callDone records the latency of a call that got its answer.
func (sh *statShard) callDone(d time.Duration) {
	i := 0
	for i < len(callLatencyBounds) && d > callLatencyBounds[i] {
		i++
	}
	sh.latency[i].Add(1)
	sh.latencyNS.Add(int64(d))
}

// authFailed counts a failed authentication by method. Unknown methods
// are counted as "other", so that a client cannot grow the label set.
func (rs *routerStats) authFailed(method string) {
	switch method {
	case "anonymous", "ticket", "wampcra", "cryptosign", "scram", "tls", "cookie":
	default:
		method = "other"
	}
	rs.mu.Lock()
	if rs.authFailures == nil {
		rs.authFailures = make(map[string]uint64)
	}
	rs.authFailures[method]++
	rs.mu.Unlock()
}

// AuthFailed counts one failed authentication with method (ticket, wampcra,
// cryptosign ...) in Stats.AuthFailures. The router's authenticators call
// it; so may an authenticator outside the router.
func (r *Router) AuthFailed(method string) { r.stats.authFailed(method) }

// SessionKey is what Stats.Sessions counts sessions by.
type SessionKey struct {
	Realm     wamp.URI
	Transport string // transport.Info.Transport: "websocket", "longpoll" ...
}

// Histogram is a snapshot of the call latency histogram, in the form
// Prometheus takes: Buckets[i] counts the calls that took at most
// CallLatencyBounds()[i] (cumulative), Count every call, Sum their total
// duration.
type Histogram struct {
	Buckets []uint64
	Count   uint64
	Sum     time.Duration
}

// Stats is a snapshot of what the router counts. Counters count from the
// router's start; the rest is the state at the time of the snapshot.
type Stats struct {
	// Sessions counts the established sessions by realm and transport.
	Sessions map[SessionKey]int
	// MessagesIn and MessagesOut count the messages received from and
	// written to sessions, by type; types never seen are absent.
	MessagesIn, MessagesOut map[wamp.MessageType]uint64
	// CallsInFlight is the number of calls waiting for their result.
	CallsInFlight int
	// CallLatency is the time from CALL to the caller's answer (RESULT or
	// ERROR: a timeout and a cancel count too) of every call that got one.
	// Progressive results do not end a call.
	CallLatency Histogram
	// SlowConsumers counts the sessions disconnected because they did
	// not read fast enough.
	SlowConsumers uint64
	// AuthFailures counts failed authentications by method.
	AuthFailures map[string]uint64
	// LongPollTransports is the number of long-poll transports open in
	// the router's long-poll handlers.
	LongPollTransports int
}

// Stats returns a snapshot of the router's counters and gauges. It costs
// a walk over the sessions: call it from a scrape, not per message.
func (r *Router) Stats() Stats {
	st := Stats{
		Sessions:    make(map[SessionKey]int),
		MessagesIn:  make(map[wamp.MessageType]uint64),
		MessagesOut: make(map[wamp.MessageType]uint64),
		CallLatency: Histogram{Buckets: make([]uint64, len(callLatencyBounds))},
	}
	var inf uint64
	for i := range r.stats.shards {
		sh := &r.stats.shards[i]
		for t := range sh.in {
			if n := sh.in[t].Load(); n > 0 {
				st.MessagesIn[wamp.MessageType(t)] += n
			}
			if n := sh.out[t].Load(); n > 0 {
				st.MessagesOut[wamp.MessageType(t)] += n
			}
		}
		for b := range len(callLatencyBounds) {
			st.CallLatency.Buckets[b] += sh.latency[b].Load()
		}
		inf += sh.latency[len(callLatencyBounds)].Load()
		st.CallLatency.Sum += time.Duration(sh.latencyNS.Load())
	}
	for b := 1; b < len(st.CallLatency.Buckets); b++ {
		st.CallLatency.Buckets[b] += st.CallLatency.Buckets[b-1]
	}
	st.CallLatency.Count = st.CallLatency.Buckets[len(st.CallLatency.Buckets)-1] + inf
	st.SlowConsumers = r.stats.slowConsumers.Load()

	for _, s := range r.snapshot() {
		if !s.established.Load() {
			continue
		}
		st.Sessions[SessionKey{Realm: s.realm.name, Transport: s.peer.Info().Transport}]++
		s.mu.Lock()
		st.CallsInFlight += len(s.calls)
		s.mu.Unlock()
	}

	r.stats.mu.Lock()
	st.AuthFailures = make(map[string]uint64, len(r.stats.authFailures))
	for m, n := range r.stats.authFailures {
		st.AuthFailures[m] = n
	}
	lps := r.stats.longPolls
	r.stats.mu.Unlock()
	for _, h := range lps {
		st.LongPollTransports += h.Len()
	}
	return st
}
