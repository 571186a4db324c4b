//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package imagestore

import "os"

// canLock is false where flock is unavailable: Open then never removes
// leftovers, since it cannot tell whether another process is mid-import.
const canLock = false

func tryLockExclusive(*os.File) (bool, error) { return false, nil }

func lockShared(*os.File) error { return nil }
