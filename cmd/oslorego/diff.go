package main

import (
	"context"
	"io"
	"strings"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/policydiff"
)

func runDiff(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	var pf policyFlags
	var rules []string
	var format, againstDefaults string
	var maxRequests, sample int
	var seed uint64
	var key, alg, keyID string
	fs := newFlagSet("diff", "OLD NEW [--rule R]... [--format text|json]\n       oslorego diff --against-defaults BUNDLE",
		`Compare two policies rule by rule: for every rule, whether OLD and NEW can
decide a request differently, with a condition and an example request
(roles, credentials, target) for each group of differences. OLD and NEW are
each a policy file (JSON or YAML; --defaults, --rego and the option flags
apply to it), a bundle directory or a built bundle (.tar.gz or URL).

Requests come from a finite abstraction of what the two policies read for
the rule: each role they name, each credentials path and target field with
each literal it is compared with, another value and "missing", and each
credentials/target equality. Each request is decided by both engines.
Up to --max-requests the abstraction is enumerated whole and "no
difference" is exhaustive; beyond, --sample requests drawn with --seed are
decided and the report says the search was not exhaustive.

With --against-defaults BUNDLE, OLD is the service's registered defaults
(the bundle's defaults.json; for a policy file, --defaults) and NEW the
bundle with the operator's overrides.

Exits 1 when some rule differs, 0 otherwise.`, stdout)
	pf.register(fs)
	fs.StringArrayVar(&rules, "rule", nil, "compare only this rule (repeatable, or comma-separated)")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	fs.StringVar(&againstDefaults, "against-defaults", "", "compare BUNDLE with its registered defaults")
	fs.IntVar(&maxRequests, "max-requests", policydiff.DefaultMaxRequests, "most abstract requests decided per rule; a larger abstraction is sampled (not exhaustive)")
	fs.IntVar(&sample, "sample", policydiff.DefaultSample, "requests drawn at random from a larger abstraction")
	fs.Uint64Var(&seed, "seed", 1, "seed of the samples")
	fs.StringVar(&key, "verification-key", "", "PEM public key file (or HMAC secret file) to verify signed bundles")
	fs.StringVar(&alg, "verification-alg", "RS256", "verification algorithm")
	fs.StringVar(&keyID, "verification-key-id", "default", "key id the signature must name")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if format != "text" && format != "json" {
		return usageErr("--format must be text or json")
	}
	verify, err := verifyOptions(key, alg, keyID)
	if err != nil {
		return err
	}
	modules, err := pf.regoModules()
	if err != nil {
		return err
	}
	lo := policydiff.LoadOptions{
		Options:  pf.options(),
		Package:  pf.pkg,
		Defaults: pf.defaults,
		Rego:     modules,
		Bundle:   bundles.Options{Options: pf.options(), Package: pf.pkg, Verify: verify},
	}
	var old, new *policydiff.Side
	switch {
	case againstDefaults != "" && fs.NArg() == 0:
		if old, err = policydiff.LoadDefaults(ctx, againstDefaults, lo); err != nil {
			return err
		}
		if new, err = policydiff.Load(ctx, againstDefaults, lo); err != nil {
			return err
		}
	case againstDefaults == "" && fs.NArg() == 2:
		if old, err = policydiff.Load(ctx, fs.Arg(0), lo); err != nil {
			return err
		}
		if new, err = policydiff.Load(ctx, fs.Arg(1), lo); err != nil {
			return err
		}
	default:
		return usageErr("want OLD NEW, or --against-defaults BUNDLE alone")
	}
	var names []string
	for _, r := range rules {
		for _, n := range strings.Split(r, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{Rules: names, MaxRequests: maxRequests, Sample: sample, Seed: seed})
	if err != nil {
		return err
	}
	if format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Differ() {
		return errFindings
	}
	return nil
}
