package oslo

import (
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// RegoRules lists the rules a raw Rego module defines for oslo rules to use:
// rules["NAME"] (or rules.NAME) in package pkg, with where each is defined.
// Declare them on the policy with DeclareExternal before translating.
func RegoRules(file, src, pkg string) (map[string]Origin, error) {
	m, err := ast.ParseModuleWithOpts(file, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	out := map[string]Origin{}
	if m.Package.Path.String() != "data."+pkg {
		return out, nil
	}
	for _, r := range m.Rules {
		ref := r.Head.Ref()
		if len(ref) != 2 || !ref[0].Equal(ast.VarTerm("rules")) {
			continue
		}
		name, ok := ref[1].Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("%s:%d: rules[...] must be named by a string, not %v", file, r.Location.Row, ref[1])
		}
		if _, seen := out[string(name)]; !seen {
			out[string(name)] = Origin{Path: file, Line: r.Location.Row, Col: r.Location.Col}
		}
	}
	return out, nil
}

// DeclareRego declares on p every rule the raw Rego module defines for oslo
// rules to use (see RegoRules and DeclareExternal).
func (p *Policy) DeclareRego(file, src, pkg string) error {
	names, err := RegoRules(file, src, pkg)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		if err := p.DeclareExternal(n, names[n]); err != nil {
			return err
		}
	}
	return nil
}
