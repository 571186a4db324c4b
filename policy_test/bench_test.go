package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/util"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// benchCase is one request of testdata/bench_cases.json, which
// bench/oslo_bench.py also times with oslo.policy's Enforcer.enforce().
type benchCase struct {
	Name    string         `json:"name"`
	Policy  string         `json:"policy"`
	Rule    string         `json:"rule"`
	Target  map[string]any `json:"target"`
	Creds   map[string]any `json:"creds"`
	Allowed bool           `json:"allowed"`
}

func benchCases(b *testing.B) []benchCase {
	data, err := os.ReadFile("testdata/bench_cases.json")
	if err != nil {
		b.Fatal(err)
	}
	var cs []benchCase
	if err := util.UnmarshalJSON(data, &cs); err != nil {
		b.Fatal(err)
	}
	for i := range cs {
		// Paths are relative to the repository root.
		cs[i].Policy = filepath.Join("..", cs[i].Policy)
	}
	return cs
}

func benchEngine(b *testing.B, file string) *rego.Engine {
	p, err := oslo.Load([]string{file}, "", oslo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		b.Fatal(err)
	}
	e, err := rego.New(context.Background(), rego.Translation(tr))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkDecision is the latency of one decision with a prepared query.
func BenchmarkDecision(b *testing.B) {
	ctx := context.Background()
	for _, bc := range benchCases(b) {
		b.Run(bc.Name, func(b *testing.B) {
			e := benchEngine(b, bc.Policy)
			req := rego.Request{Rule: bc.Rule, Target: bc.Target, Credentials: bc.Creds}
			in, err := rego.Input(req)
			if err != nil {
				b.Fatal(err)
			}
			d, err := e.DecideInput(ctx, bc.Rule, in)
			if err != nil || d.Allowed != bc.Allowed || d.Error != "" {
				b.Fatalf("decision %+v, %v; want allowed=%v", d, err, bc.Allowed)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.DecideInput(ctx, bc.Rule, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecisionParallel is the same decisions from all cores at once.
func BenchmarkDecisionParallel(b *testing.B) {
	ctx := context.Background()
	bc := benchCases(b)[0]
	e := benchEngine(b, bc.Policy)
	in, err := rego.Input(rego.Request{Rule: bc.Rule, Target: bc.Target, Credentials: bc.Creds})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.DecideInput(ctx, bc.Rule, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTranslateCompile is loading, translating and compiling each
// real policy file: the cost of a policy (re)load.
func BenchmarkTranslateCompile(b *testing.B) {
	ctx := context.Background()
	for _, rp := range realPolicies(b) {
		b.Run(rp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := oslo.Load(rp.files, rp.defaults, oslo.Options{})
				if err != nil {
					b.Fatal(err)
				}
				tr, err := translate.Translate(p, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rego.New(ctx, rego.Translation(tr)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
