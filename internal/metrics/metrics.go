// Package metrics exposes a router's counters to Prometheus.
//
// The router keeps plain atomic counters on its hot path and knows nothing
// of Prometheus (server.Router.Stats); the Collector here reads a snapshot
// of them on each scrape and turns it into these metrics:
//
//	wampkit_sessions{realm, transport}          gauge: established sessions
//	wampkit_messages_received_total{type}       counter: messages from sessions, by WAMP type
//	wampkit_messages_sent_total{type}           counter: messages to sessions, by WAMP type
//	wampkit_calls_in_flight                     gauge: calls waiting for their result
//	wampkit_call_duration_seconds               histogram: CALL to RESULT or ERROR
//	wampkit_slow_consumer_disconnects_total     counter: sessions dropped for not reading
//	wampkit_auth_failures_total{authmethod}     counter: failed authentications
//	wampkit_longpoll_transports                 gauge: long-poll transports open
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wampkit/wampkit/server"
)

// Collector is a prometheus.Collector of a router's Stats.
type Collector struct {
	router *server.Router

	sessions, received, sent, inFlight, latency, slow, authFailures, longPolls *prometheus.Desc
}

// NewCollector returns the collector of r's metrics.
func NewCollector(r *server.Router) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wampkit_"+name, help, labels, nil)
	}
	return &Collector{
		router:       r,
		sessions:     d("sessions", "Established WAMP sessions by realm and transport.", "realm", "transport"),
		received:     d("messages_received_total", "WAMP messages received from sessions, by message type.", "type"),
		sent:         d("messages_sent_total", "WAMP messages written to sessions, by message type.", "type"),
		inFlight:     d("calls_in_flight", "Calls waiting for their result."),
		latency:      d("call_duration_seconds", "Time from a CALL to its RESULT or ERROR, for the calls that got one."),
		slow:         d("slow_consumer_disconnects_total", "Sessions disconnected because they did not read fast enough."),
		authFailures: d("auth_failures_total", "Failed authentications by method.", "authmethod"),
		longPolls:    d("longpoll_transports", "Long-poll transports open."),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.received, c.sent, c.inFlight, c.latency, c.slow, c.authFailures, c.longPolls} {
		ch <- d
	}
}

// Collect reads the router's Stats and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.router.Stats()
	for k, n := range st.Sessions {
		ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(n), string(k.Realm), k.Transport)
	}
	for t, n := range st.MessagesIn {
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(n), t.String())
	}
	for t, n := range st.MessagesOut {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(n), t.String())
	}
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(st.CallsInFlight))
	buckets := make(map[float64]uint64, len(st.CallLatency.Buckets))
	for i, b := range server.CallLatencyBounds() {
		buckets[b.Seconds()] = st.CallLatency.Buckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.latency, st.CallLatency.Count, st.CallLatency.Sum.Seconds(), buckets)
	ch <- prometheus.MustNewConstMetric(c.slow, prometheus.CounterValue, float64(st.SlowConsumers))
	for m, n := range st.AuthFailures {
		ch <- prometheus.MustNewConstMetric(c.authFailures, prometheus.CounterValue, float64(n), m)
	}
	ch <- prometheus.MustNewConstMetric(c.longPolls, prometheus.GaugeValue, float64(st.LongPollTransports))
}

// Handler returns the /metrics handler: r's metrics, plus the Go runtime's
// and the process's, in a registry of their own.
func Handler(r *server.Router) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(r), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
