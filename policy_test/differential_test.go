package conformance

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// TestDifferential generates random rules, targets and credentials and
// compares every decision with oslo.policy itself. Cases carry values of
// the classes of issue 9 that a Case can hold (casegen.Gen); the request
// line classes are drawn by casegen.RandomLine for cmd/oslorego's
// TestBatchDifferential. OSLOREGO_DIFF_N sets the number of cases,
// OSLOREGO_DIFF_SEED the seed (logged, to reproduce) and
// OSLOREGO_DIFF_SKIP_CLASSES the classes not to draw (default
// casegen.PendingClasses; empty for all).
func TestDifferential(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	n := int(envInt("OSLOREGO_DIFF_N", 5000))
	seed := envInt("OSLOREGO_DIFF_SEED", 20261123)
	classes, err := casegen.DrawnClasses()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("differential test: %d cases, seed %d, classes %s (not drawn: %s)", n, seed, classes, casegen.AllClasses&^classes)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	gen := casegen.NewGen(classes)
	cases := make([]oracle.Case, n)
	drawn := make([]casegen.ClassSet, n)
	for i := range cases {
		cases[i], drawn[i] = gen.Case(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results, err := oracle.Run(ctx, cases)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	h := newHarness(false)
	h.probe = true
	// Decide on every core; compare in order.
	got := make([]outcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += runtime.GOMAXPROCS(0) {
				got[i], errs[i] = h.decide(ctx, cases[i])
			}
		}(w)
	}
	wg.Wait()
	mix := map[string]int{}
	perClass := map[casegen.Class]*classStats{}
	mismatches := 0
	for i, c := range cases {
		want := results[i].Outcome()
		mix[want]++
		if errs[i] != nil {
			t.Fatalf("case %d: %v", i, errs[i])
		}
		differs := got[i].kind() != want
		for _, cl := range drawn[i].Classes() {
			if perClass[cl] == nil {
				perClass[cl] = &classStats{mix: map[string]int{}}
			}
			perClass[cl].add(want, differs, drawn[i] == casegen.ClassSet(0).With(cl))
		}
		if differs {
			mismatches++
			if mismatches <= 20 {
				b, _ := json.Marshal(c)
				t.Errorf("case %d (classes %s): oslo says %s %q, oslorego says %s %q\n  case: %s", i, drawn[i], want, results[i].Error, got[i].kind(), got[i].Error, b)
			}
		}
	}
	t.Logf("oracle outcomes: %v", mix)
	t.Logf("decision memo: %d hits (%d probes with an unread target key), %d misses, %d bypassed",
		h.memo.Hits.Load(), h.probeHits.Load(), h.memo.Misses.Load(), h.memo.Bypassed.Load())
	if h.probeHits.Load() < int64(n/10) {
		t.Errorf("only %d probes of %d cases were answered from the memo: it was hardly tested", h.probeHits.Load(), n)
	}
	for _, cl := range classes.Classes() {
		if s := perClass[cl]; s != nil {
			t.Logf("class %-3s drawn in %4d cases (%.1f%%): oslo %v; %d differ (%d of the %d with no other class)",
				cl, s.n, 100*float64(s.n)/float64(n), s.mix, s.differ, s.aloneDiffer, s.alone)
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d decisions differ from oslo.policy (seed %d)", mismatches, n, seed)
	}
	if mix["allow"] < n/10 || mix["deny"] < n/10 || mix["error"] == 0 {
		t.Fatalf("the generator's mix is too thin to prove much: %v", mix)
	}
}

// classStats counts one class's cases, oslo's answers to them and our
// disagreements.
type classStats struct {
	n, differ, alone, aloneDiffer int
	mix                           map[string]int
}

func (s *classStats) add(outcome string, differs, alone bool) {
	s.n++
	s.mix[outcome]++
	if differs {
		s.differ++
	}
	if alone {
		s.alone++
		if differs {
			s.aloneDiffer++
		}
	}
}
