package bundles

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed all:glance
var builtin embed.FS

// Builtin is the bundle directory name compiled into the binary ("glance"),
// read in place: nothing is written to disk. Its revision is a hash of its
// content, the same on every start.
func Builtin(name string) (Source, error) {
	sub, err := fs.Sub(builtin, name)
	if err != nil {
		return Source{}, fmt.Errorf("built-in bundle %q: %w", name, err)
	}
	if _, err := fs.Stat(sub, "."); err != nil {
		return Source{}, fmt.Errorf("no built-in bundle %q", name)
	}
	return FS(sub, "built-in "+name+" bundle"), nil
}
