// Package batchwriter moves log writes off the request path: Write copies
// the bytes into a bounded buffer and returns, and one goroutine writes
// what has gathered to the destination with one write(2) per batch
// instead of one per line.
package batchwriter

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultMax is the pending bytes past which Write waits for the writer
// goroutine (New with max ≤ 0).
const DefaultMax = 1 << 20

// Linger is how long the writer goroutine, woken by a first line, lets
// more lines gather before it writes them: under load a line per request
// would otherwise wake it for every line, and a wake-up costs more than
// the line.
const Linger = time.Millisecond

// ErrClosed is Write's error after Close.
var ErrClosed = errors.New("batchwriter: closed")

// Writer is an io.WriteCloser over a destination. Every Write's bytes
// reach the destination whole and in order; none is ever dropped: when
// max bytes are pending, Write waits (backpressure) rather than lose a
// line. Bytes wait in memory at most Linger and one destination write (and
// are lost if the process is killed before it); Close writes what is
// pending. It
// is safe for concurrent use.
type Writer struct {
	dst io.Writer
	max int

	mu      sync.Mutex
	room    sync.Cond // signalled when the pending bytes shrink
	pending []byte
	closed  bool
	err     error // the first failed destination write

	kick chan struct{} // capacity 1: there is something to write
	done chan struct{} // closed when the goroutine has written everything
}

// New starts a Writer over dst holding at most max pending bytes (≤ 0:
// DefaultMax; a single larger Write is accepted alone).
func New(dst io.Writer, max int) *Writer {
	if max <= 0 {
		max = DefaultMax
	}
	w := &Writer{dst: dst, max: max, kick: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues a copy of p. It returns the destination's first write
// error, if there was one, and ErrClosed after Close.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.pending) > 0 && len(w.pending)+len(p) > w.max && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	if err := w.err; err != nil {
		w.mu.Unlock()
		return 0, err
	}
	w.pending = append(w.pending, p...)
	// Under mu, so that Close cannot close kick in between.
	select {
	case w.kick <- struct{}{}:
	default: // already signalled
	}
	w.mu.Unlock()
	return len(p), nil
}

// run writes batches until Close.
func (w *Writer) run() {
	defer close(w.done)
	var batch []byte
	for {
		_, open := <-w.kick
		if open {
			// Lines written meanwhile join this batch; their kicks find
			// the channel full and wake nobody.
			time.Sleep(Linger)
		}
		w.mu.Lock()
		batch, w.pending = w.pending, batch[:0]
		w.room.Broadcast()
		w.mu.Unlock()
		if len(batch) > 0 {
			if _, err := w.dst.Write(batch); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = fmt.Errorf("batchwriter: %w", err)
				}
				w.mu.Unlock()
			}
		}
		if !open {
			return
		}
	}
}

// Close writes what is pending, stops the goroutine and returns the first
// destination write error. It does not close the destination.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return w.err
	}
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	close(w.kick)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
