package glance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// This file translates a Python 3.8 `re` pattern (str, as Glance compiles a
// section name) into an RE2 pattern with the same re.search meaning, for
// Rego's regex.match. It reproduces sre_parse's errors for patterns Python
// rejects (pyError) and reports what RE2 cannot express (unsupportedError).
//
// Residual differences, documented rather than fixed:
//   - \d is \p{Nd} and \w is [\p{L}\p{N}_]: Python's str.isdecimal and
//     str.isalnum per code point, with Go's Unicode tables (Unicode 15)
//     instead of the Python build's (3.8: Unicode 12.1).
//   - (?i) uses RE2's simple case folding; Python's IGNORECASE differs for a
//     handful of code points, and (?a)(?i) folds ASCII only in Python.
//   - A non-MULTILINE `$` becomes (?:\n?\z): exact unless the pattern goes
//     on to consume the final newline itself (e.g. `a$\n`).
//   - \N{name} is not resolved (reported as unsupported), and the
//     lookbehind width rule is not checked since lookbehind is unsupported.

// pyError is a pattern Python's re.compile rejects.
type pyError struct{ msg string }

func (e *pyError) Error() string { return e.msg }

// unsupportedError is a valid Python pattern RE2 cannot express.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

type rxFlags struct{ i, m, s, x, a, u bool }

func (f rxFlags) or(g rxFlags) rxFlags {
	return rxFlags{f.i || g.i, f.m || g.m, f.s || g.s, f.x || g.x, f.a || g.a, f.u || g.u}
}

type rxParser struct {
	src         []rune
	pos         int
	found       rxFlags // global flags met while parsing
	names       map[string]bool
	opened      int
	closed      map[int]bool
	unsupported string
}

// pySpace is Python's str.isspace set (the Unicode \s of re).
const pySpace = `\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// compilePattern translates a Python pattern to RE2. The error is a
// *pyError (Python rejects it) or an *unsupportedError.
func compilePattern(pat string) (string, error) {
	var global rxFlags
	for {
		p := &rxParser{src: []rune(pat), names: map[string]bool{}, closed: map[int]bool{}}
		out, err := p.parseAlt(global)
		if err == nil && p.pos < len(p.src) {
			err = &pyError{fmt.Sprintf("unbalanced parenthesis at position %d", p.pos)}
		}
		if err != nil {
			return "", err
		}
		if g := global.or(p.found); g != global {
			global = g // Python 3.8 applies a flag group anywhere globally
			continue
		}
		if global.a && global.u {
			return "", &pyError{"ASCII and UNICODE flags are incompatible"}
		}
		if p.unsupported != "" {
			return "", &unsupportedError{p.unsupported}
		}
		prefix := rxFlagText(rxFlags{}, global)
		if prefix != "" {
			out = "(?" + prefix + ")" + out
		}
		if _, err := regexp.Compile(out); err != nil {
			return "", &unsupportedError{fmt.Sprintf("RE2 rejects the translation %s: %v", out, err)}
		}
		return out, nil
	}
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
	}
	return r
}

func (p *rxParser) unsup(msg string) {
	if p.unsupported == "" {
		p.unsupported = msg
	}
}

func (p *rxParser) errf(format string, args ...any) error {
	return &pyError{fmt.Sprintf(format, args...) + fmt.Sprintf(" at position %d", p.pos)}
}

func (p *rxParser) parseAlt(fl rxFlags) (string, error) {
	var seqs []string
	for {
		s, err := p.parseSeq(fl)
		if err != nil {
			return "", err
		}
		seqs = append(seqs, s)
		if p.peek() != '|' {
			return strings.Join(seqs, "|"), nil
		}
		p.next()
	}
}

type rxItem struct {
	text     string
	simple   bool // one atom: a quantifier applies to all of it
	anchor   bool
	repeated bool
}

func (p *rxParser) parseSeq(fl rxFlags) (string, error) {
	var items []rxItem
	for !p.eof() && p.peek() != '|' && p.peek() != ')' {
		c := p.next()
		if fl.x {
			if strings.ContainsRune(" \t\n\r\v\f", c) {
				continue
			}
			if c == '#' {
				for !p.eof() && p.next() != '\n' {
				}
				continue
			}
		}
		switch c {
		case '[':
			t, err := p.parseClass(fl)
			if err != nil {
				return "", err
			}
			items = append(items, rxItem{text: t, simple: true})
		case '(':
			it, ok, err := p.parseGroup(fl)
			if err != nil {
				return "", err
			}
			if ok {
				items = append(items, it)
			}
		case '.':
			items = append(items, rxItem{text: ".", simple: true})
		case '^':
			items = append(items, rxItem{text: "^", anchor: true})
		case '$':
			if fl.m {
				items = append(items, rxItem{text: "$", anchor: true})
			} else {
				items = append(items, rxItem{text: `(?:\n?\z)`, anchor: true})
			}
		case '*', '+', '?', '{':
			q, ok, err := p.parseQuant(c)
			if err != nil {
				return "", err
			}
			if !ok { // a literal '{'
				items = append(items, rxItem{text: `\{`, simple: true})
				continue
			}
			if len(items) == 0 || items[len(items)-1].anchor {
				return "", p.errf("nothing to repeat")
			}
			last := &items[len(items)-1]
			if last.repeated {
				return "", p.errf("multiple repeat")
			}
			if p.peek() == '?' {
				p.next()
				q += "?"
			} else if p.peek() == '+' {
				p.next()
				p.unsup("possessive quantifier " + q + "+ (Python 3.11+) is not in RE2")
			}
			if !last.simple {
				last.text = "(?:" + last.text + ")"
			}
			last.text += q
			last.repeated, last.simple = true, false
		case '\\':
			t, anchor, err := p.parseEscape(fl)
			if err != nil {
				return "", err
			}
			items = append(items, rxItem{text: t, simple: !anchor, anchor: anchor})
		default:
			items = append(items, rxItem{text: quoteRune(c, false), simple: true})
		}
	}
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.text)
	}
	return b.String(), nil
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
	comma := false
	if p.peek() == ',' {
		p.next()
		comma = true
		hi = digits()
	}
	if p.peek() != '}' {
		p.pos = here
		return "", false, nil
	}
	p.next()
	num := func(s string) (uint64, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n >= 4294967295 {
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
			return "", false, p.errf("min repeat greater than max repeat")
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

const rxFlagChars = "aiLmsux"

func (p *rxParser) parseGroup(fl rxFlags) (rxItem, bool, error) {
	inner := func(f rxFlags) (string, error) {
		s, err := p.parseAlt(f)
		if err != nil {
			return "", err
		}
		if p.next() != ')' {
			return "", p.errf("missing ), unterminated subpattern")
		}
		return s, nil
	}
	if p.peek() != '?' {
		p.opened++
		g := p.opened
		s, err := inner(fl)
		p.closed[g] = true
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	}
	p.next()
	c := p.next()
	switch {
	case c == ':':
		s, err := inner(fl)
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	case c == 'P':
		switch p.next() {
		case '<':
			name, err := p.groupName('>')
			if err != nil {
				return rxItem{}, false, err
			}
			if p.names[name] {
				return rxItem{}, false, p.errf("redefinition of group name %q", name)
			}
			p.names[name] = true
			p.opened++
			g := p.opened
			s, err := inner(fl)
			p.closed[g] = true
			return rxItem{text: "(?:" + s + ")", simple: true}, true, err
		case '=':
			name, err := p.groupName(')')
			if err != nil {
				return rxItem{}, false, err
			}
			if !p.names[name] {
				return rxItem{}, false, p.errf("unknown group name %q", name)
			}
			p.unsup("backreference (?P=" + name + ") is not in RE2")
			return rxItem{text: "(?:)", simple: true}, true, nil
		default:
			return rxItem{}, false, p.errf("unknown extension ?P")
		}
	case c == '=' || c == '!':
		p.unsup("lookahead (?" + string(c) + "...) is not in RE2")
		s, err := inner(fl)
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	case c == '<':
		d := p.next()
		if d != '=' && d != '!' {
			return rxItem{}, false, p.errf("unknown extension ?<")
		}
		p.unsup("lookbehind (?<" + string(d) + "...) is not in RE2")
		s, err := inner(fl)
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	case c == '#':
		for {
			r := p.next()
			if r < 0 {
				return rxItem{}, false, p.errf("missing ), unterminated comment")
			}
			if r == ')' {
				return rxItem{}, false, nil
			}
		}
	case c == '(':
		p.unsup("conditional group (?(...)...) is not in RE2")
		for p.peek() >= 0 && p.peek() != ')' {
			p.next()
		}
		if p.next() != ')' {
			return rxItem{}, false, p.errf("missing ), unterminated name")
		}
		s, err := inner(fl)
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	case c == '>':
		p.unsup("atomic group (?>...) (Python 3.11+) is not in RE2")
		s, err := inner(fl)
		return rxItem{text: "(?:" + s + ")", simple: true}, true, err
	case c == '-' || (c >= 0 && strings.ContainsRune(rxFlagChars, c)):
		return p.parseFlags(fl, c, inner)
	case c < 0:
		return rxItem{}, false, p.errf("unexpected end of pattern")
	default:
		return rxItem{}, false, p.errf("unknown extension ?%c", c)
	}
}

func setFlag(f *rxFlags, c rune, on bool) {
	switch c {
	case 'i':
		f.i = on
	case 'm':
		f.m = on
	case 's':
		f.s = on
	case 'x':
		f.x = on
	case 'a':
		f.a = on
	case 'u':
		f.u = on
	}
}

// parseFlags is sre_parse._parse_flags and what follows it.
func (p *rxParser) parseFlags(fl rxFlags, c rune, inner func(rxFlags) (string, error)) (rxItem, bool, error) {
	var add, del rxFlags
	if c != '-' {
		for {
			if c == 'L' {
				return rxItem{}, false, p.errf("bad inline flags: cannot use 'L' flag with a str pattern")
			}
			if c == 'a' || c == 'u' {
				if (c == 'a' && add.u) || (c == 'u' && add.a) {
					return rxItem{}, false, p.errf("bad inline flags: flags 'a', 'u' and 'L' are incompatible")
				}
			}
			setFlag(&add, c, true)
			c = p.next()
			if c < 0 {
				return rxItem{}, false, p.errf("missing -, : or )")
			}
			if c == ')' || c == '-' || c == ':' {
				break
			}
			if !strings.ContainsRune(rxFlagChars, c) {
				return rxItem{}, false, p.errf("unknown flag")
			}
		}
	}
	if c == ')' {
		p.found = p.found.or(add)
		return rxItem{}, false, nil
	}
	if c == '-' {
		c = p.next()
		if c < 0 {
			return rxItem{}, false, p.errf("missing flag")
		}
		if !strings.ContainsRune(rxFlagChars, c) {
			return rxItem{}, false, p.errf("unknown flag")
		}
		for {
			if c == 'a' || c == 'u' || c == 'L' {
				return rxItem{}, false, p.errf("bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
			}
			setFlag(&del, c, true)
			c = p.next()
			if c < 0 {
				return rxItem{}, false, p.errf("missing :")
			}
			if c == ':' {
				break
			}
			if !strings.ContainsRune(rxFlagChars, c) {
				return rxItem{}, false, p.errf("unknown flag")
			}
		}
	}
	if (add.i && del.i) || (add.m && del.m) || (add.s && del.s) || (add.x && del.x) {
		return rxItem{}, false, p.errf("bad inline flags: flag turned on and off")
	}
	nf := fl.or(add)
	nf.i, nf.m, nf.s, nf.x = nf.i && !del.i, nf.m && !del.m, nf.s && !del.s, nf.x && !del.x
	if add.a {
		nf.u = false
	}
	if add.u {
		nf.a = false
	}
	s, err := inner(nf)
	if err != nil {
		return rxItem{}, false, err
	}
	ft := rxFlagText(fl, nf)
	return rxItem{text: "(?" + ft + ":" + s + ")", simple: true}, true, nil
}

func (p *rxParser) groupName(end rune) (string, error) {
	s := p.pos
	for {
		r := p.next()
		if r < 0 {
			return "", p.errf("missing %c, unterminated name", end)
		}
		if r == end {
			break
		}
	}
	name := string(p.src[s : p.pos-1])
	if name == "" {
		return "", p.errf("missing group name")
	}
	for i, r := range name {
		if !(r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || (i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)))) {
			return "", p.errf("bad character in group name %q", name)
		}
	}
	return name, nil
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

// parseEscape parses an escape outside a class (after the backslash).
func (p *rxParser) parseEscape(fl rxFlags) (string, bool, error) {
	c := p.next()
	if c < 0 {
		return "", false, p.errf("bad escape (end of pattern)")
	}
	switch c {
	case 'A':
		return `\A`, true, nil
	case 'Z':
		return `\z`, true, nil
	case 'b', 'B':
		if fl.a {
			return `\` + string(c), true, nil
		}
		p.unsup(`\` + string(c) + ` is Unicode-aware in Python but ASCII-only in RE2`)
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
					return "", false, p.errf("octal escape value \\%s outside of range 0-0o377", s)
				}
				return quoteRune(rune(v), false), false, nil
			}
		}
		g, _ := strconv.Atoi(s)
		if g > p.opened {
			return "", false, p.errf("invalid group reference %d", g)
		}
		if !p.closed[g] {
			return "", false, p.errf("cannot refer to an open group")
		}
		p.unsup(`backreference \` + s + ` is not in RE2`)
		return "(?:)", false, nil
	}
	r, err := p.commonEscape(c, false)
	if err != nil {
		return "", false, err
	}
	return quoteRune(r, false), false, nil
}

func isOct(r rune) bool { return r >= '0' && r <= '7' }

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// commonEscape handles the escapes that are literals both in and out of a
// class: \a \f \n \r \t \v \\ \xhh \uhhhh \Uhhhhhhhh \N{...} octal and
// escaped punctuation.
func (p *rxParser) commonEscape(c rune, inClass bool) (rune, error) {
	switch c {
	case 'a':
		return 7, nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'v':
		return '\v', nil
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
		s := p.pos
		for p.pos-s < n && isHex(p.peek()) {
			p.next()
		}
		h := string(p.src[s:p.pos])
		if len(h) != n {
			return 0, p.errf(`incomplete escape \%c%s`, c, h)
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		if v > unicode.MaxRune {
			return 0, p.errf(`bad escape \%c%s`, c, h)
		}
		return rune(v), nil
	case 'N':
		if p.next() != '{' {
			return 0, p.errf("missing {")
		}
		s := p.pos
		for p.peek() >= 0 && p.peek() != '}' {
			p.next()
		}
		if p.next() != '}' {
			return 0, p.errf("missing }, unterminated name")
		}
		if p.pos-1 == s {
			return 0, p.errf("missing character name")
		}
		p.unsup(`\N{` + string(p.src[s:p.pos-1]) + `} (a named character) is not translated`)
		return 'N', nil
	case '0':
		s := string(c)
		for len(s) < 3 && isOct(p.peek()) {
			s += string(p.next())
		}
		v, _ := strconv.ParseUint(s, 8, 32)
		return rune(v), nil
	}
	if inClass && isOct(c) {
		s := string(c)
		for len(s) < 3 && isOct(p.peek()) {
			s += string(p.next())
		}
		v, _ := strconv.ParseUint(s, 8, 32)
		if v > 0o377 {
			return 0, p.errf("octal escape value \\%s outside of range 0-0o377", s)
		}
		return rune(v), nil
	}
	if c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
		return 0, p.errf(`bad escape \%c`, c)
	}
	return c, nil
}

// parseClass parses a set after its '['.
func (p *rxParser) parseClass(fl rxFlags) (string, error) {
	negate := false
	if p.peek() == '^' {
		p.next()
		negate = true
	}
	var pos strings.Builder
	var neg []string // complemented categories
	n := 0
	type elem struct {
		lit    bool
		r      rune
		cat    string
		catNeg bool
	}
	read := func(this rune) (elem, error) {
		if this != '\\' {
			return elem{lit: true, r: this}, nil
		}
		c := p.next()
		if c < 0 {
			return elem{}, p.errf("unterminated character set")
		}
		switch c {
		case 'd', 'D', 'w', 'W', 's', 'S':
			t, ng := category(c, fl.a)
			return elem{cat: t, catNeg: ng}, nil
		case 'b':
			return elem{lit: true, r: '\b'}, nil
		}
		if c >= '8' && c <= '9' {
			return elem{}, p.errf(`bad escape \%c`, c)
		}
		r, err := p.commonEscape(c, true)
		return elem{lit: true, r: r}, err
	}
	add := func(e elem) {
		n++
		switch {
		case e.lit:
			pos.WriteString(quoteRune(e.r, true))
		case e.catNeg:
			neg = append(neg, e.cat)
		default:
			pos.WriteString(e.cat)
		}
	}
	for {
		this := p.next()
		if this < 0 {
			return "", p.errf("unterminated character set")
		}
		if this == ']' && n > 0 {
			break
		}
		e1, err := read(this)
		if err != nil {
			return "", err
		}
		if p.peek() == '-' {
			p.next()
			that := p.next()
			if that < 0 {
				return "", p.errf("unterminated character set")
			}
			if that == ']' {
				add(e1)
				add(elem{lit: true, r: '-'})
				break
			}
			e2, err := read(that)
			if err != nil {
				return "", err
			}
			if !e1.lit || !e2.lit {
				return "", p.errf("bad character range")
			}
			if e2.r < e1.r {
				return "", p.errf("bad character range")
			}
			n++
			pos.WriteString(quoteRune(e1.r, true) + "-" + quoteRune(e2.r, true))
			continue
		}
		add(e1)
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
