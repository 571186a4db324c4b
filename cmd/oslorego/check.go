package main

import (
	"context"
	"errors"
	"io"

	"github.com/oslorego/oslorego/checker"
	"github.com/oslorego/oslorego/rego"
)

type checkFlags struct {
	policies []string
	creds    string
	access   string
	isAdmin  bool
	target   string
	rule     string
	explain  bool
	batch    bool
	maxLine  int
	memo     int
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var pf policyFlags
	var cf checkFlags
	fs := newFlagSet("check", "--policy FILE [--creds FILE|--access TOKEN.json] [--target FILE] [--rule NAME] [--explain]\n       oslorego check --batch [--policy FILE]",
		`Decide rules the way oslo.policy's Enforcer.enforce() does, like
oslopolicy-checker: print "passed: NAME" or "failed: NAME" for --rule, or for
every rule whose name contains ":" (sorted). A decision that fails closed
(where oslo.policy raises) prints "failed: NAME" and an "error:" line.
Exits 0 when every checked rule passed, 1 otherwise.

Credentials come from --creds (a JSON object used as is) or --access (a
Keystone token body as oslopolicy-checker reads it: roles by name, user_id,
project_id, system_scope "all" for system tokens, is_admin from --is-admin).
The --target JSON is flattened to dotted keys as oslopolicy-checker does;
without it the target is {user_id, project_id} of the credentials.

With --batch, JSON Lines requests are read from stdin, one per line:
  {"rule": NAME, "target": {...}, "creds": {...}}
optionally with "rules": {...} (a whole policy map for that request instead
of --policy) and "default_rule": NAME|null. A line is one JSON object read
as Python's json.loads reads it; field names are exact and other fields are
refused. One JSON line is written per request, in order:
{"allowed": true|false}, with "error" where the decision failed closed or
the line was refused. If --policy cannot be loaded, every line is answered
with the load error and the exit status is 1.`, stdout)
	pf.register(fs)
	fs.StringArrayVar(&cf.policies, "policy", nil, "policy file or policy.d directory (repeat to layer; later ones override)")
	fs.StringVar(&cf.creds, "creds", "", "JSON file with the credentials object")
	fs.StringVar(&cf.access, "access", "", "JSON file with a Keystone token ({\"token\": {...}}), as oslopolicy-checker --access")
	fs.BoolVar(&cf.isAdmin, "is-admin", false, "with --access: set is_admin true in the credentials")
	fs.StringVar(&cf.target, "target", "", "JSON file with the target object (flattened to dotted keys)")
	fs.StringVar(&cf.rule, "rule", "", "rule to check (default: every rule whose name contains \":\")")
	fs.BoolVar(&cf.explain, "explain", false, "explain each decision: the oslo sub-expressions evaluated and which failed, with file:line")
	fs.BoolVar(&cf.batch, "batch", false, "read JSON Lines requests on stdin and write one decision per line")
	fs.IntVar(&cf.memo, "decision-memo", rego.DefaultMemoSize, "with --batch: decisions kept per policy to answer repeated requests without evaluating (exact: keyed on what the rule reads; 0: off)")
	fs.IntVar(&cf.maxLine, "max-line", checker.DefaultMaxLine, "with --batch: the longest request line in bytes; a longer one is answered with an error and skipped")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q (give policies with --policy)", fs.Args())
	}
	if cf.memo < 0 {
		return usageErr("--decision-memo %d: want a number of decisions, 0 for none", cf.memo)
	}
	if cf.maxLine <= 0 {
		return usageErr("--max-line %d: want a number of bytes above 0", cf.maxLine)
	}
	if cf.batch {
		return runBatch(ctx, &pf, &cf, stdin, stdout)
	}
	if len(cf.policies) == 0 {
		return usageErr("--policy is required")
	}
	if cf.creds != "" && cf.access != "" {
		return usageErr("give --creds or --access, not both")
	}
	eng, err := buildEngine(ctx, &pf, cf.policies)
	if err != nil {
		return err
	}
	creds, err := checker.Creds(cf.creds, cf.access, cf.isAdmin)
	if err != nil {
		return err
	}
	target, err := checker.Target(cf.target, creds)
	if err != nil {
		return err
	}
	names := []string{cf.rule}
	if cf.rule == "" {
		names = checker.RuleNames(eng.Translation().Policy)
	}
	passed, err := checker.Check(ctx, stdout, eng, names, target, creds, cf.explain)
	if err != nil {
		return err
	}
	if !passed {
		return errFindings
	}
	return nil
}

func buildEngine(ctx context.Context, pf *policyFlags, paths []string) (*rego.Engine, error) {
	p, err := pf.loadOslo(paths)
	if err != nil {
		return nil, err
	}
	return pf.engine(ctx, p)
}

// runBatch is check --batch: the requests are decided against --policy
// (if given), or each against its own "rules" map, compiled with the
// policy flags.
func runBatch(ctx context.Context, pf *policyFlags, cf *checkFlags, stdin io.Reader, stdout io.Writer) error {
	b := checker.Batch{
		Options: pf.options(),
		Compile: pf.engine,
		Explain: cf.explain,
		Memo:    cf.memo,
		MaxLine: cf.maxLine,
	}
	if len(cf.policies) > 0 || pf.defaults != "" {
		b.Policy, b.PolicyErr = buildEngine(ctx, pf, cf.policies)
	}
	err := b.Run(ctx, stdin, stdout)
	if errors.Is(err, checker.ErrPolicy) {
		// Every line says why; the exit status is 1.
		return errFindings
	}
	return err
}
