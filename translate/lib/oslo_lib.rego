# METADATA
# title: oslo.policy semantics for Rego
# description: |
#   Pure-Rego reproduction of oslo.policy 4.0.0's check semantics, used by the
#   modules that oslorego translates from oslo policy files. Every check
#   evaluates to true, false, or {"error": MESSAGE} where oslo.policy would
#   raise; callers fail closed on an error.
package oslo.lib

# ---------------------------------------------------------------------------
# The request: input.target and input.credentials.
# ---------------------------------------------------------------------------

# target is the object oslo formats MATCH strings with (default {}).
target := object.get(input, "target", {})

_raw_creds := object.get(input, "credentials", {})

# creds are the credentials after Enforcer.enforce()'s one mutation: a truthy
# system_scope is copied to "system".
creds := object.union(_raw_creds, {"system": _raw_creds.system_scope}) if {
	_raw_creds.system_scope
	truthy(_raw_creds.system_scope)
} else := _raw_creds

# token_scope is the scope oslo derives from the credentials.
token_scope := "system" if {
	truthy(object.get(creds, "system", null))
} else := "domain" if {
	truthy(object.get(creds, "domain_id", null))
} else := "project"

# truthy is Python truthiness of a JSON value.
truthy(x) if {
	not x in {false, null, 0, "", [], {}, set()}
}

# ---------------------------------------------------------------------------
# Results: true, false or {"error": msg}; oslo's and/or/not.
# ---------------------------------------------------------------------------

# error builds the result of a check where oslo.policy raises.
error(msg) := {"error": msg}

# any_of is oslo's OrCheck: left to right, the first result that is not
# false decides (true, or an error oslo would have raised).
any_of(rs) if {
	rs[0] == true
} else := rs[min({i | some i; rs[i] != false})] if {
	some r in rs
	r != false
} else := false

# all_of is oslo's AndCheck: left to right, the first result that is not
# true decides (false, or an error).
all_of(rs) := false if {
	rs[0] == false
} else := rs[min({i | some i; rs[i] != true})] if {
	some r in rs
	r != true
} else := true

# negate is oslo's NotCheck; an error stays an error.
negate(r) := r if {
	is_object(r)
} else := false if {
	r == true
} else := true

# ---------------------------------------------------------------------------
# MATCH formatting: `match % target`. A formatted match is a string, or
# {"missing": key} (KeyError: the check is false), or {"error": msg}.
# ---------------------------------------------------------------------------

_target_is_mapping if is_object(target)

_target_is_mapping if is_array(target)

_not_converted := error("TypeError: not all arguments converted during string formatting")

# text is a MATCH with no conversion: Python still requires a mapping.
text(s) := s if {
	_target_is_mapping
} else := _not_converted

# value is "%(key)s", the most common MATCH.
value(key) := v if {
	v := input.target[key]
	is_string(v)
} else := _lookup(key, {"t": "key", "conv": "s", "flags": "", "width": -1, "prec": -1, "err": ""})

# format is the general case: segments compiled by oslorego from the MATCH,
# each {"t": "lit"|"key"|"whole"|"err", ...}. Python walks them left to
# right and stops at the first failure.
format(segs, uses_whole) := _combine([_segment(s) | some s in segs], uses_whole)

_combine(parts, uses_whole) := parts[min({i | some i, p in parts; not is_string(p)})] if {
	some p in parts
	not is_string(p)
} else := _not_converted if {
	not _target_is_mapping
	not uses_whole
} else := concat("", parts)

_segment(s) := s.lit if {
	s.t == "lit"
} else := _lookup(s.key, s) if {
	s.t == "key"
} else := error(s.err) if {
	s.err != ""
} else := _convert(json.marshal(target), s)

# _lookup formats target[key]: a missing key is oslo's KeyError (false).
_lookup(key, spec) := {"missing": key} if {
	is_object(target)
	not _has_key(target, key)
} else := error(spec.err) if {
	is_object(target)
	spec.err != ""
} else := _convert(json.marshal(target[key]), spec) if {
	is_object(target)
} else := error("TypeError: list indices must be integers or slices, not str") if {
	is_array(target)
} else := error("TypeError: format requires a mapping")

_has_key(obj, key) if _ = obj[key]

# Values travel as their JSON text from here on: OPA caches function results
# by argument, and 5 equals 5.0 to OPA while Python renders "5" and "5.0".

# _convert applies one %-conversion to the value with JSON text t.
_convert(t, spec) := _pad(_trunc(py_str(t), spec.prec), spec) if {
	spec.conv == "s"
} else := _pad(_trunc(py_repr(t), spec.prec), spec) if {
	spec.conv == "r"
} else := _pad(_trunc(_ascii(py_repr(t)), spec.prec), spec) if {
	spec.conv == "a"
} else := _int_conv(t, spec) if {
	spec.conv in {"d", "i", "u", "x", "X", "o"}
} else := _float_conv(t, spec) if {
	spec.conv in {"e", "E", "f", "F", "g", "G"}
} else := _char_conv(t, spec) if {
	spec.conv == "c"
} else := error(sprintf("ValueError: unsupported format character '%s'", [spec.conv]))

_trunc(s, prec) := substring(s, 0, prec) if {
	prec >= 0
} else := s

_pad(s, spec) := s if {
	count(s) >= spec.width
} else := concat("", [s, _repeat(" ", spec.width - count(s))]) if {
	contains(spec.flags, "-")
} else := concat("", [_repeat(" ", spec.width - count(s)), s])

_numeric(t) if regex.match(`^-?[0-9]`, t)

_is_int_text(t) if regex.match(`^-?[0-9]+$`, t)

_is_inf(t) if py_str(t) in {"inf", "-inf"}

# _int_conv is %d %i %u %x %X %o: Python's int() of a bool, int or (for
# d i u) float, then sign, alternate-form prefix, precision and padding.
_int_conv(t, spec) := error(sprintf("TypeError: %%%s format: an integer is required, not %s", [spec.conv, py_type(t)])) if {
	spec.conv in {"x", "X", "o"}
	not _is_int_text(t)
	not t in {"true", "false"}
} else := error(sprintf("TypeError: %%%s format: a real number is required, not %s", [spec.conv, py_type(t)])) if {
	not _numeric(t)
	not t in {"true", "false"}
} else := error("OverflowError: cannot convert float infinity to integer") if {
	_is_inf(t)
} else := _int_text(_int_digits(t, spec.conv), t, spec)

# _int_digits is the magnitude of int(value) in the conversion's base.
_int_digits(t, conv) := "1" if {
	t == "true"
} else := "0" if {
	t == "false"
} else := _base(trim_left(t, "-"), conv) if {
	_is_int_text(t)
} else := format_int(abs(to_number(t)), 10)

_base(d, conv) := d if {
	conv in {"d", "i", "u"}
} else := sprintf("%x", [to_number(d)]) if {
	conv == "x"
} else := upper(sprintf("%x", [to_number(d)])) if {
	conv == "X"
} else := sprintf("%o", [to_number(d)])

_negative(t) if {
	startswith(t, "-")
	_int_digits(t, "d") != "0"
}

_int_sign(t, spec) := "-" if {
	_negative(t)
} else := "+" if {
	contains(spec.flags, "+")
} else := " " if {
	contains(spec.flags, " ")
} else := ""

_prefix(spec) := "0x" if {
	contains(spec.flags, "#")
	spec.conv == "x"
} else := "0X" if {
	contains(spec.flags, "#")
	spec.conv == "X"
} else := "0o" if {
	contains(spec.flags, "#")
	spec.conv == "o"
} else := ""

_int_text(digits, t, spec) := _int_pad(concat("", [_int_sign(t, spec), _prefix(spec)]), _zero_fill(digits, spec.prec), spec)

_zero_fill(d, n) := concat("", [_repeat("0", n - count(d)), d]) if {
	n > count(d)
} else := d

_int_pad(sign, d, spec) := concat("", [sign, _repeat("0", (spec.width - count(sign)) - count(d)), d]) if {
	contains(spec.flags, "0")
	not contains(spec.flags, "-")
	spec.width > count(sign) + count(d)
} else := _pad(concat("", [sign, d]), spec)

# _float_conv is %e %f %g (and upper case) of a number or bool, formatted
# by sprintf with an explicit precision (Go, like C and Python, rounds
# correctly; its default %g precision differs, so it is always given).
_float_conv(t, spec) := error(sprintf("TypeError: must be real number, not %s", [py_type(t)])) if {
	not _numeric(t)
	not t in {"true", "false"}
} else := _pad(_inf_text(t, spec), spec) if {
	_is_inf(t)
} else := sprintf(concat("", ["%", spec.flags, _width(spec), ".", format_int(_prec6(spec), 10), lower(spec.conv)]), [_float_of(t)]) if {
	spec.conv in {"e", "f", "g"}
} else := upper(sprintf(concat("", ["%", spec.flags, _width(spec), ".", format_int(_prec6(spec), 10), lower(spec.conv)]), [_float_of(t)]))

_width(spec) := format_int(spec.width, 10) if {
	spec.width >= 0
} else := ""

_prec6(spec) := 6 if {
	spec.prec < 0
} else := spec.prec

# _float_of is the value as a float, so sprintf formats it as one.
_float_of(t) := to_number("1.0") if {
	t == "true"
} else := to_number("0.0") if {
	t == "false"
} else := to_number(concat("", [t, ".0"])) if {
	_is_int_text(t)
} else := to_number(t)

_inf_text(t, spec) := concat("", [_inf_sign(t, spec), "inf"]) if {
	spec.conv in {"e", "f", "g"}
} else := concat("", [_inf_sign(t, spec), "INF"])

# _inf_sign is the sign of ±inf (-1e400 has no integer digits to test).
_inf_sign(t, spec) := "-" if {
	startswith(t, "-")
} else := _int_sign(t, spec)

# _char_conv is %c: a code point or a one-character string.
_char_conv(t, spec) := _pad(_chr(to_number(t)), spec) if {
	_is_int_text(t)
	to_number(t) >= 0
	to_number(t) < 1114112
} else := error("OverflowError: %c arg not in range(0x110000)") if {
	_is_int_text(t)
} else := _pad(_chr(1), spec) if {
	t == "true"
} else := _pad(_chr(0), spec) if {
	t == "false"
} else := _pad(json.unmarshal(t), spec) if {
	startswith(t, `"`)
	count(json.unmarshal(t)) == 1
} else := error("TypeError: %c requires int or char")

_chr(n) := json.unmarshal(sprintf(`"\u%04x"`, [n])) if {
	n < 65536
} else := json.unmarshal(sprintf(`"\u%04x\u%04x"`, [55296 + bits.rsh(n - 65536, 10), 56320 + bits.and(n - 65536, 1023)]))

# _ascii is Python's ascii(): repr with non-ASCII characters escaped.
_ascii(r) := r if {
	regex.match(`^[\x00-\x7f]*$`, r)
} else := concat("", [_ascii_char(c) | some c in split(r, "")])

_ascii_char(c) := c if {
	regex.match(`^[\x00-\x7f]$`, c)
} else := _hex_escape(_ord(c))

# ---------------------------------------------------------------------------
# Checks. Each takes a formatted match (see above).
# ---------------------------------------------------------------------------

# _fail turns a formatting failure into the check result.
_fail(m) := false if {
	m.missing
} else := m

# role is oslo's RoleCheck: match.lower() in [r.lower() for r in creds["roles"]].
role(m) := _role_in(py_lower(m)) if {
	is_string(m)
} else := _fail(m)

# role_lower is role() for a constant match already lower-cased by oslorego.
role_lower(lm) if {
	is_object(target)
	_roles_lower[lm]
	not _roles_error
} else := _role_in(lm) if {
	_target_is_mapping
} else := _not_converted

_role_in(lm) := error(_roles_error) if {
	_roles_error
} else if {
	_roles_lower[lm]
} else := false

_roles := creds.roles

# _roles_lower is the set of lower-cased roles. Python iterates a string
# per character and a dict by its keys.
_roles_lower := {lower(r) | some r in _roles} if {
	is_array(_roles)
	every r in _roles {
		is_string(r)
		not contains(r, "Σ")
		not contains(r, "İ")
	}
} else := {py_lower(r) | some r in _roles; is_string(r)} if {
	is_array(_roles)
} else := {py_lower(c) | some c in split(_roles, "")} if {
	is_string(_roles)
} else := {py_lower(k) | some k, _ in _roles} if {
	is_object(_roles)
} else := set()

# _roles_error is the error oslo raises iterating the roles, if any.
_roles_error := sprintf("AttributeError: '%s' object has no attribute 'lower'", [py_type(json.marshal(_roles[min({i | some i, r in _roles; not is_string(r)})]))]) if {
	is_array(_roles)
	some r in _roles
	not is_string(r)
} else := sprintf("TypeError: '%s' object is not iterable", [py_type(json.marshal(_roles))]) if {
	not is_array(_roles)
	not is_string(_roles)
	not is_object(_roles)
	_has_key(creds, "roles")
}

# sane is input nothing in a safe rule can raise on: a target object, a
# credentials object, and roles oslo can lower-case.
# (It reads input directly: each rule it would refer to costs an evaluation.)
sane if {
	is_object(object.get(input, "target", {}))
	c := object.get(input, "credentials", {})
	is_object(c)
	_lowerable(object.get(c, "roles", []))
}

_lowerable(roles) if {
	is_array(roles)
	every r in roles {
		is_string(r)
	}
}

_lowerable(roles) if is_string(roles)

_lowerable(roles) if is_object(roles)

# roles are the credentials' roles lower-cased as Python does.
roles := {lower(r) | some r in input.credentials.roles; is_string(r)} if {
	is_array(input.credentials.roles)
	not _special_roles
} else := _roles_lower

# _special_roles are roles Go's lower() does not lower-case as Python does.
_special_roles if {
	some r in input.credentials.roles
	is_string(r)
	contains(r, "Σ")
}

_special_roles if {
	some r in input.credentials.roles
	is_string(r)
	contains(r, "İ")
}

# creds_eq is a GenericCheck on a one-segment credentials path for sane
# input: str(creds[key]) == m, or of any element when it is a list.
creds_eq(key, m) if {
	is_string(m)
	creds[key] == m
}

creds_eq(key, m) if {
	is_string(m)
	v := creds[key]
	not is_string(v)
	not is_array(v)
	py_str(json.marshal(v)) == m
}

creds_eq(key, m) if {
	is_string(m)
	v := creds[key]
	is_array(v)
	some e in v
	py_str(json.marshal(e)) == m
}

# literal is a GenericCheck whose KIND is a Python literal: match == str(KIND).
literal(lit, m) := m == lit if {
	is_string(m)
} else := _fail(m)

# kind_error is a GenericCheck whose KIND makes ast.literal_eval raise.
kind_error(msg, m) := error(msg) if {
	is_string(m)
} else := _fail(m)

# creds_is is a GenericCheck whose KIND is a dot path into the credentials:
# oslo's _find_in_dict, fanning out over lists, depth first, stopping at the
# first match or error.
creds_is(path, m) := m == py_str(json.marshal(v)) if {
	is_string(m)
	count(path) == 1
	v := creds[path[0]]
	not is_array(v)
} else := any_of([_outcome(it, m) | some it in _walk(path)]) if {
	is_string(m)
} else := _fail(m)

# The walk's items are {"t": JSON text of a value}, {"f": true} (a missing
# key: false) or {"e": message} (oslo raises).
_outcome(it, m) := m == py_str(it.t) if {
	it.t
} else := error(it.e) if {
	it.e
} else := false

_walk(path) := s12 if {
	s0 := [{"t": json.marshal(creds)}]
	s1 := _step(s0, path, 0)
	s2 := _step(s1, path, 1)
	s3 := _step(s2, path, 2)
	s4 := _step(s3, path, 3)
	s5 := _step(s4, path, 4)
	s6 := _step(s5, path, 5)
	s7 := _step(s6, path, 6)
	s8 := _step(s7, path, 7)
	s9 := _step(s8, path, 8)
	s10 := _step(s9, path, 9)
	s11 := _step(s10, path, 10)
	s12 := _step(s11, path, 11)
}

# max_path is the longest credentials path _walk follows; oslorego refuses
# longer ones at translation time.
max_path := 12

_step(items, path, i) := items if {
	i >= count(path)
} else := [x | some it in items; some x in _expand(it, path[i])]

_expand(it, key) := [it] if {
	not it.t
} else := _index(json.unmarshal(it.t), key)

_index(v, key) := [{"t": json.marshal(e)} | some e in v[key]] if {
	is_object(v)
	is_array(v[key])
} else := [{"t": json.marshal(v[key])}] if {
	is_object(v)
	_has_key(v, key)
} else := [{"f": true}] if {
	is_object(v)
} else := [{"e": _not_subscriptable(json.marshal(v))}]

_not_subscriptable(t) := "TypeError: string indices must be integers, not 'str'" if {
	startswith(t, `"`)
} else := "TypeError: list indices must be integers or slices, not str" if {
	startswith(t, "[")
} else := sprintf("TypeError: '%s' object is not subscriptable", [py_type(t)])

# remote is oslo's HttpCheck/HttpsCheck, given its formatted URL. oslorego
# never calls out: a URL that formats is an error (deny). A missing key is a
# KeyError that the nearest enclosing rule: check turns into false.
remote(url) := error(sprintf("NotImplemented: oslorego does not call the remote check %s; it denies", [url])) if {
	is_string(url)
} else := {"error": sprintf("KeyError: '%s'", [url.missing]), "keyerror": true} if {
	url.missing
} else := url

# via_rule is oslo's RuleCheck catching a KeyError: false.
via_rule(r) := false if {
	r.keyerror
} else := r

# ---------------------------------------------------------------------------
# Python str(), repr(), str.lower() and type names, of JSON text.
# ---------------------------------------------------------------------------

# py_type is Python's type name for the value with JSON text t.
py_type(t) := "str" if {
	startswith(t, `"`)
} else := "bool" if {
	t in {"true", "false"}
} else := "NoneType" if {
	t == "null"
} else := "list" if {
	startswith(t, "[")
} else := "dict" if {
	startswith(t, "{")
} else := "int" if {
	_is_int_text(t)
} else := "float"

# py_str is Python str() of the value with JSON text t (json.marshal(v)).
# Dict keys come in sorted order: Rego objects do not keep the JSON order
# Python would.
py_str(t) := json.unmarshal(t) if {
	startswith(t, `"`)
} else := _py_token(t) if {
	not startswith(t, "[")
	not startswith(t, "{")
} else := concat("", [_py_token(x[0]) | some x in regex.find_all_string_submatch_n(_json_token, t, -1)])

# py_repr is Python repr() of the value with JSON text t.
py_repr(t) := py_str_repr(json.unmarshal(t)) if {
	startswith(t, `"`)
} else := py_str(t)

# Containers are rendered token by token, because Rego functions cannot
# recurse.
_json_token := `"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null|[\[\]{},:]`

_py_token(t) := py_str_repr(json.unmarshal(t)) if {
	startswith(t, `"`)
} else := "True" if {
	t == "true"
} else := "False" if {
	t == "false"
} else := "None" if {
	t == "null"
} else := ", " if {
	t == ","
} else := ": " if {
	t == ":"
} else := t if {
	t in {"[", "]", "{", "}"}
} else := _py_num(t)

# _py_num is Python str() of a number from its JSON text: ints exactly,
# floats as Python's shortest repr.
_py_num(t) := "0" if {
	t == "-0"
} else := t if {
	_is_int_text(t)
} else := _py_float(t)

_num_re := `^(-?)([0-9]+)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$`

# _py_float is Python repr(float(t)). Up to 15 significant digits the
# written digits are the shortest repr; longer ones are rounded to a double
# by sprintf (Go's shortest round-trip digits, as Python's).
_py_float(t) := f if {
	[_, sign, ip, fp, ex] := regex.find_all_string_submatch_n(_num_re, t, 1)[0]
	digits := concat("", [ip, fp])
	lead := count(digits) - count(trim_left(digits, "0"))
	sig := trim_right(trim_left(digits, "0"), "0")
	point := (count(ip) + _exp(ex)) - lead
	f := _float_text(t, sign, sig, point)
}

_exp(ex) := 0 if {
	ex == ""
} else := to_number(ex)

_float_text(t, sign, sig, point) := concat("", [sign, "0.0"]) if {
	sig == ""
} else := concat("", [sign, "inf"]) if {
	point > 309
} else := concat("", [sign, "inf"]) if {
	point == 309
	concat("", [sig, _repeat("0", 17 - count(sig))]) > "17976931348623158"
} else := concat("", [sign, "0.0"]) if {
	point < -323
} else := concat("", [sign, _float_digits(sig, point)]) if {
	count(sig) <= 15
} else := _py_float_short(sprintf("%v", [to_number(t)]))

# _py_float_short renders Go's shortest digits of a double the Python way.
_py_float_short(g) := concat("", [sign, _float_digits(sig, point)]) if {
	[_, sign, ip, fp, ex] := regex.find_all_string_submatch_n(_num_re, g, 1)[0]
	digits := concat("", [ip, fp])
	lead := count(digits) - count(trim_left(digits, "0"))
	sig := trim_right(trim_left(digits, "0"), "0")
	point := (count(ip) + _exp(ex)) - lead
}

_float_digits(sig, point) := concat("", ["0.", _repeat("0", 0 - point), sig]) if {
	point <= 0
	point > -4
} else := concat("", [sig, _repeat("0", point - count(sig)), ".0"]) if {
	point > 0
	point <= 16
	point >= count(sig)
} else := concat("", [substring(sig, 0, point), ".", substring(sig, point, -1)]) if {
	point > 0
	point <= 16
} else := concat("", [_mantissa(sig), "e", _exp_sign(point - 1), _two_digits(abs(point - 1))])

_mantissa(sig) := sig if {
	count(sig) == 1
} else := concat("", [substring(sig, 0, 1), ".", substring(sig, 1, -1)])

_exp_sign(e) := "-" if {
	e < 0
} else := "+"

_two_digits(n) := sprintf("%02d", [n])

# py_str_repr is Python repr() of a string.
py_str_repr(s) := concat("", [q, _escape_ascii(s, q), q]) if {
	q := _quote(s)
	regex.match(`^[ -~]*$`, s)
} else := concat("", [q, concat("", [_escape_char(c, q) | some c in split(s, "")]), q]) if {
	q := _quote(s)
}

_quote(s) := `"` if {
	contains(s, "'")
	not contains(s, `"`)
} else := "'"

_escape_ascii(s, q) := replace(replace(s, `\`, `\\`), "'", `\'`) if {
	q == "'"
} else := replace(s, `\`, `\\`)

_escape_char(c, q) := `\\` if {
	c == `\`
} else := `\'` if {
	c == "'"
	q == "'"
} else := `\n` if {
	c == "\n"
} else := `\r` if {
	c == "\r"
} else := `\t` if {
	c == "\t"
} else := c if {
	c == " "
} else := c if {
	regex.match(`^[^\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\p{Zs}]$`, c)
} else := _hex_escape(_ord(c))

_hex_escape(n) := sprintf(`\x%02x`, [n]) if {
	n < 256
} else := sprintf(`\u%04x`, [n]) if {
	n < 65536
} else := sprintf(`\U%08x`, [n])

_hex_digit := {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9, "a": 10, "b": 11, "c": 12, "d": 13, "e": 14, "f": 15}

_byte(h, i) := (_hex_digit[substring(h, 2 * i, 1)] * 16) + _hex_digit[substring(h, (2 * i) + 1, 1)]

# _ord is the code point of a one-character string, decoded from its UTF-8.
_ord(c) := n if {
	h := hex.encode(c)
	count(h) == 2
	n := _byte(h, 0)
} else := n if {
	h := hex.encode(c)
	count(h) == 4
	n := ((_byte(h, 0) - 192) * 64) + (_byte(h, 1) - 128)
} else := n if {
	h := hex.encode(c)
	count(h) == 6
	n := (((_byte(h, 0) - 224) * 4096) + ((_byte(h, 1) - 128) * 64)) + (_byte(h, 2) - 128)
} else := n if {
	h := hex.encode(c)
	n := ((((_byte(h, 0) - 240) * 262144) + ((_byte(h, 1) - 128) * 4096)) + ((_byte(h, 2) - 128) * 64)) + (_byte(h, 3) - 128)
}

# py_lower is Python str.lower(): Go's lower() plus Python's full mapping of
# U+0130 and the Final_Sigma rule.
py_lower(s) := lower(s) if {
	not contains(s, "Σ")
	not contains(s, "İ")
} else := concat("", [_lower_at(chars, i) | some i, _ in chars]) if {
	chars := split(s, "")
}

_lower_at(chars, i) := "i\u0307" if {
	chars[i] == "İ"
} else := "ς" if {
	chars[i] == "Σ"
	_final_sigma(chars, i)
} else := lower(chars[i])

# _final_sigma: a cased letter before (skipping case-ignorables) and none after.
_final_sigma(chars, i) if {
	before := [j | some j, c in chars; j < i; not _case_ignorable(c)]
	count(before) > 0
	_cased(chars[max(before)])
	after := [j | some j, c in chars; j > i; not _case_ignorable(c)]
	not _cased_after(chars, after)
}

_cased_after(chars, after) if {
	count(after) > 0
	_cased(chars[min(after)])
}

_cased(c) if regex.match(`^[\p{Lu}\p{Ll}\p{Lt}]$`, c)

_case_ignorable(c) if regex.match(`^[\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}'.:^\x60\x{00B7}\x{0387}\x{055F}\x{05F4}\x{2018}\x{2019}\x{2024}\x{2027}\x{FE13}\x{FE52}\x{FE55}\x{FF07}\x{FF0E}\x{FF1A}]$`, c)

# _repeat is s repeated n times ("" for n <= 0).
_repeat(s, n) := concat("", [s | some _ in numbers.range(1, n)]) if {
	n > 0
} else := ""
