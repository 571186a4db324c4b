package glance

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns
// names a line, and that a parsed file either translates to formatted Rego
// or fails with an *Error naming a line.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[^x_.*]\ncreate = admin,member\nread = @\nupdate = !\ndelete =\n"), false)
	f.Add([]byte("[DEFAULT]\nread = %(x)s\nx = @\n[.*]\ncreate = default\nupdate = a\ndelete = b\n"), true)
	f.Add([]byte("[(?P<n>a)\\d+\\Z]\nCreate: a,\n  b\nread=a\nupdate=a\ndelete=a\n"), false)
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
