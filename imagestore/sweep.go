package imagestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Swept is what a Sweep removed.
type Swept struct {
	Files int   // staging and data files removed
	Bytes int64 // their size
}

// Sweep removes what killed imports left behind while other Stores, in
// this or other processes, may be importing: staging files, and data files
// that no live image with data references (a kill between moving the data
// into place and committing its row, or between a delete's commit and the
// file removal). A file is removed only when its modification time is at
// least Options.StaleAfter old and no import holds its lock: an importer
// locks its file from creating it until its row is committed, and the
// lock dies with the process. Where files cannot be locked, Sweep removes
// nothing. Import sweeps first; a server runs SweepEvery.
func (s *Store) Sweep(ctx context.Context) (Swept, error) {
	var swept Swept
	var errs []error
	remove := func(path, id string) {
		n, ok, err := s.removeStale(ctx, path, id)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			swept.Files++
			swept.Bytes += n
		}
	}

	staging := filepath.Join(s.dir, "staging")
	entries, err := os.ReadDir(staging)
	if err != nil {
		return swept, fmt.Errorf("sweeping image staging directory: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			remove(filepath.Join(staging, e.Name()), "")
		}
	}

	live := map[string]bool{}
	err = eachRow(ctx, s.db, "SELECT id FROM images WHERE deleted = 0 AND size IS NOT NULL", nil, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		live[id] = true
		return nil
	})
	if err != nil {
		return swept, fmt.Errorf("sweeping image data: listing images: %w", err)
	}
	images := filepath.Join(s.dir, "images")
	if entries, err = os.ReadDir(images); err != nil {
		return swept, fmt.Errorf("sweeping image data directory: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return swept, fmt.Errorf("sweeping image data: %w", err)
		}
		// Only regular files are ours; anything else is left alone.
		if e.Type().IsRegular() && !live[e.Name()] {
			remove(filepath.Join(images, e.Name()), e.Name())
		}
	}
	if swept.Files > 0 {
		for _, d := range []string{staging, images} {
			if err := syncDir(d); err != nil {
				errs = append(errs, fmt.Errorf("sweeping %s: %w", d, err))
			}
		}
	}
	return swept, errors.Join(errs...)
}

// removeStale removes the regular file at path when it is older than the
// grace period, no import holds its lock and, for a data file (id set),
// no live image with data is recorded under id; it returns the size
// removed and whether it removed the file.
func (s *Store) removeStale(ctx context.Context, path, id string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil // removed meanwhile: an import finished
		}
		return 0, false, fmt.Errorf("sweeping %s: %w", path, err)
	}
	defer f.Close() // releases the lock
	fi, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("sweeping %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || s.now().Sub(fi.ModTime()) < s.staleAfter {
		return 0, false, nil
	}
	got, err := tryLockExclusive(f)
	if err != nil {
		return 0, false, fmt.Errorf("sweeping %s: locking: %w", path, err)
	}
	if !got {
		return 0, false, nil // an import in progress
	}
	if id != "" {
		// Read again under the lock: an importer commits its row before
		// releasing the lock, so a row now means the file is live.
		var one int
		err := s.db.QueryRowContext(ctx, "SELECT 1 FROM images WHERE id = ? AND deleted = 0 AND size IS NOT NULL", id).Scan(&one)
		switch {
		case err == nil:
			return 0, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, false, fmt.Errorf("sweeping %s: looking up image %s: %w", path, id, err)
		}
	}
	// The name must still be this file: another sweeper may have removed
	// it and an import linked a new one in its place.
	cur, err := os.Lstat(path)
	if err != nil || !os.SameFile(cur, fi) {
		return 0, false, nil
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("sweeping %s: %w", path, err)
	}
	return fi.Size(), true, nil
}

// SweepEvery runs Sweep now and then every interval until ctx is done,
// passing each result to report (which may log it).
func (s *Store) SweepEvery(ctx context.Context, interval time.Duration, report func(Swept, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		swept, err := s.Sweep(ctx)
		if ctx.Err() != nil {
			return
		}
		report(swept, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
