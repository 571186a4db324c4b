package conformance

import (
	"path/filepath"
	"testing"
)

// TestUnicodeSweepsAllowed checks the oracle's answers to the Unicode sweep
// areas (casegen/area_unicode_sweep.go): each case is built from this
// module's own tables to be allowed, so oslo allowing every one of them
// proves those tables equal Python's at every swept code point, and
// TestConformance then holds the Rego library to the same answers.
func TestUnicodeSweepsAllowed(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/unicode-sweep-*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("want the repr, sigma and lower sweeps, found %v", files)
	}
	for _, f := range files {
		cases := readCases(t, f)
		if len(cases) < 500 {
			t.Errorf("%s: only %d cases", f, len(cases))
		}
		for _, c := range cases {
			if c.Expect == nil || c.Expect.Outcome() != "allow" {
				t.Errorf("%s (%s): oslo does not allow it: %+v", c.ID, c.Note, c.Expect)
			}
		}
	}
}
