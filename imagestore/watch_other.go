//go:build !linux

package imagestore

import "errors"

// dirWatch is Linux's inotify; elsewhere the database is checked on
// every Get.
type dirWatch struct{ lost bool }

func newDirWatch(string) (*dirWatch, error) {
	return nil, errors.New("no directory watch on this system")
}

func (w *dirWatch) changed() bool { return true }

func (w *dirWatch) close() error { return nil }
