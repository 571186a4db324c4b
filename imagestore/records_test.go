package imagestore

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writerEnv makes the test binary, run again, a writer process on a store
// (see TestMain's helper below) instead of running the tests.
const writerEnv = "OSLOREGO_TEST_STORE_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		if err := writeFromOtherProcess(dir, os.Args[len(os.Args)-1]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// writeFromOtherProcess makes one change to image "img" in dir, as an
// `oslorego image` command would in its own process.
func writeFromOtherProcess(dir, change string) error {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Close()
	switch change {
	case "public":
		return s.SetVisibility(ctx, "img", Public)
	case "deactivate":
		return s.SetStatus(ctx, "img", StatusDeactivated)
	case "delete":
		return s.Delete(ctx, "img")
	}
	return errors.New("unknown change " + change)
}

// otherProcess runs writeFromOtherProcess(dir, change) in a new process.
func otherProcess(t *testing.T, dir, change string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", change)
	cmd.Env = append(os.Environ(), writerEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writer process (%s): %v\n%s", change, err, out)
	}
}

// Get answers a repeated read from memory, and never stale: each write
// committed by another process (or another connection: sqlite3 on the
// file) before a Get is in that Get's answer.
func TestStoreGetCachesExactlyAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img", Visibility: Private, Properties: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	get := func() Image { t.Helper(); return mustGet(t, s, "img") }
	get()
	hits := s.records.hits.Load()
	if img := get(); img.Visibility != Private || s.records.hits.Load() != hits+1 {
		t.Fatalf("repeated Get: visibility %s, %d cache hits, want private and one hit", img.Visibility, s.records.hits.Load()-hits)
	}

	otherProcess(t, dir, "public")
	if img := get(); img.Visibility != Public {
		t.Errorf("after another process made it public: visibility %s", img.Visibility)
	}

	// A write by plain SQL on the file (no oslorego code at all).
	raw := rawSQL(t, dir)
	if _, err := raw.ExecContext(ctx, "UPDATE image_properties SET value = 'w' WHERE image_id = 'img' AND name = 'k'"); err != nil {
		t.Fatal(err)
	}
	if img := get(); img.Properties["k"] != "w" {
		t.Errorf("after an SQL write: properties %v, want k=w", img.Properties)
	}

	otherProcess(t, dir, "deactivate")
	if img := get(); img.Status != StatusDeactivated {
		t.Errorf("after another process deactivated it: status %s", img.Status)
	}
	otherProcess(t, dir, "delete")
	if _, err := s.Get(ctx, "img"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after another process deleted it: %v, want ErrNotFound", err)
	}
}

// A cached image is the caller's: changing one answer changes no other.
func TestStoreGetAnswersAreIndependent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img", Properties: map[string]string{"k": "v"}, Tags: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	first, err := s.Get(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	first.Properties["k"], first.Tags[0] = "changed", "changed"
	first.Properties["new"] = "x"
	for range 2 {
		img, err := s.Get(ctx, "img")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"k": "v"}; !reflect.DeepEqual(img.Properties, want) || !reflect.DeepEqual(img.Tags, []string{"a"}) {
			t.Errorf("Get after changing an earlier answer: %v %v", img.Properties, img.Tags)
		}
		img.Properties["k"] = "again"
	}
}

// RecordCache < 0 turns the cache off; Get still answers.
func TestStoreRecordCacheOff(t *testing.T) {
	ctx := context.Background()
	s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "data"), Options{RecordCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img"}); err != nil {
		t.Fatal(err)
	}
	if s.records != nil {
		t.Fatal("RecordCache -1: a cache exists")
	}
	if _, err := s.Get(ctx, "img"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkGet is one Get of an image with a few properties: from the
// record cache (its change check included), and from SQLite.
func BenchmarkGet(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := OpenWith(ctx, filepath.Join(b.TempDir(), "data"), Options{RecordCache: c.cache})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img", Properties: map[string]string{"a": "1", "b": "2"}, Tags: []string{"t"}}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(ctx, "img"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// SmallData reads a small image's data once, then answers from memory:
// the same bytes, checked as OpenData checks them, with no file access.
func TestStoreSmallData(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	img, err := s.Import(ctx, strings.NewReader("small data"), ImportOptions{ID: "img"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SmallData(ctx, img)
	if err != nil || string(b) != "small data" {
		t.Fatalf("SmallData: %q, %v", b, err)
	}
	// From memory now: the file is not read again (here it is gone).
	if err := os.Remove(filepath.Join(dir, "images", "img")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.SmallData(ctx, img); err != nil || string(b) != "small data" {
		t.Errorf("SmallData again: %q, %v", b, err)
	}
	// An entry serves only the same recorded data (size and checksums).
	other := img
	sum := "0123"
	other.Checksum = &sum
	if _, err := s.SmallData(ctx, other); !errors.Is(err, ErrNoData) {
		t.Errorf("SmallData with another checksum than the cached entry's: %v, want the file's absence (ErrNoData)", err)
	}

	queued, err := s.Create(ctx, ImportOptions{ID: "queued"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SmallData(ctx, queued); !errors.Is(err, ErrNoData) {
		t.Errorf("queued image: %v, want ErrNoData", err)
	}
	big, err := s.Import(ctx, strings.NewReader(strings.Repeat("x", MaxSmallData+1)), ImportOptions{ID: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SmallData(ctx, big); !errors.Is(err, ErrInvalid) {
		t.Errorf("image over MaxSmallData: %v, want ErrInvalid", err)
	}
	short, err := s.Import(ctx, strings.NewReader("short"), ImportOptions{ID: "short"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "images", "short"), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SmallData(ctx, short); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated data: %v, want ErrCorrupt", err)
	}
}

// Where the directory is watched, a Get reads the database's change
// counter only after a write: repeated Gets of an unchanged store run no
// pragma, and a write by another process or by plain SQL is seen by the
// next Get all the same.
func TestStoreGetChecksTheDatabaseOnlyAfterWrites(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	if s.records.watch == nil {
		t.Skip("no directory watch on this system")
	}
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img", Visibility: Private, Properties: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	get := func() Image { t.Helper(); return mustGet(t, s, "img") }
	get()
	get()
	reads := s.records.reads.Load()
	for range 5 {
		if img := get(); img.Visibility != Private {
			t.Fatalf("visibility %s", img.Visibility)
		}
	}
	if n := s.records.reads.Load() - reads; n != 0 {
		t.Errorf("%d pragmas for 5 Gets of an unchanged store, want 0", n)
	}

	otherProcess(t, dir, "public")
	raw := rawSQL(t, dir)
	if img := get(); img.Visibility != Public {
		t.Errorf("after another process made it public: visibility %s", img.Visibility)
	}
	for i, v := range []string{"w1", "w2", "w3"} {
		if _, err := raw.ExecContext(ctx, "UPDATE image_properties SET value = ? WHERE image_id = 'img' AND name = 'k'", v); err != nil {
			t.Fatal(err)
		}
		if img := get(); img.Properties["k"] != v {
			t.Errorf("after SQL write %d: properties %v, want k=%s", i, img.Properties, v)
		}
	}
}

// A watch that can no longer vouch for the directory (its queue
// overflowed, the directory went away) makes every Get read the pragma.
func TestStoreGetWithoutAWatchReadsThePragma(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if s.records.watch == nil {
		t.Skip("no directory watch on this system")
	}
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img"}); err != nil {
		t.Fatal(err)
	}
	s.records.mu.Lock()
	s.records.watch.lost = true
	s.records.mu.Unlock()
	reads := s.records.reads.Load()
	for range 3 {
		if _, err := s.Get(ctx, "img"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.records.reads.Load() - reads; n != 3 {
		t.Errorf("%d pragmas for 3 Gets with a lost watch, want 3", n)
	}
}

// mustGet is s.Get(id), which must succeed.
func mustGet(t *testing.T, s *Store, id string) Image {
	t.Helper()
	img, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// rawSQL opens the store's database in dir with plain database/sql, as
// another program would; closed when the test ends.
func rawSQL(t *testing.T, dir string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "images.db"))}
	raw, err := sql.Open("sqlite", u.String()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}
