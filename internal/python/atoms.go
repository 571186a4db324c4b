// Ported from CPython 3.11.2 Parser/parser.c (generated from Grammar/python.gram) (PSF License); see NOTICE.

package python

// Atoms and displays: names, literals, tuples, lists, sets, dicts and
// comprehensions.

func (p *parser) atom() *node {
	return p.rule(func() *node {
		m := p.mark
		if n := p.name(); n != nil {
			return n
		}
		for _, c := range []struct {
			kw string
			v  value
		}{{"True", value{kind: vBool, t: true}}, {"False", value{kind: vBool}}, {"None", value{kind: vNone}}} {
			if p.kw(c.kw) {
				return constant(c.v)
			}
		}
		if t := p.peek(); t.kind == tokString {
			if n := p.strings(); n != nil {
				return n
			}
			p.mark = m
		}
		if n := p.number(); n != nil {
			return n
		}
		alts := []struct {
			open string
			alts []func() *node
		}{
			{"(", []func() *node{p.tuple, p.group, p.genexp}},
			{"[", []func() *node{p.list, p.listcomp}},
			{"{", []func() *node{p.dict, p.set, p.dictcomp, p.setcomp}},
		}
		for _, a := range alts {
			if !p.lookOp(a.open) {
				continue
			}
			if n := p.tmp(p.firstOf(a.alts...)); n != nil {
				return n
			}
			p.mark = m
		}
		if p.op("...") {
			return constant(value{kind: vEllipsis})
		}
		return nil
	})
}

// firstOf tries alternatives in order (the body of a _tmp_N group).
func (p *parser) firstOf(alts ...func() *node) func() *node {
	return func() *node {
		m := p.mark
		for _, alt := range alts {
			if n := alt(); n != nil {
				return n
			}
			p.mark = m
		}
		return nil
	}
}

func (p *parser) number() *node {
	t := p.expect(tokNumber)
	if t == nil {
		return nil
	}
	v, err := parseNumber(t.text)
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		return nil
	}
	return constant(v)
}

// strings: STRING+ (memo), whose action concatenates and decodes.
func (p *parser) strings() *node {
	return p.memoRule(ruleStrings, func() *node {
		var toks []token
		if _, ok := p.loop(1, func() *node {
			t := p.expect(tokString)
			if t == nil {
				return nil
			}
			toks = append(toks, *t)
			return seq(nil)
		}); !ok {
			return nil
		}
		n, err := p.concatStrings(toks)
		if err != nil {
			if p.err == nil {
				p.err = err
			}
			return nil
		}
		return n
	})
}

// group: '(' (yield_expr | named_expression) ')'
func (p *parser) group() *node {
	return p.rule(func() *node {
		if !p.op("(") {
			return nil
		}
		a := p.tmp(p.firstOf(p.yieldExpr, p.namedExpression))
		if a == nil || !p.op(")") {
			return nil
		}
		return a
	})
}

// tuple: '(' [star_named_expression ',' [star_named_expressions]] ')'
func (p *parser) tuple() *node {
	return p.rule(func() *node {
		if !p.op("(") {
			return nil
		}
		a := p.tmp(func() *node {
			y := p.starNamedExpression()
			if y == nil || !p.op(",") {
				return nil
			}
			z := p.starNamedExpressions()
			if p.err != nil {
				return nil
			}
			kids := []*node{y}
			if z != nil {
				kids = append(kids, z.kids...)
			}
			return seq(kids)
		})
		if p.err != nil || !p.op(")") {
			return nil
		}
		if a == nil {
			return newNode(nTuple)
		}
		return newNode(nTuple, a.kids...)
	})
}

// genexp: '(' (assignment_expression | expression !':=') for_if_clauses ')'
func (p *parser) genexp() *node {
	return p.rule(func() *node {
		if !p.op("(") {
			return nil
		}
		a := p.tmp(p.firstOf(p.assignmentExpression, p.expressionNotWalrus))
		if a == nil {
			return nil
		}
		b := p.forIfClauses()
		if b == nil || !p.op(")") {
			return nil
		}
		return newNode(nOther, append([]*node{a}, b.kids...)...) // GeneratorExp
	})
}

func (p *parser) expressionNotWalrus() *node {
	if a := p.expression(); a != nil && !p.lookOp(":=") {
		return a
	}
	return nil
}

// list: '[' [star_named_expressions] ']'
func (p *parser) list() *node {
	return p.rule(func() *node {
		if !p.op("[") {
			return nil
		}
		a := p.starNamedExpressions()
		if p.err != nil || !p.op("]") {
			return nil
		}
		if a == nil {
			return newNode(nList)
		}
		return newNode(nList, a.kids...)
	})
}

// listcomp and setcomp: open named_expression for_if_clauses close
func (p *parser) listcomp() *node { return p.comprehension("[", "]") }
func (p *parser) setcomp() *node  { return p.comprehension("{", "}") }

func (p *parser) comprehension(open, close string) *node {
	return p.rule(func() *node {
		if !p.op(open) {
			return nil
		}
		a := p.namedExpression()
		if a == nil {
			return nil
		}
		b := p.forIfClauses()
		if b == nil || !p.op(close) {
			return nil
		}
		return newNode(nOther, append([]*node{a}, b.kids...)...)
	})
}

// set: '{' star_named_expressions '}'
func (p *parser) set() *node {
	return p.rule(func() *node {
		if !p.op("{") {
			return nil
		}
		a := p.starNamedExpressions()
		if a == nil || !p.op("}") {
			return nil
		}
		return newNode(nSet, a.kids...)
	})
}

// dict: '{' [double_starred_kvpairs] '}'. Without ':' only '**' entries
// are possible; their keys are None in the AST.
func (p *parser) dict() *node {
	return p.rule(func() *node {
		if !p.op("{") {
			return nil
		}
		a := p.rule(func() *node { // double_starred_kvpairs
			kv, ok := p.gather(p.doubleStarredKVPair)
			if !ok || !p.optComma() {
				return nil
			}
			return seq(kv)
		})
		if p.err != nil || !p.op("}") {
			return nil
		}
		if a == nil {
			return newNode(nDict)
		}
		return newNode(nDict, a.kids...)
	})
}

func (p *parser) doubleStarredKVPair() *node {
	return p.rule(func() *node {
		m := p.mark
		if p.op("**") {
			if a := p.bitwiseOr(); a != nil {
				return a
			}
		}
		p.mark = m
		p.kvpair()
		return nil
	})
}

// kvpair: expression ':' expression (fails at the ':').
func (p *parser) kvpair() *node {
	return p.rule(func() *node {
		if p.expression() != nil && p.op(":") {
			return nil
		}
		return nil
	})
}

// dictcomp: '{' kvpair for_if_clauses '}'
func (p *parser) dictcomp() *node {
	return p.rule(func() *node {
		if p.op("{") {
			p.kvpair()
		}
		return nil
	})
}

// forIfClauses: for_if_clause+
func (p *parser) forIfClauses() *node {
	return p.rule(func() *node {
		a, ok := p.loop(1, p.forIfClause)
		if !ok {
			return nil
		}
		return seq(a)
	})
}

// forIfClause: [ASYNC] 'for' star_targets 'in' ~ disjunction ('if' disjunction)*
func (p *parser) forIfClause() *node {
	return p.rule(func() *node {
		m := p.mark
		for _, async := range []bool{true, false} {
			if (!async || p.kw("async")) && p.kw("for") {
				if a := p.starTargets(); a != nil && p.kw("in") {
					b := p.disjunction()
					if b == nil {
						return nil // cut: no other alternative is tried
					}
					c, ok := p.loop(0, func() *node {
						return p.tmp(func() *node {
							if !p.kw("if") {
								return nil
							}
							return p.disjunction()
						})
					})
					if ok {
						return newNode(nOther, append([]*node{a, b}, c...)...) // comprehension
					}
				}
			}
			p.mark = m
		}
		return nil
	})
}
