package rego

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/translate/oslo"
)

// The holds path answers plainly sane input to a safe rule, and only
// that, and every answer is result's: for each input of the table the
// decision equals data.PKG.result's and the exact engine's, and the holds
// path was taken exactly where the table says.
func TestHoldsPathIsResult(t *testing.T) {
	ctx := context.Background()
	for _, pc := range []struct {
		name     string
		policy   string
		defaults []oslo.RuleDefault
		opts     oslo.Options
	}{
		{"plain", `{
			"admin": "role:admin",
			"owner": "project_id:%(owner)s",
			"restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)",
			"download_image": "rule:admin or (rule:owner and rule:restricted)",
			"any": "",
			"never": "!",
			"user": "user_id:%(user_id)s or is_admin:True",
			"cyclic": "rule:cyclic or @",
			"whole": "'x':%(target)s",
			"\u0000check": "@",
			"q\"uo\\te\n": "role:admin",
			"default": "role:admin"}`, nil, oslo.Options{}},
		// With enforce_scope, a rule with scope types has a scope check:
		// result decides it.
		{"scoped", `{"download_image": "role:admin", "any": "", "default": "role:admin"}`,
			[]oslo.RuleDefault{{Name: "admin", CheckStr: "role:admin", ScopeTypes: []string{"system"}}},
			oslo.Options{EnforceScope: true}},
	} {
		l, err := oslo.ParseLayer("policy.json", []byte(pc.policy))
		if err != nil {
			t.Fatal(err)
		}
		p, err := oslo.Build([]*oslo.Layer{l}, pc.defaults, pc.opts)
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(ctx, Policy(p))
		if err != nil {
			t.Fatal(err)
		}
		result, err := e.PrepareQuery(ctx, "data."+e.pkg+".result")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			input string
			holds bool // the holds path decides
		}{
			{`{"rule": "download_image", "target": {"owner": "p1", "x_billing_code_ntt": "ntt_3251"}, "credentials": {"roles": ["member"], "project_id": "p1"}}`, true},
			{`{"rule": "download_image", "target": {"owner": "p1", "x_billing_code_ntt": "ntt_0001"}, "credentials": {"roles": ["member"], "project_id": "p1"}}`, true},
			{`{"rule": "download_image", "target": {}, "credentials": {"roles": ["Admin"]}}`, true},
			{`{"rule": "admin", "target": {}, "credentials": {"roles": "admin"}}`, true},
			{`{"rule": "admin", "target": {}, "credentials": {"roles": {"admin": 1}}}`, true},
			{`{"rule": "admin", "target": {}, "credentials": {}}`, true},
			{`{"rule": "admin", "target": {}, "credentials": {"roles": ["ΣA", "admin"]}}`, true},
			{`{"rule": "any", "target": {}, "credentials": {"roles": []}}`, true},
			{`{"rule": "never", "target": {}, "credentials": {"roles": ["admin"]}}`, true},
			{`{"rule": "user", "target": {"user_id": "u1"}, "credentials": {"user_id": "u1", "roles": []}}`, true},
			{`{"rule": "user", "target": {"user_id": 1}, "credentials": {"user_id": 1, "is_admin": true, "roles": []}}`, true},
			// Names that a Rego string literal must escape.
			{`{"rule": "\u0000check", "target": {}, "credentials": {"roles": []}}`, true},
			{`{"rule": "q\"uo\\te\n", "target": {}, "credentials": {"roles": ["admin"]}}`, true},
			// Not plainly sane, not safe, or not a rule: result decides.
			{`{"rule": "admin", "target": {}, "credentials": {"roles": ["admin", 1]}}`, false},
			{`{"rule": "admin", "target": {}, "credentials": {"roles": null}}`, false},
			{`{"rule": "admin", "target": {}, "credentials": {"roles": 7}}`, false},
			{`{"rule": "admin", "target": [], "credentials": {"roles": ["admin"]}}`, false},
			{`{"rule": "admin", "target": {}, "credentials": ["admin"]}`, false},
			{`{"rule": "admin", "credentials": {"roles": ["admin"]}}`, false},
			{`{"rule": "admin", "target": {}}`, false},
			{`{"rule": 3, "target": {}, "credentials": {"roles": ["admin"]}}`, false},
			{`{"rule": "nonesuch", "target": {}, "credentials": {"roles": ["admin"]}}`, false},
			{`{"rule": "cyclic", "target": {}, "credentials": {"roles": ["admin"]}}`, false},
			{`{"rule": "whole", "target": {"a": 1}, "credentials": {"roles": ["admin"]}}`, true},
		} {
			in := ast.MustParseTerm(c.input).Value
			want, err := e.decideWith(ctx, result, in)
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.DecideInput(ctx, "", in)
			if err != nil {
				t.Fatal(err)
			}
			x, err := e.Exact().DecideInput(ctx, "", in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != want.Allowed || d.Error != want.Error || x.Allowed != want.Allowed || x.Error != want.Error {
				t.Errorf("%s: %s: decided %+v, exact %+v, result says %+v", pc.name, c.input, d, x, want)
			}
			name, _, _, holds := saneParts(in)
			holds = holds && e.holds.safe[name]
			if holds {
				if _, holds, err = e.holds.decide(ctx, name, in); err != nil {
					t.Fatal(err)
				}
			}
			if pc.name == "scoped" && c.holds {
				// admin has scope types; the others are not defined.
				c.holds = in.(ast.Object).Get(ast.StringTerm("rule")).Equal(ast.StringTerm("download_image")) ||
					in.(ast.Object).Get(ast.StringTerm("rule")).Equal(ast.StringTerm("any"))
			}
			if holds != c.holds {
				t.Errorf("%s: %s: holds path taken %t, want %t", pc.name, c.input, holds, c.holds)
			}
		}
	}
}

// decideWith is the decision of query q (data.PKG.result) for in.
func (e *Engine) decideWith(ctx context.Context, q *Query, in ast.Value) (Decision, error) {
	v, ok, err := q.Eval(ctx, in)
	switch {
	case err != nil:
		return Decision{Error: "policy evaluation failed: " + err.Error()}, nil
	case !ok:
		return Decision{Error: "policy evaluation produced no result"}, nil
	}
	switch v := v.(type) {
	case bool:
		return Decision{Allowed: v}, nil
	case map[string]any:
		msg, _ := v["error"].(string)
		return Decision{Error: msg}, nil
	}
	return Decision{}, nil
}
