package imagestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Errors besides ErrNotFound. They are wrapped with detail; test with
// errors.Is.
var (
	// ErrNoData is returned for an image that has no data: a queued image,
	// or one whose data file is gone.
	ErrNoData = errors.New("image has no data")
	// ErrCorrupt is returned when an image's data does not match its
	// recorded size or checksums: it must never be served.
	ErrCorrupt = errors.New("image data is corrupt")
	// ErrExists is returned when an image ID is already taken, also by a
	// deleted image (Glance never reuses an ID).
	ErrExists = errors.New("image already exists")
	// ErrInvalid is returned for a bad argument (visibility, status, ID,
	// property name...) or a status change the image's status forbids.
	ErrInvalid = errors.New("invalid")
)

// statusDeleted is the status of a soft-deleted row; such rows are never
// returned, so it is not exported.
const statusDeleted = "deleted"

// schemaVersion is kept in PRAGMA user_version; bump it with a migration.
const schemaVersion = 1

// timeLayout stores times as sortable UTC text with microseconds, so that
// they round-trip exactly and ORDER BY created_at is chronological.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// schema is idempotent: Open runs it every time. Columns follow Glance's
// images, image_properties, image_tags and image_members tables.
const schema = `
CREATE TABLE IF NOT EXISTS images (
	id               TEXT PRIMARY KEY NOT NULL,
	name             TEXT,
	size             INTEGER,
	virtual_size     INTEGER,
	status           TEXT NOT NULL,
	visibility       TEXT NOT NULL,
	owner            TEXT,
	checksum         TEXT,
	os_hash_algo     TEXT,
	os_hash_value    TEXT,
	disk_format      TEXT,
	container_format TEXT,
	min_disk         INTEGER NOT NULL DEFAULT 0,
	min_ram          INTEGER NOT NULL DEFAULT 0,
	protected        INTEGER NOT NULL DEFAULT 0,
	os_hidden        INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	deleted_at       TEXT,
	deleted          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_live ON images (deleted, created_at, id);
CREATE TABLE IF NOT EXISTS image_properties (
	image_id TEXT NOT NULL REFERENCES images (id),
	name     TEXT NOT NULL,
	value    TEXT NOT NULL,
	PRIMARY KEY (image_id, name)
);
CREATE TABLE IF NOT EXISTS image_tags (
	image_id TEXT NOT NULL REFERENCES images (id),
	value    TEXT NOT NULL,
	PRIMARY KEY (image_id, value)
);
CREATE TABLE IF NOT EXISTS image_members (
	image_id   TEXT NOT NULL REFERENCES images (id),
	member     TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (image_id, member)
);
`

// writeSyncCloser is what image data is staged into: an *os.File, or a
// failing writer in tests (a full disk). Fd is for its lock.
type writeSyncCloser interface {
	io.Writer
	Sync() error
	Close() error
	Fd() uintptr
}

// Store is the image store in one data directory. It is safe for
// concurrent use, also by several processes on the same directory (a CLI
// importing while a server reads).
type Store struct {
	dir  string
	db   *sql.DB
	lock *os.File // shared flock held while open; see Open
	// create opens a new staging file; tests replace it to fail writes.
	create func(name string) (writeSyncCloser, error)
	now    func() time.Time
	getOne *sql.Stmt // Get's statement
	// records caches Get's answers, exactly; nil when Options.RecordCache
	// is negative.
	records *records
	// small caches SmallData; nil when Options.SmallDataCache is
	// negative.
	small *lru.Cache[smallKey, []byte]
	// staleAfter is Options.StaleAfter.
	staleAfter time.Duration
	// afterPublish, when set (by tests), runs between moving an import's
	// data into place and committing its row.
	afterPublish func()
}

// Options tune a Store; zero fields take the defaults.
type Options struct {
	// MaxOpenConns bounds the database connections, so that a burst of
	// requests queues for a connection instead of opening one (and its
	// file descriptors) each. Default 4×GOMAXPROCS, at least 4: WAL
	// readers do not block each other, and reads are CPU-bound.
	MaxOpenConns int
	// MaxIdleConns is how many idle connections are kept for reuse.
	// Default GOMAXPROCS, at least 2, at most MaxOpenConns.
	MaxIdleConns int
	// ConnMaxIdleTime closes a connection left idle this long, so that
	// an idle store holds no connection. Default one minute.
	ConnMaxIdleTime time.Duration
	// RecordCache is how many image records Get keeps in memory (least
	// recently used first out) and answers from while the database is
	// unchanged since their read, by whatever process: a cached answer is
	// never older than the last commit before the Get. Checking costs one
	// PRAGMA on one more connection (idle-closed as the others). 0 means
	// DefaultRecordCache; negative, no cache.
	RecordCache int
	// SmallDataCache is how many images' data SmallData keeps in memory,
	// each at most MaxSmallData bytes (least recently used first out).
	// 0 means DefaultSmallDataCache (64 MiB at most); negative, none.
	SmallDataCache int
	// StaleAfter is how old (by modification time) an unlocked staging
	// file or unreferenced data file must be before Sweep removes it.
	// The locks already protect imports in progress; the grace period
	// covers importers that do not lock (older versions during an
	// upgrade). Default five minutes.
	StaleAfter time.Duration
}

// DefaultRecordCache is Options.RecordCache's default.
const DefaultRecordCache = 1024

// DefaultSmallDataCache is Options.SmallDataCache's default.
const DefaultSmallDataCache = 1024

// withDefaults fills in zero fields; negative ones are ErrInvalid.
func (o Options) withDefaults() (Options, error) {
	if o.MaxOpenConns < 0 || o.MaxIdleConns < 0 || o.ConnMaxIdleTime < 0 || o.StaleAfter < 0 {
		return o, fmt.Errorf("%w: image store options %+v: negative value", ErrInvalid, o)
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = max(2, runtime.GOMAXPROCS(0))
	}
	o.MaxIdleConns = min(o.MaxIdleConns, o.MaxOpenConns)
	if o.ConnMaxIdleTime == 0 {
		o.ConnMaxIdleTime = time.Minute
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 5 * time.Minute
	}
	if o.RecordCache == 0 {
		o.RecordCache = DefaultRecordCache
	}
	if o.SmallDataCache == 0 {
		o.SmallDataCache = DefaultSmallDataCache
	}
	return o, nil
}

// Open opens (creating if needed) the store in dir with the default
// Options: dir/images.db holds the metadata, dir/images/ the data files,
// dir/staging/ partial writes. When no other Store has the directory
// open, Open removes what a crash left behind: staging files, and data
// files no live image references; otherwise Sweep does, once they are
// stale.
func Open(ctx context.Context, dir string) (*Store, error) {
	return OpenWith(ctx, dir, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("image store %s: %w", dir, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "images"), filepath.Join(abs, "staging")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating image store directory: %w", err)
		}
	}
	s := &Store{
		dir:        abs,
		create:     createFile,
		now:        time.Now,
		staleAfter: opts.StaleAfter,
	}
	// WAL lets readers (a server) proceed while a writer (a CLI import)
	// commits; busy_timeout makes writers queue instead of failing; FULL
	// synchronous makes a committed import survive power loss; immediate
	// write transactions take the write lock up front so that they never
	// fail on a read-to-write upgrade.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(abs, "images.db"))}
	dsn := u.String() + "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate"
	s.db, err = sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening image database: %w", err)
	}
	// Unbounded, a burst opened a connection per request; SQLite keeps a
	// closed connection's descriptor while others hold locks on the file,
	// so they stayed until every connection closed. Waiting for a
	// connection honours the request's context (database/sql).
	s.db.SetMaxOpenConns(opts.MaxOpenConns)
	s.db.SetMaxIdleConns(opts.MaxIdleConns)
	s.db.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.lockAndClean(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.prepareGet(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.SmallDataCache > 0 {
		if s.small, err = lru.New[smallKey, []byte](opts.SmallDataCache); err != nil {
			s.Close()
			return nil, fmt.Errorf("image data cache: %w", err)
		}
	}
	if opts.RecordCache > 0 {
		// Without a watch (another system, inotify's limits) every Get
		// reads the pragma: slower, as exact.
		watch, _ := newDirWatch(abs)
		if s.records, err = newRecords(dsn, opts.RecordCache, opts.ConnMaxIdleTime, watch); err != nil {
			if watch != nil {
				watch.close()
			}
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the database and lets other processes clean the directory.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.records != nil {
		if cerr := s.records.close(); err == nil {
			err = cerr
		}
	}
	if s.lock != nil {
		// Closing the file releases the flock.
		if cerr := s.lock.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("closing image store: %w", err)
	}
	return nil
}

// migrate creates the schema and records its version, refusing a database
// written by a newer program.
func (s *Store) migrate(ctx context.Context) error {
	// The common case, an up-to-date database, needs no write lock: a
	// reader opening the store never waits for an importer.
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("reading image database version: %w", err)
	}
	if v == schemaVersion {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("opening image database: %w", err)
	}
	defer tx.Rollback()
	// Read again under the write lock: another process may have migrated.
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("reading image database version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("image database schema version %d is newer than this program's (%d)", v, schemaVersion)
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("creating image database schema: %w", err)
	}
	if v != schemaVersion {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return fmt.Errorf("setting image database version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("creating image database schema: %w", err)
	}
	return nil
}

// lockAndClean takes a shared lock on dir/lock for the Store's lifetime.
// Only when an exclusive lock can be had first — no other Store, in any
// process, is open and so none is between writing and committing — does
// it remove all crash leftovers at once; otherwise Sweep removes them once
// they are stale.
func (s *Store) lockAndClean(ctx context.Context) error {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening image store lock: %w", err)
	}
	alone, err := tryLockExclusive(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("locking image store: %w", err)
	}
	if alone {
		if err := s.removeLeftovers(ctx); err != nil {
			f.Close()
			return err
		}
	}
	if err := lockShared(f); err != nil {
		f.Close()
		return fmt.Errorf("locking image store: %w", err)
	}
	s.lock = f
	return nil
}

// removeLeftovers empties staging/ and removes data files that no live
// image with data references (a crash after the rename, before the commit,
// or after a delete's commit, before the file removal).
func (s *Store) removeLeftovers(ctx context.Context) error {
	staging := filepath.Join(s.dir, "staging")
	entries, err := os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("cleaning image staging directory: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(staging, e.Name())); err != nil {
			return fmt.Errorf("cleaning image staging directory: %w", err)
		}
	}

	live := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM images WHERE deleted = 0 AND size IS NOT NULL")
	if err != nil {
		return fmt.Errorf("listing image data: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("listing image data: %w", err)
		}
		live[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing image data: %w", err)
	}

	images := filepath.Join(s.dir, "images")
	entries, err = os.ReadDir(images)
	if err != nil {
		return fmt.Errorf("cleaning image data directory: %w", err)
	}
	removed := false
	for _, e := range entries {
		// Only regular files are ours; anything else is left alone.
		if !e.Type().IsRegular() || live[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(images, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing orphaned image data: %w", err)
		}
		removed = true
	}
	if removed {
		if err := syncDir(images); err != nil {
			return fmt.Errorf("cleaning image data directory: %w", err)
		}
	}
	return nil
}

// createFile is the real staging writer: a new file only the owner reads.
func createFile(name string) (writeSyncCloser, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// syncDir makes renames, links and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// dataPath is where an image's data lives; the ID was validated to be a
// plain file name.
func (s *Store) dataPath(id string) string {
	return filepath.Join(s.dir, "images", id)
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q in image database: %w", s, err)
	}
	return t, nil
}

// stamp is the current time as stored: UTC, microseconds.
func (s *Store) stamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}
