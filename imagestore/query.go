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

// Statements of query, for one image or for all live images.
const (
	queryImages     = "SELECT " + imageColumns + " FROM images WHERE deleted = 0 %s ORDER BY created_at, id"
	queryProperties = "SELECT p.image_id, p.name, p.value FROM image_properties p JOIN images i ON i.id = p.image_id WHERE i.deleted = 0 %s"
	queryTags       = "SELECT t.image_id, t.value FROM image_tags t JOIN images i ON i.id = t.image_id WHERE i.deleted = 0 %s ORDER BY t.image_id, t.value"
)

// getStmts are query's statements for one image, prepared once: a
// download looks one image up, and parsing the SQL each time cost more
// than running it.
type getStmts struct {
	image, props, tags *sql.Stmt
}

func (s *Store) prepareGet(ctx context.Context) error {
	var err error
	prep := func(q, cond string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.db.PrepareContext(ctx, fmt.Sprintf(q, cond))
		return st
	}
	s.get = getStmts{
		image: prep(queryImages, "AND id = ?"),
		props: prep(queryProperties, "AND i.id = ?"),
		tags:  prep(queryTags, "AND i.id = ?"),
	}
	if err != nil {
		return fmt.Errorf("preparing image queries: %w", err)
	}
	return nil
}

// query reads the live images (only image id, unless id is ""), with
// their properties and tags, from one snapshot.
func (s *Store) query(ctx context.Context, id string) ([]Image, error) {
	// A read-only transaction is a deferred one: it sees one consistent
	// snapshot without taking the write lock.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading images: %w", err)
	}
	defer tx.Rollback()
	var images, props, tags rowSource
	var args []any
	if id != "" {
		args = []any{id}
		images, props, tags = stmtQuerier{tx.StmtContext(ctx, s.get.image)}, stmtQuerier{tx.StmtContext(ctx, s.get.props)}, stmtQuerier{tx.StmtContext(ctx, s.get.tags)}
	} else {
		images, props, tags = textQuerier{tx, fmt.Sprintf(queryImages, "")}, textQuerier{tx, fmt.Sprintf(queryProperties, "")}, textQuerier{tx, fmt.Sprintf(queryTags, "")}
	}

	imgs := []Image{}
	index := map[string]int{}
	err = eachSourceRow(ctx, images, args, func(rows *sql.Rows) error {
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
	err = eachSourceRow(ctx, props, args, func(rows *sql.Rows) error {
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
	err = eachSourceRow(ctx, tags, args, func(rows *sql.Rows) error {
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

// rowSource is a query to run with arguments: a prepared statement
// (stmtQuerier) or a query text (textQuerier).
type rowSource interface {
	query(ctx context.Context, args []any) (*sql.Rows, error)
}

// eachSourceRow runs q and calls f on every row.
func eachSourceRow(ctx context.Context, q rowSource, args []any, f func(*sql.Rows) error) error {
	rows, err := q.query(ctx, args)
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

// stmtQuerier runs a prepared statement; textQuerier a query text.
type stmtQuerier struct{ st *sql.Stmt }

func (q stmtQuerier) query(ctx context.Context, args []any) (*sql.Rows, error) {
	return q.st.QueryContext(ctx, args...)
}

type textQuerier struct {
	tx   *sql.Tx
	text string
}

func (q textQuerier) query(ctx context.Context, args []any) (*sql.Rows, error) {
	return q.tx.QueryContext(ctx, q.text, args...)
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
