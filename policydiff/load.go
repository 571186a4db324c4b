// Package policydiff compares two policies rule by rule: for every rule,
// whether they can decide differently, with example requests decided by
// the real engine (oslorego diff).
//
// The requests come from a finite abstraction of what the two policies
// read for that rule (see Diff): each role they name, each target field
// with each literal it is compared with plus another value and
// "missing", each credentials path likewise, and each credentials⇄target
// equality. Every abstract request is decided by both engines, so a
// reported difference is one the engines enforce; when the abstraction is
// small it is enumerated whole and "no difference" is a proof about it,
// otherwise a seeded sample of it is decided and the result says it is
// not exhaustive.
package policydiff

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// Side is one of the two policies compared: the engine that decides with
// it and, when known, the oslo rules it was built from.
type Side struct {
	// Name is what reports call it (the path given).
	Name   string
	Engine *rego.Engine
	// Policy is the effective oslo policy (rules raw Rego defines are
	// ExternalChecks); nil for Rego without recorded oslo sources.
	Policy *oslo.Policy
	// Raw are the raw Rego modules beside the oslo rules (tests left out).
	Raw     []translate.Module
	Data    map[string]any
	Package string
}

// LoadOptions are how a side is loaded.
type LoadOptions struct {
	// Options apply to a policy file; a bundle brings its own, unless
	// the caller gives Bundle.
	Options oslo.Options
	// Package is the Rego package of the rules ("" for the default).
	Package string
	// Defaults is a registered defaults file loaded with a policy file.
	Defaults string
	// Rego are raw modules compiled with a policy file (check's --rego).
	Rego []translate.Module
	// Bundle is how bundles are read (options, verification).
	Bundle bundles.Options
}

// isBundle reports whether path names a bundle (a directory, a .tar.gz
// file or an http(s) URL) rather than a policy file.
func isBundle(path string) bool {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") || strings.HasSuffix(path, ".tar.gz") || strings.HasSuffix(path, ".tgz") {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// Load reads one side: a policy file (JSON or YAML, with o.Defaults), a
// bundle directory or a built bundle, loaded as check and eval load them.
func Load(ctx context.Context, path string, o LoadOptions) (*Side, error) {
	if !isBundle(path) {
		p, err := oslo.Load([]string{path}, o.Defaults, o.Options)
		if err != nil {
			return nil, err
		}
		return fromPolicy(ctx, path, p, o.Package, o.Rego)
	}
	l, err := bundles.Open(ctx, bundles.Path(path), o.Bundle)
	if err != nil {
		return nil, err
	}
	src, err := l.Sources()
	if err != nil {
		return nil, err
	}
	return &Side{Name: path, Engine: l.Engine, Policy: src.Policy, Raw: policyModules(src.Raw), Data: src.Data, Package: src.Package}, nil
}

// LoadDefaults reads the registered defaults of a bundle (the defaults
// file its build recorded) or, for a policy file, o.Defaults, and builds
// the policy the service has with no operator file at all.
func LoadDefaults(ctx context.Context, path string, o LoadOptions) (*Side, error) {
	name := "registered defaults of " + path
	if !isBundle(path) {
		if o.Defaults == "" {
			return nil, fmt.Errorf("%s is a policy file: give the defaults with --defaults", path)
		}
		p, err := oslo.Load(nil, o.Defaults, o.Options)
		if err != nil {
			return nil, err
		}
		return fromPolicy(ctx, name, p, o.Package, nil)
	}
	l, err := bundles.Open(ctx, bundles.Path(path), o.Bundle)
	if err != nil {
		return nil, err
	}
	src, err := l.Sources()
	if err != nil {
		return nil, err
	}
	if src.Defaults == nil {
		return nil, fmt.Errorf("bundle %s has no registered defaults (defaults.json)", path)
	}
	p, err := oslo.Build(nil, src.Defaults, src.Options)
	if err != nil {
		return nil, err
	}
	return fromPolicy(ctx, name, p, src.Package, nil)
}

// fromPolicy compiles p with raw modules (rego.New declares the rules
// they define on p).
func fromPolicy(ctx context.Context, name string, p *oslo.Policy, pkg string, raw []translate.Module) (*Side, error) {
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	opts := []rego.Option{rego.Policy(p), rego.Package(pkg)}
	for _, m := range raw {
		opts = append(opts, rego.Module(m.File, m.Text))
	}
	eng, err := rego.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &Side{Name: name, Engine: eng, Policy: p, Package: pkg, Raw: policyModules(raw)}, nil
}

// policyModules are the raw modules that can decide rules: not tests.
func policyModules(ms []translate.Module) []translate.Module {
	var out []translate.Module
	for _, m := range ms {
		if !strings.HasSuffix(m.File, "_test.rego") {
			out = append(out, m)
		}
	}
	return out
}
