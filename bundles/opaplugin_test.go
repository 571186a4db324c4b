package bundles

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	oparego "github.com/open-policy-agent/opa/v1/rego"

	"github.com/oslorego/oslorego/rego"
)

func TestPluginPath(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want []string
		err  string
	}{
		{"os_compute_api:os-admin-actions:reset_state", []string{"os_compute_api", "os_admin_actions", "reset_state"}, ""},
		{"identity:get_policy", []string{"identity", "get_policy"}, ""},
		{"default", []string{"default"}, ""},
		{"a/b:c", []string{"a", "b", "c"}, ""},
		{"x:weird.name+1:über", []string{"x", "weird.name+1", "über"}, ""},
		{"a::b", nil, "empty"},
		{":a", nil, "empty"},
		{"a:", nil, "empty"},
		{"a:.:b", nil, `"."`},
		{"a:..", nil, `".."`},
		{"a:2", nil, "as a number"},
		{"v:+7", nil, "as a number"},
		{"a:1.0", nil, "as a number"},
		{"a b", nil, `cannot receive " "`},
		{"a:%41", nil, `"%"`},
		{"a?b", nil, `"?"`},
		{"a#b", nil, `"#"`},
		{`a"b`, nil, `"\""`},
		{"a\tb", nil, `"\t"`},
	} {
		got, err := PluginPath(tc.rule)
		if tc.err == "" {
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("PluginPath(%q) = %q, %v; want %q", tc.rule, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), strconv.Quote(tc.rule)) {
			t.Errorf("PluginPath(%q) = %q, %v; want an error naming the rule and %s", tc.rule, got, err, tc.err)
		}
	}
}

// pluginPolicy has rule names that are keywords, non-identifiers and
// prefixes of each other, with the default rule and is_admin in play.
const pluginPolicy = `
"default": "role:admin"
"admin": "is_admin:True"
"x:get-thing": "role:member and project_id:%(project_id)s"
"x:get-thing:detail": "rule:admin"
"x:weird.name+1": "role:reader"
"x:über": "user_id:%(user_id)s"
"y:default": "rule:no_such_rule"
"z:in:not": "!"
"z:allow_all": "@"
`

func pluginBundle(t *testing.T, policy string, opts Options) (*bundle.Bundle, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.OsloPolicyOPA = true
	return Load(context.Background(), Path(dir), opts)
}

// TestOsloPolicyOPAPackages: each rule's package answers, at the path the
// plugin asks for, exactly the engine's decision on the same bundle.
func TestOsloPolicyOPAPackages(t *testing.T) {
	ctx := context.Background()
	b, err := pluginBundle(t, pluginPolicy, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(*b.Manifest.Roots, ","); got != "admin,default,oslo,x,y,z" {
		t.Errorf("roots %s", got)
	}
	modules := map[string]*ast.Module{}
	var opts []rego.Option
	for _, m := range b.Modules {
		modules[m.Path] = m.Parsed
		opts = append(opts, rego.Module(m.Path, string(m.Raw)))
	}
	eng, err := rego.New(ctx, append(opts, rego.Package("oslo.policy"))...)
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler()
	if c.Compile(modules); c.Failed() {
		t.Fatal(c.Errors)
	}
	creds := []map[string]any{
		{"roles": []any{"admin"}, "project_id": "p1", "user_id": "u1"},
		{"roles": []any{"member"}, "project_id": "p1", "user_id": "u1"},
		{"roles": []any{"Reader"}, "project_id": "p2", "user_id": "u2"},
		{"roles": []any{}, "is_admin": true},
		{"roles": "member"},
	}
	target := map[string]any{"project_id": "p1", "user_id": "u2"}
	names := []string{"default", "admin", "x:get-thing", "x:get-thing:detail", "x:weird.name+1", "x:über", "y:default", "z:in:not", "z:allow_all"}
	allowed := 0
	for _, name := range names {
		segs, err := PluginPath(name)
		if err != nil {
			t.Fatal(err)
		}
		ref := pluginRule{name, segs}.ref()
		pq, err := oparego.New(oparego.Compiler(c), oparego.Query(ref)).PrepareForEval(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, cr := range creds {
			in := map[string]any{"target": target, "credentials": cr}
			rs, err := pq.Eval(ctx, oparego.EvalInput(in))
			if err != nil || len(rs) != 1 {
				t.Fatalf("%s: %v %v", ref, rs, err)
			}
			got, ok := rs[0].Expressions[0].Value.(bool)
			d, err := eng.Decide(ctx, rego.Request{Rule: name, Target: target, Credentials: cr})
			if err != nil {
				t.Fatal(err)
			}
			if !ok || got != d.Allowed {
				t.Errorf("%s with %v: %v, the engine %+v", ref, cr, rs[0].Expressions[0].Value, d)
			}
			if got {
				allowed++
			}
		}
	}
	if allowed == 0 || allowed == len(names)*len(creds) {
		t.Errorf("%d of %d allowed: the cases do not tell allow from deny", allowed, len(names)*len(creds))
	}
}

func TestOsloPolicyOPARefusals(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		want         []string
	}{
		{"two rules at one path", `{"a:b-c": "@", "a:b_c": "!"}`, []string{`"a:b-c"`, `"a:b_c"`, "both map to data.a.b_c.allow"}},
		{"a colon and a slash", `{"a:b": "@", "a/b": "!"}`, []string{`"a:b"`, `"a/b"`}},
		{"inside another's decision", `{"p:q": "@", "p:q:allow:r": "!"}`, []string{`"p:q"`, `"p:q:allow:r"`, "inside data.p.q.allow"}},
		{"under the policy's root", `{"oslo:x": "@"}`, []string{`"oslo:x"`, `root "oslo"`}},
		{"unreachable name", `{"a:2": "@"}`, []string{`"a:2"`, "number"}},
		{"no package", `{"1abc": "@"}`, []string{`"1abc"`, "cannot begin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pluginBundle(t, tc.policy, Options{})
			if err == nil {
				t.Fatal("built")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// A manifest whose root is "" holds every path.
	dir0 := t.TempDir()
	for f, text := range map[string]string{"policy.json": `{"x:y": "@"}`, ".manifest": `{"roots": [""]}`} {
		if err := os.WriteFile(filepath.Join(dir0, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(context.Background(), Path(dir0), Options{OsloPolicyOPA: true}); err == nil || !strings.Contains(err.Error(), `under the bundle's root ""`) {
		t.Errorf("root \"\": %v", err)
	}
	// Without the option the same policies build.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.json"), []byte(`{"a:b-c": "@", "a:b_c": "!", "oslo:x": "@"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), Path(dir), Options{}); err != nil {
		t.Fatal(err)
	}
}
