package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// policyFlags are the flags every command that loads a policy shares.
type policyFlags struct {
	defaults           string
	defaultRule        string
	noDefaultRule      bool
	enforceScope       bool
	enforceNewDefaults bool
	pkg                string
	rego               []string
}

func (f *policyFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.defaults, "defaults", "", "defaults file: the rules the service registers in code (JSON/YAML {\"rules\": {NAME: {check_str, scope_types, deprecated_rule}}})")
	fs.StringVar(&f.defaultRule, "default-rule", "default", "rule that unknown rule names and undefined rule: references fall back to (oslo's policy_default_rule)")
	fs.BoolVar(&f.noDefaultRule, "no-default-rule", false, "no fallback rule: unknown names and undefined references are denied")
	fs.BoolVar(&f.enforceScope, "enforce-scope", false, "deny registered rules whose scope_types do not include the token's scope ([oslo_policy] enforce_scope)")
	fs.BoolVar(&f.enforceNewDefaults, "enforce-new-defaults", false, "use new defaults alone, without OR-ing the deprecated check strings ([oslo_policy] enforce_new_defaults)")
	fs.StringVar(&f.pkg, "package", translate.DefaultPackage, "Rego package of the translated rules")
	fs.StringArrayVar(&f.rego, "rego", nil, "raw Rego module beside the oslo files (repeatable): rules[NAME] it defines in the policy package can be used as rule:NAME")
}

func (f *policyFlags) options() oslo.Options {
	return oslo.Options{
		DefaultRule:        f.defaultRule,
		NoDefaultRule:      f.noDefaultRule || f.defaultRule == "",
		EnforceScope:       f.enforceScope,
		EnforceNewDefaults: f.enforceNewDefaults,
	}
}

// load reads the policy files and the defaults file (see loadOslo), and
// declares the rules the --rego modules define, so that rule:NAME finds
// them (lint and translate need them; engine declares them itself).
func (f *policyFlags) load(paths []string) (*oslo.Policy, error) {
	p, err := f.loadOslo(paths)
	if err != nil {
		return nil, err
	}
	modules, err := f.regoModules()
	if err != nil {
		return nil, err
	}
	for _, m := range modules {
		if err := p.DeclareRego(m.File, m.Text, f.pkg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// loadOslo reads the policy files (later ones override earlier ones; a
// directory is a policy.d overlay) and the defaults file.
func (f *policyFlags) loadOslo(paths []string) (*oslo.Policy, error) {
	if len(paths) == 0 && f.defaults == "" {
		return nil, usageErr("no policy file given")
	}
	return oslo.Load(paths, f.defaults, f.options())
}

// engine compiles p with the --rego modules, declaring the rules they
// define on p (which must not have them declared yet).
func (f *policyFlags) engine(ctx context.Context, p *oslo.Policy) (*rego.Engine, error) {
	modules, err := f.regoModules()
	if err != nil {
		return nil, err
	}
	opts := []rego.Option{rego.Policy(p), rego.Package(f.pkg)}
	for _, m := range modules {
		opts = append(opts, rego.Module(m.File, m.Text))
	}
	return rego.New(ctx, opts...)
}

// regoModules reads the --rego files.
func (f *policyFlags) regoModules() ([]translate.Module, error) {
	var out []translate.Module
	for _, path := range f.rego {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading Rego: %w", err)
		}
		out = append(out, translate.Module{File: path, Text: string(b)})
	}
	return out, nil
}

// newFlagSet makes a flag set whose --help prints the command's usage.
func newFlagSet(name, synopsis, description string, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: oslorego %s %s\n\n%s\n\nFlags:\n%s", name, synopsis, description, fs.FlagUsages())
	}
	return fs
}

// parse parses args; --help prints usage and ends the command successfully.
func parse(fs *pflag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return true, nil
		}
		return false, usageErr("%v", err)
	}
	return false, nil
}
