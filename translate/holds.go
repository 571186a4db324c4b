package translate

import (
	"fmt"
	"strings"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/translate/oslo"
)

// The "holds" form of a rule is plain boolean Rego: one body per way the
// rule can be true. It is exact only when nothing in the rule can raise,
// which holds for "sane" input (a target object, a credentials object, roles
// that are strings) and rules without checks that raise on their own (deep
// credentials paths, numeric conversions, remote checks, cycles, ...).
// result uses it for such decisions and the tri-state rules otherwise; it
// is several times cheaper to evaluate, and reads like hand-written Rego.

// holdsEmitter writes holds[NAME] rules and their helper parts.
type holdsEmitter struct {
	p     *oslo.Policy
	parts int
	rule  string
}

// constness is what a tri folds to (lint folds rules the same way, in
// package oslo).
type constness int

const (
	constUnknown constness = iota
	constTrue
	constFalse
)

// tri is a folded boolean: constant true, constant false, or an
// expression (constUnknown) whose body conjuncts are lits.
type tri struct {
	kind constness
	lits []string
}

func constant3(b bool) tri {
	if b {
		return tri{kind: constTrue}
	}
	return tri{kind: constFalse}
}

// safeRules finds the rules whose holds form is exact for sane input.
// With paths, a GenericCheck whose KIND is a dot path into the credentials
// does not make a rule unsafe: the rules found then (less the safe ones)
// are the guarded rules, whose holds form is exact for sane input on
// which every such walk indexes objects alone (see lib.creds_path).
func safeRules(p *oslo.Policy, cyclic map[string]bool, paths bool) map[string]bool {
	safe := map[string]bool{}
	state := map[string]int{} // 0 unknown, 1 visiting, 2 done
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case 1:
			return false
		case 2:
			return safe[name]
		}
		state[name] = 1
		ok := !cyclic[name]
		oslo.Walk(p.Rule(name).Check, func(c oslo.Check) {
			if !ok {
				return
			}
			switch n := c.(type) {
			case *oslo.BareToken, *oslo.RemoteCheck, *oslo.ExternalCheck:
				// An external rule may be undefined for some input; only
				// the exact form fails closed on that.
				ok = false
			case *oslo.RoleCheck:
				ok = safeFormat(n.Match)
			case *oslo.GenericCheck:
				lit := python.LiteralEval(n.Kind)
				switch {
				case lit.Err != "" || lit.Class == python.SyntaxError:
					ok = false
				case lit.Class == python.NotLiteral && strings.Contains(n.Kind, ".") &&
					(!paths || strings.Count(n.Kind, ".") >= maxPath):
					ok = false // a deeper path can walk into a string or null
				default:
					ok = safeFormat(n.Match)
				}
			case *oslo.RuleCheck:
				if t, found := p.Resolve(n.Name); found {
					ok = visit(t)
				}
			}
		})
		state[name] = 2
		safe[name] = ok
		return ok
	}
	for _, r := range p.Rules {
		visit(r.Name)
	}
	return safe
}

// safeFormat reports whether formatting MATCH with a target object can only
// succeed or miss a key.
func safeFormat(match string) bool {
	for _, s := range oslo.ParseFormat(match).Segs {
		if s.Err != "" || ((s.Keyed || s.Bare) && !strings.ContainsRune("sra", rune(s.Conv))) {
			return false
		}
	}
	return true
}

// holds emits the holds form of rule r into b.
func (h *holdsEmitter) emit(b *strings.Builder, r *oslo.Rule) {
	h.rule, h.parts = r.Name, 0
	head := "holds[" + quote(r.Name) + "]"
	h.define(b, head, r.Check)
}

// define writes head's bodies for check c: one per alternative of an or.
func (h *holdsEmitter) define(b *strings.Builder, head string, c oslo.Check) {
	var alts []oslo.Check
	if o, ok := c.(*oslo.OrCheck); ok {
		alts = o.Rules
	} else {
		alts = []oslo.Check{c}
	}
	wrote := false
	for _, a := range alts {
		t := h.body(b, a)
		switch {
		case t.kind == constTrue:
			fmt.Fprintf(b, "%s := true\n", head)
			return
		case t.kind == constFalse:
			continue
		}
		writeBody(b, head, t)
		wrote = true
	}
	if !wrote {
		fmt.Fprintf(b, "%s := false\n", head)
	}
}

// writeBody writes one body of head: the conjuncts of t (not a constant).
func writeBody(b *strings.Builder, head string, t tri) {
	if len(t.lits) == 1 {
		fmt.Fprintf(b, "%s if %s\n", head, t.lits[0])
	} else {
		fmt.Fprintf(b, "%s if {\n\t%s\n}\n", head, strings.Join(t.lits, "\n\t"))
	}
}

// body folds c into the conjuncts of one rule body.
func (h *holdsEmitter) body(b *strings.Builder, c oslo.Check) tri {
	switch n := c.(type) {
	case *oslo.TrueCheck:
		return constant3(true)
	case *oslo.FalseCheck:
		return constant3(false)
	case *oslo.AndCheck:
		var lits []string
		for _, k := range n.Rules {
			t := h.body(b, k)
			switch t.kind {
			case constFalse:
				return t
			case constTrue:
				continue
			}
			lits = append(lits, t.lits...)
		}
		if len(lits) == 0 {
			return constant3(true)
		}
		return tri{lits: lits}
	case *oslo.OrCheck:
		return tri{lits: []string{h.part(b, c)}}
	case *oslo.NotCheck:
		t := h.body(b, n.Rule)
		if t.kind != constUnknown {
			return constant3(t.kind == constFalse)
		}
		if len(t.lits) == 1 && !strings.HasPrefix(t.lits[0], "not ") && !strings.Contains(t.lits[0], ":=") {
			return tri{lits: []string{"not " + t.lits[0]}}
		}
		// The operand's one body is t (an or folds to one reference):
		// name it rather than fold the operand again, which doubled the
		// work, and the Rego, with every not of a stack.
		return tri{lits: []string{"not " + h.named(b, t)}}
	case *oslo.RuleCheck:
		t, ok := h.p.Resolve(n.Name)
		if !ok {
			return constant3(false)
		}
		return tri{lits: []string{"holds[" + quote(t) + "]"}}
	case *oslo.RoleCheck:
		f := oslo.ParseFormat(n.Match)
		if s, ok := f.Const(); ok {
			return tri{lits: []string{quote(python.Lower(s)) + " in lib.roles"}}
		}
		m := h.matchVar()
		return tri{lits: []string{m + " := " + saneFormatExpr(f), "is_string(" + m + ")", "lib.py_lower(" + m + ") in lib.roles"}}
	case *oslo.GenericCheck:
		f := oslo.ParseFormat(n.Match)
		lit := python.LiteralEval(n.Kind)
		if lit.Class == python.Literal {
			if s, ok := f.Const(); ok {
				return constant3(s == lit.Str)
			}
			return tri{lits: []string{formatExpr(f) + " == " + quote(lit.Str)}}
		}
		if lit.Class == python.NotLiteral && strings.Contains(n.Kind, ".") {
			// A guarded rule's dot path (safeRules).
			segs := strings.Split(n.Kind, ".")
			for i, seg := range segs {
				segs[i] = quote(seg)
			}
			return tri{lits: []string{"lib.creds_path([" + strings.Join(segs, ", ") + "], " + saneFormatExpr(f) + ")"}}
		}
		return tri{lits: []string{"lib.creds_eq(" + quote(n.Kind) + ", " + saneFormatExpr(f) + ")"}}
	}
	panic(fmt.Sprintf("translate: no holds form for %T", c))
}

// saneFormatExpr is formatExpr for a target object: plain text needs no
// formatting then.
func saneFormatExpr(f oslo.Format) string {
	if s, ok := f.Const(); ok {
		return quote(s)
	}
	return formatExpr(f)
}

// part defines a helper rule for a sub-expression that needs its own
// bodies (an or, or the operand of a not) and returns a reference to it.
func (h *holdsEmitter) part(b *strings.Builder, c oslo.Check) string {
	head := h.partHead()
	var sub strings.Builder
	h.define(&sub, head, c)
	b.WriteString(sub.String())
	return head
}

// named defines a helper rule whose one body is t and returns a reference
// to it.
func (h *holdsEmitter) named(b *strings.Builder, t tri) string {
	head := h.partHead()
	writeBody(b, head, t)
	return head
}

// partHead names a new helper rule of the current rule.
func (h *holdsEmitter) partHead() string {
	h.parts++
	return "part[" + quote(fmt.Sprintf("%s/%d", h.rule, h.parts)) + "]"
}

// matchVar names a local variable for a formatted match.
func (h *holdsEmitter) matchVar() string {
	h.parts++
	return fmt.Sprintf("m%d", h.parts)
}
