package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

// Tests against a real Keystone (Debian's python3-keystone 22, Zed):
// ../shared/keystone-peer/keystone-peer.sh, which .ci/run starts. Each
// validation there takes 0.3-2 s, so the tests make few.

// peerToken authenticates a provisioned user of the peer with its
// password, scoped to project ("" for unscoped), and returns the token.
func peerToken(t *testing.T, p *testenv.KeystonePeer, user, project string) string {
	t.Helper()
	c := ServiceCredentials{Type: AuthPassword, Username: user, UserDomainID: "default", Password: p.Env["KEYSTONE_PW"],
		ProjectName: project, ProjectDomainID: "default"}
	if project == "" {
		c.ProjectDomainID = ""
	}
	return peerAuth(t, p, c)
}

// peerAuth authenticates to the peer with c and returns the token.
func peerAuth(t *testing.T, p *testenv.KeystonePeer, c ServiceCredentials) string {
	t.Helper()
	s := &serviceTokens{creds: &c, endpoint: p.URL + "/v3/auth/tokens?nocatalog", client: http.DefaultClient, now: time.Now, log: slog.New(slog.DiscardHandler)}
	tok, _, err := s.post(context.Background())
	if err != nil {
		t.Fatalf("authenticating as %s: %v", c, err)
	}
	return tok
}

// peerCall makes an authenticated JSON call to the peer.
func peerCall(t *testing.T, p *testenv.KeystonePeer, method, path, token string, body any, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	var rd bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = *bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.URL+"/v3"+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func peerKeystone(t *testing.T, url string, o KeystoneOptions) *Keystone {
	t.Helper()
	o.URL = url
	k, err := NewKeystone(o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The server's identity from a password (names, as flags give them) and
// from an application credential validates alice's token (the password
// one after the start-up check); the peer's clouds.yaml, read as
// --os-cloud reads it, authenticates. A wrong password and an unreachable
// Keystone fail the check, saying why without the secret.
func TestKeystonePeerServiceIdentity(t *testing.T) {
	p := testenv.Keystone(t)
	pw := p.Env["KEYSTONE_PW"]
	alice := peerToken(t, p, "alice", "demo")
	svc := peerToken(t, p, "oslorego", "service")

	// An application credential of the oslorego user, made by itself.
	acName := fmt.Sprintf("oslorego-test-%d", time.Now().UnixNano())
	status, ac := peerCall(t, p, "POST", "/users/"+p.Env["USER_OSLOREGO"]+"/application_credentials", svc,
		map[string]any{"application_credential": map[string]any{"name": acName}}, nil)
	if status != http.StatusCreated {
		t.Fatalf("creating an application credential: HTTP %d %v", status, ac)
	}
	acc := ac["application_credential"].(map[string]any)
	acID, acSecret := acc["id"].(string), acc["secret"].(string)

	env := DefaultCloudEnv()
	env.Getenv = func(k string) string {
		if k == "OS_CLIENT_CONFIG_FILE" {
			return filepath.Join(p.State, "clouds.yaml")
		}
		return ""
	}
	cloud, err := LoadCloud("oslorego", env)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("clouds.yaml", func(t *testing.T) {
		k := peerKeystone(t, cloud.AuthURL, KeystoneOptions{Credentials: &cloud.Credentials})
		if _, err := k.svc.get(context.Background()); err != nil {
			t.Fatalf("authenticating as clouds.yaml's oslorego (%s): %v", cloud.Credentials, err)
		}
	})
	for _, tc := range []struct {
		name  string
		url   string
		creds ServiceCredentials
		check bool
	}{
		{"password", p.URL, ServiceCredentials{Type: AuthPassword, Username: "oslorego", UserDomainName: "Default", Password: pw,
			ProjectName: "service", ProjectDomainName: "Default"}, true},
		{"application credential", p.URL + "/v3", ServiceCredentials{Type: AuthApplicationCredential, ApplicationCredentialID: acID, ApplicationCredentialSecret: acSecret}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := peerKeystone(t, tc.url, KeystoneOptions{Credentials: &tc.creds})
			if tc.check {
				if err := k.Check(context.Background()); err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			id, err := k.Authenticate(context.Background(), request(alice))
			if err != nil {
				t.Fatal(err)
			}
			if id.UserID != p.Env["USER_ALICE"] || id.ProjectID != p.Env["PROJECT_DEMO"] || !slices.Contains(id.Roles, "member") {
				t.Fatalf("alice's identity: %+v", id)
			}
			if ready, detail := k.Status(); !ready {
				t.Errorf("not ready: %s", detail)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		bad := "wrong-" + pw + "-XYZ"
		k := peerKeystone(t, p.URL, KeystoneOptions{Credentials: &ServiceCredentials{Type: AuthPassword, Username: "oslorego", UserDomainName: "Default",
			Password: bad, ProjectName: "service", ProjectDomainName: "Default"}})
		err := k.Check(context.Background())
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), bad) {
			t.Fatalf("Check: %v; want the 401, without the password", err)
		}
		if _, err := k.Authenticate(context.Background(), request(alice)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("a request: %v, want ErrUnavailable (503)", err)
		}
	})
	t.Run("keystone unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		creds := serviceUser(pw)
		k := peerKeystone(t, srv.URL, KeystoneOptions{Credentials: &creds})
		if err := k.Check(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Check: %v", err)
		}
	})
}

// serviceUser is the peer's oslorego user, in project service.
func serviceUser(pw string) ServiceCredentials {
	return ServiceCredentials{Type: AuthPassword, Username: "oslorego", UserDomainName: "Default", Password: pw, ProjectName: "service", ProjectDomainName: "Default"}
}

// Keystone revokes the server's token (DELETE /v3/auth/tokens): the next
// validation gets 401, authenticates again and succeeds.
func TestKeystonePeerReauthAfterRevocation(t *testing.T) {
	p := testenv.Keystone(t)
	alice := peerToken(t, p, "alice", "demo")
	creds := serviceUser(p.Env["KEYSTONE_PW"])
	k := peerKeystone(t, p.URL, KeystoneOptions{Credentials: &creds, CacheTTL: time.Millisecond})
	if _, err := k.Authenticate(context.Background(), request(alice)); err != nil {
		t.Fatal(err)
	}
	k.svc.mu.Lock()
	first := k.svc.token
	k.svc.obtained = k.svc.obtained.Add(-time.Minute) // old enough to be worth renewing
	k.svc.mu.Unlock()
	// A token may revoke itself.
	if status, body := peerCall(t, p, "DELETE", "/auth/tokens", first, nil, map[string]string{"X-Subject-Token": first}); status != http.StatusNoContent {
		t.Fatalf("revoking the service token: HTTP %d %v", status, body)
	}
	if _, err := k.Authenticate(context.Background(), request(alice)); err != nil {
		t.Fatalf("after our token was revoked: %v", err)
	}
	k.svc.mu.Lock()
	defer k.svc.mu.Unlock()
	if k.svc.obtainedCount != 2 || k.svc.token == first {
		t.Fatalf("%d service tokens obtained, want 2 (one new after the 401)", k.svc.obtainedCount)
	}
}

// A second Keystone issues tokens that live 4 s: the server's token is
// renewed across its lifetime while alice's token is validated again and
// again for 7 s, with no request failing; then that Keystone stops and a
// validation is 503.
func TestKeystonePeerRenewal(t *testing.T) {
	p := testenv.Keystone(t)
	alice := peerToken(t, p, "alice", "demo") // from the main one: 1 hour
	url, stop := p.Extra(t, 4*time.Second)
	creds := serviceUser(p.Env["KEYSTONE_PW"])
	k := peerKeystone(t, url, KeystoneOptions{Credentials: &creds, CacheTTL: time.Millisecond})
	if err := k.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]bool{}
	for end := time.Now().Add(7 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if _, err := k.Authenticate(context.Background(), request(alice)); err != nil {
			t.Fatalf("validation at %s: %v", time.Now().Format("15:04:05.000"), err)
		}
		k.svc.mu.Lock()
		tokens[k.svc.token] = true
		k.svc.mu.Unlock()
	}
	if len(tokens) < 2 {
		t.Errorf("%d service tokens over 7 s of 4 s tokens, want at least 2", len(tokens))
	}
	if ready, detail := k.Status(); !ready {
		t.Errorf("not ready: %s", detail)
	}
	// Keystone down: 503 for a token not in the cache.
	stop()
	if _, err := k.Authenticate(context.Background(), request(peerToken(t, p, "rita", "demo"))); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("keystone down: %v, want ErrUnavailable (503)", err)
	}
}

// Application credentials with access rules, made by alice: the token of
// one whose rule allows GET /v2/images/*/file for image downloads and
// nothing else; one whose rules name another service type gets nothing.
// Keystone answers 404 for their tokens unless we declare that we
// enforce the rules, which we do.
func TestKeystonePeerAccessRules(t *testing.T) {
	p := testenv.Keystone(t)
	alice := peerToken(t, p, "alice", "demo")
	mk := func(service string) string {
		name := fmt.Sprintf("rules-%s-%d", service, time.Now().UnixNano())
		status, body := peerCall(t, p, "POST", "/users/"+p.Env["USER_ALICE"]+"/application_credentials", alice, map[string]any{"application_credential": map[string]any{
			"name": name, "access_rules": []any{map[string]any{"service": service, "method": "GET", "path": "/v2/images/*/file"}}}}, nil)
		if status != http.StatusCreated {
			t.Fatalf("creating an application credential: HTTP %d %v", status, body)
		}
		ac := body["application_credential"].(map[string]any)
		return peerAuth(t, p, ServiceCredentials{Type: AuthApplicationCredential, ApplicationCredentialID: ac["id"].(string), ApplicationCredentialSecret: ac["secret"].(string)})
	}
	image, compute := mk("image"), mk("compute")
	creds := serviceUser(p.Env["KEYSTONE_PW"])
	var logs lockedWriter
	k := peerKeystone(t, p.URL, KeystoneOptions{Credentials: &creds, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	const img = "/v2/images/0c7b4c0e-0000-4000-8000-000000000001"
	for _, tc := range []struct {
		token, method, path string
		ok                  bool
	}{
		{image, "GET", img + "/file", true},
		{image, "GET", img, false},
		{image, "HEAD", img + "/file", false},
		{image, "GET", "/v2/images", false},
		{compute, "GET", img + "/file", false},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("X-Auth-Token", tc.token)
		id, err := k.Authenticate(context.Background(), r)
		switch {
		case tc.ok && (err != nil || id.UserID != p.Env["USER_ALICE"]):
			t.Errorf("%s %s: %+v, %v; want alice", tc.method, tc.path, id, err)
		case !tc.ok && !errors.Is(err, ErrUnauthenticated):
			t.Errorf("%s %s: %+v, %v; want 401", tc.method, tc.path, id, err)
		}
	}
	if !strings.Contains(logs.String(), "no access rule allows GET "+img+" for service type image") {
		t.Errorf("the refusal is not logged with its reason:\n%s", logs.String())
	}
	// Without the header, as before: Keystone does not know the token.
	svc, err := k.svc.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := peerCall(t, p, "GET", "/auth/tokens?nocatalog", svc, nil, map[string]string{"X-Subject-Token": image}); status != http.StatusNotFound {
		t.Errorf("validation without OpenStack-Identity-Access-Rules: HTTP %d, want 404", status)
	}
}
