package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

// TestConformance runs the frozen corpus of oslo.policy decisions (made by
// policy_test/cmd/gencorpus with the real library) through our engine:
// every allow, deny and error must match.
func TestConformance(t *testing.T) {
	testenv.Long(t)
	files, err := filepath.Glob("testdata/corpus/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no corpus in testdata/corpus (run go run ./policy_test/cmd/gencorpus)")
	}
	h := newHarness(true)
	var total atomic.Int64
	// Areas run in parallel; the harness compiles each policy once.
	t.Run("areas", func(t *testing.T) {
		for _, f := range files {
			area := strings.TrimSuffix(filepath.Base(f), ".jsonl")
			t.Run(area, func(t *testing.T) {
				t.Parallel()
				cases := readCases(t, f)
				if strings.HasPrefix(area, "real-") {
					cases = mergePolicies(cases)
				}
				for _, c := range cases {
					checkCase(t, h, c)
				}
				total.Add(int64(len(cases)))
			})
		}
	})
	t.Logf("%d corpus cases", total.Load())
	// Every case is also decided through its engine's decision memo
	// (harness.sameThroughMemo): hits are cases answered with an earlier
	// case's decision.
	t.Logf("decision memo: %d hits, %d misses, %d bypassed", h.memo.Hits.Load(), h.memo.Misses.Load(), h.memo.Bypassed.Load())
	if h.memo.Hits.Load() == 0 {
		t.Errorf("no case was answered from the decision memo")
	}
	if total.Load() < 20000 {
		t.Fatalf("only %d corpus cases ran", total.Load())
	}
}

func checkCase(t *testing.T, h *harness, c oracle.Case) {
	t.Helper()
	if c.Expect == nil {
		t.Fatalf("%s: case has no expected result", c.ID)
	}
	got, err := h.decide(context.Background(), c)
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	if want := c.Expect.Outcome(); got.kind() != want {
		b, _ := json.Marshal(c)
		t.Errorf("%s (%s): oslo says %s %q, oslorego says %s %q\n  case: %s", c.ID, c.Note, want, c.Expect.Error, got.kind(), got.Error, b)
	}
}

func readCases(t testing.TB, path string) []oracle.Case {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []oracle.Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var c oracle.Case
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// mergePolicies makes the cases of one real policy file share an engine.
// Each such case carries only the rules its enforced rule can reach, all
// taken from the same file, so the union of the maps of cases with the same
// settings is part of that file and decides each of them alike. A group
// whose maps disagree on a rule is left alone.
func mergePolicies(cases []oracle.Case) []oracle.Case {
	type group struct {
		rules      oracle.Rules
		registered []oracle.Registered
		seenRule   map[string]string
		seenReg    map[string]string
		ok         bool
	}
	groups := map[string]*group{}
	keyOf := func(c oracle.Case) string {
		c.Rules, c.Registered = nil, nil
		return policyKey(c)
	}
	for _, c := range cases {
		k := keyOf(c)
		g := groups[k]
		if g == nil {
			g = &group{seenRule: map[string]string{}, seenReg: map[string]string{}, ok: true}
			groups[k] = g
		}
		for _, r := range c.Rules {
			v, seen := g.seenRule[r.Name]
			switch {
			case !seen:
				g.seenRule[r.Name] = string(r.Value)
				g.rules = append(g.rules, r)
			case v != string(r.Value):
				g.ok = false
			}
		}
		for _, r := range c.Registered {
			b, _ := json.Marshal(r)
			v, seen := g.seenReg[r.Name]
			switch {
			case !seen:
				g.seenReg[r.Name] = string(b)
				g.registered = append(g.registered, r)
			case v != string(b):
				g.ok = false
			}
		}
	}
	out := make([]oracle.Case, len(cases))
	for i, c := range cases {
		if g := groups[keyOf(c)]; g.ok {
			if c.Rules != nil {
				c.Rules = g.rules
			}
			if c.Registered != nil {
				c.Registered = g.registered
			}
		}
		out[i] = c
	}
	return out
}
