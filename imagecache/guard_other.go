//go:build !linux

package imagecache

import (
	"os"
	"time"
)

// guard is what of an entry's file must not change once it was verified.
// Without Linux's ctime it is weaker: size and modification time.
type guard struct {
	size  int64
	mtime time.Time
}

func guardOf(fi os.FileInfo) guard { return guard{size: fi.Size(), mtime: fi.ModTime()} }
