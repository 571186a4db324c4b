//go:build !linux

package dirwatch

import "errors"

// Open has no watch to give outside Linux: callers check on every request.
func Open(string) (int, error) { return -1, errors.New("no directory watch on this system") }
