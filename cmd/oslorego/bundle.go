package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/checker"
	"github.com/oslorego/oslorego/rego"
)

func runBuild(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var pf policyFlags
	var out, revision, key, alg, keyID string
	var osloPolicyOPA bool
	fs := newFlagSet("build", "DIR -o FILE.tar.gz [flags]",
		`Build a standard OPA bundle from a bundle directory: the oslo policy file
(policy.yaml or policy.json), policy.d/ overlays and defaults.json translated
to Rego, raw *.rego modules and *_test.rego tests as they are, data.json or
data.yaml, and a .manifest (revision: a hash of the content unless given;
roots: the top-level packages and data keys unless .manifest names them).
Everything must compile together. The same input gives the same bytes.
With --signing-key the bundle is signed in OPA's bundle signature format.

With --oslo-policy-opa the bundle also answers the oslo.policy.opa plugin on
stock OPA ("opa run -s -b FILE.tar.gz"): for every oslo rule, a package at
the path the plugin asks for (POST /v1/data/RULE/allow, ':' made '/' and '-'
made '_') whose allow is oslo's decision for that rule, under manifest
roots of their own. Two rules at one path, or a rule the plugin cannot
reach, fail the build with the rule names.`, stdout)
	pf.register(fs)
	fs.StringVarP(&out, "output", "o", "", "bundle file to write (.tar.gz)")
	fs.StringVar(&revision, "revision", "", "manifest revision (default: a hash of the content)")
	fs.StringVar(&key, "signing-key", "", "PEM private key file, or HMAC secret file for HS256, to sign the bundle")
	fs.StringVar(&alg, "signing-alg", "RS256", "signing algorithm: RS256, ES256, HS256, ...")
	fs.StringVar(&keyID, "signing-key-id", "default", "key id recorded in the signature")
	fs.BoolVar(&osloPolicyOPA, "oslo-policy-opa", false, "add the per-rule allow packages that the oslo.policy.opa plugin queries, for stock \"opa run\"")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 || out == "" {
		return usageErr("want one bundle directory and -o FILE.tar.gz")
	}
	b, err := bundles.Load(ctx, bundles.FS(os.DirFS(fs.Arg(0)), fs.Arg(0)), bundles.Options{Revision: revision, Options: pf.options(), Package: pf.pkg, OsloPolicyOPA: osloPolicyOPA})
	if err != nil {
		return err
	}
	var sign *bundles.SignOptions
	if key != "" {
		k, err := os.ReadFile(key)
		if err != nil {
			return fmt.Errorf("reading signing key: %w", err)
		}
		sign = &bundles.SignOptions{Key: string(k), Alg: alg, KeyID: keyID}
	}
	var buf bytes.Buffer
	if err := bundles.Write(&buf, b, sign); err != nil {
		return err
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s (revision %s, %d modules)\n", out, b.Manifest.Revision, len(b.Modules))
	return nil
}

func runTest(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	var pf policyFlags
	var verbose, coverage bool
	var key, alg, keyID string
	fs := newFlagSet("test", "DIR|FILE.tar.gz [-v] [--coverage] [flags]",
		`Run a bundle's Rego tests (*_test.rego) in-process with OPA's tester, on the
bundle as "oslorego build" makes it (for a directory) or as written (for a
.tar.gz, verified with --verification-key when given). Output is that of
"opa test"; exits 1 when a test fails or errors.`, stdout)
	pf.register(fs)
	fs.BoolVarP(&verbose, "verbose", "v", false, "list every test, with traces of failures")
	fs.BoolVar(&coverage, "coverage", false, "report how much of each Rego file the tests evaluate")
	fs.StringVar(&key, "verification-key", "", "PEM public key file (or HMAC secret file) to verify a signed .tar.gz")
	fs.StringVar(&alg, "verification-alg", "RS256", "verification algorithm")
	fs.StringVar(&keyID, "verification-key-id", "default", "key id the signature must name")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("want one bundle directory or .tar.gz")
	}
	verify, err := verifyOptions(key, alg, keyID)
	if err != nil {
		return err
	}
	b, err := bundles.Load(ctx, bundles.Path(fs.Arg(0)), bundles.Options{Options: pf.options(), Package: pf.pkg, Verify: verify})
	if err != nil {
		return err
	}
	sum, err := bundles.Test(ctx, b, bundles.TestOptions{Verbose: verbose, Coverage: coverage}, stdout)
	if err != nil {
		return err
	}
	if sum.Failed+sum.Errors > 0 || sum.Passed == 0 {
		return errFindings
	}
	return nil
}

func runEval(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	var pf policyFlags
	var cf checkFlags
	var key, alg, keyID string
	fs := newFlagSet("eval", "BUNDLE --rule NAME [--target FILE] [--creds FILE] [--explain]",
		`Decide one rule against a bundle: a bundle directory (built on the fly) or a
built .tar.gz (verified with --verification-key when given), with exactly the
Rego modules serve would enforce. With --explain the explanation names the
oslo sub-expressions and their file:line, or the Rego rule's file:line (for a
.tar.gz, from the oslo sources the build records in the manifest); if the
sources decide otherwise than the modules, that is an error. Prints
"passed: NAME" or "failed: NAME" like check, and exits 1 on a deny. The target
is used as given (not flattened).`, stdout)
	pf.register(fs)
	fs.StringVar(&cf.rule, "rule", "", "rule to decide (required)")
	fs.StringVar(&cf.target, "target", "", "JSON file with the target object (default {})")
	fs.StringVar(&cf.creds, "creds", "", "JSON file with the credentials object (default {})")
	fs.BoolVar(&cf.explain, "explain", false, "explain the decision")
	fs.StringVar(&key, "verification-key", "", "PEM public key file (or HMAC secret file) to verify a signed .tar.gz")
	fs.StringVar(&alg, "verification-alg", "RS256", "verification algorithm")
	fs.StringVar(&keyID, "verification-key-id", "default", "key id the signature must name")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 || cf.rule == "" {
		return usageErr("want one bundle and --rule NAME")
	}
	creds, err := checker.Creds(cf.creds, cf.access, cf.isAdmin)
	if err != nil {
		return err
	}
	var target any = map[string]any{}
	if cf.target != "" {
		if target, err = checker.ReadJSON(cf.target, "target"); err != nil {
			return err
		}
	}
	verify, err := verifyOptions(key, alg, keyID)
	if err != nil {
		return err
	}
	// Decide with exactly what serve enforces: the bundle's own modules.
	served, err := bundles.Open(ctx, bundles.Path(fs.Arg(0)), bundles.Options{Options: pf.options(), Package: pf.pkg, Verify: verify})
	if err != nil {
		return err
	}
	req := rego.Request{Rule: cf.rule, Target: target, Credentials: creds}
	d, err := served.Engine.Decide(ctx, req)
	if err != nil {
		return err
	}
	if cf.explain {
		if d, err = explainServed(ctx, fs.Arg(0), served, req, d); err != nil {
			return err
		}
	}
	checker.WriteDecision(stdout, cf.rule, d)
	if !d.Allowed {
		return errFindings
	}
	return nil
}

// explainServed explains decision d of the served bundle from its oslo
// sources, those the build recorded. The explanation must reach the same
// decision; if it does not, the bundle's modules are not what its sources
// translate to, and that is an error.
func explainServed(ctx context.Context, arg string, served *bundles.Loaded, req rego.Request, d rego.Decision) (rego.Decision, error) {
	eng, err := served.Explainer(ctx)
	if err != nil {
		return d, err
	}
	x, err := eng.Explain(ctx, req)
	if err != nil {
		return d, err
	}
	if x.Allowed != d.Allowed || (x.Error == "") != (d.Error == "") {
		return d, fmt.Errorf("%s: the bundle's modules decide allowed=%v (error %q) but its oslo sources decide allowed=%v (error %q): the modules are not what the sources translate to", arg, d.Allowed, d.Error, x.Allowed, x.Error)
	}
	x.Error = d.Error
	return x, nil
}

// verifyOptions reads a --verification-key file (none: nil).
func verifyOptions(key, alg, keyID string) (*bundles.VerifyOptions, error) {
	if key == "" {
		return nil, nil
	}
	k, err := os.ReadFile(key)
	if err != nil {
		return nil, fmt.Errorf("reading verification key: %w", err)
	}
	return &bundles.VerifyOptions{Key: strings.TrimSpace(string(k)), Alg: alg, KeyID: keyID}, nil
}
