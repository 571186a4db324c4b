package imagestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// age sets a file's modification time to an hour ago: a leftover well
// past the grace period.
func age(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// holdLock opens path and locks it as a live importer does, until the
// test ends.
func holdLock(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := lockExclusive(f); err != nil {
		t.Fatal(err)
	}
}

// sharedStore opens a store while another Store holds the directory, so
// that Open never cleans: what is removed, Sweep removed.
func sharedStore(t *testing.T) (*Store, string) {
	t.Helper()
	s, dir := newStore(t)
	other, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return s, dir
}

// Sweep removes what killed imports leave, while the store is shared, and
// never a file an import in progress holds or one younger than the grace
// period.
func TestStoreSweepRemovesKillLeftovers(t *testing.T) {
	if !canLock {
		t.Skip("no flock: Sweep removes nothing here")
	}
	ctx := context.Background()
	s, dir := sharedStore(t)
	if _, err := s.Import(ctx, strings.NewReader("live"), ImportOptions{ID: "live"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, strings.NewReader("deleted"), ImportOptions{ID: "deleted"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, ImportOptions{ID: "queued"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string // under dir
		old    bool   // past the grace period
		locked bool   // an import in progress holds it
		kept   bool
	}{
		{"staging/killed.part", true, false, false},  // killed while streaming
		{"staging/fresh.part", false, false, true},   // within the grace period
		{"staging/live.part", true, true, true},      // a stalled but live import
		{"images/uncommitted", true, false, false},   // killed between link and commit
		{"images/committing", true, true, true},      // between link and commit, alive
		{"images/young", false, false, true},         // within the grace period
		{"images/deleted", true, false, false},       // killed between delete and removal
		{"images/queued", true, false, false},        // stray file beside a queued image
		{"images/live", true, false, true},           // a live image's data
		{"images/live-but-locked", true, true, true}, // locked and unreferenced: kept
	}
	for _, tc := range tests {
		p := filepath.Join(dir, tc.path)
		if tc.path != "images/live" {
			if err := os.WriteFile(p, []byte("leftover"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if tc.old {
			age(t, p)
		}
		if tc.locked {
			holdLock(t, p)
		}
	}
	// Not ours: left alone.
	if err := os.Mkdir(filepath.Join(dir, "staging", "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}

	swept, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, tc := range tests {
		_, err := os.Stat(filepath.Join(dir, tc.path))
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: kept %v, want %v (%v)", tc.path, kept, tc.kept, err)
		}
		if !tc.kept {
			removed++
		}
	}
	if swept.Files != removed || swept.Bytes != int64(removed*len("leftover")) {
		t.Errorf("Sweep reported %+v, want %d files of %d bytes", swept, removed, len("leftover"))
	}
	if _, err := os.Stat(filepath.Join(dir, "staging", "subdir")); err != nil {
		t.Errorf("staging/subdir: %v", err)
	}
	if err := s.Verify(ctx, "live"); err != nil {
		t.Errorf("the live image after Sweep: %v", err)
	}
	// Nothing left to do.
	if swept, err := s.Sweep(ctx); err != nil || swept.Files != 0 {
		t.Errorf("second Sweep: %+v, %v", swept, err)
	}
}

// A kill between link and commit leaves images/<id> without a row: the
// next import of that ID cleans it (once past the grace period) and
// succeeds; within the grace period it is refused with a reason.
func TestStoreReimportAfterKill(t *testing.T) {
	if !canLock {
		t.Skip("no flock: Sweep removes nothing here")
	}
	ctx := context.Background()
	s, dir := sharedStore(t)
	orphan := filepath.Join(dir, "images", "img")
	if err := os.WriteFile(orphan, []byte("half of an old import"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "staging", "killed.part"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := s.Import(ctx, strings.NewReader("new data"), ImportOptions{ID: "img"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "interrupted import") {
		t.Errorf("re-import within the grace period: %v, want ErrExists explaining the leftover", err)
	}

	age(t, orphan)
	age(t, filepath.Join(dir, "staging", "killed.part"))
	img, err := s.Import(ctx, strings.NewReader("new data"), ImportOptions{ID: "img"})
	if err != nil {
		t.Fatalf("re-import after the kill: %v", err)
	}
	if err := s.Verify(ctx, img.ID); err != nil {
		t.Errorf("Verify: %v", err)
	}
	got, err := os.ReadFile(orphan)
	if err != nil || !bytes.Equal(got, []byte("new data")) {
		t.Errorf("data %q, %v", got, err)
	}
	if n := dirNames(t, filepath.Join(dir, "staging")); len(n) != 0 {
		t.Errorf("staging/ holds %v after the import", n)
	}
}

// An import in progress holds its files' lock from creating the staging
// file until its row is committed: a Sweep at any point in between, even
// with the files past the grace period, removes nothing of it.
func TestStoreSweepSparesImportInProgress(t *testing.T) {
	if !canLock {
		t.Skip("no flock: Sweep removes nothing here")
	}
	ctx := context.Background()
	s, dir := sharedStore(t)
	sweeper, err := Open(ctx, dir) // as a server beside the importing CLI
	if err != nil {
		t.Fatal(err)
	}
	defer sweeper.Close()
	check := func(when string) {
		t.Helper()
		var files []string
		for _, sub := range []string{"staging", "images"} {
			for _, n := range dirNames(t, filepath.Join(dir, sub)) {
				files = append(files, filepath.Join(dir, sub, n))
			}
		}
		for _, f := range files {
			age(t, f)
		}
		swept, err := sweeper.Sweep(ctx)
		if err != nil || swept.Files != 0 {
			t.Errorf("%s: Sweep removed %+v, %v", when, swept, err)
		}
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
		if len(files) == 0 {
			t.Errorf("%s: no file to check", when)
		}
	}
	data := patternBytes(3 << 20)
	r := &chunkReader{size: len(data), chunk: 64 << 10, before: func(off int) error {
		if off == 1<<20 {
			check("while streaming")
		}
		return nil
	}}
	s.afterPublish = func() { check("between link and commit") }
	img, err := s.Import(ctx, r, ImportOptions{ID: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sweeper.Verify(ctx, img.ID); err != nil {
		t.Errorf("Verify after the import: %v", err)
	}
	names := dirNames(t, filepath.Join(dir, "images"))
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"big"}) {
		t.Errorf("images/ holds %v", names)
	}
}

func TestStoreSweepEvery(t *testing.T) {
	if !canLock {
		t.Skip("no flock: Sweep removes nothing here")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, dir := sharedStore(t)
	p := filepath.Join(dir, "staging", "killed.part")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	age(t, p)
	reports := make(chan Swept, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.SweepEvery(ctx, time.Hour, func(sw Swept, err error) {
			if err != nil {
				t.Error(err)
			}
			reports <- sw
		})
	}()
	// The first sweep runs at once.
	if sw := <-reports; sw.Files != 1 {
		t.Errorf("first sweep: %+v, want the killed staging file", sw)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging file after the sweep: %v", err)
	}
	cancel()
	<-done
}
