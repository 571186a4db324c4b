package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cache prefetch reads record and data with the operator's token from
// --token-file, stores the image verified; list shows it; evict removes
// it. serve refuses --cache-dir without --upstream and a bad --cache-size.
func TestCacheCommand(t *testing.T) {
	const id = "0b5e8ad8-7dd6-4a1f-9a4b-38b2f3e2b1c7"
	data := bytes.Repeat([]byte("0123456789"), 100)
	sha, sum := sha512.Sum512(data), md5.Sum(data)
	var mu sync.Mutex
	var tokens []string
	glance := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.Header.Get("X-Auth-Token"))
		mu.Unlock()
		switch r.URL.Path {
		case "/v2/images/" + id:
			_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "active", "visibility": "private", "size": len(data),
				"os_hash_algo": "sha512", "os_hash_value": hex.EncodeToString(sha[:]), "checksum": hex.EncodeToString(sum[:])})
		case "/v2/images/" + id + "/file":
			_, _ = w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(glance.Close)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	tf := filepath.Join(dir, "operator-token")
	if err := os.WriteFile(tf, []byte("operator-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "", "cache", "prefetch", "--cache-dir", cacheDir, "--upstream", glance.URL, "--token-file", tf, id)
	if code != 0 || !strings.Contains(out, "cached 1000 bytes") {
		t.Fatalf("prefetch: exit %d, %q %q", code, out, stderr)
	}
	for _, tok := range tokens {
		if tok != "operator-secret" {
			t.Errorf("a request upstream with token %q", tok)
		}
	}
	if len(tokens) != 2 {
		t.Errorf("%d requests upstream, want 2 (record, data)", len(tokens))
	}
	if code, out, _ := runCLI(t, "", "cache", "prefetch", "--cache-dir", cacheDir, "--upstream", glance.URL, "--token-file", tf, id); code != 0 || !strings.Contains(out, "already cached") {
		t.Errorf("prefetch again: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "", "cache", "prefetch", "--cache-dir", cacheDir, "--upstream", glance.URL, "--token-file", tf, "nope"); code != 1 || !strings.Contains(out, "nope: reading the image") {
		t.Errorf("prefetch of a missing image: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "", "cache", "list", "--cache-dir", cacheDir, "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0]["id"] != id || rows[0]["size"] != 1000.0 {
		t.Fatalf("list: %d %q %v", code, out, err)
	}
	if code, out, _ := runCLI(t, "", "cache", "list", "--cache-dir", cacheDir); code != 0 || !strings.Contains(out, "1 entries, 1000 bytes") {
		t.Errorf("list: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "", "cache", "evict", "--cache-dir", cacheDir, id); code != 0 || !strings.Contains(out, "evicted "+id) {
		t.Errorf("evict: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "cache", "evict", "--cache-dir", cacheDir, id); code != 1 {
		t.Errorf("evict of nothing: exit %d, want 1", code)
	}
	if code, out, _ := runCLI(t, "", "cache", "list", "--cache-dir", cacheDir); !strings.Contains(out, "0 entries") {
		t.Errorf("list after evict: %d %q", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--cache-dir", dir, "--data-dir", dir}, "--cache-dir needs --upstream"},
		{[]string{"serve", "--upstream", glance.URL, "--auth", "headers", "--upstream-token-file", tf, "--cache-dir", dir, "--cache-size", "lots", "--data-dir", dir}, "--cache-size"},
		{[]string{"cache", "list"}, "--cache-dir is required"},
		{[]string{"cache", "evict", "--cache-dir", dir}, "give image ids or --all"},
		{[]string{"cache", "prefetch", "--cache-dir", dir, id}, "--upstream and --token-file are required"},
	} {
		if code, _, stderr := runCLI(t, "", c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	_, _, help := runCLI(t, "", "serve", "--help")
	if !strings.Contains(help, "--cache-dir string") || !strings.Contains(help, `(default "10G")`) {
		t.Errorf("serve --help lacks --cache-dir / --cache-size:\n%s", help)
	}
}
