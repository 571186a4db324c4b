package bundles

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oslorego/oslorego/rego"
)

// server is an HTTP bundle service whose bundle the test replaces.
type server struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	requests int
	notMod   int
}

func (s *server) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.Header.Get("If-None-Match") == s.etag {
		s.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", s.etag)
	w.Write(s.body)
}

// decide asks the bundle in force whether a member may download an image
// with the given billing code.
func decide(t *testing.T, w *Watcher, code string) bool {
	t.Helper()
	cur := w.Current()
	if cur == nil {
		t.Fatal("no bundle in force")
	}
	d, err := cur.Engine.Decide(context.Background(), rego.Request{Rule: "download_image",
		Target: map[string]any{"x_billing_code_ntt": code}, Credentials: map[string]any{"roles": []any{"member"}}})
	if err != nil || d.Error != "" {
		t.Fatalf("decide: %v %s", err, d.Error)
	}
	return d.Allowed
}

func TestWatchHTTPBundleService(t *testing.T) {
	ctx := context.Background()
	priv, pub := rsaKeys(t)
	otherPriv, _ := rsaKeys(t)
	sign := &SignOptions{Key: priv, Alg: "RS256", KeyID: "k1"}
	v1 := write(t, build(t, example), sign)

	// v2 restricts ntt_0001 too (data change).
	dir := copyDir(t, example)
	if err := os.WriteFile(filepath.Join(dir, "data.json"), []byte(`{"restricted_billing_codes": ["ntt_3251", "ntt_0001"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	v2 := write(t, build(t, dir), sign)

	srv := &server{}
	srv.set(v1, `"v1"`)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	w := NewWatcher(Path(hs.URL+"/bundles/glance.tar.gz"), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k1"}, Client: hs.Client()})

	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("first load: changed=%v err=%v", changed, err)
	}
	if decide(t, w, "ntt_3251") || !decide(t, w, "ntt_0001") {
		t.Fatal("v1 decides wrongly")
	}
	if changed, err := w.Reload(ctx); err != nil || changed || srv.notMod != 1 {
		t.Fatalf("unchanged bundle: changed=%v err=%v 304s=%d", changed, err, srv.notMod)
	}

	srv.set(v2, `"v2"`)
	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("v2: changed=%v err=%v", changed, err)
	}
	if decide(t, w, "ntt_0001") {
		t.Fatal("v2 is not in force")
	}
	rev := w.Current().Revision

	corrupt := append([]byte(nil), v1...)
	corrupt[len(corrupt)/2] ^= 0xff
	srv.set(corrupt, `"corrupt"`)
	if _, err := w.Reload(ctx); err == nil || w.LastError() == nil {
		t.Fatal("a corrupted bundle loaded")
	}
	if w.Current().Revision != rev || decide(t, w, "ntt_0001") {
		t.Fatal("the last good bundle is not in force after a corrupted one")
	}

	srv.set(write(t, build(t, example), &SignOptions{Key: otherPriv, Alg: "RS256", KeyID: "k1"}), `"forged"`)
	_, err := w.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "verif") {
		t.Fatalf("a wrongly signed bundle: %v", err)
	}
	if w.Current().Revision != rev {
		t.Fatal("the last good bundle is not in force after a wrongly signed one")
	}

	srv.set(v1, `"v1-again"`)
	if changed, err := w.Reload(ctx); err != nil || !changed || !decide(t, w, "ntt_0001") {
		t.Fatalf("back to v1: changed=%v err=%v", changed, err)
	}
}

func TestWatchDirectory(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, example)
	w := NewWatcher(Path(dir), Options{})
	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	if changed, err := w.Reload(ctx); err != nil || changed {
		t.Fatalf("unchanged directory reloaded: %v %v", changed, err)
	}
	// A broken edit is reported and the last good bundle stays.
	if err := os.WriteFile(filepath.Join(dir, "restrict.rego"), []byte("package oslo.policy\n\nrules.restricted := \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reload(ctx); err == nil {
		t.Fatal("a broken bundle directory loaded")
	}
	if decide(t, w, "ntt_3251") {
		t.Fatal("the last good bundle is not in force")
	}
}
