package imagestore

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// OpenData opens img's data for reading. ErrNoData if the image has none
// (queued) or the file is gone; ErrCorrupt if the file's size is not the
// recorded one, so that a truncated image is never served. The caller
// closes the file. The data stays readable if the image is deleted
// meanwhile.
func (s *Store) OpenData(ctx context.Context, img Image) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if img.Size == nil {
		return nil, fmt.Errorf("%w: image %s is %s", ErrNoData, img.ID, img.Status)
	}
	if err := validateID(img.ID); err != nil {
		return nil, err
	}
	f, err := os.Open(s.dataPath(img.ID))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: image %s data file is missing", ErrNoData, img.ID)
		}
		return nil, fmt.Errorf("opening image %s data: %w", img.ID, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening image %s data: %w", img.ID, err)
	}
	if fi.Size() != *img.Size {
		f.Close()
		return nil, fmt.Errorf("%w: image %s data is %d bytes, recorded %d", ErrCorrupt, img.ID, fi.Size(), *img.Size)
	}
	return f, nil
}

// MaxSmallData is the largest image data SmallData keeps in memory.
const MaxSmallData = 64 << 10

// SmallData returns img's whole data, at most MaxSmallData bytes, from
// memory when it was read before: a download of a small image then costs
// no file system call. The data of an image ID never changes once
// recorded (it is published once, never replaced, and IDs are not
// reused), and an entry is used only for the same ID, size and checksums
// as img's, which the caller has just read (Get is exact); so the bytes
// are those OpenData would give, read with the same checks. The slice is
// shared: the caller must not change it. Errors are OpenData's, and
// ErrInvalid for an image larger than MaxSmallData.
func (s *Store) SmallData(ctx context.Context, img Image) ([]byte, error) {
	if img.Size != nil && *img.Size > MaxSmallData {
		return nil, fmt.Errorf("%w: image %s data is %d bytes, more than %d", ErrInvalid, img.ID, *img.Size, MaxSmallData)
	}
	key := smallKey{id: img.ID, size: deref(img.Size), md5: deref(img.Checksum), hash: deref(img.OSHashValue)}
	if s.small != nil {
		if b, ok := s.small.Get(key); ok {
			return b, nil
		}
	}
	f, err := s.OpenData(ctx, img)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, *img.Size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading image %s data: %w", img.ID, err)
	}
	if s.small != nil {
		s.small.Add(key, b)
	}
	return b, nil
}

// smallKey names one image's data as recorded.
type smallKey struct {
	id        string
	size      int64
	md5, hash string
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Verify re-reads an image's data and compares its size, MD5 and SHA-512
// with the recorded ones: ErrCorrupt on any mismatch, ErrNoData if it has
// none.
func (s *Store) Verify(ctx context.Context, id string) error {
	img, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	f, err := s.OpenData(ctx, img)
	if err != nil {
		return err
	}
	defer f.Close()
	md5h, shah := md5.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(md5h, shah), ctxReader{ctx, f})
	if err != nil {
		return fmt.Errorf("verifying image %s: %w", id, err)
	}
	if n != *img.Size {
		return fmt.Errorf("%w: image %s data is %d bytes, recorded %d", ErrCorrupt, id, n, *img.Size)
	}
	if img.Checksum == nil || img.OSHashValue == nil || img.OSHashAlgo == nil || *img.OSHashAlgo != "sha512" {
		return fmt.Errorf("%w: image %s has no recorded MD5 and SHA-512", ErrCorrupt, id)
	}
	if got := hex.EncodeToString(md5h.Sum(nil)); got != *img.Checksum {
		return fmt.Errorf("%w: image %s data has MD5 %s, recorded %s", ErrCorrupt, id, got, *img.Checksum)
	}
	if got := hex.EncodeToString(shah.Sum(nil)); got != *img.OSHashValue {
		return fmt.Errorf("%w: image %s data has SHA-512 %s, recorded %s", ErrCorrupt, id, got, *img.OSHashValue)
	}
	return nil
}

// ctxReader stops a long read (hashing gigabytes) once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
