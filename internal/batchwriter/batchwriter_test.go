package batchwriter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a destination that records each write(2) it is given.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   error
	delay  time.Duration // each write takes this long
}

func (r *recorder) Write(p []byte) (int, error) {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	if r.fail != nil {
		return 0, r.fail
	}
	return r.buf.Write(p)
}

// Concurrent lines all arrive, whole, each writer's in its order, and in
// fewer destination writes than lines once writes back up.
func TestLinesArriveWholeAndInOrder(t *testing.T) {
	dst := &recorder{delay: 200 * time.Microsecond} // a slow destination
	w := New(dst, 256)
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				if _, err := fmt.Fprintf(w, "w%d line %04d %s\n", g, i, strings.Repeat("x", g)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(dst.buf.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		var pad string
		if n, _ := fmt.Sscanf(l, "w%d line %d %s", &g, &i, &pad); n < 2 || i != next[g] || (g > 0 && pad != strings.Repeat("x", g)) {
			t.Fatalf("line %q out of order or broken (want w%d line %d)", l, g, next[g])
		}
		next[g]++
	}
	if dst.writes >= writers*lines {
		t.Errorf("%d destination writes for %d lines: no batching", dst.writes, writers*lines)
	}
}

// A destination failure is reported, by later writes and by Close; a
// write after Close is refused.
func TestErrorsAndClose(t *testing.T) {
	boom := errors.New("disk full")
	dst := &recorder{fail: boom}
	w := New(dst, 0)
	if _, err := w.Write([]byte("a\n")); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v, want %v", err, boom)
	}
	if _, err := w.Write([]byte("b\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("second Close: %v", err)
	}
}

// Lines written while the goroutine lingers go out together: a burst of
// lines from one writer, faster than Linger, takes far fewer writes than
// lines, and every line arrives.
func TestLingerGathersLines(t *testing.T) {
	dst := &recorder{}
	w := New(dst, 0)
	const lines = 100
	for i := range lines {
		if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	if got := strings.Count(dst.buf.String(), "\n"); got != lines {
		t.Fatalf("%d lines arrived, want %d", got, lines)
	}
	// 100 short Writes take microseconds, far less than Linger: one or
	// two batches, unless the machine stalls the writer for a whole
	// Linger between lines.
	if dst.writes >= lines/2 {
		t.Errorf("%d destination writes for %d lines", dst.writes, lines)
	}
}
