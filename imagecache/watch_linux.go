package imagecache

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// dataWatch reads inotify events of the data directory in the
// background: changed gets the name of each entry file written, renamed,
// removed or whose metadata changed; lost is called once when the watch
// can no longer tell (its queue overflowed, the directory went away, the
// watch was closed).
type dataWatch struct{ f *os.File }

const (
	dataMask = syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_CLOSE_WRITE | syscall.IN_CREATE |
		syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF
	lostMask = syscall.IN_Q_OVERFLOW | syscall.IN_IGNORED | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_UNMOUNT
)

func watchData(dir string, changed func(name string), lost func()) (*dataWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, dataMask); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, err)
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
				if ev.Mask&lostMask != 0 || off > n {
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
