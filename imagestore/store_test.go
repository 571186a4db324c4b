package imagestore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newStore opens a store in a fresh temporary directory.
func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// fakeClock is an injectable s.now that advances by step on each call.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// assertEmpty checks that nothing of an import is left: no image, no
// data file, no staging file.
func assertEmpty(t *testing.T, s *Store, dir string) {
	t.Helper()
	imgs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Errorf("images listed after a failed import: %+v", imgs)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); len(n) != 0 {
		t.Errorf("images/ holds %v", n)
	}
	if n := dirNames(t, filepath.Join(dir, "staging")); len(n) != 0 {
		t.Errorf("staging/ holds %v", n)
	}
	var rows int
	if err := s.db.QueryRow("SELECT (SELECT count(*) FROM images) + (SELECT count(*) FROM image_properties) + (SELECT count(*) FROM image_tags)").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d rows left in the database", rows)
	}
}

func hexMD5(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func hexSHA512(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }

func TestStoreOpenCreatesLayout(t *testing.T) {
	s, dir := newStore(t)
	for _, d := range []string{dir, filepath.Join(dir, "images"), filepath.Join(dir, "staging")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a 0700 directory", d, fi.Mode())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "images.db")); err != nil {
		t.Errorf("no images.db: %v", err)
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	var timeout int
	if err := s.db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout <= 0 {
		t.Errorf("busy_timeout %d (%v), want > 0", timeout, err)
	}
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("user_version %d (%v), want %d", version, err, schemaVersion)
	}
}

func TestStoreOpenIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	got, err := s.Get(ctx, img.ID)
	if err != nil || !reflect.DeepEqual(got, img) {
		t.Errorf("after reopening: %+v, %v; want %+v", got, err, img)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("Open of a newer schema: %v, want an error naming version 99", err)
	}
}

func TestStoreImportRoundTrip(t *testing.T) {
	owner := "p1"
	tests := []struct {
		name string
		data []byte
		opts ImportOptions
		want func(*Image) // the expected metadata besides data-derived fields
	}{
		{"defaults", []byte("hello image"), ImportOptions{},
			func(w *Image) {
				w.Visibility = Shared
				w.DiskFormat, w.ContainerFormat = ptr("raw"), ptr("bare")
			}},
		{"empty data", nil, ImportOptions{Name: "empty", Visibility: Private},
			func(w *Image) {
				w.Name, w.Visibility = ptr("empty"), Private
				w.DiskFormat, w.ContainerFormat = ptr("raw"), ptr("bare")
			}},
		{"everything set", bytes.Repeat([]byte{0, 1, 2, 255}, 1000), ImportOptions{
			ID: "0123456789abcdef0123456789abcdef-_.X", Name: "cirros", Visibility: Community, Owner: &owner,
			DiskFormat: "qcow2", ContainerFormat: "ovf",
			Properties: map[string]string{"x_billing_code_ntt": "ntt_3251", "os_distro": "cirros", "empty": ""},
			Tags:       []string{"b", "a", "b"},
			Protected:  true, Hidden: true, MinDisk: 1, MinRAM: 512,
		}, func(w *Image) {
			w.ID = "0123456789abcdef0123456789abcdef-_.X"
			w.Name, w.Visibility, w.Owner = ptr("cirros"), Community, ptr("p1")
			w.DiskFormat, w.ContainerFormat = ptr("qcow2"), ptr("ovf")
			w.Properties = map[string]string{"x_billing_code_ntt": "ntt_3251", "os_distro": "cirros", "empty": ""}
			w.Tags = []string{"a", "b"}
			w.Protected, w.Hidden, w.MinDisk, w.MinRAM = true, true, 1, 512
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStore(t)
			img, err := s.Import(ctx, bytes.NewReader(tc.data), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.opts.ID == "" && len(img.ID) != 36 {
				t.Errorf("generated ID %q is not a UUID", img.ID)
			}
			want := Image{ID: img.ID, Status: StatusActive, Properties: map[string]string{}, Tags: []string{},
				CreatedAt: img.CreatedAt, UpdatedAt: img.UpdatedAt}
			tc.want(&want)
			size := int64(len(tc.data))
			want.Size, want.Checksum = &size, ptr(hexMD5(tc.data))
			want.OSHashAlgo, want.OSHashValue = ptr("sha512"), ptr(hexSHA512(tc.data))
			if !reflect.DeepEqual(img, want) {
				t.Errorf("Import returned\n%+v\nwant\n%+v", img, want)
			}
			if img.CreatedAt.IsZero() || !img.CreatedAt.Equal(img.UpdatedAt) || img.CreatedAt.Location() != time.UTC {
				t.Errorf("times %v %v", img.CreatedAt, img.UpdatedAt)
			}

			got, err := s.Get(ctx, img.ID)
			if err != nil || !reflect.DeepEqual(got, img) {
				t.Errorf("Get: %+v, %v\nwant %+v", got, err, img)
			}
			list, err := s.List(ctx)
			if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], img) {
				t.Errorf("List: %+v, %v", list, err)
			}

			f, err := s.OpenData(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil || !bytes.Equal(data, tc.data) {
				t.Errorf("data read back differs (%d bytes, %v)", len(data), err)
			}
			if err := s.Verify(ctx, img.ID); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if n := dirNames(t, filepath.Join(dir, "staging")); len(n) != 0 {
				t.Errorf("staging/ holds %v after a successful import", n)
			}
			fi, err := os.Stat(filepath.Join(dir, "images", img.ID))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("data file: %v, %v; want mode 0600", fi, err)
			}
		})
	}
}

func TestStoreTimesRoundTripExactly(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	zone := time.FixedZone("UTC+5", 5*3600)
	clock := &fakeClock{t: time.Date(2024, 2, 29, 23, 59, 59, 123456789, zone), step: time.Second}
	s.now = clock.now
	img, err := s.Import(ctx, strings.NewReader("x"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 2, 29, 18, 59, 59, 123456000, time.UTC)
	if img.CreatedAt != want || img.UpdatedAt != want {
		t.Errorf("times %v %v, want %v (UTC, microseconds)", img.CreatedAt, img.UpdatedAt, want)
	}
	if err := s.SetVisibility(ctx, img.ID, Private); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt != want || got.UpdatedAt != want.Add(time.Second) {
		t.Errorf("read back %v %v, want %v and a second later", got.CreatedAt, got.UpdatedAt, want)
	}
}

func TestStoreCreateQueued(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	img, err := s.Create(ctx, ImportOptions{Name: "later", Properties: map[string]string{"k": "v"}, Tags: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Image{ID: img.ID, Name: ptr("later"), Status: StatusQueued, Visibility: Shared,
		Properties: map[string]string{"k": "v"}, Tags: []string{"t"}, CreatedAt: img.CreatedAt, UpdatedAt: img.UpdatedAt}
	if !reflect.DeepEqual(img, want) {
		t.Errorf("Create returned\n%+v\nwant\n%+v", img, want)
	}
	got, err := s.Get(ctx, img.ID)
	if err != nil || !reflect.DeepEqual(got, img) {
		t.Errorf("Get: %+v, %v", got, err)
	}
	if _, err := s.OpenData(ctx, got); !errors.Is(err, ErrNoData) {
		t.Errorf("OpenData of a queued image: %v, want ErrNoData", err)
	}
	if err := s.Verify(ctx, img.ID); !errors.Is(err, ErrNoData) {
		t.Errorf("Verify of a queued image: %v, want ErrNoData", err)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); len(n) != 0 {
		t.Errorf("images/ holds %v for a queued image", n)
	}
	formats, err := s.Create(ctx, ImportOptions{DiskFormat: "iso", ContainerFormat: "bare"})
	if err != nil || *formats.DiskFormat != "iso" || *formats.ContainerFormat != "bare" || formats.Name != nil {
		t.Errorf("Create with formats: %+v, %v", formats, err)
	}
}

// chunkReader yields size bytes of a pattern in chunks, and can check
// something before each chunk (that the store is streaming) or fail.
type chunkReader struct {
	size, off, chunk int
	before           func(off int) error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.before != nil {
		if err := r.before(r.off); err != nil {
			return 0, err
		}
	}
	n := min(len(p), r.chunk, r.size-r.off)
	for i := range n {
		p[i] = byte((r.off + i) * 7 % 251)
	}
	r.off += n
	return n, nil
}

func patternBytes(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}

func TestStoreImportStreams(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	const size, chunk = 5 << 20, 64 << 10
	staging := filepath.Join(dir, "staging")
	checked := 0
	r := &chunkReader{size: size, chunk: chunk, before: func(off int) error {
		// Everything read so far, less at most the copy buffer, must
		// already be in the staging file: the data is not held in memory.
		if off < 2<<20 {
			return nil
		}
		names := dirNames(t, staging)
		if len(names) != 1 {
			return fmt.Errorf("staging/ holds %v mid-import", names)
		}
		fi, err := os.Stat(filepath.Join(staging, names[0]))
		if err != nil {
			return err
		}
		if fi.Size() < int64(off-(1<<20)) {
			return fmt.Errorf("after %d bytes read, the staging file holds only %d", off, fi.Size())
		}
		checked++
		return nil
	}}
	img, err := s.Import(ctx, r, ImportOptions{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Error("the streaming check never ran")
	}
	data := patternBytes(size)
	if *img.Size != size || *img.Checksum != hexMD5(data) || *img.OSHashValue != hexSHA512(data) {
		t.Errorf("size %d, md5 %s, sha512 %s do not match the data", *img.Size, *img.Checksum, *img.OSHashValue)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "images", img.ID))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("data on disk differs (%d bytes, %v)", len(onDisk), err)
	}
}

// failingFile is a staging file that fails like a full disk.
type failingFile struct {
	*os.File
	left    int   // bytes written before Write fails
	syncErr error // returned by Sync
}

func (f *failingFile) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.File.Write(p[:f.left])
		f.left = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.left -= len(p)
	return f.File.Write(p)
}

func (f *failingFile) Sync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

func TestStoreImportFailureLeavesNothing(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name   string
		reader func(cancel context.CancelFunc) io.Reader
		create func(name string) (writeSyncCloser, error)
		want   error // errors.Is
	}{
		{"reader fails mid-way",
			func(context.CancelFunc) io.Reader {
				return &chunkReader{size: 3 << 20, chunk: 64 << 10, before: func(off int) error {
					if off >= 2<<20 {
						return errBroken
					}
					return nil
				}}
			}, nil, errBroken},
		{"disk full mid-way",
			func(context.CancelFunc) io.Reader { return &chunkReader{size: 3 << 20, chunk: 64 << 10} },
			func(name string) (writeSyncCloser, error) {
				f, err := createFile(name)
				if err != nil {
					return nil, err
				}
				return &failingFile{File: f.(*os.File), left: 1<<20 + 5}, nil
			}, syscall.ENOSPC},
		{"fsync fails",
			func(context.CancelFunc) io.Reader { return strings.NewReader("data") },
			func(name string) (writeSyncCloser, error) {
				f, err := createFile(name)
				if err != nil {
					return nil, err
				}
				return &failingFile{File: f.(*os.File), left: 1 << 30, syncErr: syscall.EIO}, nil
			}, syscall.EIO},
		{"staging file cannot be created",
			func(context.CancelFunc) io.Reader { return strings.NewReader("data") },
			func(string) (writeSyncCloser, error) { return nil, syscall.EACCES }, syscall.EACCES},
		{"context cancelled mid-way",
			func(cancel context.CancelFunc) io.Reader {
				return &chunkReader{size: 3 << 20, chunk: 64 << 10, before: func(off int) error {
					if off >= 1<<20 {
						cancel()
					}
					return nil
				}}
			}, nil, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t)
			if tc.create != nil {
				s.create = tc.create
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			img, err := s.Import(ctx, tc.reader(cancel), ImportOptions{ID: "img-1", Name: "n",
				Properties: map[string]string{"k": "v"}, Tags: []string{"t"}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Import: %+v, %v; want %v", img, err, tc.want)
			}
			if _, err := s.Get(context.Background(), "img-1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after the failed import: %v, want ErrNotFound", err)
			}
			assertEmpty(t, s, dir)
		})
	}
}

func TestStoreImportDuplicateID(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	first, err := s.Import(ctx, strings.NewReader("first"), ImportOptions{ID: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	for _, do := range []func() error{
		func() error {
			_, err := s.Import(ctx, strings.NewReader("second"), ImportOptions{ID: "dup"})
			return err
		},
		func() error { _, err := s.Create(ctx, ImportOptions{ID: "dup"}); return err },
	} {
		if err := do(); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "dup") {
			t.Errorf("reusing an ID: %v, want ErrExists naming it", err)
		}
	}
	// The first image's data was not replaced.
	if err := s.Verify(ctx, first.ID); err != nil {
		t.Errorf("Verify of the first image: %v", err)
	}
	// The early check can be raced: the no-clobber publish still refuses.
	if err := publish(writeTemp(t, dir, "x"), filepath.Join(dir, "images", "dup")); !errors.Is(err, os.ErrExist) {
		t.Errorf("publish over existing data: %v, want ErrExist", err)
	}
	// A deleted image's ID stays taken, as in Glance.
	if err := s.Delete(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, strings.NewReader("third"), ImportOptions{ID: "dup"}); !errors.Is(err, ErrExists) {
		t.Errorf("reusing a deleted image's ID: %v, want ErrExists", err)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); len(n) != 0 {
		t.Errorf("images/ holds %v", n)
	}
}

func writeTemp(t *testing.T, dir, data string) string {
	t.Helper()
	p := filepath.Join(dir, "staging", "test.part")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInsertRaceRemovesData covers the row insert failing after the data
// was moved into place: another importer committed the ID in between.
func TestStoreInsertRaceRemovesData(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	s.create = func(name string) (writeSyncCloser, error) {
		// While this import streams, another commits a queued image with
		// the same ID (it has no data file, so publish succeeds).
		if _, err := s.Create(ctx, ImportOptions{ID: "raced"}); err != nil {
			return nil, err
		}
		return createFile(name)
	}
	if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "raced"}); !errors.Is(err, ErrExists) {
		t.Fatalf("Import: %v, want ErrExists", err)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); len(n) != 0 {
		t.Errorf("images/ holds %v", n)
	}
	img, err := s.Get(ctx, "raced")
	if err != nil || img.Status != StatusQueued {
		t.Errorf("the winner: %+v, %v", img, err)
	}
}

func TestStoreValidationNamesTheBadValue(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	active, err := s.Import(ctx, strings.NewReader("x"), ImportOptions{ID: "active"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, ImportOptions{ID: "queued"}); err != nil {
		t.Fatal(err)
	}
	empty := ""
	tests := []struct {
		name    string
		do      func() error
		mention string
	}{
		{"visibility on import", func() error {
			_, err := s.Import(ctx, strings.NewReader("x"), ImportOptions{Visibility: "bogus"})
			return err
		}, `"bogus"`},
		{"visibility on create", func() error { _, err := s.Create(ctx, ImportOptions{Visibility: "Public"}); return err }, `"Public"`},
		{"ID longer than 36", func() error {
			_, err := s.Import(ctx, strings.NewReader("x"), ImportOptions{ID: strings.Repeat("a", 37)})
			return err
		}, strings.Repeat("a", 37)},
		{"ID with a slash", func() error { _, err := s.Create(ctx, ImportOptions{ID: "../escape"}); return err }, `"../escape"`},
		{"ID starting with a dot", func() error { _, err := s.Create(ctx, ImportOptions{ID: ".hidden"}); return err }, `".hidden"`},
		{"empty property name", func() error {
			_, err := s.Create(ctx, ImportOptions{Properties: map[string]string{"": "v"}})
			return err
		}, "property name"},
		{"empty tag", func() error { _, err := s.Create(ctx, ImportOptions{Tags: []string{""}}); return err }, "tag"},
		{"empty owner", func() error { _, err := s.Create(ctx, ImportOptions{Owner: &empty}); return err }, "owner"},
		{"negative min_ram", func() error { _, err := s.Create(ctx, ImportOptions{MinRAM: -1}); return err }, "-1"},
		{"status", func() error { return s.SetStatus(ctx, active.ID, "killed") }, `"killed"`},
		{"status queued", func() error { return s.SetStatus(ctx, active.ID, StatusQueued) }, `"queued"`},
		{"reactivate a queued image", func() error { return s.SetStatus(ctx, "queued", StatusActive) }, "queued"},
		{"visibility change", func() error { return s.SetVisibility(ctx, active.ID, "everyone") }, `"everyone"`},
		{"member status", func() error { return s.AddMember(ctx, active.ID, "p2", "maybe") }, `"maybe"`},
		{"member project", func() error { return s.AddMember(ctx, active.ID, "", "accepted") }, "member project"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %v, want ErrInvalid mentioning %s", err, tc.mention)
			}
		})
	}
	// Nothing was created or changed by the rejected calls.
	imgs, err := s.List(ctx)
	if err != nil || len(imgs) != 2 {
		t.Errorf("List: %d images, %v; want the 2 valid ones", len(imgs), err)
	}
	got, err := s.Get(ctx, active.ID)
	if err != nil || !reflect.DeepEqual(got, active) {
		t.Errorf("the active image changed: %+v, %v", got, err)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); !reflect.DeepEqual(n, []string{"active"}) {
		t.Errorf("images/ holds %v", n)
	}
	// 36 characters is fine.
	if _, err := s.Create(ctx, ImportOptions{ID: strings.Repeat("b", 36)}); err != nil {
		t.Errorf("36-character ID: %v", err)
	}
}

func TestStoreNotFound(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	tests := map[string]func() error{
		"Get":           func() error { _, err := s.Get(ctx, "nope"); return err },
		"Delete":        func() error { return s.Delete(ctx, "nope") },
		"SetStatus":     func() error { return s.SetStatus(ctx, "nope", StatusDeactivated) },
		"SetVisibility": func() error { return s.SetVisibility(ctx, "nope", Public) },
		"AddMember":     func() error { return s.AddMember(ctx, "nope", "p", "accepted") },
		"Members":       func() error { _, err := s.Members(ctx, "nope"); return err },
		"IsMember":      func() error { _, err := s.IsMember(ctx, "nope", "p"); return err },
		"Verify":        func() error { return s.Verify(ctx, "nope") },
	}
	for name, do := range tests {
		t.Run(name, func(t *testing.T) {
			if err := do(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
				t.Errorf("%v, want ErrNotFound naming the ID", err)
			}
		})
	}
}

func TestStoreDelete(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	img, err := s.Import(ctx, strings.NewReader("doomed"), ImportOptions{ID: "doomed", Properties: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := s.Import(ctx, strings.NewReader("kept"), ImportOptions{ID: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, img.ID, "p2", "accepted"); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the data before the delete keeps reading.
	f, err := s.OpenData(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, img.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "images", img.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data file after Delete: %v, want it gone", err)
	}
	if b, err := io.ReadAll(f); err != nil || string(b) != "doomed" {
		t.Errorf("open reader after Delete: %q, %v", b, err)
	}
	if _, err := s.OpenData(ctx, img); !errors.Is(err, ErrNoData) {
		t.Errorf("OpenData after Delete: %v, want ErrNoData", err)
	}
	if ok, err := s.IsMember(ctx, img.ID, "p2"); ok || !errors.Is(err, ErrNotFound) {
		t.Errorf("IsMember after Delete: %v, %v", ok, err)
	}
	if err := s.Delete(ctx, img.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("List after Delete: %+v, %v", list, err)
	}
	// The row is soft-deleted, as Glance does.
	var status, deletedAt string
	var deleted int
	if err := s.db.QueryRow("SELECT status, deleted, deleted_at FROM images WHERE id = ?", img.ID).Scan(&status, &deleted, &deletedAt); err != nil {
		t.Fatal(err)
	}
	if status != "deleted" || deleted != 1 {
		t.Errorf("row: status %q deleted %d", status, deleted)
	}
	if _, err := parseTime(deletedAt); err != nil {
		t.Errorf("deleted_at: %v", err)
	}
	// A queued image has no file to remove.
	q, err := s.Create(ctx, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, q.ID); err != nil {
		t.Errorf("Delete of a queued image: %v", err)
	}
}

func TestStoreSetStatus(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Minute}
	s.now = clock.now
	img, err := s.Import(ctx, strings.NewReader("x"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ set, want string }{
		{StatusDeactivated, StatusDeactivated},
		{StatusDeactivated, StatusDeactivated}, // no-op, as Glance
		{StatusActive, StatusActive},
		{StatusActive, StatusActive},
	}
	last := img.UpdatedAt
	for i, st := range steps {
		if err := s.SetStatus(ctx, img.ID, st.set); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := s.Get(ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != st.want || !got.UpdatedAt.After(last) || got.CreatedAt != img.CreatedAt {
			t.Errorf("step %d: status %q updated %v created %v", i, got.Status, got.UpdatedAt, got.CreatedAt)
		}
		last = got.UpdatedAt
	}
	// Deactivated images' data stays readable by the store; refusing the
	// download is the API's decision.
	if err := s.SetStatus(ctx, img.ID, StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, img.ID)
	f, err := s.OpenData(ctx, got)
	if err != nil {
		t.Errorf("OpenData of a deactivated image: %v", err)
	} else {
		f.Close()
	}
}

func TestStoreSetVisibility(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	img, err := s.Create(ctx, ImportOptions{Visibility: Private})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{Shared, Community, Public, Private} {
		if err := s.SetVisibility(ctx, img.ID, v); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, img.ID)
		if err != nil || got.Visibility != v {
			t.Errorf("visibility %q, %v; want %q", got.Visibility, err, v)
		}
	}
}

func TestStoreMembers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	img, err := s.Create(ctx, ImportOptions{Visibility: Shared})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Create(ctx, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Members(ctx, img.ID); err != nil || len(m) != 0 || m == nil {
		t.Errorf("no members yet: %#v, %v", m, err)
	}
	for _, add := range []struct{ project, status string }{
		{"p2", "pending"}, {"p1", "accepted"}, {"p3", "rejected"}, {"p2", "accepted"}, // upsert
	} {
		if err := s.AddMember(ctx, img.ID, add.project, add.status); err != nil {
			t.Fatal(err)
		}
	}
	want := []Member{{img.ID, "p1", "accepted"}, {img.ID, "p2", "accepted"}, {img.ID, "p3", "rejected"}}
	if m, err := s.Members(ctx, img.ID); err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("Members: %+v, %v; want %+v", m, err, want)
	}
	tests := []struct {
		image, project string
		want           bool
	}{
		{img.ID, "p1", true},
		{img.ID, "p3", true}, // rejected members still count
		{img.ID, "p4", false},
		{other.ID, "p1", false}, // membership is per image
	}
	for _, tc := range tests {
		if ok, err := s.IsMember(ctx, tc.image, tc.project); err != nil || ok != tc.want {
			t.Errorf("IsMember(%s, %s) = %v, %v; want %v", tc.image, tc.project, ok, err, tc.want)
		}
	}
	// Adding members leaves the visibility alone.
	if got, _ := s.Get(ctx, other.ID); got.Visibility != Shared {
		t.Errorf("visibility %q", got.Visibility)
	}
}

func TestStoreListOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// Same creation time for b and a: ties go by ID.
	for _, c := range []struct {
		id string
		at time.Time
	}{{"c", base.Add(time.Hour)}, {"b", base}, {"a", base}, {"d", base.Add(-time.Microsecond)}} {
		clock := &fakeClock{t: c.at}
		s.now = clock.now
		if _, err := s.Create(ctx, ImportOptions{ID: c.id}); err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range imgs {
		ids = append(ids, img.ID)
	}
	if want := []string{"d", "a", "b", "c"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
}

func TestStoreOpenDataChecksSize(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(path string) error
		want   error
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 3) }, ErrCorrupt},
		{"grown", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString("more")
			return err
		}, ErrCorrupt},
		{"missing", os.Remove, ErrNoData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t)
			img, err := s.Import(ctx, strings.NewReader("0123456789"), ImportOptions{ID: "img"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(filepath.Join(dir, "images", "img")); err != nil {
				t.Fatal(err)
			}
			f, err := s.OpenData(ctx, img)
			if !errors.Is(err, tc.want) || f != nil {
				t.Errorf("OpenData: %v, %v; want %v", f, err, tc.want)
			}
			if err := s.Verify(ctx, img.ID); !errors.Is(err, tc.want) {
				t.Errorf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStoreVerifyDetectsFlippedByte(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	data := patternBytes(100_000)
	img, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, img.ID); err != nil {
		t.Fatalf("Verify of intact data: %v", err)
	}
	path := filepath.Join(dir, "images", img.ID)
	data[54321] ^= 0x01
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The size is unchanged, so only hashing can tell.
	if f, err := s.OpenData(ctx, img); err != nil {
		t.Errorf("OpenData: %v", err)
	} else {
		f.Close()
	}
	err = s.Verify(ctx, img.ID)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "MD5") {
		t.Errorf("Verify: %v, want ErrCorrupt naming the MD5", err)
	}
	// A tampered SHA-512 alone is caught too.
	data[54321] ^= 0x01
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("UPDATE images SET os_hash_value = ? WHERE id = ?", strings.Repeat("0", 128), img.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, img.ID); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "SHA-512") {
		t.Errorf("Verify: %v, want ErrCorrupt naming the SHA-512", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Verify(cancelled, img.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a cancelled context: %v", err)
	}
}

func TestStoreOpenRemovesLeftovers(t *testing.T) {
	if !canLock {
		t.Skip("no flock: Open never cleans up here")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.Import(ctx, strings.NewReader("live"), ImportOptions{ID: "live"})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Import(ctx, strings.NewReader("deleted"), ImportOptions{ID: "deleted"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	queued, err := s.Create(ctx, ImportOptions{ID: "queued"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(rel, data string) {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// What crashes leave: a partial write, data renamed but never
	// committed, data of a deleted image, a file beside a queued image.
	write("staging/abc.part", "partial")
	if err := os.MkdirAll(filepath.Join(dir, "staging", "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("images/uncommitted", "orphan")
	write("images/deleted", "deleted")
	write("images/queued", "stray")
	// Not ours: left alone.
	if err := os.Mkdir(filepath.Join(dir, "images", "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}

	// While another Store has the directory open, nothing is removed: it
	// may be between writing and committing.
	other, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	if n := dirNames(t, filepath.Join(dir, "images")); len(n) != 5 {
		t.Errorf("images/ cleaned while shared: %v", n)
	}
	if n := dirNames(t, filepath.Join(dir, "staging")); len(n) != 2 {
		t.Errorf("staging/ cleaned while shared: %v", n)
	}

	s.Close()
	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := dirNames(t, filepath.Join(dir, "staging")); len(n) != 0 {
		t.Errorf("staging/ holds %v after restart", n)
	}
	if n := dirNames(t, filepath.Join(dir, "images")); !reflect.DeepEqual(n, []string{"live", "subdir"}) {
		t.Errorf("images/ holds %v after restart, want [live subdir]", n)
	}
	if err := s.Verify(ctx, live.ID); err != nil {
		t.Errorf("live image after restart: %v", err)
	}
	if got, err := s.Get(ctx, queued.ID); err != nil || got.Size != nil {
		t.Errorf("queued image after restart: %+v, %v", got, err)
	}
}

// TestConcurrentReadsDuringImport runs imports in one Store while another
// Store on the same directory (a server beside a CLI) and the importing
// one read: run with -race.
func TestStoreConcurrentReadsDuringImport(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	reader, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	seed, err := s.Import(ctx, strings.NewReader("seed"), ImportOptions{ID: "seed"})
	if err != nil {
		t.Fatal(err)
	}

	const imports = 8
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range imports {
			data := patternBytes(256<<10 + i)
			if _, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{ID: fmt.Sprintf("img-%d", i), Properties: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
				errs <- fmt.Errorf("import %d: %w", i, err)
				return
			}
		}
	}()
	for _, st := range []*Store{s, reader} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := st.Get(ctx, seed.ID)
				if err != nil || !reflect.DeepEqual(got, seed) {
					errs <- fmt.Errorf("Get during import: %+v, %v", got, err)
					return
				}
				list, err := st.List(ctx)
				if err != nil {
					errs <- fmt.Errorf("List during import: %w", err)
					return
				}
				// Every listed image is complete: data and properties.
				for _, img := range list[1:] {
					if img.Status != StatusActive || img.Properties["i"] == "" || img.Size == nil {
						errs <- fmt.Errorf("half-visible image %+v", img)
						return
					}
					f, err := st.OpenData(ctx, img)
					if err != nil {
						errs <- fmt.Errorf("OpenData of listed image: %w", err)
						return
					}
					f.Close()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := reader.List(ctx)
	if err != nil || len(list) != imports+1 {
		t.Errorf("List after the imports: %d images, %v", len(list), err)
	}
}
