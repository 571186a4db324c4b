//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package imagestore

import (
	"errors"
	"os"
	"syscall"
)

// canLock reports whether Open can tell that it is alone on a directory
// and so clean up crash leftovers.
const canLock = true

// tryLockExclusive takes an exclusive flock without waiting; false means
// another Store holds the directory.
func tryLockExclusive(f *os.File) (bool, error) {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockShared takes (or converts to) a shared flock, waiting for a cleaning
// Open to finish.
func lockShared(f *os.File) error {
	return flock(f, syscall.LOCK_SH)
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
