//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package imagestore

import (
	"errors"
	"syscall"
)

// canLock reports whether Open can tell that it is alone on a directory
// and so clean up crash leftovers, and whether Sweep can tell a live
// import's files from a dead one's.
const canLock = true

// fder is an open file: an *os.File, or a test's wrapper of one.
type fder interface{ Fd() uintptr }

// tryLockExclusive takes an exclusive flock without waiting; false means
// another holds a lock on the file (another Store on the directory, or an
// import in progress on a staging or data file).
func tryLockExclusive(f fder) (bool, error) {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockExclusive takes an exclusive flock, waiting for a Sweep that is
// looking at the file.
func lockExclusive(f fder) error {
	return flock(f, syscall.LOCK_EX)
}

// lockShared takes (or converts to) a shared flock, waiting for a cleaning
// Open to finish.
func lockShared(f fder) error {
	return flock(f, syscall.LOCK_SH)
}

func flock(f fder, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
