// The keyset pagination follows Glance 25.1.0 glance/db/sqlalchemy/api.py (_paginate_query, _select_images_query, image_get_all; Apache-2.0); see NOTICE.

package imagestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// ListOptions select a page of images, as Glance's image_get_all does: the
// images the caller may list, the conditions, the order and the page. The
// whole page is one SQL statement (after one for the marker's values):
// filters, visibility, members, order and limit are all in the query.
type ListOptions struct {
	// All lists every live image whatever the caller (the CLI); Project,
	// Admin, MemberStatus and Visibility are then ignored.
	All bool
	// Project is the caller's project ("" for none); Admin is whether the
	// caller is an admin. A non-admin lists public and community images,
	// the project's own, and shared images the project is a member of
	// with MemberStatus; an admin lists every image.
	Project string
	Admin   bool
	// MemberStatus is the membership status that lists a shared image:
	// "accepted" (also ""), "pending", "rejected" or "all".
	MemberStatus string
	// Visibility is "" for Glance's default (community images only when
	// they are the caller's own), "all", or one visibility.
	Visibility string
	// Where, Tags and Properties must all hold: every tag present, every
	// property present with that value.
	Where      []Cond
	Tags       []string
	Properties []Prop
	// Sort is the order, newest first (created_at) when empty; "id" is
	// appended in the direction of the last key unless present, so that
	// the order is total, as keyset pages need.
	Sort []SortKey
	// Marker is the id of the last image of the previous page: the page
	// starts after it in Sort's order. Its visibility is the caller's
	// business; ErrNotFound when no such image exists.
	Marker string
	// Limit bounds the page; negative means no bound.
	Limit int
}

// Cond is a condition on an images column: Column Op Value, compared as
// SQLite compares (so a text column against a number is Glance's answer
// on SQLite too). Value is a string, int64, float64, bool or time.Time,
// or a []string for "in".
type Cond struct {
	Column string
	Op     string // "=", "!=", "<", "<=", ">", ">=" or "in"
	Value  any
}

// Prop is a custom property an image must have, with exactly this value.
type Prop struct{ Name, Value string }

// SortKey is one key of the order.
type SortKey struct {
	Column string
	Desc   bool
}

// columnKind is how Glance's pagination stands in for NULL in a column.
type columnKind int

const (
	kindText columnKind = iota // NULL pages as the empty string
	kindInt                    // NULL pages as 0
	kindTime                   // never NULL where it is sorted
	kindBool
)

// columns are the images columns conditions and orders may name, the only
// names that reach the SQL text (values are always bound).
var columns = map[string]columnKind{
	"id": kindText, "name": kindText, "status": kindText, "visibility": kindText, "owner": kindText,
	"checksum": kindText, "os_hash_algo": kindText, "os_hash_value": kindText, "disk_format": kindText,
	"container_format": kindText, "size": kindInt, "virtual_size": kindInt, "min_disk": kindInt,
	"min_ram": kindInt, "protected": kindBool, "os_hidden": kindBool, "created_at": kindTime,
	"updated_at": kindTime, "deleted_at": kindTime,
}

// IsColumn reports whether name is an images column that ListOptions may
// name in a Cond or SortKey.
func IsColumn(name string) bool {
	_, ok := columns[name]
	return ok
}

var sqlOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true, "in": true}

// List returns every live image, oldest first (ties by ID).
func (s *Store) List(ctx context.Context) ([]Image, error) {
	return s.ListPage(ctx, ListOptions{All: true, Sort: []SortKey{{Column: "created_at"}}, Limit: -1})
}

// ListPage returns one page of images, with their properties and tags,
// from one snapshot. Bad options are ErrInvalid; an unknown marker is
// ErrNotFound.
func (s *Store) ListPage(ctx context.Context, o ListOptions) ([]Image, error) {
	keys, err := sortKeys(o.Sort)
	if err != nil {
		return nil, err
	}
	var q listQuery
	q.where("i.deleted = 0")
	if err := q.visibility(o); err != nil {
		return nil, err
	}
	for _, c := range o.Where {
		if err := q.cond(c); err != nil {
			return nil, err
		}
	}
	for _, tag := range o.Tags {
		q.where("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.value = ?)", tag)
	}
	for _, p := range o.Properties {
		if ReservedProperty(p.Name) {
			// Never shown, so never matched.
			q.where("0")
			continue
		}
		q.where("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = i.id AND p.name = ? AND p.value = ?)", p.Name, p.Value)
	}

	// A read-only transaction is a deferred one: the marker's values and
	// the page come from one snapshot without the write lock.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	defer tx.Rollback()
	if o.Marker != "" {
		values, err := markerValues(ctx, tx, o.Marker, keys)
		if err != nil {
			return nil, err
		}
		q.keyset(keys, values)
	}
	order := orderBy(keys)
	stmt := "SELECT " + imageColumns + ` FROM images i WHERE ` + strings.Join(q.conds, " AND ") + " ORDER BY " + order
	if o.Limit >= 0 {
		stmt += " LIMIT ?"
		q.args = append(q.args, o.Limit)
	}
	// Properties and tags only for the rows of the page, in the page's
	// order: no query per image.
	stmt = "SELECT page.*," + childrenJSON("page") + " FROM (" + stmt + ") page ORDER BY " + order
	imgs := []Image{}
	err = eachRow(ctx, tx, stmt, q.args, func(rows *sql.Rows) error {
		img, err := scanWithChildren(rows)
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	return imgs, nil
}

// listQuery collects WHERE conditions and their arguments.
type listQuery struct {
	conds []string
	args  []any
}

func (q *listQuery) where(cond string, args ...any) {
	q.conds = append(q.conds, cond)
	q.args = append(q.args, args...)
}

// visibility is Glance's _select_images_query and its visibility filter.
func (q *listQuery) visibility(o ListOptions) error {
	if o.All {
		return nil
	}
	if !o.Admin {
		listed := []string{"i.visibility IN ('public', 'community')"}
		var args []any
		if o.Project != "" {
			// Glance without a project lists every shared image that has
			// a member; we list none.
			listed = append(listed, "i.owner = ?")
			member := "i.visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?"
			args = append(args, o.Project, o.Project)
			switch o.MemberStatus {
			case "", "accepted", "pending", "rejected":
				status := o.MemberStatus
				if status == "" {
					status = "accepted"
				}
				member += " AND m.status = ?"
				args = append(args, status)
			case "all":
			default:
				return fmt.Errorf("%w: member status %q", ErrInvalid, o.MemberStatus)
			}
			listed = append(listed, member+")")
		}
		q.where("("+strings.Join(listed, " OR ")+")", args...)
	}
	switch {
	case o.Visibility == "all":
	case o.Visibility != "":
		q.where("i.visibility = ?", o.Visibility)
	case o.Project == "":
		q.where("i.visibility != 'community'")
	default:
		q.where("(i.owner = ? OR i.visibility != 'community')", o.Project)
	}
	return nil
}

func (q *listQuery) cond(c Cond) error {
	kind, ok := columns[c.Column]
	if !ok || !sqlOps[c.Op] {
		return fmt.Errorf("%w: condition on %q with %q", ErrInvalid, c.Column, c.Op)
	}
	col := "i." + c.Column
	if c.Op != "in" {
		v, err := bindValue(c.Value)
		if err != nil {
			return err
		}
		switch v.(type) {
		case int64, float64:
			if kind == kindTime {
				// Glance's DATETIME columns have NUMERIC affinity, so a
				// number is compared as a number, below any text; our TEXT
				// columns would compare it as text. An expression has no
				// affinity.
				col = "(" + col + " || '')"
			}
		}
		q.where(col+" "+c.Op+" ?", v)
		return nil
	}
	list, ok := c.Value.([]string)
	if !ok {
		return fmt.Errorf("%w: condition on %s: in takes a []string, not %T", ErrInvalid, c.Column, c.Value)
	}
	if len(list) == 0 {
		q.where("0")
		return nil
	}
	args := make([]any, len(list))
	for i, v := range list {
		args[i] = v
	}
	q.where(col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(list)), ", ")+")", args...)
	return nil
}

// bindValue is v as the store keeps it: times as their stored text,
// booleans as 0 or 1.
func bindValue(v any) (any, error) {
	switch x := v.(type) {
	case string, int64, float64:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case time.Time:
		return formatTime(x), nil
	}
	return nil, fmt.Errorf("%w: condition value %T", ErrInvalid, v)
}

// sortKeys validates the order and makes it total.
func sortKeys(sort []SortKey) ([]SortKey, error) {
	keys := append([]SortKey(nil), sort...)
	if len(keys) == 0 {
		keys = []SortKey{{Column: "created_at", Desc: true}}
	}
	hasID := false
	for _, k := range keys {
		if kind, ok := columns[k.Column]; !ok || kind == kindBool {
			return nil, fmt.Errorf("%w: sort key %q", ErrInvalid, k.Column)
		}
		hasID = hasID || k.Column == "id"
	}
	if !hasID {
		keys = append(keys, SortKey{Column: "id", Desc: keys[len(keys)-1].Desc})
	}
	return keys, nil
}

func orderBy(keys []SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Column + " ASC"
		if k.Desc {
			parts[i] = k.Column + " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// markerValues reads the marker's values of the sort keys, a NULL as its
// column's stand-in (see nullStandIn).
func markerValues(ctx context.Context, tx *sql.Tx, marker string, keys []SortKey) ([]any, error) {
	cols := make([]string, len(keys))
	for i, k := range keys {
		cols[i] = "COALESCE(" + k.Column + ", " + nullStandIn(columns[k.Column]) + ")"
	}
	values := make([]any, len(keys))
	dest := make([]any, len(keys))
	for i := range values {
		dest[i] = &values[i]
	}
	err := tx.QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM images WHERE id = ?", marker).Scan(dest...)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("%w: marker %s", ErrNotFound, marker)
	}
	if err != nil {
		return nil, fmt.Errorf("reading marker %s: %w", marker, err)
	}
	return values, nil
}

// nullStandIn is what Glance's pagination compares in place of NULL: the
// empty string for text, 0 for numbers. (Glance's marker side uses the
// empty string for every type: on SQLite a number is less than any text,
// so after a marker of NULL size the page repeats the list, while MySQL
// compares the empty string as 0, as we do.)
func nullStandIn(kind columnKind) string {
	if kind == kindInt {
		return "0"
	}
	if kind == kindTime {
		return "NULL"
	}
	return "''"
}

// keyset is Glance's _paginate_query: rows after the marker in the order
// of keys, comparing each column with NULL as its stand-in.
func (q *listQuery) keyset(keys []SortKey, values []any) {
	var or []string
	var args []any
	for i, k := range keys {
		var and []string
		for j := 0; j < i; j++ {
			and = append(and, coalesced(keys[j].Column)+" = ?")
			args = append(args, values[j])
		}
		op := " > ?"
		if k.Desc {
			op = " < ?"
		}
		and = append(and, coalesced(k.Column)+op)
		args = append(args, values[i])
		or = append(or, "("+strings.Join(and, " AND ")+")")
	}
	q.where("("+strings.Join(or, " OR ")+")", args...)
}

func coalesced(col string) string {
	return "COALESCE(i." + col + ", " + nullStandIn(columns[col]) + ")"
}
