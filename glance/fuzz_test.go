package glance

import (
	"errors"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that every error it returns
// names a line, and that a parsed file either translates to formatted Rego
// or fails with an *Error naming a line.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[^x_.*]\ncreate = admin,member\nread = @\nupdate = !\ndelete =\n"), false)
	f.Add([]byte("[DEFAULT]\nread = %(x)s\nx = @\n[.*]\ncreate = default\nupdate = a\ndelete = b\n"), true)
	f.Add([]byte("[(?P<n>a)\\d+\\Z]\nCreate: a,\n  b\nread=a\nupdate=a\ndelete=a\n"), false)
	f.Add([]byte("[a(?i)b]\ncreate = a\nread = a\nupdate = a\ndelete = a\n"), false)
	f.Add([]byte("[(?i)^x_(?P<n>a)?$]\ncreate = a\nread = a\nupdate = a\ndelete = a\n[(?t)y]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"), false)
	f.Add([]byte("[(a)(?(1)b|c)a*+(?>d)]\ncreate = a\nread = a\nupdate = a\ndelete = a\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, policies bool) {
		format := Roles
		if policies {
			format = Policies
		}
		file, err := Parse("fuzz.conf", data, format)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Line <= 0 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, r := range file.Rules {
			if len(r.Ops) != len(Operations) || r.Line <= 0 {
				t.Fatalf("rule %+v", r)
			}
		}
		if _, err := Rego(file, "", ""); err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Line <= 0 {
				t.Fatalf("Rego error without a line: %v", err)
			}
		}
	})
}

// positionRx finds the position in a re.error message.
var positionRx = regexp.MustCompile(` at position (\d+)`)

// FuzzCompilePattern checks that the regex translation never panics, fails
// only with a *pyError or an *unsupportedError, names a position inside
// the pattern, and returns RE2 that compiles.
func FuzzCompilePattern(f *testing.F) {
	for _, c := range regexCases {
		f.Add(c.pattern)
	}
	for _, c := range py311Cases {
		f.Add(c.pattern)
	}
	for _, p := range append(pyRejected, re2Unsupported...) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pat string) {
		re2, err := compilePattern(pat)
		var pe *pyError
		var ue *unsupportedError
		switch {
		case err == nil:
			if _, err := regexp.Compile(re2); err != nil {
				t.Fatalf("%q gives %q: %v", pat, re2, err)
			}
		case errors.As(err, &pe):
			if m := positionRx.FindStringSubmatch(pe.msg); m != nil {
				if n, _ := strconv.Atoi(m[1]); n > utf8.RuneCountInString(pat) {
					t.Fatalf("%q: %q is past the end", pat, pe.msg)
				}
			}
		case !errors.As(err, &ue):
			t.Fatalf("%q: unexpected error %T %v", pat, err, err)
		}
	})
}
