package policyfile

import (
	"fmt"
	"strings"
)

// LoadJSON decodes text exactly as Python 3.11's json.loads(text) does
// (see the package documentation): NaN and ±Infinity are Floats, lone
// surrogates stay in Strings (as generalised UTF-8), a duplicate key keeps
// its first position and its last value, and anything after the value
// other than JSON whitespace is "Extra data". text must be valid UTF-8.
// Line and Col of the returned values and errors count from text.
func LoadJSON(text string) (Value, error) {
	o, jerr := parseJSON(text)
	if jerr != nil {
		return Value{}, jsonErr(text, jerr)
	}
	v, err := newTreeConverter().value(o, posAt(text, firstNonJSONSpace(text)))
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// Member is one member of a JSON object read by LoadJSONObject.
type Member struct {
	// Key is the member's name as Python sees it (generalised UTF-8).
	Key string
	// Value is the decoded value.
	Value Value
	// Raw is the value's JSON text exactly as written.
	Raw string
}

// LoadJSONObject is LoadJSON for a text that must hold one JSON object; it
// returns the object's members in the order written, duplicates included,
// each with its raw text (so that a caller can hand a member to Parse).
// A text that json.loads rejects, or whose value is not an object, is an
// error.
func LoadJSONObject(text string) ([]Member, error) {
	if members, ok := loadObjectOnce(text); ok {
		return members, nil
	}
	return loadJSONObjectChecked(text)
}

// loadObjectOnce is LoadJSONObject in one pass for the usual text, a valid
// JSON object whose members all convert: ok is false for anything else,
// which loadJSONObjectChecked then reports as json.loads would (it parses
// the whole text first, and only then walks its members).
func loadObjectOnce(text string) (members []Member, ok bool) {
	if strings.HasPrefix(text, "\ufeff") {
		return nil, false
	}
	p := newJSONParser(text)
	i := p.ws(0)
	if i >= len(text) || text[i] != '{' {
		return nil, false
	}
	// Inside the top-level object, as parseJSON's value() counts depth.
	p.depth = 1
	conv := newConverter()
	i = p.ws(i + 1)
	if i < len(text) && text[i] == '}' {
		return nil, p.ws(i+1) == len(text)
	}
	for {
		if i >= len(text) || text[i] != '"' {
			return nil, false
		}
		key, end := p.str(i + 1)
		if end < 0 {
			return nil, false
		}
		if i = p.ws(end); i >= len(text) || text[i] != ':' {
			return nil, false
		}
		i = p.ws(i + 1)
		vp := p.pos(i)
		o, end := p.value(i)
		if end < 0 {
			return nil, false
		}
		v, err := conv.value(o, vp)
		if err != nil {
			return nil, false
		}
		members = append(members, Member{Key: key, Value: v, Raw: text[i:end]})
		if i = p.ws(end); i < len(text) && text[i] == '}' {
			return members, p.ws(i+1) == len(text)
		}
		if i >= len(text) || text[i] != ',' {
			return nil, false
		}
		i = p.ws(i + 1)
	}
}

// loadJSONObjectChecked is LoadJSONObject: json.loads's verdict on the
// whole text first, then a walk of the object's members.
func loadJSONObjectChecked(text string) ([]Member, error) {
	p := newJSONParser(text)
	if _, jerr := parseJSON(text); jerr != nil {
		return nil, jsonErr(text, jerr)
	}
	// text is one valid JSON value: walk its top level again, keeping spans.
	i := p.ws(0)
	if text[i] != '{' {
		line, col := lineColAt(text, i)
		return nil, &Error{Line: line, Col: col, Msg: "the value is not a JSON object"}
	}
	var out []Member
	conv := newTreeConverter()
	i = p.ws(i + 1)
	for text[i] != '}' {
		key, end := p.str(i + 1)
		i = p.ws(p.ws(end) + 1) // past ':'
		vp := p.pos(i)
		o, end := p.value(i)
		v, err := conv.value(o, vp)
		if err != nil {
			return nil, err
		}
		out = append(out, Member{Key: key, Value: v, Raw: text[i:end]})
		i = p.ws(end)
		if text[i] == ',' {
			i = p.ws(i + 1)
		}
	}
	return out, nil
}

// jsonErr is json.loads's JSONDecodeError (or RecursionError) as an Error.
func jsonErr(text string, e *jsonError) *Error {
	line, col := lineColAt(text, e.off)
	if e.recursion {
		return &Error{Line: line, Col: col, Msg: "RecursionError: " + e.msg}
	}
	return &Error{Line: line, Col: col,
		Msg: fmt.Sprintf("%s: line %d column %d (char %d)", e.msg, line, col, len([]rune(text[:min(e.off, len(text))])))}
}
