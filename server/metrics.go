package server

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	decideDur *prometheus.HistogramVec
	bytes     *prometheus.CounterVec
	rejected  prometheus.Counter
	// sourceUnavailable counts 503s for an image source that could not
	// answer (gateway mode: the upstream Glance down, slow or failing).
	sourceUnavailable *prometheus.CounterVec

	// The children of the vectors above that requests use, by label
	// values: a request's metrics cost a map read each, not hashing and
	// checking every label (all label sets are bounded, see observe).
	requestsBy  children[requestLabels, prometheus.Counter]
	durationBy  children[routeMethod, prometheus.Observer]
	bytesBy     children[string, prometheus.Counter]
	decisionsBy children[decisionLabels, prometheus.Counter]
	decideDurBy children[string, prometheus.Observer]
}

type routeMethod struct{ route, method string }

type requestLabels struct {
	routeMethod
	code int
}

type decisionLabels struct {
	action  string
	allowed bool
}

// children caches a metric vector's children by their label values.
type children[K comparable, M any] struct {
	mu  sync.RWMutex
	m   map[K]M
	new func(K) M
}

// with returns the child for k, made with new the first time.
func (c *children[K, M]) with(k K) M {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = c.new(k)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]M{}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// newMetrics registers the server's collectors, and others.
func newMetrics(reg prometheus.Registerer, others ...prometheus.Collector) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oslorego_http_request_duration_seconds", Help: "Time to answer a request, body included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12),
		}, []string{"route", "method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_decisions_total", Help: "Policy decisions by action and result.",
		}, []string{"action", "result"}),
		decideDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oslorego_decision_duration_seconds", Help: "Time to decide one policy action.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 14),
		}, []string{"action"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_image_bytes_served_total", Help: "Image data bytes sent, by route.",
		}, []string{"route"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oslorego_http_requests_rejected_total", Help: "Requests answered 503 because --max-requests were in progress.",
		}),
		sourceUnavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_source_unavailable_total", Help: "Requests answered 503 or broken off because the image source (the upstream Glance in gateway mode) failed, by step: find, open, transfer.",
		}, []string{"step"}),
	}
	m.requestsBy.new = func(k requestLabels) prometheus.Counter {
		return m.requests.WithLabelValues(k.route, k.method, codeLabel(k.code))
	}
	m.durationBy.new = func(k routeMethod) prometheus.Observer { return m.duration.WithLabelValues(k.route, k.method) }
	m.bytesBy.new = func(route string) prometheus.Counter { return m.bytes.WithLabelValues(route) }
	m.decisionsBy.new = func(k decisionLabels) prometheus.Counter {
		result := "deny"
		if k.allowed {
			result = "allow"
		}
		return m.decisions.WithLabelValues(k.action, result)
	}
	m.decideDurBy.new = func(action string) prometheus.Observer { return m.decideDur.WithLabelValues(action) }
	for _, c := range append([]prometheus.Collector{m.requests, m.duration, m.decisions, m.decideDur, m.bytes, m.rejected, m.sourceUnavailable}, others...) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

var (
	memoLookupsDesc = prometheus.NewDesc("oslorego_decision_memo_lookups_total",
		"Policy decisions by what the decision memo did: hit (answered from it), miss (evaluated and kept), bypass (not memoisable: evaluated).", []string{"result"}, nil)
	memoEvictionsDesc = prometheus.NewDesc("oslorego_decision_memo_evictions_total",
		"Decisions dropped from the decision memo to keep its bound.", nil, nil)
	memoEntriesDesc = prometheus.NewDesc("oslorego_decision_memo_entries",
		"Decisions kept in the memo of the policy revision in force.", nil, nil)
)

// memoCollector reports the decision memos' counts (over every
// revision) and the size of the memo in force.
type memoCollector struct{ s *Server }

func (s *Server) memoCollector() prometheus.Collector { return memoCollector{s} }

func (c memoCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- memoLookupsDesc
	ch <- memoEvictionsDesc
	ch <- memoEntriesDesc
}

func (c memoCollector) Collect(ch chan<- prometheus.Metric) {
	st := &c.s.memoStats
	for result, n := range map[string]uint64{"hit": st.Hits.Load(), "miss": st.Misses.Load(), "bypass": st.Bypassed.Load()} {
		ch <- prometheus.MustNewConstMetric(memoLookupsDesc, prometheus.CounterValue, float64(n), result)
	}
	ch <- prometheus.MustNewConstMetric(memoEvictionsDesc, prometheus.CounterValue, float64(st.Evictions.Load()))
	entries := 0
	if pol := c.s.state.Load(); pol != nil {
		entries = pol.memo.Len()
	}
	ch <- prometheus.MustNewConstMetric(memoEntriesDesc, prometheus.GaugeValue, float64(entries))
}

func (m *metrics) observeDecision(action string, allowed bool, d time.Duration) {
	m.decisionsBy.with(decisionLabels{action, allowed}).Inc()
	m.decideDurBy.with(action).Observe(d.Seconds())
}

// observe gives every response a request id and counts it. Every label
// comes from a bounded set: a client cannot grow the series.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		// The key is canonical: set it without Set's canonicalisation.
		c.Response().Header()[headerRequestID] = []string{newRequestID()}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		rm := routeMethod{s.routeLabel(c), methodLabel(c.Request().Method)}
		code := c.Response().Status
		if code < 100 || code > 599 {
			code = 0 // one key for every code codeLabel calls "other"
		}
		s.metrics.requestsBy.with(requestLabels{rm, code}).Inc()
		s.metrics.durationBy.with(rm).Observe(time.Since(start).Seconds())
		return nil
	}
}

// codeLabel is the status code, or "other" outside 100–599.
func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
