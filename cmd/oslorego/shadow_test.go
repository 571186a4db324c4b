package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bundleService serves one built bundle at a time with its ETag, as an
// OPA bundle service; no bundle yet is a 500.
type bundleService struct {
	mu   sync.Mutex
	body []byte
	etag string
}

func (b *bundleService) set(body []byte, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body, b.etag = body, etag
}

func (b *bundleService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.body == nil {
		http.Error(w, "no bundle yet", http.StatusInternalServerError)
		return
	}
	if r.Header.Get("If-None-Match") == b.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", b.etag)
	w.Write(b.body)
}

// buildGlance builds glanceDir(rule) at revision rev.
func buildGlance(t *testing.T, rule, rev string) []byte {
	t.Helper()
	dir := glanceDir(t, rule)
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if code, _, stderr := runCLI(t, "", "build", dir, "-o", out, "--revision", rev); code != 0 {
		t.Fatalf("build: %s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// glanceDir is a copy of the built-in glance bundle's sources with
// download_image replaced by rule (none: unchanged).
func glanceDir(t *testing.T, rule string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("../../bundles/glance")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("../../bundles/glance", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "policy.yaml" && rule != "" {
			const restricted = `"download_image": "rule:context_is_admin or (rule:glance_download_image and rule:restricted)"`
			if !strings.Contains(string(b), restricted) {
				t.Fatal("the built-in policy.yaml no longer has the rule this test replaces")
			}
			b = []byte(strings.Replace(string(b), restricted, `"download_image": `+rule, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitMetric polls /metrics until it has line. (The deadline only bounds
// a hung test.)
func waitMetric(t *testing.T, url, line string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, m := httpGet(t, url+"/metrics", ""); strings.Contains(m, line) {
			return
		}
		if time.Now().After(deadline) {
			_, m := httpGet(t, url+"/metrics", "")
			t.Fatalf("/metrics never had %q:\n%s", line, m)
		}
	}
}

// serve --shadow-bundle URL: a shadow bundle service that fails changes
// nothing but a metric and a log line (the server starts, is ready and
// answers as before); once it serves a bundle, shadow decisions are taken;
// a new revision is picked up by the reloads, and its disagreements are
// counted and logged with both revisions. The answer is always --bundle's
// (here the built-in bundle).
func TestServeShadowBundle(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(dir, "data"))
	same := buildGlance(t, "", "same")
	open := buildGlance(t, `"rule:context_is_admin or rule:glance_download_image"`, "open")
	svc := &bundleService{}
	bs := httptest.NewServer(svc)
	defer bs.Close()
	dlog := filepath.Join(dir, "decisions.log")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx, "--shadow-bundle", bs.URL+"/bundle.tar.gz", "--reload-interval", "50ms", "--decision-log", dlog)

	if status, body := httpGet(t, url+"/readyz", ""); status != 200 || strings.Contains(body, "shadow") {
		t.Errorf("/readyz with a failing shadow bundle: %d %s", status, body)
	}
	waitMetric(t, url, `oslorego_shadow_bundle_reload_total{result="failure"}`)
	if !strings.Contains(errb.String(), `level=ERROR msg="policy bundle reload failed; the last good bundle stays in force" bundle_role=shadow`) {
		t.Errorf("no ERROR line for the shadow bundle:\n%s", errb.String())
	}
	_, tokOut, _ := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", "member")
	member := strings.TrimSpace(tokOut)
	id := "0c7b4c0e-0000-4000-8000-00000000000b"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "billed", "--owner", "demo", "--id", id, "--property", "x_billing_code_ntt=ntt_3251"); code != 0 {
		t.Fatal(stderr)
	}
	download := func() {
		t.Helper()
		if status, body := httpGet(t, url+"/v2/images/"+id+"/file", member); status != 403 {
			t.Fatalf("download: %d %s, want the built-in bundle's 403", status, body)
		}
	}
	download()
	waitMetric(t, url, `oslorego_shadow_errors_total{reason="no_bundle"} 1`)

	svc.set(same, `"same"`)
	waitMetric(t, url, `oslorego_shadow_bundle_revision_info{revision="same"} 1`)
	download()
	waitMetric(t, url, `oslorego_shadow_decisions_total{result="agree"} 1`)

	svc.set(open, `"open"`)
	waitMetric(t, url, `oslorego_shadow_bundle_revision_info{revision="open"} 1`)
	download()
	waitMetric(t, url, `oslorego_shadow_disagreements_total{enforced="deny",rule="download_image",shadow="allow"} 1`)
	if status, _ := httpGet(t, url+"/readyz", ""); status != 200 {
		t.Errorf("/readyz %d", status)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(dlog)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Msg       string         `json:"msg"`
			Replica   string         `json:"replica"`
			Revision  string         `json:"bundle_revision"`
			ShadowRev string         `json:"shadow_revision"`
			Rule      string         `json:"rule"`
			Creds     map[string]any `json:"credentials"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if rec.Msg != "shadow_disagreement" {
			continue
		}
		found++
		if rec.ShadowRev != "open" || rec.Revision == "" || rec.Revision == "open" || rec.Rule != "download_image" || rec.Replica == "" || rec.Creds["user_id"] != "u" {
			t.Errorf("disagreement line %s", l)
		}
	}
	if found != 1 {
		t.Errorf("%d disagreement lines, want 1:\n%s", found, b)
	}
	if strings.Contains(string(b), member) || strings.Contains(errb.String(), member) {
		t.Error("a token reached the logs")
	}
}

// SIGHUP reloads the shadow bundle too: with no --reload-interval, an
// edited shadow directory is in use after the signal.
func TestServeShadowBundleSIGHUP(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(dir, "data"))
	candidate := glanceDir(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx, "--shadow-bundle", candidate, "--reload-interval", "0")
	_, tokOut, _ := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", "member")
	member := strings.TrimSpace(tokOut)
	id := "0c7b4c0e-0000-4000-8000-00000000000c"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "billed", "--owner", "demo", "--id", id, "--property", "x_billing_code_ntt=ntt_3251"); code != 0 {
		t.Fatal(stderr)
	}
	download := func() {
		t.Helper()
		if status, body := httpGet(t, url+"/v2/images/"+id+"/file", member); status != 403 {
			t.Fatalf("download: %d %s, want the built-in bundle's 403", status, body)
		}
	}
	download()
	waitMetric(t, url, `oslorego_shadow_decisions_total{result="agree"} 1`)
	open, err := os.ReadFile(filepath.Join(glanceDir(t, `"rule:context_is_admin or rule:glance_download_image"`), "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(candidate, "policy.yaml"), open, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, url, `oslorego_shadow_bundle_reload_total{result="success"} 2`)
	if !strings.Contains(errb.String(), "SIGHUP: reloading the shadow bundle") {
		t.Errorf("the shadow reload is not logged:\n%s", errb.String())
	}
	download()
	waitMetric(t, url, `oslorego_shadow_disagreements_total{enforced="deny",rule="download_image",shadow="allow"} 1`)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
}

// The shadow flags are checked before anything starts.
func TestServeShadowFlags(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	for _, args := range [][]string{
		{"--shadow-bundle", "x", "--shadow-queue", "0"},
		{"--shadow-bundle", "x", "--shadow-workers", "-1"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "--shadow-queue and --shadow-workers") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}
