package python

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/oslorego/oslorego/internal/testenv"
)

// The Rego library (translate/lib/oslo_lib.rego) decides printability and
// casing at run time with regex.match. Go's \p{...} classes follow Go's
// Unicode version, not Python 3.11's 14.0.0, so the library carries
// classes rendered from this package's interpreter-generated tables in a
// marked block. Regenerate it with OSLOREGO_UPDATE_REGO=1 go test -run
// TestRegoUnicodeClasses.
const (
	regoLib        = "../../translate/lib/oslo_lib.rego"
	regoBlockBegin = "# BEGIN GENERATED UNICODE CLASSES\n"
	regoBlockEnd   = "# END GENERATED UNICODE CLASSES\n"
)

// regoClasses are the library's generated rules and the tables they mirror.
var regoClasses = []struct {
	name, doc string
	table     *unicode.RangeTable
}{
	{"_printable_re", "matches one character that str.isprintable() accepts.", printable14},
	{"_cased_re", "matches one character the Final_Sigma rule of str.lower() counts as cased.", cased14},
	{"_case_ignorable_re", "matches one character the Final_Sigma rule of str.lower() skips.", caseIgnorable14},
}

// regexClass renders a table as an RE2 pattern matching one code point.
func regexClass(t *unicode.RangeTable) string {
	var b strings.Builder
	b.WriteString("^[")
	add := func(lo, hi uint32) {
		if lo == hi {
			fmt.Fprintf(&b, `\x{%x}`, lo)
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, lo, hi)
		}
	}
	for _, r := range t.R16 {
		add(uint32(r.Lo), uint32(r.Hi))
	}
	for _, r := range t.R32 {
		add(r.Lo, r.Hi)
	}
	b.WriteString("]$")
	return b.String()
}

func regoBlock() string {
	var b strings.Builder
	b.WriteString(regoBlockBegin)
	fmt.Fprintf(&b, "# Unicode %s classes of the reference interpreter, rendered from\n", unicodeVersion)
	b.WriteString("# internal/python/tables.go by TestRegoUnicodeClasses; do not edit.\n")
	for _, c := range regoClasses {
		fmt.Fprintf(&b, "\n# %s %s\n%s := `%s`\n", c.name, c.doc, c.name, regexClass(c.table))
	}
	b.WriteString("\n" + regoBlockEnd)
	return b.String()
}

// TestRegoUnicodeClasses checks that the library's generated block is the
// one rendered from tables.go, and that each pattern, compiled as OPA's
// regex.match compiles it, agrees with its table on every code point.
func TestRegoUnicodeClasses(t *testing.T) {
	src, err := os.ReadFile(regoLib)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i := strings.Index(text, regoBlockBegin)
	j := strings.Index(text, regoBlockEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated block", regoLib)
	}
	want := regoBlock()
	got := text[i : j+len(regoBlockEnd)]
	if os.Getenv("OSLOREGO_UPDATE_REGO") == "1" && got != want {
		if err := os.WriteFile(regoLib, []byte(text[:i]+want+text[j+len(regoBlockEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	if got != want {
		t.Errorf("%s: generated Unicode classes are stale; run OSLOREGO_UPDATE_REGO=1 go test -run TestRegoUnicodeClasses ./internal/python/", regoLib)
	}
	for _, c := range regoClasses {
		m := regexp.MustCompile(`(?m)^` + c.name + " := `([^`]*)`$").FindStringSubmatch(got)
		if m == nil {
			t.Errorf("%s not found in the generated block", c.name)
			continue
		}
		re, err := regexp.Compile(m[1])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		bad := 0
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if r >= 0xd800 && r < 0xe000 {
				continue
			}
			if g, w := re.MatchString(string(r)), unicode.Is(c.table, r); g != w {
				if bad++; bad <= 10 {
					t.Errorf("%s on %U = %v, table %v", c.name, r, g, w)
				}
			}
		}
	}
}

// TestRegoUnicodeClassesAgainstPython sweeps every code point of the
// library's patterns against the interpreter itself: str.isprintable() and
// the Final_Sigma probes gen_tables.py uses ((ch+"Σ").lower() and
// ("A"+ch+"Σ").lower()).
func TestRegoUnicodeClassesAgainstPython(t *testing.T) {
	testenv.Long(t)
	src, err := os.ReadFile(regoLib)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{"_printable_re": "isprintable", "_cased_re": "sigmacased", "_case_ignorable_re": "sigmaignorable"}
	var reqs []oracleRequest
	var names []string
	for _, c := range regoClasses {
		reqs = append(reqs, oracleRequest{Op: ops[c.name]})
		names = append(names, c.name)
	}
	answers := askPython(t, reqs)
	mismatches := 0
	report := func(format string, args ...any) {
		if mismatches++; mismatches <= 20 {
			t.Errorf(format, args...)
		}
	}
	for k, name := range names {
		m := regexp.MustCompile(`(?m)^` + name + " := `([^`]*)`$").FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s not found in %s", name, regoLib)
		}
		re, err := regexp.Compile(string(m[1]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want []rune
		if err := json.Unmarshal(answers[k], &want); err != nil {
			t.Fatal(err)
		}
		checkCodepoints(report, name, func(r rune) bool { return re.MatchString(string(r)) }, want)
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches against %s", mismatches, referencePython)
	}
}

// TestRegoLowerBuiltin checks what py_lower in the Rego library relies on:
// OPA's lower() (strings.ToLower, Go's Unicode version) maps every code
// point as Python 3.11's str.lower() does (Lower, checked against the
// interpreter by TestAgainstPython), except Σ and İ, which py_lower handles
// itself.
func TestRegoLowerBuiltin(t *testing.T) {
	bad := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if (r >= 0xd800 && r < 0xe000) || r == 'Σ' || r == 'İ' {
			continue
		}
		if got, want := strings.ToLower(string(r)), Lower(string(r)); got != want {
			if bad++; bad <= 10 {
				t.Errorf("strings.ToLower(%U) = %q, str.lower() %q", r, got, want)
			}
		}
	}
}
