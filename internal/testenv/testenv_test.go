package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Skipf, Fatalf and Logf instead of
// ending the test, to check what a helper does with a missing resource.
type recorder struct {
	testing.TB
	skipped, fatal, logged string
}

func (r *recorder) Helper()                       {}
func (r *recorder) Skipf(f string, args ...any)   { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any)  { r.fatal = fmt.Sprintf(f, args...) }
func (r *recorder) Logf(f string, args ...any)    { r.logged = fmt.Sprintf(f, args...) }
func (r *recorder) outcome() (skip, fatal string) { return r.skipped, r.fatal }

func TestCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "yes": true, "false": false, "FALSE": false, "0": false} {
		t.Setenv("CI", v)
		if got := CI(); got != want {
			t.Errorf("CI=%q: CI() = %v, want %v", v, got, want)
		}
	}
}

// A missing resource skips with the reason outside CI and fails under CI.
func TestMissingFailsOnlyInCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		Missing(r, "no %s", "thing")
		skip, fatal := r.outcome()
		if ci == "" && (skip != "no thing" || fatal != "") || ci != "" && (skip != "" || !strings.Contains(fatal, "no thing")) {
			t.Errorf("CI=%q: skipped %q, failed %q", ci, skip, fatal)
		}
	}
}

func TestShared(t *testing.T) {
	dir := SharedDir(t)
	if p := Shared(t, "policies"); p != filepath.Join(dir, "policies") {
		t.Errorf("Shared(policies) = %s, want it inside %s", p, dir)
	}
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		if p, ok := MaybeShared(r, "no-such-file"); ok || p != "" {
			t.Errorf("CI=%q: MaybeShared(no-such-file) = %q, %v", ci, p, ok)
		}
		if ci == "" && (r.logged == "" || r.fatal != "") || ci != "" && r.fatal == "" {
			t.Errorf("CI=%q: MaybeShared of a missing file logged %q, failed %q", ci, r.logged, r.fatal)
		}
		r = &recorder{TB: t}
		Shared(r, "no-such-file")
		if skip, fatal := r.outcome(); (skip == "") == (ci == "") || (fatal == "") == (ci != "") {
			t.Errorf("CI=%q: Shared of a missing file skipped %q, failed %q", ci, skip, fatal)
		}
	}
}

func TestPythonChecks(t *testing.T) {
	if err := checkPython(filepath.Join(t.TempDir(), "python3"), nil); err == nil {
		t.Error("a missing interpreter passed the check")
	}
	py := Python(t)
	if err := checkPython(py, []string{"no_such_module_oslorego"}); err == nil || !strings.Contains(err.Error(), "no_such_module_oslorego") {
		t.Errorf("a missing module: %v", err)
	}
	for m, want := range map[string]string{"oslo_policy": "python3-oslo.policy", "oslo_serialization.jsonutils": "python3-oslo.serialization", "yaml": "python3-yaml", "webob": "python3-webob"} {
		if got := debianPackage(m); got != want {
			t.Errorf("debianPackage(%s) = %s, want %s", m, got, want)
		}
	}
}

func TestGlanceSource(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GLANCE_PYTHONPATH", dir)
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	GlanceSource(r)
	if skip, _ := r.outcome(); !strings.Contains(skip, dir) {
		t.Errorf("an empty GLANCE_PYTHONPATH: skipped %q", skip)
	}
	for _, f := range []string{"glance/common/wsgi.py", "glance/api/v2/image_data.py"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := GlanceSource(t); got != dir {
		t.Errorf("GlanceSource = %s, want %s", got, dir)
	}
}

func TestOPA(t *testing.T) {
	Long(t)
	if _, err := os.Stat(OPA(t)); err != nil {
		t.Error(err)
	}
}

// IssueToken reads the token, its expiry and the catalog's public image
// endpoint from Keystone's answer, and fails on any other status.
func TestIssueToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]map[string]map[string]any
		if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		pw, _ := json.Marshal(req["auth"]["identity"]["password"])
		if !strings.Contains(string(pw), `"name":"alice"`) || !strings.Contains(string(pw), `"password":"secret"`) {
			http.Error(w, `{"error": {"code": 401}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Subject-Token", "tok-1")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"token": {"expires_at": "2030-01-02T03:04:05.000000Z", "catalog": [
			{"type": "identity", "endpoints": [{"interface": "public", "url": "http://k"}]},
			{"type": "image", "endpoints": [{"interface": "admin", "url": "http://admin"}, {"interface": "public", "url": "http://img:9292"}]}]}}`)
	}))
	defer srv.Close()
	tok, err := IssueToken(context.Background(), srv.URL, "alice", "secret", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID != "tok-1" || tok.ImageURL != "http://img:9292" || !tok.ExpiresAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("IssueToken = %+v", tok)
	}
	if _, err := IssueToken(context.Background(), srv.URL, "alice", "wrong", "demo"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("a wrong password: %v", err)
	}
}

func TestReadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env.sh")
	if err := os.WriteFile(p, []byte("KEYSTONE_URL=http://127.0.0.1:5000\nPROJECT_DEMO=abc\nnot a pair\nEMPTY=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := readEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 3 || env["KEYSTONE_URL"] != "http://127.0.0.1:5000" || env["PROJECT_DEMO"] != "abc" || env["EMPTY"] != "" {
		t.Errorf("readEnvFile = %v", env)
	}
	if _, err := readEnvFile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing env file read")
	}
}

// The peer script's knobs from the test's own environment never reach it.
func TestWithoutEnv(t *testing.T) {
	got := withoutEnv([]string{"PATH=/bin", "PORT=1", "PORTS=2", "KEYSTONE_PEER_HOME=/x", "HOME=/root"}, "PORT", "KEYSTONE_PEER_HOME")
	if strings.Join(got, " ") != "PATH=/bin PORTS=2 HOME=/root" {
		t.Errorf("withoutEnv = %q", got)
	}
}

// Without a peer, StopKeystone does nothing.
func TestStopKeystoneUnstarted(t *testing.T) {
	if err := StopKeystone(); err != nil {
		t.Error(err)
	}
}
