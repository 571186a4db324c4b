package policydiff

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/translate/oslo"
)

// vocab is what the two policies read for one rule: the abstraction's
// dimensions before they are laid out (see space).
type vocab struct {
	roles map[string]bool // role names as roles are given (lower case for role: checks)
	// otherRole adds one role neither policy names: only raw Rego or a
	// role: check formatted from the target can tell it apart.
	otherRole bool
	target    map[string]*node // by top-level target key
	creds     map[string]*node // by credentials dot path
	// roleKeys are target keys whose value role: checks compare with roles.
	roleKeys map[string]bool
	// why says why the abstraction does not cover everything the rule
	// reads; empty: it does.
	why map[string]bool
}

// node is one target key or credentials path: the literals it is
// compared with and the nodes it is compared with for equality.
type node struct {
	lits map[string]any // by canonical JSON
	adj  map[string]bool
}

func newVocab() *vocab {
	return &vocab{roles: map[string]bool{}, target: map[string]*node{}, creds: map[string]*node{}, roleKeys: map[string]bool{}, why: map[string]bool{}}
}

func getNode(m map[string]*node, k string) *node {
	n := m[k]
	if n == nil {
		n = &node{lits: map[string]any{}, adj: map[string]bool{}}
		m[k] = n
	}
	return n
}

func canon(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (n *node) lit(v any) { n.lits[canon(v)] = v }

// credsValue is the JSON value a credentials path compared with text
// holds: oslo compares str(value), and services give booleans.
func credsValue(text string) any {
	switch text {
	case "True":
		return true
	case "False":
		return false
	}
	return text
}

// credsPath is the credentials path a generic check's KIND reads;
// Enforcer.enforce copies system_scope to system, so system is read as
// the system_scope a token carries.
func credsPath(kind string) string {
	if kind == "system" || strings.HasPrefix(kind, "system.") {
		return "system_scope" + strings.TrimPrefix(kind, "system")
	}
	return kind
}

// collector walks the oslo rules one rule reaches in one policy.
type collector struct {
	p    *oslo.Policy
	v    *vocab
	seen map[string]bool
	// rego is set when a rule defined in raw Rego is reached.
	rego bool
}

func (c *collector) rule(name string) {
	resolved, ok := c.p.Resolve(name)
	if !ok || c.seen[resolved] {
		return
	}
	c.seen[resolved] = true
	if r := c.p.Rule(resolved); r != nil {
		c.check(r.Check)
	}
}

func (c *collector) check(ch oslo.Check) {
	v := c.v
	switch n := ch.(type) {
	case *oslo.AndCheck:
		for _, r := range n.Rules {
			c.check(r)
		}
	case *oslo.OrCheck:
		for _, r := range n.Rules {
			c.check(r)
		}
	case *oslo.NotCheck:
		c.check(n.Rule)
	case *oslo.RuleCheck:
		c.rule(n.Name)
	case *oslo.ExternalCheck:
		c.rego = true
	case *oslo.RoleCheck:
		f := oslo.ParseFormat(n.Match)
		if s, ok := f.Const(); ok {
			v.roles[python.Lower(s)] = true
		} else if k, ok := f.SingleKey(); ok {
			getNode(v.target, k)
			v.roleKeys[k] = true
			v.otherRole = true
		} else {
			c.formatKeys(f, "role:"+n.Match)
		}
	case *oslo.GenericCheck:
		f := oslo.ParseFormat(n.Match)
		lit := python.LiteralEval(n.Kind)
		switch {
		case lit.Class == python.SyntaxError || lit.Err != "":
			// Raises (or fails closed) whatever the request holds.
		case lit.Class == python.Literal:
			if k, ok := f.SingleKey(); ok {
				getNode(v.target, k).lit(lit.Str)
			} else if _, ok := f.Const(); !ok {
				c.formatKeys(f, n.String())
			}
		default:
			path := credsPath(n.Kind)
			if path == "roles" {
				if s, ok := f.Const(); ok {
					v.roles[s] = true
					return
				}
			}
			if strings.HasPrefix(path, "roles.") || path == "roles" {
				v.why[fmt.Sprintf("%s reads the roles as a credentials path", n.String())] = true
				return
			}
			cn := getNode(v.creds, path)
			if s, ok := f.Const(); ok {
				cn.lit(credsValue(s))
			} else if k, ok := f.SingleKey(); ok {
				tn := getNode(v.target, k)
				tn.adj[path] = true
				cn.adj[k] = true
			} else {
				c.formatKeys(f, n.String())
			}
		}
	case *oslo.RemoteCheck:
		v.why[fmt.Sprintf("%s is a remote check (always an error here)", n.String())] = true
	}
}

// formatKeys adds the keys of a format the abstraction does not model
// exactly (several keys, conversions other than %s, the whole target).
func (c *collector) formatKeys(f oslo.Format, check string) {
	for _, s := range f.Segs {
		if s.Keyed {
			getNode(c.v.target, s.Key)
		}
	}
	c.v.why[fmt.Sprintf("%s formats the target in a way the abstraction does not model", check)] = true
}

// regoVocab adds what raw Rego reads for rule: the target keys of the
// engine's footprint, and from the raw modules the literals compared with
// input and the roles they name.
//
// Raw Rego may use oslo rules by name (rules["x"], rules.x): c, when
// given, collects what those read. Any call into the oslo library other
// than its roles reads input in a way this does not follow: inexact.
func regoVocab(s *Side, rule string, v *vocab, mods []*ast.Module, c *collector) {
	fp := s.Engine.Footprint(rule)
	if fp.Whole {
		v.why["raw Rego reads the whole target"] = true
	}
	for _, k := range fp.Target {
		getNode(v.target, k)
	}
	v.otherRole = true
	for _, m := range mods {
		for _, name := range walkRego(m, s, v) {
			if c != nil {
				c.rule(name)
			}
		}
	}
}

// inputRef classifies a ref: a target key, a credentials path, the roles.
func inputRef(t *ast.Term) (kind, key string) {
	r, ok := t.Value.(ast.Ref)
	if !ok {
		return "", ""
	}
	s := r.String()
	switch s {
	case "lib.roles", "data.oslo.lib.roles", "input.credentials.roles":
		return "roles", ""
	}
	if !r.HasPrefix(ast.InputRootRef) || len(r) < 3 {
		return "", ""
	}
	parts := make([]string, 0, len(r)-2)
	for _, t := range r[2:] {
		str, ok := t.Value.(ast.String)
		if !ok {
			return "", ""
		}
		parts = append(parts, string(str))
	}
	switch r[1].Value {
	case ast.String("target"):
		if len(parts) == 1 {
			return "target", parts[0]
		}
	case ast.String("credentials"):
		return "creds", strings.Join(parts, ".")
	}
	return "", ""
}

// constants are the JSON scalars a term stands for: a scalar, a
// collection of scalars, or a data ref resolved against data.
func constants(t *ast.Term, data map[string]any) ([]any, bool) {
	switch x := t.Value.(type) {
	case ast.Ref:
		if !x.HasPrefix(ast.DefaultRootRef) {
			return nil, false
		}
		var cur any = data
		for _, p := range x[1:] {
			k, ok := p.Value.(ast.String)
			m, isMap := cur.(map[string]any)
			if !ok || !isMap {
				return nil, false
			}
			if cur, ok = m[string(k)]; !ok {
				return nil, false
			}
		}
		return scalars(cur)
	default:
		if !ast.IsConstant(x) {
			return nil, false
		}
		v, err := ast.JSON(x)
		if err != nil {
			return nil, false
		}
		return scalars(v)
	}
}

func scalars(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		var out []any
		for _, e := range x {
			s, ok := scalars(e)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case map[string]any:
		return nil, false
	}
	return []any{v}, true
}

// walkRego collects from one raw module the comparisons of input with
// constants (==, !=, =, in); any other use of input, or of the oslo
// library, makes the abstraction inexact. It returns the names of the
// policy's rules the module refers to.
func walkRego(m *ast.Module, s *Side, v *vocab) (names []string) {
	known := map[*ast.Term]bool{}
	for _, imp := range m.Imports {
		known[imp.Path] = true // the uses of an import are read where they are
	}
	ast.WalkExprs(m, func(e *ast.Expr) bool {
		terms, ok := e.Terms.([]*ast.Term)
		if !ok || len(terms) != 3 {
			return false
		}
		switch terms[0].String() {
		case "equal", "neq", "eq", "internal.member_2":
		default:
			return false
		}
		a, b := terms[1], terms[2]
		for _, pair := range [][2]*ast.Term{{a, b}, {b, a}} {
			kind, key := inputRef(pair[0])
			if kind == "" {
				continue
			}
			consts, ok := constants(pair[1], s.Data)
			if !ok {
				continue
			}
			known[pair[0]] = true
			for _, c := range consts {
				switch kind {
				case "roles":
					if str, ok := c.(string); ok {
						v.roles[str] = true
					}
				case "target":
					getNode(v.target, key).lit(c)
				case "creds":
					getNode(v.creds, key).lit(c)
				}
			}
		}
		return false
	})
	ast.WalkTerms(m, func(t *ast.Term) bool {
		if known[t] {
			return true
		}
		if kind, key := inputRef(t); kind != "" {
			v.why[fmt.Sprintf("%s reads %s %s other than by comparing it with constants", m.Package.Location.File, kind, key)] = true
			return true
		}
		if r, ok := t.Value.(ast.Ref); ok && r.HasPrefix(ast.InputRootRef) && len(r) > 1 {
			v.why[fmt.Sprintf("%s reads %s", m.Package.Location.File, r)] = true
			return true
		}
		if v2, ok := t.Value.(ast.Var); ok && v2.Equal(ast.InputRootDocument.Value) {
			v.why[fmt.Sprintf("%s reads the whole input", m.Package.Location.File)] = true
		}
		if r, ok := t.Value.(ast.Ref); ok {
			str := r.String()
			if strings.HasPrefix(str, "lib.") || strings.HasPrefix(str, "data.oslo.lib.") {
				v.why[fmt.Sprintf("%s calls the oslo library (%s)", m.Package.Location.File, str)] = true
				return true
			}
			switch name, opaque := policyRef(m, r, s.Package); {
			case opaque:
				v.why[fmt.Sprintf("%s reads %s, which the abstraction does not follow", m.Package.Location.File, r)] = true
			case name != "":
				names = append(names, name)
			}
		}
		return false
	})
	return names
}

// translated are the entities a translation defines in the policy's
// package besides rules and holds: Rego that reads them reads what the
// abstraction cannot follow.
var translated = map[string]bool{"part": true, "result": true, "exact_result": true, "decision": true, "allow": true}

// policyRef classifies a ref of module m into the policy's package pkg:
// the name of a rule it reads (rules[NAME], holds[NAME]), or opaque when
// it reads translated entities whole or otherwise.
func policyRef(m *ast.Module, r ast.Ref, pkg string) (name string, opaque bool) {
	full := r
	if v, ok := r[0].Value.(ast.Var); ok {
		switch {
		case m.Package.Path.String() == "data."+pkg && (v == "rules" || v == "holds" || translated[string(v)]):
			full = append(append(m.Package.Path.Copy(), ast.StringTerm(string(v))), r[1:]...)
		default:
			for _, imp := range m.Imports {
				path, ok := imp.Path.Value.(ast.Ref)
				if !ok || len(path) == 0 {
					continue
				}
				alias := imp.Alias
				if alias == "" {
					last, ok := path[len(path)-1].Value.(ast.String)
					if !ok {
						continue
					}
					alias = ast.Var(last)
				}
				if alias == v {
					full = append(path.Copy(), r[1:]...)
				}
			}
		}
	}
	base := ast.MustParseRef("data." + pkg)
	if !full.HasPrefix(base) {
		return "", false
	}
	if len(full) == len(base) {
		return "", true // the whole package
	}
	entity, _ := full[len(base)].Value.(ast.String)
	switch {
	case entity == "rules" || entity == "holds":
		if len(full) == len(base)+1 {
			return "", true
		}
		n, ok := full[len(base)+1].Value.(ast.String)
		return string(n), !ok
	case translated[string(entity)]:
		return "", true
	}
	return "", false
}

// parseModules parses the raw modules once per side: those of the
// policy's package, and those of every package they refer to (through
// data refs or imports), transitively. Modules of other packages
// (property protections, say) decide no rule.
func parseModules(s *Side) ([]*ast.Module, error) {
	var all []*ast.Module
	for _, m := range s.Raw {
		if strings.HasPrefix(m.File, "oslo/lib/") {
			continue
		}
		pm, err := ast.ParseModuleWithOpts(m.File, m.Text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", m.File, err)
		}
		all = append(all, pm)
	}
	if s.Policy == nil {
		return all, nil
	}
	wanted := map[string]bool{"data." + s.Package: true}
	taken := make([]bool, len(all))
	var out []*ast.Module
	for grew := true; grew; {
		grew = false
		for i, m := range all {
			if taken[i] || !wantedPackage(m.Package.Path.String(), wanted) {
				continue
			}
			taken[i], grew = true, true
			out = append(out, m)
			for _, imp := range m.Imports {
				wanted[imp.Path.String()] = true
			}
			ast.WalkRefs(m, func(r ast.Ref) bool {
				if r.HasPrefix(ast.DefaultRootRef) {
					wanted[r.String()] = true
				}
				return false
			})
		}
	}
	return out, nil
}

// wantedPackage reports whether package pkg holds something a wanted ref
// names: pkg is a prefix of the ref, or the ref of pkg.
func wantedPackage(pkg string, wanted map[string]bool) bool {
	for w := range wanted {
		if w == pkg || strings.HasPrefix(w, pkg+".") || strings.HasPrefix(w, pkg+"[") || strings.HasPrefix(pkg, w+".") {
			return true
		}
	}
	return false
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
