package bundles

import (
	"encoding/json"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
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
