package rego

import (
	"context"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/translate/oslo"
)

// The exact form is a second query prepared on the engine's compiler, not
// a second compile: both forms share the compiler and the store, Exact is
// prepared once, and both answer every request of a table alike.
func TestExactSharesTheCompile(t *testing.T) {
	ctx := context.Background()
	l, err := oslo.ParseLayer("policy.json", []byte(`{
		"admin": "role:admin",
		"owner": "project_id:%(owner)s",
		"restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)",
		"download_image": "rule:admin or (rule:owner and rule:restricted)",
		"cyclic": "rule:cyclic or @",
		"data_code": "%(code)s:%(code)s"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, Policy(p), Data(map[string]any{"x": 1}))
	if err != nil {
		t.Fatal(err)
	}
	x := e.Exact()
	if x == nil || x == e || x.compiler != e.compiler || x.store != e.store || x.tr != e.tr {
		t.Fatalf("the exact engine does not share the compile: %p %p", x, e)
	}
	if e.Exact() != x || x.Exact() != x {
		t.Fatal("Exact is not prepared once")
	}
	member := map[string]any{"roles": []any{"member"}, "project_id": "p1"}
	for _, tc := range []struct {
		rule          string
		target, creds any
		allowed       bool
		err           string
	}{
		{"download_image", map[string]any{"owner": "p1", "x_billing_code_ntt": "ntt_3251"}, member, false, ""},
		{"download_image", map[string]any{"owner": "p1", "x_billing_code_ntt": "ntt_0001"}, member, true, ""},
		{"download_image", map[string]any{"owner": "p2"}, map[string]any{"roles": []any{"admin"}}, true, ""},
		{"download_image", map[string]any{"owner": "p2"}, member, false, ""},
		// Not sane input: the fast form falls back to the exact rules.
		{"download_image", map[string]any{"owner": []any{"p1"}}, map[string]any{"roles": "member"}, false, ""},
		{"cyclic", map[string]any{}, member, false, "RecursionError"},
		{"data_code", map[string]any{}, member, false, ""},
		{"nope", map[string]any{}, member, false, ""},
	} {
		req := Request{Rule: tc.rule, Target: tc.target, Credentials: tc.creds}
		fast, err := e.Decide(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		exact, err := x.Decide(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if fast.Allowed != tc.allowed || !strings.Contains(fast.Error, tc.err) || (tc.err == "") != (fast.Error == "") {
			t.Errorf("%s %v: fast %+v, want allowed=%v error %q", tc.rule, tc.target, fast, tc.allowed, tc.err)
		}
		if exact.Allowed != fast.Allowed || exact.Error != fast.Error || exact.Evaluated != fast.Evaluated || exact.Origin != fast.Origin {
			t.Errorf("%s %v: exact %+v, fast %+v", tc.rule, tc.target, exact, fast)
		}
	}
}

// New's options: Policy declares the Module's rules itself; Policy and
// Translation exclude each other; a Package must match the translation's.
func TestNewOptions(t *testing.T) {
	ctx := context.Background()
	policy := func() *oslo.Policy {
		l, err := oslo.ParseLayer("policy.yaml", []byte(`"a": "rule:ext"`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const ext = "package svc\n\nrules.ext := input.credentials.ok == true\n"
	e, err := New(ctx, Policy(policy()), Package("svc"), Module("ext.rego", ext))
	if err != nil {
		t.Fatal(err)
	}
	if e.Translation().Package != "svc" {
		t.Errorf("package %q, want svc", e.Translation().Package)
	}
	for ok, want := range map[bool]bool{true: true, false: false} {
		d, err := e.Decide(ctx, Request{Rule: "a", Credentials: map[string]any{"ok": ok}})
		if err != nil || d.Allowed != want || d.Error != "" {
			t.Errorf("ok=%v: %+v %v, want allowed=%v", ok, d, err, want)
		}
	}
	d, err := e.Decide(ctx, Request{Rule: "ext", Credentials: map[string]any{"ok": true}})
	if err != nil || !d.Allowed || d.Origin != "ext.rego:3" {
		t.Errorf("the Rego rule by name: %+v %v", d, err)
	}
	if _, err := New(ctx, Policy(policy()), Translation(e.Translation())); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("Policy and Translation: %v", err)
	}
	if _, err := New(ctx, Translation(e.Translation()), Package("other")); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("Package beside a translation of another: %v", err)
	}
	// A module that defines a rule the policy files define too is refused,
	// naming both places.
	if _, err := New(ctx, Policy(policy()), Module("a.rego", "package oslo.policy\n\nrules.a := true\n")); err == nil || !strings.Contains(err.Error(), "a.rego:3") || !strings.Contains(err.Error(), "policy.yaml:1") {
		t.Errorf("a rule in both: %v", err)
	}
}
