// Ported from CPython 3.11.2 Parser/string_parser.c (PSF License); see NOTICE.

package python

import (
	"fmt"
	"unicode/utf8"
)

// String literals: _PyPegen_concatenate_strings, _PyPegen_parsestr and the
// f-string scanner of CPython 3.11 (Parser/string_parser.c). Decoding
// errors, bytes/str mixing and malformed f-strings are SyntaxErrors raised
// by the parser action, even when the grammar matched.

// fstringState is the FstringParser: the pieces of the result so far.
type fstringState struct {
	fmode bool
	str   []rune  // text of the pending constant piece
	parts []*node // JoinedStr values (Constant and FormattedValue nodes)
}

func (st *fstringState) flush() {
	if len(st.str) > 0 {
		st.parts = append(st.parts, constant(value{kind: vStr, s: st.str}))
		st.str = nil
	}
}

// concatStrings is the action of `strings: STRING+`.
func (p *parser) concatStrings(toks []token) (*node, *pyError) {
	var st fstringState
	var bs []byte
	bytesMode := false
	for i, t := range toks {
		isBytes, raw, isF, body := splitStringToken(t.text)
		var s []rune
		var b []byte
		if !isF {
			var err *pyError
			if isBytes {
				if b, err = decodeBytesLiteral(body, raw); err != nil {
					return nil, err
				}
			} else {
				var approx bool
				if s, approx, err = decodeStrLiteral(body, raw); err != nil {
					return nil, err
				}
				p.approx = p.approx || approx
			}
		}
		if i != 0 && bytesMode != isBytes {
			return nil, syntaxError("cannot mix bytes and nonbytes literals")
		}
		bytesMode = isBytes
		switch {
		case isF:
			if err := p.concatFstring(&st, body, raw); err != nil {
				return nil, err
			}
		case isBytes:
			bs = append(bs, b...)
		default:
			st.str = append(st.str, s...)
		}
	}
	if bytesMode {
		return constant(value{kind: vBytes, b: bs}), nil
	}
	if !st.fmode {
		return constant(value{kind: vStr, s: st.str}), nil
	}
	st.flush()
	return newNode(nOther, st.parts...), nil // JoinedStr
}

// splitStringToken separates prefix flags, quotes and body of a STRING token.
func splitStringToken(text string) (isBytes, raw, isF bool, body []byte) {
	i := 0
	for ; i < len(text) && text[i] != '\'' && text[i] != '"'; i++ {
		switch text[i] {
		case 'b', 'B':
			isBytes = true
		case 'r', 'R':
			raw = true
		case 'f', 'F':
			isF = true
		}
	}
	q := 1
	if len(text)-i >= 6 && text[i+1] == text[i] && text[i+2] == text[i] {
		q = 3
	}
	return isBytes, raw, isF, []byte(text[i+q : len(text)-q])
}

func decodeBytesLiteral(body []byte, raw bool) ([]byte, *pyError) {
	for _, c := range body {
		if c >= 0x80 {
			return nil, syntaxError("bytes can only contain ASCII literal characters")
		}
	}
	if raw {
		return body, nil
	}
	return decodeBytesEscapes(body)
}

func decodeStrLiteral(body []byte, raw bool) ([]rune, bool, *pyError) {
	if raw {
		return []rune(string(body)), false, nil
	}
	return decodeUnicodeEscapes(body)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// simpleEscape maps the one-letter escapes shared by str and bytes.
func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '\\', '\'', '"':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 't':
		return '\t', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 'v':
		return '\v', true
	case 'a':
		return '\a', true
	}
	return 0, false
}

// decodeBytesEscapes is _PyBytes_DecodeEscape: octal escapes keep their
// low 8 bits, unknown escapes are kept verbatim, a bad \x is an error.
func decodeBytesEscapes(s []byte) ([]byte, *pyError) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i >= len(s) {
			return nil, &pyError{typ: "SyntaxError", msg: "(value error) Trailing \\ in string"}
		}
		c = s[i]
		i++
		if e, ok := simpleEscape(c); ok {
			out = append(out, e)
			continue
		}
		switch {
		case c == '\n':
		case isOctal(c):
			v := int(c - '0')
			for n := 0; n < 2 && i < len(s) && isOctal(s[i]); n++ {
				v = v<<3 + int(s[i]-'0')
				i++
			}
			out = append(out, byte(v))
		case c == 'x':
			if i+1 < len(s) && hexValue(s[i]) >= 0 && hexValue(s[i+1]) >= 0 {
				out = append(out, byte(hexValue(s[i])<<4|hexValue(s[i+1])))
				i += 2
				continue
			}
			return nil, &pyError{typ: "SyntaxError", msg: fmt.Sprintf("(value error) invalid \\x escape at position %d", i-2)}
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

func unicodeError(msg string) *pyError {
	return &pyError{typ: "SyntaxError", msg: "(unicode error) 'unicodeescape' codec can't decode bytes: " + msg}
}

// decodeUnicodeEscapes is decode_unicode_with_escapes + the unicode_escape
// codec. \N{NAME} is resolved with the Unicode 14 name table of
// charnames.go; approx reports an escape left unresolved because that
// table failed to load (a U+FFFD stands in for it).
func decodeUnicodeEscapes(s []byte) (out []rune, approx bool, err *pyError) {
	out = make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRune(s[i:])
			out = append(out, r)
			i += n
			continue
		}
		i++
		if c != '\\' {
			out = append(out, rune(c))
			continue
		}
		// A backslash at the end or before a non-ASCII character is kept
		// (CPython rewrites it as \u005c before decoding).
		if i >= len(s) || s[i] >= 0x80 {
			out = append(out, '\\')
			continue
		}
		c = s[i]
		i++
		if e, ok := simpleEscape(c); ok {
			out = append(out, rune(e))
			continue
		}
		switch c {
		case '\n':
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := rune(c - '0')
			for n := 0; n < 2 && i < len(s) && isOctal(s[i]); n++ {
				v = v<<3 + rune(s[i]-'0')
				i++
			}
			out = append(out, v)
		case 'x', 'u', 'U':
			width := 2
			if c == 'u' {
				width = 4
			} else if c == 'U' {
				width = 8
			}
			var v uint32
			for n := 0; n < width; n++ {
				if i >= len(s) || hexValue(s[i]) < 0 {
					return nil, false, unicodeError(fmt.Sprintf("truncated \\%c escape", c))
				}
				v = v<<4 | uint32(hexValue(s[i]))
				i++
			}
			if v > utf8.MaxRune {
				return nil, false, unicodeError("illegal Unicode character")
			}
			out = append(out, rune(v))
		case 'N':
			if i >= len(s) || s[i] != '{' {
				return nil, false, unicodeError("malformed \\N character escape")
			}
			j := i + 1
			for j < len(s) && s[j] != '}' {
				j++
			}
			if j >= len(s) || j == i+1 {
				return nil, false, unicodeError("malformed \\N character escape")
			}
			db, dbErr := charNames()
			if dbErr != nil {
				// Cannot happen with a tested build; deny rather than guess.
				out = append(out, utf8.RuneError)
				approx = true
				i = j + 1
				continue
			}
			r, ok := db.lookup(s[i+1 : j])
			if !ok {
				return nil, false, unicodeError("unknown Unicode character name")
			}
			out = append(out, r)
			i = j + 1
		default:
			out = append(out, '\\', rune(c)) // invalid escape: kept (DeprecationWarning)
		}
	}
	return out, approx, nil
}

// concatFstring is _PyPegen_FstringParser_ConcatFstring at nesting level 0
// (nested levels only exist inside format specs, which need ':').
func (p *parser) concatFstring(st *fstringState, body []byte, raw bool) *pyError {
	st.fmode = true
	s := 0
	for {
		lit, next, doubled, err := fstringFindLiteral(body, s, raw)
		if err != nil {
			return err
		}
		s = next
		if lit != nil {
			decoded, approx, err := decodeStrLiteral(lit, raw)
			if err != nil {
				return err
			}
			p.approx = p.approx || approx
			st.str = append(st.str, decoded...)
		}
		if doubled {
			continue
		}
		if s >= len(body) || body[s] == '}' {
			break
		}
		fv, next, err := p.fstringFindExpr(body, s)
		if err != nil {
			return err
		}
		s = next
		st.flush()
		st.parts = append(st.parts, fv)
	}
	if s < len(body)-1 {
		return syntaxError("f-string: unexpected end of string")
	}
	return nil
}

// fstringFindLiteral returns the literal text up to the next single '{'
// (or after a doubled brace, with doubled set). A backslash-N-brace name
// escape is skipped so that its braces are not taken for an expression.
func fstringFindLiteral(body []byte, start int, raw bool) (lit []byte, next int, doubled bool, err *pyError) {
	s, end := start, len(body)
	for s < end {
		ch := body[s]
		s++
		if !raw && ch == '\\' && s < end {
			ch = body[s]
			s++
			if ch == 'N' {
				if s < end {
					c := body[s]
					s++
					if c == '{' {
						for s < end {
							c = body[s]
							s++
							if c == '}' {
								break
							}
						}
					}
				}
				continue
			}
		}
		if ch == '{' || ch == '}' {
			if s < end && body[s] == ch {
				return body[start:s], s + 1, true, nil
			}
			if ch == '}' {
				return nil, 0, false, syntaxError("f-string: single '}' is not allowed")
			}
			s--
			break
		}
	}
	if s == start {
		return nil, s, false, nil
	}
	return body[start:s], s, false, nil
}

// fstringFindExpr parses one {expression[=][!conversion]} replacement
// field starting at body[start] == '{'.
func (p *parser) fstringFindExpr(body []byte, start int) (*node, int, *pyError) {
	end := len(body)
	s := start + 1
	exprStart := s
	var quote byte
	tripleQuoted := false
	var parens [maxLevel]byte
	depth := 0
scan:
	for ; s < end; s++ {
		ch := body[s]
		if ch == '\\' {
			return nil, 0, syntaxError("f-string expression part cannot include a backslash")
		}
		switch {
		case quote != 0:
			if ch != quote {
				continue
			}
			if !tripleQuoted {
				quote = 0
			} else if s+2 < end && body[s+1] == ch && body[s+2] == ch {
				s += 2
				quote = 0
			}
		case ch == '\'' || ch == '"':
			tripleQuoted = s+2 < end && body[s+1] == ch && body[s+2] == ch
			if tripleQuoted {
				s += 2
			}
			quote = ch
		case ch == '[' || ch == '{' || ch == '(':
			if depth >= maxLevel {
				return nil, 0, syntaxError("f-string: too many nested parenthesis")
			}
			parens[depth] = ch
			depth++
		case ch == '#':
			return nil, 0, syntaxError("f-string expression part cannot include '#'")
		case depth == 0 && (ch == '!' || ch == ':' || ch == '}' || ch == '=' || ch == '>' || ch == '<'):
			if s+1 < end && body[s+1] == '=' && ch != ':' && ch != '}' {
				s++ // "!=", "==", "<=", ">=" do not end the expression
				continue
			}
			if ch == '>' || ch == '<' {
				continue
			}
			break scan
		case ch == ']' || ch == '}' || ch == ')':
			if depth == 0 {
				return nil, 0, syntaxError(fmt.Sprintf("f-string: unmatched '%c'", ch))
			}
			depth--
			opening := parens[depth]
			if !(opening == '(' && ch == ')' || opening == '[' && ch == ']' || opening == '{' && ch == '}') {
				return nil, 0, syntaxError(fmt.Sprintf("f-string: closing parenthesis '%c' does not match opening parenthesis '%c'", ch, opening))
			}
		}
	}
	if quote != 0 {
		return nil, 0, syntaxError("f-string: unterminated string")
	}
	if depth != 0 {
		return nil, 0, syntaxError(fmt.Sprintf("f-string: unmatched '%c'", parens[depth-1]))
	}
	expecting := syntaxError("f-string: expecting '}'")
	if s >= end {
		return nil, 0, expecting
	}
	expr, err := p.fstringCompileExpr(body[exprStart:s], body[s])
	if err != nil {
		return nil, 0, err
	}
	if body[s] == '=' {
		s++
		for s < end && isCSpace(body[s]) {
			s++
		}
		if s >= end {
			return nil, 0, expecting
		}
	}
	if body[s] == '!' {
		s++
		if s >= end {
			return nil, 0, expecting
		}
		conv := body[s]
		s++
		if conv != 's' && conv != 'r' && conv != 'a' {
			return nil, 0, syntaxError("f-string: invalid conversion character: expected 's', 'r', or 'a'")
		}
	}
	// A format spec would start with ':', which a KIND cannot contain.
	if s >= end || body[s] != '}' {
		return nil, 0, expecting
	}
	return newNode(nOther, expr), s + 1, nil // FormattedValue
}

// isCSpace is Py_ISSPACE (ASCII whitespace).
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// fstringCompileExpr parses the text of a replacement field the way
// fstring_compile_expr does: wrapped in parentheses, by a fresh parser
// whose start rule is `fstring: star_expressions`.
func (p *parser) fstringCompileExpr(expr []byte, endChar byte) (*node, *pyError) {
	blank := true
	for _, c := range expr {
		if c != ' ' && c != '\t' && c != '\n' && c != '\f' {
			blank = false
			break
		}
	}
	if blank {
		if endChar == '!' || endChar == ':' || endChar == '=' {
			return nil, syntaxError(fmt.Sprintf("f-string: expression required before '%c'", endChar))
		}
		return nil, syntaxError("f-string: empty expression not allowed")
	}
	src := make([]byte, 0, len(expr)+2)
	src = append(append(append(src, '('), expr...), ')')
	sub := newParser(src, true)
	n, err := sub.run(sub.fstringRule)
	p.approx = p.approx || sub.approx
	if err != nil {
		if err.typ == "SyntaxError" {
			return nil, syntaxError("f-string: " + err.msg)
		}
		return nil, err
	}
	return n, nil
}
