package main

import (
	"context"
	"fmt"
	"io"

	"github.com/oslorego/oslorego/translate/oslo"
)

func runLint(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	var pf policyFlags
	var warnErr bool
	fs := newFlagSet("lint", "POLICY... [flags]",
		`Report what makes oslo rules deny or raise unexpectedly, each as FILE:LINE:
parse failures, undefined rule: references (oslo silently falls back to the
default rule), rule: cycles, checks oslo raises on, and rules that are always
true or can never be true (warnings). Exits 1 when it finds an error (or a
warning, with --strict), 0 otherwise.`, stdout)
	pf.register(fs)
	fs.BoolVar(&warnErr, "strict", false, "exit 1 on warnings too")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	p, err := pf.load(fs.Args())
	if err != nil {
		return err
	}
	findings := oslo.Lint(p)
	errs, warns := 0, 0
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
		if f.Severity == oslo.Error {
			errs++
		} else {
			warns++
		}
	}
	fmt.Fprintf(stdout, "%d rules, %d errors, %d warnings\n", len(p.Rules), errs, warns)
	if errs > 0 || (warnErr && warns > 0) {
		return errFindings
	}
	return nil
}
