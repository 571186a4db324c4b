package rego_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// chainPolicy is r0 -> r1 -> ... -> rN, each link written as link (with
// %[1]s for the reference to the next rule), rN being leaf.
func chainPolicy(n int, link, leaf string) oracle.Rules {
	rules := make(oracle.Rules, 0, n+1)
	for i := range n {
		rules = append(rules, oracle.RuleEntry{Name: fmt.Sprintf("r%d", i), Value: oracle.MustJSON(fmt.Sprintf(link, fmt.Sprintf("rule:r%d", i+1)))})
	}
	return append(rules, oracle.RuleEntry{Name: fmt.Sprintf("r%d", n), Value: oracle.MustJSON(leaf)})
}

func newEngine(t testing.TB, rules oracle.Rules) *rego.Engine {
	t.Helper()
	doc, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	return engine(t, string(doc), oslo.Options{})
}

// mallocs counts the heap allocations fn makes.
func mallocs(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// TestDeepChainCompileIsLinear: compiling a rule: chain and deciding at
// its end cost allocations linear in its depth. OPA's own recursion check
// walks everything a rule reaches, once per rule: quadratic in a chain's
// depth (5 s to compile 3000 links, minutes for a request line of 20,000),
// so New checks for cycles with one topological sort instead.
func TestDeepChainCompileIsLinear(t *testing.T) {
	req := rego.Request{Rule: "r0", Target: map[string]any{}, Credentials: map[string]any{"roles": []any{"admin"}}}
	newEngine(t, chainPolicy(1, "%s", "@")) // once-per-process set-up (the parsed library) is not measured
	for _, link := range []string{"%s", "(@ and %s)", "not not %s"} {
		t.Run(link, func(t *testing.T) {
			cost := map[int]uint64{}
			for _, n := range []int{1, 300, 600} {
				rules := chainPolicy(n, link, "role:admin")
				cost[n] = mallocs(func() {
					e := newEngine(t, rules)
					for _, e := range []*rego.Engine{e, e.Exact()} {
						d, err := e.Decide(context.Background(), req)
						if err != nil || !d.Allowed || d.Error != "" {
							t.Fatalf("depth %d: %+v %v, want allowed", n, d, err)
						}
					}
				})
			}
			first, second := cost[300]-cost[1], cost[600]-cost[300]
			t.Logf("allocations by depth: %v", cost)
			if float64(second) > 1.25*float64(first) {
				t.Errorf("links 301-600 cost %d allocations, links 1-300 %d: not linear (%v)", second, first, cost)
			}
		})
	}
}

// TestRecursiveRegoStillRefused: raw Rego that recurses is refused with
// OPA's own message, as before New replaced OPA's recursion check.
func TestRecursiveRegoStillRefused(t *testing.T) {
	for name, src := range map[string]string{
		"self":    "package oslo.policy\n\nrules.ext := rules.ext\n",
		"pair":    "package oslo.policy\n\nrules.ext := q\n\nq := rules.ext\n",
		"dynamic": "package oslo.policy\n\nrules.ext if {\n\tsome k\n\trules[k]\n}\n",
		"else":    "package oslo.policy\n\nrules.ext := false if {\n\tinput.x\n} else := q\n\nq := rules.ext\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := built(t, `{"a": "rule:ext"}`, oslo.Options{})
			_, err := rego.New(context.Background(), rego.Policy(p), rego.Module("ext.rego", src))
			if err == nil || !strings.Contains(err.Error(), "recursive") || !strings.Contains(err.Error(), "rego_recursion_error") {
				t.Fatalf("recursive raw Rego: %v, want OPA's recursion error", err)
			}
		})
	}
}

// requests the stack and chain shapes are decided with: sane ones (the
// holds form) and ones where a check raises or the input is not sane (the
// exact form).
var depthRequests = []struct {
	target, creds string
}{
	{`{"x": "x", "user_id": "u"}`, `{"roles": ["x"], "user_id": "u"}`},
	{`{"x": "y", "user_id": "u"}`, `{"roles": ["y", "z"], "user_id": "v"}`},
	{`{"x": "z"}`, `{"roles": ["x", "y"], "a": {"b": "z"}}`},
	{`{"x": "x"}`, `{"roles": ["X"], "a": "b"}`},
	{`{"x": "x"}`, `{"roles": [1, "x"]}`},
	{`[]`, `{"roles": ["x"]}`},
	{`{}`, `{"roles": "xyz", "user_id": "u"}`},
}

// TestNotStacksAgainstOracle: not stacks and nested nots over checks that
// are not constant (the shapes whose holds form used to grow
// exponentially) decide as oslo.policy does, in both forms.
func TestNotStacksAgainstOracle(t *testing.T) {
	testenv.Oracle(t)
	nested := func(leaf string, wrap func(string) string) func(int) string {
		return func(d int) string {
			s := leaf
			for range d {
				s = wrap(s)
			}
			return s
		}
	}
	shapes := []struct {
		name  string
		extra oracle.Rules
		stack func(int) string
	}{
		{"not^d role", nil, func(d int) string { return strings.Repeat("not ", d) + "role:x" }},
		{"not^d formatted role", nil, func(d int) string { return strings.Repeat("not ", d) + "role:%(x)s" }},
		{"not^d credentials", nil, func(d int) string { return strings.Repeat("not ", d) + "user_id:%(user_id)s" }},
		{"not^d deep credentials", nil, func(d int) string { return strings.Repeat("not ", d) + "a.b:%(x)s" }},
		{"not^d rule", oracle.Rules{{Name: "b", Value: oracle.MustJSON("role:x or role:%(x)s")}}, func(d int) string { return strings.Repeat("not ", d) + "rule:b" }},
		{"not (... and role)", nil, nested("role:x", func(s string) string { return "not (" + s + " and role:y)" })},
		{"(not ... or role)", nil, nested("role:%(x)s", func(s string) string { return "(not " + s + " or role:z)" })},
		{"not (not ... and role)", nil, nested("user_id:%(user_id)s", func(s string) string { return "not (not " + s + " and role:y)" })},
		{"not (not ... or not ...)", nil, nested("role:x", func(s string) string { return "not (not " + s + " or not role:y)" })},
	}
	var cases []oracle.Case
	var engines []*rego.Engine
	for _, s := range shapes {
		for d := range 7 {
			rules := append(oracle.Rules{{Name: "a", Value: oracle.MustJSON(s.stack(d))}}, s.extra...)
			e := newEngine(t, rules)
			for i, r := range depthRequests {
				cases = append(cases, oracle.Case{ID: fmt.Sprintf("%s depth %d request %d", s.name, d, i), Rules: rules, Rule: "a", Target: json.RawMessage(r.target), Creds: json.RawMessage(r.creds)})
				engines = append(engines, e)
			}
		}
	}
	compareWithOracle(t, cases, engines)
}

// TestDeepChainsAgainstOracle: rule: chains of every link shape decide as
// oslo.policy does below Python's recursion limit, and (issue 9 K, README
// known limits) keep their logical answer past it, where oslo raises.
func TestDeepChainsAgainstOracle(t *testing.T) {
	testenv.Oracle(t)
	links := []string{"%s", "(@ and %s)", "(%s or !)", "not not %s", "role:q or %s", "%s and not role:q"}
	leaves := []string{"role:x", "role:%(x)s", "user_id:%(user_id)s", "a.b:%(x)s"}
	var cases []oracle.Case
	var engines []*rego.Engine
	for _, link := range links {
		for _, leaf := range leaves {
			for _, n := range []int{1, 30, 90} {
				rules := chainPolicy(n, link, leaf)
				e := newEngine(t, rules)
				for i, r := range depthRequests {
					cases = append(cases, oracle.Case{ID: fmt.Sprintf("%q to %q depth %d request %d", link, leaf, n, i), Rules: rules, Rule: "r0", Target: json.RawMessage(r.target), Creds: json.RawMessage(r.creds)})
					engines = append(engines, e)
				}
			}
		}
	}
	compareWithOracle(t, cases, engines)

	// Past oslo's limit: the answer of the shallow chain, not an error.
	for _, link := range links {
		shallow, deep := newEngine(t, chainPolicy(2, link, "role:x")), newEngine(t, chainPolicy(1000, link, "role:x"))
		for _, r := range depthRequests {
			in, err := rego.InputJSON("r0", []byte(r.target), []byte(r.creds))
			if err != nil {
				t.Fatal(err)
			}
			want, err := shallow.DecideInput(context.Background(), "r0", in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := deep.DecideInput(context.Background(), "r0", in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != want.Allowed || got.Error != want.Error {
				t.Errorf("%q, 1000 links, %s %s: %+v, want %+v as for 2 links", link, r.target, r.creds, got, want)
			}
		}
	}
}

// compareWithOracle decides case i with engines[i] in both forms and
// compares with oslo.policy's answers.
func compareWithOracle(t *testing.T, cases []oracle.Case, engines []*rego.Engine) {
	t.Helper()
	want, err := oracle.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	mix := map[string]int{}
	for i, c := range cases {
		in, err := rego.InputJSON(c.Rule, c.Target.(json.RawMessage), c.Creds.(json.RawMessage))
		if err != nil {
			t.Fatal(err)
		}
		mix[want[i].Outcome()]++
		for form, e := range map[string]*rego.Engine{"holds": engines[i], "exact": engines[i].Exact()} {
			d, err := e.DecideInput(context.Background(), c.Rule, in)
			if err != nil {
				t.Fatal(err)
			}
			got := oracle.Result{Allowed: d.Allowed, Error: d.Error}
			if got.Outcome() != want[i].Outcome() {
				t.Errorf("%s, %s form: oslo says %s %q, oslorego %s %q", c.ID, form, want[i].Outcome(), want[i].Error, got.Outcome(), got.Error)
			}
		}
	}
	t.Logf("%d cases, oracle outcomes %v", len(cases), mix)
	if mix["allow"] == 0 || mix["deny"] == 0 || mix["error"] == 0 {
		t.Errorf("the cases do not reach every outcome: %v", mix)
	}
}

// TestNotStackOverRegoValue: a stack of nots over a raw Rego rule keeps
// what nested negations give for any value the rule has, not only the
// tri-state ones (negate maps an object to itself and anything else to a
// boolean, so k negations are one or two).
func TestNotStackOverRegoValue(t *testing.T) {
	for _, tc := range []struct {
		value string
		odd   rego.Decision // decision for an odd number of nots; even is its negation
	}{
		{`"yes"`, rego.Decision{Allowed: true}},
		{`true`, rego.Decision{Allowed: false}},
		{`false`, rego.Decision{Allowed: true}},
		{`{"error": "boom"}`, rego.Decision{Error: "boom"}},
	} {
		for k := 1; k <= 6; k++ {
			p := built(t, `{"a": "`+strings.Repeat("not ", k)+`rule:ext"}`, oslo.Options{})
			e, err := rego.New(context.Background(), rego.Policy(p), rego.Module("ext.rego", "package oslo.policy\n\nrules.ext := "+tc.value+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.odd
			if k%2 == 0 && want.Error == "" {
				want.Allowed = !want.Allowed
			}
			for form, e := range map[string]*rego.Engine{"holds": e, "exact": e.Exact()} {
				d, err := e.Decide(context.Background(), rego.Request{Rule: "a"})
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != want.Allowed || d.Error != want.Error {
					t.Errorf("%d nots over %s, %s form: %+v, want allowed=%v error %q", k, tc.value, form, d, want.Allowed, want.Error)
				}
			}
		}
	}
}
