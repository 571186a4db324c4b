package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/server"
)

// BenchmarkDownload is one authorised download over loopback HTTP with
// the built-in bundle and token auth: authentication, context_is_admin,
// the image lookup, download_image and the transfer. The -memo case has
// the decision memo on, as `oslorego serve` by default: every decision
// after the first is a memo hit.
func BenchmarkDownload(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
		memo int
	}{{"4KiB", 4 << 10, 0}, {"1MiB", 1 << 20, 0}, {"4KiB-memo", 4 << 10, rego.DefaultMemoSize}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(b, glancePolicy(b), nil, func(cfg *server.Config) { cfg.DecisionMemo = c.memo })
			img := h.image([]byte(strings.Repeat("x", c.size)), imagestore.ImportOptions{Owner: sp(p1), Properties: map[string]string{"x_billing_code_ntt": "ntt_0001"}})
			downloads(b, h, h.srv.URL+"/v2/images/"+img.ID+"/file", h.token(p1, "member", "reader"), c.size)
		})
	}
}

// downloads is the timed loop of the download benchmarks: GET url as
// token, which must answer size bytes.
func downloads(b *testing.B, h *harness, url, token string, size int) {
	b.Helper()
	client := h.srv.Client()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Auth-Token", token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(size) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkDecideBuiltin is one download_image decision on the built-in
// bundle (a member and a restricted image: denied), input conversion
// included: the same work as `opa bench` on the built bundle with
// testdata/decide-download.json (docs/benchmarks.md).
func BenchmarkDecideBuiltin(b *testing.B) {
	l, err := builtinPolicy()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/decide-download.json")
	if err != nil {
		b.Fatal(err)
	}
	var req rego.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		d, err := l.Engine.Decide(ctx, req)
		if err != nil || d.Allowed {
			b.Fatalf("%+v %v", d, err)
		}
	}
}

// BenchmarkCachedDownload is one 4 KiB download over loopback HTTP from
// the embedded store and from a gateway's warm image cache with callers'
// views kept (every request a cache hit and a view hit; the decision
// memo on in both), token auth: the gateway's own per-hit work against
// the embedded store's.
func BenchmarkCachedDownload(b *testing.B) {
	data := []byte(strings.Repeat("x", 4<<10))
	b.Run("embedded", func(b *testing.B) {
		h := newHarness(b, glancePolicy(b), nil, func(cfg *server.Config) { cfg.DecisionMemo = rego.DefaultMemoSize })
		img := h.image(data, imagestore.ImportOptions{Owner: sp(p1)})
		downloads(b, h, h.srv.URL+"/v2/images/"+img.ID+"/file", h.token(p1, "member", "reader"), len(data))
	})
	b.Run("gateway-cache", func(b *testing.B) {
		f := newFakeGlance(b)
		f.add(gwAbsent, data, nil)
		cache, err := imagecache.Open(imagecache.Options{Dir: b.TempDir(), MaxBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cache.Close() })
		c := f.client(b)
		src, err := server.NewUpstreamSource(c, server.UpstreamOptions{MetadataTTL: time.Hour, CallerViewTTL: time.Hour, Cache: cache, Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		h := newHarness(b, glancePolicy(b), nil, func(cfg *server.Config) {
			cfg.Images, cfg.Source, cfg.DecisionMemo = nil, src, rego.DefaultMemoSize
		})
		token := h.token(p1, "member", "reader")
		url := h.srv.URL + "/v2/images/" + gwAbsent + "/file"
		h.do("GET", "/v2/images/"+gwAbsent+"/file", tok(token)) // fills the cache
		if err := cache.Wait(context.Background()); err != nil {
			b.Fatal(err)
		}
		reads, views := f.dataRequests(), f.callerGETs()
		downloads(b, h, url, token, len(data))
		if f.dataRequests() != reads || f.callerGETs() != views {
			b.Fatalf("%d data requests and %d caller reads upstream during the run: not every download was a hit", f.dataRequests()-reads, f.callerGETs()-views)
		}
	})
}
