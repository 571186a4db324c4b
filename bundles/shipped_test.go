package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/rego"
)

// TestShippedBundles builds every bundle directory in bundles/, runs its
// tests in-process, and (without -short) has the stock opa CLI test it and
// decide a few requests, which must match our engine's decisions.
func TestShippedBundles(t *testing.T) {
	// The stock opa CLI is one of the long suites: -short runs only the
	// bundles' own tests, in-process.
	opa := ""
	if !testing.Short() {
		opa = testenv.OPA(t)
	}
	dirs, _ := filepath.Glob("*/policy.yaml")
	if len(dirs) < 2 {
		t.Fatalf("expected the shipped bundles (glance, nova), found %v", dirs)
	}
	requests := []map[string]any{
		{"rule": "download_image", "target": map[string]any{"x_billing_code_ntt": "ntt_3251", "project_id": "p1"}, "credentials": map[string]any{"roles": []any{"member"}, "project_id": "p1"}},
		{"rule": "download_image", "target": map[string]any{"project_id": "p1"}, "credentials": map[string]any{"roles": []any{"member"}, "project_id": "p1"}},
		{"rule": "os_compute_api:servers:create", "target": map[string]any{"project_id": "p1"}, "credentials": map[string]any{"roles": []any{"reader"}, "project_id": "p1"}},
		{"rule": "get_image", "target": map[string]any{"project_id": "p1", "visibility": "private"}, "credentials": map[string]any{"roles": []any{"reader"}, "project_id": "p1"}},
		{"rule": "no_such_rule", "target": map[string]any{}, "credentials": map[string]any{"roles": []any{"admin"}}},
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(dir, func(t *testing.T) {
			b := build(t, dir)
			var out bytes.Buffer
			sum, err := Test(context.Background(), b, TestOptions{}, &out)
			if err != nil || sum.Failed+sum.Errors != 0 || sum.Passed == 0 {
				t.Fatalf("oslorego test: %+v %v\n%s", sum, err, out.String())
			}
			if opa == "" {
				return
			}
			path := filepath.Join(t.TempDir(), dir+".tar.gz")
			if err := os.WriteFile(path, write(t, b, nil), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := exec.Command(opa, "test", "-b", path).CombinedOutput()
			if err != nil || !strings.Contains(string(res), "PASS:") || strings.Contains(string(res), "FAIL") {
				t.Fatalf("opa test -b: %v\n%s", err, res)
			}
			eng, err := engine(context.Background(), b, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range requests {
				in, _ := json.Marshal(req)
				inFile := filepath.Join(t.TempDir(), "input.json")
				if err := os.WriteFile(inFile, in, 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := exec.Command(opa, "eval", "--format", "json", "-b", path, "-i", inFile, "data.oslo.policy.allow").Output()
				if err != nil {
					t.Fatalf("opa eval: %v", err)
				}
				var got struct {
					Result []struct {
						Expressions []struct{ Value bool } `json:"expressions"`
					} `json:"result"`
				}
				if err := json.Unmarshal(res, &got); err != nil || len(got.Result) != 1 {
					t.Fatalf("opa eval output %s: %v", res, err)
				}
				d, err := eng.Decide(context.Background(), rego.Request{Rule: req["rule"].(string), Target: req["target"], Credentials: req["credentials"]})
				if err != nil {
					t.Fatal(err)
				}
				if got.Result[0].Expressions[0].Value != d.Allowed {
					t.Errorf("%s: opa eval says %v, oslorego %v", req["rule"], got.Result[0].Expressions[0].Value, d.Allowed)
				}
			}
		})
	}
}
