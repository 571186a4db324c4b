package imagestore

import (
	"errors"
	"syscall"
	"unsafe"

	"github.com/oslorego/oslorego/internal/dirwatch"
)

// dirWatch tells, with one non-blocking read(2) of an inotify descriptor,
// whether anything in the database's directory was written, created,
// removed or renamed since it last asked. SQLite writes every commit to
// the -wal (or the database and its journal) with write(2), and the
// kernel queues the event before that write returns, so a commit that
// finished before a request started is an event that request's check
// reads: no event means no commit since the last look, exactly.
type dirWatch struct {
	fd   int
	lost bool // the watch was removed or its queue overflowed: never vouch again
	buf  [4096]byte
}

// newDirWatch watches dir. It fails where inotify is unavailable (or its
// limits reached) or dir is not on a local filesystem (dirwatch.Open); the
// caller then checks the database every time.
func newDirWatch(dir string) (*dirWatch, error) {
	fd, err := dirwatch.Open(dir)
	if err != nil {
		return nil, err
	}
	return &dirWatch{fd: fd}, nil
}

// changed drains the events and reports whether there were any, or
// whether the watch can no longer vouch for the directory (an error, an
// overflowed queue, a removed watch): true means "look at the database".
// Not safe for concurrent use.
func (w *dirWatch) changed() bool {
	if w.lost {
		return true
	}
	any := false
	for {
		n, err := syscall.Read(w.fd, w.buf[:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return any
		}
		if err != nil || n <= 0 {
			w.lost = true
			return true
		}
		any = true
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			if ev.Mask&dirwatch.Lost != 0 {
				w.lost = true
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
		if w.lost {
			return true
		}
	}
}

func (w *dirWatch) close() error { return syscall.Close(w.fd) }
