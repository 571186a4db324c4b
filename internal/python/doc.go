// Package python reproduces, in pure Go, the few behaviours of CPython
// 3.11 (Debian bookworm's /usr/bin/python3, 3.11.2, Unicode 14.0.0) that
// decide how oslo.policy 4.0.0 evaluates a rule:
//
//   - LiteralEval: ast.literal_eval(KIND) followed by str(value), as run by
//     GenericCheck.__call__, classified as Literal (compare MATCH with Str),
//     NotLiteral (ValueError: KIND is a creds dot-path) or SyntaxError (any
//     other exception, which escapes from enforce()).
//   - Lower: str.lower(), used for the case-insensitive and/or/not
//     operators of the rule tokenizer.
//   - IsSpace: str.isspace(), i.e. what `\s` matches when oslo splits a rule.
//   - FloatRepr and StrRepr: repr() of float and str, as seen in str() of
//     containers and in %-formatting of targets.
//
// The same behaviours serve the emulation of json.loads and yaml.safe_load
// in package policyfile, which also uses IsPrintable (str.isprintable()),
// BytesRepr (repr of bytes), StrReprWTF8 and ASCIIReprWTF8 (repr() and
// ascii() of a str that may hold lone surrogates, carried in generalised
// UTF-8 as AppendRuneWTF8 and DecodeRuneWTF8 write and read it) and
// IntMaxStrDigits (the int/str conversion limit).
//
// LiteralEval contains a port of the 3.11 tokenizer and of the expression
// part of the PEG parser (first pass, with pegen's helper-rule structure so
// that its 6000-level stack guard triggers at the same depth), string,
// bytes and f-string literal parsing, number parsing (with the 4300-digit
// int/str limit), literal_eval's node rules, and CPython's hash functions
// and set table so that str() of a set lists elements in CPython's order.
//
// Unicode properties come from tables.go, generated from the reference
// interpreter by gen_tables.py, because Go's unicode package follows a newer
// Unicode version than Python 3.11. The character names and aliases that
// \N{NAME} escapes accept come from charnames14.gz (gen_charnames.py, about
// 110 KB compressed), decoded on the first \N{...} escape.
//
// The tests compare everything with /usr/bin/python3 (TestAgainstPython,
// FuzzLiteralEvalVsPython): skipped where it is missing, a failure under
// CI=true; the long sweeps are left out by -short. OSLOREGO_PYDIFF_SCALE=N
// multiplies the number of random cases.
package python
