package bundles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/oslorego/oslorego/translate"
)

// PluginPath is the data path, as its segments, at whose "allow" the
// oslo.policy.opa plugin asks OPA to decide rule: the rule name with ':'
// made '/' and '-' made '_' (its normalize_name), split at '/' as OPA's
// server splits /v1/data/PATH. It is an error when OPA's server could not
// reach that path unchanged from the plugin's URL: an empty, "." or ".."
// segment (the server redirects the request, and the plugin's POST becomes
// a GET), a segment the server reads as a number, or a character that the
// URL or the server would change ('"', '%', '?', '#', spaces and control
// characters).
func PluginPath(rule string) ([]string, error) {
	mapped := strings.NewReplacer(":", "/", "-", "_").Replace(rule)
	if i := strings.IndexFunc(mapped, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`"%?#`, r)
	}); i >= 0 {
		return nil, fmt.Errorf("rule %q: OPA's server cannot receive %q in the path oslo.policy.opa asks for", rule, mapped[i:i+1])
	}
	segs := strings.Split(mapped, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("rule %q: the path oslo.policy.opa asks for, /v1/data/%s/allow, has an empty, \".\" or \"..\" segment, which OPA's server redirects", rule, mapped)
		}
		if _, num := util.Atoi64(s); num {
			return nil, fmt.Errorf("rule %q: OPA's server reads the segment %q of /v1/data/%s/allow as a number, which no package can hold", rule, s, mapped)
		}
	}
	return segs, nil
}

// pluginRule is one rule's package for oslo.policy.opa.
type pluginRule struct {
	name string
	path []string
}

func (r pluginRule) ref() string {
	t := make(ast.Ref, 0, len(r.path)+2)
	t = append(t, ast.DefaultRootDocument)
	for _, s := range r.path {
		t = append(t, ast.StringTerm(s))
	}
	return t.Append(ast.StringTerm("allow")).String()
}

// pluginModules are the modules that let stock OPA answer the
// oslo.policy.opa plugin for every rule of names: one package per rule, at
// the rule's PluginPath, whose allow is the policy package pkg's allow
// for that rule (oslo's decision, with its default rule and scope checks)
// and false where that is undefined. They live under new manifest roots,
// the rules' first path segments, which must not overlap taken (the
// bundle's other roots). Two rules at one path, or one rule's allow
// inside another's package, are refused with both names.
func pluginModules(names []string, pkg string, taken []string) ([]translate.Module, []string, error) {
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("--oslo-policy-opa: the bundle has no oslo rules to answer oslo.policy.opa for")
	}
	var rules []pluginRule
	byPath := map[string]string{}
	for _, n := range names {
		p, err := PluginPath(n)
		if err != nil {
			return nil, nil, fmt.Errorf("--oslo-policy-opa: %w", err)
		}
		key := strings.Join(p, "\x00")
		if other, dup := byPath[key]; dup {
			return nil, nil, fmt.Errorf("--oslo-policy-opa: rules %q and %q both map to %s, so oslo.policy.opa cannot tell them apart", other, n, pluginRule{n, p}.ref())
		}
		byPath[key] = n
		rules = append(rules, pluginRule{n, p})
	}
	roots := map[string]bool{}
	for _, r := range rules {
		// data.P.allow is a rule; no rule's package may go through it.
		for i := 1; i < len(r.path); i++ {
			if r.path[i] != "allow" {
				continue
			}
			if other, ok := byPath[strings.Join(r.path[:i], "\x00")]; ok {
				return nil, nil, fmt.Errorf("--oslo-policy-opa: rule %q maps to %s, inside %s, the decision of rule %q", r.name, r.ref(), pluginRule{other, r.path[:i]}.ref(), other)
			}
		}
		for _, t := range taken {
			if t == "" || t == r.path[0] || strings.HasPrefix(t, r.path[0]+"/") {
				return nil, nil, fmt.Errorf("--oslo-policy-opa: rule %q maps to %s, under the bundle's root %q, which its own modules or data hold", r.name, r.ref(), t)
			}
		}
		roots[r.path[0]] = true
	}
	mods := make([]translate.Module, 0, len(rules))
	for _, r := range rules {
		m, err := pluginModule(r, pkg)
		if err != nil {
			return nil, nil, err
		}
		mods = append(mods, m)
	}
	return mods, sortedKeys(roots), nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pluginModule is r's package. Segments that are not plain identifiers
// are written as strings (package a["b.c"]); the first must be an
// identifier or a keyword, as OPA's parser wants. The parsed package path
// is checked against r.path, so a name that Rego cannot hold exactly is
// an error, never a package somewhere else.
func pluginModule(r pluginRule, pkg string) (translate.Module, error) {
	var b strings.Builder
	if !identRe.MatchString(r.path[0]) {
		return translate.Module{}, fmt.Errorf("--oslo-policy-opa: rule %q maps to %s, but a Rego package cannot begin with %q", r.name, r.ref(), r.path[0])
	}
	b.WriteString(r.path[0])
	for _, s := range r.path[1:] {
		if identRe.MatchString(s) && !ast.IsKeyword(s) {
			b.WriteString("." + s)
		} else {
			b.WriteString("[" + regoString(s) + "]")
		}
	}
	text := fmt.Sprintf(`# oslo.policy.opa asks POST /v1/data/%[1]s/allow for the oslo rule %[2]s,
# with {"input": {"target": ..., "credentials": ...}}.
package %[3]s

default allow := false

allow if data.%[4]s.allow with input.rule as %[2]s
`, strings.Join(r.path, "/"), regoString(r.name), b.String(), pkg)
	esc := make([]string, len(r.path))
	for i, s := range r.path {
		esc[i] = url.PathEscape(s)
	}
	file := "oslo_policy_opa/" + strings.Join(esc, "/") + "/allow.rego"
	m, err := ast.ParseModuleWithOpts(file, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return translate.Module{}, fmt.Errorf("--oslo-policy-opa: rule %q: %w", r.name, err)
	}
	want := ast.Ref{ast.DefaultRootDocument}
	for _, s := range r.path {
		want = append(want, ast.StringTerm(s))
	}
	if !m.Package.Path.Equal(want) {
		return translate.Module{}, fmt.Errorf("--oslo-policy-opa: rule %q: the package %s is not %s", r.name, m.Package.Path, want)
	}
	formatted, err := format.SourceWithOpts(file, []byte(text), format.Opts{RegoVersion: ast.RegoV1})
	if err != nil {
		return translate.Module{}, fmt.Errorf("--oslo-policy-opa: rule %q: %w", r.name, err)
	}
	return translate.Module{File: file, Text: string(formatted)}, nil
}

// regoString quotes s as a Rego (JSON) string, keeping <, > and & as they are.
func regoString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}
