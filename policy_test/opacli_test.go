package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// realPolicy is one way of loading a real policy file.
type realPolicy struct {
	name     string
	files    []string
	defaults string
}

func realPolicies(t testing.TB) []realPolicy {
	dir := testenv.Shared(t, "policies")
	var out []realPolicy
	metas, _ := filepath.Glob(filepath.Join(dir, "*.meta.json"))
	all, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(all)
	for _, f := range all {
		if strings.HasSuffix(f, ".meta.json") {
			continue
		}
		out = append(out, realPolicy{name: filepath.Base(f), files: []string{f}})
	}
	for _, m := range metas {
		out = append(out, realPolicy{name: filepath.Base(m), defaults: m})
	}
	if len(out) < 20 {
		t.Fatalf("expected the real policy files in %s, found %d", dir, len(out))
	}
	return out
}

// personas are credentials of the kinds real services see.
var personas = []map[string]any{
	{"user_id": "u1", "project_id": "p1", "roles": []any{"admin", "member", "reader"}, "is_admin": true, "is_admin_project": true},
	{"user_id": "u2", "project_id": "p1", "roles": []any{"member", "reader"}},
	{"user_id": "u3", "project_id": "p1", "roles": []any{"reader"}},
	{"user_id": "u4", "project_id": "p2", "roles": []any{"member"}},
	{"user_id": "u5", "system_scope": "all", "roles": []any{"admin", "reader"}},
	{"user_id": "u6", "domain_id": "d1", "roles": []any{"admin"}, "token": map[string]any{"domain": map[string]any{"id": "d1"}}},
	{"user_id": "u7", "project_id": "p1", "roles": []any{}},
	{"user_id": "u8", "project_id": "p3", "roles": []any{"service"}, "service_roles": []any{"service"}},
}

var targets = []map[string]any{
	{"project_id": "p1", "user_id": "u2", "owner": "p1", "tenant_id": "p1", "domain_id": "d1", "visibility": "private", "target.user.domain_id": "d1", "network:project_id": "p1"},
	{"project_id": "p2", "user_id": "u9", "owner": "p2", "tenant_id": "p2", "domain_id": "d2", "visibility": "public", "target.user.domain_id": "d2"},
	{},
}

func requests(p *oslo.Policy) []rego.Request {
	var out []rego.Request
	for i, r := range p.Rules {
		// Every rule, against a rotating pair of personas and targets.
		for j := 0; j < 3; j++ {
			out = append(out, rego.Request{Rule: r.Name, Credentials: personas[(i+j*3)%len(personas)], Target: targets[(i+j)%len(targets)]})
		}
	}
	out = append(out, rego.Request{Rule: "no-such-rule", Credentials: personas[1], Target: targets[0]})
	return out
}

// evalModule asks the opa CLI for many decisions in one run.
const evalModule = `package oslorego_cli_check

results := [r |
	some req in data.oslorego_requests
	r := data.oslo.policy.result with input as req
]
`

// TestRealPoliciesUnderStockOPA translates every real policy file, lints
// it, runs the stock "opa check --strict" on the result, and checks that
// "opa eval" gives exactly our engine's decisions.
func TestRealPoliciesUnderStockOPA(t *testing.T) {
	testenv.Long(t)
	opa := testenv.OPA(t)
	ctx := context.Background()
	for _, rp := range realPolicies(t) {
		t.Run(rp.name, func(t *testing.T) {
			p, err := oslo.Load(rp.files, rp.defaults, oslo.Options{})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(p.Rules) == 0 {
				t.Fatal("no rules loaded")
			}
			for _, f := range oslo.Lint(p) {
				if f.Origin.Line == 0 && f.Origin.Path == "" {
					t.Errorf("lint finding without a place: %v", f)
				}
			}
			tr, err := translate.Translate(p, "")
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			formatted, err := tr.Formatted()
			if err != nil {
				t.Fatalf("format: %v", err)
			}
			dir := t.TempDir()
			for _, m := range append([]translate.Module{translate.LibModule()}, formatted...) {
				if err := os.WriteFile(filepath.Join(dir, m.File), []byte(m.Text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command(opa, "check", "--strict", dir).CombinedOutput(); err != nil {
				t.Fatalf("opa check --strict: %v\n%s", err, out)
			}
			if out, err := exec.Command(opa, "fmt", "--list", "--fail", dir).CombinedOutput(); err != nil {
				t.Fatalf("opa fmt: the translation is not formatted: %v\n%s", err, out)
			}
			eng, err := rego.New(ctx, rego.Translation(tr))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			reqs := requests(p)
			var inputs []map[string]any
			var ours []string
			for _, r := range reqs {
				inputs = append(inputs, map[string]any{"rule": r.Rule, "target": r.Target, "credentials": r.Credentials})
				d, err := eng.Decide(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				ours = append(ours, decisionKey(d.Allowed, d.Error))
			}
			data, _ := json.Marshal(map[string]any{"oslorego_requests": inputs})
			dataDir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dataDir, "data.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dataDir, "check.rego"), []byte(evalModule), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(opa, "eval", "--format", "json", "-d", dir, "-d", dataDir, "data.oslorego_cli_check.results")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("opa eval: %v\n%s", err, stderr.String())
			}
			var res struct {
				Result []struct {
					Expressions []struct {
						Value []any `json:"value"`
					} `json:"expressions"`
				} `json:"result"`
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 {
				t.Fatalf("opa eval output: %v\n%s", err, out)
			}
			theirs := res.Result[0].Expressions[0].Value
			if len(theirs) != len(reqs) {
				t.Fatalf("opa eval answered %d of %d requests", len(theirs), len(reqs))
			}
			allowed := 0
			for i, v := range theirs {
				k := cliKey(v)
				if k != ours[i] {
					t.Errorf("%s: opa eval says %s, our engine %s", reqs[i].Rule, k, ours[i])
				}
				if k == "allow" {
					allowed++
				}
			}
			if allowed == 0 || allowed == len(reqs) {
				t.Errorf("%d of %d requests allowed: the requests do not tell allow from deny", allowed, len(reqs))
			}
		})
	}
}

func decisionKey(allowed bool, errMsg string) string {
	switch {
	case errMsg != "":
		return "error: " + errMsg
	case allowed:
		return "allow"
	}
	return "deny"
}

func cliKey(v any) string {
	switch t := v.(type) {
	case bool:
		return decisionKey(t, "")
	case map[string]any:
		return decisionKey(false, fmt.Sprint(t["error"]))
	}
	return fmt.Sprintf("unexpected %v", v)
}
