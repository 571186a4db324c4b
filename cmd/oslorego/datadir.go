package main

import (
	"os"
	"path/filepath"
)

// defaultDataDir is where serve, image and token keep their state unless
// --data-dir says otherwise: $OSLOREGO_DATA_DIR, else the XDG data home.
func defaultDataDir() string {
	if d := os.Getenv("OSLOREGO_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "oslorego")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "oslorego")
	}
	return "oslorego-data"
}
