package rego_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// memoDecide decides req through m and checks the answer against the
// engine's own, without the memo.
func memoDecide(t *testing.T, m *rego.Memo, req rego.Request) (rego.Decision, rego.MemoOutcome) {
	t.Helper()
	ctx := context.Background()
	got, out, err := m.Decide(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Engine().Decide(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%+v: through the memo (%s) %+v, without %+v", req, out, got, want)
	}
	return got, out
}

// A repeated decision is a hit, also when only target data the rule does
// not read changed; what the rule reads, or the credentials, make a miss.
func TestMemoHit(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	stats := &rego.MemoStats{}
	m := rego.NewMemo(e, 100, stats)
	member := map[string]any{"roles": []any{"member"}, "project_id": "p1"}
	admin := map[string]any{"roles": []any{"admin"}, "project_id": "p1"}
	for i, tc := range []struct {
		target map[string]any
		creds  map[string]any
		want   rego.MemoOutcome
	}{
		{withProperties(0), member, rego.MemoMiss},
		{withProperties(0), member, rego.MemoHit},
		{withProperties(1000), member, rego.MemoHit}, // unread properties
		{map[string]any{"x_billing_code_ntt": "ntt_3251"}, member, rego.MemoHit},
		{map[string]any{"x_billing_code_ntt": "ntt_0001"}, member, rego.MemoMiss},
		{withProperties(0), admin, rego.MemoMiss},
		{map[string]any{}, member, rego.MemoMiss},
	} {
		_, out := memoDecide(t, m, rego.Request{Rule: "download_image", Target: tc.target, Credentials: tc.creds})
		if out != tc.want {
			t.Errorf("request %d: %s, want %s", i, out, tc.want)
		}
	}
	if h, mi, ev := stats.Hits.Load(), stats.Misses.Load(), stats.Evictions.Load(); h != 3 || mi != 4 || ev != 0 {
		t.Errorf("stats: %d hits %d misses %d evictions, want 3 4 0", h, mi, ev)
	}
}

// The key is exact: absence, null, empty values, types and a number's
// literal text are all different inputs (Python formats 1, 1.0, "1" and
// True differently), and each is decided by the engine once, then
// answered from the memo with the engine's own decision. Values Python
// reads alike (1e0 and 1.0) are one input.
func TestMemoKeyExact(t *testing.T) {
	e := engine(t, `{"a": "k:%(k)s", "b": "'1':%(k)s or 'True':%(k)s"}`, oslo.Options{})
	m := rego.NewMemo(e, 1000, nil)
	values := []string{"", `"k": null`, `"k": ""`, `"k": {}`, `"k": []`, `"k": 1`, `"k": "1"`, `"k": 1.0`, `"k": 1e0`, `"k": 10e-1`,
		`"k": true`, `"k": "True"`, `"k": [1]`, `"k": ["1"]`, `"k": {"1": 1}`, `"k": {"1": "1"}`, `"k": "1", "z": 1`}
	creds := []string{`{"k": "1"}`, `{"k": 1}`, `{"k": "True"}`, `{"k": ["1"]}`, `{}`, `{"k": null}`}
	seen := map[string]bool{}
	allows := 0
	for round := range 2 {
		for _, rule := range []string{"a", "b"} {
			for _, v := range values {
				for _, c := range creds {
					target, err := rego.DecodeOrdered([]byte("{" + v + "}"))
					if err != nil {
						t.Fatal(err)
					}
					cr, err := rego.DecodeOrdered([]byte(c))
					if err != nil {
						t.Fatal(err)
					}
					d, out := memoDecide(t, m, rego.Request{Rule: rule, Target: target, Credentials: cr})
					// Python reads 1e0 and 10e-1 as 1.0, as the engine
					// sees them; "z" is not read.
					same := map[string]string{`"k": 1e0`: `"k": 1.0`, `"k": 10e-1`: `"k": 1.0`, `"k": "1", "z": 1`: `"k": "1"`}
					id := fmt.Sprintf("%s|%s|%s", rule, v, c)
					if s, ok := same[v]; ok {
						id = fmt.Sprintf("%s|%s|%s", rule, s, c)
					}
					if d.Allowed && round == 0 {
						allows++
					}
					want := rego.MemoHit
					if !seen[id] && d.Error == "" {
						want = rego.MemoMiss
					} else if d.Error != "" {
						want = rego.MemoBypass
					}
					seen[id] = true
					if out != want {
						t.Errorf("round %d, rule %s, target {%s}, creds %s: %s, want %s (%+v)", round, rule, v, c, out, want, d)
					}
				}
			}
		}
	}
	if allows == 0 || allows == len(values)*len(creds)*2 {
		t.Errorf("%d allows: the table does not tell decisions apart", allows)
	}
}

// A rule that reads the target dynamically (iteration, a key known only
// at run time, walk) is never memoised: two inputs that differ only in a
// key no footprint names get their own, different, decisions.
func TestMemoDynamicRulesNotMemoised(t *testing.T) {
	for _, tc := range []struct{ name, module string }{
		{"iteration", "package oslo.policy\nrules.r if { some v in input.target; v == \"secret\" }"},
		{"variable key", "package oslo.policy\nrules.r if { k := input.credentials.key; input.target[k] == \"secret\" }"},
		{"walk", "package oslo.policy\nrules.r if { walk(input.target, [_, v]); v == \"secret\" }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := built(t, `{"a": "rule:r"}`, oslo.Options{})
			e, err := rego.New(context.Background(), rego.Policy(p), rego.Module("r.rego", tc.module))
			if err != nil {
				t.Fatal(err)
			}
			if fp := e.Footprint("a"); !fp.Whole {
				t.Fatalf("footprint %s, want whole", fp)
			}
			m := rego.NewMemo(e, 100, nil)
			creds := map[string]any{"key": "x"}
			var got []bool
			for _, target := range []map[string]any{
				{"owner": "p1"},
				{"owner": "p1", "x": "secret"},
				{"owner": "p1"},
			} {
				d, out := memoDecide(t, m, rego.Request{Rule: "a", Target: target, Credentials: creds})
				if out != rego.MemoBypass {
					t.Errorf("target %v: %s, want bypass", target, out)
				}
				got = append(got, d.Allowed)
			}
			if got[0] || !got[1] || got[2] {
				t.Errorf("decisions %v, want [false true false]", got)
			}
			if m.Len() != 0 {
				t.Errorf("%d decisions kept", m.Len())
			}
		})
	}
}

// A policy that calls a builtin whose answer can change is not memoised,
// whichever rule is asked.
func TestMemoVolatilePolicy(t *testing.T) {
	p := built(t, `{"a": "role:x", "b": "rule:r"}`, oslo.Options{})
	e, err := rego.New(context.Background(), rego.Policy(p), rego.Module("r.rego", "package oslo.policy\nrules.r if time.now_ns() > 0"))
	if err != nil {
		t.Fatal(err)
	}
	m := rego.NewMemo(e, 100, nil)
	if m.Volatile() != "time.now_ns" {
		t.Errorf("volatile builtin %q, want time.now_ns", m.Volatile())
	}
	for _, rule := range []string{"a", "b", "a"} {
		if _, out := memoDecide(t, m, rego.Request{Rule: rule, Credentials: map[string]any{"roles": []any{"x"}}}); out != rego.MemoBypass {
			t.Errorf("%s: %s, want bypass", rule, out)
		}
	}
}

// Failed decisions (oslo raises), a cancelled context and keys over
// MaxMemoKey are never kept; size 0 is off.
func TestMemoKeepsOnlyDecisions(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	m := rego.NewMemo(e, 100, nil)
	for _, rule := range []string{"cyclic", "bare", "cyclic"} {
		d, out := memoDecide(t, m, rego.Request{Rule: rule})
		if d.Error == "" || d.Allowed || out != rego.MemoBypass {
			t.Errorf("%s: %+v %s, want an error, bypassed", rule, d, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, out, err := m.Decide(ctx, rego.Request{Rule: "download_image", Credentials: map[string]any{"roles": []any{"admin"}}})
	if out == rego.MemoMiss || out == rego.MemoHit || (err == nil && d.Allowed && m.Len() > 0) {
		t.Errorf("cancelled: %+v %s %v", d, out, err)
	}
	if m.Len() != 0 {
		t.Errorf("%d decisions kept, want none", m.Len())
	}
	big := map[string]any{"roles": []any{"member"}, "padding": strings.Repeat("x", rego.MaxMemoKey)}
	if _, out := memoDecide(t, m, rego.Request{Rule: "download_image", Credentials: big}); out != rego.MemoBypass || m.Len() != 0 {
		t.Errorf("a key over MaxMemoKey: %s, %d kept; want bypass, none", out, m.Len())
	}
	off := rego.NewMemo(e, 0, nil)
	if _, out := memoDecide(t, off, rego.Request{Rule: "download_image"}); out != rego.MemoOff {
		t.Errorf("size 0: %s, want off", out)
	}
}

// The memo holds at most its size, dropping the least recently used.
func TestMemoBounded(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	stats := &rego.MemoStats{}
	m := rego.NewMemo(e, 2, stats)
	req := func(code string) rego.Request {
		return rego.Request{Rule: "download_image", Target: map[string]any{"x_billing_code_ntt": code}, Credentials: map[string]any{"roles": []any{"member"}}}
	}
	for i, tc := range []struct {
		code string
		want rego.MemoOutcome
	}{{"a", rego.MemoMiss}, {"b", rego.MemoMiss}, {"a", rego.MemoHit}, {"c", rego.MemoMiss}, {"a", rego.MemoHit}, {"b", rego.MemoMiss}} {
		if _, out := memoDecide(t, m, req(tc.code)); out != tc.want {
			t.Errorf("step %d (%s): %s, want %s", i, tc.code, out, tc.want)
		}
	}
	if m.Len() != 2 || stats.Evictions.Load() != 2 {
		t.Errorf("%d kept, %d evicted, want 2 and 2", m.Len(), stats.Evictions.Load())
	}
}

// A new engine (a new bundle revision) starts with an empty memo: the
// same request is a miss there, and decided by the new policy.
func TestMemoPerEngine(t *testing.T) {
	stats := &rego.MemoStats{}
	req := rego.Request{Rule: "a", Credentials: map[string]any{"roles": []any{"x"}}}
	for i, policy := range []string{`{"a": "role:x"}`, `{"a": "role:y"}`} {
		m := rego.NewMemo(engine(t, policy, oslo.Options{}), 10, stats)
		d, out := memoDecide(t, m, req)
		if out != rego.MemoMiss || d.Allowed != (i == 0) {
			t.Errorf("revision %d: %+v %s, want a miss, allowed=%v", i, d, out, i == 0)
		}
	}
}

// Concurrent decisions through one memo (run with -race).
func TestMemoConcurrent(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	m := rego.NewMemo(e, 8, nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				code := fmt.Sprintf("ntt_%d", (i*7+w)%12)
				if i%5 == 0 {
					code = "ntt_3251"
				}
				req := rego.Request{Rule: "download_image", Target: map[string]any{"x_billing_code_ntt": code}, Credentials: map[string]any{"roles": []any{"member"}}}
				d, _, err := m.Decide(context.Background(), req)
				if err != nil || d.Allowed != (code != "ntt_3251") {
					t.Errorf("%s: %+v %v", code, d, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
