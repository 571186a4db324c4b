package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	svcPassword = "pa55-w0rd-of-the-service"
	svcACSecret = "app-cred-secret-0123456789"
	aliceToken  = "gAAAAA-alice-user-token"
	// restrictedToken is from an application credential with access
	// rules: GET /v2/images/*/file and HEAD /v2/images/{id} for image,
	// GET /v2/images for compute.
	restrictedToken = "gAAAAA-restricted-app-cred-token"
	emptyRulesToken = "gAAAAA-empty-access-rules-token"
	nullRulesToken  = "gAAAAA-null-access-rules-token"
)

var svcSecrets = []string{svcPassword, svcACSecret, aliceToken, restrictedToken}

// fakeIdentity stands in for Keystone's POST and GET /v3/auth/tokens: it
// issues service tokens that live life (on the test's clock) and
// validates with them.
type fakeIdentity struct {
	srv   *httptest.Server
	clock *clock
	posts atomic.Int64 // authentications
	gets  atomic.Int64 // validations

	mu         sync.Mutex
	life       time.Duration
	n          int
	issued     map[string]time.Time // service token -> expires
	revoked    map[string]bool
	refuseAll  bool          // 401 to every validation
	forbid     bool          // 403 to every validation
	authStatus int           // forced answer to POST
	authDelay  time.Duration // before answering POST
	lastSvc    string        // X-Auth-Token of the last validation
	accessHdr  []string      // OpenStack-Identity-Access-Rules of validations
	bodies     [][]byte      // POST bodies
}

func newFakeIdentity(t *testing.T, c *clock, life time.Duration) *fakeIdentity {
	t.Helper()
	fi := &fakeIdentity{clock: c, life: life, issued: map[string]time.Time{}, revoked: map[string]bool{}}
	fi.srv = httptest.NewServer(http.HandlerFunc(fi.serve))
	t.Cleanup(fi.srv.Close)
	return fi
}

func (fi *fakeIdentity) set(f func(fi *fakeIdentity)) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f(fi)
}

func (fi *fakeIdentity) stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func (fi *fakeIdentity) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/identity/v3/auth/tokens" || r.URL.RawQuery != "nocatalog" {
		http.Error(w, "wrong path", http.StatusTeapot)
		return
	}
	switch r.Method {
	case http.MethodPost:
		fi.authenticate(w, r)
	case http.MethodGet:
		fi.validate(w, r)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (fi *fakeIdentity) authenticate(w http.ResponseWriter, r *http.Request) {
	fi.posts.Add(1)
	body, _ := io.ReadAll(r.Body)
	fi.mu.Lock()
	fi.bodies = append(fi.bodies, body)
	status, delay := fi.authStatus, fi.authDelay
	fi.mu.Unlock()
	time.Sleep(delay)
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
				AppCred struct {
					ID     string `json:"id"`
					Secret string `json:"secret"`
				} `json:"application_credential"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	id := req.Auth.Identity
	ok := id.Password.User.Name == "oslorego" && id.Password.User.Password == svcPassword ||
		id.AppCred.ID == "ac1" && id.AppCred.Secret == svcACSecret
	if status == 0 && !ok {
		status = http.StatusUnauthorized
	}
	if status != 0 {
		http.Error(w, `{"error": {"code": 401, "message": "The request you have made requires authentication."}}`, status)
		return
	}
	fi.mu.Lock()
	fi.n++
	tok := fmt.Sprintf("svc-token-%d", fi.n)
	now := fi.clock.Now().Truncate(time.Second)
	fi.issued[tok] = now.Add(fi.life)
	fi.mu.Unlock()
	w.Header().Set("X-Subject-Token", tok)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"token": {"methods": ["password"], "expires_at": %q, "issued_at": %q,
		"user": {"id": "svc", "name": "oslorego", "domain": {"id": "default"}},
		"project": {"id": "psvc", "name": "service", "domain": {"id": "default"}},
		"roles": [{"id": "r", "name": "service"}]}}`, fi.stamp(now.Add(fi.life)), fi.stamp(now))
}

func (fi *fakeIdentity) validate(w http.ResponseWriter, r *http.Request) {
	fi.gets.Add(1)
	svc, subject := r.Header.Get("X-Auth-Token"), r.Header.Get("X-Subject-Token")
	fi.mu.Lock()
	fi.lastSvc = svc
	fi.accessHdr = append(fi.accessHdr, r.Header.Get("OpenStack-Identity-Access-Rules"))
	exp, issued := fi.issued[svc]
	now := fi.clock.Now()
	valid := issued && now.Before(exp) && !fi.revoked[svc] && !fi.refuseAll
	forbid := fi.forbid
	subjExp, subjIssued := fi.issued[subject]
	fi.mu.Unlock()
	if !valid {
		http.Error(w, `{"error": {"code": 401}}`, http.StatusUnauthorized)
		return
	}
	if forbid {
		http.Error(w, `{"error": {"code": 403}}`, http.StatusForbidden)
		return
	}
	exp2 := fi.stamp(now.Add(time.Hour))
	head := `{"token": {"expires_at": "` + exp2 + `", "user": {"id": "alice", "domain": {"id": "default"}}, "project": {"id": "demo", "domain": {"id": "default"}}, "roles": [{"id": "r", "name": "member"}]`
	var body string
	rules := r.Header.Get("OpenStack-Identity-Access-Rules") == "1"
	switch {
	case subject == aliceToken || strings.HasPrefix(subject, "user-"):
		body = head + `}}`
	case subject == restrictedToken && rules:
		body = head + `, "application_credential": {"id": "acr", "name": "r", "restricted": true, "access_rules": [
			{"id": "1", "service": "image", "method": "GET", "path": "/v2/images/*/file"},
			{"id": "2", "service": "image", "method": "HEAD", "path": "/v2/images/{image_id}"},
			{"id": "3", "service": "compute", "method": "GET", "path": "/v2/images"}]}}}`
	case subject == emptyRulesToken && rules:
		body = head + `, "application_credential": {"id": "ace", "access_rules": []}}}`
	case subject == nullRulesToken:
		body = head + `, "application_credential": {"id": "acn", "restricted": false, "access_rules": null}}}`
	case subjIssued:
		body = `{"token": {"expires_at": "` + fi.stamp(subjExp) + `", "user": {"id": "svc", "domain": {"id": "default"}}, "project": {"id": "psvc", "domain": {"id": "default"}}, "roles": [{"id": "r", "name": "service"}]}}`
	default:
		// As Keystone: a restricted token without the header is unknown.
		http.Error(w, `{"error": {"code": 404}}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

var (
	passwordCreds = ServiceCredentials{Type: AuthPassword, Username: "oslorego", UserDomainName: "Default", Password: svcPassword,
		ProjectName: "service", ProjectDomainName: "Default"}
	appCredCreds = ServiceCredentials{Type: AuthApplicationCredential, ApplicationCredentialID: "ac1", ApplicationCredentialSecret: svcACSecret}
)

func newCredKeystone(t *testing.T, fi *fakeIdentity, creds ServiceCredentials, log *slog.Logger) *Keystone {
	t.Helper()
	k, err := NewKeystone(KeystoneOptions{URL: fi.srv.URL + "/identity", Credentials: &creds, Now: fi.clock.Now, Log: log, CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// eventually waits (in real time) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The service token is obtained on first use, kept until 80% of its life,
// then renewed in the background while the old one still serves, and on
// expiry fetched before the request goes on.
func TestServiceTokenRenewal(t *testing.T) {
	for _, creds := range []ServiceCredentials{passwordCreds, appCredCreds} {
		t.Run(creds.Type, func(t *testing.T) {
			start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			c := &clock{t: start}
			fi := newFakeIdentity(t, c, 100*time.Second)
			k := newCredKeystone(t, fi, creds, nil)
			auth := func(at time.Duration) {
				t.Helper()
				c.Set(start.Add(at))
				id, err := k.Authenticate(context.Background(), request(aliceToken))
				if err != nil || id.UserID != "alice" {
					t.Fatalf("at +%v: %+v, %v", at, id, err)
				}
			}
			auth(0)
			if n := fi.posts.Load(); n != 1 {
				t.Fatalf("%d authentications, want 1", n)
			}
			auth(10 * time.Second) // past the 1s cache: validated again
			auth(78 * time.Second)
			if n, g := fi.posts.Load(), fi.gets.Load(); n != 1 || g != 3 {
				t.Fatalf("before 80%%: %d authentications, %d validations; want 1, 3", n, g)
			}
			// Past 80% of the (99s, a second for keystone's rounding)
			// life: the old token serves this request, a new one comes.
			auth(80 * time.Second)
			if fi.lastSvc != "svc-token-1" {
				t.Errorf("validated with %s, want the old token while renewing", fi.lastSvc)
			}
			eventually(t, "renewal", func() bool {
				k.svc.mu.Lock()
				defer k.svc.mu.Unlock()
				return k.svc.obtainedCount == 2
			})
			auth(82 * time.Second)
			if fi.lastSvc != "svc-token-2" {
				t.Errorf("validated with %s after renewal, want svc-token-2", fi.lastSvc)
			}
			// Idle past the new token's expiry: a request waits for a third.
			auth(300 * time.Second)
			if n := fi.posts.Load(); n != 3 || fi.lastSvc != "svc-token-3" {
				t.Errorf("after expiry: %d authentications, used %s; want 3, svc-token-3", n, fi.lastSvc)
			}
			// The validations declared that we enforce access rules.
			for _, h := range fi.accessHdr {
				if h != "1" {
					t.Fatalf("OpenStack-Identity-Access-Rules %q, want 1", h)
				}
			}
		})
	}
}

// A 401 from Keystone to our service token (revoked, or expired earlier
// than we thought) makes one new authentication and one retry; a burst of
// requests that all see it shares that one authentication.
func TestServiceTokenReauthOn401(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	fi := newFakeIdentity(t, c, time.Hour)
	var logs lockedWriter
	k := newCredKeystone(t, fi, passwordCreds, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, err := k.Authenticate(context.Background(), request(aliceToken)); err != nil {
		t.Fatal(err)
	}
	c.Set(start.Add(10 * time.Second))
	fi.set(func(fi *fakeIdentity) { fi.revoked["svc-token-1"] = true; fi.authDelay = 100 * time.Millisecond })
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Distinct uncached tokens: each asks Keystone.
			_, errs[i] = k.Authenticate(context.Background(), request(fmt.Sprintf("user-%d", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d after the service token was revoked: %v", i, err)
		}
	}
	if p := fi.posts.Load(); p != 2 {
		t.Fatalf("%d authentications for a burst of %d refused validations, want 2 (one re-authentication)", p, n)
	}
	if fi.lastSvc != "svc-token-2" {
		t.Errorf("validating with %s, want svc-token-2", fi.lastSvc)
	}
	if ready, detail := k.Status(); !ready {
		t.Errorf("not ready after re-authenticating: %s", detail)
	}
	for _, s := range svcSecrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("a secret reached the log: %s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "authenticating again") {
		t.Errorf("the re-authentication is not logged:\n%s", logs.String())
	}
}

// Keystone keeps refusing (401) even a new token, or forbids (403) our
// identity to validate: 503 with one re-authentication at most per
// request, and /readyz not ready until it accepts one again.
func TestServiceTokenRefused(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		set       func(fi *fakeIdentity)
		wantPosts int64
	}{
		{"401 to every token", func(fi *fakeIdentity) { fi.refuseAll = true }, 2},
		{"403", func(fi *fakeIdentity) { fi.forbid = true }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: start}
			fi := newFakeIdentity(t, c, time.Hour)
			k := newCredKeystone(t, fi, passwordCreds, nil)
			if _, err := k.Authenticate(context.Background(), request(aliceToken)); err != nil {
				t.Fatal(err)
			}
			c.Set(start.Add(10 * time.Second))
			fi.set(tc.set)
			_, err := k.Authenticate(context.Background(), request(aliceToken))
			assertNoSecret(t, err, svcSecrets...)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%v, want ErrUnavailable (503)", err)
			}
			if p := fi.posts.Load(); p != tc.wantPosts {
				t.Errorf("%d authentications, want %d", p, tc.wantPosts)
			}
			// The new token is fresh: a second refusal does not make a
			// third authentication.
			c.Set(start.Add(10*time.Second + 500*time.Millisecond))
			if _, err := k.Authenticate(context.Background(), request("another-token")); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%v, want ErrUnavailable", err)
			}
			if p := fi.posts.Load(); p != tc.wantPosts {
				t.Errorf("%d authentications after a second refusal, want %d", p, tc.wantPosts)
			}
			ready, detail := k.Status()
			if ready || !strings.Contains(detail, "refuses the service token") {
				t.Errorf("Status %v %q, want not ready, refused", ready, detail)
			}
			fi.set(func(fi *fakeIdentity) { fi.refuseAll, fi.forbid = false, false })
			c.Set(start.Add(20 * time.Second))
			if _, err := k.Authenticate(context.Background(), request(aliceToken)); err != nil {
				t.Fatalf("after Keystone accepts us again: %v", err)
			}
			if ready, detail := k.Status(); !ready {
				t.Errorf("still not ready: %s", detail)
			}
		})
	}
}

// Wrong credentials or Keystone down: 503, the reason without a secret,
// one attempt per backoff interval however many requests come, and
// /readyz not ready.
func TestServiceAuthFails(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	fi := newFakeIdentity(t, c, time.Hour)
	bad := passwordCreds
	bad.Password = "wrong-" + svcPassword
	var logs lockedWriter
	k := newCredKeystone(t, fi, bad, slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 5 {
		_, err := k.Authenticate(context.Background(), request(fmt.Sprintf("user-%d", i)))
		assertNoSecret(t, err, append(svcSecrets, bad.Password)...)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "refused the service credentials: HTTP 401") {
			t.Fatalf("%v, want ErrUnavailable with the 401", err)
		}
	}
	if p := fi.posts.Load(); p != 1 {
		t.Errorf("%d authentications within the backoff, want 1", p)
	}
	if g := fi.gets.Load(); g != 0 {
		t.Errorf("%d validations without a service token, want 0", g)
	}
	ready, detail := k.Status()
	if ready || !strings.Contains(detail, "HTTP 401") || !strings.Contains(detail, `user "oslorego"`) || strings.Contains(detail, bad.Password) {
		t.Errorf("Status %v %q, want not ready with the user, the reason and no secret", ready, detail)
	}
	c.Set(start.Add(retryBackoff))
	if _, err := k.Authenticate(context.Background(), request("user-x")); !errors.Is(err, ErrUnavailable) {
		t.Fatal(err)
	}
	if p := fi.posts.Load(); p < 2 {
		t.Errorf("%d authentications after the backoff, want a new attempt", p)
	}
	if strings.Count(logs.String(), "authentication failed") != 1 {
		t.Errorf("a repeated failure is logged again:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), bad.Password) {
		t.Error("the password reached the log")
	}

	fi.srv.Close()
	k2 := newCredKeystone(t, fi, passwordCreds, nil)
	if _, err := k2.Authenticate(context.Background(), request(aliceToken)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("keystone down: %v, want ErrUnavailable", err)
	}
	if err := k2.Check(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check with keystone down: %v", err)
	}
}

// A static token cannot be renewed: a 401 is 503 at once, no
// authentication is tried, and /readyz says why.
func TestStaticServiceToken(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	fi := newFakeIdentity(t, c, time.Hour)
	fi.set(func(fi *fakeIdentity) { fi.issued["static-svc"] = start.Add(time.Minute) })
	k, err := NewKeystone(KeystoneOptions{URL: fi.srv.URL + "/identity", ServiceToken: "static-svc", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ready, detail := k.Status(); !ready || !strings.Contains(detail, "expires at 2026-06-01T10:01:00Z") {
		t.Errorf("Status %v %q", ready, detail)
	}
	c.Set(start.Add(2 * time.Minute))
	if _, err := k.Authenticate(context.Background(), request(aliceToken)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("expired static token: %v, want ErrUnavailable", err)
	}
	if p := fi.posts.Load(); p != 0 {
		t.Errorf("%d authentications with a static token", p)
	}
	if ready, detail := k.Status(); ready || !strings.Contains(detail, "refuses") {
		t.Errorf("Status %v %q, want not ready", ready, detail)
	}
	// A static token Keystone does not know fails the start-up check.
	k2, _ := NewKeystone(KeystoneOptions{URL: fi.srv.URL + "/identity", ServiceToken: "svc-token-unknown", Now: c.Now})
	if err := k2.Check(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check with an unknown static token: %v", err)
	}
}

// Check authenticates and validates our own token: a wrong password is
// reported at start.
func TestKeystoneCheck(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	fi := newFakeIdentity(t, c, time.Hour)
	k := newCredKeystone(t, fi, passwordCreds, nil)
	if ready, _ := k.Status(); ready {
		t.Error("ready before any token")
	}
	if err := k.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, g := fi.posts.Load(), fi.gets.Load(); p != 1 || g != 1 {
		t.Errorf("Check made %d authentications and %d validations, want 1 and 1", p, g)
	}
	if ready, detail := k.Status(); !ready {
		t.Errorf("not ready after Check: %s", detail)
	}
	bad := passwordCreds
	bad.Password = "nope-nope"
	err := newCredKeystone(t, fi, bad, nil).Check(context.Background())
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "nope-nope") {
		t.Fatalf("Check with a wrong password: %v", err)
	}
}

// Access rules of application credentials are enforced as
// keystonemiddleware does: only a request a rule allows (method, whole
// path, service type image) gets the identity; on a cache hit too.
func TestKeystoneAccessRules(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	fi := newFakeIdentity(t, c, time.Hour)
	var logs lockedWriter
	k := newCredKeystone(t, fi, passwordCreds, slog.New(slog.NewTextHandler(&logs, nil)))
	for _, tc := range []struct {
		token, method, path string
		ok                  bool
	}{
		{restrictedToken, "GET", "/v2/images/0c7b4c0e-0000-4000-8000-000000000001/file", true},
		{restrictedToken, "GET", "/v2/images/0c7b4c0e-0000-4000-8000-000000000001/file", true}, // cached
		{restrictedToken, "HEAD", "/v2/images/0c7b4c0e-0000-4000-8000-000000000001/file", false},
		{restrictedToken, "GET", "/v2/images/0c7b4c0e-0000-4000-8000-000000000001", false},
		{restrictedToken, "HEAD", "/v2/images/0c7b4c0e-0000-4000-8000-000000000001", true},
		{restrictedToken, "GET", "/v2/images", false}, // the compute rule
		{restrictedToken, "GET", "/v2/images/a/b/file", false},
		{restrictedToken, "GET", "/v2/images//file", false},
		{emptyRulesToken, "GET", "/v2/images/x/file", false},
		{nullRulesToken, "GET", "/v2/images/x/file", true},
		{aliceToken, "DELETE", "/anything", true},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("X-Auth-Token", tc.token)
		id, err := k.Authenticate(context.Background(), r)
		assertNoSecret(t, err, svcSecrets...)
		if tc.ok && (err != nil || id.UserID != "alice") {
			t.Errorf("%s %s %s: %+v, %v; want allowed", tc.token, tc.method, tc.path, id, err)
		}
		if !tc.ok && (!errors.Is(err, ErrUnauthenticated) || id != nil || !strings.Contains(err.Error(), "access rule")) {
			t.Errorf("%s %s %s: %+v, %v; want 401 for the access rules", tc.token, tc.method, tc.path, id, err)
		}
	}
	if !strings.Contains(logs.String(), "no access rule allows GET /v2/images/0c7b4c0e-0000-4000-8000-000000000001 for service type image") {
		t.Errorf("the refusal's reason is not logged:\n%s", logs.String())
	}
	if g := fi.gets.Load(); g != 4 {
		t.Errorf("%d validations, want 4 (one per token)", g)
	}
}

func TestServiceCredentialsValidate(t *testing.T) {
	pw := func(f func(c *ServiceCredentials)) ServiceCredentials { c := passwordCreds; f(&c); return c }
	ac := func(f func(c *ServiceCredentials)) ServiceCredentials { c := appCredCreds; f(&c); return c }
	tests := []struct {
		name string
		c    ServiceCredentials
		want string // "" for valid
	}{
		{"password", passwordCreds, ""},
		{"user id, project id", pw(func(c *ServiceCredentials) {
			c.Username, c.UserDomainName, c.UserID, c.ProjectName, c.ProjectDomainName, c.ProjectID = "", "", "u1", "", "", "p1"
		}), ""},
		{"system scope", pw(func(c *ServiceCredentials) { c.ProjectName, c.SystemScope = "", "all" }), ""},
		{"unscoped", pw(func(c *ServiceCredentials) { c.ProjectName = "" }), ""},
		{"app cred", appCredCreds, ""},
		{"app cred by name", ac(func(c *ServiceCredentials) {
			c.ApplicationCredentialID, c.ApplicationCredentialName, c.Username, c.UserDomainID = "", "svc", "oslorego", "default"
		}), ""},
		{"no type", pw(func(c *ServiceCredentials) { c.Type = "" }), "no authentication type"},
		{"token type", pw(func(c *ServiceCredentials) { c.Type = "token" }), "want password or v3applicationcredential"},
		{"no user", pw(func(c *ServiceCredentials) { c.Username = "" }), "needs a user"},
		{"no user domain", pw(func(c *ServiceCredentials) { c.UserDomainName = "" }), "needs its domain"},
		{"no password", pw(func(c *ServiceCredentials) { c.Password = "" }), "needs a password"},
		{"no project domain", pw(func(c *ServiceCredentials) { c.ProjectDomainName = "" }), "project \"service\" needs its domain"},
		{"two scopes", pw(func(c *ServiceCredentials) { c.SystemScope = "all" }), "one scope"},
		{"system scope other", pw(func(c *ServiceCredentials) { c.ProjectName, c.SystemScope = "", "some" }), "only \"all\""},
		{"password and app cred", pw(func(c *ServiceCredentials) { c.ApplicationCredentialID = "x" }), "takes no application credential"},
		{"secret with newline", pw(func(c *ServiceCredentials) { c.Password += "\nmore" }), "control characters"},
		{"app cred no id", ac(func(c *ServiceCredentials) { c.ApplicationCredentialID = "" }), "needs the credential's id"},
		{"app cred name no user", ac(func(c *ServiceCredentials) { c.ApplicationCredentialID, c.ApplicationCredentialName = "", "n" }), "needs its user"},
		{"app cred no secret", ac(func(c *ServiceCredentials) { c.ApplicationCredentialSecret = "" }), "needs the credential's secret"},
		{"app cred scoped", ac(func(c *ServiceCredentials) { c.ProjectName = "service" }), "cannot|credential's scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), strings.Split(tc.want, "|")[len(strings.Split(tc.want, "|"))-1]) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), svcPassword) || strings.Contains(err.Error(), svcACSecret)) {
				t.Fatalf("error leaks the secret: %v", err)
			}
			// Printed any way, the credentials never show their secrets.
			var logs bytes.Buffer
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "creds", tc.c)
			//lint:ignore S1025 every verb is the point: %s must not show a secret either
			for _, s := range []string{fmt.Sprint(tc.c), fmt.Sprintf("%+v", tc.c), fmt.Sprintf("%#v", tc.c), fmt.Sprintf("%s", tc.c), logs.String()} {
				if strings.Contains(s, svcPassword) || strings.Contains(s, svcACSecret) {
					t.Fatalf("printed credentials show a secret: %s", s)
				}
			}
		})
	}
}

// The authentication requests, as keystoneauth sends them.
func TestServiceCredentialsAuthRequest(t *testing.T) {
	tests := []struct {
		name string
		c    ServiceCredentials
		want string
	}{
		{"password, names", passwordCreds,
			`{"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"name":"Default"},"name":"oslorego","password":"pa55-w0rd-of-the-service"}}},"scope":{"project":{"domain":{"name":"Default"},"name":"service"}}}}`},
		{"password, ids", ServiceCredentials{Type: AuthPassword, UserID: "u1", Password: "p", ProjectID: "p1", UserDomainName: "ignored with an id"},
			`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"u1","password":"p"}}},"scope":{"project":{"id":"p1"}}}}`},
		{"password, domain ids, domain scope", ServiceCredentials{Type: AuthPassword, Username: "svc", UserDomainID: "d0", Password: "p", DomainID: "d1"},
			`{"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"id":"d0"},"name":"svc","password":"p"}}},"scope":{"domain":{"id":"d1"}}}}`},
		{"password, system", ServiceCredentials{Type: AuthPassword, UserID: "u1", Password: "p", SystemScope: "all"},
			`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"u1","password":"p"}}},"scope":{"system":{"all":true}}}}`},
		{"password, unscoped", ServiceCredentials{Type: AuthPassword, UserID: "u1", Password: "p"},
			`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"u1","password":"p"}}}}}`},
		{"app cred id", appCredCreds,
			`{"auth":{"identity":{"application_credential":{"id":"ac1","secret":"app-cred-secret-0123456789"},"methods":["application_credential"]}}}`},
		{"app cred name", ServiceCredentials{Type: AuthApplicationCredential, ApplicationCredentialName: "n", Username: "svc", UserDomainName: "Default", ApplicationCredentialSecret: "s"},
			`{"auth":{"identity":{"application_credential":{"name":"n","secret":"s","user":{"domain":{"name":"Default"},"name":"svc"}},"methods":["application_credential"]}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.authRequest()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestNewKeystoneCredentials(t *testing.T) {
	bad := passwordCreds
	bad.Password = ""
	for _, tc := range []struct {
		name string
		o    KeystoneOptions
	}{
		{"both", KeystoneOptions{URL: "http://k", ServiceToken: "t", Credentials: &passwordCreds}},
		{"invalid credentials", KeystoneOptions{URL: "http://k", Credentials: &bad}},
		{"client and CA file", KeystoneOptions{URL: "http://k", Credentials: &passwordCreds, Client: http.DefaultClient, CAFile: "x.pem"}},
		{"missing CA file", KeystoneOptions{URL: "http://k", Credentials: &passwordCreds, CAFile: "/nonexistent/ca.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKeystone(tc.o); err == nil {
				t.Fatal("no error")
			} else if strings.Contains(err.Error(), svcPassword) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// lockedWriter is a goroutine-safe log sink.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		l.w = &bytes.Buffer{}
	}
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return ""
	}
	return l.w.String()
}
