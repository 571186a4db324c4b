package pdp

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/rego"
)

// metrics are the PDP's collectors. Rule labels come from the bundle's
// rule names alone, so a caller cannot grow the series.
//
// A vector's WithLabelValues hashes its labels and takes a lock on every
// call; the series a request touches are looked up once and kept
// (child), each at its first use, so that /metrics shows the same series
// as if looked up each time.
type metrics struct {
	decisions *prometheus.CounterVec
	duration  prometheus.Histogram
	requests  *prometheus.CounterVec
	// served is the server's own time per request, from the handler's
	// start to the decision logged (the body read, parsed, decided).
	served *prometheus.HistogramVec

	servedBy [2][2]child[prometheus.Observer] // protocol, outcome (decided, refused)
	answered [2]child[prometheus.Counter]     // protocol: requests answered 200
}

// protocol is which of the two protocols a request speaks.
type protocol uint8

const (
	protoOslo protocol = iota // POST /v1/oslo/check
	protoOPA                  // POST /v1/data/{path}/allow
)

// String is the protocol's name in the decision log and the metrics.
func (p protocol) String() string {
	if p == protoOPA {
		return "opa"
	}
	return "oslo"
}

// child is a series of a vector, looked up at its first use.
type child[T any] struct{ p atomic.Pointer[T] }

// get is c's series, vec's for labels a and b.
func get[T any](c *child[T], vec interface{ WithLabelValues(...string) T }, a, b string) T {
	if p := c.p.Load(); p != nil {
		return *p
	}
	// Two first uses at once both look it up: the vector gives both the
	// same series.
	v := vec.WithLabelValues(a, b)
	c.p.Store(&v)
	return v
}

// ruleCounters are one rule label's decision counters.
type ruleCounters struct {
	label string
	deny  child[prometheus.Counter]
	allow child[prometheus.Counter]
}

func newMetrics(reg prometheus.Registerer, memo *rego.MemoStats) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_pdp_decisions_total", Help: "PDP decisions by rule (\"(unknown)\" for a name the bundle does not define) and result.",
		}, []string{"rule", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "oslorego_pdp_decision_duration_seconds", Help: "Time to decide one PDP request's rule.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 14),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_pdp_requests_total", Help: "PDP requests by protocol (oslo, opa) and status code.",
		}, []string{"protocol", "code"}),
		// About 26% apart from 10 µs to 1 s: a p99 near the 200 µs goal is
		// read to within a bucket of that width.
		served: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oslorego_pdp_request_duration_seconds",
			Help:    "PDP server time per request (read, parse, decide, log), by protocol (oslo, opa) and outcome (decided, refused).",
			Buckets: prometheus.ExponentialBucketsRange(10e-6, 1, 50),
		}, []string{"protocol", "outcome"}),
	}
	memoLookups := func(result string, n *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "oslorego_pdp_decision_memo_lookups_total", Help: "PDP decisions by what the decision memo did: hit (answered from it), miss (evaluated and kept), bypass (not memoised).",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(n.Load()) })
	}
	for _, c := range []prometheus.Collector{m.decisions, m.duration, m.requests, m.served,
		memoLookups("hit", &memo.Hits), memoLookups("miss", &memo.Misses), memoLookups("bypass", &memo.Bypassed)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the PDP metrics: %w", err)
		}
	}
	return m, nil
}

// observe counts a decision of rule (its label's counters) and its time.
func (m *metrics) observe(rule *ruleCounters, allowed bool, d time.Duration) {
	if allowed {
		get(&rule.allow, m.decisions, rule.label, resultAllow).Inc()
	} else {
		get(&rule.deny, m.decisions, rule.label, resultDeny).Inc()
	}
	m.duration.Observe(d.Seconds())
}

// servedFor records a request's server time; decided when it got an
// allow or deny, refused otherwise.
func (m *metrics) servedFor(r *record, d time.Duration) {
	outcome, i := "refused", 1
	if r.result == resultAllow || r.result == resultDeny {
		outcome, i = "decided", 0
	}
	get(&m.servedBy[r.protocol][i], m.served, r.protocol.String(), outcome).Observe(d.Seconds())
}

func (m *metrics) request(p protocol, status int) {
	if status == 200 {
		get(&m.answered[p], m.requests, p.String(), "200").Inc()
		return
	}
	m.requests.WithLabelValues(p.String(), strconv.Itoa(status)).Inc()
}
