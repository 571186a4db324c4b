package translate

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/oslorego/oslorego/internal/jsonstr"
	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/translate/oslo"
)

//go:embed lib/oslo_lib.rego
var libSource string

// LibPackage is the Rego package of the semantics library.
const LibPackage = "oslo.lib"

// LibModule returns the pure-Rego library every translated module imports.
func LibModule() Module {
	return Module{File: "oslo_lib.rego", Text: libSource}
}

// DefaultPackage is the Rego package translated rules go in by default.
const DefaultPackage = "oslo.policy"

// maxVariants bounds how many path-specialised copies of rules in a rule:
// cycle are emitted; past it the path fails closed with an error.
const maxVariants = 500

// Module is one generated Rego file.
type Module struct {
	// File is the file name to write it to; Origin the policy file it
	// comes from ("" for the library and the entry module).
	File   string
	Origin string
	Text   string
}

// Translation is a policy translated to Rego.
type Translation struct {
	Package string
	Policy  *oslo.Policy
	// Modules are the entry module and one module per policy source (the
	// library is separate: LibModule).
	Modules   []Module
	nodesOnce sync.Once
	nodes     map[string][]Node
}

// Node is one check of a rule and the Rego expression that evaluates it.
type Node struct {
	Check oslo.Check
	Expr  string
}

var packageRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// Translate emits Rego for p in package pkg ("" for DefaultPackage).
func Translate(p *oslo.Policy, pkg string) (*Translation, error) {
	if pkg == "" {
		pkg = DefaultPackage
	}
	if !packageRE.MatchString(pkg) || pkg == LibPackage || strings.HasPrefix(pkg, LibPackage+".") {
		return nil, fmt.Errorf("invalid Rego package %q: want dotted identifiers, not %s", pkg, LibPackage)
	}
	e := newEmitter(p)
	t := &Translation{Package: pkg, Policy: p}

	bySource := map[string][]*oslo.Rule{}
	for _, r := range p.Rules {
		if r.IsExternal() {
			continue // raw Rego defines it
		}
		bySource[r.Origin.Path] = append(bySource[r.Origin.Path], r)
	}
	bodies := map[string]string{}
	for _, r := range p.Rules {
		if !r.IsExternal() {
			bodies[r.Name] = e.expr(r.Check, e.startStack(r.Name))
		}
	}
	// Sources in load order, then any other origins (rules added after
	// Build) in a stable order.
	var extra []string
	for src := range bySource {
		if !slices.Contains(p.Sources, src) {
			extra = append(extra, src)
		}
	}
	sort.Strings(extra)
	sources := append(append([]string(nil), p.Sources...), extra...)
	used := map[string]bool{"oslo_lib.rego": true, "decision.rego": true}
	for _, src := range sources {
		rules := bySource[src]
		if len(rules) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# Rules translated from %s by oslorego.\n", displaySource(src))
		fmt.Fprintf(&b, "package %s\n\nimport data.oslo.lib\n", pkg)
		for _, r := range rules {
			b.WriteString("\n")
			writeRuleComment(&b, r)
			fmt.Fprintf(&b, "rules[%s] := %s\n", quote(r.Name), bodies[r.Name])
			if e.safe[r.Name] || e.guarded[r.Name] {
				e.holds.emit(&b, r)
			}
		}
		t.Modules = append(t.Modules, Module{File: moduleFile(src, used), Origin: src, Text: b.String()})
	}
	entry := e.entryModule(pkg)
	t.Modules = append([]Module{{File: "decision.rego", Text: entry}}, t.Modules...)

	return t, nil
}

// Nodes returns every check of the named rule with the Rego expression that
// evaluates it (fully qualified), for explanations. They are worked out on
// first use: only explaining needs them.
func (t *Translation) Nodes(rule string) []Node {
	t.nodesOnce.Do(func() {
		qe := newEmitter(t.Policy)
		qe.rulesRef = "data." + t.Package + ".rules"
		qe.variantsRef = "data." + t.Package + ".unrolled"
		t.nodes = map[string][]Node{}
		for _, r := range t.Policy.Rules {
			var nodes []Node
			oslo.Walk(r.Check, func(c oslo.Check) {
				nodes = append(nodes, Node{Check: c, Expr: qe.expr(c, qe.startStack(r.Name))})
			})
			t.nodes[r.Name] = nodes
		}
	})
	return t.nodes[rule]
}

func displaySource(src string) string {
	if src == "" {
		return "registered defaults"
	}
	return filepath.Base(src)
}

var fileSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// moduleFile names the .rego file for a policy source, uniquely.
func moduleFile(src string, used map[string]bool) string {
	base := "defaults"
	if src != "" {
		base = filepath.Base(src)
		base = strings.TrimSuffix(base, filepath.Ext(base))
		base = fileSafe.ReplaceAllString(base, "_")
	}
	name := base + ".rego"
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s_%d.rego", base, i)
	}
	used[name] = true
	return name
}

func writeRuleComment(b *strings.Builder, r *oslo.Rule) {
	text := quote(r.Text)
	if r.TextIsJSON && jsonstr.Printable(r.Text) {
		text = r.Text
	}
	fmt.Fprintf(b, "# %s: %s\n", quote(r.Name), text)
	switch {
	case r.DeprecatedText != "":
		fmt.Fprintf(b, "# OR deprecated %s: %s (enforce_new_defaults is off)\n", quote(r.DeprecatedName), quote(r.DeprecatedText))
	case r.DeprecatedName != "":
		fmt.Fprintf(b, "# the operator's override of the deprecated name %s\n", quote(r.DeprecatedName))
	}
	fmt.Fprintf(b, "# from %s\n", r.Origin)
	oslo.Walk(r.Check, func(c oslo.Check) {
		if f, ok := c.(*oslo.FalseCheck); ok && f.Reason != "" {
			fmt.Fprintf(b, "# oslo denies here: %s\n", oneLine(f.Reason))
		}
	})
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(quote(s)), " ")
}

// quote renders s as a Rego string literal (JSON syntax), escaping what is
// not printable (OPA rejects a byte-order mark even in a comment).
func quote(s string) string { return jsonstr.Quote(s) }

// Formatted returns the modules as "opa fmt" writes them. (Modules holds
// the same Rego unformatted, which is all an engine needs.)
func (t *Translation) Formatted() ([]Module, error) {
	out := make([]Module, len(t.Modules))
	for i, m := range t.Modules {
		text, err := formatRego(m.File, m.Text)
		if err != nil {
			return nil, err
		}
		out[i] = m
		out[i].Text = text
	}
	return out, nil
}

// formatRego runs OPA's formatter on generated source. The formatter
// re-quotes strings Go-style, which OPA cannot parse back for control
// characters; for such (rare) sources the unformatted text, which is valid,
// is kept.
func formatRego(name, src string) (string, error) {
	opts := ast.ParserOptions{RegoVersion: ast.RegoV1}
	if _, err := ast.ParseModuleWithOpts(name, src, opts); err != nil {
		return "", fmt.Errorf("generated Rego for %s does not parse: %w\n%s", name, err, src)
	}
	out, err := format.SourceWithOpts(name, []byte(src), format.Opts{RegoVersion: ast.RegoV1})
	if err != nil {
		return src, nil
	}
	if _, err := ast.ParseModuleWithOpts(name, string(out), opts); err != nil {
		return src, nil
	}
	return string(out), nil
}

type emitter struct {
	p           *oslo.Policy
	safe        map[string]bool
	guarded     map[string]bool
	holds       *holdsEmitter
	scc         map[string]int
	cyclic      map[string]bool
	rulesRef    string
	variantsRef string
	variants    map[string]string
	order       []string
}

func newEmitter(p *oslo.Policy) *emitter {
	e := &emitter{p: p, rulesRef: "rules", variantsRef: "unrolled", variants: map[string]string{}}
	e.scc, e.cyclic = p.Components()
	e.safe = safeRules(p, e.cyclic, false)
	e.guarded = safeRules(p, e.cyclic, true)
	for n, ok := range e.guarded {
		if !ok || e.safe[n] {
			delete(e.guarded, n)
		}
	}
	e.holds = &holdsEmitter{p: p}
	return e
}

// startStack is the evaluation stack when a rule is entered from outside
// its cycle: only rules of a cycle need to track it.
func (e *emitter) startStack(name string) []string {
	if e.cyclic[name] {
		return []string{name}
	}
	return nil
}

func (e *emitter) expr(c oslo.Check, stack []string) string {
	switch n := c.(type) {
	case *oslo.TrueCheck:
		return "true"
	case *oslo.FalseCheck:
		return "false"
	case *oslo.AndCheck:
		return e.list("lib.all_of", n.Rules, stack)
	case *oslo.OrCheck:
		return e.list("lib.any_of", n.Rules, stack)
	case *oslo.NotCheck:
		// negate maps an object (an error) to itself and anything else to
		// a boolean, so k nots are one negation or two. Nesting one call
		// per not made OPA's compile quadratic in a stack's depth.
		k, inner := 1, n.Rule
		for {
			m, ok := inner.(*oslo.NotCheck)
			if !ok {
				break
			}
			k, inner = k+1, m.Rule
		}
		if k%2 == 1 {
			return "lib.negate(" + e.expr(inner, stack) + ")"
		}
		return "lib.negate(lib.negate(" + e.expr(inner, stack) + "))"
	case *oslo.RuleCheck:
		return e.ruleRef(n.Name, stack)
	case *oslo.RoleCheck:
		f := oslo.ParseFormat(n.Match)
		if s, ok := f.Const(); ok {
			return "lib.role_lower(" + quote(python.Lower(s)) + ")"
		}
		return "lib.role(" + formatExpr(f) + ")"
	case *oslo.GenericCheck:
		return genericExpr(n)
	case *oslo.RemoteCheck:
		// oslo formats the URL first: a missing key raises KeyError, which
		// the nearest enclosing rule: check turns into false.
		return "lib.remote(" + formatExpr(oslo.ParseFormat(n.Kind+":"+n.Match)) + ")"
	case *oslo.ExternalCheck:
		return e.rulesRef + "[" + quote(n.Name) + "]"
	case *oslo.BareToken:
		return "lib.error(" + quote(fmt.Sprintf("AttributeError: 'str' object has no attribute '__call__' (oslo.policy 4.0.0 parses the rule %q to a bare string)", n.Text)) + ")"
	}
	panic(fmt.Sprintf("translate: unknown check type %T", c))
}

func (e *emitter) list(fn string, cs []oslo.Check, stack []string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = e.expr(c, stack)
	}
	return fn + "([" + strings.Join(parts, ", ") + "])"
}

func (e *emitter) ruleRef(name string, stack []string) string {
	target, ok := e.p.Resolve(name)
	if !ok {
		return "false"
	}
	for i, s := range stack {
		if s == target {
			path := append(append([]string(nil), stack[i:]...), target)
			return "lib.error(" + quote("RecursionError: rule cycle "+strings.Join(path, " -> ")) + ")"
		}
	}
	if len(stack) == 0 || !e.cyclic[target] || e.scc[target] != e.scc[stack[0]] {
		return e.viaRule(target, e.rulesRef+"["+quote(target)+"]")
	}
	path := append(append([]string(nil), stack...), target)
	key := strings.Join(path, " -> ")
	if _, ok := e.variants[key]; !ok {
		if len(e.variants) >= maxVariants {
			return "lib.error(" + quote("RecursionError: rule cycle through "+key+" is too complex to unroll; oslorego denies it") + ")"
		}
		e.variants[key] = ""
		e.order = append(e.order, key)
		e.variants[key] = e.expr(e.p.Rule(target).Check, path)
	}
	return e.viaRule(target, e.variantsRef+"["+quote(key)+"]")
}

// viaRule wraps a rule: reference to a rule that has a remote check of its
// own: oslo's RuleCheck turns the KeyError such a check raises into false.
func (e *emitter) viaRule(target, ref string) string {
	remote := false
	oslo.Walk(e.p.Rule(target).Check, func(c oslo.Check) {
		if _, ok := c.(*oslo.RemoteCheck); ok {
			remote = true
		}
	})
	if remote {
		return "lib.via_rule(" + ref + ")"
	}
	return ref
}

func genericExpr(n *oslo.GenericCheck) string {
	fe := formatExpr(oslo.ParseFormat(n.Match))
	lit := python.LiteralEval(n.Kind)
	switch {
	case lit.Class != python.SyntaxError && lit.Err != "":
		// LiteralEval cannot tell exactly what Python does with this KIND.
		return "lib.kind_error(" + quote(fmt.Sprintf("NotImplemented: oslorego cannot evaluate the kind %q exactly (%s); it denies", n.Kind, lit.Err)) + ", " + fe + ")"
	case lit.Class == python.Literal:
		return "lib.literal(" + quote(lit.Str) + ", " + fe + ")"
	case lit.Class == python.SyntaxError:
		return "lib.kind_error(" + quote(fmt.Sprintf("%s (in the kind %q)", lit.Err, n.Kind)) + ", " + fe + ")"
	}
	path := strings.Split(n.Kind, ".")
	if len(path) > maxPath {
		return "lib.kind_error(" + quote(fmt.Sprintf("NotImplemented: the credentials path %q is deeper than %d", n.Kind, maxPath)) + ", " + fe + ")"
	}
	parts := make([]string, len(path))
	for i, s := range path {
		parts[i] = quote(s)
	}
	return "lib.creds_is([" + strings.Join(parts, ", ") + "], " + fe + ")"
}

// maxPath matches max_path in the library.
const maxPath = oslo.MaxCredsPath

func formatExpr(f oslo.Format) string {
	if s, ok := f.Const(); ok {
		return "lib.text(" + quote(s) + ")"
	}
	if k, ok := f.SingleKey(); ok {
		return "lib.value(" + quote(k) + ")"
	}
	segs := make([]string, len(f.Segs))
	for i, s := range f.Segs {
		switch {
		case s.Keyed:
			segs[i] = fmt.Sprintf(`{"t": "key", "key": %s, "conv": %s, "flags": %s, "width": %d, "prec": %d, "err": %s}`,
				quote(s.Key), quote(string(s.Conv)), quote(s.Flags), s.Width, s.Prec, quote(s.Err))
		case s.Bare && s.Err == "":
			segs[i] = fmt.Sprintf(`{"t": "whole", "conv": %s, "flags": %s, "width": %d, "prec": %d, "err": ""}`,
				quote(string(s.Conv)), quote(s.Flags), s.Width, s.Prec)
		case s.Err != "":
			segs[i] = fmt.Sprintf(`{"t": "err", "err": %s}`, quote(s.Err))
		default:
			segs[i] = fmt.Sprintf(`{"t": "lit", "lit": %s}`, quote(s.Lit))
		}
	}
	return fmt.Sprintf("lib.format([%s], %t)", strings.Join(segs, ", "), f.UsesWhole)
}

// entryModule writes the package's decision rules and settings.
func (e *emitter) entryModule(pkg string) string {
	p := e.p
	var b strings.Builder
	fmt.Fprintf(&b, `# Decision rules for the oslo policy translated by oslorego.
#
# Ask for data.%[1]s.decision (or .allow, or .result) with input
#   {"rule": NAME, "target": {...}, "credentials": {...}}
package %[1]s

import data.oslo.lib

# default_rule is the rule unknown names and undefined rule: references fall
# back to (oslo's policy_default_rule); null when there is none.
default_rule := %[2]s

# enforce_scope is oslo's [oslo_policy] enforce_scope.
enforce_scope := %[3]t

# enforce_new_defaults is oslo's [oslo_policy] enforce_new_defaults (it was
# applied when the rules were translated).
enforce_new_defaults := %[4]t

# scope_types are the scopes registered rules accept.
scope_types := %[5]s

# rule_names are the names of every rule this policy defines.
rule_names := %[6]s

# safe_rules are the rules whose holds form (plain boolean Rego) decides
# sane input exactly: nothing in them can raise.
safe_rules := %[10]s

# guarded_rules have a holds form too, exact for sane input on which every
# walk of a dot path into the credentials (lib.creds_path) indexes objects
# alone, so that oslo cannot raise. result does not use it; oslorego's
# native path checks the walks and decides them.
guarded_rules := %[12]s

%[7]s
# invalid_creds is oslo's InvalidContextObject: credentials that are not
# an object.
invalid_creds := lib.error(sprintf("InvalidContextObject: credentials must be an object, got %%s", [lib.py_type(json.marshal(lib.creds))])) if {
	not is_object(lib.creds)
}

# result is oslo's Enforcer.enforce(input.rule, target, credentials): true,
# false, or {"error": MESSAGE} where oslo.policy raises (always a deny).
# Sane input to a safe rule is decided first, by the holds form.
result := %[9]sinvalid_creds if {
	invalid_creds
} else := false if {
	not evaluated
} %[11]selse := %[8]s

# exact_result is result decided by rules[] alone, without the holds
# shortcut: the conformance tests check that both agree.
exact_result := invalid_creds if {
	invalid_creds
} else := false if {
	not evaluated
} %[11]selse := %[8]s

# scope_denied is oslo's scope check for a registered rule.
scope_denied if {
	enforce_scope
	scopes := scope_types[input.rule]
	not lib.token_scope in scopes
}

# allow is true only when oslo.policy would allow.
allow := result == true

# decision is the whole answer: allowed, the rule evaluated, and why a
# decision failed closed.
decision := {"allowed": allow, "rule": input.rule, "evaluated": object.get({"r": evaluated}, "r", null), "error": failure}

# failure is why the decision failed closed, or null.
failure := result.error if {
	is_object(result)
} else := null
`, pkg, nullable(p.Options.DefaultRuleName()), p.Options.EnforceScope, p.Options.EnforceNewDefaults, scopesLiteral(p.Scopes), namesLiteral(p), evaluatedRule(p), resultRule(p), e.fastResult(), e.safeLiteral(), scopeBranch(p), namesIn(e.p, e.guarded))
	if len(e.order) > 0 {
		b.WriteString(`
# unrolled holds the rules of rule: cycles, specialised by the path that
# reached them: re-entering a rule already on the path is oslo.policy's
# unbounded recursion, which raises, so it is an error here.
`)
		for _, k := range e.order {
			fmt.Fprintf(&b, "unrolled[%s] := %s\n\n", quote(k), e.variants[k])
		}
	}
	return b.String()
}

// evaluatedRule resolves input.rule as oslo's Rules lookup does.
func evaluatedRule(p *oslo.Policy) string {
	if d := p.Options.DefaultRuleName(); d != "" && p.Rule(d) != nil {
		return `# evaluated is the rule input.rule resolves to: itself, or the default rule.
evaluated := input.rule if {
	input.rule in rule_names
} else := default_rule
`
	}
	return `# evaluated is the rule input.rule resolves to (there is no default rule
# to fall back to).
evaluated := input.rule if {
	input.rule in rule_names
}
`
}

// scopeBranch is result's scope check, left out when it can never deny.
func scopeBranch(p *oslo.Policy) string {
	if !p.Options.EnforceScope || len(p.Scopes) == 0 {
		return ""
	}
	return `else := false if {
	scope_denied
} `
}

func (e *emitter) safeLiteral() string { return namesIn(e.p, e.safe) }

// namesIn is the Rego set of p's rules in set, sorted.
func namesIn(p *oslo.Policy, set map[string]bool) string {
	var names []string
	for _, r := range p.Rules {
		if set[r.Name] {
			names = append(names, quote(r.Name))
		}
	}
	if len(names) == 0 {
		return "set()"
	}
	sort.Strings(names)
	return "{" + strings.Join(names, ", ") + "}"
}

// fastResult decides sane input with the holds form of safe rules, ahead
// of result's other branches: sane credentials are an object, and a safe
// rule is defined, so those branches cannot apply except the scope check.
func (e *emitter) fastResult() string {
	if e.safeLiteral() == "set()" {
		return ""
	}
	scope := ""
	if scopeBranch(e.p) != "" {
		scope = "\n\tnot scope_denied"
	}
	return `true if {
	lib.sane
	input.rule in safe_rules` + scope + `
	holds[input.rule]
} else := false if {
	lib.sane
	input.rule in safe_rules` + scope + `
} else := `
}

// resultRule is the last branch of result: the evaluated rule's value.
func resultRule(p *oslo.Policy) string {
	if len(p.Rules) == 0 {
		return "false # an empty policy denies everything"
	}
	return "rules[evaluated]"
}

func nullable(s string) string {
	if s == "" {
		return "null"
	}
	return quote(s)
}

func scopesLiteral(m map[string][]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("{")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		qs := make([]string, len(m[n]))
		for j, s := range m[n] {
			qs[j] = quote(s)
		}
		fmt.Fprintf(&b, "%s: {%s}", quote(n), strings.Join(qs, ", "))
	}
	b.WriteString("}")
	return b.String()
}

func namesLiteral(p *oslo.Policy) string {
	if len(p.Rules) == 0 {
		return "set()"
	}
	names := make([]string, len(p.Rules))
	for i, r := range p.Rules {
		names[i] = quote(r.Name)
	}
	sort.Strings(names)
	return "{" + strings.Join(names, ", ") + "}"
}
