package rego

import (
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/translate"
)

// The native path decides sane input to a safe rule in Go: the compiled
// holds[NAME] and part[NAME] rules of a translation, which are plain
// boolean Rego of a few shapes (translate/holds.go), become small programs
// over the decision input, with the library functions they call
// reimplemented here. A rule is compiled only when every body of it, and
// of every rule it refers to, has exactly those shapes and the library is
// the embedded one; anything else stays on OPA's holds path. At run time
// a value the Go code does not render exactly as the library does (a
// float, a container, a string Python lower-cases differently, ...)
// makes that decision fall back to OPA too: the native path decides only
// what it knows it decides identically.

// nativeProgram is the native form of one engine's holds rules.
type nativeProgram struct {
	rules []nRule
	// byName are the compiled holds[NAME] rules by name (safe ones only).
	byName map[string]int32
	states sync.Pool
}

// NativeCoverage says how many of an engine's safe rules the native path
// decides; Fallback names the others (sorted). Safe counts the guarded
// rules too (Guarded of them: rules with a dot path into the credentials,
// decided natively only where that walk indexes objects alone).
type NativeCoverage struct {
	Safe, Native int
	Guarded      int
	Fallback     []string
	// Disabled says why nothing is native ("" when the native path is on).
	Disabled string
}

// nRule is one holds or part rule: its bodies, any of which makes it hold.
type nRule struct {
	bodies []nBody
	// uniform is true when every body gives the same value: the first body
	// that holds decides.
	uniform bool
	// keys are the target keys the rule and those it refers to read.
	keys []string
}

// nBody is one body of a rule and the value it gives the head.
type nBody struct {
	value bool
	ops   []nOp
	slots int
}

type opCode uint8

const (
	opConst     opCode = iota // holds iff val.b
	opRule                    // holds iff rule holds (its value is true)
	opRoles                   // slot out := lib.roles
	opCopy                    // slot out := arg 0
	opEqual                   // arg 0 == arg 1
	opIsString                // is_string(arg 0)
	opMember                  // arg 0 in lib.roles
	opValue                   // out := lib.value(arg 0)
	opText                    // out := lib.text(arg 0)
	opFormat                  // out := lib.format(segs, _)
	opPyLower                 // out := lib.py_lower(arg 0)
	opCredsEq                 // lib.creds_eq(arg 0, arg 1)
	opCredsPath               // lib.creds_path(path, arg 1)
)

// nOp is one expression of a body.
type nOp struct {
	code opCode
	neg  bool
	rule int32
	out  int16
	args [2]nArg
	val  nval
	segs []fmtSeg
	// path is lib.creds_path's dot path into the credentials.
	path []nval
}

// nArg is a slot of the body (slot >= 0) or a constant.
type nArg struct {
	slot int16
	c    nval
}

// nkind is the kind of a native value.
type nkind uint8

const (
	nUndef nkind = iota
	nStr
	nBool
	// nOther is a value that is neither a string nor a bool: a formatting
	// failure ({"missing": key} or {"error": ...}).
	nOther
	nRoles
)

// nval is a value in a native body.
type nval struct {
	k nkind
	b bool
	s string
	// t is a constant string's term, to look it up in OPA objects.
	t *ast.Term
}

// fmtSeg is one segment of lib.format's first argument.
type fmtSeg struct {
	lit         bool
	text        string // the literal
	key         nval
	conv        byte
	left        bool // flags hold "-"
	width, prec int
}

// nativeCompiler turns compiled rules into nRules.
type nativeCompiler struct {
	c     *ast.Compiler
	pkg   ast.Ref
	holds *ast.TreeNode
	part  *ast.TreeNode
	prog  *nativeProgram
	// done are rules compiled (index) or refused (-1) by kind and name;
	// visiting marks rules being compiled (a cycle is refused).
	done     map[string]int32
	visiting map[string]bool
}

var (
	libRoles = ast.MustParseRef("data.oslo.lib.roles")
	libRef   = ast.MustParseRef("data.oslo.lib")
)

// The library functions the holds form calls.
const (
	libValue     = "data.oslo.lib.value"
	libText      = "data.oslo.lib.text"
	libFormat    = "data.oslo.lib.format"
	libPyLower   = "data.oslo.lib.py_lower"
	libCredsEq   = "data.oslo.lib.creds_eq"
	libCredsPath = "data.oslo.lib.creds_path"
)

// newNative compiles the holds rules of the safe names natively. sources
// are the modules' texts by file; data the engine's data document. It
// returns nil (and why) when nothing can be native.
func newNative(c *ast.Compiler, pkg ast.Ref, safe map[string]bool, sources map[string]string, data map[string]any) (*nativeProgram, NativeCoverage) {
	cov := NativeCoverage{Safe: len(safe)}
	fallbackAll := func(why string) (*nativeProgram, NativeCoverage) {
		cov.Disabled = why
		for n := range safe {
			cov.Fallback = append(cov.Fallback, n)
		}
		sort.Strings(cov.Fallback)
		return nil, cov
	}
	if why := libUnchanged(c, sources); why != "" {
		return fallbackAll(why)
	}
	// A data document under the policy's or the library's path could
	// add to the rules' values.
	for _, r := range []ast.Ref{pkg, libRef} {
		s, ok := r[1].Value.(ast.String)
		if _, has := data[string(s)]; ok && has {
			return fallbackAll("the data document has " + string(s))
		}
	}
	nc := &nativeCompiler{c: c, pkg: pkg, prog: &nativeProgram{byName: map[string]int32{}}, done: map[string]int32{}, visiting: map[string]bool{}}
	nc.holds = c.RuleTree.Find(pkg.Append(ast.StringTerm("holds")))
	nc.part = c.RuleTree.Find(pkg.Append(ast.StringTerm("part")))
	for _, n := range []*ast.TreeNode{nc.holds, nc.part} {
		// Rules with a computed key (or none) could define any name.
		if n != nil && len(n.Values) > 0 {
			return fallbackAll("a holds or part rule with a computed key")
		}
	}
	for name := range safe {
		if id := nc.rule("holds", name); id >= 0 {
			nc.prog.byName[name] = id
			continue
		}
		cov.Fallback = append(cov.Fallback, name)
	}
	sort.Strings(cov.Fallback)
	cov.Native = len(nc.prog.byName)
	if cov.Native == 0 {
		return nil, cov
	}
	n := len(nc.prog.rules)
	nc.prog.states.New = func() any { return &nState{memo: make([]uint8, n)} }
	return nc.prog, cov
}

// libUnchanged says why the compiled library is not the embedded one, ""
// when it is: every rule under data.oslo.lib comes from one module whose
// source is the embedded library's.
func libUnchanged(c *ast.Compiler, sources map[string]string) string {
	node := c.RuleTree.Find(libRef)
	if node == nil {
		return "no oslo library"
	}
	var mod *ast.Module
	same := true
	node.DepthFirst(func(n *ast.TreeNode) bool {
		for _, r := range n.Values {
			if mod == nil {
				mod = r.Module
			}
			same = same && r.Module == mod
		}
		return false
	})
	if !same || mod == nil {
		return "rules of data.oslo.lib in more than one module"
	}
	for file, m := range c.Modules {
		if m == mod {
			if sameLib(sources[file]) {
				return ""
			}
			return "the oslo library differs from the embedded one"
		}
	}
	return "the oslo library's module is unknown"
}

// sameLib reports whether text is the embedded library, byte for byte or
// parsed (a bundle's copy may be formatted).
func sameLib(text string) bool {
	lib := translate.LibModule()
	if text == lib.Text {
		return true
	}
	want, err := parsedLib()
	if err != nil {
		return false
	}
	got, err := ast.ParseModuleWithOpts(lib.File, text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	return err == nil && got.Equal(want)
}

// rule compiles kind[name] (holds or part); -1 when it is not native.
func (nc *nativeCompiler) rule(kind, name string) int32 {
	key := kind + "\x00" + name
	if id, ok := nc.done[key]; ok {
		return id
	}
	if nc.visiting[key] {
		return -1
	}
	nc.visiting[key] = true
	defer delete(nc.visiting, key)
	id := nc.compileRule(kind, name)
	nc.done[key] = id
	return id
}

func (nc *nativeCompiler) compileRule(kind, name string) int32 {
	node := nc.holds
	if kind == "part" {
		node = nc.part
	}
	if node == nil {
		return -1
	}
	child := node.Child(ast.String(name))
	if child == nil || len(child.Values) == 0 || len(child.Children) > 0 {
		return -1
	}
	want := nc.pkg.Append(ast.StringTerm(kind)).Append(ast.StringTerm(name))
	r := nRule{uniform: true}
	keys := map[string]bool{}
	for i, rule := range child.Values {
		// OPA keeps the key of holds["x"] := v in Head.Key too.
		if rule.Default || rule.Else != nil || len(rule.Head.Args) > 0 ||
			(rule.Head.Key != nil && !rule.Head.Key.Equal(want[len(want)-1])) ||
			rule.Head.Value == nil || !rule.Ref().Equal(want) {
			return -1
		}
		v, ok := rule.Head.Value.Value.(ast.Boolean)
		if !ok {
			return -1
		}
		b, ok := nc.body(rule.Body, keys)
		if !ok {
			return -1
		}
		b.value = bool(v)
		if i > 0 && b.value != r.bodies[0].value {
			r.uniform = false
		}
		r.bodies = append(r.bodies, b)
	}
	for k := range keys {
		r.keys = append(r.keys, k)
	}
	sort.Strings(r.keys)
	nc.prog.rules = append(nc.prog.rules, r)
	return int32(len(nc.prog.rules) - 1)
}

// slotVar is a body's variable: its slot and whether it holds lib.roles.
type slotVar struct {
	slot  int16
	roles bool
}

// body compiles one rule body; keys collects the target keys it reads.
func (nc *nativeCompiler) body(body ast.Body, keys map[string]bool) (nBody, bool) {
	vars := map[ast.Var]slotVar{}
	var b nBody
	for _, e := range body {
		op, ok := nc.expr(e, vars, keys)
		if !ok {
			return nBody{}, false
		}
		b.ops = append(b.ops, op)
	}
	b.slots = len(vars)
	return b, true
}

// arg compiles a term read by an expression: a bound variable or a
// string constant.
func arg(t *ast.Term, vars map[ast.Var]slotVar) (nArg, bool) {
	switch v := t.Value.(type) {
	case ast.Var:
		if sv, ok := vars[v]; ok && !sv.roles {
			return nArg{slot: sv.slot}, true
		}
	case ast.String:
		return nArg{slot: -1, c: nval{k: nStr, s: string(v), t: t}}, true
	}
	return nArg{}, false
}

// fresh binds a new variable to the next slot; false when t is not an
// unbound variable.
func fresh(t *ast.Term, vars map[ast.Var]slotVar, roles bool) (int16, bool) {
	v, ok := t.Value.(ast.Var)
	if !ok || v.IsWildcard() {
		return 0, false
	}
	if _, bound := vars[v]; bound {
		return 0, false
	}
	s := int16(len(vars))
	vars[v] = slotVar{slot: s, roles: roles}
	return s, true
}

// isRoles reports whether t is lib.roles, or a variable bound to it.
func isRoles(t *ast.Term, vars map[ast.Var]slotVar) bool {
	switch v := t.Value.(type) {
	case ast.Var:
		return vars[v].roles
	case ast.Ref:
		return v.Equal(libRoles)
	}
	return false
}

// expr compiles one expression of the shapes translate/holds.go writes,
// as OPA's compiler rewrites them.
func (nc *nativeCompiler) expr(e *ast.Expr, vars map[ast.Var]slotVar, keys map[string]bool) (nOp, bool) {
	if len(e.With) > 0 {
		return nOp{}, false
	}
	switch t := e.Terms.(type) {
	case *ast.Term:
		switch v := t.Value.(type) {
		case ast.Boolean:
			return nOp{code: opConst, neg: e.Negated, val: nval{k: nBool, b: bool(v)}}, true
		case ast.Ref:
			kind, name, ok := nc.ruleRef(v)
			if !ok {
				return nOp{}, false
			}
			id := nc.rule(kind, name)
			if id < 0 {
				return nOp{}, false
			}
			for _, k := range nc.prog.rules[id].keys {
				keys[k] = true
			}
			return nOp{code: opRule, neg: e.Negated, rule: id}, true
		}
		return nOp{}, false
	case []*ast.Term:
		op, ok := t[0].Value.(ast.Ref)
		if !ok {
			return nOp{}, false
		}
		args := t[1:]
		switch name := op.String(); name {
		case "eq", "assign":
			// OPA rewrites == to unification (eq): a binding when the
			// left side is a new variable, a comparison otherwise.
			if len(args) != 2 {
				return nOp{}, false
			}
			if !e.Negated && isRoles(args[1], vars) {
				if _, isRef := args[1].Value.(ast.Ref); !isRef {
					return nOp{}, false
				}
				out, ok := fresh(args[0], vars, true)
				return nOp{code: opRoles, out: out}, ok
			}
			if a, ok := arg(args[1], vars); ok && !e.Negated {
				if out, ok := fresh(args[0], vars, false); ok {
					return nOp{code: opCopy, out: out, args: [2]nArg{a}}, true
				}
			}
			return nc.equal(e, args, vars)
		case "equal":
			return nc.equal(e, args, vars)
		case "is_string":
			if len(args) != 1 {
				return nOp{}, false
			}
			a, ok := arg(args[0], vars)
			return nOp{code: opIsString, neg: e.Negated, args: [2]nArg{a}}, ok
		case "internal.member_2":
			if len(args) != 2 || !isRoles(args[1], vars) {
				return nOp{}, false
			}
			a, ok := arg(args[0], vars)
			return nOp{code: opMember, neg: e.Negated, args: [2]nArg{a}}, ok
		case libCredsEq:
			if len(args) != 2 {
				return nOp{}, false
			}
			k, ok1 := arg(args[0], vars)
			m, ok2 := arg(args[1], vars)
			return nOp{code: opCredsEq, neg: e.Negated, args: [2]nArg{k, m}}, ok1 && ok2
		case libCredsPath:
			if len(args) != 2 {
				return nOp{}, false
			}
			path, ok1 := constPath(args[0])
			m, ok2 := arg(args[1], vars)
			return nOp{code: opCredsPath, neg: e.Negated, path: path, args: [2]nArg{{}, m}}, ok1 && ok2
		case libValue, libText, libPyLower:
			if e.Negated || len(args) != 2 {
				return nOp{}, false
			}
			a, ok := arg(args[0], vars)
			if !ok {
				return nOp{}, false
			}
			code := opPyLower
			switch name {
			case libValue:
				code = opValue
			case libText:
				code = opText
			}
			if code == opValue {
				// The key must be known to check it against the footprint.
				if a.slot >= 0 {
					return nOp{}, false
				}
				keys[a.c.s] = true
			}
			out, ok := fresh(args[1], vars, false)
			return nOp{code: code, out: out, args: [2]nArg{a}}, ok
		case libFormat:
			if e.Negated || len(args) != 3 {
				return nOp{}, false
			}
			segs, ok := formatSegs(args[0].Value, keys)
			if _, isBool := args[1].Value.(ast.Boolean); !ok || !isBool {
				return nOp{}, false
			}
			out, ok := fresh(args[2], vars, false)
			return nOp{code: opFormat, out: out, segs: segs}, ok
		}
	}
	return nOp{}, false
}

// constPath reads a constant array of at least two strings.
func constPath(t *ast.Term) ([]nval, bool) {
	arr, ok := t.Value.(*ast.Array)
	if !ok || arr.Len() < 2 {
		return nil, false
	}
	path := make([]nval, arr.Len())
	for i := range arr.Len() {
		s, ok := arr.Elem(i).Value.(ast.String)
		if !ok {
			return nil, false
		}
		path[i] = nval{k: nStr, s: string(s), t: ast.StringTerm(string(s))}
	}
	return path, true
}

// equal compiles a == b of two bound values.
func (nc *nativeCompiler) equal(e *ast.Expr, args []*ast.Term, vars map[ast.Var]slotVar) (nOp, bool) {
	if len(args) != 2 {
		return nOp{}, false
	}
	a, ok1 := arg(args[0], vars)
	c, ok2 := arg(args[1], vars)
	return nOp{code: opEqual, neg: e.Negated, args: [2]nArg{a, c}}, ok1 && ok2
}

// ruleRef splits data.PKG.holds[NAME] or data.PKG.part[NAME].
func (nc *nativeCompiler) ruleRef(r ast.Ref) (kind, name string, ok bool) {
	if len(r) != len(nc.pkg)+2 || !r[:len(nc.pkg)].Equal(nc.pkg) {
		return "", "", false
	}
	k, ok1 := r[len(nc.pkg)].Value.(ast.String)
	n, ok2 := r[len(nc.pkg)+1].Value.(ast.String)
	if !ok1 || !ok2 || (k != "holds" && k != "part") {
		return "", "", false
	}
	return string(k), string(n), true
}

// formatSegs reads lib.format's constant segments: literals, and keys
// converted with %s, %r or %a without an error. Anything else (the whole
// target, other conversions) stays with OPA.
func formatSegs(v ast.Value, keys map[string]bool) ([]fmtSeg, bool) {
	arr, ok := v.(*ast.Array)
	if !ok {
		return nil, false
	}
	segs := make([]fmtSeg, 0, arr.Len())
	for i := range arr.Len() {
		obj, ok := arr.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, false
		}
		str := func(k string) (string, bool) {
			s, ok := valueOf(obj, ast.StringTerm(k)).(ast.String)
			return string(s), ok
		}
		num := func(k string) (int, bool) {
			n, ok := valueOf(obj, ast.StringTerm(k)).(ast.Number)
			if !ok {
				return 0, false
			}
			x, ok := n.Int()
			return x, ok && x >= -1 && x < 1<<16
		}
		t, _ := str("t")
		switch t {
		case "lit":
			lit, ok := str("lit")
			if !ok || obj.Len() != 2 {
				return nil, false
			}
			segs = append(segs, fmtSeg{lit: true, text: lit})
		case "key":
			key, ok1 := str("key")
			conv, ok2 := str("conv")
			flags, ok3 := str("flags")
			width, ok4 := num("width")
			prec, ok5 := num("prec")
			e, ok6 := str("err")
			if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || obj.Len() != 7 || e != "" ||
				(conv != "s" && conv != "r" && conv != "a") {
				return nil, false
			}
			left := false
			for _, f := range flags {
				left = left || f == '-'
			}
			keys[key] = true
			segs = append(segs, fmtSeg{key: nval{k: nStr, s: key, t: ast.StringTerm(key)}, conv: conv[0], left: left, width: width, prec: prec})
		default:
			return nil, false
		}
	}
	return segs, true
}

// NativeCoverage says which safe rules the engine decides natively.
func (e *Engine) NativeCoverage() NativeCoverage { return e.nativeCov }

// WithoutNative returns the engine deciding without the native path: the
// same compiled modules, queries and data (no second compile). Tests
// compare the two.
func (e *Engine) WithoutNative() *Engine {
	x := *e
	x.native = nil
	x.nativeCov = NativeCoverage{Safe: e.nativeCov.Safe, Disabled: "turned off"}
	return &x
}

// DecideNative decides in by the native path alone; ok is false when the
// native path does not decide it (the input is not plainly sane, the rule
// is not compiled, or a value sends it to OPA). For tests and benchmarks.
func (e *Engine) DecideNative(in ast.Value) (d Decision, ok bool) {
	name, target, creds, sane := saneParts(in)
	if e.native == nil || !sane {
		return Decision{}, false
	}
	id, ok := e.native.byName[name]
	if !ok {
		return Decision{}, false
	}
	d.Rule = name
	if d.Allowed, ok = e.native.decide(id, target, creds); !ok {
		return Decision{}, false
	}
	return e.finish(d), true
}
