package pdp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/rego"
)

// BenchmarkCheck is the PDP's server time for one oslo HttpCheck request
// (parse, decide, log to nowhere, answer) on the shipped Nova bundle,
// in process.
func BenchmarkCheck(b *testing.B) {
	l, err := bundles.Open(context.Background(), bundles.Path("../bundles/nova"), bundles.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Policy: l})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"rule": "os_compute_api:servers:create", "target": {"project_id": "p1", "user_id": "u1"}, ` +
		`"credentials": {"user_id": "u1", "project_id": "p1", "roles": ["member", "reader"], "is_admin": false, "system_scope": null, "domain_id": null}}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, CheckPath, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusOK || w.Body.String() != "True" {
				b.Fatalf("%d %q", w.Code, w.Body.String())
			}
		}
	})
}

// BenchmarkCheckParts splits BenchmarkCheck's request: reading the body as
// Python's json.loads does, and the decision alone.
func BenchmarkCheckParts(b *testing.B) {
	l, err := bundles.Open(context.Background(), bundles.Path("../bundles/nova"), bundles.Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"rule": "os_compute_api:servers:create", "target": {"project_id": "p1", "user_id": "u1"}, ` +
		`"credentials": {"user_id": "u1", "project_id": "p1", "roles": ["member", "reader"], "is_admin": false, "system_scope": null, "domain_id": null}}`)
	req, err := parseCheckJSON(body)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseCheckJSON(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := l.Engine.Decide(context.Background(), rego.Request{Rule: req.rule, Target: req.target, Credentials: req.credentials})
			if err != nil || !d.Allowed {
				b.Fatal(d, err)
			}
		}
	})
}

// BenchmarkCheckServed is BenchmarkCheck as `oslorego serve` runs it: the
// decision log a JSON line per request (to io.Discard here), with the
// decision memo off and at serve's default (every request after the first
// a memo hit): the PDP's own cost per request around the decision.
func BenchmarkCheckServed(b *testing.B) {
	l, err := bundles.Open(context.Background(), bundles.Path("../bundles/nova"), bundles.Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"rule": "os_compute_api:servers:create", "target": {"project_id": "p1", "user_id": "u1"}, ` +
		`"credentials": {"user_id": "u1", "project_id": "p1", "roles": ["member", "reader"], "is_admin": false, "system_scope": null, "domain_id": null}}`
	for _, memo := range []int{0, 10000} {
		b.Run(fmt.Sprintf("memo=%d", memo), func(b *testing.B) {
			s, err := New(Config{Policy: l, DecisionMemo: memo, DecisionLog: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, CheckPath, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code != http.StatusOK || w.Body.String() != "True" {
					b.Fatalf("%d %q", w.Code, w.Body.String())
				}
			}
		})
	}
}
