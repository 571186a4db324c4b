package bundles

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const requiresManifest = `{"metadata": {"oslorego_requires": {"rules": ["download_image", "restricted"], "files": ["policy.yaml", "data.json"]}}}`

// A bundle that lacks what it declares it requires, or in which a served
// action can never be decided, is refused at build and at load.
func TestBundleRequirements(t *testing.T) {
	served := []string{"download_image", "get_image"}
	tests := []struct {
		name      string
		edit      func(t *testing.T, dir string)
		decidable []string
		want      string // "" builds
	}{
		{"all present", func(t *testing.T, dir string) {}, served, ""},
		{"policy.yaml deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "policy.yaml")) }, nil, `rule "download_image", file "policy.yaml"`},
		{"data.json deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "data.json")) }, nil, `file "data.json"`},
		{"Rego rule deleted", func(t *testing.T, dir string) {
			writeFile(t, dir, "restrict.rego", "package oslo.policy\n")
			os.Remove(filepath.Join(dir, "restrict_test.rego"))
		}, nil, `rule "restricted"`},
		{"misspelt requirement", func(t *testing.T, dir string) {
			writeFile(t, dir, ".manifest", `{"metadata": {"oslorego_requires": {"rule": ["download_image"]}}}`)
		}, nil, `unknown field "rule"`},
		{"requirement in upper case", func(t *testing.T, dir string) {
			writeFile(t, dir, ".manifest", `{"metadata": {"oslorego_requires": {"RULES": ["nope"]}}}`)
		}, nil, `field "RULES": names are case-sensitive (want "rules")`},
		{"requirement unicode-folded", func(t *testing.T, dir string) {
			writeFile(t, dir, ".manifest", `{"metadata": {"oslorego_requires": {"fileſ": ["nope"]}}}`)
		}, nil, `field "fileſ": names are case-sensitive (want "files")`},
		{"misspelt metadata key", func(t *testing.T, dir string) {
			writeFile(t, dir, ".manifest", `{"metadata": {"oslorego_require": {"rules": ["nope"]}}}`)
		}, nil, `unknown key "oslorego_require"`},
		{"metadata key in upper case", func(t *testing.T, dir string) {
			writeFile(t, dir, ".manifest", `{"metadata": {"OSLOREGO_REQUIRES": {"rules": ["nope"]}}}`)
		}, nil, `unknown key "OSLOREGO_REQUIRES"`},
		{"served action in a rule: cycle", func(t *testing.T, dir string) {
			writeFile(t, dir, "policy.yaml", "\"download_image\": \"rule:a\"\n\"a\": \"rule:download_image\"\n")
		}, served, "download_image -> a -> download_image"},
		{"cycle in an action that is not served", func(t *testing.T, dir string) {
			writeFile(t, dir, "policy.yaml", "\"download_image\": \"rule:restricted\"\n\"x\": \"rule:y\"\n\"y\": \"rule:x\"\n")
		}, served, ""},
		{"cycle not always reached", func(t *testing.T, dir string) {
			writeFile(t, dir, "policy.yaml", "\"download_image\": \"role:admin or rule:a\"\n\"a\": \"rule:download_image\"\n")
		}, served, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, example)
			writeFile(t, dir, ".manifest", requiresManifest)
			tc.edit(t, dir)
			opts := Options{Decidable: tc.decidable}
			_, err := Load(context.Background(), Path(dir), opts)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("build: %v, want %q", err, tc.want)
			}
			if tc.want != "" {
				return
			}
			// A built bundle is checked again where it is loaded: with
			// requirements the loader adds, and the served actions.
			file := filepath.Join(t.TempDir(), "b.tar.gz")
			if err := os.WriteFile(file, write(t, build(t, dir), nil), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(context.Background(), Path(file), opts); err != nil {
				t.Fatalf("load: %v", err)
			}
			if _, err := Load(context.Background(), Path(file), Options{Require: Requirements{Rules: []string{"nope"}, Files: []string{"policy.d/x.yaml"}}}); err == nil || !strings.Contains(err.Error(), `rule "nope", file "policy.d/x.yaml"`) {
				t.Fatalf("load with extra requirements: %v", err)
			}
		})
	}
}

// A built bundle in which a served action raises is refused where it is
// loaded, even when it was built without that check.
func TestLoadRefusesUndecidableAction(t *testing.T) {
	dir := copyDir(t, example)
	writeFile(t, dir, "policy.yaml", "\"download_image\": \"rule:a\"\n\"a\": \"rule:download_image\"\n")
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(file, write(t, build(t, dir), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), Path(file), Options{Decidable: []string{"download_image"}})
	if err == nil || !strings.Contains(err.Error(), `action "download_image" can never be decided`) || !strings.Contains(err.Error(), "download_image -> a -> download_image") {
		t.Fatalf("got %v", err)
	}
}

// A reload that loses a declared rule or file, or makes a served action
// undecidable, is refused and the last good bundle stays; removing the
// declaration together with the file does not lift it either.
func TestReloadKeepsRequirements(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"policy.yaml deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "policy.yaml")) }, `file "policy.yaml"`},
		{"policy.yaml and the declaration deleted", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "policy.yaml"))
			os.Remove(filepath.Join(dir, ".manifest"))
		}, `rule "download_image", file "policy.yaml"`},
		{"served action made a cycle", func(t *testing.T, dir string) {
			writeFile(t, dir, "policy.yaml", "\"download_image\": \"rule:a\"\n\"a\": \"rule:download_image\"\n")
		}, "RecursionError: rule cycle download_image -> a -> download_image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, example)
			writeFile(t, dir, ".manifest", requiresManifest)
			w := NewWatcher(Path(dir), Options{Decidable: []string{"download_image"}})
			if _, err := w.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			rev := w.Current().Revision
			tc.edit(t, dir)
			_, err := w.Reload(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reload: %v, want %q", err, tc.want)
			}
			if w.Current().Revision != rev || decide(t, w, "ntt_3251") {
				t.Fatal("the last good bundle is not in force")
			}
			if _, detail := w.Status(); !strings.Contains(detail, tc.want) {
				t.Errorf("status does not say why: %q", detail)
			}
		})
	}
}
