package bundles

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/oslorego/oslorego/rego"
)

// restricted asks eng whether a member may download an image billed to
// ntt_3251 (the example bundles restrict it).
func restricted(t *testing.T, eng *rego.Engine) rego.Decision {
	t.Helper()
	d, err := eng.Decide(context.Background(), rego.Request{Rule: "download_image",
		Target:      map[string]any{"x_billing_code_ntt": "ntt_3251", "project_id": "p1", "owner": "p1", "visibility": "private"},
		Credentials: map[string]any{"roles": []any{"member", "reader"}, "project_id": "p1"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Open takes a directory, a .tar.gz file, an http(s) URL or a directory
// held in an fs.FS, and gives the same revision and decisions from each;
// its explainer names the oslo sources as the source does.
func TestOpenEverySource(t *testing.T) {
	ctx := context.Background()
	built := write(t, build(t, example), nil)
	file := filepath.Join(t.TempDir(), "example.tar.gz")
	if err := os.WriteFile(file, built, 0o644); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(built) }))
	defer hs.Close()
	mem := fstest.MapFS{}
	entries, err := os.ReadDir(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		mem[e.Name()] = &fstest.MapFile{Data: mustRead(t, filepath.Join(example, e.Name())), Mode: 0o644}
	}
	tests := []struct {
		name   string
		src    Source
		origin string // of the failed check, explained
	}{
		{"directory", Path(example), example + "/restrict.rego:7"},
		{".tar.gz", Path(file), "at restrict.rego:7"},
		{"URL", Path(hs.URL + "/b.tar.gz"), "at restrict.rego:7"},
		{"fs.FS", FS(mem, "in memory"), "at restrict.rego:7"},
	}
	want := build(t, example).Manifest.Revision
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Open(ctx, tc.src, Options{Client: hs.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if eng, rev := l.Policy(); eng != l.Engine || rev != want || l.Revision != want {
				t.Errorf("revision %q (%q), want %q", l.Revision, rev, want)
			}
			if d := restricted(t, l.Engine); d.Allowed || d.Error != "" {
				t.Errorf("a member downloads a restricted image: %+v", d)
			}
			x, err := l.Explainer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d, err := x.Explain(ctx, rego.Request{Rule: "download_image",
				Target:      map[string]any{"x_billing_code_ntt": "ntt_3251"},
				Credentials: map[string]any{"roles": []any{"member"}}})
			if err != nil || d.Allowed || d.Explanation == nil || !strings.Contains(d.Explanation.String(), tc.origin) {
				t.Errorf("explained: %+v %v, want a deny naming %s\n%s", d, err, tc.origin, d.Explanation)
			}
		})
	}
}

// The built-in bundle is read in place from the binary: it loads with no
// writable temporary directory, and a watcher reloads it like any other.
func TestBuiltinReadInPlace(t *testing.T) {
	ctx := context.Background()
	t.Setenv("TMPDIR", filepath.Join(string(filepath.Separator), "nonexistent", "oslorego-tmp"))
	if _, err := os.MkdirTemp("", "x"); err == nil {
		t.Fatal("TMPDIR is still writable; the test proves nothing")
	}
	src, err := Builtin("glance")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, src, Options{Decidable: []string{"download_image", "get_image", "get_images"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := restricted(t, l.Engine); d.Allowed || d.Error != "" {
		t.Errorf("a member downloads a restricted image: %+v", d)
	}
	w := NewWatcher(src, Options{})
	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	if changed, err := w.Reload(ctx); err != nil || changed || w.builds.Load() != 1 {
		t.Fatalf("second load: %v %v, %d builds", changed, err, w.builds.Load())
	}
	if _, rev := w.Policy(); rev != l.Revision || w.Source() != "built-in glance bundle" {
		t.Errorf("watcher %s: revision %q, want %q", w.Source(), rev, l.Revision)
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("an unknown built-in bundle: %v", err)
	}
}
