package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{append([]string{"serve", "--upstream", "http://127.0.0.1:1"}, ks...), "--upstream-token-file"},
		{append([]string{"serve", "--upstream", "ftp://glance", "--upstream-token-file", svc}, ks...), "want http(s)://host"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := runCLI(t, "", "serve", "--help")
	for _, flag := range []string{"--upstream string", "--upstream-token-file string", "--upstream-metadata-ttl duration", "(default 5s)", "--upstream-timeout duration", "(default 30s)", "Gateway mode"} {
		if code != 0 || !strings.Contains(stderr, flag) {
			t.Errorf("serve --help lacks %q", flag)
		}
	}
}
