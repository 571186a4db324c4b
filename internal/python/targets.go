// Ported from CPython 3.11.2 Parser/parser.c (generated from Grammar/python.gram) (PSF License); see NOTICE.

package python

// Call arguments and the assignment targets of comprehensions.

func (p *parser) arguments() *node {
	return p.memoRule(ruleArguments, func() *node {
		a := p.args()
		if a == nil || !p.optComma() || !p.lookOp(")") {
			return nil
		}
		return a
	})
}

// args: ','.(starred_expression | (assignment_expression | expression
// !':=') !'=')+ [',' kwargs] | kwargs
func (p *parser) args() *node {
	return p.rule(func() *node {
		m := p.mark
		a, ok := p.gather(func() *node {
			return p.tmp(func() *node {
				m := p.mark
				if n := p.starredExpression(); n != nil {
					return n
				}
				p.mark = m
				if n := p.tmp(p.firstOf(p.assignmentExpression, p.expressionNotWalrus)); n != nil && !p.lookOp("=") {
					return n
				}
				return nil
			})
		})
		if ok {
			b := p.tmp(func() *node {
				if !p.op(",") {
					return nil
				}
				return p.kwargs()
			})
			if p.err == nil {
				if b != nil {
					a = append(a, b.kids...)
				}
				return seq(a)
			}
		}
		p.mark = m
		return p.kwargs()
	})
}

// kwargs: ','.kwarg_or_starred+ ',' ','.kwarg_or_double_starred+
//
//	| ','.kwarg_or_starred+ | ','.kwarg_or_double_starred+
func (p *parser) kwargs() *node {
	return p.rule(func() *node {
		m := p.mark
		if a, ok := p.gather(p.kwargOrStarred); ok && p.op(",") {
			if b, ok := p.gather(p.kwargOrDoubleStarred); ok {
				return seq(append(a, b...))
			}
		}
		p.mark = m
		if a, ok := p.gather(p.kwargOrStarred); ok {
			return seq(a)
		}
		p.mark = m
		if a, ok := p.gather(p.kwargOrDoubleStarred); ok {
			return seq(a)
		}
		return nil
	})
}

func (p *parser) starredExpression() *node {
	return p.rule(func() *node {
		if !p.op("*") {
			return nil
		}
		if a := p.expression(); a != nil {
			return newNode(nOther, a) // Starred
		}
		return nil
	})
}

func (p *parser) kwarg(starOp string) *node {
	return p.rule(func() *node {
		m := p.mark
		if p.name() != nil && p.op("=") {
			if b := p.expression(); b != nil {
				return newNode(nOther, b) // keyword
			}
		}
		p.mark = m
		if starOp == "*" {
			return p.starredExpression()
		}
		if p.op("**") {
			if a := p.expression(); a != nil {
				return newNode(nOther, a) // keyword(arg=None)
			}
		}
		return nil
	})
}

func (p *parser) kwargOrStarred() *node       { return p.kwarg("*") }
func (p *parser) kwargOrDoubleStarred() *node { return p.kwarg("**") }

// --- comprehension targets ---

// starTargets: star_target !',' | star_target (',' star_target)* [',']
func (p *parser) starTargets() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.starTarget(); a != nil && !p.lookOp(",") {
			return a
		}
		p.mark = m
		if a := p.starTarget(); a != nil {
			if b, ok := p.loop(0, p.commaTmp(p.starTarget)); ok && p.optComma() {
				return newNode(nTuple, append([]*node{a}, b...)...)
			}
		}
		return nil
	})
}

func (p *parser) starTarget() *node {
	return p.memoRule(ruleStarTarget, func() *node {
		m := p.mark
		if p.op("*") {
			if a := p.tmp(func() *node {
				if p.lookOp("*") {
					return nil
				}
				return p.starTarget()
			}); a != nil {
				return newNode(nOther, a)
			}
		}
		p.mark = m
		return p.targetWithStarAtom()
	})
}

func (p *parser) targetWithStarAtom() *node {
	return p.memoRule(ruleTargetWithStarAtom, func() *node {
		m := p.mark
		if a := p.tPrimary(); a != nil && p.op(".") && p.name() != nil && !p.lookaheadRule(p.tLookahead) {
			return newNode(nOther, a)
		}
		p.mark = m
		if a := p.tPrimary(); a != nil && p.op("[") {
			if b := p.slices(); b != nil && p.op("]") && !p.lookaheadRule(p.tLookahead) {
				return newNode(nOther, a, b)
			}
		}
		p.mark = m
		return p.starAtom()
	})
}

func (p *parser) starAtom() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.name(); a != nil {
			return a
		}
		if p.op("(") {
			if a := p.targetWithStarAtom(); a != nil && p.op(")") {
				return a
			}
		}
		p.mark = m
		if p.op("(") {
			a := p.starTargetsTupleSeq()
			if p.err == nil && p.op(")") {
				return newNode(nTuple, kidsOf(a)...)
			}
		}
		p.mark = m
		if p.op("[") {
			a := p.starTargetsListSeq()
			if p.err == nil && p.op("]") {
				return newNode(nList, kidsOf(a)...)
			}
		}
		return nil
	})
}

func kidsOf(n *node) []*node {
	if n == nil {
		return nil
	}
	return n.kids
}

// starTargetsListSeq: ','.star_target+ [',']
func (p *parser) starTargetsListSeq() *node {
	return p.rule(func() *node {
		a, ok := p.gather(p.starTarget)
		if !ok || !p.optComma() {
			return nil
		}
		return seq(a)
	})
}

// starTargetsTupleSeq: star_target (',' star_target)+ [','] | star_target ','
func (p *parser) starTargetsTupleSeq() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.starTarget(); a != nil {
			if b, ok := p.loop(1, p.commaTmp(p.starTarget)); ok && p.optComma() {
				return seq(append([]*node{a}, b...))
			}
		}
		p.mark = m
		if a := p.starTarget(); a != nil && p.op(",") {
			return seq([]*node{a})
		}
		return nil
	})
}

// tPrimary is the left-recursive t_primary: a primary that must be
// followed by '(', '[' or '.'.
func (p *parser) tPrimary() *node {
	return p.leftRec(ruleTPrimary, func() *node {
		m := p.mark
		if a := p.tPrimary(); a != nil && p.op(".") && p.name() != nil && p.lookaheadRule(p.tLookahead) {
			return newNode(nOther, a)
		}
		p.mark = m
		if a := p.tPrimary(); a != nil && p.op("[") {
			if b := p.slices(); b != nil && p.op("]") && p.lookaheadRule(p.tLookahead) {
				return newNode(nOther, a, b)
			}
		}
		p.mark = m
		if a := p.tPrimary(); a != nil {
			if b := p.genexp(); b != nil && p.lookaheadRule(p.tLookahead) {
				return &node{kind: nCall, nargs: 1, kids: []*node{a, b}}
			}
		}
		p.mark = m
		if a := p.tPrimary(); a != nil && p.op("(") {
			b := p.arguments()
			if p.err == nil && p.op(")") && p.lookaheadRule(p.tLookahead) {
				return call(a, b)
			}
		}
		p.mark = m
		if a := p.atom(); a != nil && p.lookaheadRule(p.tLookahead) {
			return a
		}
		return nil
	})
}

// tLookahead: '(' | '[' | '.'
func (p *parser) tLookahead() *node {
	return p.rule(func() *node {
		if p.op("(") || p.op("[") || p.op(".") {
			return seq(nil)
		}
		return nil
	})
}

// lookaheadRule is _PyPegen_lookahead(1, rule, p): the rule is called
// (costing its level) and the position restored.
func (p *parser) lookaheadRule(rule func() *node) bool {
	m := p.mark
	ok := rule() != nil
	p.mark = m
	return ok
}
