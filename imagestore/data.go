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
