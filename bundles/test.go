package bundles

import (
	"context"
	"fmt"
	"io"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestSummary counts a test run's outcomes.
type TestSummary struct {
	Passed, Failed, Errors, Skipped int
}

// Test runs the bundle's Rego tests with OPA's tester and reports them on w
// as "opa test" does (verbose lists every test).
func Test(ctx context.Context, b *bundle.Bundle, verbose bool, w io.Writer) (TestSummary, error) {
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
		EnableTracing(verbose)
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
	return sum, nil
}
