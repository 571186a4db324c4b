package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a real server on a loopback port, over a real store.
type harness struct {
	t         testing.TB
	store     *imagestore.Store
	dataDir   string
	srv       *httptest.Server
	tokens    string
	decisions *syncBuffer
	logs      *syncBuffer
}

// noPolicy is a policy source before its first load.
var noPolicy server.PolicySource = (*bundles.Loaded)(nil)

// builtinPolicy is the built-in glance bundle, compiled once per test binary.
var builtinPolicy = sync.OnceValues(func() (*bundles.Loaded, error) {
	src, err := bundles.Builtin("glance")
	if err != nil {
		return nil, err
	}
	return bundles.Open(context.Background(), src, bundles.Options{})
})

func glancePolicy(t testing.TB) server.PolicySource {
	t.Helper()
	l, err := builtinPolicy()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// dirPolicy builds a bundle from files (name → content), with Glance's
// registered defaults unless the files give their own.
func dirPolicy(t *testing.T, files map[string]string) server.PolicySource {
	t.Helper()
	return dirPolicyWith(t, files, bundles.Options{})
}

// dirPolicyWith is dirPolicy built with opts.
func dirPolicyWith(t *testing.T, files map[string]string, opts bundles.Options) server.PolicySource {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["defaults.json"]; !ok {
		b, err := os.ReadFile("../bundles/glance/defaults.json")
		if err != nil {
			t.Fatal(err)
		}
		files["defaults.json"] = string(b)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := bundles.NewWatcher(bundles.Path(dir), opts)
	if _, err := w.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

func newHarness(t testing.TB, policy server.PolicySource, authn func(tokensFile string) auth.Authenticator, configure ...func(*server.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := imagestore.Open(context.Background(), filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, store: store, dataDir: filepath.Join(dir, "data"), tokens: filepath.Join(dir, "tokens.json"), decisions: &syncBuffer{}, logs: &syncBuffer{}}
	if authn == nil {
		authn = func(p string) auth.Authenticator { return auth.NewTokenFile(p) }
	}
	cfg := server.Config{
		Images:      store,
		Auth:        authn(h.tokens),
		Policy:      policy,
		Log:         slog.New(slog.NewTextHandler(h.logs, nil)),
		DecisionLog: slog.New(slog.NewJSONHandler(h.decisions, nil)),
	}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(srv)
	t.Cleanup(h.srv.Close)
	return h
}

// token adds a token for project/roles and returns it.
func (h *harness) token(project string, roles ...string) string {
	h.t.Helper()
	tok, err := auth.AddToken(h.tokens, auth.NewToken{UserID: "u-" + project, ProjectID: project, Roles: roles})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// image imports data (nil: a queued image without data).
func (h *harness) image(data []byte, o imagestore.ImportOptions) imagestore.Image {
	h.t.Helper()
	var img imagestore.Image
	var err error
	if data == nil {
		img, err = h.store.Create(context.Background(), o)
	} else {
		img, err = h.store.Import(context.Background(), bytes.NewReader(data), o)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return img
}

// response is what a test looks at.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return v
}

func (h *harness) do(method, path string, hdr map[string]string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func tok(t string) map[string]string { return map[string]string{"X-Auth-Token": t} }

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func sp(s string) *string { return &s }

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
