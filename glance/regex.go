// Ported from CPython 3.11.2 Lib/re/_parser.py (PSF License); see NOTICE.

package glance

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// This file translates a Python 3.11 `re` pattern (str, as Glance compiles a
// section name) into an RE2 pattern with the same re.search meaning, for
// Rego's regex.match. It follows re._parser of Python 3.11.2 (Debian
// bookworm's, the Python Glance runs on there) closely enough to reproduce
// its errors, messages and positions included, for the patterns Python
// rejects (pyError), and reports what RE2 cannot express (unsupportedError).
// Either way the file is refused: Glance fails to start on a regex that does
// not compile, and a rule we cannot translate must not be guessed at.
//
// A non-MULTILINE `$` (end, or before a final newline, without consuming
// it) becomes (?:\n?\z), which consumes the newline: exact when nothing
// can follow it, and reported as unsupported when something can (`a$\W`).
//
// Residual differences, documented rather than fixed:
//   - \d is \p{Nd} and \w is [\p{L}\p{N}_]: Python's str.isdecimal and
//     str.isalnum per code point, with Go's Unicode tables (Unicode 15)
//     instead of Python 3.11's (Unicode 14.0.0).
//   - (?i) uses RE2's simple case folding; Python's IGNORECASE differs for a
//     handful of code points, and (?a)(?i) folds ASCII only in Python.
//   - \N{name} is not resolved (reported as unsupported, also for a name
//     Python does not know, which it rejects), and a lookbehind is reported
//     as unsupported without checking Python's fixed-width rule.

// pyError is a pattern Python's re.compile rejects.
type pyError struct{ msg string }

func (e *pyError) Error() string { return e.msg }

// unsupportedError is a valid Python pattern RE2 cannot express.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

// rxFlags are the inline flags; t is TEMPLATE, which only a global group
// can set.
type rxFlags struct{ i, m, s, x, a, u, t bool }

func (f rxFlags) or(g rxFlags) rxFlags {
	return rxFlags{f.i || g.i, f.m || g.m, f.s || g.s, f.x || g.x, f.a || g.a, f.u || g.u, f.t || g.t}
}

const (
	rxFlagChars = "aiLmstux"
	maxRepeat   = 4294967295 // _sre.MAXREPEAT
	maxGroups   = 1073741823 // _sre.MAXGROUPS
)

type rxParser struct {
	src    []rune
	pos    int // Tokenizer.tell()
	lone   int // index of a trailing lone backslash, or -1
	depth  int // nesting of subpatterns; global flags are valid at depth 0 only
	global rxFlags
	names  map[string]int // group name to number
	opened int            // groups opened so far
	closed map[int]bool
	// lookbehind is state.lookbehindgroups: the group count when the
	// outermost open lookbehind started, or -1.
	lookbehind int
	condRefs   []rxRef // state.grouprefpos, in order
	// repeat is the first repeat Python's compiler meets (the outermost,
	// leftmost), which it refuses under TEMPLATE; repeatAt is its item's
	// start.
	repeat      string
	repeatAt    int
	unsupported string
}

// rxRef is a conditional group's number and where it was written.
type rxRef struct{ group, pos int }

// tokenizerPanic carries the error Python's Tokenizer raises when it reads
// ahead onto a trailing lone backslash, wherever the parser is.
type tokenizerPanic struct{ err *pyError }

// pySpace is Python's str.isspace set (the Unicode \s of re).
const pySpace = `\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// compilePattern translates a Python pattern to RE2. The error is a
// *pyError (Python rejects it) or an *unsupportedError.
func compilePattern(pat string) (out string, err error) {
	p := &rxParser{src: []rune(pat), lone: -1, names: map[string]int{}, closed: map[int]bool{}, lookbehind: -1}
	n := len(p.src)
	for n > 0 && p.src[n-1] == '\\' {
		n--
	}
	if (len(p.src)-n)%2 == 1 {
		p.lone = len(p.src) - 1
		if p.lone == 0 {
			return "", p.errAt(0, "bad escape (end of pattern)")
		}
	}
	defer func() {
		if r := recover(); r != nil {
			tp, ok := r.(tokenizerPanic)
			if !ok {
				panic(r)
			}
			out, err = "", tp.err
		}
	}()
	out, _, err = p.parseAlt(rxFlags{})
	if err != nil {
		return "", err
	}
	// What re._parser.parse checks after parsing, in its order, then what
	// re._compiler refuses.
	if p.global.a && p.global.u {
		return "", &pyError{"ASCII and UNICODE flags are incompatible"}
	}
	if !p.eof() {
		return "", p.errAt(p.pos, "unbalanced parenthesis")
	}
	for _, r := range p.condRefs {
		if r.group > p.opened {
			return "", p.errAt(r.pos, fmt.Sprintf("invalid group reference %d", r.group))
		}
	}
	if p.global.t && p.repeat != "" {
		return "", &pyError{"internal: unsupported template operator " + p.repeat}
	}
	if p.unsupported != "" {
		return "", &unsupportedError{p.unsupported}
	}
	if prefix := rxFlagText(rxFlags{}, p.global); prefix != "" {
		out = "(?" + prefix + ")" + out
	}
	if _, err := regexp.Compile(out); err != nil {
		return "", &unsupportedError{fmt.Sprintf("RE2 rejects the translation %s: %v", out, err)}
	}
	return out, nil
}

func rxFlagText(from, to rxFlags) string {
	var on, off string
	for _, f := range []struct {
		c    string
		a, b bool
	}{{"i", from.i, to.i}, {"m", from.m, to.m}, {"s", from.s, to.s}} {
		if f.b && !f.a {
			on += f.c
		} else if f.a && !f.b {
			off += f.c
		}
	}
	if off != "" {
		return on + "-" + off
	}
	return on
}

func (p *rxParser) eof() bool { return p.pos >= len(p.src) }

func (p *rxParser) peek() rune {
	if p.eof() {
		return -1
	}
	return p.src[p.pos]
}

func (p *rxParser) next() rune {
	r := p.peek()
	if r >= 0 {
		p.pos++
		if p.pos == p.lone {
			panic(tokenizerPanic{p.errAt(p.lone, "bad escape (end of pattern)")})
		}
	}
	return r
}

// get is Tokenizer.get: one character, or a backslash and the character
// after it; "" at the end.
func (p *rxParser) get() string {
	r := p.next()
	if r < 0 {
		return ""
	}
	if r == '\\' {
		return string([]rune{r, p.next()})
	}
	return string(r)
}

// match is Tokenizer.match for a one-character token.
func (p *rxParser) match(r rune) bool {
	if p.peek() != r {
		return false
	}
	p.next()
	return true
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func (p *rxParser) unsup(msg string) {
	if p.unsupported == "" {
		p.unsupported = msg
	}
}

// errAt is re.error(msg, pattern, pos).
func (p *rxParser) errAt(pos int, msg string) *pyError {
	msg = fmt.Sprintf("%s at position %d", msg, pos)
	if slices.Contains(p.src, '\n') {
		line, last := 1, -1
		for i, r := range p.src[:pos] {
			if r == '\n' {
				line, last = line+1, i
			}
		}
		col := pos - last
		msg += fmt.Sprintf(" (line %d, column %d)", line, col)
	}
	return &pyError{msg}
}

// err is Tokenizer.error(msg, offset).
func (p *rxParser) err(offset int, msg string) *pyError { return p.errAt(p.pos-offset, msg) }

// parseSub is _parse_sub for a nested subpattern.
func (p *rxParser) parseSub(fl rxFlags) (string, bool, error) {
	p.depth++
	defer func() { p.depth-- }()
	return p.parseAlt(fl)
}

// parseAlt parses branches; dollar reports a branch that ends with a
// non-MULTILINE `$` (see rxItem).
func (p *rxParser) parseAlt(fl rxFlags) (text string, dollar bool, err error) {
	top := p.depth == 0
	var seqs []string
	for {
		if top {
			fl = p.global
		}
		s, d, err := p.parseSeq(fl, top && len(seqs) == 0)
		if err != nil {
			return "", false, err
		}
		seqs, dollar = append(seqs, s), dollar || d
		if !p.match('|') {
			return strings.Join(seqs, "|"), dollar, nil
		}
	}
}

type rxItem struct {
	text     string
	simple   bool // one atom: a quantifier applies to all of it
	anchor   bool
	repeated bool
	start    int
	// dollar is a non-MULTILINE `$`, or a group with one at the end of a
	// branch. Python's `$` does not consume the final newline, our
	// (?:\n?\z) does: the same only when nothing follows.
	dollar bool
}

// groupKind says what a parenthesis produced.
type groupKind int

const (
	groupItem   groupKind = iota
	groupNone             // a comment
	groupGlobal           // global flags, now in p.global
)

// parseSeq is _parse: one branch. first is true for the first branch of
// the whole pattern, where global flags may come before any item.
func (p *rxParser) parseSeq(fl rxFlags, first bool) (string, bool, error) {
	var items []rxItem
	for !p.eof() && p.peek() != '|' && p.peek() != ')' {
		if len(items) > 0 && items[len(items)-1].dollar {
			p.unsup("`$` followed by more pattern: Python's end-or-before-a-final-newline cannot be written in RE2 there")
		}
		start := p.pos
		tok := []rune(p.get())
		c := tok[0]
		if fl.x && len(tok) == 1 {
			if strings.ContainsRune(" \t\n\r\v\f", c) {
				continue
			}
			if c == '#' {
				for t := p.get(); t != "" && t != "\n"; t = p.get() {
				}
				continue
			}
		}
		var it rxItem
		switch {
		case len(tok) == 2:
			t, anchor, err := p.parseEscape(fl, tok[1], start)
			if err != nil {
				return "", false, err
			}
			it = rxItem{text: t, simple: !anchor, anchor: anchor}
		case c == '[':
			t, err := p.parseClass(fl, start)
			if err != nil {
				return "", false, err
			}
			it = rxItem{text: t, simple: true}
		case c == '(':
			g, kind, err := p.parseGroup(fl, first && len(items) == 0, start)
			if err != nil {
				return "", false, err
			}
			if kind == groupGlobal {
				fl = fl.or(p.global)
			}
			if kind != groupItem {
				continue
			}
			it = g
		case c == '.':
			it = rxItem{text: ".", simple: true}
		case c == '^':
			it = rxItem{text: "^", anchor: true}
		case c == '$':
			if fl.m {
				it = rxItem{text: "$", anchor: true}
			} else {
				it = rxItem{text: `(?:\n?\z)`, anchor: true, dollar: true}
			}
		case c == '*' || c == '+' || c == '?' || c == '{':
			q, ok, err := p.parseQuant(c)
			if err != nil {
				return "", false, err
			}
			if !ok { // a literal '{'
				it = rxItem{text: `\{`, simple: true}
				break
			}
			if len(items) == 0 || items[len(items)-1].anchor {
				return "", false, p.errAt(start, "nothing to repeat")
			}
			last := &items[len(items)-1]
			if last.repeated {
				return "", false, p.errAt(start, "multiple repeat")
			}
			if last.dollar {
				p.unsup("a repeated `$`: Python's end-or-before-a-final-newline cannot be written in RE2 there")
			}
			op := "MAX_REPEAT"
			if p.match('?') {
				op = "MIN_REPEAT"
				q += "?"
			} else if p.match('+') {
				op = "POSSESSIVE_REPEAT"
				p.unsup("possessive quantifier " + q + "+ is not in RE2")
			}
			if p.repeat == "" || last.start < p.repeatAt {
				p.repeat, p.repeatAt = op, last.start
			}
			if !last.simple {
				last.text = "(?:" + last.text + ")"
			}
			last.text += q
			last.repeated, last.simple = true, false
			continue
		default:
			it = rxItem{text: quoteRune(c, false), simple: true}
		}
		it.start = start
		items = append(items, it)
	}
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.text)
	}
	return b.String(), len(items) > 0 && items[len(items)-1].dollar, nil
}

// parseQuant parses a quantifier after its first character; ok is false for
// a '{' that is a literal.
func (p *rxParser) parseQuant(c rune) (string, bool, error) {
	if c != '{' {
		return string(c), true, nil
	}
	here := p.pos
	if p.peek() == '}' {
		return "", false, nil
	}
	digits := func() string {
		s := p.pos
		for p.peek() >= '0' && p.peek() <= '9' {
			p.next()
		}
		return string(p.src[s:p.pos])
	}
	lo := digits()
	hi := lo
	comma := p.match(',')
	if comma {
		hi = digits()
	}
	if !p.match('}') {
		p.pos = here
		return "", false, nil
	}
	num := func(s string) (uint64, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n >= maxRepeat {
			return 0, &pyError{"the repetition number is too large"}
		}
		return n, nil
	}
	var min, max uint64
	var err error
	if lo != "" {
		if min, err = num(lo); err != nil {
			return "", false, err
		}
	}
	if hi != "" {
		if max, err = num(hi); err != nil {
			return "", false, err
		}
		if max < min {
			return "", false, p.errAt(here, "min repeat greater than max repeat")
		}
	}
	if min > 1000 || max > 1000 {
		p.unsup(fmt.Sprintf("repetition count above 1000 in {%s} (RE2's limit)", string(p.src[here:p.pos-1])))
	}
	switch {
	case !comma:
		return fmt.Sprintf("{%d}", min), true, nil
	case hi == "":
		return fmt.Sprintf("{%d,}", min), true, nil
	default:
		return fmt.Sprintf("{%d,%d}", min, max), true, nil
	}
}

// getUntil is Tokenizer.getuntil.
func (p *rxParser) getUntil(term rune, name string) (string, error) {
	var b strings.Builder
	for {
		t := p.get()
		if t == "" {
			if b.Len() == 0 {
				return "", p.err(0, "missing "+name)
			}
			return "", p.err(runeLen(b.String()), fmt.Sprintf("missing %c, unterminated name", term))
		}
		if t == string(term) {
			if b.Len() == 0 {
				return "", p.err(1, "missing "+name)
			}
			return b.String(), nil
		}
		b.WriteString(t)
	}
}

// isIdentifier approximates str.isidentifier (XID_Start, XID_Continue).
func isIdentifier(name string) bool {
	for i, r := range name {
		if !(r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || (i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)))) {
			return false
		}
	}
	return name != ""
}

// checkGroupName is Tokenizer.checkgroupname for a str pattern.
func (p *rxParser) checkGroupName(name string, offset int) error {
	if !isIdentifier(name) {
		return p.err(runeLen(name)+offset, "bad character in group name "+python.StrRepr(name))
	}
	return nil
}

// checkLookbehindGroup is State.checklookbehindgroup.
func (p *rxParser) checkLookbehindGroup(gid int) error {
	if p.lookbehind < 0 {
		return nil
	}
	if gid > p.opened || !p.closed[gid] {
		return p.err(0, "cannot refer to an open group")
	}
	if gid >= p.lookbehind {
		return p.err(0, "cannot refer to group defined in the same lookbehind subpattern")
	}
	return nil
}

// parseGroup parses what follows a '(' at start.
func (p *rxParser) parseGroup(fl rxFlags, first bool, start int) (rxItem, groupKind, error) {
	capture, name, nf := true, "", fl
	scoped := false
	if p.match('?') {
		tok := p.get()
		switch tok {
		case "":
			return rxItem{}, 0, p.err(0, "unexpected end of pattern")
		case "P":
			switch {
			case p.match('<'):
				var err error
				if name, err = p.getUntil('>', "group name"); err != nil {
					return rxItem{}, 0, err
				}
				if err := p.checkGroupName(name, 1); err != nil {
					return rxItem{}, 0, err
				}
			case p.match('='):
				ref, err := p.getUntil(')', "group name")
				if err != nil {
					return rxItem{}, 0, err
				}
				if err := p.checkGroupName(ref, 1); err != nil {
					return rxItem{}, 0, err
				}
				gid, ok := p.names[ref]
				if !ok {
					return rxItem{}, 0, p.err(runeLen(ref)+1, "unknown group name "+python.StrRepr(ref))
				}
				if !p.closed[gid] {
					return rxItem{}, 0, p.err(runeLen(ref)+1, "cannot refer to an open group")
				}
				if err := p.checkLookbehindGroup(gid); err != nil {
					return rxItem{}, 0, err
				}
				p.unsup("backreference (?P=" + ref + ") is not in RE2")
				return rxItem{text: "(?:)", simple: true}, groupItem, nil
			default:
				t := p.get()
				if t == "" {
					return rxItem{}, 0, p.err(0, "unexpected end of pattern")
				}
				return rxItem{}, 0, p.err(runeLen(t)+2, "unknown extension ?P"+t)
			}
		case ":":
			capture = false
		case "#":
			for {
				if p.eof() {
					return rxItem{}, 0, p.errAt(start, "missing ), unterminated comment")
				}
				if p.get() == ")" {
					return rxItem{}, groupNone, nil
				}
			}
		case "=", "!", "<":
			kind := "lookahead (?" + tok
			behind := tok == "<"
			if behind {
				t := p.get()
				if t == "" {
					return rxItem{}, 0, p.err(0, "unexpected end of pattern")
				}
				if t != "=" && t != "!" {
					return rxItem{}, 0, p.err(runeLen(t)+2, "unknown extension ?<"+t)
				}
				kind = "lookbehind (?<" + t
			}
			outer := p.lookbehind
			if behind && outer < 0 {
				p.lookbehind = p.opened + 1
			}
			p.unsup(kind + "...) is not in RE2")
			s, _, err := p.parseSub(fl)
			if behind && outer < 0 {
				p.lookbehind = -1
			}
			if err != nil {
				return rxItem{}, 0, err
			}
			if !p.match(')') {
				return rxItem{}, 0, p.errAt(start, "missing ), unterminated subpattern")
			}
			return rxItem{text: "(?:" + s + ")", simple: true}, groupItem, nil
		case "(":
			return p.parseConditional(fl, start)
		case ">":
			capture = false
			p.unsup("atomic group (?>...) is not in RE2")
		default:
			if tok != "-" && (runeLen(tok) != 1 || !strings.Contains(rxFlagChars, tok)) {
				return rxItem{}, 0, p.err(runeLen(tok)+1, "unknown extension ?"+tok)
			}
			add, del, global, err := p.parseFlags(tok)
			if err != nil {
				return rxItem{}, 0, err
			}
			if global {
				if !first {
					return rxItem{}, 0, p.errAt(start, "global flags not at the start of the expression")
				}
				p.global = p.global.or(add)
				return rxItem{}, groupGlobal, nil
			}
			capture, scoped = false, true
			nf = fl.or(add)
			nf.i, nf.m, nf.s, nf.x = nf.i && !del.i, nf.m && !del.m, nf.s && !del.s, nf.x && !del.x
			if add.a {
				nf.u = false
			}
			if add.u {
				nf.a = false
			}
		}
	}
	g := 0
	if capture {
		p.opened++
		g = p.opened
		if name != "" {
			if old, dup := p.names[name]; dup {
				return rxItem{}, 0, p.err(runeLen(name)+1, fmt.Sprintf("redefinition of group name %s as group %d; was group %d", python.StrRepr(name), g, old))
			}
			p.names[name] = g
		}
	}
	s, dollar, err := p.parseSub(nf)
	if err != nil {
		return rxItem{}, 0, err
	}
	if !p.match(')') {
		return rxItem{}, 0, p.errAt(start, "missing ), unterminated subpattern")
	}
	if capture {
		p.closed[g] = true
	}
	if scoped {
		return rxItem{text: "(?" + rxFlagText(fl, nf) + ":" + s + ")", simple: true, dollar: dollar}, groupItem, nil
	}
	return rxItem{text: "(?:" + s + ")", simple: true, dollar: dollar}, groupItem, nil
}

// parseConditional parses (?(group)yes|no) after its "(?(".
func (p *rxParser) parseConditional(fl rxFlags, start int) (rxItem, groupKind, error) {
	cond, err := p.getUntil(')', "group name")
	if err != nil {
		return rxItem{}, 0, err
	}
	n := runeLen(cond)
	var gid int
	if isIdentifier(cond) {
		g, ok := p.names[cond]
		if !ok {
			return rxItem{}, 0, p.err(n+1, "unknown group name "+python.StrRepr(cond))
		}
		gid = g
	} else {
		v, ok := pyInt(cond)
		switch {
		case !ok || v.Sign() < 0:
			return rxItem{}, 0, p.err(n+1, "bad character in group name "+python.StrRepr(cond))
		case v.Sign() == 0:
			return rxItem{}, 0, p.err(n+1, "bad group number")
		case !v.IsInt64() || v.Int64() >= maxGroups:
			return rxItem{}, 0, p.err(n+1, "invalid group reference "+v.String())
		}
		gid = int(v.Int64())
		if !slices.ContainsFunc(p.condRefs, func(r rxRef) bool { return r.group == gid }) {
			p.condRefs = append(p.condRefs, rxRef{gid, p.pos - n - 1})
		}
	}
	if err := p.checkLookbehindGroup(gid); err != nil {
		return rxItem{}, 0, err
	}
	p.unsup("conditional group (?(" + cond + ")...) is not in RE2")
	p.depth++
	defer func() { p.depth-- }()
	if _, _, err := p.parseSeq(fl, false); err != nil {
		return rxItem{}, 0, err
	}
	if p.match('|') {
		if _, _, err := p.parseSeq(fl, false); err != nil {
			return rxItem{}, 0, err
		}
		if p.peek() == '|' {
			return rxItem{}, 0, p.err(0, "conditional backref with more than two branches")
		}
	}
	if !p.match(')') {
		return rxItem{}, 0, p.errAt(start, "missing ), unterminated subpattern")
	}
	return rxItem{text: "(?:)", simple: true}, groupItem, nil
}

// pyInt is Python's int(s) for a str: surrounding whitespace, a sign,
// Unicode decimal digits and single underscores between digits.
func pyInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, python.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var digits strings.Builder
	prevDigit := false
	for _, r := range s {
		switch {
		case r == '_' && prevDigit:
			prevDigit = false
		case unicode.Is(unicode.Nd, r):
			digits.WriteByte(byte('0' + ndValue(r)))
			prevDigit = true
		default:
			return nil, false
		}
	}
	if !prevDigit {
		return nil, false // empty, or a trailing underscore
	}
	v, _ := new(big.Int).SetString(digits.String(), 10)
	if neg {
		v.Neg(v)
	}
	return v, true
}

// ndValue is the digit value of a Unicode Nd code point, which come in
// runs of ten starting with zero.
func ndValue(r rune) int {
	lo := r
	for unicode.Is(unicode.Nd, lo-1) {
		lo--
	}
	return int(r-lo) % 10
}

func setFlag(f *rxFlags, c string) {
	switch c {
	case "i":
		f.i = true
	case "m":
		f.m = true
	case "s":
		f.s = true
	case "x":
		f.x = true
	case "a":
		f.a = true
	case "u":
		f.u = true
	case "t":
		f.t = true
	}
}

func isFlag(tok string) bool { return runeLen(tok) == 1 && strings.Contains(rxFlagChars, tok) }

// flagError is _parse_flags' message for a token that is not a flag.
func flagError(tok, other string) string {
	if r, _ := utf8.DecodeRuneInString(tok); runeLen(tok) == 1 && unicode.IsLetter(r) {
		return "unknown flag"
	}
	return other
}

// parseFlags is _parse_flags: global is set for a "(?flags)" group.
func (p *rxParser) parseFlags(char string) (add, del rxFlags, global bool, err error) {
	if char != "-" {
		for {
			if char == "L" {
				return add, del, false, p.err(0, "bad inline flags: cannot use 'L' flag with a str pattern")
			}
			setFlag(&add, char)
			if (char == "a" && add.u) || (char == "u" && add.a) {
				return add, del, false, p.err(0, "bad inline flags: flags 'a', 'u' and 'L' are incompatible")
			}
			char = p.get()
			if char == "" {
				return add, del, false, p.err(0, "missing -, : or )")
			}
			if char == ")" || char == "-" || char == ":" {
				break
			}
			if !isFlag(char) {
				return add, del, false, p.err(runeLen(char), flagError(char, "missing -, : or )"))
			}
		}
	}
	if char == ")" {
		return add, del, true, nil
	}
	if add.t {
		return add, del, false, p.err(1, "bad inline flags: cannot turn on global flag")
	}
	if char == "-" {
		char = p.get()
		if char == "" {
			return add, del, false, p.err(0, "missing flag")
		}
		if !isFlag(char) {
			return add, del, false, p.err(runeLen(char), flagError(char, "missing flag"))
		}
		for {
			if char == "a" || char == "u" || char == "L" {
				return add, del, false, p.err(0, "bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
			}
			setFlag(&del, char)
			char = p.get()
			if char == "" {
				return add, del, false, p.err(0, "missing :")
			}
			if char == ":" {
				break
			}
			if !isFlag(char) {
				return add, del, false, p.err(runeLen(char), flagError(char, "missing :"))
			}
		}
	}
	if del.t {
		return add, del, false, p.err(1, "bad inline flags: cannot turn off global flag")
	}
	if (add.i && del.i) || (add.m && del.m) || (add.s && del.s) || (add.x && del.x) {
		return add, del, false, p.err(1, "bad inline flags: flag turned on and off")
	}
	return add, del, false, nil
}

// class sets, per flag mode: positive text and the complement's text.
func category(c rune, ascii bool) (text string, negated bool) {
	switch c {
	case 'd', 'D':
		text = `\p{Nd}`
		if ascii {
			text = `0-9`
		}
	case 'w', 'W':
		text = `\p{L}\p{N}_`
		if ascii {
			text = `0-9A-Za-z_`
		}
	case 's', 'S':
		text = pySpace
		if ascii {
			text = `\t-\r `
		}
	}
	return text, c == 'D' || c == 'W' || c == 'S'
}

// parseEscape is _escape: c follows the backslash at start.
func (p *rxParser) parseEscape(fl rxFlags, c rune, start int) (string, bool, error) {
	switch c {
	case 'A':
		return `\A`, true, nil
	case 'Z':
		return `\z`, true, nil
	case 'b', 'B':
		if !fl.a {
			p.unsup(`\` + string(c) + ` is Unicode-aware in Python but ASCII-only in RE2`)
		}
		return `\` + string(c), true, nil
	case 'd', 'D', 'w', 'W', 's', 'S':
		t, neg := category(c, fl.a)
		if neg {
			return "[^" + t + "]", false, nil
		}
		return "[" + t + "]", false, nil
	}
	if c >= '1' && c <= '9' {
		s := string(c)
		if p.peek() >= '0' && p.peek() <= '9' {
			s += string(p.next())
			if isOct(rune(s[0])) && isOct(rune(s[1])) && isOct(p.peek()) {
				s += string(p.next())
				v, _ := strconv.ParseUint(s, 8, 32)
				if v > 0o377 {
					return "", false, p.errAt(start, `octal escape value \`+s+` outside of range 0-0o377`)
				}
				return quoteRune(rune(v), false), false, nil
			}
		}
		g, _ := strconv.Atoi(s)
		if g > p.opened {
			return "", false, p.errAt(start+1, fmt.Sprintf("invalid group reference %d", g))
		}
		if !p.closed[g] {
			return "", false, p.errAt(start, "cannot refer to an open group")
		}
		if err := p.checkLookbehindGroup(g); err != nil {
			return "", false, err
		}
		p.unsup(`backreference \` + s + ` is not in RE2`)
		return "(?:)", false, nil
	}
	r, ok, err := p.commonEscape(c, start, false)
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "(?:)", false, nil
	}
	return quoteRune(r, false), false, nil
}

func isOct(r rune) bool { return r >= '0' && r <= '7' }

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// commonEscape handles the escapes that are literals both in and out of a
// class: \a \f \n \r \t \v \\ \xhh \uhhhh \Uhhhhhhhh \N{...} octal and
// escaped punctuation. ok is false for \N{...}, whose character is unknown.
func (p *rxParser) commonEscape(c rune, start int, inClass bool) (rune, bool, error) {
	switch c {
	case 'a':
		return 7, true, nil
	case 'f':
		return '\f', true, nil
	case 'n':
		return '\n', true, nil
	case 'r':
		return '\r', true, nil
	case 't':
		return '\t', true, nil
	case 'v':
		return '\v', true, nil
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
		s := p.pos
		for p.pos-s < n && isHex(p.peek()) {
			p.next()
		}
		h := string(p.src[s:p.pos])
		if len(h) != n {
			return 0, false, p.errAt(start, `incomplete escape \`+string(c)+h)
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		if v > unicode.MaxRune {
			return 0, false, p.errAt(start, `bad escape \`+string(c)+h)
		}
		return rune(v), true, nil
	case 'N':
		if !p.match('{') {
			return 0, false, p.err(0, "missing {")
		}
		name, err := p.getUntil('}', "character name")
		if err != nil {
			return 0, false, err
		}
		p.unsup(`\N{` + name + `} (a named character) is not translated`)
		return 0, false, nil
	case '0':
		s := string(c)
		for len(s) < 3 && isOct(p.peek()) {
			s += string(p.next())
		}
		v, _ := strconv.ParseUint(s, 8, 32)
		return rune(v), true, nil
	}
	if inClass && isOct(c) {
		s := string(c)
		for len(s) < 3 && isOct(p.peek()) {
			s += string(p.next())
		}
		v, _ := strconv.ParseUint(s, 8, 32)
		if v > 0o377 {
			return 0, false, p.errAt(start, `octal escape value \`+s+` outside of range 0-0o377`)
		}
		return rune(v), true, nil
	}
	if c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
		return 0, false, p.errAt(start, `bad escape \`+string(c))
	}
	return c, true, nil
}

// parseClass parses a set after its '[' at here.
func (p *rxParser) parseClass(fl rxFlags, here int) (string, error) {
	negate := p.match('^')
	var pos strings.Builder
	var neg []string // complemented categories
	n := 0
	type elem struct {
		lit     bool
		unknown bool // \N{...}: a literal whose value we do not know
		r       rune
		cat     string
		catNeg  bool
	}
	read := func(tok string, start int) (elem, error) {
		rs := []rune(tok)
		if len(rs) == 1 {
			return elem{lit: true, r: rs[0]}, nil
		}
		switch c := rs[1]; c {
		case 'd', 'D', 'w', 'W', 's', 'S':
			t, ng := category(c, fl.a)
			return elem{cat: t, catNeg: ng}, nil
		case 'b':
			return elem{lit: true, r: '\b'}, nil
		case '8', '9':
			return elem{}, p.errAt(start, `bad escape \`+string(c))
		default:
			r, ok, err := p.commonEscape(c, start, true)
			return elem{lit: true, unknown: !ok, r: r}, err
		}
	}
	add := func(e elem) {
		n++
		switch {
		case e.unknown:
		case e.lit:
			pos.WriteString(quoteRune(e.r, true))
		case e.catNeg:
			neg = append(neg, e.cat)
		default:
			pos.WriteString(e.cat)
		}
	}
	for {
		start := p.pos
		this := p.get()
		if this == "" {
			return "", p.errAt(here, "unterminated character set")
		}
		if this == "]" && n > 0 {
			break
		}
		e1, err := read(this, start)
		if err != nil {
			return "", err
		}
		if !p.match('-') {
			add(e1)
			continue
		}
		start = p.pos
		that := p.get()
		if that == "" {
			return "", p.errAt(here, "unterminated character set")
		}
		if that == "]" {
			add(e1)
			add(elem{lit: true, r: '-'})
			break
		}
		e2, err := read(that, start)
		if err != nil {
			return "", err
		}
		bad := p.err(runeLen(this)+1+runeLen(that), "bad character range "+this+"-"+that)
		if !e1.lit || !e2.lit {
			return "", bad
		}
		n++
		if e1.unknown || e2.unknown {
			continue
		}
		if e2.r < e1.r {
			return "", bad
		}
		pos.WriteString(quoteRune(e1.r, true) + "-" + quoteRune(e2.r, true))
	}
	switch {
	case len(neg) == 0 && negate:
		return "[^" + pos.String() + "]", nil
	case len(neg) == 0:
		return "[" + pos.String() + "]", nil
	case negate && pos.Len() == 0 && len(neg) == 1:
		return "[" + neg[0] + "]", nil
	case negate:
		p.unsup("a negated set containing \\D, \\W or \\S cannot be written in RE2")
		return "[^" + pos.String() + "]", nil
	}
	var alts []string
	if pos.Len() > 0 {
		alts = append(alts, "["+pos.String()+"]")
	}
	for _, t := range neg {
		alts = append(alts, "[^"+t+"]")
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return "(?:" + strings.Join(alts, "|") + ")", nil
}

// quoteRune writes r as an RE2 literal (in a class or not).
func quoteRune(r rune, inClass bool) string {
	switch {
	case r < 0x20 || r == 0x7f || !unicode.IsPrint(r):
		return fmt.Sprintf(`\x{%x}`, r)
	case inClass && strings.ContainsRune(`\]-^[`, r):
		return `\` + string(r)
	case !inClass && strings.ContainsRune(`\.+*?()|[]{}^$`, r):
		return `\` + string(r)
	}
	return string(r)
}
