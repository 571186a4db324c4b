package imagestore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// records keeps Get's recent answers in memory, each with the database's
// change stamp at the time of its read. An answer is reused only while the
// stamp is unchanged, so a write committed by any connection or process
// (an `oslorego image` command, sqlite3) before a Get starts is always seen
// by that Get: the cache is exact, not bounded-stale.
//
// The stamp is SQLite's PRAGMA data_version read on a connection of its
// own (versions), which never writes: the pragma's value changes whenever
// another connection commits. It is comparable only on one connection, so
// a stamp also names the connection it was read on; versions may close
// its idle connection like the main pool, and a new one starts a new
// generation.
type records struct {
	versions *sql.DB
	cache    *lru.Cache[string, record]

	mu       sync.Mutex
	lastConn any    // the driver connection of the last stamp; kept alive so no new one can share its address
	gen      uint64 // bumped whenever the versions connection is a new one

	hits atomic.Uint64 // answers from the cache, for tests
}

// record is one cached answer of Get and the stamp it was read under.
type record struct {
	at  stamp
	img Image
}

// stamp is a reading of the change counter.
type stamp struct {
	gen     uint64
	version int64
}

// newRecords opens the version connection on dsn; size bounds the records
// kept (least recently used first out).
func newRecords(dsn string, size int, idle time.Duration) (*records, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening image database: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(idle)
	c, err := lru.New[string, record](size)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("image record cache: %w", err)
	}
	return &records{versions: db, cache: c}, nil
}

// now reads the change stamp. It must be read before the rows it stamps:
// rows read after it are at least as new, so a stamp never vouches for
// older data than it saw.
func (r *records) now(ctx context.Context) (stamp, error) {
	c, err := r.versions.Conn(ctx)
	if err != nil {
		return stamp{}, fmt.Errorf("reading image database version: %w", err)
	}
	defer c.Close()
	var st stamp
	err = c.Raw(func(dc any) error {
		r.mu.Lock()
		if dc != r.lastConn {
			r.lastConn = dc
			r.gen++
		}
		st.gen = r.gen
		r.mu.Unlock()
		return nil
	})
	if err != nil {
		return stamp{}, fmt.Errorf("reading image database version: %w", err)
	}
	// The pragma returns at once: without cancellation the driver starts no
	// watcher goroutine for it.
	if err := c.QueryRowContext(context.WithoutCancel(ctx), "PRAGMA data_version").Scan(&st.version); err != nil {
		return stamp{}, fmt.Errorf("reading image database version: %w", err)
	}
	return st, nil
}

// get returns the cached image id if it was read under st.
func (r *records) get(id string, st stamp) (Image, bool) {
	rec, ok := r.cache.Get(id)
	if !ok || rec.at != st {
		return Image{}, false
	}
	r.hits.Add(1)
	return rec.img.clone(), true
}

// put caches img, read under st.
func (r *records) put(st stamp, img Image) {
	r.cache.Add(img.ID, record{at: st, img: img.clone()})
}

func (r *records) close() error { return r.versions.Close() }

// clone copies what a caller could change in place: the properties and
// the tags (pointer fields are replaced, never written through).
func (img Image) clone() Image {
	if img.Properties != nil {
		img.Properties = maps.Clone(img.Properties)
	}
	if img.Tags != nil {
		img.Tags = slices.Clone(img.Tags)
	}
	return img
}
