//go:build ignore

// Paired measures what the gateway adds to the upstream's own time with
// the two measured side by side, request by request: each round downloads
// the image once through the gateway and once directly from Glance (the
// caller's GET /v2/images/ID, then GET .../file: the two calls a cold
// gateway download makes), in an order that alternates between rounds, one
// request at a time. Glance's latency drifts by a factor of two within
// seconds on a shared machine, so run-after-run medians can differ by more
// than the gateway costs; within a round both sides see the same Glance.
// It prints the medians of each side and of the per-round difference.
//
//	go run bench/gateway/paired.go -glance http://GLANCE -gateway http://GW -token T -image ID -n 500
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	glance := flag.String("glance", "", "the Glance API, directly")
	gateway := flag.String("gateway", "", "the gateway in front of it")
	token := flag.String("token", "", "the caller's token (X-Auth-Token)")
	image := flag.String("image", "", "image id")
	n := flag.Int("n", 500, "rounds")
	warmup := flag.Int("warmup", 20, "unrecorded rounds first")
	flag.Parse()
	if *glance == "" || *gateway == "" || *token == "" || *image == "" {
		flag.Usage()
		os.Exit(2)
	}
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	through := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(c *http.Client, url string) time.Duration {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("X-Auth-Token", *token)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			log.Fatalf("GET %s: %v", url, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			log.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
		}
		return d
	}
	directOnce := func() time.Duration {
		return get(direct, *glance+"/v2/images/"+*image) + get(direct, *glance+"/v2/images/"+*image+"/file")
	}
	gatewayOnce := func() time.Duration { return get(through, *gateway+"/v2/images/"+*image+"/file") }
	var ds, gs, diffs []float64
	for i := -*warmup; i < *n; i++ {
		var d, g time.Duration
		if i%2 == 0 {
			d = directOnce()
			g = gatewayOnce()
		} else {
			g = gatewayOnce()
			d = directOnce()
		}
		if i < 0 {
			continue
		}
		ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
		ds, gs, diffs = append(ds, ms(d)), append(gs, ms(g)), append(diffs, ms(g-d))
	}
	q := func(xs []float64, p float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	fmt.Printf("rounds\t%d\n", *n)
	fmt.Printf("directly (GET /v2/images/ID + GET .../file), median\t%.2f ms\n", q(ds, 0.5))
	fmt.Printf("through the gateway (GET .../file), median\t%.2f ms\n", q(gs, 0.5))
	fmt.Printf("gateway minus directly, per round: p25 / median / p75\t%.2f / %.2f / %.2f ms\n", q(diffs, 0.25), q(diffs, 0.5), q(diffs, 0.75))
}
