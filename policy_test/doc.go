// Package conformance is where the suites that span packages live, apart
// from the code they check: conformance with oslo.policy (a frozen corpus
// and a differential test against the real library), the stock opa CLI on
// translated real policies, benchmarks, and the module's import layering.
// The package itself has no code; its tests are the suites.
//
// Beside it: oracle runs the real oslo.policy, casegen generates the cases
// and cmd/gencorpus regenerates the committed corpus from the oracle.
package conformance
