package imagestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dbFDs counts this process's descriptors open on the store's database
// file, or -1 where /proc is unavailable.
func dbFDs(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	db := filepath.Join(dir, "images.db")
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == db {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or a generous deadline passes; only
// the deadline fails, so a slow machine does not.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A burst of concurrent reads holds at most MaxOpenConns connections
// (and so descriptors), and once idle the connections close.
func TestStorePoolIsBounded(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	const limit = 3
	s, err := OpenWith(ctx, dir, Options{MaxOpenConns: limit, MaxIdleConns: 1, ConnMaxIdleTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.db.Stats().MaxOpenConnections; got != limit {
		t.Errorf("MaxOpenConnections %d, want %d", got, limit)
	}

	// Each reader keeps its connection (an open result set) until the
	// burst is released: when every reader has one, or when the pool is
	// full and readers queue.
	const readers = 50
	var ready atomic.Int32
	hold := make(chan struct{})
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := s.getOne.QueryContext(ctx, img.ID)
			if err != nil {
				errs <- err
				return
			}
			ready.Add(1)
			<-hold
			rows.Close()
			if _, err := s.Get(ctx, img.ID); err != nil {
				errs <- err
			}
		}()
	}
	waitFor(t, "the burst to fill the pool", func() bool {
		return ready.Load() == readers || s.db.Stats().WaitCount > 0 && ready.Load() >= limit
	})
	open, fds := s.db.Stats().OpenConnections, dbFDs(t, s.dir)
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if open > limit {
		t.Errorf("%d connections open during the burst, want at most %d", open, limit)
	}
	if fds > limit {
		t.Errorf("%d descriptors on images.db during the burst, want at most %d", fds, limit)
	}

	// The record cache's version connection closes when idle too.
	waitFor(t, "idle connections to close", func() bool {
		return s.db.Stats().OpenConnections == 0 && !s.records.open()
	})
	if fds := dbFDs(t, s.dir); fds > 0 {
		t.Errorf("%d descriptors on images.db once idle, want 0", fds)
	}
	// The store still works after shrinking.
	if _, err := s.Get(ctx, img.ID); err != nil {
		t.Errorf("Get after the pool shrank: %v", err)
	}
}

func TestStorePoolDefaults(t *testing.T) {
	s, _ := newStore(t)
	want := max(4, 4*runtime.GOMAXPROCS(0))
	if got := s.db.Stats().MaxOpenConnections; got != want {
		t.Errorf("default MaxOpenConnections %d, want %d", got, want)
	}
	if _, err := OpenWith(context.Background(), t.TempDir(), Options{MaxOpenConns: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative MaxOpenConns: %v, want ErrInvalid", err)
	}
}

// A request waiting for a connection of a full pool stops waiting when
// its context is cancelled: an error, never a hang or a result.
func TestStorePoolWaitRespectsContext(t *testing.T) {
	tests := []struct {
		name string
		do   func(ctx context.Context, s *Store) error
	}{
		{"Get", func(ctx context.Context, s *Store) error { _, err := s.Get(ctx, "img"); return err }},
		{"List", func(ctx context.Context, s *Store) error { _, err := s.List(ctx); return err }},
		{"IsMember", func(ctx context.Context, s *Store) error { _, err := s.IsMember(ctx, "img", "p"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "data"), Options{MaxOpenConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "img"}); err != nil {
				t.Fatal(err)
			}
			conn, err := s.db.Conn(ctx) // the only connection
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			waits := s.db.Stats().WaitCount
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tc.do(rctx, s) }()
			waitFor(t, "the request to queue for a connection", func() bool { return s.db.Stats().WaitCount > waits })
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		})
	}
}
