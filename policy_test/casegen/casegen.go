// Package casegen builds oslo.policy conformance cases for the oracle:
//
//   - Corpus: the frozen, hand-designed conformance corpus, one Area per
//     section of the semantics reference
//     (shared/reference/oslo-policy-semantics.md);
//   - RealPolicies: every real policy file in shared/policies enforced
//     against a fixed set of credential personas and targets;
//   - Random: the generator for the differential (fuzz) test.
//
// Cases carry no expectations; cmd/gencorpus asks the oracle and writes
// testdata/corpus/<area>.jsonl.
package casegen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// Area is a named group of cases; it becomes testdata/corpus/<Name>.jsonl.
type Area struct {
	Name  string
	Cases []oracle.Case
}

// M is a JSON object under construction (encoded with sorted keys).
type M = map[string]any

// L is a JSON array under construction.
type L = []any

// N is a JSON number with its exact literal text.
func N(s string) json.Number { return json.Number(s) }

// R builds ordered rules from alternating name, value pairs.
func R(kv ...any) oracle.Rules { return oracle.MustRules(kv...) }

// raw is literal JSON text (used for rule values such as dicts whose key
// order matters).
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// sp returns a pointer to s.
func sp(s string) *string { return &s }

// roles builds a creds object {"roles": [...]}.
func roles(rs ...string) M {
	l := make(L, len(rs))
	for i, r := range rs {
		l[i] = r
	}
	return M{"roles": l}
}

type caseT = oracle.Case

// area accumulates the cases of one area, numbering them <name>-NNN.
type area struct {
	name  string
	cases []oracle.Case
}

func newArea(name string) *area { return &area{name: name} }

func (a *area) add(note string, c oracle.Case) {
	c.ID = fmt.Sprintf("%s-%03d", a.name, len(a.cases)+1)
	c.Note = note
	if isLoneString(c.Rules, c.Rule) {
		c.HeadDiffers = true
	}
	c.Target = orEmpty(c.Target)
	c.Creds = orEmpty(c.Creds)
	a.cases = append(a.cases, c)
}

// orEmpty maps a nil interface or a nil M to {} (use null for JSON null).
func orEmpty(v any) any {
	switch x := v.(type) {
	case nil:
		return M{}
	case M:
		if x == nil {
			return M{}
		}
	}
	return v
}

// nullTarget / nullCreds request an explicit JSON null (add() turns a nil
// interface into {}).
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

var null = jsonNull{}

// en is an enforcer-mode case.
func en(rules oracle.Rules, rule string, target, creds any) oracle.Case {
	return oracle.Case{Rules: rules, Rule: rule, Target: target, Creds: creds}
}

// one is an enforcer-mode case for the single rule {"r": rule}.
func one(rule any, target, creds any) oracle.Case {
	return en(R("r", rule), "r", target, creds)
}

func (a *area) area() Area { return Area{Name: a.name, Cases: a.cases} }

// Corpus returns the frozen conformance corpus, area by area, in a fixed
// order. Every case has a unique, stable ID and a Note naming the
// reference section it exercises.
func Corpus() []Area {
	builders := []func() *area{
		tokenizerArea,  // §1
		grammarArea,    // §2
		parseCheckArea, // §3
		listArea,       // §4
		ruleCheckArea,  // §5.1, §5.2
		roleArea,       // §5.3
		formatArea,     // §5.4 step 1
		literalArea,    // §5.4 step 2a / 2a'
		credsArea,      // §5.4 step 2b
		httpArea,       // §5.5
		enforceArea,    // §6
		scopeArea,      // §7
		fileArea,       // §8
		deprecatedArea, // §9
		tableArea,      // §10
		glanceArea,     // glance-download.md §1.1, §3.2, §5
		unicodeArea,    // issue 9 B, C: Unicode 14 classes at run time
		namesArea,      // issue 9 E: \N{NAME} escapes in KINDs
		reprSweepArea,  // issue 9 B: repr() over the Unicode sweep
		sigmaSweepArea, // issue 9 C: Final_Sigma over the Unicode sweep
		lowerSweepArea, // str.lower() of roles over the Unicode sweep
	}
	out := make([]Area, 0, len(builders))
	for _, b := range builders {
		out = append(out, b().area())
	}
	return out
}

// subsets returns every subset of xs (as sorted role lists), in binary
// counting order.
func subsets(xs []string) [][]string {
	n := len(xs)
	out := make([][]string, 0, 1<<n)
	for m := 0; m < 1<<n; m++ {
		var s []string
		for i := 0; i < n; i++ {
			if m&(1<<i) != 0 {
				s = append(s, xs[i])
			}
		}
		sort.Strings(s)
		out = append(out, s)
	}
	return out
}

func rolesNote(rs []string) string {
	if len(rs) == 0 {
		return "roles=[]"
	}
	return "roles=[" + strings.Join(rs, ",") + "]"
}

// q quotes a string for notes.
func q(s string) string { return fmt.Sprintf("%q", s) }

// isLoneString reports whether the enforced rule's text is exactly one quoted
// string token (4.0.0 raises AttributeError; HEAD denies).
func isLoneString(rules oracle.Rules, name string) bool {
	raw, ok := rules.Get(name)
	if !ok {
		return false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	f := strings.Fields(s)
	if len(f) != 1 || len(f[0]) < 2 {
		return false
	}
	t := f[0]
	return (t[0] == '\'' || t[0] == '"') && t[len(t)-1] == t[0]
}
