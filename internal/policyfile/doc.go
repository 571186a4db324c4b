// Package policyfile loads an oslo.policy policy file exactly as
// oslo.policy 4.0.0 does on Debian bookworm (Python 3.11, PyYAML 6.0), and
// keeps the source position of every rule and value so that diagnostics
// and generated code can name file:line.
//
// # What oslo does
//
// The Enforcer reads the file with open(path).read() (text mode: UTF-8
// under Debian's C.UTF-8 locale, universal newlines), then
// policy.parse_file_contents runs
//
//	try:    parsed = jsonutils.loads(data)          # json.loads
//	except ValueError:
//	    try:    parsed = yaml.safe_load(data)
//	    except yaml.YAMLError as e: raise ValueError(str(e))
//	return parsed or {}
//
// and Rules.load iterates parsed.items(). Parse reproduces each step:
//
//   - Invalid UTF-8 is an error (UnicodeDecodeError while reading).
//     "\r\n" and a lone "\r" become "\n" before parsing.
//   - JSON is a port of CPython 3.11's json scanner (Modules/_json.c,
//     strict=True): NaN, Infinity and -Infinity are floats, an integer
//     literal is an exact Int and anything with '.', 'e' or 'E' a Float
//     (1e400 is inf), raw control characters in strings are rejected, \u
//     escapes combine surrogate pairs and keep lone surrogates, any value is
//     accepted at the top level, a duplicate key keeps its first position
//     and gets its last value. A UTF-8 BOM makes json.loads raise (Python
//     reads the file as "utf-8", not "utf-8-sig"), so such a file is
//     loaded by YAML, which skips the BOM. An integer literal of more than
//     4300 digits raises ValueError (sys.int_max_str_digits), so does YAML.
//   - YAML is a line-by-line port of the pure-Python PyYAML 6.0 loader
//     used by yaml.safe_load (reader, scanner, parser, composer, resolver,
//     SafeConstructor), so the accepted syntax, the YAML 1.1 implicit
//     types (yes/no/on/off booleans, 0b/0x/leading-0 octal/sexagesimal
//     ints, floats that need a dot, .inf/.nan, ~/null/empty, timestamps,
//     the merge key << and the value key =), the explicit tags (!!str,
//     !!int, !!float, !!bool, !!null, !!binary, !!timestamp, !!set,
//     !!omap, !!pairs, !!seq, !!map, verbatim !<...> tags and %TAG
//     handles), the non-specific tag ! (which resolves the scalar as if it
//     were plain, so `a: !` is null and `a: ! "12"` is the int 12),
//     anchors and aliases, merge keys and the error cases (tabs before
//     tokens, unquoted @ and `, duplicate anchors, undefined aliases,
//     more than one document, unhashable keys, tags safe_load does not
//     know, invalid dates, non-printable characters, simple keys longer
//     than 1024 characters, ...) are PyYAML's. The scalar constructors
//     reproduce Python's int(), float(), base64.decodebytes and datetime
//     rules, including their quirks (`!!int 0x0x1f` is 31, `!!float nan`
//     is a NaN distinct from `.nan`).
//   - Dicts follow Python: equal keys (1, 1.0 and True; aware datetimes
//     denoting the same instant) are one key; the first key object and
//     position are kept and the last value wins. List and dict keys are
//     errors (unhashable).
//   - `parsed or {}`: a document that is empty, a comment, null, or any
//     other falsy value (false, 0, 0.0, "", [], {}, an empty set or empty
//     bytes) gives a File without rules; any other non-mapping top-level
//     value is an error (oslo: AttributeError on .items()).
//
// Error messages carry PyYAML's context and problem text and the problem
// position; they are not byte-identical to Python's str(exception).
//
// # Verification
//
// The tests compare Parse with the real Python stack (/usr/bin/python3
// running testdata/oracle.py, which imports oslo_serialization.jsonutils
// and yaml) on several thousand hand-written, generated and mutated
// documents and on the real policy files; FuzzAgainstPython does the same
// under coverage-guided fuzzing.
//
// # Known differences from Python
//
//   - Recursive YAML structures, e.g. `a: &x [*x]` or `a: &x {b: *x}`:
//     PyYAML builds a list or dict that contains itself; a Value tree
//     cannot, so Parse returns an Error.
//   - Nesting limits: Python raises RecursionError for JSON nested more
//     than about 990 levels and YAML nested more than about 490 levels; the
//     exact threshold depends on the caller's Python stack depth. Parse
//     fails above 990 JSON / 490 YAML levels (measured with
//     parse_file_contents called from a shallow stack).
//   - A !!set is a Python set, iterated in hash order (which for strings
//     depends on PYTHONHASHSEED); Parse keeps document order.
//   - Unicode tables: int() and float() of explicitly tagged scalars
//     accept Unicode digits and spaces (`!!int "٣"` is 3); Parse uses Go's
//     Unicode tables, which may differ from Python 3.11's (Unicode 14.0.0)
//     for code points added since.
//   - The file is assumed to be UTF-8; oslo uses the locale's encoding,
//     which is UTF-8 on Debian unless the service runs under another
//     locale.
//
// gopkg.in/yaml.v3 is deliberately not used: it implements YAML 1.2 on a
// libyaml port and differs from PyYAML on inputs a policy file can contain
// (it accepts tabs that PyYAML rejects, such as `a:\tb` or a trailing tab;
// it rejects `%YAML 1.3` and unknown directives; it drops the `!` tag, so
// `a: ! "12"` would be a string; it does not report the column of syntax
// errors, nor the line for errors on line 1).
package policyfile
