package imagestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Delete soft-deletes an image as Glance does (status "deleted", the row
// kept so that its ID is never reused), then removes its data file. A
// crash between the two leaves a file that Sweep (or the next lone Open)
// removes.
// Protection is not checked here: refusing to delete a protected image is
// the API's decision.
func (s *Store) Delete(ctx context.Context, id string) error {
	now := formatTime(s.stamp())
	err := s.update(ctx, id, func(tx *sql.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, "UPDATE images SET status = ?, deleted = 1, deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0",
			statusDeleted, now, now, id)
	})
	if err != nil {
		return fmt.Errorf("deleting image: %w", err)
	}
	if validateID(id) != nil {
		return nil // never stored data under a name that is not an ID
	}
	path := s.dataPath(id)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a queued image
		}
		return fmt.Errorf("image %s deleted, but removing its data (Sweep retries): %w", id, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("image %s deleted, but removing its data: %w", id, err)
	}
	return nil
}

// SetStatus deactivates (StatusDeactivated) or reactivates (StatusActive)
// an image, as Glance's deactivate and reactivate actions: only active and
// deactivated images can change, and setting the current status is a
// no-op. Any other status is ErrInvalid.
func (s *Store) SetStatus(ctx context.Context, id, status string) error {
	if status != StatusActive && status != StatusDeactivated {
		return fmt.Errorf("%w: status %q: want %q or %q", ErrInvalid, status, StatusActive, StatusDeactivated)
	}
	err := s.update(ctx, id, func(tx *sql.Tx) (sql.Result, error) {
		var cur string
		if err := tx.QueryRowContext(ctx, "SELECT status FROM images WHERE id = ? AND deleted = 0", id).Scan(&cur); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return noRows{}, nil
			}
			return nil, err
		}
		if cur != StatusActive && cur != StatusDeactivated {
			return nil, fmt.Errorf("%w: image %s is %s: only active and deactivated images can be set %s", ErrInvalid, id, cur, status)
		}
		return tx.ExecContext(ctx, "UPDATE images SET status = ?, updated_at = ? WHERE id = ?", status, formatTime(s.stamp()), id)
	})
	if err != nil {
		return fmt.Errorf("setting image status: %w", err)
	}
	return nil
}

// SetVisibility changes an image's visibility (private, shared, community
// or public). Members are kept: they matter again when it is shared.
func (s *Store) SetVisibility(ctx context.Context, id, visibility string) error {
	if err := validateVisibility(visibility); err != nil {
		return err
	}
	err := s.update(ctx, id, func(tx *sql.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, "UPDATE images SET visibility = ?, updated_at = ? WHERE id = ? AND deleted = 0",
			visibility, formatTime(s.stamp()), id)
	})
	if err != nil {
		return fmt.Errorf("setting image visibility: %w", err)
	}
	return nil
}

// AddMember shares an image with a project, or changes the member's
// status (pending, accepted or rejected). It does not change the image's
// visibility: members only count while the image is shared.
func (s *Store) AddMember(ctx context.Context, imageID, projectID, status string) error {
	switch status {
	case "pending", "accepted", "rejected":
	default:
		return fmt.Errorf("%w: member status %q: want pending, accepted or rejected", ErrInvalid, status)
	}
	if projectID == "" || len(projectID) > maxField {
		return fmt.Errorf("%w: member project %q: want 1 to %d characters", ErrInvalid, projectID, maxField)
	}
	now := formatTime(s.stamp())
	err := s.update(ctx, imageID, func(tx *sql.Tx) (sql.Result, error) {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM images WHERE id = ? AND deleted = 0", imageID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return noRows{}, nil
			}
			return nil, err
		}
		return tx.ExecContext(ctx, `INSERT INTO image_members (image_id, member, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (image_id, member) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
			imageID, projectID, status, now, now)
	})
	if err != nil {
		return fmt.Errorf("adding image member: %w", err)
	}
	return nil
}

// Members lists the projects an image is shared with, by project ID.
func (s *Store) Members(ctx context.Context, imageID string) ([]Member, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading image members: %w", err)
	}
	defer tx.Rollback()
	if err := imageExists(ctx, tx, imageID); err != nil {
		return nil, err
	}
	members := []Member{}
	err = eachRow(ctx, tx, "SELECT image_id, member, status FROM image_members WHERE image_id = ? ORDER BY member", []any{imageID},
		func(rows *sql.Rows) error {
			var m Member
			if err := rows.Scan(&m.ImageID, &m.ProjectID, &m.Status); err != nil {
				return err
			}
			members = append(members, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading image members: %w", err)
	}
	return members, nil
}

// IsMember reports whether the project is a member of the image, whatever
// the member's status (Glance shows a shared image to pending and rejected
// members too). ErrNotFound if the image is missing or deleted.
func (s *Store) IsMember(ctx context.Context, imageID, projectID string) (bool, error) {
	var member bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM image_members m JOIN images i ON i.id = m.image_id
		WHERE m.image_id = ? AND m.member = ? AND i.deleted = 0)`, imageID, projectID).Scan(&member)
	if err != nil {
		return false, fmt.Errorf("reading image members: %w", err)
	}
	if member {
		return true, nil
	}
	// Tell "not a member" from "no such image".
	if err := imageExists(ctx, s.db, imageID); err != nil {
		return false, err
	}
	return false, nil
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// imageExists is nil for a live image, else ErrNotFound.
func imageExists(ctx context.Context, q rowQuerier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM images WHERE id = ? AND deleted = 0", id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case err != nil:
		return fmt.Errorf("looking up image %s: %w", id, err)
	}
	return nil
}

// update runs f in a write transaction; f affecting no row means the
// image is missing: ErrNotFound.
func (s *Store) update(ctx context.Context, id string, f func(*sql.Tx) (sql.Result, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := f(tx)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return tx.Commit()
}

// noRows is the result of an update that found no image.
type noRows struct{}

func (noRows) LastInsertId() (int64, error) { return 0, nil }
func (noRows) RowsAffected() (int64, error) { return 0, nil }
