package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
)

// tokenCLI runs runToken in-process.
func tokenCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = runToken(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestTokenCLIAddListRevoke(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.json")
	out, errOut, err := tokenCLI(t, "add", "--user", "u1", "--project", "p1", "--roles", "Member,reader", "--roles", "admin",
		"--domain", "d1", "--expires", "24h", "--description", "ci runner", "--tokens-file", file)
	if err != nil {
		t.Fatalf("add: %v\n%s", err, errOut)
	}
	// stdout is the token and a newline, nothing else.
	token := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(token, auth.TokenPrefix) || strings.ContainsAny(token, " \n\t") || out != token+"\n" {
		t.Fatalf("stdout %q: want only the token and a newline", out)
	}
	if strings.Contains(errOut, token) {
		t.Fatal("stderr shows the token")
	}
	id := auth.TokenID(token)
	if !strings.Contains(errOut, id) || !strings.Contains(errOut, file) {
		t.Errorf("stderr hint lacks the id or the file: %q", errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), strings.TrimPrefix(token, auth.TokenPrefix)) {
		t.Fatal("the tokens file contains the token")
	}

	// The token authenticates with what was asked for.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Auth-Token", token)
	ident, err := auth.NewTokenFile(file).Authenticate(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if ident.UserID != "u1" || ident.ProjectID != "p1" || ident.DomainID != "d1" || strings.Join(ident.Roles, ",") != "Member,reader,admin" {
		t.Fatalf("identity %+v", ident)
	}

	out, _, err = tokenCLI(t, "list", "--tokens-file", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ID", "USER", "EXPIRES", id, "u1", "p1", "Member,reader,admin", "ci runner"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) {
		t.Fatal("list shows the token")
	}

	out, _, err = tokenCLI(t, "list", "--json", "--tokens-file", file)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["id"] != id || list[0]["user_id"] != "u1" || list[0]["project_id"] != "p1" || list[0]["expires_at"] == nil || list[0]["created_at"] == nil {
		t.Fatalf("list --json: %s", out)
	}
	if _, ok := list[0]["hash"]; ok {
		t.Fatal("list --json shows the hash")
	}

	if out, _, err = tokenCLI(t, "revoke", id, "--tokens-file", file); err != nil || !strings.Contains(out, id) {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	if _, err := auth.NewTokenFile(file).Authenticate(context.Background(), r); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	_, _, err = tokenCLI(t, "revoke", id, "--tokens-file", file)
	if !errors.Is(err, auth.ErrNoSuchToken) {
		t.Fatalf("revoking twice: %v", err)
	}
	out, errOut, err = tokenCLI(t, "list", "--tokens-file", file)
	if err != nil || out != "" || !strings.Contains(errOut, "no tokens") {
		t.Fatalf("empty list: %q %q %v", out, errOut, err)
	}
	if out, _, err = tokenCLI(t, "list", "--json", "--tokens-file", file); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty list --json: %q %v", out, err)
	}
}

func TestTokenCLIRevokeByPastedToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.json")
	out, _, err := tokenCLI(t, "add", "--user", "u", "--project", "p", "--tokens-file", file)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	// Revoking by the token itself works and never echoes it.
	out, errOut, err := tokenCLI(t, "revoke", token, "--tokens-file", file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out+errOut, token) {
		t.Fatal("revoke echoed the token")
	}
	_, _, err = tokenCLI(t, "revoke", token, "--tokens-file", file)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("second revoke: %v (must fail without the token in the text)", err)
	}
	// Nor is any other secret-looking argument echoed.
	_, _, err = tokenCLI(t, "revoke", "gAAAAAsomekeystonetoken", "--tokens-file", file)
	if err == nil || strings.Contains(err.Error(), "gAAAAAsomekeystonetoken") {
		t.Fatalf("revoke of a non-id: %v", err)
	}
}

func TestTokenCLIDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("OSLOREGO_DATA_DIR", dir)
	if _, _, err := tokenCLI(t, "add", "--user", "u", "--project", "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tokens.json")); err != nil {
		t.Fatalf("default tokens file: %v", err)
	}
	other := t.TempDir()
	if _, _, err := tokenCLI(t, "add", "--user", "u", "--project", "p", "--data-dir", other); err != nil {
		t.Fatal(err)
	}
	list, err := auth.ListTokens(filepath.Join(other, "tokens.json"))
	if err != nil || len(list) != 1 {
		t.Fatalf("--data-dir: %v, %v", list, err)
	}
}

func TestTokenCLIExpires(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time // zero with ok: never
		ok   bool
	}{
		{"", time.Time{}, true},
		{"never", time.Time{}, true},
		{"24h", now.Add(24 * time.Hour), true},
		{"90m", now.Add(90 * time.Minute), true},
		{"30d", now.Add(30 * 24 * time.Hour), true},
		{"2026-07-01T00:00:00Z", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-01-01T00:00:00Z", time.Time{}, false},
		{"-1h", time.Time{}, false},
		{"0s", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"xd", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpires(tc.in, now)
			if !tc.ok {
				if !errors.Is(err, errUsage) {
					t.Fatalf("got %v, %v; want a usage error", got, err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestTokenCLIUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.json")
	tests := []struct {
		name string
		args []string
	}{
		{"no subcommand", nil},
		{"unknown subcommand", []string{"mint"}},
		{"add without --user", []string{"add", "--project", "p", "--tokens-file", file}},
		{"add without --project", []string{"add", "--user", "u", "--tokens-file", file}},
		{"add with arguments", []string{"add", "--user", "u", "--project", "p", "extra", "--tokens-file", file}},
		{"add with bad --expires", []string{"add", "--user", "u", "--project", "p", "--expires", "soon", "--tokens-file", file}},
		{"unknown flag", []string{"list", "--yaml", "--tokens-file", file}},
		{"revoke without id", []string{"revoke", "--tokens-file", file}},
		{"revoke with two ids", []string{"revoke", "aaaaaaaa", "bbbbbbbb", "--tokens-file", file}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := tokenCLI(t, tc.args...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err %v, want a usage error", err)
			}
			if strings.HasPrefix(out, auth.TokenPrefix) {
				t.Fatal("a token was printed")
			}
		})
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a usage error wrote the tokens file: %v", err)
	}
}

func TestTokenCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"add", "--help"}, {"list", "--help"}, {"revoke", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _, err := tokenCLI(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"tokens.json", "SHA-256", "hash", "data-dir"} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// token add stores what a Keystone token for that user carries under
// Keystone's default implied roles (admin ⇒ member ⇒ reader), unless
// --no-implied-roles; stdout stays the token alone.
func TestTokenCLIImpliedRoles(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"member implies reader", []string{"--roles", "member"}, []string{"member", "reader"}},
		{"admin implies member and reader", []string{"--roles", "admin"}, []string{"admin", "member", "reader"}},
		{"given first, in order, then implied", []string{"--roles", "observer,Admin", "--roles", "reader"}, []string{"observer", "Admin", "reader", "member"}},
		{"reader implies nothing", []string{"--roles", "reader"}, []string{"reader"}},
		{"no roles", nil, []string{}},
		{"opt-out", []string{"--roles", "admin", "--no-implied-roles"}, []string{"admin"}},
		{"opt-out, member", []string{"--roles", "member", "--no-implied-roles"}, []string{"member"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "tokens.json")
			out, errOut, err := tokenCLI(t, append([]string{"add", "--user", "u", "--project", "p", "--tokens-file", file}, tc.args...)...)
			if err != nil {
				t.Fatalf("add: %v\n%s", err, errOut)
			}
			token := strings.TrimSuffix(out, "\n")
			if !strings.HasPrefix(token, auth.TokenPrefix) || out != token+"\n" {
				t.Fatalf("stdout %q: want only the token and a newline", out)
			}
			list, err := auth.ListTokens(file)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v, %v", list, err)
			}
			if !reflect.DeepEqual(list[0].Roles, tc.want) {
				t.Fatalf("stored roles %q, want %q", list[0].Roles, tc.want)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("X-Auth-Token", token)
			id, err := auth.NewTokenFile(file).Authenticate(context.Background(), r)
			if err != nil || !reflect.DeepEqual(id.Roles, tc.want) {
				t.Fatalf("token's identity %+v, %v; want roles %q", id, err, tc.want)
			}
		})
	}
	out, _, err := tokenCLI(t, "add", "--help")
	if err != nil || !strings.Contains(out, "--no-implied-roles") || !strings.Contains(out, "admin implies member, member implies") {
		t.Fatalf("add --help does not explain implied roles: %v\n%s", err, out)
	}
}
