package oslo

import (
	"bufio"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// oslo's str() of the parsed rule, and its type, from the spec's examples.
var parseCases = []struct {
	in, want, typ string
}{
	{"", "@", "TrueCheck"},
	{"@", "@", "TrueCheck"},
	{"!", "!", "FalseCheck"},
	{"role:admin", "role:admin", "RoleCheck"},
	{"rule:a", "rule:a", "RuleCheck"},
	{"is_admin:True", "is_admin:True", "GenericCheck"},
	{"Role:admin", "Role:admin", "GenericCheck"},
	{"http://x/y", "http://x/y", "HttpCheck"},
	{"role:a or role:b and role:c", "(role:a or (role:b and role:c))", "OrCheck"},
	{"role:a and role:b or role:c", "((role:a and role:b) or role:c)", "OrCheck"},
	{"not role:a and role:b", "(not role:a and role:b)", "AndCheck"},
	{"not not role:a", "not not role:a", "NotCheck"},
	{"role:a AND role:b", "(role:a and role:b)", "AndCheck"},
	{"role:a Or role:b", "(role:a or role:b)", "OrCheck"},
	{"NoT role:a", "not role:a", "NotCheck"},
	{"(role:a)and(role:b)", "role:a)and(role:b", "RoleCheck"},
	{"role:a and(role:b)", "!", "FalseCheck"},
	{"not(role:a)", "!", "FalseCheck"},
	{"project_id:%(project_id)", "!", "FalseCheck"},
	{"'admin'", "admin", "str"},
	{"\"admin\"", "admin", "str"},
	{"('admin')", "!", "FalseCheck"},
	{"not", "not", "str"},
	{"(", "(", "str"},
	{")", ")", "str"},
	{"'spam':'spam'", "spam':'spam", "str"},
	{"'spam':%(x)s", "'spam':%(x)s", "GenericCheck"},
	{"role:a and", "!", "FalseCheck"},
	{"or role:a", "!", "FalseCheck"},
	{"role:a role:b", "!", "FalseCheck"},
	{"()", "!", "FalseCheck"},
	{"   ", "!", "FalseCheck"},
	{"role:a or foobar", "(role:a or !)", "OrCheck"},
	{"not foobar", "not !", "NotCheck"},
	{"a:x or (b:x and c:y) and d:z", "(a:x or (b:x and c:y and d:z))", "OrCheck"},
	{"role:a\u00a0or\u2003role:b", "(role:a or role:b)", "OrCheck"},
	{"role:a\x1cor\x1frole:b", "(role:a or role:b)", "OrCheck"},
	{"(@ or ! or @)", "(@ or ! or @)", "OrCheck"},
	{"rule:compute:create", "rule:compute:create", "RuleCheck"},
	{"field:networks:shared=True", "field:networks:shared=True", "GenericCheck"},
}

func checkType(c Check) string {
	switch n := c.(type) {
	case *BareToken:
		return "str"
	case *RemoteCheck:
		return strings.ToUpper(n.Kind[:1]) + n.Kind[1:] + "Check"
	}
	t := strings.TrimPrefix(strings.TrimPrefix(strings.Replace(typeName(c), "*oslo.", "", 1), "*"), "oslo.")
	return t
}

func TestParseRule(t *testing.T) {
	for _, c := range parseCases {
		got := ParseRule(c.in)
		if got.String() != c.want || checkType(got) != c.typ {
			t.Errorf("ParseRule(%q) = %s (%s), want %s (%s)", c.in, got, checkType(got), c.want, c.typ)
		}
	}
}

// TestParseGolden compares with oslo's parse of every rule string in the
// committed golden file (made by TestParseAgainstOslo with -update).
func TestParseGolden(t *testing.T) {
	for _, g := range readGolden(t) {
		got := ParseRule(g.In)
		if got.String() != g.Str || checkType(got) != g.Type {
			t.Errorf("ParseRule(%q) = %s (%s), oslo: %s (%s)", g.In, got, checkType(got), g.Str, g.Type)
		}
	}
}

type golden struct {
	In   string `json:"in"`
	Str  string `json:"str"`
	Type string `json:"type"`
}

const goldenFile = "testdata/parse_golden.jsonl"

func readGolden(t *testing.T) []golden {
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatalf("golden file: %v (regenerate with go test -run TestParseAgainstOslo -update)", err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if len(out) < 1000 {
		t.Fatalf("golden file has only %d cases", len(out))
	}
	return out
}

const osloParse = `
import json, sys, logging
logging.disable(logging.CRITICAL)
from oslo_policy import _parser
for line in sys.stdin:
    s = json.loads(line)
    r = _parser.parse_rule(s)
    print(json.dumps({"in": s, "str": str(r), "type": type(r).__name__}), flush=True)
`

// randomRule builds rule strings from the tokens oslo's parser cares about.
func randomRule(r *rand.Rand) string {
	atoms := []string{"role:a", "role:B", "rule:x", "@", "!", "foo", "'s'", "\"s\"", "k:%(v)s", "a:b:c",
		"and", "or", "not", "AND", "Not", "oR", "(", ")", "((", "))", "(role:a)", "(@", "!)", "'x')", "not(", "http:", "role:"}
	seps := []string{" ", " ", " ", "  ", "\t", "\u00a0", "\n", "", "\u2003", "\x1c"}
	var b strings.Builder
	n := 1 + r.Intn(8)
	for i := 0; i < n; i++ {
		b.WriteString(atoms[r.Intn(len(atoms))])
		b.WriteString(seps[r.Intn(len(seps))])
	}
	return b.String()
}

// TestParseAgainstOslo parses random rule strings with oslo.policy itself.
// With -update it rewrites the golden file.
func TestParseAgainstOslo(t *testing.T) {
	py := testenv.Python(t, "oslo_policy")
	r := rand.New(rand.NewSource(1))
	var ins []string
	for _, c := range parseCases {
		ins = append(ins, c.in)
	}
	for i := 0; i < 3000; i++ {
		ins = append(ins, randomRule(r))
	}
	cmd := exec.Command(py, "-c", osloParse)
	var stdin strings.Builder
	for _, s := range ins {
		b, _ := json.Marshal(s)
		stdin.Write(b)
		stdin.WriteByte('\n')
	}
	cmd.Stdin = strings.NewReader(stdin.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oslo parser: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(ins) {
		t.Fatalf("oslo answered %d of %d", len(lines), len(ins))
	}
	var gs []golden
	for _, l := range lines {
		var g golden
		if err := json.Unmarshal([]byte(l), &g); err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
		got := ParseRule(g.In)
		if got.String() != g.Str || checkType(got) != g.Type {
			t.Errorf("ParseRule(%q) = %s (%s), oslo: %s (%s)", g.In, got, checkType(got), g.Str, g.Type)
		}
	}
	if *update {
		f, err := os.Create(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		for _, g := range gs {
			if err := enc.Encode(g); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseRule(s)
		str := c.String()
		if fc, ok := c.(*FalseCheck); ok && fc.Whole && fc.Reason == "" {
			t.Fatalf("whole-rule failure without a reason for %q", s)
		}
		// The canonical form of a check tree parses back to itself.
		if _, bare := c.(*BareToken); !bare {
			if again := ParseRule(str).String(); again != str {
				t.Fatalf("ParseRule(%q) = %q, which reparses to %q", s, str, again)
			}
		}
		Walk(c, func(n Check) {
			sp := n.Pos()
			if sp.Start < 0 || sp.End > len(s) || sp.Start > sp.End {
				t.Fatalf("span %v out of range for %q", sp, s)
			}
		})
	})
}
