// Package dirwatch opens inotify watches of a directory for caches that
// must learn when another process writes there (the image store's record
// cache, the gateway's small cache entries kept in memory). A cache may
// trust the absence of an event only where every write raises one: this
// package refuses to watch where that is not known to hold, and its
// callers then check on every request instead.
package dirwatch
