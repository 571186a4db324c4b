package server_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// Each --auth mode over real HTTP: token, keystone (a stand-in Keystone)
// and headers (trusted only from the given proxies).
func TestAuthModes(t *testing.T) {
	restricted := imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private, Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}}

	t.Run("headers", func(t *testing.T) {
		ids := func(roles string) map[string]string {
			return map[string]string{"X-Identity-Status": "Confirmed", "X-Roles": roles, "X-Project-Id": p1, "X-User-Id": "u1"}
		}
		trusted := newHarness(t, glancePolicy(t), func(string) auth.Authenticator {
			return auth.NewHeaders([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
		})
		img := trusted.image(digits, restricted)
		for _, c := range []struct {
			hdr    map[string]string
			status int
		}{
			{ids("Member,reader"), 403}, // roles are lower-cased
			{ids("admin"), 200},
			{ids("reader"), 403}, // download_image needs member
			{ids("member"), 403}, // the restricted code
			{with(ids("member"), "X-Identity-Status", "Invalid"), 401},
			{with(ids("member"), "X-Identity-Status", "confirmed"), 401},
			{nil, 401},
		} {
			if r := trusted.do("GET", "/v2/images/"+img.ID+"/file", c.hdr); r.Status != c.status {
				t.Errorf("%v: %d, want %d", c.hdr, r.Status, c.status)
			}
		}
		untrusted := newHarness(t, glancePolicy(t), func(string) auth.Authenticator {
			return auth.NewHeaders([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
		})
		img = untrusted.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Public})
		if r := untrusted.do("GET", "/v2/images/"+img.ID+"/file", ids("admin")); r.Status != 401 {
			t.Errorf("identity headers from an untrusted address: %d, want 401", r.Status)
		}
	})

	t.Run("keystone", func(t *testing.T) {
		var calls atomic.Int32
		expires := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
		ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.URL.Path != "/v3/auth/tokens" || r.Header.Get("X-Auth-Token") != "service-secret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			roles := map[string]string{"user-member": "member", "user-admin": "admin"}[r.Header.Get("X-Subject-Token")]
			if roles == "" {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
				"expires_at": expires,
				"user":       map[string]any{"id": "u1", "domain": map[string]any{"id": "default"}},
				"project":    map[string]any{"id": p1, "domain": map[string]any{"id": "default"}},
				"roles":      []any{map[string]any{"id": "r1", "name": roles}},
			}})
		}))
		defer ks.Close()
		h := newHarness(t, glancePolicy(t), func(string) auth.Authenticator {
			k, err := auth.NewKeystone(auth.KeystoneOptions{URL: ks.URL, ServiceToken: "service-secret"})
			if err != nil {
				t.Fatal(err)
			}
			return k
		})
		img := h.image(digits, restricted)
		path := "/v2/images/" + img.ID + "/file"
		for _, c := range []struct {
			token  string
			status int
		}{{"user-member", 403}, {"user-member", 403}, {"user-admin", 200}, {"bogus", 401}} {
			if r := h.do("GET", path, tok(c.token)); r.Status != c.status {
				t.Errorf("%s: %d, want %d", c.token, r.Status, c.status)
			}
		}
		if n := calls.Load(); n != 3 {
			t.Errorf("keystone called %d times, want 3 (the repeated token is cached)", n)
		}
		for _, secret := range []string{"user-member", "user-admin", "service-secret"} {
			if strings.Contains(h.decisions.String(), secret) || strings.Contains(h.logs.String(), secret) {
				t.Errorf("a token (%s) reached the logs", secret)
			}
		}
		ks.Close()
		if r := h.do("GET", path, tok("new-token")); r.Status != 503 {
			t.Errorf("keystone down: %d, want 503", r.Status)
		}
	})

	t.Run("token", func(t *testing.T) {
		h := newHarness(t, glancePolicy(t), nil)
		img := h.image(digits, restricted)
		member, admin := h.token(p1, "member"), h.token(p1, "admin")
		for token, status := range map[string]int{member: 403, admin: 200, "osr_" + strings.Repeat("A", 43): 401, "": 401} {
			if r := h.do("GET", "/v2/images/"+img.ID+"/file", tok(token)); r.Status != status {
				t.Errorf("token %.8s: %d, want %d", token, r.Status, status)
			}
		}
		for _, secret := range []string{member, admin} {
			if strings.Contains(h.decisions.String(), secret) || strings.Contains(h.logs.String(), secret) {
				t.Error("a token reached the logs")
			}
		}
	})
}

// /healthz, /readyz, /metrics and the decision log.
func TestOperations(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	h.do("GET", "/v2/images/"+img.ID+"/file", member)
	h.do("GET", "/v2/images/"+img.ID+"/file", nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := h.do("GET", p, nil); r.Status != 200 {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
	m := string(h.do("GET", "/metrics", nil).Body)
	for _, want := range []string{
		`oslorego_decisions_total{action="download_image",result="allow"} 1`,
		`oslorego_image_bytes_served_total{route="/v2/images/:id/file"} 10`,
		`oslorego_http_requests_total{code="401",method="GET",route="/v2/images/:id/file"} 1`,
		`oslorego_decision_duration_seconds_count{action="download_image"} 1`,
	} {
		mustContain(t, m, want)
	}
	lines := strings.Split(strings.TrimSpace(h.decisions.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("decision log: %q", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	rev := builtinRevision(t)
	for k, want := range map[string]any{"action": "download_image", "image_id": img.ID, "result": "allow", "bundle_revision": rev} {
		if rec[k] != want {
			t.Errorf("decision log %s = %v, want %v", k, rec[k], want)
		}
	}
	if id, _ := rec["decision_id"].(string); len(id) != 36 {
		t.Errorf("decision_id %v", rec["decision_id"])
	}
	creds, _ := rec["credentials"].(map[string]any)
	if creds["project_id"] != p1 || creds["is_admin"] != false {
		t.Errorf("decision log credentials %v", creds)
	}
	mustContain(t, lines[1], `"result":"unauthenticated"`)

	// Not ready without a policy: readyz and every route are 503.
	empty := newHarness(t, noPolicy, nil)
	if r := empty.do("GET", "/readyz", nil); r.Status != 503 {
		t.Errorf("readyz without policy: %d", r.Status)
	}
	if r := empty.do("GET", "/v2/images", nil); r.Status != 503 {
		t.Errorf("route without policy: %d", r.Status)
	}
}

func builtinRevision(t *testing.T) string {
	l, err := builtinPolicy()
	if err != nil {
		t.Fatal(err)
	}
	return l.Revision
}

// A reload puts a new policy in force between requests; a broken bundle
// leaves the last good one in force.
func TestLiveReload(t *testing.T) {
	dir := t.TempDir()
	def, err := os.ReadFile("../bundles/glance/defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("defaults.json", string(def))
	write("policy.yaml", `"download_image": ""`)
	w := bundles.NewWatcher(bundles.Path(dir), bundles.Options{})
	if _, err := w.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, w, nil)
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	path := "/v2/images/" + img.ID + "/file"
	if r := h.do("GET", path, member); r.Status != 200 {
		t.Fatalf("before: %d", r.Status)
	}
	// is_admin (cached per credentials) follows the policy in force too.
	admin := tok(h.token(p1, "admin"))
	deact := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	if err := h.store.SetStatus(t.Context(), deact.ID, imagestore.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/v2/images/"+deact.ID+"/file", admin); r.Status != 200 {
		t.Fatalf("admin, deactivated, before: %d", r.Status)
	}
	write("policy.yaml", `
"download_image": "role:admin"
"context_is_admin": "role:superadmin"
`)
	if changed, err := w.Reload(t.Context()); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if r := h.do("GET", path, member); r.Status != 403 {
		t.Errorf("after reload: %d, want 403", r.Status)
	}
	if r := h.do("GET", "/v2/images/"+deact.ID+"/file", admin); r.Status != 403 {
		t.Errorf("admin, deactivated, after context_is_admin changed: %d, want 403", r.Status)
	}
	write("policy.yaml", `"download_image": [unclosed`)
	if _, err := w.Reload(t.Context()); err == nil {
		t.Fatal("a broken policy reloaded")
	}
	if r := h.do("GET", path, member); r.Status != 403 {
		t.Errorf("after a failed reload: %d, want 403 (last good policy)", r.Status)
	}
	revs := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(h.decisions.String()), "\n") {
		var rec map[string]any
		json.Unmarshal([]byte(l), &rec)
		revs[rec["bundle_revision"].(string)] = true
	}
	if len(revs) != 2 {
		t.Errorf("decision log revisions %v, want 2", revs)
	}
}

// Shutdown lets a download in flight finish whole.
func TestGracefulShutdownFinishesDownloads(t *testing.T) {
	dir := t.TempDir()
	store, err := imagestore.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	data := make([]byte, 32<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	img, err := store.Import(t.Context(), strings.NewReader(string(data)), imagestore.ImportOptions{Owner: sp(p1)})
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.json")
	token, err := auth.AddToken(tokens, auth.NewToken{UserID: "u", ProjectID: p1, Roles: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Images: store, Auth: auth.NewTokenFile(tokens), Policy: glancePolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/v2/images/"+img.ID+"/file", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shut <- hs.Shutdown(ctx)
	}()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("download cut by shutdown: %v", err)
	}
	got := md5.Sum(append(first, rest...))
	want := md5.Sum(data)
	if hex.EncodeToString(got[:]) != hex.EncodeToString(want[:]) {
		t.Errorf("download after shutdown began is not whole: %d bytes", len(first)+len(rest))
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// The decision memo (Config.DecisionMemo): a repeated decision is a hit,
// logged and counted; a reload starts an empty memo, so that no decision
// of the old revision answers for the new one. Off, the log says nothing.
func TestDecisionMemo(t *testing.T) {
	dir := t.TempDir()
	def, err := os.ReadFile("../bundles/glance/defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("defaults.json", string(def))
	write("policy.yaml", `"download_image": ""`)
	w := bundles.NewWatcher(bundles.Path(dir), bundles.Options{})
	if _, err := w.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, w, nil, func(c *server.Config) { c.DecisionMemo = 100 })
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	path := "/v2/images/" + img.ID + "/file"
	for i, want := range []int{200, 200} {
		if r := h.do("GET", path, member); r.Status != want {
			t.Fatalf("request %d: %d, want %d", i, r.Status, want)
		}
	}
	write("policy.yaml", `"download_image": "role:admin"`)
	if changed, err := w.Reload(t.Context()); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	for i, want := range []int{403, 403} {
		if r := h.do("GET", path, member); r.Status != want {
			t.Fatalf("after reload, request %d: %d, want %d", i, r.Status, want)
		}
	}
	var memo []string
	for _, l := range strings.Split(strings.TrimSpace(h.decisions.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		memo = append(memo, fmt.Sprint(rec["memo"], " ", rec["result"]))
	}
	if want := []string{"miss allow", "hit allow", "miss deny", "hit deny"}; !slices.Equal(memo, want) {
		t.Errorf("decision log memo, result: %q, want %q", memo, want)
	}
	m := string(h.do("GET", "/metrics", nil).Body)
	for _, want := range []string{
		`oslorego_decision_memo_lookups_total{result="hit"} 2`,
		`oslorego_decision_memo_lookups_total{result="miss"} 2`,
		`oslorego_decision_memo_lookups_total{result="bypass"} 0`,
		`oslorego_decision_memo_evictions_total 0`,
		`oslorego_decision_memo_entries 1`,
		`oslorego_decisions_total{action="download_image",result="deny"} 2`,
	} {
		mustContain(t, m, want)
	}

	off := newHarness(t, glancePolicy(t), nil)
	member = tok(off.token(p1, "member"))
	img = off.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	off.do("GET", "/v2/images/"+img.ID+"/file", member)
	if l := off.decisions.String(); strings.Contains(l, `"memo"`) || !strings.Contains(l, `"result":"allow"`) {
		t.Errorf("memo off, decision log: %s", l)
	}
}
