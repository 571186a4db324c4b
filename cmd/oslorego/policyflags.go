package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/translate"
)

// policyFlags are the flags every command that loads a policy shares.
type policyFlags struct {
	defaults           string
	defaultRule        string
	noDefaultRule      bool
	enforceScope       bool
	enforceNewDefaults bool
	pkg                string
}

func (f *policyFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.defaults, "defaults", "", "defaults file: the rules the service registers in code (JSON/YAML {\"rules\": {NAME: {check_str, scope_types, deprecated_rule}}})")
	fs.StringVar(&f.defaultRule, "default-rule", "default", "rule that unknown rule names and undefined rule: references fall back to (oslo's policy_default_rule)")
	fs.BoolVar(&f.noDefaultRule, "no-default-rule", false, "no fallback rule: unknown names and undefined references are denied")
	fs.BoolVar(&f.enforceScope, "enforce-scope", false, "deny registered rules whose scope_types do not include the token's scope ([oslo_policy] enforce_scope)")
	fs.BoolVar(&f.enforceNewDefaults, "enforce-new-defaults", false, "use new defaults alone, without OR-ing the deprecated check strings ([oslo_policy] enforce_new_defaults)")
	fs.StringVar(&f.pkg, "package", translate.DefaultPackage, "Rego package of the translated rules")
}

func (f *policyFlags) options() translate.Options {
	return translate.Options{
		DefaultRule:        f.defaultRule,
		NoDefaultRule:      f.noDefaultRule || f.defaultRule == "",
		EnforceScope:       f.enforceScope,
		EnforceNewDefaults: f.enforceNewDefaults,
	}
}

// load reads the policy files (later ones override earlier ones; a
// directory is a policy.d overlay) and the defaults file.
func (f *policyFlags) load(paths []string) (*translate.Policy, error) {
	if len(paths) == 0 && f.defaults == "" {
		return nil, usageErr("no policy file given")
	}
	return translate.Load(paths, f.defaults, f.options())
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
