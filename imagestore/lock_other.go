//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package imagestore

// canLock is false where flock is unavailable: Open then never removes
// leftovers, since it cannot tell whether another process is mid-import,
// and Sweep removes nothing for the same reason.
const canLock = false

// fder is an open file: an *os.File, or a test's wrapper of one.
type fder interface{ Fd() uintptr }

// tryLockExclusive never succeeds: every file counts as in use.
func tryLockExclusive(fder) (bool, error) { return false, nil }

func lockExclusive(fder) error { return nil }

func lockShared(fder) error { return nil }
