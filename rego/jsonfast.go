package rego

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
)

// Member is one member of a JSON object read by DecodeMembers.
type Member struct {
	// Key is the member's name.
	Key string
	// Value is the member's value as OrderedValue makes it.
	Value Ordered
	// Raw is the value's JSON text exactly as written.
	Raw string
}

// Kind is the Python type of m's value, as policyfile.LoadJSON reports it.
func (m Member) Kind() policyfile.Kind { return kindOf(m.Value.Value) }

// Len is the number of elements or members of m's value when it is an
// array or an object, 0 otherwise.
func (m Member) Len() int {
	switch x := m.Value.Value.(type) {
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return 0
}

// kindOf is the policyfile kind of a value as convert returns it.
func kindOf(v any) policyfile.Kind {
	switch x := v.(type) {
	case bool:
		return policyfile.Bool
	case json.Number:
		// An int's text is digits; a float's is Python's repr (with a
		// '.', an 'e', or inf and nan written as 1e400, -1e400, NaNText).
		if strings.ContainsAny(string(x), ".e") {
			return policyfile.Float
		}
		return policyfile.Int
	case string:
		return policyfile.String
	case []any:
		return policyfile.List
	case map[string]any:
		return policyfile.Map
	}
	return policyfile.Null
}

// DecodeMembers reads text, one JSON object, in one pass straight to Go
// values: it returns what policyfile.LoadJSONObject returns, each member's
// value through OrderedValue, duplicate members included. It does so only
// for the usual text: ok is false for anything it does not read exactly
// as those would (a syntax error, invalid UTF-8, a string with a lone
// surrogate, NaN or Infinity, an int too long for Python, a repeated key
// inside a member's value, deep nesting), and the caller then takes that
// slower path, which reports the errors.
func DecodeMembers(text string) (members []Member, ok bool) {
	d := newFastJSON(text, 1)
	i := d.ws(0)
	if i >= len(text) || text[i] != '{' {
		return nil, false
	}
	if end := d.items(i+1, true); end < 0 || d.ws(end) != len(text) {
		return nil, false
	}
	if len(d.stack) == 0 {
		return nil, true
	}
	members = make([]Member, len(d.stack))
	for k, it := range d.stack {
		members[k] = Member{Key: it.key, Value: Ordered{Value: it.val, order: it.order}, Raw: text[it.start:it.end]}
	}
	return members, true
}

// decodeFast is DecodeOrdered for the usual text, as DecodeMembers reads
// it: ok is false for anything else.
func decodeFast(text string) (Ordered, bool) {
	d := newFastJSON(text, 0)
	v, order, end := d.value(d.ws(0))
	if end < 0 || d.ws(end) != len(text) {
		return Ordered{}, false
	}
	return Ordered{Value: v, order: order}, true
}

// fastJSON is the one-pass reader of DecodeMembers. Strings without
// escapes are slices of s; the members of the objects and arrays being
// read wait on one stack, so that each map and slice is made once, at its
// size.
type fastJSON struct {
	s     string
	depth int
	stack []fastItem
	buf   []byte // a string's escapes are decoded here
	// room is the stack's first storage, enough for a usual request.
	room [24]fastItem
}

func newFastJSON(text string, depth int) *fastJSON {
	d := &fastJSON{s: text, depth: depth}
	d.stack = d.room[:0]
	return d
}

// fastItem is one member (or element, without a key) being read, its
// value at s[start:end].
type fastItem struct {
	key        string
	val        any
	order      ast.Object
	start, end int
}

// fastMaxDepth is how deep DecodeMembers reads: well under json.loads's
// recursion limit, which the slow path reproduces.
const fastMaxDepth = 200

func (d *fastJSON) ws(i int) int {
	for i < len(d.s) {
		switch d.s[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	return i
}

// value reads the value at i: its Go value, key order tree (see convert)
// and end offset; end is -1 when the text is not the usual.
func (d *fastJSON) value(i int) (v any, order ast.Object, end int) {
	s := d.s
	if i >= len(s) {
		return nil, nil, -1
	}
	switch c := s[i]; c {
	case '"':
		str, end := d.str(i + 1)
		if end < 0 {
			return nil, nil, -1
		}
		return str, nil, end
	case '{', '[':
		if d.depth++; d.depth > fastMaxDepth {
			return nil, nil, -1
		}
		if c == '{' {
			v, order, end = d.object(i + 1)
		} else {
			v, order, end = d.array(i + 1)
		}
		d.depth--
		return v, order, end
	case 'n':
		if strings.HasPrefix(s[i:], "null") {
			return nil, nil, i + 4
		}
	case 't':
		if strings.HasPrefix(s[i:], "true") {
			return true, nil, i + 4
		}
	case 'f':
		if strings.HasPrefix(s[i:], "false") {
			return false, nil, i + 5
		}
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			n, end := d.number(i)
			if end < 0 {
				return nil, nil, -1
			}
			return n, nil, end
		}
	}
	return nil, nil, -1
}

// number reads the number at i as json.loads then convert do: ints
// exactly as written (but -0 is 0), floats as Python's repr, inf as
// 1e400.
func (d *fastJSON) number(i int) (json.Number, int) {
	s := d.s
	start := i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return "", -1
	}
	isFloat := false
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		isFloat = true
		for i += 2; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		k := i + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			isFloat = true
			for i = k + 1; i < len(s) && isDigit(s[i]); i++ {
			}
		}
	}
	lit := s[start:i]
	if !isFloat {
		switch {
		case len(strings.TrimPrefix(lit, "-")) > python.IntMaxStrDigits:
			// Perhaps more digits than int() converts: json.loads fails.
			return "", -1
		case lit == "-0":
			return "0", i
		}
		return json.Number(lit), i
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return "", -1
	}
	switch {
	case math.IsInf(f, 1):
		return "1e400", i
	case math.IsInf(f, -1):
		return "-1e400", i
	}
	return json.Number(python.FloatRepr(f)), i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// str reads the string whose text starts at i (after the quote): a slice
// of s when it has no escapes.
func (d *fastJSON) str(i int) (string, int) {
	s := d.s
	ascii := true
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			if !ascii && !utf8.ValidString(s[i:j]) {
				return "", -1
			}
			return s[i:j], j + 1
		case c == '\\':
			if !ascii && !utf8.ValidString(s[i:j]) {
				return "", -1
			}
			return d.escaped(i, j)
		case c < 0x20:
			return "", -1
		case c >= 0x80:
			ascii = false
		}
	}
	return "", -1
}

// escapes are the characters of JSON's one-letter escapes, by letter.
var escapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escaped reads on a string that starts at i and has its first escape at
// j.
func (d *fastJSON) escaped(i, j int) (string, int) {
	s := d.s
	b := append(d.buf[:0], s[i:j]...)
	for {
		// s[j] is a backslash.
		if j+1 >= len(s) {
			return "", -1
		}
		c := s[j+1]
		j += 2
		if c != 'u' {
			if escapes[c] == 0 {
				return "", -1
			}
			b = append(b, escapes[c])
		} else {
			r, ok := hex4(s, j)
			if !ok {
				return "", -1
			}
			j += 4
			if r >= 0xD800 && r <= 0xDFFF {
				// Only a high surrogate and a low one: a pair.
				if r >= 0xDC00 || j+1 >= len(s) || s[j] != '\\' || s[j+1] != 'u' {
					return "", -1
				}
				r2, ok := hex4(s, j+2)
				if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
					return "", -1
				}
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				j += 6
			}
			b = utf8.AppendRune(b, r)
		}
		// The plain text up to the next escape or the end.
		k, ascii := j, true
		for ; k < len(s) && s[k] != '"' && s[k] != '\\'; k++ {
			if s[k] < 0x20 {
				return "", -1
			}
			if s[k] >= 0x80 {
				ascii = false
			}
		}
		if k >= len(s) || (!ascii && !utf8.ValidString(s[j:k])) {
			return "", -1
		}
		b = append(b, s[j:k]...)
		if s[k] == '"' {
			d.buf = b
			return string(b), k + 1
		}
		j = k
	}
}

// hex4 is the code unit of the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	// Base 16 without a sign, prefix or underscores: four hex digits.
	r, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(r), err == nil
}

// items reads onto the stack the members (obj) or elements of the object
// or array whose first starts at i, after the brace or bracket; end is
// after the closing one, -1 when the text is not the usual.
func (d *fastJSON) items(i int, obj bool) (end int) {
	s := d.s
	closing := byte(']')
	if obj {
		closing = '}'
	}
	if i = d.ws(i); i < len(s) && s[i] == closing {
		return i + 1
	}
	for {
		var key string
		if obj {
			if i >= len(s) || s[i] != '"' {
				return -1
			}
			if key, end = d.str(i + 1); end < 0 {
				return -1
			}
			if i = d.ws(end); i >= len(s) || s[i] != ':' {
				return -1
			}
			i = d.ws(i + 1)
		}
		v, order, end := d.value(i)
		if end < 0 {
			return -1
		}
		d.stack = append(d.stack, fastItem{key: key, val: v, order: order, start: i, end: end})
		if i = d.ws(end); i < len(s) && s[i] == closing {
			return i + 1
		}
		if i >= len(s) || s[i] != ',' {
			return -1
		}
		i = d.ws(i + 1)
	}
}

// object reads the object whose members start at i (after the brace).
func (d *fastJSON) object(i int) (any, ast.Object, int) {
	base := len(d.stack)
	end := d.items(i, true)
	if end < 0 {
		return nil, nil, -1
	}
	items := d.stack[base:]
	m := make(map[string]any, len(items))
	var sub ast.Object
	sorted := true
	for k, it := range items {
		m[it.key] = it.val
		sub = addSub(sub, it.key, it.order)
		sorted = sorted && (k == 0 || items[k-1].key < it.key)
	}
	if len(m) != len(items) {
		// A repeated key: Python keeps its first place and last value.
		return nil, nil, -1
	}
	var keys *ast.Array
	if !sorted {
		ts := make([]*ast.Term, len(items))
		for k, it := range items {
			ts[k] = ast.StringTerm(it.key)
		}
		keys = ast.NewArray(ts...)
	}
	d.stack = d.stack[:base]
	return m, orderTree(keys, sub), end
}

// array reads the array whose elements start at i (after the bracket).
func (d *fastJSON) array(i int) (any, ast.Object, int) {
	base := len(d.stack)
	end := d.items(i, false)
	if end < 0 {
		return nil, nil, -1
	}
	items := d.stack[base:]
	out := make([]any, len(items))
	var sub ast.Object
	for k, it := range items {
		out[k] = it.val
		if it.order != nil {
			sub = addSub(sub, strconv.Itoa(k), it.order)
		}
	}
	d.stack = d.stack[:base]
	return out, orderTree(nil, sub), end
}
