package dirwatch

import (
	"fmt"
	"syscall"
)

// Mask is every change to a file's data, metadata or name in the
// directory, and to the directory itself.
const Mask = syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_CLOSE_WRITE | syscall.IN_CREATE |
	syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF

// Lost are the events after which a watch can no longer tell: its queue
// overflowed, the watch was removed, the directory moved, went away or
// was unmounted.
const Lost = syscall.IN_Q_OVERFLOW | syscall.IN_IGNORED | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_UNMOUNT

// local are the filesystems whose every write is made by this kernel, so
// raises an inotify event here (statfs f_type). A network or FUSE
// filesystem (NFS, CIFS, Ceph, 9p, ...) can change under the watch without
// one.
var local = map[uint32]string{
	0xEF53:     "ext2/3/4",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x858458F6: "ramfs",
	0x794C7630: "overlayfs",
	0xF2F52010: "f2fs",
	0x2FC12FC1: "zfs",
	0xCA451A4E: "bcachefs",
	0x52654973: "reiserfs",
	0x3153464A: "jfs",
}

// Open returns a non-blocking, close-on-exec inotify descriptor watching
// dir for Mask. It fails where inotify is unavailable or its limits are
// reached, and for a directory on a filesystem not known to be local.
func Open(dir string) (int, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, fmt.Errorf("statfs %s: %w", dir, err)
	}
	if err := checkLocal(dir, uint32(st.Type)); err != nil {
		return -1, err
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, Mask); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("watching %s: %w", dir, err)
	}
	return fd, nil
}

// checkLocal refuses a filesystem type not in local.
func checkLocal(dir string, fsType uint32) error {
	if _, ok := local[fsType]; !ok {
		return fmt.Errorf("not watching %s: its filesystem (type %#x) is not one known to be local, where every write raises an event", dir, fsType)
	}
	return nil
}
