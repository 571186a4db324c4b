// Ported from CPython 3.11.2 Lib/ast.py literal_eval (PSF License); see NOTICE.

package python

import (
	"math"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Class says how oslo.policy's GenericCheck treats a KIND via
// ast.literal_eval.
type Class int

const (
	// NotLiteral: literal_eval (or str() of its result) raised ValueError,
	// so KIND is a dot-path into the credentials.
	NotLiteral Class = iota
	// Literal: literal_eval returned a value; Str holds Python str() of it.
	Literal
	// SyntaxError: literal_eval raised SyntaxError or any other exception
	// that is not a ValueError (TypeError, OverflowError, MemoryError,
	// RecursionError, ...); oslo.policy lets it escape from enforce().
	SyntaxError
)

func (c Class) String() string {
	switch c {
	case NotLiteral:
		return "NotLiteral"
	case Literal:
		return "Literal"
	case SyntaxError:
		return "SyntaxError"
	}
	return "Class(?)"
}

// LiteralResult is the outcome of LiteralEval.
//
// Err is always empty for an exact NotLiteral or Literal result. A
// non-empty Err on a Literal or NotLiteral result marks an answer that
// cannot be computed exactly (see LiteralEval); callers should treat such
// a KIND as unsupported rather than use Str.
type LiteralResult struct {
	Class Class
	// Str is exactly Python's str(value) for Literal results. It is valid
	// UTF-8 except when the value is a str holding lone surrogates
	// ('\ud800'), which are then encoded as 3-byte generalised UTF-8 and
	// Err is set.
	Str string
	// Err is a short message in Python's style for SyntaxError results,
	// e.g. "SyntaxError: invalid syntax" or "TypeError: unhashable type:
	// 'list'". The type name is the one CPython raises (SyntaxError,
	// IndentationError, MemoryError, RecursionError, TypeError,
	// OverflowError), with one known exception: when a parse fails near the
	// parser's 6000-level stack limit, CPython's error-reporting second pass
	// may itself run out of stack and raise MemoryError where Err says
	// SyntaxError. Messages are close to CPython's, not identical.
	Err string
}

// Messages put in Err of Literal / NotLiteral results that are not exact.
const (
	// ErrSetOrder: a set with two or more distinct elements of which one
	// has a per-process hash (str, bytes: hash randomisation) or an
	// address-based hash (None, Ellipsis), directly or inside a tuple.
	// CPython's iteration order, hence str(), is not reproducible.
	ErrSetOrder = "set order is not deterministic"
	// ErrCharName: a \N{NAME} escape could not be resolved because the
	// embedded character name table did not load (a broken build; the
	// tests check the table against the interpreter).
	ErrCharName = "\\N{...} escape not resolved (the character name table did not load)"
	// ErrSurrogate: the str value contains lone surrogates; Str holds them
	// in generalised UTF-8.
	ErrSurrogate = "value contains lone surrogates"
	// ErrColon: KIND contains ':', which oslo.policy never passes (it
	// splits a check on its first ':'); the grammar rules that need ':'
	// (dict displays, slices, lambda, ':=', format specs) are not
	// implemented, so such input is reported as a SyntaxError.
	ErrColon = "unsupported: ':' in KIND (oslo.policy splits checks on the first ':')"
)

// pythonFrames is the Python call depth assumed when ast.parse runs
// (module, caller, literal_eval, parse). The AST conversion in compile()
// allows 3*1000 (3 * recursion limit) nested nodes minus 3 per active
// Python frame, so the exact limit depends on the caller: each extra frame
// lowers it by 3 nodes, and so does a not yet warmed-up (unspecialised)
// interpreter during the first calls. Only absurd KINDs (thousands of
// nested operators) are affected.
const pythonFrames = 4

// LiteralEval reproduces `ast.literal_eval(kind)` followed by
// `str(value)` as run by oslo.policy 4.0.0's GenericCheck.__call__ under
// Python 3.11 (3.11.2, Debian bookworm). In oslo the str(test_value) call
// is inside the `try ... except ValueError`, so a ValueError from str()
// (an int with more than 4300 digits) also gives NotLiteral.
//
// literal_eval strips leading spaces and tabs and parses in 'eval' mode;
// the tokenizer, the PEG grammar (first pass, with its 6000-level stack
// guard), string/bytes/f-string literal parsing, number parsing (including
// the 4300-digit limit), the AST-depth RecursionError and literal_eval's
// node rules are reproduced, as are CPython's hashing and set table so
// that str() of a set of numbers/tuples lists elements in CPython's order.
//
// \N{NAME} escapes are resolved with Python 3.11's name table (Unicode
// 14.0.0: names, name aliases, computed Hangul and CJK names; named
// sequences are refused as CPython refuses them).
//
// Known limits, reported through Err (see the Err* constants): sets whose
// order depends on hash randomisation or object addresses (ErrSetOrder),
// lone surrogates in a str result (ErrSurrogate) and any ':' in KIND
// (ErrColon). Invalid UTF-8 in kind is
// read as U+FFFD per byte (a Python str cannot hold it).
func LiteralEval(kind string) LiteralResult {
	if !utf8.ValidString(kind) {
		kind = string([]rune(kind))
	}
	src := strings.TrimLeft(kind, " \t")
	if strings.Contains(src, ":") {
		return LiteralResult{Class: SyntaxError, Err: ErrColon}
	}
	if strings.IndexByte(src, 0) >= 0 {
		return LiteralResult{Class: NotLiteral} // compile(): ValueError
	}
	p := newParser([]byte(src), false)
	tree, err := p.run(p.evalRule)
	if err != nil {
		return errorResult(err)
	}
	if depth(tree)+1 > 3*1000-3*pythonFrames { // +1 for the Expression node
		return LiteralResult{Class: SyntaxError,
			Err: "RecursionError: maximum recursion depth exceeded during ast construction"}
	}
	v, err := convert(tree)
	var res LiteralResult
	switch {
	case err != nil:
		res = errorResult(err)
	case v.kind == vStr:
		res = LiteralResult{Class: Literal, Str: string(runesToWTF8(v.s))}
		if !utf8.ValidString(res.Str) {
			res.Err = ErrSurrogate
		}
	default:
		s, ok, err := repr(v)
		switch {
		case err != nil:
			res = errorResult(err)
		case !ok:
			res = LiteralResult{Class: Literal, Err: ErrSetOrder}
		default:
			res = LiteralResult{Class: Literal, Str: s}
		}
	}
	if p.approx && res.Class != SyntaxError {
		res.Str, res.Err = "", ErrCharName
	}
	return res
}

func errorResult(err *pyError) LiteralResult {
	if err.typ == "ValueError" {
		return LiteralResult{Class: NotLiteral}
	}
	return LiteralResult{Class: SyntaxError, Err: err.String()}
}

func malformed() *pyError { return valueError("malformed node or string") }

// convert is literal_eval's _convert().
func convert(n *node) (value, *pyError) {
	switch n.kind {
	case nConstant:
		return n.val, nil
	case nTuple, nList:
		elems := make([]value, 0, len(n.kids))
		for _, k := range n.kids {
			v, err := convert(k)
			if err != nil {
				return value{}, err
			}
			elems = append(elems, v)
		}
		kind := vTuple
		if n.kind == nList {
			kind = vList
		}
		return value{kind: kind, elems: elems}, nil
	case nSet:
		// set(map(_convert, elts)): each element is converted, then hashed
		// and inserted, before the next one is converted.
		b := newSetBuilder()
		for _, k := range n.kids {
			v, err := convert(k)
			if err != nil {
				return value{}, err
			}
			if err := b.add(v); err != nil {
				return value{}, err
			}
		}
		return b.value(), nil
	case nCall:
		if n.kids[0].kind == nName && n.kids[0].isSet && n.nargs == 0 {
			return value{kind: vSet}, nil
		}
	case nDict:
		// Without ':' every key is None (a '**' entry): _convert(None)
		// raises ValueError.
		if len(n.kids) == 0 {
			return value{kind: vDict}, nil
		}
		return value{}, malformed()
	case nBinOp:
		if n.op == "+" || n.op == "-" {
			left, err := convertSignedNum(n.kids[0])
			if err != nil {
				return value{}, err
			}
			right, err := convertNum(n.kids[1])
			if err != nil {
				return value{}, err
			}
			if (left.kind == vInt || left.kind == vFloat) && right.kind == vComplex {
				return complexArith(left, n.op, right)
			}
		}
	}
	return convertSignedNum(n)
}

func convertNum(n *node) (value, *pyError) {
	if n.kind != nConstant || !n.val.isNumber() {
		return value{}, malformed()
	}
	return n.val, nil
}

func convertSignedNum(n *node) (value, *pyError) {
	if n.kind == nUnaryOp && (n.op == "+" || n.op == "-") {
		v, err := convertNum(n.kids[0])
		if err != nil || n.op == "+" {
			return v, err
		}
		switch v.kind {
		case vInt:
			return value{kind: vInt, i: new(big.Int).Neg(v.i)}, nil
		case vFloat:
			return value{kind: vFloat, f: -v.f}, nil
		default:
			return value{kind: vComplex, f: -v.f, im: -v.im}, nil
		}
	}
	return convertNum(n)
}

// complexArith is int/float ± complex: the real operand is converted to a
// complex (an int too large for a float raises OverflowError) and the
// parts are added or subtracted.
func complexArith(left value, op string, right value) (value, *pyError) {
	re := left.f
	if left.kind == vInt {
		f, _ := new(big.Float).SetInt(left.i).Float64()
		if math.IsInf(f, 0) {
			return value{}, &pyError{typ: "OverflowError", msg: "int too large to convert to float"}
		}
		re = f
	}
	if op == "+" {
		return value{kind: vComplex, f: re + right.f, im: 0.0 + right.im}, nil
	}
	return value{kind: vComplex, f: re - right.f, im: 0.0 - right.im}, nil
}
