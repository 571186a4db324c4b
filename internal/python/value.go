// Ported from CPython 3.11.2 Objects/*object.c: str() and repr() of ints and containers (PSF License); see NOTICE.

package python

import (
	"math"
	"math/big"
	"slices"
	"strings"
)

// valKind is the type of a Python object that ast.literal_eval can return.
type valKind uint8

const (
	vInt valKind = iota
	vFloat
	vComplex
	vStr
	vBytes
	vBool
	vNone
	vEllipsis
	vTuple
	vList
	vSet
	vDict // only the empty dict {} can be written without ':'
)

// value is a Python object. Strings are code point slices because a Python
// str may hold lone surrogates ('\ud800'), which Go strings cannot.
type value struct {
	kind  valKind
	i     *big.Int // vInt
	f, im float64  // vFloat; vComplex (real, imaginary)
	s     []rune   // vStr
	b     []byte   // vBytes
	t     bool     // vBool
	elems []value  // vTuple, vList; vSet in iteration order
	// unordered marks a set whose iteration order depends on per-process
	// hash randomisation (str, bytes) or object addresses (None, ...).
	unordered bool
}

func (v value) isNumber() bool {
	return v.kind == vInt || v.kind == vFloat || v.kind == vComplex
}

// IntMaxStrDigits is sys.get_int_max_str_digits(), the 3.11 default limit
// on the number of decimal digits in an int/str conversion: int() of a
// longer decimal string and str() of a larger int raise ValueError.
const IntMaxStrDigits = 4300

func valueError(msg string) *pyError { return &pyError{typ: "ValueError", msg: msg} }

// intRepr is str(int); more than 4300 decimal digits raise ValueError.
func intRepr(x *big.Int) (string, *pyError) {
	// 2**14290 already has more than 4300 digits: fail before converting.
	if x.BitLen() > 14290 {
		return "", valueError("Exceeds the limit (4300 digits) for integer string conversion")
	}
	s := x.String()
	if n := len(strings.TrimPrefix(s, "-")); n > IntMaxStrDigits {
		return "", valueError("Exceeds the limit (4300 digits) for integer string conversion")
	}
	return s, nil
}

// repr is Python repr(v). ok is false when the text cannot be known
// (a set with an unpredictable iteration order somewhere inside v); a
// ValueError from an oversized int is still reported in that case.
func repr(v value) (s string, ok bool, err *pyError) {
	switch v.kind {
	case vInt:
		s, err := intRepr(v.i)
		return s, err == nil, err
	case vFloat:
		return formatFloat(v.f, true, false), true, nil
	case vComplex:
		return complexRepr(v.f, v.im), true, nil
	case vStr:
		return strRepr(v.s, false), true, nil
	case vBytes:
		return BytesRepr(v.b), true, nil
	case vBool:
		if v.t {
			return "True", true, nil
		}
		return "False", true, nil
	case vNone:
		return "None", true, nil
	case vEllipsis:
		return "Ellipsis", true, nil
	case vDict:
		return "{}", true, nil
	case vSet:
		if len(v.elems) == 0 {
			return "set()", true, nil
		}
		return reprSeq("{", "}", v.elems, !v.unordered, false)
	case vList:
		return reprSeq("[", "]", v.elems, true, false)
	default: // vTuple
		return reprSeq("(", ")", v.elems, true, len(v.elems) == 1)
	}
}

func reprSeq(open, close string, elems []value, ordered, trailingComma bool) (string, bool, *pyError) {
	var b strings.Builder
	b.WriteString(open)
	ok := ordered
	for i, e := range elems {
		if i > 0 {
			b.WriteString(", ")
		}
		s, eok, err := repr(e)
		if err != nil {
			return "", false, err
		}
		ok = ok && eok
		b.WriteString(s)
	}
	if trailingComma {
		b.WriteByte(',')
	}
	b.WriteString(close)
	if !ok {
		return "", false, nil
	}
	return b.String(), true, nil
}

// --- equality (only needed to de-duplicate set elements) ---

// pyEqual is Python == for hashable literal values.
func pyEqual(a, b value) bool {
	if a.isNumber() || a.kind == vBool {
		if !(b.isNumber() || b.kind == vBool) {
			return false
		}
		are, aim := numParts(a)
		bre, bim := numParts(b)
		return are.equal(bre) && aim.equal(bim)
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case vStr:
		return slices.Equal(a.s, b.s)
	case vBytes:
		return string(a.b) == string(b.b)
	case vTuple:
		if len(a.elems) != len(b.elems) {
			return false
		}
		for i := range a.elems {
			if !pyEqual(a.elems[i], b.elems[i]) {
				return false
			}
		}
		return true
	}
	return true // None, Ellipsis
}

// exNum is an exact real number or an infinity (inf = +1 or -1).
type exNum struct {
	r   *big.Rat
	inf int
}

func floatNum(f float64) exNum {
	switch {
	case math.IsInf(f, 1):
		return exNum{inf: 1}
	case math.IsInf(f, -1):
		return exNum{inf: -1}
	}
	return exNum{r: new(big.Rat).SetFloat64(f)} // literals never produce NaN
}

func (a exNum) equal(b exNum) bool {
	if a.inf != 0 || b.inf != 0 {
		return a.inf == b.inf
	}
	return a.r.Cmp(b.r) == 0
}

// numParts splits a number (bool included) into exact real and imaginary
// parts: Python compares int, float, complex and bool by value.
func numParts(v value) (re, im exNum) {
	zero := exNum{r: new(big.Rat)}
	switch v.kind {
	case vInt:
		return exNum{r: new(big.Rat).SetInt(v.i)}, zero
	case vBool:
		if v.t {
			return exNum{r: big.NewRat(1, 1)}, zero
		}
		return zero, zero
	case vFloat:
		return floatNum(v.f), zero
	default:
		return floatNum(v.f), floatNum(v.im)
	}
}
