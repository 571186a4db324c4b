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
// compares every decision with oslo.policy itself. OSLOREGO_DIFF_N sets the
// number of cases, OSLOREGO_DIFF_SEED the seed (logged, to reproduce).
func TestDifferential(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	n := int(envInt("OSLOREGO_DIFF_N", 5000))
	seed := envInt("OSLOREGO_DIFF_SEED", 20261123)
	t.Logf("differential test: %d cases, seed %d", n, seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	cases := make([]oracle.Case, n)
	for i := range cases {
		cases[i] = casegen.Random(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results, err := oracle.Run(ctx, cases)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	h := newHarness(false)
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
	mismatches := 0
	for i, c := range cases {
		want := results[i].Outcome()
		mix[want]++
		if errs[i] != nil {
			t.Fatalf("case %d: %v", i, errs[i])
		}
		if g := got[i]; g.kind() != want {
			mismatches++
			if mismatches <= 20 {
				b, _ := json.Marshal(c)
				t.Errorf("case %d: oslo says %s %q, oslorego says %s %q\n  case: %s", i, want, results[i].Error, g.kind(), g.Error, b)
			}
		}
	}
	t.Logf("oracle outcomes: %v", mix)
	if mismatches > 0 {
		t.Fatalf("%d of %d decisions differ from oslo.policy (seed %d)", mismatches, n, seed)
	}
	if mix["allow"] < n/10 || mix["deny"] < n/10 || mix["error"] == 0 {
		t.Fatalf("the generator's mix is too thin to prove much: %v", mix)
	}
}
