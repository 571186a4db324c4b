// Ported from oslo.policy 4.0.0 oslo_policy/policy.py parse_file_contents (Apache-2.0); see NOTICE.

package policyfile

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// Kind is the Python type of a loaded value, reduced to what the translator
// needs to distinguish.
type Kind int

// Value kinds.
const (
	// Null is Python None (JSON null, YAML ~, null, an empty value, `!`).
	Null Kind = iota
	// Bool is Python bool.
	Bool
	// Int is Python int (arbitrary precision).
	Int
	// Float is Python float (IEEE double, including inf and nan).
	Float
	// String is Python str.
	String
	// List is Python list; YAML !!set, !!omap and !!pairs also load as lists
	// (see Value.Items).
	List
	// Map is Python dict.
	Map
	// Other is any other Python type that yaml.safe_load can produce:
	// datetime.date, datetime.datetime (YAML timestamps) and bytes
	// (YAML !!binary).
	Other
)

var kindNames = [...]string{"Null", "Bool", "Int", "Float", "String", "List", "Map", "Other"}

// String returns the name of the kind ("Null", "Bool", ...).
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Value is one loaded value with its position in the file.
//
// Values are immutable once returned. Values reached through a YAML alias
// share the Items and Pairs backing arrays of the anchored value (as Python
// shares the object), so a small document may describe a very large tree;
// walkers should not assume the tree size is bounded by the file size.
type Value struct {
	Kind Kind
	// Str is, by kind:
	//   String: the text. Lone UTF-16 surrogates (possible through JSON
	//           "\ud800" or YAML "\ud800" escapes; Python keeps them in the
	//           str) are stored as 3-byte generalized UTF-8 sequences, so
	//           Str equals Python's s.encode('utf-8', 'surrogatepass').
	//   Null:   "None".
	//   Bool:   "True" or "False".
	//   Int:    the exact decimal value (as math/big prints it).
	//   Float:  Python repr(), e.g. "1.0", "1e+16", "inf", "-inf", "nan".
	//   Other:  Python repr(), e.g. "datetime.date(2001, 12, 14)",
	//           "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000)",
	//           "b'hello'".
	//   List, Map: "".
	Str string
	// Truthy is Python bool(value): None, False, 0, 0.0, -0.0, "", b"",
	// [], {} and the empty set are falsy; everything else (NaN, dates,
	// non-empty bytes) is truthy.
	Truthy bool
	// Items holds, for List, the elements in order. A YAML !!set loads as a
	// List of its members in document order (Python iterates a set in hash
	// order, which depends on PYTHONHASHSEED); !!omap and !!pairs load as a
	// List of 2-element Lists (Python: 2-tuples). For Other values that are
	// bytes (YAML !!binary), Items holds one Int per byte, which is what
	// Python yields when iterating bytes; for dates Items is nil.
	Items []Value
	// Pairs holds, for Map, the key/value pairs in Python dict order: a key
	// that occurs more than once keeps the position (and the key object)
	// of its first occurrence and the value of its last, as in a Python
	// dict. Keys compare as in Python (1, 1.0 and True are the same key;
	// "1" is not).
	Pairs []Pair
	// Line and Col are the 1-based position of the value in the file. Col
	// counts Unicode code points. For YAML, a value with properties starts
	// at its anchor or tag, and a value reached through an alias has the
	// position of the alias. Lines are counted after Python's universal
	// newline translation (\r\n and a lone \r are one line break).
	Line, Col int

	// pystr is Python str() of the value when it differs from Str and the
	// value can be a dict key (dates, datetimes); used for Rule.Name.
	pystr string
}

// Pair is one key/value pair of a Map.
type Pair struct{ Key, Val Value }

// Rule is one top-level entry of a policy file.
type Rule struct {
	// Name is Python str() of the key. For a String key it is the key text.
	Name string
	// KeyKind is String for normal rules. A non-string YAML key (e.g. `1:`,
	// `true:`, `~:`, `2001-01-01:`) makes a rule that oslo loads (and
	// parses) but can never enforce by name, because oslo looks rules up
	// by str.
	KeyKind Kind
	// Value is the rule's value: a String for policy-language rules, a List
	// for legacy list-of-lists rules, anything else for the odd cases that
	// oslo's parse_rule sends to the list parser.
	Value Value
	// Line and Col are the position of the key of the winning (last)
	// occurrence of this name.
	Line, Col int
}

// File is a parsed policy file.
type File struct {
	Path string
	// Format is "json" if Python's json.loads accepted the data, otherwise
	// "yaml".
	Format string
	// Rules are in Python dict order (see Value.Pairs).
	Rules []Rule
}

// Error reports input that oslo.policy cannot load. Line and Col are
// 1-based (Col counts code points); they are 0 when unknown.
type Error struct {
	Path      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Col, e.Msg)
}

// Parse parses data, the raw bytes of one policy file, as oslo.policy 4.0.0
// loads it: the file is read in text mode (UTF-8, universal newlines), then
// parse_file_contents tries json.loads and, if that raises ValueError,
// yaml.safe_load; the result is `parsed or {}` and Rules.load needs a dict.
//
// So an empty document, a comment-only YAML file, JSON/YAML null and any
// other falsy top-level value (false, 0, "", [], {}) give an empty File,
// and a truthy top-level value that is not a mapping is an error.
// Invalid UTF-8 is an error (Python raises UnicodeDecodeError when reading).
func Parse(path string, data []byte) (*File, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		line, col := lineColAt(data, off)
		return nil, &Error{Path: path, Line: line, Col: col,
			Msg: fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x: invalid UTF-8", data[off])}
	}
	text := universalNewlines(data)

	f := &File{Path: path}
	obj, jerr := parseJSON(text)
	var top *pyObj
	var topPos pos
	if jerr == nil {
		f.Format = "json"
		top = obj
		topPos = posAt(text, firstNonJSONSpace(text))
	} else if jerr.recursion {
		// RecursionError is not a ValueError: oslo does not fall back to
		// YAML, the load fails.
		line, col := lineColAt(text, jerr.off)
		return nil, &Error{Path: path, Line: line, Col: col, Msg: jerr.msg}
	} else {
		f.Format = "yaml"
		var err *yamlError
		top, topPos, err = loadYAML(text)
		if err != nil {
			return nil, err.toError(path, text)
		}
	}
	if top == nil || !truthy(top) {
		return f, nil
	}
	if top.kind != pyDict {
		return nil, &Error{Path: path, Line: topPos.line, Col: topPos.col,
			Msg: fmt.Sprintf("the top-level value is %s, not a mapping (oslo: AttributeError: '%s' object has no attribute 'items')",
				typeDesc(top), pyTypeName(top))}
	}
	conv := newConverter()
	for _, e := range top.dict.entries {
		k, err := conv.value(e.key, e.keyPos)
		if err == nil {
			var v Value
			v, err = conv.value(e.val, e.valPos)
			if err == nil {
				f.Rules = append(f.Rules, Rule{Name: pyStrOf(k), KeyKind: k.Kind, Value: v,
					Line: e.lastKeyPos.line, Col: e.lastKeyPos.col})
				continue
			}
		}
		err.Path = path
		return nil, err
	}
	return f, nil
}

// Iter returns what Python's `for x in value` yields: the items of a List,
// the keys of a Map, the characters of a String (as one-character String
// values with the position of the string), and the byte values (Ints) of
// bytes. The second result is false for values Python cannot iterate (None,
// bool, int, float, dates), for which oslo's legacy list parser raises
// TypeError.
func (v Value) Iter() ([]Value, bool) {
	switch v.Kind {
	case List:
		return v.Items, true
	case Map:
		keys := make([]Value, len(v.Pairs))
		for i, p := range v.Pairs {
			keys[i] = p.Key
		}
		return keys, true
	case String:
		var out []Value
		s := v.Str
		for len(s) > 0 {
			_, n := python.DecodeRuneWTF8(s)
			out = append(out, Value{Kind: String, Str: s[:n], Truthy: true, Line: v.Line, Col: v.Col})
			s = s[n:]
		}
		return out, true
	case Other:
		if v.Items != nil || strings.HasPrefix(v.Str, "b") {
			return v.Items, true
		}
	}
	return nil, false
}

// universalNewlines applies Python's text-mode newline translation: "\r\n"
// and a lone "\r" become "\n".
func universalNewlines(data []byte) string {
	if bytes.IndexByte(data, '\r') < 0 {
		return string(data)
	}
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\r' {
			b.WriteByte('\n')
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pos is a 1-based position.
type pos struct{ line, col int }

// lineColAt returns the 1-based line and column (in code points) of byte
// offset off in text, counting "\n", "\r\n" and a lone "\r" as one line
// break (text that went through universalNewlines has only "\n").
func lineColAt[T string | []byte](text T, off int) (int, int) {
	if off > len(text) {
		off = len(text)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if text[i] == '\n' || (text[i] == '\r' && (i+1 >= len(text) || text[i+1] != '\n')) {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCountInString(string(text[start:off])) + 1
}

func posAt(text string, off int) pos {
	l, c := lineColAt(text, off)
	return pos{l, c}
}

func firstNonJSONSpace(s string) int {
	i := 0
	for i < len(s) && isJSONSpace(s[i]) {
		i++
	}
	return i
}
