package oslo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/internal/policyfile"
)

// Origin says where a rule's text came from.
type Origin struct {
	// Path is the policy or defaults file; Line and Col locate the rule's
	// name in it (0 when unknown).
	Path      string
	Line, Col int
}

func (o Origin) String() string {
	if o.Line == 0 {
		return o.Path
	}
	return fmt.Sprintf("%s:%d", o.Path, o.Line)
}

// Rule is one effective rule of a policy: what Enforcer.rules holds after
// loading, with where it came from.
type Rule struct {
	Name  string
	Check Check
	// Text is the rule as written: the policy-language string, or the JSON
	// of a legacy list value. For a rule OR-ed with its deprecated default,
	// Text is the new check string and DeprecatedText the old one.
	Text string
	// TextIsJSON is true when Text is the JSON of a non-string value (a
	// legacy list rule, null, ...).
	TextIsJSON     bool
	DeprecatedText string
	DeprecatedName string
	Origin         Origin
	// FromDefaults is true when the rule is a registered default (not in
	// any policy file).
	FromDefaults bool
}

// RuleDefault is a rule a service registers in code (oslo's RuleDefault),
// read from a defaults file.
type RuleDefault struct {
	Name                 string
	CheckStr             string
	ScopeTypes           []string
	Deprecated           *DeprecatedRule
	DeprecatedForRemoval bool
	Origin               Origin
}

// DeprecatedRule is the old name and check string of a registered default.
type DeprecatedRule struct {
	Name     string
	CheckStr string
}

// Options are the [oslo_policy] settings that change how rules load and
// are enforced.
type Options struct {
	// DefaultRule names the rule that unknown rule names fall back to.
	// NoDefaultRule disables the fallback ("default" otherwise, as oslo's
	// policy_default_rule).
	DefaultRule   string
	NoDefaultRule bool
	// EnforceScope denies a registered rule whose scope_types do not contain
	// the token's scope. EnforceNewDefaults drops the OR with deprecated
	// check strings.
	EnforceScope       bool
	EnforceNewDefaults bool
}

// DefaultRuleName is the rule name unknown names fall back to, or "".
func (o Options) DefaultRuleName() string {
	if o.NoDefaultRule {
		return ""
	}
	if o.DefaultRule == "" {
		return "default"
	}
	return o.DefaultRule
}

// Layer is one policy file's rules, parsed.
type Layer struct {
	Path  string
	Rules []LayerRule
}

// LayerRule is one rule of a policy file.
type LayerRule struct {
	Name       string
	Text       string
	TextIsJSON bool
	Check      Check
	Origin     Origin
}

// ParseLayer parses one policy file's contents. It fails when oslo would
// refuse to load the file at all (bad syntax, a top-level value that is not
// a mapping, a rule value such as true or 5), naming the file and position.
func ParseLayer(path string, data []byte) (*Layer, error) {
	f, err := policyfile.Parse(path, data)
	if err != nil {
		return nil, err
	}
	l := &Layer{Path: path}
	for _, r := range f.Rules {
		c, err := ParseValue(r.Value)
		if err != nil {
			return nil, &LoadError{Path: path, Line: r.Line, Col: r.Col, Rule: r.Name, Msg: err.Error()}
		}
		if r.KeyKind != policyfile.String {
			// A non-string key can never be enforced or referenced by name.
			continue
		}
		l.Rules = append(l.Rules, LayerRule{Name: r.Name, Text: valueText(r.Value), TextIsJSON: r.Value.Kind != policyfile.String, Check: c, Origin: Origin{path, r.Line, r.Col}})
	}
	return l, nil
}

// ReadLayers reads a policy file or a policy.d directory. A directory yields
// its files in sorted order, skipping dot files and sub-directories, as
// oslo walks policy_dirs.
func ReadLayers(path string) ([]*Layer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading policy: %w", err)
		}
		l, err := ParseLayer(path, data)
		if err != nil {
			return nil, err
		}
		return []*Layer{l}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy directory: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var out []*Layer
	for _, n := range names {
		ls, err := ReadLayers(filepath.Join(path, n))
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// Policy is a loaded set of effective rules, ready to translate.
type Policy struct {
	Options Options
	// Rules in a stable order: file rules in file order, then defaults.
	Rules  []*Rule
	byName map[string]*Rule
	// Scopes holds the scope_types of registered rules, by name.
	Scopes map[string][]string
	// Sources are the files the rules came from, in load order.
	Sources []string
}

// Rule returns the rule with the given name, or nil.
func (p *Policy) Rule(name string) *Rule { return p.byName[name] }

// Resolve is oslo's Rules lookup: an unknown name falls back to the
// default rule when that exists; otherwise it is a KeyError (false).
func (p *Policy) Resolve(name string) (string, bool) {
	if _, ok := p.byName[name]; ok {
		return name, true
	}
	if d := p.Options.DefaultRuleName(); d != "" {
		if _, ok := p.byName[d]; ok {
			return d, true
		}
	}
	return "", false
}

// Build merges policy file layers (later wins, as oslo's policy.d overlays
// do) and registered defaults the way oslo's Enforcer.load_rules does.
func Build(layers []*Layer, defaults []RuleDefault, opts Options) (*Policy, error) {
	p := &Policy{Options: opts, byName: map[string]*Rule{}, Scopes: map[string][]string{}}
	fileRules := map[string]LayerRule{}
	var order []string
	for _, l := range layers {
		p.Sources = append(p.Sources, l.Path)
		for _, r := range l.Rules {
			if _, ok := fileRules[r.Name]; !ok {
				order = append(order, r.Name)
			}
			fileRules[r.Name] = r
		}
	}
	for _, name := range order {
		fr := fileRules[name]
		p.add(&Rule{Name: name, Check: fr.Check, Text: fr.Text, TextIsJSON: fr.TextIsJSON, Origin: fr.Origin})
	}
	seen := map[string]bool{}
	for _, d := range defaults {
		if seen[d.Name] {
			return nil, fmt.Errorf("%s: rule %q is registered twice", d.Origin, d.Name)
		}
		seen[d.Name] = true
		if len(d.ScopeTypes) > 0 {
			p.Scopes[d.Name] = d.ScopeTypes
		}
		if d.Origin.Path != "" && !contains(p.Sources, d.Origin.Path) {
			p.Sources = append(p.Sources, d.Origin.Path)
		}
		if _, ok := p.byName[d.Name]; ok {
			continue // a file rule always wins, with no OR
		}
		p.add(effectiveDefault(d, fileRules, opts))
	}
	return p, nil
}

// effectiveDefault is oslo's _handle_deprecated_rule.
func effectiveDefault(d RuleDefault, fileRules map[string]LayerRule, opts Options) *Rule {
	r := &Rule{Name: d.Name, Check: ParseRule(d.CheckStr), Text: d.CheckStr, Origin: d.Origin, FromDefaults: true}
	dep := d.Deprecated
	if dep == nil {
		return r
	}
	_, newInFile := fileRules[d.Name]
	if old, ok := fileRules[dep.Name]; ok && dep.Name != d.Name {
		// oslo 4.0.0 compares Check objects by identity here, so an override
		// of the old name always "differs" from the old default.
		if old.Check.String() != "rule:"+d.Name && !newInFile {
			return &Rule{Name: d.Name, Check: old.Check, Text: old.Text, TextIsJSON: old.TextIsJSON, Origin: old.Origin, DeprecatedName: dep.Name}
		}
	}
	if !opts.EnforceNewDefaults && dep.CheckStr != d.CheckStr && !newInFile {
		r.Check = &OrCheck{Rules: []Check{r.Check, ParseRule(dep.CheckStr)}}
		r.DeprecatedText = dep.CheckStr
		r.DeprecatedName = dep.Name
	}
	return r
}

func (p *Policy) add(r *Rule) {
	p.Rules = append(p.Rules, r)
	p.byName[r.Name] = r
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Load reads policy files and policy.d directories (later ones override
// earlier ones) and an optional defaults file, and builds the policy.
func Load(paths []string, defaultsPath string, opts Options) (*Policy, error) {
	var layers []*Layer
	for _, p := range paths {
		ls, err := ReadLayers(p)
		if err != nil {
			return nil, err
		}
		layers = append(layers, ls...)
	}
	var defaults []RuleDefault
	if defaultsPath != "" {
		var err error
		if defaults, err = ReadDefaults(defaultsPath); err != nil {
			return nil, err
		}
	}
	return Build(layers, defaults, opts)
}

// RegisterScopes records scope_types for rule names without adding rules,
// as registering defaults does when the enforcer does not merge them
// (oslo's set_rules with use_conf=False).
func (p *Policy) RegisterScopes(scopes map[string][]string) {
	for name, s := range scopes {
		p.Scopes[name] = s
	}
}

// DeclareExternal records that raw Rego defines rule name (as rules[NAME]
// in the policy's package) at the given place, so that rule:NAME refers to
// it. It replaces a registered default of that name, as a policy file does;
// a rule a policy file defines is a conflict: two definitions of one name
// could silently widen access.
func (p *Policy) DeclareExternal(name string, at Origin) error {
	if r := p.byName[name]; r != nil {
		switch {
		case r.IsExternal():
			return fmt.Errorf("%s: rule %q is defined in Rego twice (also at %s)", at, name, r.Origin)
		case !r.FromDefaults:
			return fmt.Errorf("%s: rule %q is defined both in Rego and in %s: remove one of them", at, name, r.Origin)
		}
		r.Check, r.Text, r.TextIsJSON, r.Origin, r.FromDefaults = &ExternalCheck{Name: name, Origin: at}, "", false, at, false
		r.DeprecatedName, r.DeprecatedText = "", ""
		return nil
	}
	p.add(&Rule{Name: name, Check: &ExternalCheck{Name: name, Origin: at}, Origin: at})
	return nil
}

// IsExternal reports whether raw Rego defines the rule (see
// DeclareExternal): it has no oslo check of its own to translate.
func (r *Rule) IsExternal() bool {
	_, ok := r.Check.(*ExternalCheck)
	return ok
}

// AddRule adds one more rule to a built policy; its name must be new.
func (p *Policy) AddRule(r LayerRule) error {
	if p.byName[r.Name] != nil {
		return fmt.Errorf("rule %q is already defined", r.Name)
	}
	p.add(&Rule{Name: r.Name, Check: r.Check, Text: r.Text, TextIsJSON: r.TextIsJSON, Origin: r.Origin})
	return nil
}
