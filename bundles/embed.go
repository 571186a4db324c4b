package bundles

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
)

//go:embed all:glance
var builtin embed.FS

// Builtin lists the bundle directories compiled into the binary.
func Builtin() []string { return []string{"glance"} }

func builtinFS(name string) (fs.FS, error) {
	sub, err := fs.Sub(builtin, name)
	if err != nil {
		return nil, fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	if _, err := fs.Stat(sub, "."); err != nil {
		return nil, fmt.Errorf("no built-in bundle %q", name)
	}
	return sub, nil
}

// ExtractBuiltin writes the built-in bundle directory name (see Builtin)
// into dir, which must not exist yet or be empty, so that it can be read
// like any bundle directory.
func ExtractBuiltin(name, dir string) error {
	sub, err := builtinFS(name)
	if err != nil {
		return err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return fmt.Errorf("extracting built-in bundle %q: %w", name, err)
	}
	return nil
}

// LoadBuiltin builds and compiles the built-in bundle name, read from the
// binary. Its revision is a hash of its content, the same on every start.
func LoadBuiltin(ctx context.Context, name string, opts BuildOptions) (*Loaded, error) {
	w, err := NewBuiltinWatcher(name, opts)
	if err != nil {
		return nil, err
	}
	if _, err := w.Reload(ctx); err != nil {
		return nil, fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	return w.Current(), nil
}
