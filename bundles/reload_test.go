package bundles

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An unchanged directory is hashed, not built again; a change is picked
// up; a broken edit is built once, not on every tick.
func TestWatchDirectoryRebuildsOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, example)
	w := NewWatcher(Path(dir), Options{})
	steps := []struct {
		name    string
		edit    func()
		changed bool
		failed  bool
		builds  uint64
	}{
		{"first load", nil, true, false, 1},
		{"unchanged", nil, false, false, 1},
		{"unchanged again", nil, false, false, 1},
		{"data changed", func() { writeFile(t, dir, "data.json", `{"restricted_billing_codes": ["ntt_0001"]}`) }, true, false, 2},
		{"unchanged after the change", nil, false, false, 2},
		{"broken edit", func() { writeFile(t, dir, "restrict.rego", "package oslo.policy\n\nrules.restricted := \n") }, false, true, 3},
		{"broken and unchanged", nil, false, false, 3},
	}
	var first *Loaded
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		changed, err := w.Reload(ctx)
		if changed != s.changed || (err != nil) != s.failed || w.builds.Load() != s.builds {
			t.Fatalf("%s: changed=%v err=%v builds=%d, want %v %v %d", s.name, changed, err, w.builds.Load(), s.changed, s.failed, s.builds)
		}
		if s.name == "first load" {
			first = w.Current()
		}
		if s.name == "unchanged again" && w.Current() != first {
			t.Fatal("an unchanged directory replaced the bundle in force")
		}
	}
	if decide(t, w, "ntt_3251") == false || decide(t, w, "ntt_0001") == true {
		t.Error("the changed data is not in force")
	}
	if w.LastError() == nil {
		t.Error("the broken edit is no longer reported after an unchanged reload")
	}
}

// Reloads are logged (failures at ERROR, new revisions at INFO), exported
// as metrics and reported by Status.
func TestWatcherReportsReloads(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, example)
	var logs bytes.Buffer
	w := NewWatcher(Path(dir), Options{}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if ready, detail := w.Status(); ready || !strings.Contains(detail, "no policy bundle loaded") {
		t.Errorf("before the first load: %v %q", ready, detail)
	}
	if _, err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	rev := w.Current().Revision
	if !strings.Contains(logs.String(), "level=INFO msg=\"policy bundle loaded\"") || !strings.Contains(logs.String(), "revision="+rev) {
		t.Errorf("no INFO line with the revision:\n%s", logs.String())
	}
	if _, err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "restrict.rego", "package oslo.policy\n\nrules.restricted := \n")
	if _, err := w.Reload(ctx); err == nil {
		t.Fatal("a broken bundle loaded")
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"policy bundle reload failed; the last good bundle stays in force\"") || !strings.Contains(logs.String(), "restrict.rego") {
		t.Errorf("no ERROR line naming the failure:\n%s", logs.String())
	}
	ready, detail := w.Status()
	if !ready || !strings.Contains(detail, rev) || !strings.Contains(detail, "the newest reload failed") || !strings.Contains(detail, "restrict.rego") {
		t.Errorf("status: %v %q", ready, detail)
	}
	want := `
# HELP oslorego_bundle_reload_total Policy bundle reloads by result: success (a bundle was put in force or confirmed), failure (the last good one stays), unchanged (the source did not change).
# TYPE oslorego_bundle_reload_total counter
oslorego_bundle_reload_total{result="failure"} 1
oslorego_bundle_reload_total{result="success"} 1
oslorego_bundle_reload_total{result="unchanged"} 1
# HELP oslorego_bundle_revision_info The revision of the policy bundle in force (1; absent before the first good load).
# TYPE oslorego_bundle_revision_info gauge
oslorego_bundle_revision_info{revision="` + rev + `"} 1
`
	if err := testutil.CollectAndCompare(w, strings.NewReader(want), "oslorego_bundle_reload_total", "oslorego_bundle_revision_info"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(w, "oslorego_bundle_last_success_timestamp_seconds"); n != 1 {
		t.Errorf("last success timestamp: %d series", n)
	}
	// Fixed, the bundle is in force again and the status clean.
	if err := os.WriteFile(filepath.Join(dir, "restrict.rego"), mustRead(t, filepath.Join(example, "restrict.rego")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if ready, detail := w.Status(); !ready || strings.Contains(detail, "failed") {
		t.Errorf("after the fix: %v %q", ready, detail)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The built-in bundle's revision is a hash of its content: the same on
// every load, and the same as "oslorego build" of the directory gives.
func TestBuiltinRevisionIsStable(t *testing.T) {
	ctx := context.Background()
	src, err := Builtin("glance")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "glance")
	if err := os.CopyFS(dir, src.fsys); err != nil {
		t.Fatal(err)
	}
	built := build(t, dir)
	if a.Revision != b.Revision || a.Revision != built.Manifest.Revision || !strings.HasPrefix(a.Revision, "sha256:") {
		t.Errorf("revisions %q, %q, built %q", a.Revision, b.Revision, built.Manifest.Revision)
	}
}

// Two watchers, the policy in force and a shadow bundle, export their
// metrics under their own names into one registry.
func TestWatcherMetricsPrefix(t *testing.T) {
	ctx := context.Background()
	enforced := NewWatcher(Path(copyDir(t, example)), Options{})
	shadow := NewWatcher(Path(t.TempDir()), Options{}, WithMetricsPrefix("oslorego_shadow_bundle"))
	if _, err := enforced.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := shadow.Reload(ctx); err == nil {
		t.Fatal("an empty directory loaded")
	}
	reg := prometheus.NewRegistry()
	for _, w := range []*Watcher{enforced, shadow} {
		if err := reg.Register(w); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP oslorego_bundle_reload_total Policy bundle reloads by result: success (a bundle was put in force or confirmed), failure (the last good one stays), unchanged (the source did not change).
# TYPE oslorego_bundle_reload_total counter
oslorego_bundle_reload_total{result="failure"} 0
oslorego_bundle_reload_total{result="success"} 1
oslorego_bundle_reload_total{result="unchanged"} 0
# HELP oslorego_shadow_bundle_reload_total Policy bundle reloads by result: success (a bundle was put in force or confirmed), failure (the last good one stays), unchanged (the source did not change).
# TYPE oslorego_shadow_bundle_reload_total counter
oslorego_shadow_bundle_reload_total{result="failure"} 1
oslorego_shadow_bundle_reload_total{result="success"} 0
oslorego_shadow_bundle_reload_total{result="unchanged"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "oslorego_bundle_reload_total", "oslorego_shadow_bundle_reload_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(shadow, "oslorego_shadow_bundle_revision_info"); n != 0 {
		t.Errorf("a shadow revision before any load: %d series", n)
	}
}
