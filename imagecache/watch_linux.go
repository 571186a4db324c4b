package imagecache

import (
	"bytes"
	"os"
	"syscall"
	"unsafe"

	"github.com/oslorego/oslorego/internal/dirwatch"
)

// dataWatch reads inotify events of the data directory in the
// background: changed gets the name of each entry file written, renamed,
// removed or whose metadata changed; lost is called once when the watch
// can no longer tell (its queue overflowed, the directory went away, the
// watch was closed).
type dataWatch struct{ f *os.File }

func watchData(dir string, changed func(name string), lost func()) (*dataWatch, error) {
	fd, err := dirwatch.Open(dir)
	if err != nil {
		return nil, err
	}
	// Non-blocking: reads wait in the runtime's poller, not a thread.
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	go func() {
		defer lost()
		var buf [64 << 10]byte
		for {
			n, err := f.Read(buf[:])
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				start := off + syscall.SizeofInotifyEvent
				off = start + int(ev.Len)
				if ev.Mask&dirwatch.Lost != 0 || off > n {
					f.Close()
					return
				}
				changed(string(bytes.TrimRight(buf[start:off], "\x00")))
			}
		}
	}()
	return &dataWatch{f: f}, nil
}

func (w *dataWatch) close() error { return w.f.Close() }
