package imagestore

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// ImportOptions are the metadata of a new image.
type ImportOptions struct {
	// ID is the image ID; "" makes a new random UUID. At most 36
	// characters of [A-Za-z0-9._-], not starting with a dot, and never
	// used before (also not by a deleted image).
	ID   string
	Name string // "" leaves the name unset (nil)
	// Visibility is private, shared, community or public; "" is shared,
	// Glance's default.
	Visibility string
	Owner      *string
	// DiskFormat and ContainerFormat default to "raw" and "bare" on
	// Import; Create leaves them unset when empty, as Glance does for a
	// queued image.
	DiskFormat, ContainerFormat string
	// Properties are custom properties. A reserved name (see
	// ReservedProperty) is refused with ErrInvalid naming it.
	Properties map[string]string
	// Tags are a set: duplicates are dropped, and they read back sorted.
	Tags      []string
	Protected bool
	Hidden    bool
	MinDisk   int64 // GiB
	MinRAM    int64 // MiB
}

// maxField is the length of Glance's VARCHAR(255) columns.
const maxField = 255

// Import stores the data read from r as a new active image. The data is
// streamed to a staging file while its size, MD5 and SHA-512 are
// computed, made durable, moved into place, and only then is the image row
// committed: on any error (a failing reader, a full disk, ctx cancelled)
// nothing is left behind and no image is visible. A reader blocked in Read
// is not interrupted by ctx; it is checked between reads. The staged file
// is locked until the row is committed, so that Sweep, which Import runs
// first, removes only a killed import's files.
func (s *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) (Image, error) {
	img, err := s.newImage(o, true)
	if err != nil {
		return Image{}, err
	}
	// Leftovers of killed imports, including a data file under this ID.
	if _, err := s.Sweep(ctx); err != nil {
		return Image{}, fmt.Errorf("cleaning up before importing: %w", err)
	}
	// Fail before streaming possibly gigabytes when the ID is taken; the
	// insert checks again.
	if err := s.checkFree(ctx, img.ID); err != nil {
		return Image{}, err
	}
	staged, sum, w, err := s.stage(ctx, r)
	if err != nil {
		return Image{}, err
	}
	// Deferred first, so run last: the lock outlives the removals below.
	defer w.Close()
	defer os.Remove(staged) // gone already on success

	final := s.dataPath(img.ID)
	if err := publish(staged, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			if s.checkFree(ctx, img.ID) == nil {
				return Image{}, fmt.Errorf("%w: %s: its data file is left by an interrupted import; it is removed once no import holds it and it is %v old", ErrExists, img.ID, s.staleAfter)
			}
			return Image{}, fmt.Errorf("%w: %s", ErrExists, img.ID)
		}
		return Image{}, fmt.Errorf("storing image data: %w", err)
	}
	// From here on the data file is ours to remove if the row is not
	// committed.
	committed := false
	defer func() {
		if !committed {
			os.Remove(final)
			syncDir(filepath.Dir(final))
		}
	}()
	if err := syncDir(filepath.Dir(final)); err != nil {
		return Image{}, fmt.Errorf("storing image data: %w", err)
	}
	if s.afterPublish != nil {
		s.afterPublish()
	}

	md5Hex, shaHex, algo := hex.EncodeToString(sum.md5), hex.EncodeToString(sum.sha512), "sha512"
	img.Size, img.Checksum, img.OSHashAlgo, img.OSHashValue = &sum.size, &md5Hex, &algo, &shaHex
	img.Status = StatusActive
	if err := s.insert(ctx, img); err != nil {
		return Image{}, err
	}
	committed = true
	return img, nil
}

// Create records a queued image without data: Size, Checksum and the
// hash are nil.
func (s *Store) Create(ctx context.Context, o ImportOptions) (Image, error) {
	img, err := s.newImage(o, false)
	if err != nil {
		return Image{}, err
	}
	img.Status = StatusQueued
	if err := s.insert(ctx, img); err != nil {
		return Image{}, err
	}
	return img, nil
}

// newImage validates o and fills in the defaults.
func (s *Store) newImage(o ImportOptions, withData bool) (Image, error) {
	img := Image{
		ID:         o.ID,
		Visibility: o.Visibility,
		MinDisk:    o.MinDisk,
		MinRAM:     o.MinRAM,
		Protected:  o.Protected,
		Hidden:     o.Hidden,
		Properties: map[string]string{},
		Tags:       []string{},
	}
	if img.ID == "" {
		img.ID = uuid.NewString()
	}
	if err := validateID(img.ID); err != nil {
		return Image{}, err
	}
	if img.Visibility == "" {
		img.Visibility = Shared
	}
	if err := validateVisibility(img.Visibility); err != nil {
		return Image{}, err
	}
	if len(o.Name) > maxField {
		return Image{}, fmt.Errorf("%w: name longer than %d characters", ErrInvalid, maxField)
	}
	if o.Name != "" {
		img.Name = ptr(o.Name)
	}
	if o.Owner != nil {
		if *o.Owner == "" || len(*o.Owner) > maxField {
			return Image{}, fmt.Errorf("%w: owner %q: want 1 to %d characters", ErrInvalid, *o.Owner, maxField)
		}
		img.Owner = ptr(*o.Owner)
	}
	if o.MinDisk < 0 || o.MinRAM < 0 {
		return Image{}, fmt.Errorf("%w: min_disk %d and min_ram %d must not be negative", ErrInvalid, o.MinDisk, o.MinRAM)
	}
	disk, container := o.DiskFormat, o.ContainerFormat
	if withData {
		if disk == "" {
			disk = "raw"
		}
		if container == "" {
			container = "bare"
		}
	}
	for _, f := range []struct{ what, v string }{{"disk_format", disk}, {"container_format", container}} {
		if len(f.v) > maxField {
			return Image{}, fmt.Errorf("%w: %s longer than %d characters", ErrInvalid, f.what, maxField)
		}
	}
	if disk != "" {
		img.DiskFormat = ptr(disk)
	}
	if container != "" {
		img.ContainerFormat = ptr(container)
	}
	for k, v := range o.Properties {
		if k == "" || len(k) > maxField {
			return Image{}, fmt.Errorf("%w: property name %q: want 1 to %d characters", ErrInvalid, k, maxField)
		}
		if ReservedProperty(k) {
			return Image{}, fmt.Errorf("%w: property %q is reserved: it is a Glance core attribute, reserved name or policy target key", ErrInvalid, k)
		}
		img.Properties[k] = v
	}
	seen := map[string]bool{}
	for _, t := range o.Tags {
		if t == "" || len(t) > maxField {
			return Image{}, fmt.Errorf("%w: tag %q: want 1 to %d characters", ErrInvalid, t, maxField)
		}
		if !seen[t] {
			seen[t] = true
			img.Tags = append(img.Tags, t)
		}
	}
	sort.Strings(img.Tags)
	now := s.stamp()
	img.CreatedAt, img.UpdatedAt = now, now
	return img, nil
}

// validateID keeps IDs short (Glance's VARCHAR(36)) and safe as a file
// name under images/.
func validateID(id string) error {
	if id == "" || len(id) > 36 {
		return fmt.Errorf("%w: image ID %q: want 1 to 36 characters", ErrInvalid, id)
	}
	if strings.HasPrefix(id, ".") {
		return fmt.Errorf("%w: image ID %q: must not start with a dot", ErrInvalid, id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: image ID %q: want only letters, digits, '-', '_' and '.'", ErrInvalid, id)
		}
	}
	return nil
}

func validateVisibility(v string) error {
	switch v {
	case Private, Shared, Community, Public:
		return nil
	}
	return fmt.Errorf("%w: visibility %q: want private, shared, community or public", ErrInvalid, v)
}

// checkFree fails with ErrExists when id is taken, deleted or not.
func (s *Store) checkFree(ctx context.Context, id string) error {
	var one int
	err := s.db.QueryRowContext(ctx, "SELECT 1 FROM images WHERE id = ?", id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("looking up image %s: %w", id, err)
	}
	return fmt.Errorf("%w: %s", ErrExists, id)
}

// sums are what stage measured of the data.
type sums struct {
	size   int64
	md5    []byte
	sha512 []byte
}

// stage streams r into a new file under staging/, fsyncs it and returns
// its path and the file, still open and locked: the caller closes it once
// the data is committed or removed. On error the file is removed.
func (s *Store) stage(ctx context.Context, r io.Reader) (_ string, sum sums, _ writeSyncCloser, err error) {
	path := filepath.Join(s.dir, "staging", uuid.NewString()+".part")
	w, err := s.create(path)
	if err != nil {
		return "", sums{}, nil, fmt.Errorf("creating staging file: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(path)
			w.Close()
		}
	}()
	// A new file's modification time keeps Sweep away until it is locked.
	if err := lockExclusive(w); err != nil {
		return "", sums{}, nil, fmt.Errorf("locking staging file: %w", err)
	}

	md5h, shah := md5.New(), sha512.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", sums{}, nil, fmt.Errorf("importing image data: %w", err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return "", sums{}, nil, fmt.Errorf("writing image data: %w", err)
			}
			md5h.Write(buf[:n])
			shah.Write(buf[:n])
			sum.size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", sums{}, nil, fmt.Errorf("reading image data: %w", rerr)
		}
	}
	if err := w.Sync(); err != nil {
		return "", sums{}, nil, fmt.Errorf("writing image data: %w", err)
	}
	sum.md5, sum.sha512 = md5h.Sum(nil), shah.Sum(nil)
	return path, sum, w, nil
}

// publish moves the staged file to final without ever replacing an
// existing file (another image's data): a hard link fails if final exists.
// Where hard links are unsupported it falls back to a checked rename.
func publish(staged, final string) error {
	err := os.Link(staged, final)
	if err == nil {
		return os.Remove(staged)
	}
	if errors.Is(err, os.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(final); serr == nil {
		return os.ErrExist
	} else if !errors.Is(serr, os.ErrNotExist) {
		return serr
	}
	return os.Rename(staged, final)
}

// insert commits img's row, properties and tags in one transaction.
func (s *Store) insert(ctx context.Context, img Image) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storing image %s: %w", img.ID, err)
	}
	defer tx.Rollback()
	// The transaction is immediate (write-locked), so this check and the
	// insert cannot race another writer.
	var one int
	switch err := tx.QueryRowContext(ctx, "SELECT 1 FROM images WHERE id = ?", img.ID).Scan(&one); {
	case err == nil:
		return fmt.Errorf("%w: %s", ErrExists, img.ID)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("storing image %s: %w", img.ID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO images (id, name, size, virtual_size, status, visibility, owner,
		checksum, os_hash_algo, os_hash_value, disk_format, container_format, min_disk, min_ram,
		protected, os_hidden, created_at, updated_at, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		img.ID, img.Name, img.Size, img.VirtualSize, img.Status, img.Visibility, img.Owner,
		img.Checksum, img.OSHashAlgo, img.OSHashValue, img.DiskFormat, img.ContainerFormat, img.MinDisk, img.MinRAM,
		img.Protected, img.Hidden, formatTime(img.CreatedAt), formatTime(img.UpdatedAt))
	if err != nil {
		return fmt.Errorf("storing image %s: %w", img.ID, err)
	}
	for k, v := range img.Properties {
		if _, err := tx.ExecContext(ctx, "INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", img.ID, k, v); err != nil {
			return fmt.Errorf("storing image %s property %q: %w", img.ID, k, err)
		}
	}
	for _, t := range img.Tags {
		if _, err := tx.ExecContext(ctx, "INSERT INTO image_tags (image_id, value) VALUES (?, ?)", img.ID, t); err != nil {
			return fmt.Errorf("storing image %s tag %q: %w", img.ID, t, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storing image %s: %w", img.ID, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
