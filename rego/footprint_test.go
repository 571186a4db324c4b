package rego_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// withProperties is a Glance image target with n custom properties no
// rule reads, beside the one the restriction reads.
func withProperties(n int) map[string]any {
	t := map[string]any{"id": "i1", "owner": "p1", "project_id": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_3251", "status": "active"}
	for i := range n {
		t[fmt.Sprintf("custom_%04d", i)] = fmt.Sprintf("value %d", i)
	}
	return t
}

func terms(v ast.Value) int {
	n := 0
	ast.WalkTerms(v, func(*ast.Term) bool { n++; return false })
	return n
}

// The input a decision converts does not grow with properties the rule
// does not read: a count of terms, not a time.
func TestFootprintInputDoesNotGrow(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	if fp := e.Footprint("download_image"); fp.Whole || !slices.Equal(fp.Target, []string{"x_billing_code_ntt"}) {
		t.Fatalf("footprint of download_image = %s, want target[x_billing_code_ntt]", fp)
	}
	creds := map[string]any{"roles": []any{"member"}, "project_id": "p1"}
	var sizes []int
	for _, n := range []int{0, 100, 1000} {
		in, err := e.Input(rego.Request{Rule: "download_image", Target: withProperties(n), Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, terms(in))
		full, err := rego.Input(rego.Request{Rule: "download_image", Target: withProperties(n), Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		if terms(full) < 2*n {
			t.Fatalf("the full input of %d properties has only %d terms", n, terms(full))
		}
	}
	if sizes[0] != sizes[1] || sizes[0] != sizes[2] {
		t.Errorf("input terms with 0, 100, 1000 unread properties: %v, want all equal", sizes)
	}
}

// Rules that read the target whole, or with a key known only at run time,
// get the whole target.
func TestFootprintWhole(t *testing.T) {
	for _, tc := range []struct {
		policy, rule, want string
	}{
		{`{"a": "x:%s"}`, "a", "whole"},
		{`{"a": "%(owner)s:%(project_id)s"}`, "a", "target[project_id]"}, // the KIND is not formatted
		{`{"a": "project_id:%(project_id)s", "b": "rule:a and 'x':%(k)s"}`, "b", "target[k,project_id]"},
		{`{"a": "role:admin"}`, "a", "target[]"},
		{`{"a": "x:%(p)s-%(q)r"}`, "a", "whole"}, // lib.format: its segments are not followed
	} {
		e := engine(t, tc.policy, oslo.Options{})
		if got := e.Footprint(tc.rule).String(); got != tc.want {
			t.Errorf("%s: footprint of %s = %s, want %s", tc.policy, tc.rule, got, tc.want)
		}
	}
	raw := []struct{ name, module, want string }{
		{"iteration", "package oslo.policy\nrules.r if { some k, v in input.target; v == k }", "whole"},
		{"dynamic key", "package oslo.policy\nrules.r if { k := input.credentials.key; input.target[k] == 1 }", "whole"},
		{"walk", "package oslo.policy\nrules.r if { walk(input, [p, v]); v == 1 }", "whole"},
		{"count", "package oslo.policy\nrules.r if count(input.target) > 3", "whole"},
		{"known key", "package oslo.policy\nrules.r if { t := input.target; t.owner == input.credentials.project_id }", "target[owner]"},
		{"object.get", `package oslo.policy
rules.r if object.get(input.target, "owner", null) == 1`, "target[owner]"},
		{"with", "package oslo.policy\nrules.r if { s with input.target as {} }\ns if input.target.a", "whole"},
		{"function", "package oslo.policy\nrules.r if f(input.target)\nf(t) if t.b == 1", "target[b]"},
		{"function whole", "package oslo.policy\nrules.r if f(input.target)\nf(t) if json.marshal(t) == \"\"", "whole"},
	}
	for _, tc := range raw {
		p := built(t, `{"a": "rule:r"}`, oslo.Options{})
		e, err := rego.New(context.Background(), rego.Policy(p), rego.Module("r.rego", tc.module))
		if err != nil {
			t.Fatal(tc.name, err)
		}
		if got := e.Footprint("a").String(); got != tc.want {
			t.Errorf("%s: footprint = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Random requests decided with the footprint's input and with the whole
// input get the same decisions, errors and all, on every real policy.
func TestFootprintDifferential(t *testing.T) {
	dir := testenv.Shared(t, "policies")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies in %s: %v", dir, err)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(13, 2))
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := oslo.ParseLayer(filepath.Base(f), data)
		if err != nil {
			continue // not a policy file (a .meta.json)
		}
		p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
		if err != nil {
			t.Fatal(f, err)
		}
		e, err := rego.New(ctx, rego.Policy(p))
		if err != nil {
			t.Fatal(f, err)
		}
		keys := e.Footprint("\x00no such rule").Target
		for _, eng := range []*rego.Engine{e, e.Exact()} {
			for _, r := range p.Rules {
				for range 3 {
					req := randomRequest(rng, r.Name, keys)
					got, err := eng.Decide(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					in, err := rego.Input(req)
					if err != nil {
						t.Fatal(err)
					}
					want, err := eng.DecideInput(ctx, req.Rule, in)
					if err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Fatalf("%s %s: footprint input decides %+v, whole input %+v (footprint %s)\n  target %v", filepath.Base(f), r.Name, got, want, eng.Footprint(r.Name), req.Target)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d decisions agree", checked)
}

// randomRequest fills the keys the policy reads, some extra ones and the
// credentials with values drawn from a small pool, so that checks match.
func randomRequest(rng *rand.Rand, rule string, keys []string) rego.Request {
	pool := []any{"p1", "u1", "d1", "admin", "member", "public", "private", nil, true, false, 0, 1.5, []any{"p1"}, map[string]any{"id": "p1"}}
	pick := func() any { return pool[rng.IntN(len(pool))] }
	target := map[string]any{}
	for _, k := range keys {
		if rng.IntN(4) > 0 {
			target[k] = pick()
		}
		// Dotted keys of a Keystone-style target also appear nested.
		if i := strings.IndexByte(k, '.'); i > 0 && rng.IntN(2) == 0 {
			target[k[:i]] = map[string]any{k[i+1:]: pick()}
		}
	}
	for i := range rng.IntN(20) {
		target[fmt.Sprintf("extra_%d", i)] = pick()
	}
	roles := []any{}
	for _, r := range []string{"admin", "member", "reader", "service"} {
		if rng.IntN(3) == 0 {
			roles = append(roles, r)
		}
	}
	creds := map[string]any{"roles": roles, "project_id": pick(), "user_id": pick(), "domain_id": pick(), "is_admin": rng.IntN(2) == 0}
	if rng.IntN(10) == 0 {
		creds["system_scope"] = "all"
	}
	return rego.Request{Rule: rule, Target: target, Credentials: creds}
}
