// Command pdp is the PDP's load generator (bench/pdp/run.sh runs it): it
// POSTs oslo HttpCheck bodies built from one real policy's conformance
// cases (the requests TestPDPDelegated sends) to a running `oslorego serve
// --pdp-listen` over keep-alive connections for a while, and reports
// decisions per second, the client's latency, and the server's own p50/p99
// from oslorego_pdp_request_duration_seconds (the difference of two scrapes
// of /metrics around the measured run).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/oslorego/oslorego/policy_test/casegen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pdp:", err)
		os.Exit(1)
	}
}

type options struct {
	policies, service, checkURL, metricsURL, contentType string
	conns                                                int
	duration, warmup                                     time.Duration
}

func run() error {
	var o options
	flag.StringVar(&o.policies, "policies", "../shared/policies", "the shared real policies (NAME.meta.json)")
	flag.StringVar(&o.service, "service", "nova", "whose real-policy cases to send (real-NAME-meta)")
	flag.StringVar(&o.checkURL, "url", "", "the PDP's /v1/oslo/check URL")
	flag.StringVar(&o.metricsURL, "metrics", "", "the server's /metrics URL (for the server-side p50/p99)")
	flag.StringVar(&o.contentType, "content-type", "application/json", "application/json or application/x-www-form-urlencoded (oslo's remote_content_type)")
	flag.IntVar(&o.conns, "conns", 8, "concurrent keep-alive connections")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured run before")
	flag.Parse()
	if o.checkURL == "" || o.metricsURL == "" {
		return errors.New("-url and -metrics are required")
	}
	bodies, err := checkBodies(o.policies, o.service, o.contentType)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns}}
	if o.warmup > 0 {
		if _, err := load(client, o, bodies, o.warmup); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	before, err := scrape(client, o.metricsURL)
	if err != nil {
		return err
	}
	res, err := load(client, o, bodies, o.duration)
	if err != nil {
		return err
	}
	after, err := scrape(client, o.metricsURL)
	if err != nil {
		return err
	}
	server := after.minus(before)
	sort.Float64s(res.latencies)
	n := len(res.latencies)
	fmt.Printf("service=%s bodies=%d conns=%d duration=%v content_type=%s\n", o.service, len(bodies), o.conns, o.duration, o.contentType)
	fmt.Printf("decisions=%d allowed=%d denied=%d decisions_per_s=%.0f\n", n, res.allowed, n-res.allowed, float64(n)/res.elapsed.Seconds())
	fmt.Printf("client_ms p50=%.3f p99=%.3f\n", 1e3*res.latencies[n/2], 1e3*res.latencies[min(n-1, n*99/100)])
	fmt.Printf("server_us count=%.0f p50=%.0f p99=%.0f mean=%.0f\n", server.count, 1e6*server.quantile(0.5), 1e6*server.quantile(0.99), 1e6*server.sum/server.count)
	if server.count < float64(n) {
		return fmt.Errorf("the server counted %.0f decided requests, the client %d", server.count, n)
	}
	return nil
}

// checkBodies are HttpCheck's bodies for the service's real-policy cases
// that enforce a rule name (as a service's enforce() does).
func checkBodies(policies, service, contentType string) ([][]byte, error) {
	areas, err := casegen.RealPolicies(policies)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, a := range areas {
		if a.Name != "real-"+service+"-meta" {
			continue
		}
		for _, c := range a.Cases {
			if c.Check != nil {
				continue
			}
			body, err := encode(c.Rule, c.Target, c.Creds, contentType)
			if err != nil {
				return nil, fmt.Errorf("case %s: %w", c.ID, err)
			}
			out = append(out, body)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no real-%s-meta cases in %s", service, policies)
	}
	return out, nil
}

func encode(rule string, target, creds any, contentType string) ([]byte, error) {
	if contentType == "application/json" {
		return json.Marshal(map[string]any{"rule": rule, "target": target, "credentials": creds})
	}
	form := url.Values{}
	for k, v := range map[string]any{"rule": rule, "target": target, "credentials": creds} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		form.Set(k, string(b))
	}
	return []byte(form.Encode()), nil
}

type result struct {
	latencies []float64
	allowed   int
	elapsed   time.Duration
}

// load sends bodies round-robin on o.conns connections for d; anything
// but a 200 True/False stops it.
func load(client *http.Client, o options, bodies [][]byte, d time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var all result
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine result
			var err error
			for i := w; ctx.Err() == nil; i += o.conns {
				var allowed bool
				t0 := time.Now()
				if allowed, err = post(client, o, bodies[i%len(bodies)]); err != nil {
					break
				}
				mine.latencies = append(mine.latencies, time.Since(t0).Seconds())
				if allowed {
					mine.allowed++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			all.latencies = append(all.latencies, mine.latencies...)
			all.allowed += mine.allowed
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	if firstErr == nil && len(all.latencies) == 0 {
		firstErr = errors.New("no request answered")
	}
	return all, firstErr
}

func post(client *http.Client, o options, body []byte) (bool, error) {
	resp, err := client.Post(o.checkURL, o.contentType, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	switch {
	case resp.StatusCode == http.StatusOK && string(answer) == "True":
		return true, nil
	case resp.StatusCode == http.StatusOK && string(answer) == "False":
		return false, nil
	}
	return false, fmt.Errorf("%d %q for %s", resp.StatusCode, answer, body)
}

// histogram is oslorego_pdp_request_duration_seconds{protocol="oslo",
// outcome="decided"}: cumulative counts by upper bound.
type histogram struct {
	bounds, counts []float64
	sum, count     float64
}

var (
	bucketRx = regexp.MustCompile(`^oslorego_pdp_request_duration_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\} (\S+)$`)
	sumRx    = regexp.MustCompile(`^oslorego_pdp_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$`)
)

const series = `outcome="decided",protocol="oslo"`

func scrape(client *http.Client, metricsURL string) (histogram, error) {
	resp, err := client.Get(metricsURL)
	if err != nil {
		return histogram{}, err
	}
	defer resp.Body.Close()
	var h histogram
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !bytes.Contains([]byte(line), []byte(series)) {
			continue
		}
		if m := bucketRx.FindStringSubmatch(line); m != nil {
			le, err1 := strconv.ParseFloat(m[1], 64)
			n, err2 := strconv.ParseFloat(m[2], 64)
			if err := errors.Join(err1, err2); err != nil {
				return histogram{}, fmt.Errorf("%q: %w", line, err)
			}
			h.bounds, h.counts = append(h.bounds, le), append(h.counts, n)
		} else if m := sumRx.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return histogram{}, fmt.Errorf("%q: %w", line, err)
			}
			if m[1] == "sum" {
				h.sum = v
			} else {
				h.count = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return histogram{}, err
	}
	return h, nil
}

// minus is the histogram of the requests between two scrapes (before may
// be empty: no request yet).
func (h histogram) minus(before histogram) histogram {
	out := histogram{bounds: h.bounds, counts: append([]float64(nil), h.counts...), sum: h.sum - before.sum, count: h.count - before.count}
	for i := range out.counts {
		if i < len(before.counts) {
			out.counts[i] -= before.counts[i]
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket holding q, as
// Prometheus's histogram_quantile does.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return math.NaN()
	}
	rank := q * h.count
	lower, below := 0.0, 0.0
	for i, c := range h.counts {
		if c >= rank {
			if math.IsInf(h.bounds[i], 1) {
				return lower
			}
			return lower + (h.bounds[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = h.bounds[i], c
	}
	return lower
}
