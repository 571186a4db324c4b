package imagestore

import (
	"context"
	"database/sql"
	"encoding/json"
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

// Get returns a live image; ErrNotFound if it is missing or deleted. It
// reflects every write committed before it started, by any process; the
// image returned is the caller's to change.
func (s *Store) Get(ctx context.Context, id string) (Image, error) {
	if s.records == nil {
		return s.get(ctx, id)
	}
	st, err := s.records.now(ctx)
	if err != nil {
		return Image{}, fmt.Errorf("reading image %s: %w", id, err)
	}
	if img, ok := s.records.get(id, st); ok {
		return img, nil
	}
	img, err := s.get(ctx, id)
	if err != nil {
		return Image{}, err
	}
	s.records.put(st, img)
	return img, nil
}

// get is Get from the database.
func (s *Store) get(ctx context.Context, id string) (Image, error) {
	// One statement is one snapshot: the row, its properties and its tags
	// are read together without a transaction.
	rows, err := s.getOne.QueryContext(ctx, id)
	if err != nil {
		return Image{}, fmt.Errorf("reading image %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Image{}, fmt.Errorf("reading image %s: %w", id, err)
		}
		return Image{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return scanWithChildren(rows)
}

// childrenJSON selects the properties and tags (sorted) of the images
// row named table, as two JSON columns that scanWithChildren reads.
func childrenJSON(table string) string {
	return `
	(SELECT json_group_object(name, value) FROM image_properties WHERE image_id = ` + table + `.id),
	(SELECT json_group_array(value) FROM (SELECT value FROM image_tags WHERE image_id = ` + table + `.id ORDER BY value))`
}

// queryOne reads one live image with its properties and tags (as JSON).
var queryOne = "SELECT " + imageColumns + "," + childrenJSON("images") + " FROM images WHERE deleted = 0 AND id = ?"

// prepareGet prepares Get's statement once: a download looks one image
// up, and parsing the SQL each time cost more than running it.
func (s *Store) prepareGet(ctx context.Context) error {
	st, err := s.db.PrepareContext(ctx, queryOne)
	if err != nil {
		return fmt.Errorf("preparing image query: %w", err)
	}
	s.getOne = st
	return nil
}

// scanWithChildren reads a row of imageColumns and childrenJSON.
func scanWithChildren(rows *sql.Rows) (Image, error) {
	var props, tags string
	img, err := scanImage(rows, &props, &tags)
	if err != nil {
		return Image{}, err
	}
	if err := json.Unmarshal([]byte(props), &img.Properties); err != nil {
		return Image{}, fmt.Errorf("reading properties of image %s: %w", img.ID, err)
	}
	for k := range img.Properties {
		// Older stores accepted reserved names; they are never shown.
		if ReservedProperty(k) {
			delete(img.Properties, k)
		}
	}
	if err := json.Unmarshal([]byte(tags), &img.Tags); err != nil {
		return Image{}, fmt.Errorf("reading tags of image %s: %w", img.ID, err)
	}
	return img, nil
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
func scanImage(rows *sql.Rows, extra ...any) (Image, error) {
	var (
		img                                                Image
		name, owner, checksum, algo, hash, disk, container sql.NullString
		size, virtualSize                                  sql.NullInt64
		created, updated                                   string
	)
	dest := []any{&img.ID, &name, &size, &virtualSize, &img.Status, &img.Visibility, &owner, &checksum, &algo,
		&hash, &disk, &container, &img.MinDisk, &img.MinRAM, &img.Protected, &img.Hidden, &created, &updated}
	err := rows.Scan(append(dest, extra...)...)
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
