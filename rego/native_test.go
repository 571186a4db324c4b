package rego

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// nativePolicy has a rule of every shape the holds form takes.
const nativePolicy = `{
	"admin": "role:admin",
	"owner": "project_id:%(project_id)s",
	"restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)",
	"download_image": "rule:admin or (rule:owner and rule:restricted)",
	"any": "",
	"never": "!",
	"folded": "'a':a and not 'a':b",
	"user": "user_id:%(user_id)s or is_admin:True",
	"fmt": "user_id:u-%(user_id)s-%(project_id)s",
	"conv": "'x':%(a)r or 'y':%(b)5s or 'z':%(c)-4.2s or 'q':%(d)a or 'r':%(e).1r",
	"rolefmt": "role:%(role)s",
	"rolefmt2": "role:R-%(role)s",
	"sys": "system_scope:all",
	"system": "system:all",
	"notnot": "not (role:a or role:b) and not not role:c",
	"lit": "'True':%(flag)s or 'None':%(flag)s or '1':%(flag)s",
	"group": "group:%(g)s",
	"const": "user_id:abc",
	"bad": "'x':%(a)d",
	"deep": "token.domain.id:%(domain_id)s or token.project.domain.id:%(domain_id)s",
	"deepsys": "system.x:y or (role:admin and not token.project.id:%(project_id)s)",
	"deepmix": "rule:owner or token.user.id:u-%(user_id)s",
	"toolong": "a.b.c.d.e.f.g.h.i.j.k.l.m:x",
	"default": "role:admin"
}`

// nativeInputs are targets and credentials (JSON) decided on every rule.
var nativeTargets = []string{
	`{}`,
	`{"project_id": "p1", "user_id": "u1", "x_billing_code_ntt": "ntt_3251"}`,
	`{"project_id": "p1", "x_billing_code_ntt": "ntt_0001", "role": "Member", "flag": true}`,
	`{"a": "x", "b": "    y", "c": "zz", "d": "q", "e": "r", "flag": "True", "g": 1}`,
	`{"domain_id": "d1", "project_id": "p1", "user_id": "u1"}`,
	`{"domain_id": 1, "project_id": true}`,
	`{"a": "it's", "b": "y", "c": "zzzz", "d": "é", "e": "\"", "flag": null, "g": [1]}`,
	`{"a": 1, "b": true, "c": null, "d": 1.5, "e": {"k": 1}, "flag": 1, "role": "ΣA"}`,
	`{"project_id": 1, "user_id": -0, "role": "admin", "flag": 1.0, "g": "g1"}`,
	`{"project_id": ["p1"], "user_id": {"a": 1}, "role": ["admin"], "a": "a\\b", "b": "\t"}`,
	`{"role": "a", "a": "x'y\"", "c": "ΣΣΣ", "e": 10, "flag": "None", "g": 12345678901234567890}`,
}

var nativeCreds = []string{
	`{}`,
	`{"roles": ["admin"]}`,
	`{"roles": ["Member", "reader"], "project_id": "p1", "user_id": "u1"}`,
	`{"roles": "admin", "project_id": "p1", "is_admin": true}`,
	`{"roles": {"Admin": 1, "c": 2}, "user_id": "u-u1-p1", "is_admin": "True"}`,
	`{"roles": ["ΣA", "admin"], "user_id": 1}`,
	`{"roles": ["r-member", "r-admin", "c"], "system_scope": "all", "group": ["g1", 1]}`,
	`{"roles": [], "system_scope": "all", "system": "none", "group": [1, "1"]}`,
	`{"roles": ["a"], "system_scope": {"x": 1}, "system": {"y": 2}, "group": [{"a": 1}, "g1"]}`,
	`{"roles": ["b", "c"], "system_scope": 0, "system": "all", "user_id": 1.5, "group": "g1"}`,
	`{"roles": ["c"], "system_scope": "", "system": "all", "user_id": null, "is_admin": 1}`,
	`{"roles": ["c"], "system_scope": 1.0, "system": "all", "user_id": true, "is_admin": false}`,
	`{"roles": "İ", "user_id": "abc"}`,
	`{"roles": ["İ"], "user_id": "abc", "project_id": ["p1", "p2"]}`,
	`{"roles": ["admin"], "token": {"domain": {"id": "d1"}, "project": {"domain": {"id": "d2"}}, "user": {"id": "u-u1"}}}`,
	`{"roles": ["member"], "token": {"domain": {"id": ["d0", "d1"]}, "project": {"id": "p1"}}}`,
	`{"roles": ["admin"], "token": [{"domain": {"id": "d0"}}, {"domain": {"id": "d1"}}], "system_scope": {"x": "y"}}`,
	`{"roles": ["admin"], "token": [{"domain": {"id": "d1"}}, "str"], "system_scope": {"x": ["z", "y"]}}`,
	`{"roles": ["admin"], "token": ["str", {"domain": {"id": "d1"}}], "system": {"x": "y"}}`,
	`{"roles": ["admin"], "token": {"domain": "d1", "project": null, "user": [["u-u1"]]}}`,
	`{"roles": ["admin"], "token": {"domain": {"id": 1}, "project": {"domain": {"id": [true, null, 1.5]}}, "project": {"id": "p1"}}}`,
	`{"roles": ["admin"], "token": null, "system_scope": "all"}`,
	`{"roles": ["admin"], "token": "abc", "system_scope": {"x": {"y": 1}}}`,
	`{"roles": ["admin"], "token": {}, "system_scope": [{"x": "y"}]}`,
}

// nativeEngine compiles policy (JSON) with the extra options, the native
// path on unless they turn it off.
func nativeEngine(t testing.TB, policy string, opts oslo.Options, extra ...Option) *Engine {
	t.Helper()
	l, err := oslo.ParseLayer("policy.json", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), append([]Option{Policy(p)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sameNative decides rule on the JSON target and credentials with the
// native path on and off, on OPA's values and on Go's, and fails the test
// on any difference. It reports whether the native path decided.
func sameNative(t *testing.T, e *Engine, rule, target, creds string) bool {
	t.Helper()
	ctx := context.Background()
	in, err := InputJSON(rule, json.RawMessage(target), json.RawMessage(creds))
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.WithoutNative().DecideInput(ctx, rule, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.DecideInput(ctx, rule, in)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s on %s, %s: native on %+v, off %+v", rule, target, creds, got, want)
	}
	tv, err := DecodeOrdered([]byte(target))
	if err != nil {
		t.Fatal(err)
	}
	cv, err := DecodeOrdered([]byte(creds))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{{Rule: rule, Target: tv, Credentials: cv}, {Rule: rule, Target: tv.Value, Credentials: cv.Value}} {
		got, err := e.Decide(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s on Go values %s, %s: native on %+v, off %+v", rule, target, creds, got, want)
		}
	}
	d, ok := e.DecideNative(in)
	if ok && d != want {
		t.Errorf("%s on %s, %s: the native path alone %+v, OPA %+v", rule, target, creds, d, want)
	}
	return ok
}

// The native path decides every rule of every shape as OPA does, on OPA's
// values and on Go's; it decides most of them itself.
func TestNativeSameAsOPA(t *testing.T) {
	for _, opts := range []oslo.Options{{}, {EnforceScope: true}} {
		e := nativeEngine(t, nativePolicy, opts)
		cov := e.NativeCoverage()
		// "bad" is not safe (%d can raise), nor is "toolong" (a path
		// deeper than the library walks), so neither is counted; "deep",
		// "deepsys" and "deepmix" are guarded.
		if cov.Disabled != "" || len(cov.Fallback) != 0 || cov.Native != cov.Safe || cov.Safe < 22 || cov.Guarded != 3 {
			t.Fatalf("coverage %+v", cov)
		}
		rules, err := e.RuleNames(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		native, all := 0, 0
		for _, r := range append(rules, "nonesuch") {
			for _, tg := range nativeTargets {
				for _, c := range nativeCreds {
					all++
					if sameNative(t, e, r, tg, c) {
						native++
					}
				}
			}
		}
		t.Logf("%d of %d decisions native", native, all)
		if native < all/2 {
			t.Errorf("only %d of %d decisions native", native, all)
		}
	}
}

// echoPolicy's rules compare a rendering of target["a"] with the
// credentials' user_id, so that every rendering is tested to the
// character: echoValues are values of a, echoRenderings candidates for
// user_id, among them each value's rendering by every rule.
const echoPolicy = `{
	"s": "user_id:%(a)s",
	"r": "user_id:%(a)r",
	"a": "user_id:%(a)a",
	"pad": "user_id:[%(a)5.2s]",
	"left": "user_id:[%(a)-4s]",
	"two": "user_id:%(a)s/%(b)s",
	"role": "role:%(a)s",
	"rolefmt": "role:x%(a)s"
}`

var echoValues = []string{`"x"`, `"it's"`, `"a\\b"`, `"\""`, `"x'y\""`, `1`, `-0`, `true`, `false`, `null`, `"é"`, `"X"`, `"abcdefg"`, `10`, `"Σ"`, `1.5`, `[1]`, `{"k": "v"}`}

var echoRenderings = []string{"x", "'x'", `"it's"`, `'a\\b'`, `'"'`, `'x\'y"'`, "1", "0", "-0", "True", "False", "None", "'é'", `'\xe9'`, "é",
	"[    x]", "[    1]", "[   ab]", "[x   ]", "[True]", "[1   ]", "[-0  ]", "[0   ]", "x/y", "1/y", "True/None", "'X'", "X", "10", "1.5", "[1]", "{'k': 'v'}", "Σ"}

// Every rendering the native path makes is the library's, to the
// character (a differential test only sees what a decision shows).
func TestNativeEcho(t *testing.T) {
	e := nativeEngine(t, echoPolicy, oslo.Options{})
	allows := 0
	for _, rule := range []string{"s", "r", "a", "pad", "left", "two", "role", "rolefmt"} {
		for _, v := range echoValues {
			for _, b := range []string{`"y"`, `null`} {
				target := fmt.Sprintf(`{"a": %s, "b": %s}`, v, b)
				for _, u := range echoRenderings {
					uj, _ := json.Marshal(u)
					creds := fmt.Sprintf(`{"user_id": %s, "roles": [%s]}`, uj, uj)
					sameNative(t, e, rule, target, creds)
					if d, ok := e.DecideNative(mustInput(t, rule, target, creds)); ok && d.Allowed {
						allows++
					}
				}
			}
		}
	}
	t.Logf("%d native allows", allows)
	if allows < 30 {
		t.Errorf("only %d native allows", allows)
	}
}

func mustInput(t testing.TB, rule, target, creds string) ast.Value {
	t.Helper()
	in, err := InputJSON(rule, json.RawMessage(target), json.RawMessage(creds))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Input that is not plainly sane, and rules not compiled, never reach the
// native path; the answers are OPA's.
func TestNativeNotSane(t *testing.T) {
	e := nativeEngine(t, nativePolicy, oslo.Options{})
	for _, in := range []string{
		`{"rule": "admin", "target": {}, "credentials": {"roles": ["admin", 1]}}`,
		`{"rule": "admin", "target": {}, "credentials": {"roles": null}}`,
		`{"rule": "admin", "target": [], "credentials": {"roles": ["admin"]}}`,
		`{"rule": "admin", "target": {}}`,
		`{"rule": "bad", "target": {"a": 1}, "credentials": {"roles": ["admin"]}}`,
		`{"rule": 3, "target": {}, "credentials": {"roles": ["admin"]}}`,
	} {
		v := ast.MustParseTerm(in).Value
		if d, ok := e.DecideNative(v); ok {
			t.Errorf("%s: the native path decided %+v", in, d)
		}
	}
	ctx := context.Background()
	for _, req := range []Request{
		{Rule: "admin", Target: map[string]any{}, Credentials: map[string]any{"roles": []string{"admin"}}},
		{Rule: "admin", Target: map[string]any{}, Credentials: map[string]any{"roles": []any{"admin"}, "x": 1.5}},
		{Rule: "owner", Target: map[string]any{"project_id": 7}, Credentials: map[string]any{"project_id": "7"}},
		{Rule: "admin", Target: []any{}, Credentials: map[string]any{"roles": []any{"admin"}}},
		{Rule: "admin", Target: map[string]any{}, Credentials: map[string]any{"roles": nil}},
		{Rule: "admin", Target: map[string]any{}, Credentials: map[string]any{"roles": []any{"admin"}, "bad": make(chan int)}},
	} {
		if _, ok := e.decideNativeGo(ctx, req); ok {
			t.Errorf("%+v: decided natively", req)
		}
		got, err := e.Decide(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.WithoutNative().Decide(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%+v: %+v, without the native path %+v", req, got, want)
		}
	}
}

// A rule that raw Rego defines or extends stays with OPA, and so do the
// rules that refer to it; a changed library, data under the policy's
// package, or a rule with a computed key turn the native path off.
func TestNativeFallsBack(t *testing.T) {
	base := nativeEngine(t, nativePolicy, oslo.Options{})
	if n := base.NativeCoverage().Native; n == 0 {
		t.Fatal("nothing native")
	}
	extend := Module("extra.rego", "package oslo.policy\n\nholds[\"admin\"] if input.credentials.superuser == true\n")
	e := nativeEngine(t, nativePolicy, oslo.Options{}, extend)
	cov := e.NativeCoverage()
	for _, r := range []string{"admin", "download_image"} {
		if !containsString(cov.Fallback, r) {
			t.Errorf("%s is native with holds[%q] extended: %+v", r, r, cov)
		}
	}
	if containsString(cov.Fallback, "owner") || cov.Native != base.NativeCoverage().Native-2 {
		t.Errorf("coverage with admin extended: %+v", cov)
	}
	// The extension decides: superuser is an admin, natively or not.
	sameNative(t, e, "admin", `{}`, `{"roles": [], "superuser": true}`)
	sameNative(t, e, "download_image", `{}`, `{"roles": [], "superuser": true}`)
	if d, err := e.Decide(context.Background(), Request{Rule: "admin", Credentials: map[string]any{"superuser": true, "roles": []any{}}}); err != nil || !d.Allowed {
		t.Errorf("superuser: %+v %v", d, err)
	}
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"library extended", Module("lib2.rego", "package oslo.lib\n\nextra := 1\n")},
		{"computed key", Module("k.rego", "package oslo.policy\n\nholds[k] if { k := input.k; k == \"x\" }\n")},
		{"part with computed key", Module("k.rego", "package oslo.policy\n\npart[k] := true if k := input.k\n")},
		{"data under oslo", Data(map[string]any{"oslo": map[string]any{"x": 1}})},
		{"turned off", Native(false)},
	} {
		e := nativeEngine(t, nativePolicy, oslo.Options{}, tc.opt)
		if cov := e.NativeCoverage(); cov.Native != 0 || cov.Disabled == "" {
			t.Errorf("%s: %+v", tc.name, cov)
		}
	}
}

// A library copied as a bundle carries it (formatted differently) is still
// the embedded one.
func TestNativeSameLib(t *testing.T) {
	lib := translate.LibModule()
	if !sameLib(lib.Text) || !sameLib(strings.ReplaceAll(lib.Text, "\n\n", "\n\n\n")) {
		t.Error("the embedded library is not itself")
	}
	if sameLib(strings.Replace(lib.Text, `"Σ"`, `"x"`, 1)) || sameLib("") {
		t.Error("a changed library is the embedded one")
	}
}

// A panic inside the native path sends the decision to OPA: never an
// allow it did not compute.
func TestNativePanicFallsBack(t *testing.T) {
	e := nativeEngine(t, nativePolicy, oslo.Options{})
	id := e.native.byName["admin"]
	// A body whose op writes past its slots panics.
	e.native.rules[id].bodies = []nBody{{value: true, ops: []nOp{{code: opCopy, out: 3, args: [2]nArg{{slot: -1, c: nval{k: nStr, s: "x"}}}}}}}
	in, err := InputJSON("admin", json.RawMessage(`{}`), json.RawMessage(`{"roles": ["member"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := e.DecideNative(in); ok {
		t.Fatalf("a panicking native rule decided %+v", d)
	}
	d, err := e.DecideInput(context.Background(), "admin", in)
	if err != nil || d.Allowed || d.Error != "" {
		t.Errorf("%+v %v", d, err)
	}
	// An unknown op code is a fallback too.
	e.native.rules[id].bodies = []nBody{{value: true, ops: []nOp{{code: 200}}}}
	if d, ok := e.DecideNative(in); ok {
		t.Fatalf("an unknown op decided %+v", d)
	}
	// The state pool still works after a panic.
	sameNative(t, e, "owner", `{"project_id": "p"}`, `{"project_id": "p"}`)
}

// FuzzNative compares the native path with OPA on random values of the
// keys the rules read.
func FuzzNative(f *testing.F) {
	f.Add(uint8(0), "p1", "p1", "admin", "all", `["a"]`)
	f.Add(uint8(3), `"x'y"`, "1", `"Member"`, "", `{"a": 1}`)
	f.Add(uint8(7), "ntt_3251", "true", `["member", "ΣA"]`, "0", "null")
	f.Add(uint8(9), "é", "-0", `"İ"`, `{"x": 1}`, "1.5")
	e := nativeEngine(f, nativePolicy, oslo.Options{})
	rules, err := e.RuleNames(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	// jsonOr is s when it is JSON, else s as a JSON string.
	jsonOr := func(s string) string {
		if json.Valid([]byte(s)) {
			if _, err := DecodeJSON([]byte(s)); err == nil {
				return s
			}
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	f.Fuzz(func(t *testing.T, rule uint8, tv, cv, roles, scope, other string) {
		tj, cj, rj, sj, oj := jsonOr(tv), jsonOr(cv), jsonOr(roles), jsonOr(scope), jsonOr(other)
		target := fmt.Sprintf(`{"project_id": %s, "user_id": %s, "x_billing_code_ntt": %s, "role": %s, "a": %s, "b": %s, "c": %s, "d": %s, "e": %s, "flag": %s, "g": %s}`,
			tj, cj, tj, rj, tj, cj, oj, tj, cj, oj, tj)
		creds := fmt.Sprintf(`{"roles": %s, "project_id": %s, "user_id": %s, "system_scope": %s, "system": %s, "is_admin": %s, "group": %s, "token": {"domain": %s, "project": {"domain": %s}, "user": %s, "": %s}}`,
			rj, tj, cj, sj, oj, oj, cj, oj, sj, tj, cj)
		if _, err := DecodeJSON([]byte(target)); err != nil {
			return
		}
		if _, err := DecodeJSON([]byte(creds)); err != nil {
			return
		}
		sameNative(t, e, rules[int(rule)%len(rules)], target, creds)
	})
}
