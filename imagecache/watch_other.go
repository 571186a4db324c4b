//go:build !linux

package imagecache

import "errors"

// dataWatch is Linux's inotify; elsewhere a small entry kept in memory is
// checked with a stat of its file on every hit.
type dataWatch struct{}

func watchData(string, func(string), func()) (*dataWatch, error) {
	return nil, errors.New("no directory watch on this system")
}

func (w *dataWatch) close() error { return nil }
