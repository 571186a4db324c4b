package imagestore

import (
	"context"
	"database/sql"
	"fmt"
)

// imageColumns are the images columns scanImage reads, in order.
const imageColumns = `id, name, size, virtual_size, status, visibility, owner, checksum, os_hash_algo,
	os_hash_value, disk_format, container_format, min_disk, min_ram, protected, os_hidden,
	created_at, updated_at`

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Get returns a live image; ErrNotFound if it is missing or deleted.
func (s *Store) Get(ctx context.Context, id string) (Image, error) {
	imgs, err := s.query(ctx, id)
	if err != nil {
		return Image{}, err
	}
	if len(imgs) == 0 {
		return Image{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return imgs[0], nil
}

// List returns the live images, oldest first (ties by ID).
func (s *Store) List(ctx context.Context) ([]Image, error) {
	return s.query(ctx, "")
}

// query reads the live images (only image id, unless id is ""), with
// their properties and tags, from one snapshot.
func (s *Store) query(ctx context.Context, id string) ([]Image, error) {
	cond, joined, args := "", "", []any(nil)
	if id != "" {
		cond, joined, args = "AND id = ?", "AND i.id = ?", []any{id}
	}
	// A read-only transaction is a deferred one: it sees one consistent
	// snapshot without taking the write lock.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, "SELECT "+imageColumns+" FROM images WHERE deleted = 0 "+cond+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	imgs := []Image{}
	index := map[string]int{}
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[img.ID] = len(imgs)
		imgs = append(imgs, img)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	rows.Close()
	if len(imgs) == 0 {
		return imgs, nil
	}

	// Properties and tags of the selected images, by a join on the same
	// condition rather than one query per image.
	err = eachRow(ctx, tx, "SELECT p.image_id, p.name, p.value FROM image_properties p JOIN images i ON i.id = p.image_id WHERE i.deleted = 0 "+joined, args,
		func(rows *sql.Rows) error {
			var id, name, value string
			if err := rows.Scan(&id, &name, &value); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				imgs[i].Properties[name] = value
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading image properties: %w", err)
	}
	err = eachRow(ctx, tx, "SELECT t.image_id, t.value FROM image_tags t JOIN images i ON i.id = t.image_id WHERE i.deleted = 0 "+joined+" ORDER BY t.image_id, t.value", args,
		func(rows *sql.Rows) error {
			var id, value string
			if err := rows.Scan(&id, &value); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				imgs[i].Tags = append(imgs[i].Tags, value)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading image tags: %w", err)
	}
	return imgs, nil
}

// eachRow runs q and calls f on every row.
func eachRow(ctx context.Context, q querier, query string, args []any, f func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanImage reads one row of imageColumns.
func scanImage(rows *sql.Rows) (Image, error) {
	var (
		img                                                Image
		name, owner, checksum, algo, hash, disk, container sql.NullString
		size, virtualSize                                  sql.NullInt64
		created, updated                                   string
	)
	err := rows.Scan(&img.ID, &name, &size, &virtualSize, &img.Status, &img.Visibility, &owner, &checksum, &algo,
		&hash, &disk, &container, &img.MinDisk, &img.MinRAM, &img.Protected, &img.Hidden, &created, &updated)
	if err != nil {
		return Image{}, fmt.Errorf("reading image: %w", err)
	}
	img.Name, img.Owner, img.Checksum = nullString(name), nullString(owner), nullString(checksum)
	img.OSHashAlgo, img.OSHashValue = nullString(algo), nullString(hash)
	img.DiskFormat, img.ContainerFormat = nullString(disk), nullString(container)
	img.Size, img.VirtualSize = nullInt(size), nullInt(virtualSize)
	if img.CreatedAt, err = parseTime(created); err != nil {
		return Image{}, err
	}
	if img.UpdatedAt, err = parseTime(updated); err != nil {
		return Image{}, err
	}
	img.Properties = map[string]string{}
	img.Tags = []string{}
	return img, nil
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}
