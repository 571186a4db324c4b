package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// request returns a request carrying token as X-Auth-Token (none if empty).
func request(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.Header.Set("X-Auth-Token", token)
	}
	return r
}

// assertNoSecret fails if err's text contains any of the secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text leaks a token: %q", err.Error())
		}
	}
}

func mustAdd(t *testing.T, path string, nt NewToken) string {
	t.Helper()
	tok, err := AddToken(path, nt)
	if err != nil {
		t.Fatalf("AddToken: %v", err)
	}
	return tok
}

func TestTokenAddAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tokens.json")
	tok := mustAdd(t, path, NewToken{UserID: "u1", ProjectID: "p1", Roles: []string{" Member ", "READER", "member", ""}, DomainID: "d1", Description: "ci"})
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 {
		t.Fatalf("token %q: want osr_ + 43 base64url characters", tok)
	}
	other := mustAdd(t, path, NewToken{UserID: "u2", ProjectID: "p2"})
	if other == tok {
		t.Fatal("two tokens are equal")
	}
	f := NewTokenFile(path)
	tests := []struct {
		name  string
		token string
		want  *Identity
		err   error
	}{
		{"valid", tok, &Identity{UserID: "u1", ProjectID: "p1", DomainID: "d1", Roles: []string{"Member", "READER", "member"}, IsAdminProject: true}, nil},
		{"second token", other, &Identity{UserID: "u2", ProjectID: "p2", Roles: []string{}, IsAdminProject: true}, nil},
		{"no header", "", nil, ErrUnauthenticated},
		{"unknown", TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, ErrUnauthenticated},
		{"prefix of a valid token", tok[:len(tok)-1], nil, ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Authenticate(context.Background(), request(tc.token))
			assertNoSecret(t, err, tok, other, tc.token)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != nil {
					t.Fatalf("got %+v, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("identity %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTokenFileOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := mustAdd(t, path, NewToken{UserID: "u1", ProjectID: "p1", Roles: []string{"admin"}})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(tok, TokenPrefix)
	if strings.Contains(string(data), secret) || strings.Contains(string(data), secret[:16]) {
		t.Fatal("the tokens file contains the token")
	}
	var doc struct {
		Version int              `json:"version"`
		Tokens  []map[string]any `json:"tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || len(doc.Tokens) != 1 {
		t.Fatalf("file %s", data)
	}
	e := doc.Tokens[0]
	hash, _ := e["hash"].(string)
	if len(hash) != 64 || e["id"] != hash[:8] {
		t.Errorf("hash %q, id %v: want SHA-256 hex and its first 8 digits", hash, e["id"])
	}
	for _, k := range []string{"user_id", "project_id", "roles", "created_at"} {
		if _, ok := e[k]; !ok {
			t.Errorf("entry lacks %s: %s", k, data)
		}
	}
	if _, ok := e["expires_at"]; ok {
		t.Errorf("a never-expiring token has expires_at: %s", data)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
}

func TestTokenListRevoke(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	if list, err := ListTokens(path); err != nil || len(list) != 0 {
		t.Fatalf("missing file: %v, %v; want no tokens", list, err)
	}
	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	t1 := mustAdd(t, path, NewToken{UserID: "u1", ProjectID: "p1", Roles: []string{"Admin"}, Expires: exp, Description: "first"})
	t2 := mustAdd(t, path, NewToken{UserID: "u2", ProjectID: "p2", Roles: []string{"reader"}})
	list, err := ListTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d tokens, want 2", len(list))
	}
	a, b := list[0], list[1]
	if a.UserID != "u1" || a.ProjectID != "p1" || !reflect.DeepEqual(a.Roles, []string{"Admin"}) || a.Description != "first" || !a.Expires.Equal(exp) || a.Created.IsZero() || len(a.ID) != 8 {
		t.Errorf("first token listed as %+v", a)
	}
	if b.UserID != "u2" || !b.Expires.IsZero() {
		t.Errorf("second token listed as %+v", b)
	}
	// Nothing listed may reveal the token or its hash.
	js, _ := json.Marshal(list)
	for _, s := range []string{t1, t2, "hash"} {
		if strings.Contains(string(js), s) {
			t.Errorf("listing contains %q", s)
		}
	}

	f := NewTokenFile(path)
	if _, err := f.Authenticate(context.Background(), request(t1)); err != nil {
		t.Fatalf("before revoke: %v", err)
	}
	tests := []struct {
		name string
		id   string
		err  error
	}{
		{"revoke the first", a.ID, nil},
		{"revoke it again", a.ID, ErrNoSuchToken},
		{"unknown id", "00000000", ErrNoSuchToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := RevokeToken(path, tc.id)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("RevokeToken: %v, want %v", err, tc.err)
			}
		})
	}
	// The running authenticator sees the revocation without a restart.
	if _, err := f.Authenticate(context.Background(), request(t1)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v, want ErrUnauthenticated", err)
	} else {
		assertNoSecret(t, err, t1)
	}
	if _, err := f.Authenticate(context.Background(), request(t2)); err != nil {
		t.Fatalf("other token after revoke: %v", err)
	}
	if list, _ := ListTokens(path); len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("after revoke: %+v", list)
	}
}

func TestTokenExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	start := time.Now()
	tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p", Expires: start.Add(time.Hour)})
	f := NewTokenFile(path)
	tests := []struct {
		name string
		at   time.Time
		err  error
	}{
		{"now", start, nil},
		{"just before", start.Add(time.Hour - time.Second), nil},
		{"at expiry", start.Add(time.Hour), ErrUnauthenticated},
		{"after", start.Add(2 * time.Hour), ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.now = func() time.Time { return tc.at }
			_, err := f.Authenticate(context.Background(), request(tok))
			assertNoSecret(t, err, tok)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
	if _, err := AddToken(path, NewToken{UserID: "u", Expires: time.Now().Add(-time.Minute)}); err == nil {
		t.Error("AddToken accepted an expiry in the past")
	}
	if _, err := AddToken(path, NewToken{ProjectID: "p"}); err == nil {
		t.Error("AddToken accepted no user id")
	}
}

func TestTokenFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	f := NewTokenFile(path)
	if err := f.Reload(); err != nil {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	if _, err := f.Authenticate(context.Background(), request("osr_x")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("missing file: %v, want ErrUnauthenticated", err)
	}
	// Created while running: picked up.
	tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"})
	if _, err := f.Authenticate(context.Background(), request(tok)); err != nil {
		t.Fatalf("after the file appeared: %v", err)
	}
	// Deleted while running: nobody gets in.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Authenticate(context.Background(), request(tok)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after the file was removed: %v, want ErrUnauthenticated", err)
	}
}

func TestTokenFileEditedWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	t1 := mustAdd(t, path, NewToken{UserID: "u1", ProjectID: "p1", Roles: []string{"reader"}})
	f := NewTokenFile(path)
	if _, err := f.Authenticate(context.Background(), request(t1)); err != nil {
		t.Fatal(err)
	}
	t2 := mustAdd(t, path, NewToken{UserID: "u2", ProjectID: "p2"})
	if id, err := f.Authenticate(context.Background(), request(t2)); err != nil || id.UserID != "u2" {
		t.Fatalf("token added while running: %+v, %v", id, err)
	}

	// An in-place edit by hand (same inode, new size) is seen too.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"reader"`, `"Admin", "reader"`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := f.Authenticate(context.Background(), request(t1))
	if err != nil || !reflect.DeepEqual(id.Roles, []string{"Admin", "reader"}) {
		t.Fatalf("after editing roles: %+v, %v", id, err)
	}
}

// corruptContents are tokens files that must not be read as good.
var corruptContents = []struct {
	name    string
	content string
}{
	{"not JSON", "{not json"},
	{"wrong version", `{"version": 2, "tokens": []}`},
	{"bad hash", `{"version": 1, "tokens": [{"id": "x", "hash": "abc", "user_id": "u", "roles": [], "created_at": "2026-01-01T00:00:00Z"}]}`},
	{"misspelt field", `{"version": 1, "tokens": [{"id": "x", "hash": "` + strings.Repeat("a", 64) + `", "user_id": "u", "roles": [], "created_at": "2026-01-01T00:00:00Z", "expire_at": "2020-01-01T00:00:00Z"}]}`},
	{"trailing data", `{"version": 1, "tokens": []} {}`},
	{"upper-case top-level field", `{"VERSION": 1, "tokens": []}`},
	{"folded top-level field", `{"version": 1, "Tokens": []}`},
	{"upper-case entry field", `{"version": 1, "tokens": [{"id": "x", "hash": "` + strings.Repeat("a", 64) + `", "USER_ID": "u", "roles": [], "created_at": "2026-01-01T00:00:00Z"}]}`},
	{"folded roles after roles", `{"version": 1, "tokens": [{"id": "x", "hash": "` + strings.Repeat("a", 64) + `", "user_id": "u", "roles": [], "Roles": ["admin"], "created_at": "2026-01-01T00:00:00Z"}]}`},
	{"folded hash", `{"version": 1, "tokens": [{"id": "x", "Hash": "` + strings.Repeat("a", 64) + `", "user_id": "u", "roles": [], "created_at": "2026-01-01T00:00:00Z"}]}`},
	{"unicode-folded field", `{"version": 1, "tokens": [{"id": "x", "hash": "` + strings.Repeat("a", 64) + `", "user_id": "u", "roleſ": ["admin"], "created_at": "2026-01-01T00:00:00Z"}]}`},
	{"field twice", `{"version": 1, "tokens": [{"id": "x", "hash": "` + strings.Repeat("a", 64) + `", "user_id": "u", "roles": [], "roles": ["admin"], "created_at": "2026-01-01T00:00:00Z"}]}`},
}

// A hand edit that revokes a token and breaks the JSON must not leave the
// token working: by default every token is refused while the file is bad.
func TestTokenFileCorruptRefusesByDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	kept := mustAdd(t, path, NewToken{UserID: "kept", ProjectID: "p"})
	revoked := mustAdd(t, path, NewToken{UserID: "revoked", ProjectID: "p"})
	f := NewTokenFile(path)
	if _, err := f.Authenticate(context.Background(), request(revoked)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the second entry by hand, leaving a dangling comma.
	var doc struct{ Tokens []json.RawMessage }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	broken := `{"version": 1, "tokens": [` + string(doc.Tokens[0]) + `,]}`
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{revoked, kept} {
		if id, err := f.Authenticate(context.Background(), request(tok)); !errors.Is(err, ErrUnavailable) || id != nil {
			t.Fatalf("token after a broken edit: %+v, %v; want ErrUnavailable", id, err)
		}
	}
}

// logRecords decodes a JSON slog handler's output.
func logRecords(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// gather returns the TokenFile's metrics by name (a missing one is absent
// from the map), through a pedantic registry that checks the collector.
func gather(t *testing.T, f *TokenFile) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(f); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestTokenFileCorrupt(t *testing.T) {
	good := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, mode := range []OnError{RefuseOnError, KeepOnError} {
		for _, tc := range corruptContents {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "tokens.json")
				tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"})
				var logs bytes.Buffer
				c := &clock{t: good}
				f := NewTokenFile(path, WithOnError(mode), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
				f.now = c.Now
				if _, err := f.Authenticate(context.Background(), request(tok)); err != nil {
					t.Fatal(err)
				}
				if ready, detail := f.Status(); !ready || !strings.Contains(detail, "1 tokens") {
					t.Fatalf("good file: Status %v %q", ready, detail)
				}
				if m := gather(t, f); m["oslorego_tokens_file_ok"] != 1 || m["oslorego_tokens_file_errors_total"] != 0 ||
					m["oslorego_tokens_file_last_success_timestamp_seconds"] != float64(good.Unix()) || m["oslorego_tokens_file_tokens"] != 1 {
					t.Fatalf("good file: metrics %v", m)
				}

				c.Set(good.Add(time.Hour))
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				for range 3 { // three requests, one failed read: the file did not change
					id, err := f.Authenticate(context.Background(), request(tok))
					switch mode {
					case RefuseOnError:
						if !errors.Is(err, ErrUnavailable) || id != nil {
							t.Fatalf("refuse: %+v, %v; want ErrUnavailable", id, err)
						}
						assertNoSecret(t, err, tok)
					case KeepOnError:
						if err != nil || id.UserID != "u" {
							t.Fatalf("keep: %+v, %v; want the last good token", id, err)
						}
					}
				}
				ready, detail := f.Status()
				if ready != (mode == KeepOnError) || !strings.Contains(detail, "unreadable") || !strings.Contains(detail, "--tokens-on-error "+mode.String()) {
					t.Fatalf("corrupt file: Status %v %q", ready, detail)
				}
				wantTokens := map[OnError]float64{RefuseOnError: 0, KeepOnError: 1}[mode]
				if m := gather(t, f); m["oslorego_tokens_file_ok"] != 0 || m["oslorego_tokens_file_errors_total"] != 1 ||
					m["oslorego_tokens_file_last_success_timestamp_seconds"] != float64(good.Unix()) || m["oslorego_tokens_file_tokens"] != wantTokens {
					t.Fatalf("corrupt file: metrics %v", m)
				}
				recs := logRecords(t, &logs)
				if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["path"] != path || recs[0]["tokens_on_error"] != mode.String() {
					t.Fatalf("want one ERROR record about %s, got %v", path, recs)
				}
				if strings.Contains(logs.String(), tok) {
					t.Fatal("the log shows the token")
				}
				// Reload reports the problem too.
				if err := f.Reload(); err == nil {
					t.Fatal("Reload of a corrupt file succeeded")
				} else {
					assertNoSecret(t, err, tok)
				}

				// Fixed (a new file renamed into place): back in force.
				c.Set(good.Add(2 * time.Hour))
				fixed := filepath.Join(t.TempDir(), "fixed.json")
				tok2 := mustAdd(t, fixed, NewToken{UserID: "u2", ProjectID: "p"})
				if err := os.Rename(fixed, path); err != nil {
					t.Fatal(err)
				}
				if id, err := f.Authenticate(context.Background(), request(tok2)); err != nil || id.UserID != "u2" {
					t.Fatalf("after the fix: %+v, %v", id, err)
				}
				if _, err := f.Authenticate(context.Background(), request(tok)); !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("token not in the fixed file: %v, want ErrUnauthenticated", err)
				}
				if ready, detail := f.Status(); !ready || strings.Contains(detail, "unreadable") {
					t.Fatalf("fixed file: Status %v %q", ready, detail)
				}
				if m := gather(t, f); m["oslorego_tokens_file_ok"] != 1 || m["oslorego_tokens_file_errors_total"] < 1 ||
					m["oslorego_tokens_file_last_success_timestamp_seconds"] != float64(good.Add(2*time.Hour).Unix()) {
					t.Fatalf("fixed file: metrics %v", m)
				}
				if recs := logRecords(t, &logs); recs[len(recs)-1]["level"] != "INFO" || !strings.Contains(fmt.Sprint(recs[len(recs)-1]["msg"]), "readable again") {
					t.Fatalf("no recovery record: %v", recs)
				}
			})
		}
	}
}

// A file corrupt from the start refuses every token in both modes, says
// so in Status and the metrics, and logs at ERROR once.
func TestTokenFileCorruptAtStart(t *testing.T) {
	for _, mode := range []OnError{RefuseOnError, KeepOnError} {
		for _, tc := range corruptContents {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "tokens.json")
				tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"})
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				var logs bytes.Buffer
				f := NewTokenFile(path, WithOnError(mode), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
				if ready, detail := f.Status(); ready || !strings.Contains(detail, "refused") {
					t.Fatalf("Status %v %q; want not ready", ready, detail)
				}
				for range 2 {
					if id, err := f.Authenticate(context.Background(), request(tok)); !errors.Is(err, ErrUnavailable) || id != nil {
						t.Fatalf("got %+v, %v; want ErrUnavailable", id, err)
					}
				}
				m := gather(t, f)
				if _, ok := m["oslorego_tokens_file_last_success_timestamp_seconds"]; ok || m["oslorego_tokens_file_ok"] != 0 ||
					m["oslorego_tokens_file_errors_total"] != 1 || m["oslorego_tokens_file_tokens"] != 0 {
					t.Fatalf("metrics %v", m)
				}
				if recs := logRecords(t, &logs); len(recs) != 1 || recs[0]["level"] != "ERROR" {
					t.Fatalf("want one ERROR record, got %v", recs)
				}
				// Writers refuse to replace a corrupt file (that would drop
				// every token in it).
				if _, err := AddToken(path, NewToken{UserID: "u", ProjectID: "p"}); err == nil {
					t.Fatal("AddToken overwrote a corrupt file")
				}
				if _, err := ListTokens(path); err == nil {
					t.Fatal("ListTokens read a corrupt file")
				}
			})
		}
	}
}

func TestParseOnError(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want OnError
		ok   bool
	}{{"refuse", RefuseOnError, true}, {"keep", KeepOnError, true}, {"", RefuseOnError, false}, {"Keep", RefuseOnError, false}, {"ignore", RefuseOnError, false}} {
		got, err := ParseOnError(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseOnError(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

func TestTokenConcurrentAdds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	const n = 20
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tokens[i], errs[i] = AddToken(path, NewToken{UserID: "u", ProjectID: "p"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	list, err := ListTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d tokens stored, want %d", len(list), n)
	}
	f := NewTokenFile(path)
	for i, tok := range tokens {
		if _, err := f.Authenticate(context.Background(), request(tok)); err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}
}

func TestTokenConcurrentAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"})
	f := NewTokenFile(path)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := f.Authenticate(context.Background(), request(tok)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		mustAdd(t, path, NewToken{UserID: "x", ProjectID: "y"})
	}
	wg.Wait()
}

func TestTokenStaleLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	// A crashed writer left its lock file behind long ago.
	if err := os.WriteFile(path+".lock", []byte("crashed"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path+".lock", old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := AddToken(path, NewToken{UserID: "u", ProjectID: "p"}); err != nil {
		t.Fatalf("AddToken with a stale lock: %v", err)
	}
}

func TestNormalizeRoles(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{}},
		// Trimmed (Python's str.strip: Unicode spaces and U+001C..U+001F),
		// never lowered; empty ones and exact duplicates dropped.
		{[]string{"Admin", " member ", "ADMIN", "", "  ", "reader", "admin", "Admin"}, []string{"Admin", "member", "ADMIN", "reader", "admin"}},
		{[]string{"İ", "ΑΣ", "\u00a0ß\x1f"}, []string{"İ", "ΑΣ", "ß"}},
		// A name with a comma is two roles after keystonemiddleware's
		// X-Roles, so it is two roles here too.
		{[]string{"a, b", "c"}, []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		if got := normalizeRoles(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("normalizeRoles(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Token files written before roles were kept as given hold lower-cased
// roles; they are read as they are.
func TestTokenFileLegacyLoweredRoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := TokenPrefix + "legacy"
	sum := sha256.Sum256([]byte(tok))
	h := hex.EncodeToString(sum[:])
	doc := `{"version": 1, "tokens": [{"id": "` + h[:8] + `", "hash": "` + h + `", "user_id": "u", "project_id": "p",
		"roles": ["admin", "member"], "created_at": "2026-01-01T00:00:00Z"}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := NewTokenFile(path).Authenticate(context.Background(), request(tok))
	if err != nil || !reflect.DeepEqual(id.Roles, []string{"admin", "member"}) {
		t.Fatalf("legacy file: %+v, %v", id, err)
	}
}

// Two X-Auth-Token headers are refused in both token modes, as the
// headers mode refuses duplicated identity headers: which one a proxy or
// a later hop would use is not ours to guess.
func TestDuplicateAuthToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	tok := mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"})
	tf := NewTokenFile(path)
	start := time.Now()
	fk := newFakeKeystone(t, start.Add(time.Hour))
	ks := newTestKeystone(t, fk, &clock{t: start})
	tests := []struct {
		name   string
		a      Authenticator
		values []string
	}{
		{"token: valid twice", tf, []string{tok, tok}},
		{"token: valid then unknown", tf, []string{tok, "osr_unknown"}},
		{"token: unknown then valid", tf, []string{"osr_unknown", tok}},
		{"token: empty then valid", tf, []string{"", tok}},
		{"keystone: valid twice", ks, []string{projectToken, projectToken}},
		{"keystone: valid then invalid", ks, []string{projectToken, invalidToken}},
		{"keystone: invalid then valid", ks, []string{invalidToken, projectToken}},
		{"keystone: empty then valid", ks, []string{"", projectToken}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tc.values {
				r.Header.Add("X-Auth-Token", v)
			}
			id, err := tc.a.Authenticate(context.Background(), r)
			if !errors.Is(err, ErrUnauthenticated) || id != nil {
				t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
			}
			assertNoSecret(t, err, append(allSecrets, tok)...)
		})
	}
	if n := fk.calls.Load(); n != 0 {
		t.Errorf("keystone was asked %d times about a request with two tokens", n)
	}
}

// A revocation is in force for every Authenticate that starts after it,
// while other requests keep reading (and publishing) the file's state.
func TestTokenRevokedUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	keep := mustAdd(t, path, NewToken{UserID: "keep", ProjectID: "p"})
	var toks []string
	for range 5 {
		toks = append(toks, mustAdd(t, path, NewToken{UserID: "u", ProjectID: "p"}))
	}
	f := NewTokenFile(path)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.Authenticate(ctx, request(keep)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for _, tok := range toks {
		if _, err := f.Authenticate(ctx, request(tok)); err != nil {
			t.Fatalf("before its revocation: %v", err)
		}
		list, err := ListTokens(path)
		if err != nil {
			t.Fatal(err)
		}
		// tok is the oldest "u" token left: revoke it by its id.
		id := ""
		for _, info := range list {
			if info.UserID == "u" {
				id = info.ID
				break
			}
		}
		if err := RevokeToken(path, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Authenticate(ctx, request(tok)); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("after its revocation: %v, want ErrUnauthenticated", err)
		}
	}
	close(stop)
	wg.Wait()
}
