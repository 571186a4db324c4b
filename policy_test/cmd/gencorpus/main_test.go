package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

// TestCommittedCorpusMatchesGenerators checks, without the oracle, that
// testdata/corpus holds exactly the cases the generators produce (same
// areas, IDs, order and requests) and that every case has an expectation.
// Only the expectations themselves need `gencorpus -check`.
func TestCommittedCorpusMatchesGenerators(t *testing.T) {
	testenv.Long(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "policy_test", "testdata", "corpus")
	areas := casegen.Corpus()
	if pol, ok := testenv.MaybeShared(t, "policies"); ok {
		real, err := casegen.RealPolicies(pol)
		if err != nil {
			t.Fatal(err)
		}
		areas = append(areas, real...)
	}
	if err := validate(areas); err != nil {
		t.Fatal(err)
	}
	for _, a := range areas {
		data, err := os.ReadFile(filepath.Join(dir, a.Name+".jsonl"))
		if err != nil {
			t.Errorf("area %s: %v (run go run ./policy_test/cmd/gencorpus)", a.Name, err)
			continue
		}
		got, err := oracle.ReadJSONL(data)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		for i := range got {
			if got[i].Expect == nil {
				t.Errorf("%s: no expect", got[i].ID)
			}
			got[i].Expect = nil
		}
		gb, err := oracle.WriteJSONL(got)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := oracle.WriteJSONL(a.Cases)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gb, wb) {
			t.Errorf("area %s: committed cases differ from the generator (%s); run go run ./policy_test/cmd/gencorpus", a.Name, firstDiff(gb, wb))
		}
	}
}

func TestValidate(t *testing.T) {
	ok := []casegen.Area{{Name: "a", Cases: []oracle.Case{{ID: "a-1", Note: "n"}}}}
	if err := validate(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]casegen.Area{
		{{Name: "a", Cases: []oracle.Case{{ID: "a-1"}}}},
		{{Name: "a", Cases: []oracle.Case{{ID: "a-1", Note: "n"}, {ID: "a-1", Note: "n"}}}},
		{{Name: "a/b", Cases: []oracle.Case{{ID: "a-1", Note: "n"}}}},
		{ok[0], ok[0]},
	} {
		if validate(bad) == nil {
			t.Errorf("validate accepted %+v", bad)
		}
	}
}

// TestCommittedLinesMatchGenerators is TestCommittedCorpusMatchesGenerators
// for the request-line corpus in testdata/lines.
func TestCommittedLinesMatchGenerators(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	areas := casegen.Lines()
	if err := validateLines(areas); err != nil {
		t.Fatal(err)
	}
	for _, a := range areas {
		data, err := os.ReadFile(filepath.Join(root, "policy_test", "testdata", "lines", a.Name+".jsonl"))
		if err != nil {
			t.Errorf("area %s: %v (run go run ./policy_test/cmd/gencorpus -lines-only)", a.Name, err)
			continue
		}
		got, err := oracle.ReadLineCases(data)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		for i := range got {
			if got[i].Expect == nil {
				t.Errorf("%s: no expect", got[i].ID)
			}
			got[i].Expect = nil
		}
		gb, err := oracle.WriteLineCases(got)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := oracle.WriteLineCases(a.Cases)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gb, wb) {
			t.Errorf("area %s: committed lines differ from the generator (%s); run go run ./policy_test/cmd/gencorpus -lines-only", a.Name, firstDiff(gb, wb))
		}
	}
}
