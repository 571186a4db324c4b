package translate

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/oslorego/oslorego/translate/oslo"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenRego pins the Rego emitted for the worked example and a policy
// with every kind of construct: run with -update to accept a change.
func TestGoldenRego(t *testing.T) {
	cases := map[string][]string{
		"glance-download": {"../examples/glance-download/policy.yaml"},
		"constructs":      {"testdata/constructs.yaml"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			first := translateFiles(t, files)
			// The same input must give the same bytes (bundles are built from it).
			if again := translateFiles(t, files); len(again) != len(first) {
				t.Fatalf("a second translation gave %d modules, not %d", len(again), len(first))
			} else {
				for i := range first {
					if first[i] != again[i] {
						t.Fatalf("%s differs between two translations", first[i].File)
					}
				}
			}
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range first {
				path := filepath.Join(dir, m.File)
				if *update {
					if err := os.WriteFile(path, []byte(m.Text), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./translate -run TestGoldenRego -update)", err)
				}
				if string(want) != m.Text {
					t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", m.File, path, m.Text)
				}
			}
		})
	}
}

func translateFiles(t *testing.T, files []string) []Module {
	t.Helper()
	p, err := oslo.Load(files, "", oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := tr.Formatted()
	if err != nil {
		t.Fatal(err)
	}
	return mods
}
