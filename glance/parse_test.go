package glance

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// readPeer reads a file of the glance peer kit (../shared/glance-peer).
func readPeer(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "glance-peer", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func crud(p Perm) map[string]Perm {
	return map[string]Perm{"create": p, "read": p, "update": p, "delete": p}
}

func roles(rs ...string) Perm { return Perm{Roles: rs} }

func TestParsePeerFiles(t *testing.T) {
	tests := []struct {
		file    string
		format  Format
		want    []Rule
		wantErr string
	}{
		{file: "property-protections-roles.conf", format: Roles, want: []Rule{
			{Pattern: "^test_key$", Line: 4, Ops: map[string]Perm{
				"create": roles("admin", "member"), "read": roles("admin", "member", "_member_"),
				"update": roles("admin", "member"), "delete": roles("admin", "member")}},
			{Pattern: "^secret_key$", Line: 11, Ops: crud(roles("admin"))},
			{Pattern: ".*", Line: 19, Ops: crud(Perm{AllowAll: true})},
		}},
		{file: "property-protections-roles.conf.sample", format: Roles, want: []Rule{
			{Pattern: "^x_.*", Line: 22, Ops: crud(roles("admin", "member", "_member_"))},
			{Pattern: ".*", Line: 28, Ops: crud(roles("admin"))},
		}},
		{file: "property-protections-policies.conf", format: Policies, want: []Rule{
			{Pattern: "^x_.*", Line: 29, Ops: crud(Perm{Policy: "default"})},
			{Pattern: ".*", Line: 35, Ops: crud(Perm{Policy: "context_is_admin"})},
		}},
		{file: "property-protections-nomatch.conf", format: Roles, want: []Rule{
			{Pattern: "^foo$", Line: 1, Ops: crud(roles("member"))},
			{Pattern: "^bar$", Line: 6, Ops: map[string]Perm{
				"create": {Roles: []string{"admin"}, AllowAll: true}, "read": {DenyAll: true},
				"update": {}, "delete": {AllowAll: true}}},
		}},
		{file: "property-protections-badregex.conf", format: Roles,
			wantErr: "property-protections-badregex.conf:1: section [(unclosed]: the regex does not compile: missing ), unterminated subpattern"},
		{file: "property-protections-missingop.conf", format: Roles,
			wantErr: `property-protections-missingop.conf:1: section [^foo$]: operation "delete" is missing`},
		// The roles sample read as policies: a comma is invalid.
		{file: "property-protections-roles.conf.sample", format: Policies,
			wantErr: `property-protections-roles.conf.sample:23: section [^x_.*]: create: policies format allows exactly one rule name`},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+string(tt.format), func(t *testing.T) {
			f, err := Parse(testenv.Shared(t, "glance-peer", tt.file), readPeer(t, tt.file), tt.format)
			checkParse(t, f, err, tt.want, tt.wantErr)
		})
	}
}

func checkParse(t *testing.T, f *File, err error, want []Rule, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want it to contain %q", err, wantErr)
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Line <= 0 {
			t.Errorf("error %#v carries no line", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := make([]Rule, len(f.Rules))
	for i, r := range f.Rules {
		r.text = ""
		got[i] = r
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules\n got %+v\nwant %+v", got, want)
	}
}

func TestParseEdgeCases(t *testing.T) {
	ops := "create = admin\nread = admin\nupdate = admin\ndelete = admin\n"
	tests := []struct {
		name, src string
		format    Format
		want      []Rule
		wantErr   string
	}{
		{name: "empty file", src: "# nothing\n", format: Roles, want: []Rule{}},
		{name: "DEFAULT gives defaults and is no rule", format: Roles,
			src:  "[DEFAULT]\nread = @\n\n[^a$]\ncreate = admin\nupdate = admin\ndelete = admin\n",
			want: []Rule{{Pattern: "^a$", Line: 4, Ops: map[string]Perm{"create": roles("admin"), "read": {AllowAll: true}, "update": roles("admin"), "delete": roles("admin")}}}},
		{name: "section overrides DEFAULT", format: Roles,
			src:  "[DEFAULT]\nread = @\n[a]\n" + ops,
			want: []Rule{{Pattern: "a", Line: 3, Ops: crud(roles("admin"))}}},
		{name: "empty value is nobody", format: Roles,
			src:  "[a]\ncreate =\nread = admin\nupdate = admin\ndelete = admin\n",
			want: []Rule{{Pattern: "a", Line: 1, Ops: map[string]Perm{"create": {}, "read": roles("admin"), "update": roles("admin"), "delete": roles("admin")}}}},
		{name: "@ with roles allows everyone", format: Roles,
			src:  "[a]\ncreate = @, admin\nread = admin\nupdate = admin\ndelete = admin\n",
			want: []Rule{{Pattern: "a", Line: 1, Ops: map[string]Perm{"create": {AllowAll: true, Roles: []string{"admin"}}, "read": roles("admin"), "update": roles("admin"), "delete": roles("admin")}}}},
		{name: "@ and ! together", format: Roles, src: "[a]\ncreate = admin\nread = @,!\nupdate = admin\ndelete = admin\n",
			wantErr: "x.conf:3: section [a]: read: '@' and '!' together"},
		{name: "policies: comma", format: Policies, src: "[a]\ncreate = x\nread = x\nupdate = x,y\ndelete = x\n",
			wantErr: "x.conf:4: section [a]: update: policies format allows exactly one rule name"},
		{name: "policies: @ and !", format: Policies,
			src:  "[a]\ncreate = @\nread = !\nupdate = x\ndelete = x\n",
			want: []Rule{{Pattern: "a", Line: 1, Ops: map[string]Perm{"create": {AllowAll: true}, "read": {DenyAll: true}, "update": {Policy: "x"}, "delete": {Policy: "x"}}}}},
		{name: "option names are case-folded", format: Roles,
			src:  "[a]\nCreate = admin\nREAD: admin\nUpdate=admin\ndelete = admin\n",
			want: []Rule{{Pattern: "a", Line: 1, Ops: crud(roles("admin"))}}},
		{name: "misspelt operation", format: Roles, src: "[a]\ncraete = admin\nread = admin\nupdate = admin\ndelete = admin\n",
			wantErr: `x.conf:1: section [a]: operation "create" is missing`},
		{name: "duplicate section", format: Roles, src: "[a]\n" + ops + "[b]\n" + ops + "[a]\n" + ops,
			wantErr: "x.conf:11: section [a]: section \"a\" already exists"},
		{name: "duplicate option", format: Roles, src: "[a]\n" + ops + "read = @\n",
			wantErr: "x.conf:6: section [a]: option \"read\" already exists"},
		{name: "duplicate option after case-folding", format: Roles, src: "[a]\n" + ops + "READ = @\n",
			wantErr: "x.conf:6: section [a]: option \"read\" already exists"},
		{name: "no section header", format: Roles, src: "create = admin\n",
			wantErr: "x.conf:1: file contains no section headers"},
		{name: "unparsable line", format: Roles, src: "[a]\n" + ops + "just words\n",
			wantErr: "x.conf:6: section [a]: cannot parse line"},
		{name: "interpolation", format: Roles,
			src:  "[DEFAULT]\nadmins = admin, Member\n[a]\ncreate = %(admins)s\nread = %(ADMINS)s,reader\nupdate = 100%%\ndelete = admin\n",
			want: []Rule{{Pattern: "a", Line: 3, Ops: map[string]Perm{"create": roles("admin", "Member"), "read": roles("admin", "Member", "reader"), "update": roles("100%"), "delete": roles("admin")}}}},
		{name: "bad interpolation", format: Roles, src: "[a]\ncreate = 100%\nread = admin\nupdate = admin\ndelete = admin\n",
			wantErr: "x.conf:2: section [a]: create: '%' must be followed by '%' or '('"},
		{name: "missing interpolation", format: Roles, src: "[a]\ncreate = %(nope)s\nread = admin\nupdate = admin\ndelete = admin\n",
			wantErr: "x.conf:2: section [a]: create: bad interpolation"},
		{name: "multi-line value", format: Roles,
			src:  "[a]\ncreate = admin,\n  member\nread = admin\nupdate = admin\ndelete = admin\n",
			want: []Rule{{Pattern: "a", Line: 1, Ops: map[string]Perm{"create": roles("admin", "member"), "read": roles("admin"), "update": roles("admin"), "delete": roles("admin")}}}},
		{name: "comments, CRLF and header with ]", format: Roles,
			src:  "; comment\r\n  # indented comment\r\n[a]b]\r\n" + strings.ReplaceAll(ops, "\n", "\r\n"),
			want: []Rule{{Pattern: "a]b", Line: 3, Ops: crud(roles("admin"))}}},
		{name: "bad regex", format: Roles, src: "[a]\n" + ops + "[^x_.*(]\n" + ops,
			wantErr: "x.conf:6: section [^x_.*(]: the regex does not compile: missing ), unterminated subpattern"},
		{name: "lookahead parses (Python accepts it)", format: Roles, src: "[(?!x_)]\n" + ops,
			want: []Rule{{Pattern: "(?!x_)", Line: 1, Ops: crud(roles("admin"))}}},
		{name: "unknown format", format: "acl", src: "[a]\n" + ops, wantErr: "neither roles nor policies"},
		{name: "invalid UTF-8", format: Roles, src: "[a]\n\xff\n", wantErr: "x.conf:2: the file is not valid UTF-8"},
		{name: "byte order mark is not stripped", format: Roles, src: "\ufeff[a]\n" + ops, wantErr: "x.conf:1: file contains no section headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("dir/x.conf", []byte(tt.src), tt.format)
			if tt.name == "unknown format" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if tt.want != nil && len(tt.want) == 0 && err == nil && len(f.Rules) == 0 {
				return
			}
			checkParse(t, f, err, tt.want, tt.wantErr)
		})
	}
}

func TestRegoUnsupportedRegex(t *testing.T) {
	src := "[^x_]\ncreate = @\nread = @\nupdate = @\ndelete = @\n\n[(?<!y)z]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
	f, err := Parse("p.conf", []byte(src), Roles)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Rego(f, "", "")
	want := "p.conf:7: section [(?<!y)z]: the regex cannot be translated for Rego's regex.match (RE2): lookbehind"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want prefix %q", err, want)
	}
}

func TestRegoPolicyValueNotARuleName(t *testing.T) {
	src := "[a]\ncreate = default or role:admin\nread = @\nupdate = @\ndelete = @\n"
	f, err := Parse("p.conf", []byte(src), Policies)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Rego(f, "", ""); err == nil || !strings.Contains(err.Error(), "p.conf:1: section [a]: create:") {
		t.Fatalf("error %v", err)
	}
}

func TestParseInterpolationBlowup(t *testing.T) {
	src := "[DEFAULT]\nv0 = xxxxxxxxxxxxxxxx\n"
	refs := func(n string) string { return strings.Repeat("%("+n+")s", 8) }
	for i := 1; i <= 9; i++ {
		src += fmt.Sprintf("v%d = %s\n", i, refs(fmt.Sprintf("v%d", i-1)))
	}
	src += "[a]\ncreate = %(v9)s\nread = a\nupdate = a\ndelete = a\n"
	_, err := Parse("x.conf", []byte(src), Roles)
	if err == nil || !strings.Contains(err.Error(), "x.conf:13: section [a]: create: the value is over") {
		t.Fatalf("error %v", err)
	}
}
