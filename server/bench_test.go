package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

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
			token := h.token(p1, "member", "reader")
			client := h.srv.Client()
			url := h.srv.URL + "/v2/images/" + img.ID + "/file"
			b.SetBytes(int64(c.size))
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
				if resp.StatusCode != 200 || n != int64(c.size) {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
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
