package rego_test

import (
	"context"
	"fmt"
	"testing"

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
