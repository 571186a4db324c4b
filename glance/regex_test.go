package glance

import (
	"errors"
	"regexp"
	"testing"
)

// regexCases were checked against CPython's re.search (3.11; the 3.8-only
// mid-pattern global flag case is marked).
var regexCases = []struct {
	pattern, subject string
	want             bool
}{
	{"foo", "my_foo_bar", true},
	{"^foo$", "foo\n", true},
	{"^foo$", "foo\nx", false},
	{"^foo$", "foo", true},
	{"\\d", "\u0663", true},
	{"\\d", "a", false},
	{"\\w", "\u00e9", true},
	{"\\w", "-", false},
	{"\\s", "\u001c", true},
	{"\\s", "\u00a0", true},
	{"[\\s]", "\u2028", true},
	{"\\S", "\u3000", false},
	{"(?i)ADMIN", "admin", true},
	{"(?x) a b # comment", "ab", true},
	{"(?x) a b # comment", "a b", false},
	{"[[:alpha:]]", "a", false},
	{"[[:alpha:]]", "a]", true},
	{"a{,2}b", "aab", true},
	{"^a{,2}b", "aaab", false},
	{"a{}", "a{}", true},
	{"a{x", "a{x", true},
	{"[\\W]", "-", true},
	{"[\\W]", "a", false},
	{"[a\\W]", "a", true},
	{"[a\\W]", "-", true},
	{"[a\\W]", "b", false},
	{"foo\\Z", "foo\n", false},
	{"foo\\Z", "foo", true},
	{"(?m)^b$", "a\nb\nc", true},
	{".", "\n", false},
	{"(?s).", "\n", true},
	{"\\x41", "A", true},
	{"\\101", "A", true},
	{"[\\101]", "A", true},
	{"\\0", "\u0000", true},
	{"(?P<n>a)b", "ab", true},
	{"a(?i:B)", "ab", true},
	{"(?i)a(?-i:B)", "Ab", false},
	{"(?i)a(?-i:B)", "ab", false},
	{"[]a]", "]", true},
	{"\\.", ".", true},
	{"\\.", "a", false},
	{"(?a)\\w", "\u00e9", false},
	{"(?a)\\d", "\u0663", false},
	{"a(?#comment)*", "aaa", true},
	{"^(?:ab)+$", "abab", true},
	{"[-a]", "-", true},
	{"[a-]", "-", true},
	{"[^]]", "a", true},
	{"[^]]", "]", false},
	{"a|^b", "cb", false},
	{"\\$", "$", true},
	{"a.c", "a\u00e9c", true},
	{"[\\b]", "\b", true},
	{"\u00e9", "\u00e9", true},
	// Python 3.8 applies a global flag group anywhere to the whole pattern.
	{"x(?i)Y", "XY", true},
	{"(?x)a\\ b", "a b", true},
	{"(?u)\\w", "\u00e9", true},
}

func TestRegexMatchesPython(t *testing.T) {
	for _, c := range regexCases {
		re2, err := compilePattern(c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		got := regexp.MustCompile(re2).MatchString(c.subject)
		if got != c.want {
			t.Errorf("re.search(%q, %q) = %v, RE2 %q gives %v", c.pattern, c.subject, c.want, re2, got)
		}
	}
}

func TestRegexErrors(t *testing.T) {
	python := []string{"(unclosed", "*a", "a**", "[z-a]", "\\q", "(?P<1a>x)", "a)", "(?L)a", "\\1",
		"[a", "a{3,2}", "^*", "[\\8]", "(?P=x)", "(?Q)", "(?i-i:a)", "\\x4", "\\u12", "[\\d-z]", "(?a)(?u)a",
		"a{4294967295}", "[\\A]", "(?P<a>x)(?P<a>y)", "(a\\1)", "(?#unterminated", "\\"}
	for _, p := range python {
		_, err := compilePattern(p)
		var pe *pyError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a Python compile error", p, err)
		}
	}
	unsupported := []string{"(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "(a)\\1", "(?P<x>a)(?P=x)", "\\bfoo", "foo\\B",
		"a*+", "(?>a)", "(a)?(?(1)b|c)", "a{2000}", "[^a\\W]", "\\N{DIGIT ONE}"}
	for _, p := range unsupported {
		_, err := compilePattern(p)
		var ue *unsupportedError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want unsupported", p, err)
		}
	}
	// ASCII mode keeps RE2's own \\b.
	if re2, err := compilePattern("(?a)\\bfoo"); err != nil || re2 != "\\bfoo" {
		t.Errorf("(?a)\\bfoo: %q, %v", re2, err)
	}
}
