package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
)

// serveUntilCleanup runs serve with args in-process until the test ends
// and returns its URL and its stderr.
func serveUntilCleanup(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url, done, errb := startServe(t, ctx, args...)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return url, errb
}

// httpGet returns the status and body of GET url with token (none if "").
func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A server started on a corrupt tokens file answers 503 and says why (an
// ERROR line, oslorego_tokens_file_ok 0); fixed, it serves; broken again,
// it refuses every token unless --tokens-on-error keep.
func TestServeCorruptTokensFile(t *testing.T) {
	for _, mode := range []string{"refuse", "keep", ""} {
		t.Run("tokens-on-error="+mode, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "tokens.json")
			if err := os.WriteFile(file, []byte(`{"version": 1, "tokens": [`), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--data-dir", dir, "--tokens-file", file}
			if mode != "" {
				args = append(args, "--tokens-on-error", mode)
			}
			url, errb := serveUntilCleanup(t, args...)
			if code, body := httpGet(t, url+"/v2/images", "osr_anything"); code != http.StatusServiceUnavailable {
				t.Fatalf("corrupt at start: %d %s, want 503", code, body)
			}
			if !strings.Contains(errb.String(), `level=ERROR msg="tokens file unreadable"`) {
				t.Fatalf("no ERROR line for the corrupt file:\n%s", errb.String())
			}
			_, metrics := httpGet(t, url+"/metrics", "")
			for _, want := range []string{"oslorego_tokens_file_ok 0", "oslorego_tokens_file_errors_total 1"} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}

			// Fixed: a good file renamed into place.
			good := filepath.Join(dir, "good.json")
			tok, err := auth.AddToken(good, auth.NewToken{UserID: "u", ProjectID: "demo", Roles: []string{"member", "reader"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(good, file); err != nil {
				t.Fatal(err)
			}
			if code, body := httpGet(t, url+"/v2/images", tok); code != http.StatusOK {
				t.Fatalf("fixed: %d %s, want 200", code, body)
			}
			if _, metrics := httpGet(t, url+"/metrics", ""); !strings.Contains(metrics, "oslorego_tokens_file_ok 1") {
				t.Error("/metrics does not say the fixed file is ok")
			}

			// Broken again by a hand edit.
			if err := os.WriteFile(file, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			want := http.StatusServiceUnavailable
			if mode == "keep" {
				want = http.StatusOK
			}
			if code, body := httpGet(t, url+"/v2/images", tok); code != want {
				t.Fatalf("broken after a good read: %d %s, want %d", code, body, want)
			}
		})
	}
}

func TestServeTokensOnErrorUsage(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	code, _, stderr := runCLI(t, "", "serve", "--tokens-on-error", "ignore")
	if code != 2 || !strings.Contains(stderr, "refuse or keep") {
		t.Fatalf("exit %d, stderr %q; want 2 and the choices", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "serve", "--help")
	if code != 0 || !strings.Contains(stderr, "--tokens-on-error") {
		t.Fatalf("serve --help lacks --tokens-on-error: %d %q", code, stderr)
	}
}
