package bundles

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/oslorego/oslorego/rego"
)

// TestGlanceBundleKeepsRegisteredDefaults checks that the built-in glance
// bundle spells out the actions the download server enforces exactly as
// Glance registers them, so that its restriction is added to Glance's
// download rule and never replaces it (issue 8, item 3).
func TestGlanceBundleKeepsRegisteredDefaults(t *testing.T) {
	var overrides map[string]string
	b, err := os.ReadFile("glance/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &overrides); err != nil {
		t.Fatalf("glance/policy.yaml: %v", err)
	}
	var defaults struct {
		Rules map[string]struct {
			CheckStr string `json:"check_str"`
		} `json:"rules"`
	}
	if b, err = os.ReadFile("glance/defaults.json"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &defaults); err != nil {
		t.Fatalf("glance/defaults.json: %v", err)
	}
	same := map[string]string{ // override → registered rule it must equal
		"glance_download_image": "download_image",
		"get_image":             "get_image",
		"get_images":            "get_images",
	}
	for name, registered := range same {
		got, ok := overrides[name]
		if !ok {
			t.Errorf("glance/policy.yaml does not spell out %q", name)
			continue
		}
		if want := defaults.Rules[registered].CheckStr; got != want {
			t.Errorf("glance/policy.yaml %q = %q, want Glance's registered %s %q", name, got, registered, want)
		}
	}
	const download = "rule:context_is_admin or (rule:glance_download_image and rule:restricted)"
	if got := overrides["download_image"]; got != download {
		t.Errorf("download_image = %q, want the registered rule plus the restriction %q", got, download)
	}
}

// Deleting policy.yaml from a served copy of the glance bundle used to be a
// valid bundle that lifted the restriction; its .manifest now requires the
// rules and files, so the reload is refused and the restriction stays.
func TestGlanceBundleDeletedPolicyFileIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, "glance")
	w := NewWatcher(Path(dir), Options{Decidable: []string{"download_image", "get_image", "get_images"}})
	if _, err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	before := w.Current()
	req := rego.Request{
		Rule:        "download_image",
		Target:      map[string]any{"project_id": "p1", "owner": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_3251"},
		Credentials: map[string]any{"roles": []any{"member", "reader"}, "project_id": "p1"},
	}
	if err := os.Remove(filepath.Join(dir, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reload(ctx); err == nil || !strings.Contains(err.Error(), "policy.yaml") {
		t.Fatalf("reload without policy.yaml: %v, want a refusal naming policy.yaml", err)
	}
	if w.Current() != before {
		t.Fatal("the bundle in force changed")
	}
	d, err := w.Current().Engine.Decide(ctx, req)
	if err != nil || d.Allowed {
		t.Fatalf("member on a restricted image after the refused reload: %+v %v, want a deny", d, err)
	}
	if ready, detail := w.Status(); !ready || !strings.Contains(detail, "policy.yaml") {
		t.Errorf("status %v %q: want ready (the last good bundle) and the failure named", ready, detail)
	}
}
