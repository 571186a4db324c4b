// Ported from CPython 3.11.2 Parser/parser.c (generated from Grammar/python.gram) (PSF License); see NOTICE.

package python

// Expression rules of Grammar/python.gram (3.11), operators down to primary.

func (p *parser) expressions() *node {
	return p.rule(func() *node {
		m := p.mark
		// expression (',' expression)+ [',']
		if a := p.expression(); a != nil {
			if b, ok := p.loop(1, p.commaTmp(p.expression)); ok && p.optComma() {
				return newNode(nTuple, append([]*node{a}, b...)...)
			}
		}
		p.mark = m
		// expression ','
		if a := p.expression(); a != nil && p.op(",") {
			return newNode(nTuple, a)
		}
		p.mark = m
		return p.expression()
	})
}

func (p *parser) expression() *node {
	return p.memoRule(ruleExpression, func() *node {
		m := p.mark
		// disjunction 'if' disjunction 'else' expression
		if a := p.disjunction(); a != nil && p.kw("if") {
			if b := p.disjunction(); b != nil && p.kw("else") {
				if c := p.expression(); c != nil {
					return newNode(nOther, b, a, c)
				}
			}
		}
		p.mark = m
		if a := p.disjunction(); a != nil {
			return a
		}
		p.mark = m
		return p.lambdef()
	})
}

// lambdef needs ':' after its parameters, which a KIND cannot contain.
func (p *parser) lambdef() *node {
	return p.rule(func() *node {
		return nil
	})
}

func (p *parser) yieldExpr() *node {
	return p.rule(func() *node {
		m := p.mark
		if p.kw("yield") && p.kw("from") {
			if a := p.expression(); a != nil {
				return newNode(nOther, a)
			}
		}
		p.mark = m
		if p.kw("yield") {
			a := p.starExpressions()
			if p.err == nil {
				if a == nil {
					return newNode(nOther)
				}
				return newNode(nOther, a)
			}
		}
		return nil
	})
}

func (p *parser) starExpressions() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.starExpression(); a != nil {
			if b, ok := p.loop(1, p.commaTmp(p.starExpression)); ok && p.optComma() {
				return newNode(nTuple, append([]*node{a}, b...)...)
			}
		}
		p.mark = m
		if a := p.starExpression(); a != nil && p.op(",") {
			return newNode(nTuple, a)
		}
		p.mark = m
		return p.starExpression()
	})
}

func (p *parser) starExpression() *node {
	return p.memoRule(ruleStarExpression, func() *node {
		m := p.mark
		if p.op("*") {
			if a := p.bitwiseOr(); a != nil {
				return newNode(nOther, a) // Starred
			}
		}
		p.mark = m
		return p.expression()
	})
}

// starNamedExpressions: ','.star_named_expression+ [',']
func (p *parser) starNamedExpressions() *node {
	return p.rule(func() *node {
		a, ok := p.gather(p.starNamedExpression)
		if !ok || !p.optComma() {
			return nil
		}
		return seq(a)
	})
}

func (p *parser) starNamedExpression() *node {
	return p.rule(func() *node {
		m := p.mark
		if p.op("*") {
			if a := p.bitwiseOr(); a != nil {
				return newNode(nOther, a) // Starred
			}
		}
		p.mark = m
		return p.namedExpression()
	})
}

// assignmentExpression: NAME ':=' ~ expression (never matches: no ':').
func (p *parser) assignmentExpression() *node {
	return p.rule(func() *node {
		if p.name() != nil && p.op(":=") {
			if b := p.expression(); b != nil {
				return newNode(nOther, b)
			}
		}
		return nil
	})
}

func (p *parser) namedExpression() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.assignmentExpression(); a != nil {
			return a
		}
		p.mark = m
		if a := p.expression(); a != nil && !p.lookOp(":=") {
			return a
		}
		return nil
	})
}

func (p *parser) disjunction() *node {
	return p.memoRule(ruleDisjunction, func() *node {
		return p.boolChain("or", p.conjunction)
	})
}

func (p *parser) conjunction() *node {
	return p.memoRule(ruleConjunction, func() *node {
		return p.boolChain("and", p.inversion)
	})
}

// boolChain: a=operand b=(kw c=operand { c })+ | operand
func (p *parser) boolChain(kw string, operand func() *node) *node {
	m := p.mark
	if a := operand(); a != nil {
		if b, ok := p.loop(1, func() *node {
			return p.tmp(func() *node {
				if !p.kw(kw) {
					return nil
				}
				return operand()
			})
		}); ok {
			return newNode(nOther, append([]*node{a}, b...)...) // BoolOp
		}
	}
	p.mark = m
	return operand()
}

func (p *parser) inversion() *node {
	return p.memoRule(ruleInversion, func() *node {
		m := p.mark
		if p.kw("not") {
			if a := p.inversion(); a != nil {
				return &node{kind: nUnaryOp, op: "not", kids: []*node{a}}
			}
		}
		p.mark = m
		return p.comparison()
	})
}

func (p *parser) comparison() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.bitwiseOr(); a != nil {
			if b, ok := p.loop(1, p.compareOpPair); ok {
				return newNode(nOther, append([]*node{a}, b...)...) // Compare
			}
		}
		p.mark = m
		return p.bitwiseOr()
	})
}

// compareOpPair: compare_op_bitwise_or_pair and its ten alternatives, each
// a rule of its own in the generated parser.
func (p *parser) compareOpPair() *node {
	return p.rule(func() *node {
		alts := []func() *node{
			p.cmpRule("=="), p.noteqBitwiseOr, p.cmpRule("<="), p.cmpRule("<"),
			p.cmpRule(">="), p.cmpRule(">"), p.cmpKwRule("not", "in"),
			p.cmpKwRule("in", ""), p.cmpKwRule("is", "not"), p.cmpKwRule("is", ""),
		}
		m := p.mark
		for _, alt := range alts {
			if n := alt(); n != nil {
				return n
			}
			p.mark = m
		}
		return nil
	})
}

func (p *parser) cmpRule(op string) func() *node {
	return func() *node {
		return p.rule(func() *node {
			if !p.op(op) {
				return nil
			}
			return p.bitwiseOr()
		})
	}
}

// noteqBitwiseOr: (tok='!=' { barry_as_FLUFL check }) bitwise_or. The
// tokenizer also produces "<>" as NOTEQUAL; the check rejects it.
func (p *parser) noteqBitwiseOr() *node {
	return p.rule(func() *node {
		if p.tmp(func() *node {
			if !p.op("!=") {
				return nil
			}
			return seq(nil)
		}) == nil {
			return nil
		}
		return p.bitwiseOr()
	})
}

func (p *parser) cmpKwRule(kw1, kw2 string) func() *node {
	return func() *node {
		return p.rule(func() *node {
			if !p.kw(kw1) || (kw2 != "" && !p.kw(kw2)) {
				return nil
			}
			return p.bitwiseOr()
		})
	}
}

// binaryLeftRec builds a left-recursive binary rule: self op next | next.
func (p *parser) binaryLeftRec(rule ruleID, self, next func() *node, ops ...string) *node {
	return p.leftRec(rule, func() *node {
		m := p.mark
		for _, op := range ops {
			if a := self(); a != nil && p.op(op) {
				if b := next(); b != nil {
					return &node{kind: nBinOp, op: op, kids: []*node{a, b}}
				}
			}
			p.mark = m
		}
		return next()
	})
}

func (p *parser) bitwiseOr() *node {
	return p.binaryLeftRec(ruleBitwiseOr, p.bitwiseOr, p.bitwiseXor, "|")
}

func (p *parser) bitwiseXor() *node {
	return p.binaryLeftRec(ruleBitwiseXor, p.bitwiseXor, p.bitwiseAnd, "^")
}

func (p *parser) bitwiseAnd() *node {
	return p.binaryLeftRec(ruleBitwiseAnd, p.bitwiseAnd, p.shiftExpr, "&")
}

func (p *parser) shiftExpr() *node {
	return p.binaryLeftRec(ruleShiftExpr, p.shiftExpr, p.sum, "<<", ">>")
}

func (p *parser) sum() *node {
	return p.binaryLeftRec(ruleSum, p.sum, p.term, "+", "-")
}

func (p *parser) term() *node {
	return p.binaryLeftRec(ruleTerm, p.term, p.factor, "*", "/", "//", "%", "@")
}

func (p *parser) factor() *node {
	return p.memoRule(ruleFactor, func() *node {
		m := p.mark
		for _, op := range []string{"+", "-", "~"} {
			if p.op(op) {
				if a := p.factor(); a != nil {
					return &node{kind: nUnaryOp, op: op, kids: []*node{a}}
				}
			}
			p.mark = m
		}
		return p.power()
	})
}

func (p *parser) power() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.awaitPrimary(); a != nil && p.op("**") {
			if b := p.factor(); b != nil {
				return &node{kind: nBinOp, op: "**", kids: []*node{a, b}}
			}
		}
		p.mark = m
		return p.awaitPrimary()
	})
}

func (p *parser) awaitPrimary() *node {
	return p.memoRule(ruleAwaitPrimary, func() *node {
		m := p.mark
		if p.kw("await") {
			if a := p.primary(); a != nil {
				return newNode(nOther, a)
			}
		}
		p.mark = m
		return p.primary()
	})
}

func (p *parser) primary() *node {
	return p.leftRec(rulePrimary, func() *node {
		m := p.mark
		// primary '.' NAME
		if a := p.primary(); a != nil && p.op(".") && p.name() != nil {
			return newNode(nOther, a) // Attribute
		}
		p.mark = m
		// primary genexp
		if a := p.primary(); a != nil {
			if b := p.genexp(); b != nil {
				return &node{kind: nCall, nargs: 1, kids: []*node{a, b}}
			}
		}
		p.mark = m
		// primary '(' [arguments] ')'
		if a := p.primary(); a != nil && p.op("(") {
			b := p.arguments()
			if p.err == nil && p.op(")") {
				return call(a, b)
			}
		}
		p.mark = m
		// primary '[' slices ']'
		if a := p.primary(); a != nil && p.op("[") {
			if b := p.slices(); b != nil && p.op("]") {
				return newNode(nOther, a, b) // Subscript
			}
		}
		p.mark = m
		return p.atom()
	})
}

func call(fn, args *node) *node {
	n := &node{kind: nCall, kids: []*node{fn}}
	if args != nil {
		n.kids = append(n.kids, args.kids...)
		n.nargs = len(args.kids)
	}
	return n
}

// slices: slice !',' | ','.(slice | starred_expression)+ [',']
func (p *parser) slices() *node {
	return p.rule(func() *node {
		m := p.mark
		if a := p.slice(); a != nil && !p.lookOp(",") {
			return a
		}
		p.mark = m
		a, ok := p.gather(func() *node {
			return p.tmp(func() *node {
				m := p.mark
				if n := p.slice(); n != nil {
					return n
				}
				p.mark = m
				return p.starredExpression()
			})
		})
		if !ok || !p.optComma() {
			return nil
		}
		return newNode(nTuple, a...)
	})
}

// slice: [expression] ':' ... | named_expression (the first alternative
// always fails at the ':' but still parses the optional expression).
func (p *parser) slice() *node {
	return p.rule(func() *node {
		m := p.mark
		p.expression()
		if p.err == nil && p.op(":") {
			return nil
		}
		p.mark = m
		return p.namedExpression()
	})
}
