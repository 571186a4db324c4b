package oslo

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func lintPolicy(t testing.TB, rules map[string]string) *Policy {
	t.Helper()
	doc, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLayer("policy.json", doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build([]*Layer{l}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// constantFindings are the rules Lint finds always true ("true") or never
// true ("false"), as "name=true" sorted.
func constantFindings(p *Policy) string {
	var out []string
	for _, f := range Lint(p) {
		switch {
		case strings.HasPrefix(f.Message, "always true"):
			out = append(out, f.Rule+"=true")
		case strings.HasPrefix(f.Message, "can never be true"):
			out = append(out, f.Rule+"=false")
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestLintConstant pins which rules Lint folds to a constant, through rule:
// references, shared sub-rules and cycles.
func TestLintConstant(t *testing.T) {
	tests := []struct {
		rules map[string]string
		want  string
	}{
		{map[string]string{"a": "role:x or @", "b": "role:x and !", "c": "role:x"}, "a=true b=false"},
		{map[string]string{"a": "rule:b", "b": "rule:c", "c": "not @"}, "a=false b=false c=false"},
		{map[string]string{"a": "rule:b and rule:b", "b": "rule:c or role:x", "c": "'x':x"}, "a=true b=true c=true"},
		{map[string]string{"a": "rule:b or rule:c", "b": "role:x", "c": "not rule:d", "d": "!"}, "a=true c=true"},
		{map[string]string{"a": "rule:undefined", "b": "not rule:undefined"}, "a=false b=true"},
		// Cycles: a rule of one is not reported, but a rule reaching one
		// folds it as far as oslo's short-circuit goes.
		{map[string]string{"a": "rule:c", "c": "@ or rule:c"}, "a=true"},
		{map[string]string{"a": "rule:c", "c": "role:x or rule:c"}, ""},
		{map[string]string{"a": "rule:c and !", "c": "rule:d", "d": "rule:c"}, "a=false"},
		{map[string]string{"a": "rule:c", "c": "rule:d or @", "d": "rule:c and !"}, "a=true"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.rules), func(t *testing.T) {
			if got := constantFindings(lintPolicy(t, tc.rules)); got != tc.want {
				t.Errorf("constant rules %q, want %q", got, tc.want)
			}
		})
	}
}

// diamond is r0 .. rN, each rule referring twice to the next: oslo
// evaluates at most one path, and folding must not walk all 2^N.
func diamond(n int, link, leaf string) map[string]string {
	rules := map[string]string{}
	for i := range n {
		next := fmt.Sprintf("rule:r%d", i+1)
		rules[fmt.Sprintf("r%d", i)] = fmt.Sprintf(link, next, next)
	}
	rules[fmt.Sprintf("r%d", n)] = leaf
	return rules
}

// TestLintIsLinear: Lint's folding of rule: references costs allocations
// linear in the policy, for shared sub-rules and cycles alike. It used to
// fold a rule again at every reference: 2^N for a diamond of N levels
// (1.8 s for 22 levels).
func TestLintIsLinear(t *testing.T) {
	shapes := map[string]func(n int) map[string]string{
		"or diamond":  func(n int) map[string]string { return diamond(n, "%s or %s", "user_id:%(user_id)s") },
		"and diamond": func(n int) map[string]string { return diamond(n, "(%s and %s)", "user_id:%(user_id)s") },
		"cyclic diamond": func(n int) map[string]string {
			rules := diamond(n, "%s or %s or rule:r0", "user_id:%(user_id)s")
			rules["a"] = "rule:r0"
			return rules
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			cost := map[int]uint64{}
			for _, n := range []int{6, 12, 18} {
				p := lintPolicy(t, shape(n))
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				Lint(p)
				runtime.ReadMemStats(&after)
				cost[n] = after.Mallocs - before.Mallocs
			}
			t.Logf("allocations by depth: %v", cost)
			if first, second := cost[12]-cost[6], cost[18]-cost[12]; float64(second) > 1.5*float64(first) {
				t.Errorf("levels 13-18 cost %d allocations, levels 7-12 %d: not linear", second, first)
			}
		})
	}
}
