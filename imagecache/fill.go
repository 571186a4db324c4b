package imagecache

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/google/renameio/v2"
)

// hashSizes are the os_hash_algo values an entry may be keyed by, with
// their digest sizes. Glance's default is sha512; weaker ones are not
// trusted to say that bytes are an image's.
var hashSizes = map[string]int{"sha256": sha256.Size, "sha384": sha512.Size384, "sha512": sha512.Size}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	}
	return sha512.New()
}

// errMismatch: data that is not what its hash says.
var errMismatch = errors.New("data does not match the image's hash")

// verifyData reads r to its end and checks it against k's hash and, when
// md5Hex is not empty, against that MD5 (Glance's checksum) too.
func verifyData(r io.Reader, k Key, md5Hex string) error {
	h := newHash(k.Algo)
	var w io.Writer = h
	var m hash.Hash
	if md5Hex != "" {
		m = md5.New()
		w = io.MultiWriter(h, m)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("reading the data: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != k.Hash {
		return fmt.Errorf("%w: %s %s, want %s", errMismatch, k.Algo, got, k.Hash)
	}
	if m != nil {
		if got := hex.EncodeToString(m.Sum(nil)); got != md5Hex {
			return fmt.Errorf("%w: MD5 %s, want %s", errMismatch, got, md5Hex)
		}
	}
	return nil
}

// Expect is what a fill must turn out to be.
type Expect struct {
	Key
	Size int64
	// MD5 is Glance's checksum, also checked when not empty.
	MD5 string
}

// Fill is one entry being written: Write its data, then Commit or Abort.
type Fill struct {
	c     *Cache
	exp   Expect
	pf    *renameio.PendingFile
	n     int64
	err   error
	ended bool
}

// StartFill starts filling the entry exp, or returns nil when it will not:
// exp is not cacheable, larger than the bound, already there, being filled
// by another download (one fill per image at a time), or there is no room
// beside the fills in progress. Evictions to make room happen now.
func (c *Cache) StartFill(exp Expect) *Fill {
	if exp.check() != nil || exp.Size <= 0 || exp.Size > c.max {
		return nil
	}
	c.mu.Lock()
	if e, ok := c.index.Peek(exp.ID); c.filling[exp.ID] || ok && e.key == exp.Key {
		c.mu.Unlock()
		c.m.fills.WithLabelValues("skipped").Inc()
		return nil
	}
	if !c.evictLocked(exp.Size) {
		c.mu.Unlock()
		c.m.fills.WithLabelValues("skipped").Inc()
		return nil
	}
	c.filling[exp.ID] = true
	c.reserved += exp.Size
	c.mu.Unlock()
	pf, err := renameio.NewPendingFile(c.path(exp.Key), renameio.WithTempDir(c.tmp), renameio.WithStaticPermissions(0o600))
	if err != nil {
		c.log.Warn("image cache: starting a fill", "image", exp.ID, "error", err)
		c.release(exp)
		c.m.fills.WithLabelValues("failed").Inc()
		return nil
	}
	return &Fill{c: c, exp: exp, pf: pf}
}

// release ends a fill's claim on its image and its room.
func (c *Cache) release(exp Expect) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.filling, exp.ID)
	c.reserved -= exp.Size
}

// Write writes the next part of the data; past the expected size it
// fails.
func (f *Fill) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.n+int64(len(p)) > f.exp.Size {
		f.err = fmt.Errorf("image %s: more than its %d bytes", f.exp.ID, f.exp.Size)
		return 0, f.err
	}
	n, err := f.pf.Write(p)
	f.n += int64(n)
	if err != nil {
		f.err = fmt.Errorf("image cache: writing image %s: %w", f.exp.ID, err)
	}
	return n, f.err
}

// Commit makes the fill an entry if it is whole and matches its hash: the
// file is fsynced, renamed into place and its directory fsynced, then
// indexed. Otherwise the temporary file is removed and nothing is served.
func (f *Fill) Commit() error {
	if f.ended {
		return errors.New("image cache: fill already ended")
	}
	f.ended = true
	result, err := f.commit()
	f.c.m.fills.WithLabelValues(result).Inc()
	if err != nil {
		_ = f.pf.Cleanup()
		f.c.release(f.exp)
		f.c.log.Warn("image cache: fill not stored", "image", f.exp.ID, "result", result, "error", err)
		return err
	}
	f.c.m.filled.Add(float64(f.exp.Size))
	return nil
}

func (f *Fill) commit() (result string, err error) {
	switch {
	case f.err != nil:
		return "failed", f.err
	case f.n != f.exp.Size:
		return "aborted", fmt.Errorf("image %s: %d of %d bytes", f.exp.ID, f.n, f.exp.Size)
	}
	if err := verifyData(io.NewSectionReader(f.pf.File, 0, f.n), f.exp.Key, f.exp.MD5); err != nil {
		if errors.Is(err, errMismatch) {
			return "mismatch", fmt.Errorf("image %s: %w", f.exp.ID, err)
		}
		return "failed", fmt.Errorf("image %s: %w", f.exp.ID, err)
	}
	if err := f.pf.CloseAtomicallyReplace(); err != nil {
		return "failed", fmt.Errorf("image %s: storing: %w", f.exp.ID, err)
	}
	if err := syncDir(f.c.data); err != nil {
		return "failed", fmt.Errorf("image %s: %w", f.exp.ID, err)
	}
	fi, err := os.Stat(f.c.path(f.exp.Key))
	if err != nil {
		return "failed", fmt.Errorf("image %s: %w", f.exp.ID, err)
	}
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.index.Peek(f.exp.ID); ok {
		if old.key == f.exp.Key {
			// Same file (the cache command put it there meanwhile): the
			// new entry takes it over.
			c.index.Remove(f.exp.ID)
			c.total -= old.size
		} else {
			c.removeLocked(old, "replaced")
		}
	}
	delete(c.filling, f.exp.ID)
	c.reserved -= f.exp.Size
	c.addLocked(&entry{key: f.exp.Key, size: f.exp.Size, modified: fi.ModTime(), verified: true, guard: guardOf(fi)})
	c.evictLocked(0)
	return "stored", nil
}

// Abort drops the fill: nothing of it is ever served.
func (f *Fill) Abort() {
	if f.ended {
		return
	}
	f.ended = true
	_ = f.pf.Cleanup()
	f.c.release(f.exp)
	f.c.m.fills.WithLabelValues("aborted").Inc()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// Tee returns body reading on to f what it reads: the download is never
// held up by more than f's disk writes, and a failing fill never fails
// it. Once the whole image was read, f is verified and stored in the
// background (Wait waits for it), before the last bytes reach the client;
// a body closed or broken before that (the client hung up, the upstream
// broke off) aborts f.
func (c *Cache) Tee(body io.ReadCloser, f *Fill) io.ReadCloser {
	return &tee{body: body, f: f}
}

type tee struct {
	body  io.ReadCloser
	f     *Fill
	ended bool // the fill was handed on: the tee no longer touches it
	once  sync.Once
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n > 0 && !t.ended && t.f.err == nil {
		_, _ = t.f.Write(p[:n]) // an error is kept in the fill
		if t.f.err == nil && t.f.n == t.f.exp.Size {
			t.end(true)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		t.end(false)
	}
	return n, err
}

func (t *tee) Close() error {
	err := t.body.Close()
	t.end(false)
	return err
}

// end ends the fill once: stored when whole, else dropped.
func (t *tee) end(whole bool) {
	t.once.Do(func() {
		t.ended = true
		f := t.f
		switch {
		case whole:
			c := f.c
			c.commits.Add(1)
			go func() {
				defer c.commits.Done()
				_ = f.Commit() // logged and counted there
			}()
		case f.err != nil:
			_ = f.Commit() // counted as failed, removed
		default:
			f.Abort()
		}
	})
}
