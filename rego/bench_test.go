package rego_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// BenchmarkDecideJSON is one decision from raw request JSON, as check
// --batch makes it: decoding (as json.loads), building the input document
// and deciding. The keys are in the order a client writes them, not
// sorted. "whole-target" formats the whole target, a dict holding a dict,
// with %s: the one case that reads the key order.
func BenchmarkDecideJSON(b *testing.B) {
	const (
		target = `{"id": "i1", "owner": "p1", "project_id": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_3251", "status": "active"}`
		creds  = `{"roles": ["member", "reader"], "project_id": "p1", "user_id": "u2", "is_admin": false}`
		nested = `{"status": "active", "id": "i1", "props": {"z": 1, "a": [2, {"y": null, "b": 1.5}]}}`
	)
	for _, bc := range []struct {
		name, policy, rule, target, creds string
		allowed                           bool
	}{
		{"download", glancePolicy, "download_image", target, creds, false},
		{"whole-target", `{"a": "x:%s"}`, "a", nested, `{"x": "{'status': 'active', 'id': 'i1', 'props': {'z': 1, 'a': [2, {'y': None, 'b': 1.5}]}}"}`, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := engine(b, bc.policy, oslo.Options{})
			ctx := context.Background()
			decide := func() rego.Decision {
				in, err := rego.InputJSON(bc.rule, []byte(bc.target), []byte(bc.creds))
				if err != nil {
					b.Fatal(err)
				}
				d, err := e.DecideInput(ctx, bc.rule, in)
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			if d := decide(); d.Allowed != bc.allowed || d.Error != "" {
				b.Fatalf("decision %+v, want allowed=%v", d, bc.allowed)
			}
			b.ReportAllocs()
			for b.Loop() {
				decide()
			}
		})
	}
}

// BenchmarkDecideProperties is a Glance download_image decision as the
// server makes it (Decide on a Go map target) with 0, 100 and 1000 custom
// properties the rule does not read, beside the one it does.
// "footprint" converts only what the rule reads; "whole" converts the
// whole target (rego.Input), as Decide did before footprints.
func BenchmarkDecideProperties(b *testing.B) {
	e := engine(b, glancePolicy, oslo.Options{})
	ctx := context.Background()
	creds := map[string]any{"roles": []any{"member", "reader"}, "project_id": "p1", "user_id": "u2", "is_admin": false}
	for _, n := range []int{0, 100, 1000} {
		req := rego.Request{Rule: "download_image", Target: withProperties(n), Credentials: creds}
		for _, way := range []string{"footprint", "whole"} {
			b.Run(fmt.Sprintf("%s/props=%d", way, n), func(b *testing.B) {
				decide := func() rego.Decision {
					if way == "footprint" {
						d, err := e.Decide(ctx, req)
						if err != nil {
							b.Fatal(err)
						}
						return d
					}
					in, err := rego.Input(req)
					if err != nil {
						b.Fatal(err)
					}
					d, err := e.DecideInput(ctx, req.Rule, in)
					if err != nil {
						b.Fatal(err)
					}
					return d
				}
				if d := decide(); d.Allowed || d.Error != "" {
					b.Fatalf("decision %+v, want a deny", d)
				}
				b.ReportAllocs()
				for b.Loop() {
					decide()
				}
			})
		}
	}
}

// BenchmarkDecideMemo is the Glance download_image decision of
// BenchmarkDecideProperties through a decision memo, with Keystone
// credentials as the server builds them: "off" is the engine alone (no
// memo), "hit" a repeated decision, "miss" a decision the memo must
// evaluate and keep; "off" and "miss" alternate two callers' requests
// (in a memo of one: each evicts the other).
func BenchmarkDecideMemo(b *testing.B) {
	e := engine(b, glancePolicy, oslo.Options{})
	ctx := context.Background()
	creds := map[string]any{
		"user_id": "6a1e4c8b2d3f4e5a9b0c1d2e3f4a5b6c", "user_domain_id": "default",
		"project_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "project_domain_id": "default",
		"domain_id": nil, "system_scope": nil, "system": nil, "is_admin_project": true,
		"roles": []any{"member", "reader"}, "is_admin": false,
	}
	for _, n := range []int{0, 1000} {
		other := maps.Clone(creds)
		other["user_id"] = "another user"
		reqs := []rego.Request{
			{Rule: "download_image", Target: withProperties(n), Credentials: creds},
			{Rule: "download_image", Target: withProperties(n), Credentials: other},
		}
		for _, way := range []string{"off", "hit", "miss"} {
			b.Run(fmt.Sprintf("%s/props=%d", way, n), func(b *testing.B) {
				size := map[string]int{"off": 0, "hit": 100, "miss": 1}[way]
				m := rego.NewMemo(e, size, nil)
				want := map[string]rego.MemoOutcome{"off": rego.MemoOff, "hit": rego.MemoHit, "miss": rego.MemoMiss}[way]
				i := 0
				decide := func() rego.MemoOutcome {
					req := reqs[0]
					if way != "hit" {
						req, i = reqs[i%2], i+1
					}
					d, out, err := m.Decide(ctx, req)
					if err != nil || d.Error != "" {
						b.Fatal(d, err)
					}
					return out
				}
				decide()
				if out := decide(); out != want {
					b.Fatalf("%s, want %s", out, want)
				}
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					decide()
				}
				// On a loaded machine the wall time counts the waits for
				// a core; the process's CPU time does not.
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemoEntryBytes fills a memo with 10,000 distinct Glance
// decisions (Keystone credentials as the server builds them, one per
// user) and reports the heap each kept decision costs.
func BenchmarkMemoEntryBytes(b *testing.B) {
	e := engine(b, glancePolicy, oslo.Options{})
	ctx := context.Background()
	const n = 10000
	for b.Loop() {
		m := rego.NewMemo(e, n, nil)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range n {
			creds := map[string]any{
				"user_id": fmt.Sprintf("%032x", i), "user_domain_id": "default",
				"project_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "project_domain_id": "default",
				"domain_id": nil, "system_scope": nil, "system": nil, "is_admin_project": true,
				"roles": []any{"member", "reader"}, "is_admin": false,
			}
			if _, out, err := m.Decide(ctx, rego.Request{Rule: "download_image", Target: withProperties(0), Credentials: creds}); err != nil || out != rego.MemoMiss {
				b.Fatal(out, err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entry")
		runtime.KeepAlive(m)
	}
}
