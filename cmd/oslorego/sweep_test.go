package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/imagestore"
)

// A running server removes killed imports' leftovers (here at its first
// sweep, since another store kept it from cleaning at start), and the
// killed image's ID can be imported again.
func TestServeSweepsImportLeftovers(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Another process's store is open: serve's Open is not alone.
	other, err := imagestore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	old := time.Now().Add(-time.Hour)
	leftovers := []string{filepath.Join(dir, "staging", "killed.part"), filepath.Join(dir, "images", "killed-id")}
	for _, p := range leftovers {
		if err := os.WriteFile(p, []byte("leftover"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--decision-log", "off"}, strings.NewReader(""), &out, &errb)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		gone := 0
		for _, p := range leftovers {
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				gone++
			}
		}
		if gone == len(leftovers) && strings.Contains(errb.String(), "removed import leftovers") {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("leftovers not removed (%d of %d gone): %s", gone, len(leftovers), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "again", "--id", "killed-id"); code != 0 {
		t.Errorf("re-import of the killed ID: %d %s", code, stderr)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
