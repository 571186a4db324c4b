package oslo

import (
	"fmt"
	"strings"
)

// Raises reports whether oslo.policy raises whenever it evaluates rule name
// (or the default rule that an unknown name falls back to), whatever the
// target and credentials: a rule: cycle that evaluation always reaches, or
// a bare token it always evaluates. oslorego denies such a decision with
// an error, so an action that raises is never decidable. The analysis is
// conservative: it claims only what holds for every input, following
// oslo's short-circuit of and/or (an operand is always reached only after
// operands that are constant: @ for "and", ! for "or").
func (p *Policy) Raises(name string) (reason string, raises bool) {
	t, ok := p.Resolve(name)
	if !ok || p.byName[t].IsExternal() {
		return "", false
	}
	return p.raises(p.byName[t].Check, []string{t})
}

func (p *Policy) raises(c Check, stack []string) (string, bool) {
	switch n := c.(type) {
	case *BareToken:
		return fmt.Sprintf("rule %q evaluates the bare token %q, which raises", stack[len(stack)-1], n.Text), true
	case *NotCheck:
		return p.raises(n.Rule, stack)
	case *AndCheck:
		return p.raisesFirst(n.Rules, stack, func(c Check) bool { _, ok := c.(*TrueCheck); return ok })
	case *OrCheck:
		return p.raisesFirst(n.Rules, stack, func(c Check) bool { _, ok := c.(*FalseCheck); return ok })
	case *RuleCheck:
		t, ok := p.Resolve(n.Name)
		if !ok {
			return "", false // oslo: false
		}
		for i, s := range stack {
			if s == t {
				path := append(append([]string(nil), stack[i:]...), t)
				return "RecursionError: rule cycle " + strings.Join(path, " -> "), true
			}
		}
		if p.byName[t].IsExternal() {
			return "", false
		}
		return p.raises(p.byName[t].Check, append(append([]string(nil), stack...), t))
	}
	return "", false
}

// raisesFirst: the operands are evaluated in order, and the next is
// reached for every input only past operands for which passOn holds.
func (p *Policy) raisesFirst(ops []Check, stack []string, passOn func(Check) bool) (string, bool) {
	for _, op := range ops {
		if r, ok := p.raises(op, stack); ok {
			return r, true
		}
		if !passOn(op) {
			return "", false
		}
	}
	return "", false
}
