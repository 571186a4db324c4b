package oslo

import (
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in        string
		konst     string
		isConst   bool
		key       string
		singleKey bool
		errs      []string
		whole     bool
	}{
		{in: "admin", konst: "admin", isConst: true},
		{in: "100%%", konst: "100%", isConst: true},
		{in: "", konst: "", isConst: true},
		{in: "%(project_id)s", key: "project_id", singleKey: true},
		{in: "%(a(b)c)s", key: "a(b)c", singleKey: true},
		{in: "x-%(k)s", errs: nil},
		{in: "%s", whole: true},
		{in: "%s %s", whole: true, errs: []string{"not enough arguments"}},
		{in: "%(a)s %s", errs: []string{"not enough arguments"}},
		{in: "%", errs: []string{"incomplete format"}},
		{in: "%(k", errs: []string{"incomplete format key"}},
		{in: "%(k)z", errs: []string{"unsupported format character 'z'"}},
		{in: "%(k)%", errs: []string{"unsupported format character '%'"}},
		{in: "%(k)*s", errs: []string{"* wants int"}},
		{in: "%(k)5.2s"},
		{in: "%(k)ld"},
	}
	for _, tc := range tests {
		f := ParseFormat(tc.in)
		if k, ok := f.Const(); ok != tc.isConst || (ok && k != tc.konst) {
			t.Errorf("%q: Const() = %q, %v; want %q, %v", tc.in, k, ok, tc.konst, tc.isConst)
		}
		if k, ok := f.SingleKey(); ok != tc.singleKey || (ok && k != tc.key) {
			t.Errorf("%q: SingleKey() = %q, %v; want %q, %v", tc.in, k, ok, tc.key, tc.singleKey)
		}
		if f.UsesWhole != tc.whole {
			t.Errorf("%q: UsesWhole = %v, want %v", tc.in, f.UsesWhole, tc.whole)
		}
		var errs []string
		for _, s := range f.Segs {
			if s.Err != "" {
				errs = append(errs, s.Err)
			}
		}
		if len(errs) != len(tc.errs) {
			t.Errorf("%q: errors %q, want %q", tc.in, errs, tc.errs)
			continue
		}
		for i := range errs {
			if !strings.Contains(errs[i], tc.errs[i]) {
				t.Errorf("%q: error %q, want %q", tc.in, errs[i], tc.errs[i])
			}
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"%(k)s", "%%", "%(a(b)c)-5.2r", "%s%s", "%(k", "x%", "%(k)ld", "%#x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm := ParseFormat(s)
		if k, ok := fm.Const(); ok && strings.Count(s, "%") != 2*strings.Count(k, "%") {
			t.Fatalf("%q: constant %q does not account for every %%", s, k)
		}
		for _, seg := range fm.Segs {
			if seg.Keyed && seg.Bare {
				t.Fatalf("%q: a segment is both keyed and bare", s)
			}
		}
	})
}
