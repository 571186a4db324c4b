package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

func runTranslate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var pf policyFlags
	var outDir string
	fs := newFlagSet("translate", "POLICY... [-o DIR] [flags]",
		`Translate oslo policy files to Rego. Each POLICY is a policy.json/policy.yaml
file or a policy.d directory; later ones override earlier ones, as oslo's
policy_dirs do. Without -o the modules are printed to stdout, one after the
other; with -o DIR each is written to its own file in DIR (created if needed):
oslo_lib.rego (the semantics library), decision.rego (the decision rules) and
one module per policy source. What lint reports as an error (a rule oslo
cannot parse, an undefined rule: reference, a cycle, ...) is also printed on
stderr; the translation still reproduces oslo's behaviour for it.`, stdout)
	pf.register(fs)
	fs.StringVarP(&outDir, "output", "o", "", "write the modules as files into this directory")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	p, err := pf.load(fs.Args())
	if err != nil {
		return err
	}
	// oslo logs what it cannot parse and denies it; say so too.
	for _, f := range oslo.Lint(p) {
		if f.Severity == oslo.Error {
			fmt.Fprintf(stderr, "oslorego translate: %s\n", f)
		}
	}
	tr, err := translate.Translate(p, pf.pkg)
	if err != nil {
		return err
	}
	formatted, err := tr.Formatted()
	if err != nil {
		return err
	}
	mods := append([]translate.Module{translate.LibModule()}, formatted...)
	if outDir == "" {
		for i, m := range mods {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "# ---- %s ----\n%s", m.File, m.Text)
		}
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	for _, m := range mods {
		path := filepath.Join(outDir, m.File)
		if err := writeFileAtomic(path, []byte(m.Text)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", path)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename
// (renameio), so a crash never leaves a half-written module behind.
func writeFileAtomic(path string, data []byte) error {
	if err := renameio.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
