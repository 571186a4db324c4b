package imagecache

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func expect(id string, data []byte) Expect {
	h := sha512.Sum512(data)
	m := md5.Sum(data)
	return Expect{Key: Key{ID: id, Algo: "sha512", Hash: hex.EncodeToString(h[:])}, Size: int64(len(data)), MD5: hex.EncodeToString(m[:])}
}

func open(t *testing.T, dir string, max int64) *Cache {
	t.Helper()
	c, err := Open(Options{Dir: dir, MaxBytes: max, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fill stores data as id's entry, synchronously.
func fill(t *testing.T, c *Cache, id string, data []byte) Expect {
	t.Helper()
	exp := expect(id, data)
	f := c.StartFill(exp)
	if f == nil {
		t.Fatalf("StartFill(%s) refused", id)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	return exp
}

// served reads id's entry, or reports a miss.
func served(t *testing.T, c *Cache, exp Expect) ([]byte, bool) {
	t.Helper()
	f, ok := c.Get(exp.Key, exp.Size)
	if !ok {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func tmpEmpty(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 0 {
		t.Errorf("tmp/ holds %d files, want none", len(des))
	}
}

func TestFillThenHit(t *testing.T) {
	c := open(t, t.TempDir(), 1<<20)
	data := []byte("image bytes")
	exp := expect("img-1", data)
	if _, ok := served(t, c, exp); ok {
		t.Fatal("hit before any fill")
	}
	fill(t, c, "img-1", data)
	if got, ok := served(t, c, exp); !ok || !bytes.Equal(got, data) {
		t.Fatalf("after the fill: %q %v", got, ok)
	}
	if n := testutil.ToFloat64(c.m.lookups.WithLabelValues("hit")); n != 1 {
		t.Errorf("hits = %v, want 1", n)
	}
	if n := testutil.ToFloat64(c.m.lookups.WithLabelValues("miss")); n != 1 {
		t.Errorf("misses = %v, want 1", n)
	}
	if n := testutil.ToFloat64(c.m.filled); n != float64(len(data)) {
		t.Errorf("filled bytes = %v", n)
	}
	// Asked with another size (the record disagrees): a miss.
	if _, ok := c.Get(exp.Key, exp.Size+1); ok {
		t.Error("hit with another size")
	}
}

// corrupt changes one byte of exp's entry in place, its mtime kept (its
// ctime moves: no system call sets that back).
func corrupt(t *testing.T, c *Cache, exp Expect) {
	t.Helper()
	p := c.path(exp.Key)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // past a coarse timestamp's tick
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 5000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// Data that is not what the hash (or the MD5) says is never stored.
func TestFillMismatchNotStored(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, 1<<20)
	for name, exp := range map[string]Expect{
		"hash": expect("img-1", []byte("the real bytes")),
		"md5": func() Expect {
			e := expect("img-1", []byte("other bytes!!!"))
			e.MD5 = strings.Repeat("0", 32)
			return e
		}(),
	} {
		f := c.StartFill(exp)
		if _, err := f.Write([]byte("other bytes!!!")); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err == nil {
			t.Errorf("%s: Commit of wrong data succeeded", name)
		}
		if _, ok := served(t, c, exp); ok {
			t.Errorf("%s: wrong data served", name)
		}
	}
	if n := testutil.ToFloat64(c.m.fills.WithLabelValues("mismatch")); n != 2 {
		t.Errorf("mismatches = %v, want 2", n)
	}
	tmpEmpty(t, dir)
}

// Least recently used first, down to the bound; an image larger than the
// bound is not filled.
func TestEvictionUnderTheBound(t *testing.T) {
	c := open(t, t.TempDir(), 250)
	a := fill(t, c, "a", bytes.Repeat([]byte("a"), 100))
	b := fill(t, c, "b", bytes.Repeat([]byte("b"), 100))
	if _, ok := served(t, c, a); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	d := fill(t, c, "d", bytes.Repeat([]byte("d"), 100))
	if _, ok := served(t, c, b); ok {
		t.Error("b, the least recently used, was not evicted")
	}
	for _, e := range []Expect{a, d} {
		if _, ok := served(t, c, e); !ok {
			t.Errorf("%s evicted", e.ID)
		}
	}
	if c.StartFill(expect("big", bytes.Repeat([]byte("x"), 251))) != nil {
		t.Error("a fill larger than the bound started")
	}
	var total int64
	for _, e := range c.List() {
		total += e.Size
	}
	if total > 250 {
		t.Errorf("%d bytes cached, bound 250", total)
	}
	if n := testutil.ToFloat64(c.m.evictions.WithLabelValues("size")); n != 1 {
		t.Errorf("size evictions = %v, want 1", n)
	}
	des, _ := os.ReadDir(c.data)
	if len(des) != 2 {
		t.Errorf("data/ holds %d files, want 2", len(des))
	}
}

// An entry whose bytes changed on disk is never served: not after it was
// filled (the guard: its ctime moved, even with the mtime put back), not
// after a restart (re-hashed at first use).
func TestCorruptEntryNeverServed(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	t.Run("after the fill", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := fill(t, c, "img", data)
		if _, ok := served(t, c, exp); !ok {
			t.Fatal("not served before the corruption")
		}
		corrupt(t, c, exp)
		if got, ok := served(t, c, exp); ok {
			t.Fatalf("corrupt entry served (%d bytes)", len(got))
		}
		if _, err := os.Stat(c.path(exp.Key)); !os.IsNotExist(err) {
			t.Errorf("corrupt entry still on disk: %v", err)
		}
		if n := testutil.ToFloat64(c.m.evictions.WithLabelValues("corrupt")); n != 1 {
			t.Errorf("corrupt evictions = %v, want 1", n)
		}
	})
	t.Run("after a restart", func(t *testing.T) {
		dir := t.TempDir()
		c := open(t, dir, 1<<20)
		exp := fill(t, c, "img", data)
		good := fill(t, c, "good", []byte("fine"))
		corrupt(t, c, exp)
		c2 := open(t, dir, 1<<20)
		if len(c2.List()) != 2 || c2.List()[0].Verified {
			t.Fatalf("after the restart: %+v, want two unverified entries", c2.List())
		}
		if _, ok := served(t, c2, exp); ok {
			t.Fatal("corrupt entry served after a restart")
		}
		if got, ok := served(t, c2, good); !ok || string(got) != "fine" {
			t.Fatalf("good entry after a restart: %q %v", got, ok)
		}
		if es := c2.List(); len(es) != 1 || !es[0].Verified {
			t.Errorf("entries: %+v, want the good one, verified", es)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := fill(t, c, "img", data)
		if err := os.Truncate(c.path(exp.Key), 10); err != nil {
			t.Fatal(err)
		}
		if _, ok := served(t, c, exp); ok {
			t.Fatal("truncated entry served")
		}
	})
}

// A crash mid-fill leaves nothing servable: the temporary file is not
// in data/, and the next Open removes it.
func TestCrashMidFill(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, 1<<20)
	data := bytes.Repeat([]byte("z"), 4096)
	exp := expect("img", data)
	f := c.StartFill(exp)
	if _, err := f.Write(data[:2000]); err != nil {
		t.Fatal(err)
	}
	// The process dies here: no Commit, no Abort.
	if _, ok := served(t, c, exp); ok {
		t.Fatal("a fill in progress was served")
	}
	c2 := open(t, dir, 1<<20)
	if _, ok := served(t, c2, exp); ok {
		t.Fatal("a crashed fill was served after the restart")
	}
	if len(c2.List()) != 0 {
		t.Errorf("entries after the restart: %+v", c2.List())
	}
	tmpEmpty(t, dir)
}

// Through Tee: a whole read is stored in the background; a reader that
// stops early (the client hung up) leaves nothing; a broken body either.
func TestTee(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<12)
	t.Run("whole", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := expect("img", data)
		body := c.Tee(io.NopCloser(bytes.NewReader(data)), c.StartFill(exp))
		got, err := io.ReadAll(body)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("through the tee: %d bytes, %v", len(got), err)
		}
		body.Close()
		if err := c.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := served(t, c, exp); !ok {
			t.Fatal("not stored")
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		dir := t.TempDir()
		c := open(t, dir, 1<<20)
		exp := expect("img", data)
		body := c.Tee(io.NopCloser(bytes.NewReader(data)), c.StartFill(exp))
		if _, err := io.CopyN(io.Discard, body, int64(len(data)/2)); err != nil {
			t.Fatal(err)
		}
		body.Close()
		_ = c.Wait(context.Background())
		if _, ok := served(t, c, exp); ok {
			t.Fatal("half an image served")
		}
		tmpEmpty(t, dir)
		if n := testutil.ToFloat64(c.m.fills.WithLabelValues("aborted")); n != 1 {
			t.Errorf("aborted fills = %v, want 1", n)
		}
		// The image may be filled again.
		if c.StartFill(exp) == nil {
			t.Error("no new fill after an aborted one")
		}
	})
	t.Run("broken upstream", func(t *testing.T) {
		dir := t.TempDir()
		c := open(t, dir, 1<<20)
		exp := expect("img", data)
		body := c.Tee(io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{})), c.StartFill(exp))
		if _, err := io.ReadAll(body); err == nil {
			t.Fatal("no error")
		}
		body.Close()
		_ = c.Wait(context.Background())
		if _, ok := served(t, c, exp); ok {
			t.Fatal("a broken transfer was stored")
		}
		tmpEmpty(t, dir)
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// One fill per image at a time.
func TestOneFillPerImage(t *testing.T) {
	c := open(t, t.TempDir(), 1<<20)
	data := []byte("bytes")
	exp := expect("img", data)
	var wg sync.WaitGroup
	fills := make(chan *Fill, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); fills <- c.StartFill(exp) }()
	}
	wg.Wait()
	close(fills)
	started := 0
	for f := range fills {
		if f != nil {
			started++
			_, _ = f.Write(data)
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if started != 1 {
		t.Fatalf("%d fills started, want 1", started)
	}
	if c.StartFill(exp) != nil {
		t.Error("a fill of an entry already there started")
	}
}

// A new hash for the image: the old entry is removed, never served.
func TestReplacedImage(t *testing.T) {
	c := open(t, t.TempDir(), 1<<20)
	old := fill(t, c, "img", []byte("old bytes"))
	now := expect("img", []byte("new bytes"))
	if _, ok := served(t, c, now); ok {
		t.Fatal("the old entry served for the new hash")
	}
	if _, err := os.Stat(c.path(old.Key)); !os.IsNotExist(err) {
		t.Errorf("old entry still on disk: %v", err)
	}
	fill(t, c, "img", []byte("new bytes"))
	if got, ok := served(t, c, now); !ok || string(got) != "new bytes" {
		t.Fatalf("new entry: %q %v", got, ok)
	}
	if _, ok := served(t, c, old); ok {
		t.Error("old hash served")
	}
}

// Entries another process put in the directory (the cache command's
// prefetch) are found on a miss, and hashed before their first use.
func TestAdoptsPrefetched(t *testing.T) {
	dir := t.TempDir()
	server := open(t, dir, 1<<20)
	cli := open(t, dir, 1<<20)
	exp := fill(t, cli, "img", []byte("prefetched"))
	if got, ok := served(t, server, exp); !ok || string(got) != "prefetched" {
		t.Fatalf("prefetched entry: %q %v", got, ok)
	}
	if !cli.Evict("img") || cli.Evict("img") {
		t.Error("Evict: want true once")
	}
	if _, ok := served(t, server, exp); ok {
		t.Error("an evicted entry served")
	}
}

func TestKeys(t *testing.T) {
	good := expect("0b5e8ad8-7dd6-4a1f-9a4b-38b2f3e2b1c7", []byte("x")).Key
	for _, k := range []Key{
		{ID: "../etc", Algo: good.Algo, Hash: good.Hash},
		{ID: "a.b", Algo: good.Algo, Hash: good.Hash},
		{ID: good.ID, Algo: "md5", Hash: strings.Repeat("0", 32)},
		{ID: good.ID, Algo: good.Algo, Hash: strings.ToUpper(good.Hash)},
		{ID: good.ID, Algo: good.Algo, Hash: good.Hash[:10]},
		{ID: good.ID, Algo: good.Algo, Hash: strings.Repeat("g", 128)},
	} {
		if k.check() == nil {
			t.Errorf("%+v accepted", k)
		}
	}
	if err := good.check(); err != nil {
		t.Error(err)
	}
	if k, ok := parseName(good.name()); !ok || k != good {
		t.Errorf("parseName(name()) = %+v", k)
	}
	if _, err := Open(Options{Dir: t.TempDir()}); err == nil {
		t.Error("Open without a bound")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "10K": 10 << 10, "512M": 512 << 20, "10G": 10 << 30, "10GiB": 10 << 30, "2gb": 2 << 30, "1T": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "G", "1.5G", "10X", "9999999999T"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

// Beside a running server, Open leaves its fills in progress alone.
func TestOpenBesideKeepsFills(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, 1<<20)
	data := []byte("bytes")
	f := c.StartFill(expect("img", data))
	if _, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, Beside: true}); err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(data)
	if err := f.Commit(); err != nil {
		t.Fatalf("a fill beside Open(Beside): %v", err)
	}
}

// GetSmall answers a small entry's verified bytes, from memory after the
// first time, and drops the entry as Get does when its file is changed,
// removed or replaced under it, or when the image was replaced.
func TestGetSmall(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	kept := func(c *Cache) int64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.small
	}
	small := func(t *testing.T, c *Cache, exp Expect, want []byte) {
		t.Helper()
		got, ok := c.GetSmall(exp.Key, exp.Size)
		if want == nil && ok {
			t.Fatalf("GetSmall: %d bytes served, want a miss", len(got))
		}
		if want != nil && (!ok || !bytes.Equal(got, want)) {
			t.Fatalf("GetSmall: %d bytes, %v; want %d bytes", len(got), ok, len(want))
		}
	}
	t.Run("kept", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := fill(t, c, "img", data)
		small(t, c, exp, data)
		if kept(c) != exp.Size {
			t.Fatalf("%d bytes in memory, want %d", kept(c), exp.Size)
		}
		small(t, c, exp, data)
		if n := testutil.ToFloat64(c.m.lookups.WithLabelValues("hit")); n != 2 {
			t.Errorf("hits = %v, want 2", n)
		}
		small(t, c, Expect{Key: exp.Key, Size: exp.Size + 1}, nil)
	})
	// With the directory watched, a change drops the kept bytes as soon
	// as its event is read (until then a hit gets the verified bytes);
	// without a watch (Close), every hit stats the file.
	for _, watched := range []bool{true, false} {
		t.Run(fmt.Sprintf("corrupted, watched %v", watched), func(t *testing.T) {
			c := open(t, t.TempDir(), 1<<20)
			if !watched {
				c.Close()
			}
			exp := fill(t, c, "img", data)
			small(t, c, exp, data)
			if c.List()[0].InMemory != true {
				t.Fatal("not kept in memory")
			}
			corrupt(t, c, exp)
			if watched {
				waitDropped(t, c)
			}
			small(t, c, exp, nil)
			if n := testutil.ToFloat64(c.m.evictions.WithLabelValues("corrupt")); n != 1 {
				t.Errorf("corrupt evictions = %v, want 1", n)
			}
			if kept(c) != 0 || len(c.List()) != 0 {
				t.Errorf("after the corruption: %d bytes in memory, entries %+v; want none", kept(c), c.List())
			}
		})
	}
	t.Run("watch lost", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := fill(t, c, "img", data)
		small(t, c, exp, data)
		c.Close() // as if the watch failed: the bytes go, hits stat
		waitDropped(t, c)
		small(t, c, exp, data)
		corrupt(t, c, exp)
		small(t, c, exp, nil)
	})
	t.Run("removed by another process", func(t *testing.T) {
		dir := t.TempDir()
		c, cli := open(t, dir, 1<<20), open(t, dir, 1<<20)
		exp := fill(t, c, "img", data)
		small(t, c, exp, data)
		if err := os.Remove(c.path(exp.Key)); err != nil {
			t.Fatal(err)
		}
		waitDropped(t, c)
		small(t, c, exp, nil)
		fill(t, cli, "img", data) // prefetched again: adopted, hashed, kept
		small(t, c, exp, data)
	})
	t.Run("replaced image", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		old := fill(t, c, "img", data)
		small(t, c, old, data)
		now := expect("img", []byte("new bytes"))
		small(t, c, now, nil)
		small(t, c, old, nil)
		if kept(c) != 0 {
			t.Errorf("%d bytes in memory after the replacement, want 0", kept(c))
		}
	})
	t.Run("evicted", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		exp := fill(t, c, "img", data)
		small(t, c, exp, data)
		if !c.Evict("img") {
			t.Fatal("nothing evicted")
		}
		small(t, c, exp, nil)
		if kept(c) != 0 {
			t.Errorf("%d bytes in memory after the eviction, want 0", kept(c))
		}
	})
	t.Run("bound", func(t *testing.T) {
		c, err := Open(Options{Dir: t.TempDir(), MaxBytes: 1 << 20, SmallBytes: int64(len(data)) + 10})
		if err != nil {
			t.Fatal(err)
		}
		a, b := fill(t, c, "a", data), fill(t, c, "b", data)
		small(t, c, a, data)
		small(t, c, b, data) // served, not kept: no room
		small(t, c, b, data)
		if kept(c) != a.Size {
			t.Errorf("%d bytes in memory, want %d (one entry under the bound)", kept(c), a.Size)
		}
	})
	t.Run("large", func(t *testing.T) {
		c := open(t, t.TempDir(), 1<<20)
		big := bytes.Repeat([]byte("x"), MaxSmall+1)
		exp := fill(t, c, "img", big)
		small(t, c, exp, nil)
		if got, ok := served(t, c, exp); !ok || !bytes.Equal(got, big) {
			t.Fatal("a large entry not served by Get")
		}
	})
}

// waitDropped waits (at most 10 s) until c keeps no entry's bytes: the
// watch read the event of a change.
func waitDropped(t *testing.T, c *Cache) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.mu.Lock()
		n := c.small
		c.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("kept bytes not dropped after the file changed")
}
