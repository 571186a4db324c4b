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

// Get returns a live image; ErrNotFound if it is missing or deleted.
func (s *Store) Get(ctx context.Context, id string) (Image, error) {
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
	var props, tags string
	img, err := scanImage(rows, &props, &tags)
	if err != nil {
		return Image{}, err
	}
	if err := json.Unmarshal([]byte(props), &img.Properties); err != nil {
		return Image{}, fmt.Errorf("reading properties of image %s: %w", id, err)
	}
	for k := range img.Properties {
		// Older stores accepted reserved names; they are never shown.
		if ReservedProperty(k) {
			delete(img.Properties, k)
		}
	}
	if err := json.Unmarshal([]byte(tags), &img.Tags); err != nil {
		return Image{}, fmt.Errorf("reading tags of image %s: %w", id, err)
	}
	return img, nil
}

// List returns the live images, oldest first (ties by ID).
func (s *Store) List(ctx context.Context) ([]Image, error) {
	return s.query(ctx)
}

// Statements of query (List).
const (
	queryImages     = "SELECT " + imageColumns + " FROM images WHERE deleted = 0 ORDER BY created_at, id"
	queryProperties = "SELECT p.image_id, p.name, p.value FROM image_properties p JOIN images i ON i.id = p.image_id WHERE i.deleted = 0"
	queryTags       = "SELECT t.image_id, t.value FROM image_tags t JOIN images i ON i.id = t.image_id WHERE i.deleted = 0 ORDER BY t.image_id, t.value"
)

// queryOne reads one live image with its properties and tags (as JSON).
const queryOne = "SELECT " + imageColumns + `,
	(SELECT json_group_object(name, value) FROM image_properties WHERE image_id = images.id),
	(SELECT json_group_array(value) FROM (SELECT value FROM image_tags WHERE image_id = images.id ORDER BY value))
	FROM images WHERE deleted = 0 AND id = ?`

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

// query reads the live images with their properties and tags, from one
// snapshot.
func (s *Store) query(ctx context.Context) ([]Image, error) {
	// A read-only transaction is a deferred one: it sees one consistent
	// snapshot without taking the write lock.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	defer tx.Rollback()

	imgs := []Image{}
	index := map[string]int{}
	err = eachRow(ctx, tx, queryImages, nil, func(rows *sql.Rows) error {
		img, err := scanImage(rows)
		if err != nil {
			return err
		}
		index[img.ID] = len(imgs)
		imgs = append(imgs, img)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	if len(imgs) == 0 {
		return imgs, nil
	}

	// Properties and tags of the selected images, by a join on the same
	// condition rather than one query per image.
	err = eachRow(ctx, tx, queryProperties, nil, func(rows *sql.Rows) error {
		var id, name, value string
		if err := rows.Scan(&id, &name, &value); err != nil {
			return err
		}
		// Older stores accepted reserved names; they are never shown.
		if i, ok := index[id]; ok && !ReservedProperty(name) {
			imgs[i].Properties[name] = value
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading image properties: %w", err)
	}
	err = eachRow(ctx, tx, queryTags, nil, func(rows *sql.Rows) error {
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
