package imagecache

import (
	"os"
	"syscall"
)

// guard is what of an entry's file must not change once it was verified.
// The ctime is the point: every write or metadata change through the
// file system sets it, and no system call sets it back.
type guard struct {
	size         int64
	dev, ino     uint64
	mtime, ctime syscall.Timespec
}

func guardOf(fi os.FileInfo) guard {
	g := guard{size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		g.dev, g.ino, g.mtime, g.ctime = st.Dev, st.Ino, st.Mtim, st.Ctim
	}
	return g
}
