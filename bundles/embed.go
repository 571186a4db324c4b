package bundles

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

//go:embed all:glance
var builtin embed.FS

// Builtin lists the bundle directories compiled into the binary.
func Builtin() []string { return []string{"glance"} }

// ExtractBuiltin writes the built-in bundle directory name (see Builtin)
// into dir, which must not exist yet or be empty, so that it can be read
// like any bundle directory.
func ExtractBuiltin(name, dir string) error {
	sub, err := fs.Sub(builtin, name)
	if err != nil {
		return fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	if _, err := fs.Stat(sub, "."); err != nil {
		return fmt.Errorf("no built-in bundle %q", name)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return fmt.Errorf("extracting built-in bundle %q: %w", name, err)
	}
	return nil
}

// LoadBuiltin builds and compiles the built-in bundle name.
func LoadBuiltin(ctx context.Context, name string, opts BuildOptions) (*Loaded, error) {
	tmp, err := os.MkdirTemp("", "oslorego-builtin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, name)
	if err := ExtractBuiltin(name, dir); err != nil {
		return nil, err
	}
	b, err := Load(dir, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	eng, err := Compile(ctx, b, opts.Package)
	if err != nil {
		return nil, fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	return &Loaded{Engine: eng, Revision: b.Manifest.Revision, LoadedAt: time.Now()}, nil
}
