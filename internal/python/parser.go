// Ported from CPython 3.11.2 Parser/parser.c (generated from Grammar/python.gram) and Parser/pegen.c (PSF License); see NOTICE.

package python

// parser.go, grammar.go, atoms.go and targets.go mirror the expression part
// of CPython 3.11's generated PEG parser (Parser/parser.c, from
// Grammar/python.gram); this file holds the machinery. Only the first pass
// is reproduced: the second pass (invalid_* rules) only improves error
// messages, it never turns a failure into a success.
//
// The structure follows the generated C code closely, down to the helper
// functions pegen creates for groups (_tmp_N), repetitions (_loop0_N,
// _loop1_N) and separated lists (_gather_N), because every generated
// function costs one level of the parser's C-stack guard: nesting deeper
// than maxStack levels makes CPython raise MemoryError.
//
// ':' never occurs in a policy KIND, so the rules that need it (dict
// displays with keys, slices, lambda, ':=', f-string format specs) stop
// where the ':' would be required; LiteralEval rejects ':' up front.

const maxStack = 6000 // MAXSTACK in Parser/parser.c

type ruleID uint8

const (
	ruleExpression ruleID = iota
	ruleStarExpression
	ruleDisjunction
	ruleConjunction
	ruleInversion
	ruleFactor
	ruleAwaitPrimary
	ruleStrings
	ruleArguments
	ruleStarTarget
	ruleTargetWithStarAtom
	ruleBitwiseOr
	ruleBitwiseXor
	ruleBitwiseAnd
	ruleShiftExpr
	ruleSum
	ruleTerm
	rulePrimary
	ruleTPrimary
	numRules
)

type memoEntry struct {
	n   *node
	end int
	ok  bool
}

type parser struct {
	tok    *tokenizer
	tokens []token
	mark   int
	level  int
	err    *pyError
	memo   []*[numRules]memoEntry // per token position, like Token.memo in pegen
	// approx is set when a \N{...} escape was accepted without being
	// resolved (the character name table did not load).
	approx bool
}

func newParser(src []byte, execInput bool) *parser {
	return &parser{tok: newTokenizer(src, execInput)}
}

// nSeq is an internal node kind that carries a list of nodes between rules.
const nSeq = nOther + 1

func seq(kids []*node) *node { return &node{kind: nSeq, kids: kids} }

// --- parser infrastructure ---

// enter is the "if (p->level++ == MAXSTACK)" guard at the top of every
// generated rule function. Each enter is paired with a deferred leave.
func (p *parser) enter() bool {
	p.level++
	if p.level > maxStack && p.err == nil {
		p.err = &pyError{typ: "MemoryError"}
	}
	return p.err == nil
}

func (p *parser) leave() { p.level-- }

// peek returns the token at p.mark, pulling it from the tokenizer if
// needed (_PyPegen_fill_token); a tokenizer error becomes the parse error.
func (p *parser) peek() *token {
	if p.mark == len(p.tokens) {
		t := p.tok.next()
		p.tokens = append(p.tokens, t)
		p.memo = append(p.memo, nil)
		if t.kind == tokError && p.err == nil {
			p.err = p.tok.err
		}
	}
	return &p.tokens[p.mark]
}

func (p *parser) expect(kind tokKind) *token {
	t := p.peek()
	if t.kind != kind {
		return nil
	}
	p.mark++
	return t
}

func (p *parser) op(s string) bool {
	t := p.peek()
	if t.kind == tokOp && t.text == s {
		p.mark++
		return true
	}
	return false
}

func (p *parser) kw(s string) bool {
	t := p.peek()
	if t.kind == tokName && t.text == s {
		p.mark++
		return true
	}
	return false
}

// lookOp is a token lookahead (&'x' / !'x'), which costs no level.
func (p *parser) lookOp(s string) bool {
	m := p.mark
	ok := p.op(s)
	p.mark = m
	return ok
}

// isKeyword lists Python 3.11's hard keywords; soft keywords (match, case,
// type, _) are plain names.
func isKeyword(s string) bool {
	switch s {
	case "False", "None", "True", "and", "as", "assert", "async", "await",
		"break", "class", "continue", "def", "del", "elif", "else", "except",
		"finally", "for", "from", "global", "if", "import", "in", "is",
		"lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
		"while", "with", "yield":
		return true
	}
	return false
}

// name is _PyPegen_name_token: a NAME that is not a keyword.
func (p *parser) name() *node {
	t := p.peek()
	if t.kind != tokName || isKeyword(t.text) {
		return nil
	}
	p.mark++
	return &node{kind: nName, isSet: nfkcIsSet(t.text)}
}

func (p *parser) memoGet(rule ruleID) (*node, bool) {
	p.peek() // _PyPegen_is_memoized fills the current token
	if p.err != nil {
		return nil, true
	}
	if m := p.memo[p.mark]; m != nil && m[rule].ok {
		p.mark = m[rule].end
		return m[rule].n, true
	}
	return nil, false
}

// memoPut records a result for the rule at start (whose token is filled).
func (p *parser) memoPut(rule ruleID, start int, n *node) {
	if p.memo[start] == nil {
		p.memo[start] = new([numRules]memoEntry)
	}
	p.memo[start][rule] = memoEntry{n: n, end: p.mark, ok: true}
}

// memoRule wraps a rule marked (memo) in the grammar.
func (p *parser) memoRule(rule ruleID, body func() *node) *node {
	defer p.leave()
	if !p.enter() {
		return nil
	}
	if n, ok := p.memoGet(rule); ok {
		return n
	}
	start := p.mark
	n := body()
	if n == nil {
		p.mark = start
	}
	p.memoPut(rule, start, n)
	return n
}

// rule wraps an ordinary rule function.
func (p *parser) rule(body func() *node) *node {
	defer p.leave()
	if !p.enter() {
		return nil
	}
	start := p.mark
	n := body()
	if n == nil {
		p.mark = start
	}
	return n
}

// tmp is a _tmp_N helper for a parenthesised group: same as rule.
func (p *parser) tmp(body func() *node) *node { return p.rule(body) }

// leftRec grows the seed of a left-recursive rule the way pegen does:
// the rule function memoises, then calls its _raw twin until the match
// stops getting longer.
func (p *parser) leftRec(rule ruleID, raw func() *node) *node {
	defer p.leave()
	if !p.enter() {
		return nil
	}
	if n, ok := p.memoGet(rule); ok {
		return n
	}
	start, resMark := p.mark, p.mark
	var res *node
	for {
		p.memoPut(rule, start, res)
		p.mark = start
		r := p.rule(raw)
		if p.err != nil {
			return nil
		}
		if r == nil || p.mark <= resMark {
			break
		}
		resMark, res = p.mark, r
	}
	p.mark = resMark
	return res
}

// loop is a _loop0_N (min 0) or _loop1_N (min 1) helper.
func (p *parser) loop(min int, elem func() *node) ([]*node, bool) {
	defer p.leave()
	if !p.enter() {
		return nil, false
	}
	mark := p.mark
	var out []*node
	for {
		n := elem()
		if n == nil {
			break
		}
		out = append(out, n)
		mark = p.mark
	}
	p.mark = mark
	if len(out) < min || p.err != nil {
		return nil, false
	}
	return out, true
}

// gather is a _gather_N helper for ','.elem+ (the tail is a _loop0_N).
func (p *parser) gather(elem func() *node) ([]*node, bool) {
	defer p.leave()
	if !p.enter() {
		return nil, false
	}
	mark := p.mark
	if first := elem(); first != nil {
		rest, ok := p.loop(0, func() *node {
			if !p.op(",") {
				return nil
			}
			return elem()
		})
		if ok {
			return append([]*node{first}, rest...), true
		}
	}
	p.mark = mark
	return nil, false
}

// commaTmp is the common group (',' c=elem { c }) wrapped as a _tmp_N.
func (p *parser) commaTmp(elem func() *node) func() *node {
	return func() *node {
		return p.tmp(func() *node {
			if !p.op(",") {
				return nil
			}
			return elem()
		})
	}
}

// optComma is [','], which only fails on a tokenizer error.
func (p *parser) optComma() bool {
	p.op(",")
	return p.err == nil
}

// --- start rules ---

// evalRule: eval: expressions NEWLINE* ENDMARKER
func (p *parser) evalRule() *node {
	return p.rule(func() *node {
		a := p.expressions()
		if a == nil {
			return nil
		}
		if _, ok := p.loop(0, func() *node {
			if p.expect(tokNewline) == nil {
				return nil
			}
			return seq(nil)
		}); !ok {
			return nil
		}
		if p.expect(tokEndMarker) == nil {
			return nil
		}
		return a
	})
}

// fstringRule: fstring: star_expressions
func (p *parser) fstringRule() *node {
	return p.rule(p.starExpressions)
}

// run is _PyPegen_run_parser for a first pass.
func (p *parser) run(start func() *node) (*node, *pyError) {
	n := start()
	if p.err != nil {
		return nil, p.err
	}
	if n != nil {
		return n, nil
	}
	// The first pass failed without an exception. CPython blames an
	// INDENT reached by the first pass as IndentationError; anything else
	// is a SyntaxError (the second pass only refines the message).
	if last := p.tokens[len(p.tokens)-1]; last.kind == tokIndent {
		return nil, &pyError{typ: "IndentationError", msg: "unexpected indent"}
	}
	return nil, syntaxError("invalid syntax")
}
