// Ported from CPython 3.11.2 Modules/_json.c, the scanner of json.loads (PSF License); see NOTICE.

package policyfile

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// A port of CPython 3.11's json.loads for str input with the default
// options (the C scanner in Modules/_json.c, strict=True): same accepted
// language, same values, same duplicate-key behaviour.

// jsonMaxDepth approximates the nesting depth at which the C scanner's
// Py_EnterRecursiveCall raises RecursionError. The real limit depends on
// the Python stack depth of the caller (sys.getrecursionlimit() is 1000);
// parse_file_contents called from a shallow stack accepts 991 levels.
const jsonMaxDepth = 990

type jsonError struct {
	off       int
	msg       string
	recursion bool
}

type jsonParser struct {
	s     string
	lines []int // byte offsets of line starts
	depth int
	err   *jsonError
	// cache for pos
	lastLine, lastOff, lastCol int
}

// newJSONParser is a parser of s, its line starts found.
func newJSONParser(s string) *jsonParser {
	p := &jsonParser{s: s, lines: []int{0}, lastCol: 1}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	return p
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseJSON returns the decoded object or the error json.loads raises.
func parseJSON(s string) (*pyObj, *jsonError) {
	if strings.HasPrefix(s, "\ufeff") {
		return nil, &jsonError{msg: "Unexpected UTF-8 BOM (decode using utf-8-sig)"}
	}
	p := newJSONParser(s)
	i := p.ws(0)
	o, end := p.value(i)
	if p.err != nil {
		return nil, p.err
	}
	end = p.ws(end)
	if end != len(s) {
		return nil, &jsonError{off: end, msg: "Extra data"}
	}
	return o, nil
}

// pos returns the position of byte offset off. Offsets are requested in
// increasing order, so the column is counted from the previous request.
func (p *jsonParser) pos(off int) pos {
	l := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > off }) - 1
	from, col := p.lines[l], 1
	if p.lastLine == l && p.lastOff <= off && p.lastOff >= from {
		from, col = p.lastOff, p.lastCol
	}
	col += utf8.RuneCountInString(p.s[from:off])
	p.lastLine, p.lastOff, p.lastCol = l, off, col
	return pos{l + 1, col}
}

func (p *jsonParser) fail(off int, msg string) (*pyObj, int) {
	if p.err == nil {
		p.err = &jsonError{off: off, msg: msg}
	}
	return nil, -1
}

func (p *jsonParser) ws(i int) int {
	for i < len(p.s) && isJSONSpace(p.s[i]) {
		i++
	}
	return i
}

// value is scan_once_unicode: it parses the value starting at i and
// returns it with the offset just after it.
func (p *jsonParser) value(i int) (*pyObj, int) {
	s := p.s
	if i >= len(s) {
		return p.fail(i, "Expecting value")
	}
	switch s[i] {
	case '"':
		str, end := p.str(i + 1)
		if end < 0 {
			return nil, -1
		}
		return &pyObj{kind: pyStr, s: str}, end
	case '{', '[':
		p.depth++
		if p.depth > jsonMaxDepth {
			p.err = &jsonError{off: i, recursion: true,
				msg: "maximum recursion depth exceeded while decoding a JSON object from a unicode string"}
			return nil, -1
		}
		var o *pyObj
		var end int
		if s[i] == '{' {
			o, end = p.object(i + 1)
		} else {
			o, end = p.array(i + 1)
		}
		p.depth--
		return o, end
	case 'n':
		if strings.HasPrefix(s[i:], "null") {
			return &pyObj{kind: pyNone}, i + 4
		}
	case 't':
		if strings.HasPrefix(s[i:], "true") {
			return &pyObj{kind: pyBool, b: true}, i + 4
		}
	case 'f':
		if strings.HasPrefix(s[i:], "false") {
			return &pyObj{kind: pyBool}, i + 5
		}
	case 'N':
		if strings.HasPrefix(s[i:], "NaN") {
			return &pyObj{kind: pyFloat, f: math.NaN()}, i + 3
		}
	case 'I':
		if strings.HasPrefix(s[i:], "Infinity") {
			return &pyObj{kind: pyFloat, f: math.Inf(1)}, i + 8
		}
	case '-':
		if strings.HasPrefix(s[i:], "-Infinity") {
			return &pyObj{kind: pyFloat, f: math.Inf(-1)}, i + 9
		}
	}
	return p.number(i)
}

// number is _match_number_unicode.
func (p *jsonParser) number(start int) (*pyObj, int) {
	s := p.s
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	case i < len(s) && s[i] == '0':
		i++
	default:
		return p.fail(start, "Expecting value")
	}
	isFloat := false
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		isFloat = true
		i += 2
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e := i
		i++
		if i+1 < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if isDigit(s[i-1]) {
			isFloat = true
		} else {
			i = e
		}
	}
	lit := s[start:i]
	if isFloat {
		f, err := pyFloatParse(lit)
		if err != nil {
			return p.fail(start, err.Error())
		}
		return &pyObj{kind: pyFloat, f: f}, i
	}
	n, err := pyIntParse(lit, 10)
	if err != nil {
		// ValueError (int_max_str_digits): oslo falls back to YAML.
		return p.fail(start, err.Error())
	}
	return &pyObj{kind: pyInt, i: n}, i
}

// str is scanstring_unicode with strict=True; i is just after the opening
// quote. It returns the string and the offset after the closing quote.
func (p *jsonParser) str(i int) (string, int) {
	s := p.s
	begin := i - 1
	var b []byte
	for {
		j := i
		for j < len(s) && s[j] != '"' && s[j] != '\\' {
			if s[j] <= 0x1f {
				p.fail(j, "Invalid control character at")
				return "", -1
			}
			j++
		}
		if j >= len(s) {
			p.fail(begin, "Unterminated string starting at")
			return "", -1
		}
		b = append(b, s[i:j]...)
		if s[j] == '"' {
			return string(b), j + 1
		}
		// Backslash.
		j++
		if j >= len(s) {
			p.fail(begin, "Unterminated string starting at")
			return "", -1
		}
		c := s[j]
		if c != 'u' {
			switch c {
			case '"', '\\', '/':
				b = append(b, c)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			default:
				p.fail(j-1, "Invalid \\escape")
				return "", -1
			}
			i = j + 1
			continue
		}
		// \uXXXX; the C code needs one more character after the digits.
		j++
		if j+4 >= len(s) {
			p.fail(j-1, "Invalid \\uXXXX escape")
			return "", -1
		}
		r, ok := hex4(s[j : j+4])
		if !ok {
			p.fail(j-1, "Invalid \\uXXXX escape")
			return "", -1
		}
		j += 4
		if r >= 0xD800 && r <= 0xDBFF && j+6 < len(s) && s[j] == '\\' && s[j+1] == 'u' {
			r2, ok := hex4(s[j+2 : j+6])
			if !ok {
				p.fail(j+1, "Invalid \\uXXXX escape")
				return "", -1
			}
			if r2 >= 0xDC00 && r2 <= 0xDFFF {
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				j += 6
			}
		}
		b = python.AppendRuneWTF8(b, r)
		i = j
	}
}

func hex4(h string) (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		c := h[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// object is _parse_object_unicode; i is just after '{'.
func (p *jsonParser) object(i int) (*pyObj, int) {
	s := p.s
	d := newStrDict()
	i = p.ws(i)
	if i < len(s) && s[i] == '}' {
		return &pyObj{kind: pyDict, dict: d}, i + 1
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return p.fail(i, "Expecting property name enclosed in double quotes")
		}
		keyPos := p.pos(i)
		key, end := p.str(i + 1)
		if end < 0 {
			return nil, -1
		}
		i = p.ws(end)
		if i >= len(s) || s[i] != ':' {
			return p.fail(i, "Expecting ':' delimiter")
		}
		i = p.ws(i + 1)
		valPos := p.pos(i)
		val, end := p.value(i)
		if end < 0 {
			return nil, -1
		}
		// Keys are str: hashing cannot fail.
		_ = d.set(&pyObj{kind: pyStr, s: key}, val, keyPos, valPos)
		i = p.ws(end)
		if i < len(s) && s[i] == '}' {
			return &pyObj{kind: pyDict, dict: d}, i + 1
		}
		if i >= len(s) || s[i] != ',' {
			return p.fail(i, "Expecting ',' delimiter")
		}
		i = p.ws(i + 1)
	}
}

// array is _parse_array_unicode; i is just after '['.
func (p *jsonParser) array(i int) (*pyObj, int) {
	s := p.s
	o := &pyObj{kind: pyList}
	i = p.ws(i)
	if i < len(s) && s[i] == ']' {
		return o, i + 1
	}
	for {
		vp := p.pos(i)
		val, end := p.value(i)
		if end < 0 {
			return nil, -1
		}
		o.items = append(o.items, val)
		o.pos = append(o.pos, vp)
		i = p.ws(end)
		if i < len(s) && s[i] == ']' {
			return o, i + 1
		}
		if i >= len(s) || s[i] != ',' {
			return p.fail(i, "Expecting ',' delimiter")
		}
		i = p.ws(i + 1)
	}
}
