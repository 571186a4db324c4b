// Ported from CPython 3.11.2 Parser/tokenizer.c (PSF License); see NOTICE.

package python

import (
	"fmt"
	"unicode/utf8"
)

// This file ports the parts of CPython 3.11's Parser/tokenizer.c (tok_get)
// that an expression in 'eval' mode can reach. The tokenizer works on
// bytes, exactly like the C one, so byte-level quirks carry over.

// tokKind is the subset of CPython token types the expression grammar sees.
type tokKind uint8

const (
	tokEndMarker tokKind = iota
	tokName              // identifiers and keywords (keywords are told apart by text)
	tokNumber
	tokString
	tokNewline
	tokIndent
	tokOp    // every operator and stray punctuation character, told apart by text
	tokError // the tokenizer failed; the parser reports tokenizer.err
)

type token struct {
	kind tokKind
	text string
}

const (
	maxLevel = 200 // MAXLEVEL: bracket nesting limit of the tokenizer
	tabSize  = 8
	eof      = -1
)

// tokenizer produces tokens on demand: CPython's parser pulls tokens lazily,
// so a tokenizer error after the point where parsing fails is never seen.
type tokenizer struct {
	buf      []byte
	pos      int
	start    int
	level    int
	parens   [maxLevel]byte
	atbol    bool
	indented bool
	pendin   int
	err      *pyError
}

func newTokenizer(src []byte, execInput bool) *tokenizer {
	return &tokenizer{buf: translateNewlines(src, execInput), atbol: true}
}

// translateNewlines mirrors translate_newlines(): CRLF and CR become LF, and
// exec-mode input (used for f-string expressions) gets a trailing newline.
func translateNewlines(s []byte, execInput bool) []byte {
	out := make([]byte, 0, len(s)+1)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			out = append(out, '\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, c)
	}
	if execInput && (len(out) == 0 || out[len(out)-1] != '\n') {
		out = append(out, '\n')
	}
	return out
}

func (t *tokenizer) nextc() int {
	if t.pos >= len(t.buf) {
		return eof
	}
	c := t.buf[t.pos]
	t.pos++
	return int(c)
}

func (t *tokenizer) backup(c int) {
	if c != eof {
		t.pos--
	}
}

func (t *tokenizer) fail(format string, args ...any) token {
	if t.err == nil {
		t.err = &pyError{typ: "SyntaxError", msg: fmt.Sprintf(format, args...)}
	}
	return token{kind: tokError}
}

func (t *tokenizer) tok(kind tokKind) token {
	return token{kind: kind, text: string(t.buf[t.start:t.pos])}
}

func isPotentialIdentifierStart(c int) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 128
}

func isPotentialIdentifierChar(c int) bool {
	return isPotentialIdentifierStart(c) || (c >= '0' && c <= '9')
}

func isDigit(c int) bool { return c >= '0' && c <= '9' }

func isXDigit(c int) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// continuationLine handles a backslash outside strings: only a newline may
// follow it, and the input may not end right after it.
func (t *tokenizer) continuationLine() (int, bool) {
	c := t.nextc()
	if c != '\n' {
		t.fail("unexpected character after line continuation character")
		return 0, false
	}
	c = t.nextc()
	if c == eof {
		t.fail("unexpected EOF while parsing")
		return 0, false
	}
	t.backup(c)
	return c, true
}

// next returns the next token; after a tokError it keeps returning tokError.
func (t *tokenizer) next() token {
	if t.err != nil {
		return token{kind: tokError}
	}
nextline:
	blankline := false
	if t.atbol {
		t.atbol = false
		col, contCol := 0, 0
		c := 0
	indentation:
		for {
			c = t.nextc()
			switch c {
			case ' ':
				col++
			case '\t':
				col = (col/tabSize + 1) * tabSize
			case '\f':
				col = 0
			case '\\':
				// The first backslash fixes the indentation of what follows.
				if contCol == 0 {
					contCol = col
				}
				if _, ok := t.continuationLine(); !ok {
					return token{kind: tokError}
				}
			default:
				break indentation
			}
		}
		t.backup(c)
		if c == '#' || c == '\n' {
			blankline = true // whitespace/comment-only lines are ignored
		}
		if !blankline && t.level == 0 && col > 0 && !t.indented {
			// Only one indentation level is reachable in eval mode: the
			// INDENT token always makes the parse fail.
			t.indented = true
			t.pendin++
		}
	}
	t.start = t.pos
	if t.pendin > 0 {
		t.pendin--
		return token{kind: tokIndent}
	}

again:
	c := t.nextc()
	for c == ' ' || c == '\t' || c == '\f' {
		c = t.nextc()
	}
	t.start = t.pos - 1
	if c == eof {
		t.start = t.pos
	}
	if c == '#' {
		for c != eof && c != '\n' {
			c = t.nextc()
		}
	}
	if c == eof {
		if t.level > 0 {
			return t.fail("'%c' was never closed", t.parens[t.level-1])
		}
		return token{kind: tokEndMarker}
	}

	if isPotentialIdentifierStart(c) {
		// String prefixes: b, r, u, f in the combinations Python accepts.
		sawB, sawR, sawU, sawF := false, false, false, false
		for {
			switch {
			case !(sawB || sawU || sawF) && (c == 'b' || c == 'B'):
				sawB = true
			case !(sawB || sawU || sawR || sawF) && (c == 'u' || c == 'U'):
				sawU = true
			case !(sawR || sawU) && (c == 'r' || c == 'R'):
				sawR = true
			case !(sawF || sawB || sawU) && (c == 'f' || c == 'F'):
				sawF = true
			default:
				goto identifier
			}
			c = t.nextc()
			if c == '"' || c == '\'' {
				return t.stringToken(c)
			}
		}
	identifier:
		nonASCII := false
		for isPotentialIdentifierChar(c) {
			if c >= 128 {
				nonASCII = true
			}
			c = t.nextc()
		}
		t.backup(c)
		if nonASCII && !t.verifyIdentifier() {
			return token{kind: tokError}
		}
		return t.tok(tokName)
	}

	if c == '\n' {
		t.atbol = true
		if blankline || t.level > 0 {
			goto nextline
		}
		return token{kind: tokNewline, text: ""}
	}

	if c == '.' {
		c = t.nextc()
		if isDigit(c) {
			return t.fraction(c)
		}
		if c == '.' {
			c2 := t.nextc()
			if c2 == '.' {
				return t.tok(tokOp)
			}
			t.backup(c2)
			t.backup('.')
		} else {
			t.backup(c)
		}
		return t.tok(tokOp)
	}

	if isDigit(c) {
		return t.number(c)
	}

	if c == '\'' || c == '"' {
		return t.stringToken(c)
	}

	if c == '\\' {
		if _, ok := t.continuationLine(); !ok {
			return token{kind: tokError}
		}
		goto again
	}

	// Two- and three-character operators.
	c2 := t.nextc()
	if isTwoCharOp(c, c2) {
		c3 := t.nextc()
		if !isThreeCharOp(c, c2, c3) {
			t.backup(c3)
		}
		return t.tok(tokOp)
	}
	t.backup(c2)

	switch c {
	case '(', '[', '{':
		if t.level >= maxLevel {
			return t.fail("too many nested parentheses")
		}
		t.parens[t.level] = byte(c)
		t.level++
	case ')', ']', '}':
		if t.level == 0 {
			return t.fail("unmatched '%c'", c)
		}
		t.level--
		opening := t.parens[t.level]
		if !(opening == '(' && c == ')' || opening == '[' && c == ']' || opening == '{' && c == '}') {
			return t.fail("closing parenthesis '%c' does not match opening parenthesis '%c'", c, opening)
		}
	}
	if c < ' ' || c == 0x7f {
		return t.fail("invalid non-printable character U+%04X", c)
	}
	// Any other character is a one-character OP token; characters such as
	// '$', '?' or '!' match no grammar rule, which makes the parse fail.
	return t.tok(tokOp)
}

func isTwoCharOp(c1, c2 int) bool {
	switch c1 {
	case '!', '%', '&', '+', '^', '|', '@', ':':
		return c2 == '='
	case '*':
		return c2 == '*' || c2 == '='
	case '-':
		return c2 == '=' || c2 == '>'
	case '/':
		return c2 == '/' || c2 == '='
	case '<':
		return c2 == '<' || c2 == '=' || c2 == '>'
	case '=':
		return c2 == '='
	case '>':
		return c2 == '=' || c2 == '>'
	}
	return false
}

func isThreeCharOp(c1, c2, c3 int) bool {
	if c3 != '=' {
		return false
	}
	return (c1 == '*' && c2 == '*') || (c1 == '/' && c2 == '/') ||
		(c1 == '<' && c2 == '<') || (c1 == '>' && c2 == '>')
}

// verifyIdentifier checks a NAME token that contains non-ASCII bytes
// against XID_Start / XID_Continue (Unicode 14, as Python 3.11).
func (t *tokenizer) verifyIdentifier() bool {
	s := t.buf[t.start:t.pos]
	first := true
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		ok := isXIDContinue(r)
		if first {
			ok = r == '_' || isXIDStart(r)
			first = false
		}
		if !ok {
			if IsPrintable(r) {
				t.fail("invalid character '%c' (U+%04X)", r, r)
			} else {
				t.fail("invalid non-printable character U+%04X", r)
			}
			return false
		}
	}
	return true
}

// verifyEndOfNumber mirrors verify_end_of_number(): a number directly
// followed by certain keywords only warns; followed by any other identifier
// character it is an error.
func (t *tokenizer) verifyEndOfNumber(c int, kind string) bool {
	r := false
	switch c {
	case 'a':
		r = t.lookahead("nd")
	case 'e':
		r = t.lookahead("lse")
	case 'f':
		r = t.lookahead("or")
	case 'i':
		c2 := t.nextc()
		r = c2 == 'f' || c2 == 'n' || c2 == 's'
		t.backup(c2)
	case 'o':
		r = t.lookahead("r")
	case 'n':
		r = t.lookahead("ot")
	}
	if r {
		return true // a SyntaxWarning only
	}
	if isPotentialIdentifierChar(c) {
		t.backup(c)
		t.fail("invalid %s literal", kind)
		return false
	}
	return true
}

func (t *tokenizer) lookahead(test string) bool {
	save := t.pos
	for i := 0; i < len(test); i++ {
		if t.nextc() != int(test[i]) {
			t.pos = save
			return false
		}
	}
	c := t.nextc()
	t.pos = save
	return !isPotentialIdentifierChar(c)
}

// decimalTail consumes digits with single underscores between them and
// returns the first character after them (or -2 after an error).
func (t *tokenizer) decimalTail() int {
	for {
		c := t.nextc()
		for isDigit(c) {
			c = t.nextc()
		}
		if c != '_' {
			return c
		}
		c = t.nextc()
		if !isDigit(c) {
			t.backup(c)
			t.fail("invalid decimal literal")
			return -2
		}
	}
}

func (t *tokenizer) number(c int) token {
	if c == '0' {
		c = t.nextc()
		switch c {
		case 'x', 'X':
			c = t.nextc()
			for {
				if c == '_' {
					c = t.nextc()
				}
				if !isXDigit(c) {
					t.backup(c)
					return t.fail("invalid hexadecimal literal")
				}
				for isXDigit(c) {
					c = t.nextc()
				}
				if c != '_' {
					break
				}
			}
			if !t.verifyEndOfNumber(c, "hexadecimal") {
				return token{kind: tokError}
			}
			t.backup(c)
			return t.tok(tokNumber)
		case 'o', 'O', 'b', 'B':
			kind, maxDigit := "octal", '7'
			if c == 'b' || c == 'B' {
				kind, maxDigit = "binary", '1'
			}
			c = t.nextc()
			for {
				if c == '_' {
					c = t.nextc()
				}
				if c < '0' || c > int(maxDigit) {
					if isDigit(c) {
						return t.fail("invalid digit '%c' in %s literal", c, kind)
					}
					t.backup(c)
					return t.fail("invalid %s literal", kind)
				}
				for c >= '0' && c <= int(maxDigit) {
					c = t.nextc()
				}
				if c != '_' {
					break
				}
			}
			if isDigit(c) {
				return t.fail("invalid digit '%c' in %s literal", c, kind)
			}
			if !t.verifyEndOfNumber(c, kind) {
				return token{kind: tokError}
			}
			t.backup(c)
			return t.tok(tokNumber)
		}
		// Maybe an old-style octal; "0", "00", "0_0" are fine.
		nonzero := false
		for {
			if c == '_' {
				c = t.nextc()
				if !isDigit(c) {
					t.backup(c)
					return t.fail("invalid decimal literal")
				}
			}
			if c != '0' {
				break
			}
			c = t.nextc()
		}
		if isDigit(c) {
			nonzero = true
			if c = t.decimalTail(); c == -2 {
				return token{kind: tokError}
			}
		}
		switch {
		case c == '.':
			return t.fraction(t.nextc())
		case c == 'e' || c == 'E':
			return t.exponent(c)
		case c == 'j' || c == 'J':
			return t.imaginary()
		case nonzero:
			t.backup(c)
			return t.fail("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers")
		}
		if !t.verifyEndOfNumber(c, "decimal") {
			return token{kind: tokError}
		}
		t.backup(c)
		return t.tok(tokNumber)
	}
	if c = t.decimalTail(); c == -2 {
		return token{kind: tokError}
	}
	if c == '.' {
		return t.fraction(t.nextc())
	}
	return t.afterFraction(c)
}

// fraction continues a number after its '.'; c is the character after it.
func (t *tokenizer) fraction(c int) token {
	if isDigit(c) {
		if c = t.decimalTail(); c == -2 {
			return token{kind: tokError}
		}
	}
	return t.afterFraction(c)
}

func (t *tokenizer) afterFraction(c int) token {
	if c == 'e' || c == 'E' {
		return t.exponent(c)
	}
	if c == 'j' || c == 'J' {
		return t.imaginary()
	}
	if !t.verifyEndOfNumber(c, "decimal") {
		return token{kind: tokError}
	}
	t.backup(c)
	return t.tok(tokNumber)
}

func (t *tokenizer) exponent(e int) token {
	c := t.nextc()
	if c == '+' || c == '-' {
		c = t.nextc()
		if !isDigit(c) {
			t.backup(c)
			return t.fail("invalid decimal literal")
		}
	} else if !isDigit(c) {
		// "1else": the 'e' belongs to a keyword, not to the number.
		t.backup(c)
		if !t.verifyEndOfNumber(e, "decimal") {
			return token{kind: tokError}
		}
		t.backup(e)
		return t.tok(tokNumber)
	}
	if c = t.decimalTail(); c == -2 {
		return token{kind: tokError}
	}
	if c == 'j' || c == 'J' {
		return t.imaginary()
	}
	if !t.verifyEndOfNumber(c, "decimal") {
		return token{kind: tokError}
	}
	t.backup(c)
	return t.tok(tokNumber)
}

func (t *tokenizer) imaginary() token {
	c := t.nextc()
	if !t.verifyEndOfNumber(c, "imaginary") {
		return token{kind: tokError}
	}
	t.backup(c)
	return t.tok(tokNumber)
}

// stringToken scans a string literal whose opening quote was just read.
// Escapes are only skipped here; decoding happens in the parser action.
func (t *tokenizer) stringToken(quote int) token {
	quoteSize, endQuoteSize := 1, 0
	c := t.nextc()
	if c == quote {
		c = t.nextc()
		if c == quote {
			quoteSize = 3
		} else {
			endQuoteSize = 1 // empty string
		}
	}
	if c != quote {
		t.backup(c)
	}
	for endQuoteSize != quoteSize {
		c = t.nextc()
		if c == eof || (quoteSize == 1 && c == '\n') {
			if quoteSize == 3 {
				return t.fail("unterminated triple-quoted string literal")
			}
			return t.fail("unterminated string literal")
		}
		if c == quote {
			endQuoteSize++
		} else {
			endQuoteSize = 0
			if c == '\\' {
				t.nextc()
			}
		}
	}
	return t.tok(tokString)
}
