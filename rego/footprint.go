package rego

import (
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Footprint is the part of a decision's input that the policy can read for
// one rule name, found in the compiled modules' own references to input.
// The input's "rule", "credentials" and "key_order" are always part of it;
// of the target, only the keys in Target are, unless Whole.
type Footprint struct {
	// Whole is true when the rule may read the target (or the input) as a
	// whole: it prints the whole target, iterates over it, indexes it with
	// a key computed at run time, passes it whole to a function the
	// analysis cannot follow, or evaluates a with modifier.
	Whole bool
	// Target are the top-level target keys the rule may read, sorted.
	// Whether the target is an object is read too; nothing else of it.
	Target []string
}

// String is the footprint for logs and tests: "whole", or the target keys.
func (f Footprint) String() string {
	if f.Whole {
		return "whole"
	}
	return "target[" + strings.Join(f.Target, ",") + "]"
}

// footprints computes and keeps the footprints of one entry point. Only
// names some rule's ref spells out are kept, one each; any other name gets
// the footprint computed with input.rule unknown, which holds for every
// name, so that request-chosen names cannot grow the map.
type footprints struct {
	compiler *ast.Compiler
	entry    ast.Ref
	names    map[string]bool

	mu   sync.Mutex
	byOK map[string]Footprint
	any  *Footprint
	// shared are the analyses of rules and functions that do not read
	// input.rule, reused by the analyses of every name.
	shared memos
}

// memos are analyses of rules and of functions by argument signature.
type memos struct {
	rules map[*ast.Rule]memo
	funcs map[string]memo
}

func newMemos() memos {
	return memos{rules: map[*ast.Rule]memo{}, funcs: map[string]memo{}}
}

// memo is a rule's or function's value and what its analysis recorded.
type memo struct {
	v  aval
	fx *effects
}

// effects are what an analysis recorded: target keys looked at, whether
// the target is read whole, whether input.rule is read.
type effects struct {
	keys        map[string]bool
	whole, rule bool
}

func (x *effects) merge(y *effects) {
	for k := range y.keys {
		x.keys[k] = true
	}
	x.whole = x.whole || y.whole
	x.rule = x.rule || y.rule
}

func newFootprints(c *ast.Compiler, entry ast.Ref) *footprints {
	names := map[string]bool{}
	for _, m := range c.Modules {
		for _, r := range m.Rules {
			for _, t := range r.Ref() {
				if s, ok := t.Value.(ast.String); ok {
					names[string(s)] = true
				}
			}
		}
	}
	return &footprints{compiler: c, entry: entry, names: names, byOK: map[string]Footprint{}, shared: newMemos()}
}

// of is the footprint of the entry point for rule.
func (f *footprints) of(rule string) Footprint {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.names[rule] {
		if f.any == nil {
			fp := analyze(f.compiler, f.entry, nil, f.shared)
			f.any = &fp
		}
		return *f.any
	}
	if fp, ok := f.byOK[rule]; ok {
		return fp
	}
	fp := analyze(f.compiler, f.entry, ast.String(rule), f.shared)
	f.byOK[rule] = fp
	return fp
}

// Footprint is what a decision on rule can read of its input (see
// Footprint); Decide converts only that much of the target. A decision
// memo can key on the footprint's part of the input.
func (e *Engine) Footprint(rule string) Footprint { return e.fp.of(rule) }

// analyze abstractly evaluates entry: every body of every rule and
// function it can reach is assumed to run, and each term's value is
// tracked only as far as "a constant from this small set", "the input at
// this path" or "anything" (top). Reading an input value any other way
// than indexing it with a known key or asking its type reads it whole.
// rule is input.rule's value, nil when unknown. shared holds the analyses
// that do not depend on rule, and gains this one's.
func analyze(c *ast.Compiler, entry ast.Ref, rule ast.Value, shared memos) Footprint {
	a := &analyzer{c: c, rule: rule, local: newMemos(), shared: shared}
	a.push()
	a.use(a.dataRef(entry, map[ast.Var]aval{}))
	fx := a.pop()
	if fx.whole {
		return Footprint{Whole: true}
	}
	fp := Footprint{Target: make([]string, 0, len(fx.keys))}
	for k := range fx.keys {
		fp.Target = append(fp.Target, k)
	}
	sort.Strings(fp.Target)
	return fp
}

// maxConsts bounds a constant set; a larger one becomes top.
const maxConsts = 64

type avalKind int

const (
	top avalKind = iota
	konst
	path
)

// aval is an abstract value: top, one of a set of constants (none: the
// term is undefined), or the input at a path of known keys.
type aval struct {
	kind   avalKind
	consts []ast.Value
	path   []ast.Value
}

var anything = aval{kind: top}

func constant(vs ...ast.Value) aval {
	if len(vs) > maxConsts {
		return anything
	}
	return aval{kind: konst, consts: vs}
}

type analyzer struct {
	c      *ast.Compiler
	rule   ast.Value
	local  memos
	shared memos
	// frames are the effects of the rules and functions being analysed,
	// innermost last.
	frames []*effects
}

func (a *analyzer) push() { a.frames = append(a.frames, &effects{keys: map[string]bool{}}) }

// pop ends the innermost frame, adding its effects to the enclosing one.
func (a *analyzer) pop() *effects {
	fx := a.frames[len(a.frames)-1]
	a.frames = a.frames[:len(a.frames)-1]
	if len(a.frames) > 0 {
		a.frames[len(a.frames)-1].merge(fx)
	}
	return fx
}

func (a *analyzer) top() *effects { return a.frames[len(a.frames)-1] }

func (a *analyzer) setWhole() { a.top().whole = true }

// remember keeps a finished analysis, for every name when it did not read
// input.rule.
func (a *analyzer) remember(m memo, rule *ast.Rule, fn string) {
	to := a.local
	if !m.fx.rule {
		to = a.shared
		delete(a.local.rules, rule) // the guard of a running analysis
		delete(a.local.funcs, fn)
	}
	if rule != nil {
		to.rules[rule] = m
	} else {
		to.funcs[fn] = m
	}
}

// recall is a finished or running analysis; a finished one's effects are
// recorded again.
func (a *analyzer) recall(rule *ast.Rule, fn string) (aval, bool) {
	var m memo
	var ok bool
	if rule != nil {
		if m, ok = a.local.rules[rule]; !ok {
			m, ok = a.shared.rules[rule]
		}
	} else if m, ok = a.local.funcs[fn]; !ok {
		m, ok = a.shared.funcs[fn]
	}
	if ok && m.fx != nil {
		a.top().merge(m.fx)
	}
	return m.v, ok
}

// touch records that the input at p is looked at (defined, its type).
func (a *analyzer) touch(p []ast.Value) {
	if len(p) == 1 && p[0].Compare(ast.String("rule")) == 0 {
		a.top().rule = true
	}
	if len(p) < 2 || p[0].Compare(ast.String("target")) != 0 {
		return
	}
	if k, ok := p[1].(ast.String); ok {
		a.top().keys[string(k)] = true
		return
	}
	a.setWhole()
}

// use records that v is read whole.
func (a *analyzer) use(v aval) {
	if v.kind != path {
		return
	}
	a.touch(v.path)
	if len(v.path) == 0 || (len(v.path) == 1 && v.path[0].Compare(ast.String("target")) == 0) {
		a.setWhole()
	}
}

func (a *analyzer) join(x, y aval) aval {
	switch {
	case x.kind == konst && len(x.consts) == 0:
		return y
	case y.kind == konst && len(y.consts) == 0:
		return x
	case x.kind == konst && y.kind == konst:
		out := append([]ast.Value{}, x.consts...)
		for _, v := range y.consts {
			if !containsValue(out, v) {
				out = append(out, v)
			}
		}
		return constant(out...)
	case x.kind == path && y.kind == path && samePath(x.path, y.path):
		return x
	}
	a.use(x)
	a.use(y)
	return anything
}

func containsValue(vs []ast.Value, v ast.Value) bool {
	for _, x := range vs {
		if x.Compare(v) == 0 {
			return true
		}
	}
	return false
}

func samePath(p, q []ast.Value) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i].Compare(q[i]) != 0 {
			return false
		}
	}
	return true
}

// index is v[k].
func (a *analyzer) index(v, k aval) aval {
	switch v.kind {
	case path:
		if k.kind == konst && len(k.consts) == 1 {
			p := append(append([]ast.Value{}, v.path...), k.consts[0])
			a.touch(p)
			if len(p) == 1 && p[0].Compare(ast.String("rule")) == 0 && a.rule != nil {
				return constant(a.rule)
			}
			return aval{kind: path, path: p}
		}
		if k.kind == konst {
			for _, c := range k.consts {
				a.use(a.index(v, constant(c)))
			}
			return anything
		}
		a.use(k)
		a.use(v)
		return anything
	case konst:
		var out []ast.Value
		for _, c := range v.consts {
			if k.kind == konst {
				for _, key := range k.consts {
					if x := ast.NewTerm(c).Get(ast.NewTerm(key)); x != nil {
						out = append(out, x.Value)
					}
				}
				continue
			}
			a.use(k)
			children(c, func(x ast.Value) { out = append(out, x) })
		}
		return a.join(constant(), constant(out...))
	}
	a.use(k)
	return anything
}

// children calls f with the elements or member values of a collection.
func children(v ast.Value, f func(ast.Value)) {
	switch x := v.(type) {
	case *ast.Array:
		x.Foreach(func(t *ast.Term) { f(t.Value) })
	case ast.Set:
		x.Foreach(func(t *ast.Term) { f(t.Value) })
	case ast.Object:
		x.Foreach(func(_, t *ast.Term) { f(t.Value) })
	}
}

func (a *analyzer) term(t *ast.Term, scope map[ast.Var]aval) aval {
	switch v := t.Value.(type) {
	case ast.Var:
		if x, ok := scope[v]; ok {
			return x
		}
		switch v {
		case ast.InputRootDocument.Value:
			return aval{kind: path}
		case ast.DefaultRootDocument.Value:
			a.setWhole()
		}
		return anything
	case ast.Ref:
		return a.ref(v, scope)
	case ast.Null, ast.Boolean, ast.Number, ast.String:
		return constant(v)
	case *ast.Array, ast.Object, ast.Set:
		if t.IsGround() {
			return constant(v)
		}
		// A collection of known constants stays constant (a path in a
		// format call); otherwise its members are read whole.
		if c, ok := a.collection(v, scope); ok {
			return constant(c)
		}
		return anything
	case *ast.ArrayComprehension:
		a.body(v.Body, scope)
		a.use(a.term(v.Term, scope))
		return anything
	case *ast.SetComprehension:
		a.body(v.Body, scope)
		a.use(a.term(v.Term, scope))
		return anything
	case *ast.ObjectComprehension:
		a.body(v.Body, scope)
		a.use(a.term(v.Key, scope))
		a.use(a.term(v.Value, scope))
		return anything
	case ast.Call:
		return a.call(v, scope)
	}
	a.setWhole()
	return anything
}

// collection is a collection term's value when its members are all
// known constants; otherwise the members are read whole.
func (a *analyzer) collection(v ast.Value, scope map[ast.Var]aval) (ast.Value, bool) {
	ok := true
	member := func(t *ast.Term) *ast.Term {
		av := a.term(t, scope)
		if av.kind == konst && len(av.consts) == 1 {
			return ast.NewTerm(av.consts[0])
		}
		a.use(av)
		ok = false
		return t
	}
	switch x := v.(type) {
	case *ast.Array:
		ts := make([]*ast.Term, x.Len())
		for i := range ts {
			ts[i] = member(x.Elem(i))
		}
		return ast.NewArray(ts...), ok
	case ast.Set:
		var ts []*ast.Term
		x.Foreach(func(t *ast.Term) { ts = append(ts, member(t)) })
		return ast.NewSet(ts...), ok
	case ast.Object:
		var items [][2]*ast.Term
		x.Foreach(func(k, t *ast.Term) { items = append(items, [2]*ast.Term{member(k), member(t)}) })
		if !ok {
			return nil, false
		}
		return ast.NewObject(items...), ok
	}
	return nil, false
}

func (a *analyzer) ref(r ast.Ref, scope map[ast.Var]aval) aval {
	var v aval
	switch {
	case r[0].Equal(ast.InputRootDocument):
		v = aval{kind: path}
	case r[0].Equal(ast.DefaultRootDocument):
		return a.dataRef(r, scope)
	default:
		v = a.term(r[0], scope)
	}
	for _, k := range r[1:] {
		v = a.index(v, a.term(k, scope))
	}
	return v
}

// dataRef is a reference into data: the values of the rules it can
// name, or top for base documents.
func (a *analyzer) dataRef(r ast.Ref, scope map[ast.Var]aval) aval {
	keys := make([]aval, len(r))
	for i, k := range r[1:] {
		keys[i+1] = a.term(k, scope)
	}
	q := r.Copy()
	for i := 1; i < len(q); i++ {
		if keys[i].kind == konst && len(keys[i].consts) == 1 {
			q[i] = ast.NewTerm(keys[i].consts[0])
			continue
		}
		a.use(keys[i])
		q[i] = ast.VarTerm(ast.WildcardPrefix + "fp")
	}
	found := a.c.GetRulesDynamicWithOpts(q, ast.RulesOptions{IncludeHiddenModules: true})
	out := constant()
	if len(found) == 0 {
		out = anything
	}
	// Deterministic order: joins are order-independent, but not errors
	// of a path mismatch, which only ever widen.
	sort.Slice(found, func(i, j int) bool { return found[i].Loc().Compare(found[j].Loc()) < 0 })
	for _, rule := range found {
		if len(rule.Head.Args) > 0 {
			continue
		}
		v := a.ruleValue(rule)
		n := len(rule.Ref())
		if len(q) < n {
			a.use(v)
			out = a.join(out, anything)
			continue
		}
		for i := n; i < len(q); i++ {
			k := constant(q[i].Value)
			if !q[i].IsGround() {
				k = keys[i]
			}
			v = a.index(v, k)
		}
		out = a.join(out, v)
	}
	return out
}

// ruleValue analyses a rule (and its else chain) once: its value.
func (a *analyzer) ruleValue(rule *ast.Rule) aval {
	if v, ok := a.recall(rule, ""); ok {
		return v
	}
	a.local.rules[rule] = memo{v: anything} // rules cannot recurse; this only guards
	a.push()
	scope := map[ast.Var]aval{}
	out := constant()
	for r := rule; r != nil; r = r.Else {
		out = a.join(out, a.definition(r, scope))
	}
	a.remember(memo{v: out, fx: a.pop()}, rule, "")
	return out
}

// definition analyses one body and head of a rule or function.
func (a *analyzer) definition(r *ast.Rule, scope map[ast.Var]aval) aval {
	a.body(r.Body, scope)
	for _, t := range r.Head.Ref()[1:] {
		a.use(a.term(t, scope))
	}
	if r.Head.Key != nil && r.Head.Value == nil {
		a.use(a.term(r.Head.Key, scope))
		return anything
	}
	if r.Head.Key != nil {
		a.use(a.term(r.Head.Key, scope))
	}
	if r.Head.Value == nil {
		return constant(ast.Boolean(true))
	}
	return a.term(r.Head.Value, scope)
}

func (a *analyzer) body(b ast.Body, scope map[ast.Var]aval) {
	for _, e := range b {
		if len(e.With) > 0 {
			a.setWhole()
		}
		switch t := e.Terms.(type) {
		case *ast.Term:
			a.use(a.term(t, scope))
		case []*ast.Term:
			a.call(t, scope)
		case *ast.SomeDecl:
			for _, s := range t.Symbols {
				if c, ok := s.Value.(ast.Call); ok {
					a.call(c, scope)
				}
			}
		case *ast.Every:
			dom := a.term(t.Domain, scope)
			a.use(dom)
			if t.Key != nil {
				a.bind(t.Key, anything, scope)
			}
			a.bind(t.Value, a.index(dom, anything), scope)
			a.body(t.Body, scope)
		default:
			a.setWhole()
		}
	}
}

// bind gives an output term its value: a fresh variable takes it; any
// other term is compared with it, which reads both whole.
func (a *analyzer) bind(t *ast.Term, v aval, scope map[ast.Var]aval) {
	if x, ok := t.Value.(ast.Var); ok {
		if _, bound := scope[x]; !bound {
			scope[x] = v
			return
		}
	}
	a.use(v)
	a.use(a.term(t, scope))
	ast.WalkVars(t, func(x ast.Var) bool {
		if _, bound := scope[x]; !bound {
			scope[x] = anything
		}
		return false
	})
}

// typeOnly are the builtins that read only their argument's type.
var typeOnly = map[string]bool{
	"is_object": true, "is_array": true, "is_string": true, "is_number": true,
	"is_boolean": true, "is_null": true, "is_set": true, "type_name": true,
}

func (a *analyzer) call(c []*ast.Term, scope map[ast.Var]aval) aval {
	op, ok := c[0].Value.(ast.Ref)
	if !ok {
		a.setWhole()
		return anything
	}
	args := c[1:]
	name := op.String()
	if name == ast.Equality.Name || name == ast.Assign.Name {
		if x, ok := args[0].Value.(ast.Var); ok {
			if _, bound := scope[x]; !bound {
				a.bind(args[0], a.term(args[1], scope), scope)
				return anything
			}
		}
		a.bind(args[1], a.term(args[0], scope), scope)
		return anything
	}
	arity := a.c.GetArity(op)
	var out *ast.Term
	if arity >= 0 && len(args) > arity {
		out, args = args[arity], args[:arity]
	}
	vals := make([]aval, len(args))
	for i, t := range args {
		if name == ast.Member.Name && i == 0 {
			continue
		}
		vals[i] = a.term(t, scope)
	}
	var res aval
	switch {
	case typeOnly[name]:
		res = anything
	case name == ast.ObjectGet.Name && len(vals) == 3:
		a.use(vals[2])
		res = a.objectGet(vals[0], vals[1])
	case name == ast.Member.Name:
		// x in coll: a fresh x iterates over coll.
		a.bind(args[0], a.index(vals[1], anything), scope)
		res = anything
	case ast.BuiltinMap[name] != nil:
		for _, v := range vals {
			a.use(v)
		}
		res = anything
	default:
		fns := a.c.GetRulesExact(op)
		if len(fns) == 0 {
			a.setWhole()
			return anything
		}
		res = a.function(name, fns, vals)
	}
	if out != nil {
		a.bind(out, res, scope)
	}
	return res
}

// objectGet is object.get(obj, key, _) with a known key or key path.
func (a *analyzer) objectGet(obj, key aval) aval {
	if key.kind == konst && len(key.consts) == 1 {
		if arr, ok := key.consts[0].(*ast.Array); ok {
			v := obj
			arr.Foreach(func(t *ast.Term) { v = a.index(v, constant(t.Value)) })
			return v
		}
		return a.index(obj, key)
	}
	a.use(obj)
	a.use(key)
	return anything
}

// function analyses a user function once per abstract argument list.
func (a *analyzer) function(name string, fns []*ast.Rule, args []aval) aval {
	var sig strings.Builder
	sig.WriteString(name)
	for _, v := range args {
		sig.WriteString("|")
		switch v.kind {
		case top:
			sig.WriteString("T")
		case konst:
			for _, c := range v.consts {
				sig.WriteString("c" + c.String() + ";")
			}
		case path:
			sig.WriteString("p" + ast.NewArray(termsOf(v.path)...).String())
		}
	}
	key := sig.String()
	if v, ok := a.recall(nil, key); ok {
		return v
	}
	a.local.funcs[key] = memo{v: anything}
	a.push()
	out := constant()
	for _, fn := range fns {
		scope := map[ast.Var]aval{}
		for r := fn; r != nil; r = r.Else {
			for i, t := range r.Head.Args {
				if x, ok := t.Value.(ast.Var); ok && i < len(args) {
					scope[x] = args[i] // the else chain shares the arguments
				} else if i < len(args) {
					a.bind(t, args[i], scope)
				}
			}
			out = a.join(out, a.definition(r, scope))
		}
	}
	a.remember(memo{v: out, fx: a.pop()}, nil, key)
	return out
}

func termsOf(vs []ast.Value) []*ast.Term {
	ts := make([]*ast.Term, len(vs))
	for i, v := range vs {
		ts[i] = ast.NewTerm(v)
	}
	return ts
}
