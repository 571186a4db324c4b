package imagestore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"modernc.org/sqlite"
)

// records keeps Get's recent answers in memory, each with the database's
// change stamp at the time of its read. An answer is reused only while the
// stamp is unchanged, so a write committed by any connection or process
// (an `oslorego image` command, sqlite3) before a Get starts is always seen
// by that Get: the cache is exact, not bounded-stale.
//
// The stamp is SQLite's PRAGMA data_version, read on a connection of the
// cache's own which never writes: its value changes whenever another
// connection commits. It is comparable only on one connection, so a stamp
// also names the connection's generation; the connection is closed when
// idle, like the main pool's, and a new one starts a new generation.
//
// Reading the pragma costs a read transaction (locks on the -shm file, a
// stat of the -wal) on every request; where the directory can be watched
// (dirWatch), the last stamp is reused while no file in the directory was
// written since it was read, and the pragma runs only after a write.
type records struct {
	cache *lru.Cache[string, record]

	dsn  string
	idle time.Duration

	// mu serialises the version connection. It is the driver's own, not
	// database/sql's: the pragma stays prepared across calls (preparing it
	// cost more than running it), and database/sql could close the
	// connection under an unfinalized statement, leaving it open.
	mu    sync.Mutex
	conn  driver.Conn
	stmt  driver.StmtQueryContext
	stop  driver.Stmt
	gen   uint64 // bumped for each new connection
	timer *time.Timer
	dest  [1]driver.Value
	used  bool // since the idle timer last fired
	done  bool // closed

	// watch, when not nil, vouches that last is still current while it
	// has seen no change; valid says last was read after the watch's
	// last drain.
	watch *dirWatch
	last  stamp
	valid bool

	hits  atomic.Uint64 // answers from the cache, for tests
	reads atomic.Uint64 // pragmas run, for tests
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

// newRecords keeps at most size records; the version connection opens
// dsn when first needed and closes after idle without use. watch, when
// not nil, is the database directory's (records closes it).
func newRecords(dsn string, size int, idle time.Duration, watch *dirWatch) (*records, error) {
	c, err := lru.New[string, record](size)
	if err != nil {
		return nil, fmt.Errorf("image record cache: %w", err)
	}
	return &records{cache: c, dsn: dsn, idle: idle, watch: watch}, nil
}

// now reads the change stamp. It must be read before the rows it stamps:
// rows read after it are at least as new, so a stamp never vouches for
// older data than it saw.
func (r *records) now(ctx context.Context) (stamp, error) {
	if err := ctx.Err(); err != nil {
		return stamp{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return stamp{}, errors.New("image store is closed")
	}
	if r.watch != nil {
		// Drained before the pragma: a commit after this point is an
		// event for the next call, never lost between the two.
		if !r.watch.changed() && r.valid {
			return r.last, nil
		}
		r.valid = false
	}
	if r.conn == nil {
		if err := r.openLocked(); err != nil {
			return stamp{}, fmt.Errorf("reading image database version: %w", err)
		}
	}
	r.used = true
	// The pragma returns at once: without cancellation the driver starts
	// no watcher goroutine for it.
	rows, err := r.stmt.QueryContext(context.Background(), nil)
	if err != nil {
		r.closeLocked()
		return stamp{}, fmt.Errorf("reading image database version: %w", err)
	}
	err = rows.Next(r.dest[:])
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	v, ok := r.dest[0].(int64)
	if err != nil || !ok {
		r.closeLocked()
		return stamp{}, fmt.Errorf("reading image database version: %v (%T): %w", r.dest[0], r.dest[0], err)
	}
	r.reads.Add(1)
	r.last, r.valid = stamp{gen: r.gen, version: v}, true
	return r.last, nil
}

// openLocked opens the version connection and prepares the pragma; r.mu
// is held.
func (r *records) openLocked() error {
	c, err := (&sqlite.Driver{}).Open(r.dsn)
	if err != nil {
		return err
	}
	st, err := c.Prepare("PRAGMA data_version")
	if err != nil {
		c.Close()
		return err
	}
	q, ok := st.(driver.StmtQueryContext)
	if !ok {
		st.Close()
		c.Close()
		return errors.New("the sqlite driver cannot query a prepared statement with a context")
	}
	r.conn, r.stmt, r.stop = c, q, st
	r.gen++
	if r.timer == nil {
		r.timer = time.AfterFunc(r.idle, r.idleCheck)
	} else {
		r.timer.Reset(r.idle)
	}
	return nil
}

// idleCheck closes the version connection if it was not used since the
// last check, so that an idle store holds no connection.
func (r *records) idleCheck() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil || r.done {
		return
	}
	if r.used {
		r.used = false
		r.timer.Reset(r.idle)
		return
	}
	r.closeLocked()
}

// closeLocked finalizes the pragma and closes the connection; r.mu is
// held.
func (r *records) closeLocked() error {
	if r.conn == nil {
		return nil
	}
	err := r.stop.Close()
	if cerr := r.conn.Close(); err == nil {
		err = cerr
	}
	r.conn, r.stmt, r.stop = nil, nil, nil
	return err
}

// open reports whether the version connection is open (for tests).
func (r *records) open() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn != nil
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

func (r *records) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	if r.timer != nil {
		r.timer.Stop()
	}
	err := r.closeLocked()
	if r.watch != nil {
		if cerr := r.watch.close(); err == nil {
			err = cerr
		}
		r.watch = nil
	}
	return err
}

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
