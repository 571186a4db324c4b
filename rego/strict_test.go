package rego_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// A builtin that fails under a `not` must deny with its error, in both
// forms: OPA's default turns the error into "undefined", and `not
// undefined` is true, an allow.
func TestBuiltinErrorUnderNotDenies(t *testing.T) {
	// holds form: "a" is safe, so sane input is decided by
	// holds["a"] if not part["a/1"]; the raw module adds a body to that
	// part whose builtin fails.
	const partFails = "package oslo.policy\n\npart[\"a/1\"] if to_number(\"abc\") > 0\n"
	// exact form: "b" refers to a raw Rego rule whose builtin fails.
	const ruleFails = "package oslo.policy\n\nrules.bad if to_number(\"abc\") > 0\n"
	tests := []struct {
		name, policy, module, rule, emitted string
		exact                               bool
	}{
		{"holds form", `{"a": "not (role:x or role:y)"}`, partFails, "a", `holds["a"] if not part["a/1"]`, false},
		{"exact form, raw Rego rule", `{"b": "not rule:bad"}`, ruleFails, "b", `rules["b"] := lib.negate(rules["bad"])`, false},
		{"exact form, raw Rego rule, Exact", `{"b": "not rule:bad"}`, ruleFails, "b", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := oslo.ParseLayer("policy.json", []byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.DeclareRego("fail.rego", tc.module, translate.DefaultPackage); err != nil {
				t.Fatal(err)
			}
			tr, err := translate.Translate(p, "")
			if err != nil {
				t.Fatal(err)
			}
			if tc.emitted != "" {
				var all strings.Builder
				for _, m := range tr.Modules {
					all.WriteString(m.Text)
				}
				if !strings.Contains(all.String(), tc.emitted) {
					t.Fatalf("the translation no longer writes %q; the test injects nothing:\n%s", tc.emitted, all.String())
				}
			}
			e, err := rego.New(context.Background(), rego.Translation(tr), rego.Module("fail.rego", tc.module))
			if err != nil {
				t.Fatal(err)
			}
			if tc.exact {
				e = e.Exact()
			}
			d, err := e.Decide(context.Background(), rego.Request{Rule: tc.rule, Credentials: map[string]any{"roles": []any{"member"}}})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed || !strings.Contains(d.Error, "to_number") {
				t.Errorf("got allowed=%v error=%q, want a deny naming the failed builtin", d.Allowed, d.Error)
			}
		})
	}
}

// A query prepared beside the decision fails on a builtin error too,
// rather than answering as if the failing expression were undefined.
func TestPreparedQueryBuiltinErrorFails(t *testing.T) {
	const mod = "package extra\n\nok if not to_number(\"abc\")\n"
	l, err := oslo.ParseLayer("policy.json", []byte(`{"a": "@"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := rego.New(ctx, rego.Translation(tr), rego.Module("extra.rego", mod))
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.PrepareQuery(ctx, "data.extra.ok")
	if err != nil {
		t.Fatal(err)
	}
	in, err := rego.Input(rego.Request{Rule: "a"})
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := q.Eval(ctx, in)
	if err == nil || !strings.Contains(err.Error(), "to_number") {
		t.Errorf("got %v %v %v, want the builtin's error", v, ok, err)
	}
}
