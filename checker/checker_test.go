package checker

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/rego"
)

// TestAccessCreds is oslopolicy-checker --access's reading of a token.
func TestAccessCreds(t *testing.T) {
	tests := []struct {
		name    string
		token   map[string]any
		isAdmin bool
		want    map[string]any
		err     string
	}{
		{"project token", map[string]any{"token": map[string]any{
			"roles": []any{map[string]any{"id": "r1", "name": "Member"}, map[string]any{"name": "reader"}},
			"user":  map[string]any{"id": "u1"}, "project": map[string]any{"id": "p1", "name": "P"}, "expires_at": "x",
		}}, false, map[string]any{
			"roles": []any{"Member", "reader"}, "user": map[string]any{"id": "u1"}, "user_id": "u1",
			"project": map[string]any{"id": "p1", "name": "P"}, "project_id": "p1", "expires_at": "x", "is_admin": false,
		}, ""},
		{"system token, is_admin", map[string]any{"token": map[string]any{
			"user": map[string]any{"id": "u1"}, "system": map[string]any{"all": true},
		}}, true, map[string]any{
			"roles": []any{}, "user": map[string]any{"id": "u1"}, "user_id": "u1",
			"system": map[string]any{"all": true}, "system_scope": "all", "is_admin": true,
		}, ""},
		{"empty project is no project", map[string]any{"token": map[string]any{
			"user": map[string]any{"id": "u1"}, "project": map[string]any{}, "system": nil,
		}}, false, map[string]any{
			"roles": []any{}, "user": map[string]any{"id": "u1"}, "user_id": "u1", "project": map[string]any{}, "system": nil, "is_admin": false,
		}, ""},
		{"no token", map[string]any{"user": map[string]any{"id": "u1"}}, false, nil, `want {"token": {...}}`},
		{"a role without a name", map[string]any{"token": map[string]any{"roles": []any{map[string]any{"id": "r"}}, "user": map[string]any{"id": "u1"}}}, false, nil, `every token role needs a "name"`},
		{"no user id", map[string]any{"token": map[string]any{"user": map[string]any{"name": "u"}}}, false, nil, "the token has no user.id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AccessCreds(rego.Ordered{Value: tc.token}, tc.isAdmin)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got.Value, tc.want) {
				t.Errorf("got %v, %v\nwant %v", got.Value, err, tc.want)
			}
		})
	}
}

// TestFlatten is oslopolicy-checker's flattening of a target.
func TestFlatten(t *testing.T) {
	in := map[string]any{"a": map[string]any{"b": 1, "c": map[string]any{"d": "x"}, "e": map[string]any{}}, "f": []any{map[string]any{"g": 1}}, "h": nil}
	want := map[string]any{"a.b": 1, "a.c.d": "x", "f": []any{map[string]any{"g": 1}}, "h": nil}
	if got := Flatten(rego.Ordered{Value: in}); !reflect.DeepEqual(got.Value, want) {
		t.Errorf("Flatten = %v, want %v", got.Value, want)
	}
}

// TestTargetAndCredsFiles: without --target the target is the
// credentials' user_id and project_id; files must hold objects.
func TestTargetAndCredsFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	creds := rego.Ordered{Value: map[string]any{"user_id": "u", "project_id": "p", "roles": []any{"r"}}}
	if got, err := Target("", creds); err != nil || !reflect.DeepEqual(got.Value, map[string]any{"user_id": "u", "project_id": "p"}) {
		t.Errorf("default target %v, %v", got, err)
	}
	if got, err := Target("", rego.Ordered{Value: map[string]any{}}); err != nil || len(got.Keys()) != 0 {
		t.Errorf("default target of no credentials %v, %v", got, err)
	}
	if got, err := Target(write("t.json", `{"a": {"b": "c"}}`), rego.Ordered{}); err != nil || !reflect.DeepEqual(got.Value, map[string]any{"a.b": "c"}) {
		t.Errorf("target %v, %v", got, err)
	}
	for _, tc := range []struct{ name, text, err string }{
		{"list.json", `[1]`, "want a JSON object"},
		{"bad.json", `{"a": 1} x`, "Extra data"},
	} {
		p := write(tc.name, tc.text)
		if _, err := Target(p, rego.Ordered{}); err == nil || !strings.Contains(err.Error(), "target "+p+": ") || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("target %s: %v, want %q", tc.name, err, tc.err)
		}
		if _, err := Creds(p, "", false); err == nil || !strings.Contains(err.Error(), "credentials "+p+": ") || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("credentials %s: %v, want %q", tc.name, err, tc.err)
		}
	}
	if got, err := Creds("", "", false); err != nil || len(got.Keys()) != 0 {
		t.Errorf("no credentials: %v, %v", got, err)
	}
	if _, err := Creds(filepath.Join(dir, "missing.json"), "", false); err == nil || !strings.HasPrefix(err.Error(), "reading credentials: ") {
		t.Errorf("missing credentials: %v", err)
	}
}

// TestWriteDecision prints oslopolicy-checker's lines, an error on one line.
func TestWriteDecision(t *testing.T) {
	var b bytes.Buffer
	WriteDecision(&b, "a:b", rego.Decision{Allowed: true})
	WriteDecision(&b, "c", rego.Decision{Error: "ValueError:\n  bad"})
	if want := "passed: a:b\nfailed: c\n  error: ValueError: bad\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
