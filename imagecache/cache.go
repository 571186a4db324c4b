// Package imagecache keeps image bytes on local disk for the gateway, keyed
// by image id and the image's hash (os_hash_algo, os_hash_value). It never
// decides anything: the server takes the policy decision and the caller's
// visibility check on every request before it asks the cache, and the
// cache only answers "these verified bytes, or nothing".
//
// An entry becomes servable only whole and verified: a fill writes to a
// temporary file under DIR/tmp, its hash (and MD5, when known) is checked,
// then it is fsynced and renamed into DIR/data. A crash mid-fill leaves
// only a temporary file, removed at the next Open. The index is rebuilt
// from DIR/data at Open; entries found there are re-hashed before their
// first use. After that, an entry is guarded by its file's size, inode,
// mtime and ctime as they were when it was verified: any write to the file
// through the file system changes its ctime, so a changed entry is dropped,
// never served.
package imagecache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// Key names one entry: an image's id and the hash of its data.
type Key struct {
	ID   string
	Algo string // os_hash_algo: sha256, sha384 or sha512
	Hash string // os_hash_value, lower-case hex
}

var idPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,63}$`)

// check tells why k cannot name an entry (nil: it can).
func (k Key) check() error {
	n, ok := hashSizes[k.Algo]
	switch {
	case !idPattern.MatchString(k.ID):
		return fmt.Errorf("image id %q is not cacheable", k.ID)
	case !ok:
		return fmt.Errorf("hash algorithm %q is not cacheable", k.Algo)
	case len(k.Hash) != 2*n || strings.ToLower(k.Hash) != k.Hash:
		return fmt.Errorf("%s value %q is not lower-case hex of %d bytes", k.Algo, k.Hash, n)
	}
	if _, err := hex.DecodeString(k.Hash); err != nil {
		return fmt.Errorf("%s value %q: %w", k.Algo, k.Hash, err)
	}
	return nil
}

// name is the entry's file name under DIR/data.
func (k Key) name() string { return k.ID + "." + k.Algo + "." + k.Hash }

// parseName is name's inverse.
func parseName(s string) (Key, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Key{}, false
	}
	k := Key{ID: parts[0], Algo: parts[1], Hash: parts[2]}
	return k, k.check() == nil
}

// Options configure a Cache.
type Options struct {
	// Dir holds the cache (created if missing): data/ the entries,
	// tmp/ fills in progress.
	Dir string
	// MaxBytes bounds the entries' total size; the least recently used
	// go first. Must be positive.
	MaxBytes int64
	// Registerer receives the cache's metrics (nil: none).
	Registerer prometheus.Registerer
	// Log gets evictions of corrupt entries and failed fills (nil:
	// discarded).
	Log *slog.Logger
	// Beside says another process (the server) may be filling the
	// directory: Open leaves tmp/ alone. Otherwise what is in tmp/ is
	// what a crash left, and is removed.
	Beside bool
	// SmallBytes bounds the verified bytes of small entries (MaxSmall
	// at most) kept in memory for GetSmall; 0 means DefaultSmallBytes,
	// negative none.
	SmallBytes int64
}

// MaxSmall is the largest entry whose bytes GetSmall keeps in memory.
const MaxSmall = 64 << 10

// DefaultSmallBytes is Options.SmallBytes' default: 1,024 entries of
// MaxSmall.
const DefaultSmallBytes = 1024 * MaxSmall

// Cache is an image cache on disk. Its methods are safe for concurrent
// use; one process at a time serves from a directory (the cache
// command's prefetch and evict may run beside it).
type Cache struct {
	data, tmp string
	max       int64
	log       *slog.Logger

	mu       sync.Mutex
	index    *simplelru.LRU[string, *entry] // by image id, least recently used first
	total    int64                          // bytes of the indexed entries
	reserved int64                          // bytes of the fills in progress
	filling  map[string]bool                // image ids being filled
	small    int64                          // bytes of the entries' data kept in memory
	maxSmall int64                          // Options.SmallBytes
	// watching: watch tells of every change to data/, so a kept entry's
	// bytes are dropped when its file changes and a hit needs no stat.
	watching  bool
	watch     *dataWatch
	watchOnce sync.Once

	verify  singleflight.Group // first use of an entry found on disk
	commits sync.WaitGroup     // fills verifying and renaming in the background

	m metrics
}

// entry is one indexed file.
type entry struct {
	key      Key
	size     int64
	modified time.Time
	verified bool
	guard    guard // the file as it was when verified
	// data, when not nil, are the verified bytes, read under guard
	// (small entries, GetSmall); file is the entry's path.
	data []byte
	file string
}

type metrics struct {
	lookups, fills, evictions *prometheus.CounterVec
	filled                    prometheus.Counter
	hit, miss                 prometheus.Counter // lookups' series, looked up once
}

// Open opens the cache in o.Dir: fills a crash left are removed, and the
// entries there indexed, oldest first, then evicted down to o.MaxBytes.
func Open(o Options) (*Cache, error) {
	if o.MaxBytes <= 0 {
		return nil, errors.New("image cache: the size bound must be positive")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{data: filepath.Join(o.Dir, "data"), tmp: filepath.Join(o.Dir, "tmp"), max: o.MaxBytes, log: o.Log, filling: map[string]bool{}, maxSmall: o.SmallBytes}
	if c.maxSmall == 0 {
		c.maxSmall = DefaultSmallBytes
	}
	var err error
	if c.index, err = simplelru.NewLRU[string, *entry](math.MaxInt, nil); err != nil {
		return nil, fmt.Errorf("image cache index: %w", err)
	}
	c.m = newMetrics()
	for _, d := range []string{c.data, c.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image cache: %w", err)
		}
	}
	if !o.Beside {
		if err := c.removeTemporaries(); err != nil {
			return nil, err
		}
	}
	if err := c.scan(); err != nil {
		return nil, err
	}
	if o.Registerer != nil {
		if err := c.register(o.Registerer); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func newMetrics() metrics {
	m := metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_image_cache_lookups_total",
			Help: "Image cache lookups of downloads that policy allowed, by result: hit, miss.",
		}, []string{"result"}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_image_cache_fills_total",
			Help: "Image cache fills, by result: stored, mismatch (data did not match the hash), aborted (download broke off), skipped (another fill of the image in progress, or no room), failed (disk).",
		}, []string{"result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_image_cache_evictions_total",
			Help: "Image cache entries removed, by reason: size (the bound), replaced (the image's hash changed), corrupt (the file changed on disk), missing, operator.",
		}, []string{"reason"}),
		filled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oslorego_image_cache_filled_bytes_total",
			Help: "Bytes stored in the image cache by fills.",
		}),
	}
	m.hit, m.miss = m.lookups.WithLabelValues("hit"), m.lookups.WithLabelValues("miss")
	return m
}

func (c *Cache) register(r prometheus.Registerer) error {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "oslorego_image_cache_bytes",
		Help: "Bytes of the image cache's entries.",
	}, func() float64 { c.mu.Lock(); defer c.mu.Unlock(); return float64(c.total) })
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "oslorego_image_cache_entries",
		Help: "Entries in the image cache.",
	}, func() float64 { c.mu.Lock(); defer c.mu.Unlock(); return float64(c.index.Len()) })
	for _, col := range []prometheus.Collector{c.m.lookups, c.m.fills, c.m.evictions, c.m.filled, size, entries} {
		if err := r.Register(col); err != nil {
			return fmt.Errorf("registering the image cache metrics: %w", err)
		}
	}
	return nil
}

// removeTemporaries removes what fills left in tmp/: a fill in progress
// when the last process stopped is nothing anyone can serve.
func (c *Cache) removeTemporaries() error {
	des, err := os.ReadDir(c.tmp)
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(c.tmp, de.Name())); err != nil {
			return fmt.Errorf("image cache: removing an unfinished fill: %w", err)
		}
	}
	return nil
}

// scan indexes data/, oldest first; entries are unverified until their
// first use. Of two entries of one image, the older is removed.
func (c *Cache) scan() error {
	des, err := os.ReadDir(c.data)
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	var found []*entry
	for _, de := range des {
		k, ok := parseName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue // not ours: left alone
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		found = append(found, &entry{key: k, size: fi.Size(), modified: fi.ModTime()})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].modified.Before(found[j].modified) })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range found {
		if old, ok := c.index.Peek(e.key.ID); ok {
			c.removeLocked(old, "replaced")
		}
		c.addLocked(e)
	}
	c.evictLocked(0)
	return nil
}

func (c *Cache) path(k Key) string { return filepath.Join(c.data, k.name()) }

// addLocked indexes e as the most recently used.
func (c *Cache) addLocked(e *entry) {
	c.index.Add(e.key.ID, e)
	c.total += e.size
}

// removeLocked removes e, index and file, if it is still the image's
// entry.
func (c *Cache) removeLocked(e *entry, reason string) {
	if cur, ok := c.index.Peek(e.key.ID); !ok || cur != e {
		return
	}
	c.index.Remove(e.key.ID)
	c.total -= e.size
	c.small -= int64(len(e.data))
	e.data = nil
	if err := os.Remove(c.path(e.key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("image cache: removing an entry", "image", e.key.ID, "error", err)
	}
	c.m.evictions.WithLabelValues(reason).Inc()
}

// evictLocked removes the least recently used entries until need more
// bytes fit under the bound beside the entries and the fills in
// progress; it tells whether they fit.
func (c *Cache) evictLocked(need int64) bool {
	for c.total+c.reserved+need > c.max {
		_, e, ok := c.index.GetOldest()
		if !ok {
			return false
		}
		c.removeLocked(e, "size")
	}
	return true
}

// Get returns the entry of k, opened, if there is one, whole (size bytes)
// and verified; the caller closes it. An entry of the same image under
// another hash is removed (the image was replaced), and so is one whose
// file changed on disk. Call Get only for a request already allowed.
func (c *Cache) Get(k Key, size int64) (*os.File, bool) {
	f, _, err := c.get(k, size)
	if !c.counted(k, err) {
		return nil, false
	}
	return f, true
}

// counted counts a lookup of k that ended with err (nil: a hit), logs a
// dropped entry, and tells whether it was a hit.
func (c *Cache) counted(k Key, err error) bool {
	if err != nil {
		if !errors.Is(err, errMiss) {
			c.log.Warn("image cache: entry dropped", "image", k.ID, "error", err)
		}
		c.m.miss.Inc()
		return false
	}
	c.m.hit.Inc()
	return true
}

// GetSmall is Get for an entry of at most MaxSmall bytes, answered with
// its verified bytes: from memory once they are kept there (no open,
// read or close). A change to the file on disk drops the kept bytes (an
// inotify watch of the directory tells, or, without one, a stat of the
// file on every hit), and the next hit drops a changed entry exactly as
// Get drops it. The bytes are shared: the caller must not change them.
func (c *Cache) GetSmall(k Key, size int64) ([]byte, bool) {
	b, err := c.getSmall(k, size)
	if !c.counted(k, err) {
		return nil, false
	}
	return b, true
}

func (c *Cache) getSmall(k Key, size int64) ([]byte, error) {
	if size > MaxSmall {
		return nil, errMiss
	}
	c.mu.Lock()
	e, ok := c.index.Get(k.ID)
	var data []byte
	var g guard
	var file string
	if ok && e.key == k && e.size == size && e.data != nil {
		data, g, file = e.data, e.guard, e.file
	}
	watching := c.watching
	c.mu.Unlock()
	if data != nil && watching {
		return data, nil
	}
	if data != nil {
		if fi, err := os.Stat(file); err == nil && guardOf(fi) == g {
			return data, nil
		}
		// Changed or gone: get finds out which, and drops it.
	}
	// Before the file is checked: a change after the check is an event.
	c.watchOnce.Do(c.startWatch)
	f, e, err := c.get(k, size)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		c.drop(e, "corrupt")
		return nil, fmt.Errorf("image cache entry %s: %w", k.name(), err)
	}
	// The bytes read are the verified ones only if the file is still as
	// it was verified once they are read.
	fi, err := f.Stat()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || guardOf(fi) != e.guard {
		c.removeLocked(e, "corrupt")
		return nil, fmt.Errorf("image cache entry %s changed on disk while it was read", k.name())
	}
	if cur, ok := c.index.Peek(k.ID); ok && cur == e && e.data == nil && c.small+size <= c.maxSmall {
		e.data, e.file = b, c.path(k)
		c.small += size
	}
	return b, nil
}

// errMiss is a plain miss: no entry.
var errMiss = errors.New("no entry")

// get is Get, with the entry it opened.
func (c *Cache) get(k Key, size int64) (*os.File, *entry, error) {
	if k.check() != nil || size <= 0 {
		return nil, nil, errMiss
	}
	c.mu.Lock()
	e, ok := c.index.Get(k.ID)
	if ok && e.key != k {
		c.removeLocked(e, "replaced")
		ok = false
	}
	if !ok {
		e = c.adoptLocked(k)
	}
	c.mu.Unlock()
	if e == nil || e.size != size {
		return nil, nil, errMiss
	}
	f, err := os.Open(c.path(k))
	if err != nil {
		c.drop(e, "missing")
		return nil, nil, errMiss
	}
	if err := c.check(e, f); err != nil {
		f.Close()
		c.drop(e, "corrupt")
		return nil, nil, err
	}
	return f, e, nil
}

// startWatch watches data/ so that kept bytes are dropped when their
// file changes. Without a watch every hit stats the file instead.
func (c *Cache) startWatch() {
	// Under mu: a watch that fails at once calls lost only after
	// watching is set, never before.
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := watchData(c.data, c.changed, c.lost)
	if err != nil {
		c.log.Info("image cache: kept entries are checked with a stat on every hit", "error", err)
		return
	}
	c.watch, c.watching = w, true
}

// changed drops the kept bytes of the entry whose file name changed on
// disk: its next hit checks the file (and drops a changed entry). Until
// the event is read, a hit may still get the bytes: they are the ones
// verified for that key, whatever the file now holds.
func (c *Cache) changed(name string) {
	k, ok := parseName(name)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index.Peek(k.ID); ok && e.key == k {
		c.small -= int64(len(e.data))
		e.data = nil
	}
}

// lost drops every kept entry's bytes: the watch can no longer tell of
// changes, so hits stat the files again.
func (c *Cache) lost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	for _, e := range c.index.Values() {
		e.data = nil
	}
	c.small = 0
}

// Close stops watching the directory. The cache stays usable: kept
// entries are then checked with a stat on every hit.
func (c *Cache) Close() error {
	c.watchOnce.Do(func() {}) // no watch after Close
	c.mu.Lock()
	w := c.watch
	c.watch = nil
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.close()
}

// adoptLocked indexes, unverified, an entry that appeared on disk after
// Open (the cache command's prefetch).
func (c *Cache) adoptLocked(k Key) *entry {
	fi, err := os.Stat(c.path(k))
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	e := &entry{key: k, size: fi.Size(), modified: fi.ModTime()}
	c.addLocked(e)
	c.evictLocked(0)
	if cur, ok := c.index.Peek(k.ID); !ok || cur != e {
		return nil // larger than the bound
	}
	return e
}

func (c *Cache) drop(e *entry, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(e, reason)
}

// check tells whether the open file f is e's verified data: its size,
// then either the guard recorded when it was verified or, the first time,
// its hash.
func (c *Cache) check(e *entry, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("image cache entry %s: %w", e.key.name(), err)
	}
	if fi.Size() != e.size {
		return fmt.Errorf("image cache entry %s: %d bytes, indexed with %d", e.key.name(), fi.Size(), e.size)
	}
	c.mu.Lock()
	verified, g := e.verified, e.guard
	c.mu.Unlock()
	if verified {
		if guardOf(fi) != g {
			return fmt.Errorf("image cache entry %s changed on disk since it was verified", e.key.name())
		}
		return nil
	}
	_, err, _ = c.verify.Do(e.key.name(), func() (any, error) {
		before := guardOf(fi)
		if err := verifyData(io.NewSectionReader(f, 0, e.size), e.key, ""); err != nil {
			return nil, fmt.Errorf("image cache entry %s: %w", e.key.name(), err)
		}
		after, err := f.Stat()
		if err != nil || guardOf(after) != before {
			return nil, fmt.Errorf("image cache entry %s changed on disk while it was verified", e.key.name())
		}
		c.mu.Lock()
		e.verified, e.guard = true, before
		c.mu.Unlock()
		return nil, nil
	})
	if err != nil {
		return err
	}
	// A caller that joined another's verification checks its own file.
	c.mu.Lock()
	g = e.guard
	c.mu.Unlock()
	if guardOf(fi) != g {
		return fmt.Errorf("image cache entry %s changed on disk since it was verified", e.key.name())
	}
	return nil
}

// Entry describes one entry, for listings.
type Entry struct {
	Key
	Size     int64
	Modified time.Time
	// Verified: hashed by this process (entries found on disk are
	// hashed at their first use).
	Verified bool
	// InMemory: its verified bytes are kept in this process's memory
	// (GetSmall).
	InMemory bool
}

// List returns the entries, most recently used first.
func (c *Cache) List() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.index.Values()
	out := make([]Entry, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		out = append(out, Entry{Key: e.key, Size: e.size, Modified: e.modified, Verified: e.verified, InMemory: e.data != nil})
	}
	return out
}

// Evict removes image id's entry; it tells whether there was one.
func (c *Cache) Evict(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index.Peek(id)
	if ok {
		c.removeLocked(e, "operator")
	}
	return ok
}

// Wait waits for the fills verifying and storing in the background, or
// for ctx.
func (c *Cache) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.commits.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ParseSize reads a size bound: bytes, or a number with the suffix K, M,
// G or T (powers of 1024; an optional trailing "iB" or "B" is allowed).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	shift := 0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			shift, t = 10*(i+1), t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, or one with K, M, G or T", s)
	}
	return v << shift, nil
}
