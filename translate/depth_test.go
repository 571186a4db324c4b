package translate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/translate/oslo"
)

// notShapes are stacks of not over checks that are not constant, each
// level written as oslo users might (depth 0 is the innermost check).
var notShapes = []struct {
	name  string
	rules map[string]string
	stack func(d int) string
}{
	{"not^d role", nil, func(d int) string { return strings.Repeat("not ", d) + "role:x" }},
	{"not^d formatted role", nil, func(d int) string { return strings.Repeat("not ", d) + "role:%(x)s" }},
	{"not^d credentials", nil, func(d int) string { return strings.Repeat("not ", d) + "user_id:%(user_id)s" }},
	{"not^d rule", map[string]string{"b": "role:x"}, func(d int) string { return strings.Repeat("not ", d) + "rule:b" }},
	{"not (... and role)", nil, nested("role:x", func(s string) string { return "not (" + s + " and role:y)" })},
	{"(not ... or role)", nil, nested("role:x", func(s string) string { return "(not " + s + " or role:z)" })},
	{"not (not ... and role)", nil, nested("role:x", func(s string) string { return "not (not " + s + " and role:y)" })},
}

// nested applies wrap d times around leaf.
func nested(leaf string, wrap func(string) string) func(int) string {
	return func(d int) string {
		s := leaf
		for range d {
			s = wrap(s)
		}
		return s
	}
}

// translateJSON translates the policy file doc named name.
func translateJSON(t testing.TB, name string, doc []byte) *Translation {
	t.Helper()
	l, err := oslo.ParseLayer(name, doc)
	if err != nil {
		t.Fatalf("string rules must load: %v", err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// policyModule translates rules plus a = rule and returns the policy module.
func policyModule(t *testing.T, rules map[string]string, a string) string {
	t.Helper()
	all := map[string]string{"a": a}
	for k, v := range rules {
		all[k] = v
	}
	doc, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range translateJSON(t, "policy.json", doc).Modules {
		if m.Origin == "policy.json" {
			return m.Text
		}
	}
	t.Fatal("no module for policy.json")
	return ""
}

var ruleHead = regexp.MustCompile(`(?m)^(holds|part)\[`)

// TestNotStackTranslatesLinearly: the holds form of a stack of d nots is
// O(d) rules and text. It used to fold each operand twice per level, so
// its size (and the time to write it) doubled with every not: 2^d - 1
// rules, 26 s to translate at depth 18.
func TestNotStackTranslatesLinearly(t *testing.T) {
	for _, s := range notShapes {
		t.Run(s.name, func(t *testing.T) {
			size := map[int]int{}
			for _, d := range []int{5, 6, 11, 12} {
				text := policyModule(t, s.rules, s.stack(d))
				size[d] = len(text)
				if heads := len(ruleHead.FindAllString(text, -1)); heads > 2*d+2 {
					t.Errorf("depth %d: %d holds/part rule bodies, want at most %d", d, heads, 2*d+2)
				}
			}
			// Linear: a level adds about the same text deep as shallow
			// (rule and part names gain a digit past 9).
			early, late := size[6]-size[5], size[12]-size[11]
			if late > 2*early {
				t.Errorf("the 12th level adds %d bytes, the 6th %d: not linear (sizes %v)", late, early, size)
			}
		})
	}
}

// TestDeepNotStackTranslates: a stack deeper than Python's recursion limit
// translates, and to a module that stays proportional to it.
func TestDeepNotStackTranslates(t *testing.T) {
	const d = 400
	for _, s := range notShapes {
		t.Run(s.name, func(t *testing.T) {
			text := policyModule(t, s.rules, s.stack(d))
			if heads := len(ruleHead.FindAllString(text, -1)); heads > 2*d+2 {
				t.Errorf("%d holds/part rule bodies for %d levels", heads, d)
			}
			if len(text) > 1000*d {
				t.Errorf("%d bytes for %d levels", len(text), d)
			}
		})
	}
}

func ExampleTranslate_notStack() {
	l, _ := oslo.ParseLayer("policy.json", []byte(`{"a": "not not not role:x"}`))
	p, _ := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	tr, _ := Translate(p, "")
	for _, line := range strings.Split(tr.Modules[1].Text, "\n") {
		if strings.HasPrefix(line, "holds") || strings.HasPrefix(line, "part") {
			fmt.Println(line)
		}
	}
	// Output:
	// part["a/1"] if not "x" in lib.roles
	// part["a/2"] if not part["a/1"]
	// holds["a"] if not part["a/2"]
}

var negateCall = regexp.MustCompile(`lib\.negate\(`)

// TestNotStackExactFormIsFlat: the exact form of a stack of nots nests at
// most two negations, whatever its depth (negate twice is negate twice
// more). Nesting one call per not made OPA's compile quadratic in the
// depth (its body safety check reorders the whole nested body).
func TestNotStackExactFormIsFlat(t *testing.T) {
	for _, d := range []int{1, 2, 3, 4, 9, 400} {
		text := policyModule(t, nil, strings.Repeat("not ", d)+"role:%(x)s")
		var exact string
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, `rules["a"] := `) {
				exact = line
			}
		}
		want := 2 - d%2
		if got := len(negateCall.FindAllString(exact, -1)); got != want {
			t.Errorf("depth %d: %d negations in %s, want %d", d, got, exact, want)
		}
	}
}
