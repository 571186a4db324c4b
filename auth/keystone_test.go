package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	serviceToken = "svc-secret-token-0123456789"
	// The fake Keystone's tokens; each one's body is in fakeTokens.
	projectToken = "gAAAAA-project-scoped-token-abcdef"
	domainToken  = "gAAAAA-domain-scoped-token-abcdef"
	systemToken  = "gAAAAA-system-scoped-token-abcdef"
	expiredToken = "gAAAAA-already-expired-token-abcdef"
	invalidToken = "gAAAAA-unknown-token-abcdef"
)

var allSecrets = []string{serviceToken, projectToken, domainToken, systemToken, expiredToken, invalidToken}

// fakeKeystone stands in for Keystone's GET /v3/auth/tokens.
type fakeKeystone struct {
	srv     *httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	expires time.Time     // expires_at of the valid tokens
	status  int           // forced status, 0 for normal behaviour
	delay   time.Duration // before answering
	badPath bool          // a request arrived elsewhere or lacked headers
}

func newFakeKeystone(t *testing.T, expires time.Time) *fakeKeystone {
	t.Helper()
	fk := &fakeKeystone{expires: expires}
	fk.srv = httptest.NewServer(http.HandlerFunc(fk.serve))
	t.Cleanup(fk.srv.Close)
	return fk
}

func (fk *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	fk.calls.Add(1)
	fk.mu.Lock()
	status, delay, expires := fk.status, fk.delay, fk.expires
	if r.Method != http.MethodGet || r.URL.Path != "/identity/v3/auth/tokens" || r.Header.Get("X-Auth-Token") != serviceToken {
		fk.badPath = true
	}
	fk.mu.Unlock()
	time.Sleep(delay)
	if status != 0 {
		http.Error(w, `{"error": {"code": 401, "message": "The request you have made requires authentication."}}`, status)
		return
	}
	exp := expires.UTC().Format("2006-01-02T15:04:05.000000Z")
	var body string
	switch r.Header.Get("X-Subject-Token") {
	case projectToken:
		body = `{"token": {"expires_at": "` + exp + `", "methods": ["password"],
			"user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
			"project": {"id": "p1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
			"roles": [{"id": "r1", "name": "Member"}, {"id": "r2", "name": "reader"}, {"id": "r3", "name": "member"}],
			"is_admin_project": false}}`
	case domainToken:
		body = `{"token": {"expires_at": "` + exp + `",
			"user": {"id": "u2", "domain": {"id": "d2"}},
			"domain": {"id": "d2", "name": "dom"},
			"roles": [{"id": "r0", "name": "Admin"}]}}`
	case systemToken:
		body = `{"token": {"expires_at": "` + exp + `",
			"user": {"id": "u3", "domain": {"id": "default"}},
			"system": {"all": true},
			"roles": [{"id": "r0", "name": "admin"}]}}`
	case expiredToken:
		body = `{"token": {"expires_at": "2000-01-01T00:00:00.000000Z", "user": {"id": "u4", "domain": {"id": "default"}}, "roles": []}}`
	default:
		http.Error(w, `{"error": {"code": 404, "message": "Could not find token."}}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

func (fk *fakeKeystone) set(f func(fk *fakeKeystone)) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	f(fk)
}

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func newTestKeystone(t *testing.T, fk *fakeKeystone, c *clock) *Keystone {
	t.Helper()
	k, err := NewKeystone(KeystoneOptions{URL: fk.srv.URL + "/identity", ServiceToken: serviceToken, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeystoneValidate(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	fk := newFakeKeystone(t, start.Add(time.Hour))
	k := newTestKeystone(t, fk, &clock{t: start})
	tests := []struct {
		name  string
		token string
		want  *Identity
		err   error
	}{
		{"project scoped", projectToken, &Identity{UserID: "u1", UserDomainID: "default", ProjectID: "p1", ProjectDomainID: "default", Roles: []string{"Member", "reader", "member"}, IsAdminProject: false}, nil},
		{"domain scoped", domainToken, &Identity{UserID: "u2", UserDomainID: "d2", DomainID: "d2", Roles: []string{"Admin"}, IsAdminProject: true}, nil},
		{"system scoped", systemToken, &Identity{UserID: "u3", UserDomainID: "default", SystemScope: "all", Roles: []string{"admin"}, IsAdminProject: true}, nil},
		{"invalid (404)", invalidToken, nil, ErrUnauthenticated},
		{"expired per expires_at", expiredToken, nil, ErrUnauthenticated},
		{"no token", "", nil, ErrUnauthenticated},
		{"control characters", "abc\ndef", nil, ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Authenticate(context.Background(), request(tc.token))
			assertNoSecret(t, err, allSecrets...)
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
				t.Fatalf("identity %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if fk.badPath {
		t.Error("keystone got a request on the wrong path or without the service token")
	}
}

func TestKeystoneUnavailable(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
	}{
		{"service token refused (401)", http.StatusUnauthorized},
		{"service token forbidden (403)", http.StatusForbidden},
		{"server error", http.StatusInternalServerError},
		{"unavailable", http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fk := newFakeKeystone(t, start.Add(time.Hour))
			fk.set(func(fk *fakeKeystone) { fk.status = tc.status })
			k := newTestKeystone(t, fk, &clock{t: start})
			for i := range 2 {
				_, err := k.Authenticate(context.Background(), request(projectToken))
				assertNoSecret(t, err, allSecrets...)
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("call %d: %v, want ErrUnavailable", i, err)
				}
			}
			// Failures are not cached: each request asks again.
			if n := fk.calls.Load(); n != 2 {
				t.Errorf("%d keystone calls, want 2", n)
			}
			// Once Keystone recovers, the token works.
			fk.set(func(fk *fakeKeystone) { fk.status = 0 })
			if _, err := k.Authenticate(context.Background(), request(projectToken)); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}

	t.Run("keystone down", func(t *testing.T) {
		fk := newFakeKeystone(t, start.Add(time.Hour))
		k := newTestKeystone(t, fk, &clock{t: start})
		fk.srv.Close()
		_, err := k.Authenticate(context.Background(), request(projectToken))
		assertNoSecret(t, err, allSecrets...)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("closed server: %v, want ErrUnavailable", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		fk := newFakeKeystone(t, start.Add(time.Hour))
		fk.set(func(fk *fakeKeystone) { fk.delay = 500 * time.Millisecond })
		k, err := NewKeystone(KeystoneOptions{URL: fk.srv.URL + "/identity", ServiceToken: serviceToken, Client: &http.Client{Timeout: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Authenticate(context.Background(), request(projectToken))
		assertNoSecret(t, err, allSecrets...)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("slow keystone: %v, want ErrUnavailable", err)
		}
	})

	t.Run("caller gives up", func(t *testing.T) {
		fk := newFakeKeystone(t, start.Add(time.Hour))
		fk.set(func(fk *fakeKeystone) { fk.delay = 300 * time.Millisecond })
		k := newTestKeystone(t, fk, &clock{t: start})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := k.Authenticate(ctx, request(projectToken))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled caller: %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
}

func TestKeystoneCache(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	expires := start.Add(3 * time.Minute) // sooner than the 5m cache time
	fk := newFakeKeystone(t, expires)
	c := &clock{t: start}
	k := newTestKeystone(t, fk, c)
	auth := func(token string) error {
		id, err := k.Authenticate(context.Background(), request(token))
		assertNoSecret(t, err, allSecrets...)
		if err == nil {
			id.Roles[0] = "tampered" // must not reach the cache
		}
		return err
	}
	steps := []struct {
		name  string
		at    time.Time
		token string
		err   error
		calls int64 // keystone calls so far
	}{
		{"first use asks keystone", start, projectToken, nil, 1},
		{"second use is a cache hit", start.Add(time.Minute), projectToken, nil, 1},
		{"just before expires_at, still cached", expires.Add(-time.Second), projectToken, nil, 1},
		{"at expires_at: refused without asking", expires, projectToken, ErrUnauthenticated, 1},
		{"after expires_at: still refused without asking", expires.Add(5 * time.Second), projectToken, ErrUnauthenticated, 1},
		{"invalid token asks keystone", start, invalidToken, ErrUnauthenticated, 2},
		{"negative cache", start.Add(5 * time.Second), invalidToken, ErrUnauthenticated, 2},
		{"negative entry expired: asks again", start.Add(11 * time.Second), invalidToken, ErrUnauthenticated, 3},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.Set(s.at)
			err := auth(s.token)
			if s.err == nil && err != nil || s.err != nil && !errors.Is(err, s.err) {
				t.Fatalf("got %v, want %v", err, s.err)
			}
			if n := fk.calls.Load(); n != s.calls {
				t.Fatalf("%d keystone calls, want %d", n, s.calls)
			}
		})
	}
	// Roles handed out are copies.
	c.Set(start)
	fk.set(func(fk *fakeKeystone) { fk.expires = start.Add(time.Hour) })
	k2 := newTestKeystone(t, fk, c)
	for range 2 {
		id, err := k2.Authenticate(context.Background(), request(domainToken))
		if err != nil || id.Roles[0] != "Admin" {
			t.Fatalf("cached identity was changed by a caller: %+v, %v", id, err)
		}
		id.Roles[0] = "tampered"
	}
}

func TestKeystoneCacheTTL(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	fk := newFakeKeystone(t, start.Add(24*time.Hour))
	c := &clock{t: start}
	k, err := NewKeystone(KeystoneOptions{URL: fk.srv.URL + "/identity/v3/", ServiceToken: serviceToken, Now: c.Now, CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{start, start.Add(59 * time.Second), start.Add(61 * time.Second)} {
		c.Set(at)
		if _, err := k.Authenticate(context.Background(), request(projectToken)); err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if i == 2 {
			want = 2 // revalidated after CacheTTL so revocations take effect
		}
		if n := fk.calls.Load(); n != want {
			t.Fatalf("at +%v: %d calls, want %d", at.Sub(start), n, want)
		}
	}
}

func TestKeystoneCacheBounded(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	fk := newFakeKeystone(t, start.Add(time.Hour))
	k, err := NewKeystone(KeystoneOptions{URL: fk.srv.URL + "/identity", ServiceToken: serviceToken, Now: func() time.Time { return start }, MaxCache: 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := k.Authenticate(context.Background(), request(fmt.Sprintf("unknown-%d", i))); !errors.Is(err, ErrUnauthenticated) {
			t.Fatal(err)
		}
		k.mu.Lock()
		n := len(k.cache)
		k.mu.Unlock()
		if n > 20 {
			t.Fatalf("cache holds %d entries, bound 20", n)
		}
	}
	// The cache is keyed by hashes, never by the tokens.
	k.mu.Lock()
	defer k.mu.Unlock()
	for key := range k.cache {
		if strings.Contains(string(key[:]), "unknown-") {
			t.Fatal("cache key holds the token")
		}
	}
}

func TestKeystoneSingleflight(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	fk := newFakeKeystone(t, start.Add(time.Hour))
	fk.set(func(fk *fakeKeystone) { fk.delay = 200 * time.Millisecond })
	k := newTestKeystone(t, fk, &clock{t: start})
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]*Identity, n)
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = k.Authenticate(context.Background(), request(projectToken))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i].UserID != "u1" {
			t.Fatalf("request %d: %+v, %v", i, ids[i], errs[i])
		}
	}
	if c := fk.calls.Load(); c != 1 {
		t.Fatalf("%d keystone calls for %d concurrent requests, want 1", c, n)
	}
	// Distinct identities: nobody shares a mutable Roles slice.
	ids[0].Roles[0] = "tampered"
	if ids[1].Roles[0] != "Member" {
		t.Fatal("concurrent callers share one Roles slice")
	}
}

func TestNewKeystoneOptions(t *testing.T) {
	tests := []struct {
		name     string
		o        KeystoneOptions
		endpoint string // "" for an error
	}{
		{"host only", KeystoneOptions{URL: "http://keystone:5000", ServiceToken: "svc-XYZ"}, "http://keystone:5000/v3/auth/tokens?nocatalog"},
		{"trailing slash", KeystoneOptions{URL: "https://cloud/identity/", ServiceToken: "svc-XYZ"}, "https://cloud/identity/v3/auth/tokens?nocatalog"},
		{"v3 given", KeystoneOptions{URL: "https://cloud/identity/v3", ServiceToken: "svc-XYZ"}, "https://cloud/identity/v3/auth/tokens?nocatalog"},
		{"no service token", KeystoneOptions{URL: "http://keystone:5000"}, ""},
		{"no scheme", KeystoneOptions{URL: "keystone:5000", ServiceToken: "svc-XYZ"}, ""},
		{"ftp", KeystoneOptions{URL: "ftp://keystone", ServiceToken: "svc-XYZ"}, ""},
		{"credentials in URL", KeystoneOptions{URL: "http://admin:pw@keystone", ServiceToken: "svc-XYZ"}, ""},
		{"bad service token", KeystoneOptions{URL: "http://keystone", ServiceToken: "a\r\nb"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := NewKeystone(tc.o)
			if tc.endpoint == "" {
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), "pw") || (tc.o.ServiceToken != "" && strings.Contains(err.Error(), tc.o.ServiceToken)) {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.endpoint != tc.endpoint {
				t.Fatalf("endpoint %q, want %q", k.endpoint, tc.endpoint)
			}
		})
	}
}

// The authenticators satisfy the interface.
var (
	_ Authenticator = (*TokenFile)(nil)
	_ Authenticator = (*Keystone)(nil)
	_ Authenticator = (*Headers)(nil)
)

// A Keystone answer is read with exact field names: a key that differs only
// in case (which encoding/json would take as the field, the last one
// winning) or data after the body makes the answer malformed, so the token
// is refused as unavailable. Unknown fields stay allowed.
func TestKeystoneExactFieldNames(t *testing.T) {
	const exp = "2026-06-01T11:00:00.000000Z"
	const head = `{"token": {"expires_at": "` + exp + `", "user": {"id": "u1", "domain": {"id": "default"}}, `
	tests := []struct {
		name string
		body string
		want *Identity // nil: refused as unavailable
	}{
		{"unknown fields allowed", head + `"project": {"id": "p1", "domain": {"id": "default"}, "name": "demo"}, "methods": ["password"], "audit_ids": ["x"], "roles": [{"id": "r", "name": "reader", "domain_id": null}], "is_admin_project": false}, "extra": 1}`,
			&Identity{UserID: "u1", UserDomainID: "default", ProjectID: "p1", ProjectDomainID: "default", Roles: []string{"reader"}}},
		{"Roles after roles", head + `"roles": [{"id": "r", "name": "reader"}], "Roles": [{"id": "a", "name": "admin"}]}}`, nil},
		{"ROLES", head + `"ROLES": [{"id": "a", "name": "admin"}]}}`, nil},
		{"unicode-folded roles", head + `"roleſ": [{"id": "a", "name": "admin"}]}}`, nil},
		{"role NAME", head + `"roles": [{"id": "a", "NAME": "admin"}]}}`, nil},
		{"IS_ADMIN_PROJECT", head + `"roles": [], "is_admin_project": false, "IS_ADMIN_PROJECT": true}}`, nil},
		{"System", head + `"roles": [], "System": {"all": true}}}`, nil},
		{"Token", `{"Token": {"expires_at": "` + exp + `", "user": {"id": "u1"}, "roles": []}}`, nil},
		{"roles twice", head + `"roles": [], "roles": [{"id": "a", "name": "admin"}]}}`, nil},
		{"trailing data", head + `"roles": []}} {"token": {}}`, nil},
		{"trailing text", head + `"roles": []}} x`, nil},
	}
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			k, err := NewKeystone(KeystoneOptions{URL: srv.URL, ServiceToken: serviceToken, Now: (&clock{t: start}).Now})
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Authenticate(context.Background(), request(projectToken))
			if tc.want == nil {
				if !errors.Is(err, ErrUnavailable) || got != nil {
					t.Fatalf("got %+v, %v; want ErrUnavailable", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// NegativeTTL bounds how long a refused token is refused from memory.
func TestKeystoneNegativeTTL(t *testing.T) {
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	fk := newFakeKeystone(t, start.Add(time.Hour))
	c := &clock{t: start}
	k, err := NewKeystone(KeystoneOptions{URL: fk.srv.URL + "/identity", ServiceToken: serviceToken, Now: c.Now, NegativeTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		at    time.Duration
		calls int64
	}{{0, 1}, {59 * time.Second, 1}, {61 * time.Second, 2}} {
		c.Set(start.Add(s.at))
		if _, err := k.Authenticate(context.Background(), request(invalidToken)); !errors.Is(err, ErrUnauthenticated) {
			t.Fatal(err)
		}
		if n := fk.calls.Load(); n != s.calls {
			t.Fatalf("at +%v: %d calls, want %d", s.at, n, s.calls)
		}
	}
}
