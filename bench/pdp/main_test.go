package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestServerQuantiles: the server's p50/p99 are read from two /metrics
// scrapes of the decided oslo series alone, interpolated inside buckets
// as Prometheus's histogram_quantile does.
func TestServerQuantiles(t *testing.T) {
	scrapes := []string{
		`oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="0.0001"} 10
oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="0.0002"} 10
oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="+Inf"} 10
oslorego_pdp_request_duration_seconds_sum{outcome="decided",protocol="oslo"} 0.0005
oslorego_pdp_request_duration_seconds_count{outcome="decided",protocol="oslo"} 10
oslorego_pdp_request_duration_seconds_bucket{outcome="refused",protocol="oslo",le="0.0001"} 99
`,
		`oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="0.0001"} 60
oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="0.0002"} 110
oslorego_pdp_request_duration_seconds_bucket{outcome="decided",protocol="oslo",le="+Inf"} 110
oslorego_pdp_request_duration_seconds_sum{outcome="decided",protocol="oslo"} 0.0155
oslorego_pdp_request_duration_seconds_count{outcome="decided",protocol="oslo"} 110
oslorego_pdp_request_duration_seconds_bucket{outcome="refused",protocol="oslo",le="0.0001"} 500
`,
	}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(scrapes[n]))
		n++
	}))
	defer srv.Close()
	before, err := scrape(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	after, err := scrape(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := after.minus(before)
	// 100 requests: 50 under 100 µs, 50 in (100, 200] µs.
	for _, tc := range []struct{ q, want float64 }{{0.5, 100e-6}, {0.25, 50e-6}, {0.99, 198e-6}} {
		if got := h.quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if h.count != 100 || math.Abs(h.sum-0.015) > 1e-12 {
		t.Errorf("count %v sum %v, want 100 and 0.015", h.count, h.sum)
	}
}
