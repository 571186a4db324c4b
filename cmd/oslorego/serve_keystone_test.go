package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

// serveOrExit runs serve with args until the test ends; it returns the
// server's URL, or "" and the exit code if serve exits first.
func serveOrExit(t *testing.T, args ...string) (url string, code int, errb *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errb = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--decision-log", "off"}, args...), strings.NewReader(""), io.Discard, errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := servingRx.FindStringSubmatch(errb.String()); m != nil {
			return m[1], 0, errb
		}
		select {
		case code := <-done:
			done <- code // for the cleanup
			return "", code, errb
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
	}
}

// fakeKeystone answers POST /v3/auth/tokens for the password "pw" or the
// application credential ac1/acsecret, and validates with the tokens it
// issued or "static-svc"; the user token "user-ok" is valid.
func fakeKeystone(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	issued := map[string]bool{"static-svc": true}
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		exp := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
		body := `{"token": {"expires_at": "` + exp + `", "issued_at": "` + time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") + `", "user": {"id": "u1", "domain": {"id": "default"}}, "project": {"id": "demo", "domain": {"id": "default"}}, "roles": [{"id": "r", "name": "service"}]}}`
		switch {
		case r.URL.Path != "/v3/auth/tokens":
			http.NotFound(w, r)
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			s := string(b)
			if !strings.Contains(s, `"password":"pw"`) && !strings.Contains(s, `"secret":"acsecret"`) {
				http.Error(w, "{}", http.StatusUnauthorized)
				return
			}
			tok := fmt.Sprintf("svc-%d", len(issued))
			issued[tok] = true
			w.Header().Set("X-Subject-Token", tok)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, body)
		case !issued[r.Header.Get("X-Auth-Token")]:
			http.Error(w, "{}", http.StatusUnauthorized)
		case r.Header.Get("X-Subject-Token") == "user-ok" || issued[r.Header.Get("X-Subject-Token")]:
			fmt.Fprint(w, body)
		default:
			http.Error(w, "{}", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// Each way of giving serve its Keystone identity starts a server that
// authenticates callers; wrong or contradictory ones stop it at start
// with the reason, never the secret.
func TestServeKeystoneIdentity(t *testing.T) {
	ks, _ := fakeKeystone(t)
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(dir, "data"))
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pwFile := write("pw", "pw\n")
	badPwFile := write("badpw", "not-the-pw-QQQ\n")
	acFile := write("ac", "acsecret")
	tokFile := write("tok", "static-svc\n")
	clouds := write("clouds.yaml", fmt.Sprintf("clouds:\n  svc:\n    auth:\n      auth_url: %s/v3\n      username: oslorego\n      password: pw\n      user_domain_name: Default\n      project_name: service\n      project_domain_name: Default\n", ks.URL))
	user := []string{"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-username", "oslorego", "--keystone-user-domain-name", "Default",
		"--keystone-project-name", "service", "--keystone-project-domain-name", "Default"}
	with := func(a []string, more ...string) []string { return append(append([]string{}, a...), more...) }
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int    // 0: serves
		want string // in /readyz's auth line, or in the error
	}{
		{"password file", nil, with(user, "--keystone-password-file", pwFile, "--token-cache-ttl", "90s", "--token-negative-cache-ttl", "3s"), 0, `password, user "oslorego" in domain "Default", project "service"`},
		{"password from the environment", map[string]string{envPassword: "pw"}, user, 0, "password"},
		{"application credential", nil, []string{"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-application-credential-id", "ac1",
			"--keystone-application-credential-secret-file", acFile}, 0, "v3applicationcredential id ac1"},
		{"--os-cloud", map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, []string{"--auth", "keystone", "--os-cloud", "svc"}, 0, `user "oslorego"`},
		{"$OS_CLOUD", map[string]string{"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLOUD": "svc"}, []string{"--auth", "keystone"}, 0, `user "oslorego"`},
		{"flags override the cloud", map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, []string{"--auth", "keystone", "--os-cloud", "svc",
			"--keystone-password-file", badPwFile}, 1, "HTTP 401"},
		{"static token", nil, []string{"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-service-token-file", tokFile}, 0, "static service token (never renewed), expires at"},
		{"wrong password", nil, with(user, "--keystone-password-file", badPwFile), 1, "HTTP 401"},
		{"unknown static token", map[string]string{envServiceToken: "nope"}, []string{"--auth", "keystone", "--keystone-url", ks.URL}, 1, "HTTP 401"},
		{"token and credentials", map[string]string{envServiceToken: "static-svc"}, with(user, "--keystone-password-file", pwFile), 2, "not both"},
		{"no password", nil, user, 2, "needs a password"},
		{"no user domain", nil, []string{"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-username", "u", "--keystone-password-file", pwFile}, 2, "needs its domain"},
		{"unknown cloud", map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, []string{"--auth", "keystone", "--os-cloud", "nope"}, 1, `cloud "nope" not found`},
		{"cache ttl 0", nil, with(user, "--keystone-password-file", pwFile, "--token-cache-ttl", "0"), 2, "must be positive"},
		{"keystone unreachable", nil, []string{"--auth", "keystone", "--keystone-url", "http://127.0.0.1:1", "--keystone-password-file", pwFile,
			"--keystone-user-id", "u1"}, 1, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OS_CLOUD", "OS_CLIENT_CONFIG_FILE", envPassword, envServiceToken, envAppCredSec} {
				t.Setenv(k, tc.env[k])
			}
			url, code, errb := serveOrExit(t, tc.args...)
			for _, secret := range []string{"not-the-pw-QQQ", "acsecret", "static-svc\n"} {
				if strings.Contains(errb.String(), secret) {
					t.Errorf("a secret reached serve's output: %s", errb.String())
				}
			}
			if tc.code != 0 {
				if url != "" || code != tc.code || !strings.Contains(errb.String(), tc.want) {
					t.Fatalf("serve: exit %d, output %q; want exit %d and %q", code, errb.String(), tc.code, tc.want)
				}
				return
			}
			if url == "" {
				t.Fatalf("serve exited %d: %s", code, errb.String())
			}
			if tc.name == "password file" && !strings.Contains(errb.String(), "token_cache_ttl=1m30s token_negative_cache_ttl=3s") {
				t.Errorf("the cache bounds in force are not logged: %s", errb.String())
			}
			if status, body := httpGet(t, url+"/readyz", ""); status != 200 || !strings.Contains(body, "auth: ") || !strings.Contains(body, tc.want) {
				t.Errorf("/readyz: %d %q; want 200 and %q", status, body, tc.want)
			}
			// Authenticated: the image is just missing (404); a bad token 401.
			if status, body := httpGet(t, url+"/v2/images/0c7b4c0e-0000-4000-8000-00000000dead", "user-ok"); status != 404 {
				t.Errorf("a valid token: %d %s, want 404", status, body)
			}
			if status, _ := httpGet(t, url+"/v2/images/0c7b4c0e-0000-4000-8000-00000000dead", "user-bad"); status != 401 {
				t.Errorf("a bad token: %d, want 401", status)
			}
		})
	}
}

// serve --auth keystone --os-cloud against the real Keystone peer, with
// its clouds.yaml as the openstack CLI reads it: alice (member of demo)
// downloads demo's image, rita (reader) is refused by the policy, a bad
// token is 401, /readyz reports the service token; a wrong password stops
// serve at start.
func TestServeKeystonePeer(t *testing.T) {
	p := testenv.Keystone(t)
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", dir)
	t.Setenv("OS_CLIENT_CONFIG_FILE", filepath.Join(p.State, "clouds.yaml"))
	t.Setenv("OS_CLOUD", "")
	id := "0c7b4c0e-0000-4000-8000-0000000000a1"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "tiny", "--owner", p.Env["PROJECT_DEMO"], "--id", id); code != 0 {
		t.Fatal(stderr)
	}
	url, code, errb := serveOrExit(t, "--auth", "keystone", "--os-cloud", "oslorego")
	if url == "" {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
	token := func(user string) string {
		body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"id": "default"}, "password": %q}}},
			"scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}`, user, p.Env["KEYSTONE_PW"])
		resp, err := http.Post(p.URL+"/v3/auth/tokens?nocatalog", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("token for %s: HTTP %d", user, resp.StatusCode)
		}
		return resp.Header.Get("X-Subject-Token")
	}
	alice, rita := token("alice"), token("rita")
	data, _ := os.ReadFile(example + "tiny.img")
	if status, body := httpGet(t, url+"/v2/images/"+id+"/file", alice); status != 200 || body != string(data) {
		t.Errorf("alice: %d, want 200 and the image", status)
	}
	if status, body := httpGet(t, url+"/v2/images/"+id, rita); status != 200 || !json.Valid([]byte(body)) {
		t.Errorf("rita reads the metadata: %d, want 200", status)
	}
	if status, _ := httpGet(t, url+"/v2/images/"+id+"/file", rita); status != 403 {
		t.Errorf("rita (reader) downloads: %d, want 403", status)
	}
	if status, _ := httpGet(t, url+"/v2/images/"+id+"/file", "gAAAAA-not-a-token"); status != 401 {
		t.Errorf("a bad token: %d, want 401", status)
	}
	if status, body := httpGet(t, url+"/readyz", ""); status != 200 || !strings.Contains(body, `auth: service token (password, user "oslorego"`) {
		t.Errorf("/readyz: %d %q", status, body)
	}
	for _, secret := range []string{alice, rita, p.Env["KEYSTONE_PW"] + "\""} {
		if strings.Contains(errb.String(), secret) {
			t.Error("a token or the password reached serve's output")
		}
	}

	t.Setenv(envPassword, "wrong-password-QQQ")
	_, code, errb = serveOrExit(t, "--auth", "keystone", "--keystone-url", p.URL, "--keystone-username", "oslorego", "--keystone-user-domain-name", "Default",
		"--keystone-project-name", "service", "--keystone-project-domain-name", "Default")
	if code != 1 || !strings.Contains(errb.String(), "HTTP 401") || strings.Contains(errb.String(), "wrong-password-QQQ") {
		t.Errorf("a wrong password: exit %d, %q; want 1 and the 401, without the password", code, errb.String())
	}
}

// serve --help and the README say the same about the Keystone cache: 5
// minutes by default, settable, a negative cache too.
func TestServeKeystoneHelp(t *testing.T) {
	code, _, help := runCLI(t, "", "serve", "--help")
	if code != 0 {
		t.Fatal(code)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--token-cache-ttl duration", "(default 5m0s)", "--token-negative-cache-ttl duration", "(default 10s)",
		"--os-cloud string", "--keystone-password-file string", "--keystone-application-credential-secret-file string", "access rules are enforced"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	if strings.Contains(help, "cached until the token expires") {
		t.Error("serve --help still says tokens are cached until they expire")
	}
	for _, want := range []string{"| `--token-cache-ttl D` | `5m` |", "| `--token-negative-cache-ttl D` | `10s` |", "`--token-cache-ttl` (default 5 minutes"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
}
