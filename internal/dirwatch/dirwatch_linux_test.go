package dirwatch

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A write in the watched directory is an event on the descriptor.
func TestOpenSeesWrites(t *testing.T) {
	dir := t.TempDir()
	fd, err := Open(dir)
	if err != nil {
		t.Skipf("no watch here: %v", err)
	}
	defer syscall.Close(fd)
	var buf [4096]byte
	if _, err := syscall.Read(fd, buf[:]); err != syscall.EAGAIN {
		t.Fatalf("an event before any write: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := syscall.Read(fd, buf[:])
		if err == nil && n >= syscall.SizeofInotifyEvent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event after a write: %d %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Filesystems another machine can write (NFS, CIFS, FUSE, 9p, Ceph) are
// refused; the usual local ones accepted.
func TestOnlyLocalFilesystems(t *testing.T) {
	for _, typ := range []uint32{0x6969, 0xFF534D42, 0xFE534D42, 0x65735546, 0x01021997, 0x00C36400, 0} {
		if err := checkLocal("/d", typ); err == nil || !strings.Contains(err.Error(), "not one known to be local") {
			t.Errorf("type %#x: %v, want a refusal", typ, err)
		}
	}
	for _, typ := range []uint32{0xEF53, 0x58465342, 0x9123683E, 0x01021994, 0x794C7630} {
		if err := checkLocal("/d", typ); err != nil {
			t.Errorf("type %#x: %v", typ, err)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory was watched")
	}
}
