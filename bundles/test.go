package bundles

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestSummary counts a test run's outcomes.
type TestSummary struct {
	Passed, Failed, Errors, Skipped int
	// Coverage is the percentage of the bundle's Rego lines the tests
	// evaluated (with TestOptions.Coverage).
	Coverage float64
}

// TestOptions shape a test run.
type TestOptions struct {
	// Verbose lists every test, with traces of failures.
	Verbose bool
	// Coverage reports, per file, how much of the Rego the tests evaluate.
	Coverage bool
}

// Test runs the bundle's Rego tests with OPA's tester and reports them on w
// as "opa test" does.
func Test(ctx context.Context, b *bundle.Bundle, opts TestOptions, w io.Writer) (TestSummary, error) {
	verbose := opts.Verbose
	var sum TestSummary
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return sum, err
	}
	defer store.Abort(ctx, txn)
	runner := tester.NewRunner().
		SetStore(store).
		SetBundles(map[string]*bundle.Bundle{"bundle": b}).
		SetDefaultRegoVersion(ast.RegoV1).
		// Tests see builtin errors as the served engine does.
		RaiseBuiltinErrors(true).
		EnableTracing(verbose)
	var cov *cover.Cover
	if opts.Coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return sum, fmt.Errorf("running tests: %w", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
		switch {
		case r.Error != nil:
			sum.Errors++
		case r.Skip:
			sum.Skipped++
		case r.Fail:
			sum.Failed++
		default:
			sum.Passed++
		}
	}
	out := make(chan *tester.Result, len(results))
	for _, r := range results {
		out <- r
	}
	close(out)
	if err := (tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}).Report(out); err != nil {
		return sum, err
	}
	if cov != nil {
		modules := map[string]*ast.Module{}
		for _, m := range b.Modules {
			if m.Parsed != nil {
				modules[m.Parsed.Package.Location.File] = m.Parsed
			}
		}
		report := cov.Report(modules)
		sum.Coverage = report.Coverage
		fmt.Fprintf(w, "coverage: %.1f%% (%d of %d lines)\n", report.Coverage, report.CoveredLines, report.CoveredLines+report.NotCoveredLines)
		files := make([]string, 0, len(report.Files))
		for f := range report.Files {
			files = append(files, f)
		}
		sort.Strings(files)
		for _, f := range files {
			fmt.Fprintf(w, "  %-40s %5.1f%%\n", f, report.Files[f].Coverage)
		}
	}
	return sum, nil
}
