// Package imagestore is the embedded default image store of the download
// server: image metadata in SQLite, image data as checksummed files under a
// data directory, written so that a crash or a full disk never leaves a
// half-written image visible.
package imagestore

import (
	"errors"
	"time"
)

// Image statuses, as Glance names them.
const (
	StatusQueued      = "queued"
	StatusActive      = "active"
	StatusDeactivated = "deactivated"
)

// Image visibilities, as Glance names them.
const (
	Private   = "private"
	Shared    = "shared"
	Community = "community"
	Public    = "public"
)

// ErrNotFound is returned for an image (or member) that does not exist or
// was deleted.
var ErrNotFound = errors.New("image not found")

// Image is one image's metadata. Pointers are Glance's nullable columns:
// nil renders as None in oslo rules.
type Image struct {
	ID              string
	Name            *string
	Status          string
	Visibility      string
	Owner           *string
	Checksum        *string // MD5 hex of the data
	OSHashAlgo      *string // "sha512"
	OSHashValue     *string
	Size            *int64
	VirtualSize     *int64
	DiskFormat      *string
	ContainerFormat *string
	MinDisk         int64
	MinRAM          int64
	Protected       bool
	Hidden          bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Tags            []string
	// Properties are the custom (extra) properties.
	Properties map[string]string
}

// Member is a project an image is shared with.
type Member struct {
	ImageID   string
	ProjectID string
	Status    string // pending, accepted or rejected
}
