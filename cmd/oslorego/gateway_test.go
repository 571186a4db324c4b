package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve --upstream refuses what cannot work: local tokens (Glance does
// not know them), no identity of its own, a URL that is no Glance URL.
func TestServeUpstreamUsage(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	if err := os.WriteFile(svc, []byte("service-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ks := []string{"--auth", "keystone", "--keystone-url", "http://127.0.0.1:1", "--keystone-service-token-file", svc, "--data-dir", dir}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--data-dir", dir}, "--upstream needs --auth keystone"},
		{[]string{"serve", "--upstream", "http://127.0.0.1:1", "--auth", "headers", "--data-dir", dir}, "--upstream with --auth headers needs --upstream-token-file"},
		{append([]string{"serve", "--upstream", "ftp://glance", "--upstream-token-file", svc}, ks...), "want http(s)://host"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := runCLI(t, "", "serve", "--help")
	for _, flag := range []string{"--upstream string", "--upstream-token-file string", "--upstream-metadata-ttl duration", "(default 5s)", "--upstream-timeout duration", "(default 30s)", "Gateway mode",
		"--upstream-caller-view-ttl duration", "membership change"} {
		if code != 0 || !strings.Contains(stderr, flag) {
			t.Errorf("serve --help lacks %q", flag)
		}
	}
}

// --upstream-caller-view-ttl is refused beyond the metadata TTL (which
// must then keep reads), negative, or without --upstream.
func TestServeCallerViewTTLUsage(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	if err := os.WriteFile(svc, []byte("service-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := []string{"serve", "--auth", "keystone", "--keystone-url", "http://127.0.0.1:1", "--keystone-service-token-file", svc,
		"--data-dir", dir, "--upstream", "http://127.0.0.1:1", "--upstream-token-file", svc}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--upstream-caller-view-ttl", "6s"}, "--upstream-caller-view-ttl 6s is longer than --upstream-metadata-ttl 5s"},
		{[]string{"--upstream-caller-view-ttl", "2s", "--upstream-metadata-ttl", "1s"}, "--upstream-caller-view-ttl 2s is longer than --upstream-metadata-ttl 1s"},
		{[]string{"--upstream-caller-view-ttl", "1s", "--upstream-metadata-ttl", "-1s"}, "with a negative --upstream-metadata-ttl"},
		{[]string{"--upstream-caller-view-ttl", "-1s"}, "--upstream-caller-view-ttl -1s: negative"},
	} {
		args := append(append([]string{}, gw...), c.args...)
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := runCLI(t, "", "serve", "--data-dir", dir, "--upstream-caller-view-ttl", "1s")
	if code != 2 || !strings.Contains(stderr, "--upstream-caller-view-ttl needs --upstream") {
		t.Errorf("without --upstream: exit %d, stderr %q", code, stderr)
	}
}

// serve --upstream wired end to end: Keystone-validated callers, the
// gateway's own token for the target, the caller's for the data, and no
// data directory opened.
func TestServeUpstream(t *testing.T) {
	expires := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subject := r.Header.Get("X-Subject-Token")
		if r.Header.Get("X-Auth-Token") != "service-secret" || (subject != "member-token" && subject != "service-secret") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
			"expires_at": expires,
			"user":       map[string]any{"id": "u1", "domain": map[string]any{"id": "default"}},
			"project":    map[string]any{"id": "demo", "domain": map[string]any{"id": "default"}},
			"roles":      []any{map[string]any{"id": "r1", "name": "member"}, map[string]any{"id": "r2", "name": "reader"}},
		}})
	}))
	defer ks.Close()
	var dataTokens []string
	var mu sync.Mutex
	glance := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Auth-Token")
		id, file := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v2/images/"), "/file")
		if file {
			mu.Lock()
			dataTokens = append(dataTokens, tok)
			mu.Unlock()
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("0123456789"))
			return
		}
		img := map[string]any{"id": id, "status": "active", "visibility": "private", "owner": "demo", "size": 10,
			"min_disk": 0, "min_ram": 0, "protected": false, "os_hidden": false, "tags": []string{}}
		if id == "restricted" && tok == "gateway-token" { // the caller's view lacks the marker
			img["x_billing_code_ntt"] = "ntt_3251"
		}
		_ = json.NewEncoder(w).Encode(img)
	}))
	defer glance.Close()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url, _ := serveUntilCleanup(t, "--listen", "127.0.0.1:0", "--decision-log", "off", "--data-dir", filepath.Join(dir, "data"),
		"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-service-token-file", write("svc", "service-secret"),
		"--upstream", glance.URL, "--upstream-token-file", write("gw", "gateway-token"), "--cache-dir", filepath.Join(dir, "cache"), "--cache-size", "1M")
	if code, body := httpGet(t, url+"/v2/images/plain/file", "member-token"); code != 200 || body != "0123456789" {
		t.Errorf("plain image: %d %q", code, body)
	}
	if code, _ := httpGet(t, url+"/v2/images/restricted/file", "member-token"); code != 403 {
		t.Errorf("restricted image (marker in the gateway's view only): %d, want 403", code)
	}
	mu.Lock()
	if len(dataTokens) != 1 || dataTokens[0] != "member-token" {
		t.Errorf("data fetched with %q, want the caller's token once", dataTokens)
	}
	mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("gateway mode created the data directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", "data")); err != nil {
		t.Errorf("--cache-dir not opened: %v", err)
	}
}
