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
# system_scope is copied to "system". (The first branch is the common case,
# an object without a truthy system_scope, tested in one step.)
creds := input.credentials if {
	is_object(input.credentials)
	object.get(input.credentials, "system_scope", null) in {false, null, 0, "", [], {}, set()}
} else := object.union(_raw_creds, {"system": _raw_creds.system_scope}) if {
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
} else := _convert(json.marshal(target), ["target"], s)

# _lookup formats target[key]: a missing key is oslo's KeyError (false).
_lookup(key, spec) := {"missing": key} if {
	is_object(target)
	not _has_key(target, key)
} else := error(spec.err) if {
	is_object(target)
	spec.err != ""
} else := _convert(json.marshal(target[key]), ["target", key], spec) if {
	is_object(target)
} else := error("TypeError: list indices must be integers or slices, not str") if {
	is_array(target)
} else := error("TypeError: format requires a mapping")

_has_key(obj, key) if _ = obj[key]

# Values travel as their JSON text from here on: OPA caches function results
# by argument, and 5 equals 5.0 to OPA while Python renders "5" and "5.0".
# Containers also carry their path in the input, where their dicts' key
# order is (see py_str_at).

# _convert applies one %-conversion to the value with JSON text t at path.
_convert(t, path, spec) := _pad(_trunc(py_str_at(t, path), spec.prec), spec) if {
	spec.conv == "s"
} else := _pad(_trunc(py_repr_at(t, path), spec.prec), spec) if {
	spec.conv == "r"
} else := _pad(_trunc(_ascii(py_repr_at(t, path)), spec.prec), spec) if {
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

# nan_text is the number that carries Python's float NaN (rego.NaNText):
# json.loads reads 2e400 as inf, which the input carries as 1e400.
nan_text := "2e400"

_is_nan(t) if t == nan_text

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
} else := error("ValueError: cannot convert float NaN to integer") if {
	_is_nan(t)
} else := _int_text(_int_digits(t, spec.conv), t, spec)

# _int_digits is the magnitude of int(value) in the conversion's base. A
# float is first the double Python reads (sprintf formats a float64) and
# then truncated exactly: %f gives a double's exact digits, and 60
# fractional digits cannot round a double's integer part up.
_int_digits(t, conv) := "1" if {
	t == "true"
} else := "0" if {
	t == "false"
} else := _base(trim_left(t, "-"), conv) if {
	_is_int_text(t)
} else := split(trim_left(sprintf("%.60f", [to_number(t)]), "-"), ".")[0]

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
} else := _int_pad(_inf_sign(t, spec), _inf_text(t, spec), spec) if {
	_is_inf(t)
} else := _int_pad(_int_sign(t, spec), _inf_text(t, spec), spec) if {
	_is_nan(t)
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

# _inf_text is inf or nan without its sign, in the conversion's case; the
# sign and zero padding go as for an integer.
_inf_text(t, spec) := trim_left(py_str(t), "-") if {
	spec.conv in {"e", "f", "g"}
} else := upper(trim_left(py_str(t), "-"))

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
	py_str_at(json.marshal(v), ["credentials", key]) == m
}

creds_eq(key, m) if {
	is_string(m)
	v := creds[key]
	is_array(v)
	some i, e in v
	py_str_at(json.marshal(e), ["credentials", key, i]) == m
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
creds_is(path, m) := m == py_str_at(json.marshal(v), ["credentials", path[0]]) if {
	is_string(m)
	count(path) == 1
	v := creds[path[0]]
	not is_array(v)
} else := any_of([_outcome(it, m) | some it in _walk(path)]) if {
	is_string(m)
} else := _fail(m)

# creds_path is creds_is for the holds form of a guarded rule, a plain
# boolean: some value the walk reaches renders as m. It is exact only where
# the walk indexes objects alone (oslo cannot raise then, and the order of
# the walk does not matter); oslorego's native path checks that for every
# decision it takes with it, and result never uses it.
creds_path(path, m) if {
	is_string(m)
	some it in _walk(path)
	_outcome(it, m) == true
}

# The walk's items are {"t": JSON text of a value, "p": its input path},
# {"f": true} (a missing key: false) or {"e": message} (oslo raises).
_outcome(it, m) := m == py_str_at(it.t, it.p) if {
	it.t
} else := error(it.e) if {
	it.e
} else := false

_walk(path) := s12 if {
	s0 := [{"t": json.marshal(creds), "p": ["credentials"]}]
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
} else := _index(json.unmarshal(it.t), it.p, key)

_index(v, p, key) := [{"t": json.marshal(e), "p": array.concat(p, [key, i])} | some i, e in v[key]] if {
	is_object(v)
	is_array(v[key])
} else := [{"t": json.marshal(v[key]), "p": array.concat(p, [key])}] if {
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

# py_str is Python str() of the value with JSON text t (json.marshal(v)),
# its dicts' keys in sorted order (the order json.marshal writes): Rego
# objects have no order. py_str_at knows the order of the input's values.
py_str(t) := json.unmarshal(t) if {
	startswith(t, `"`)
} else := _py_token(t) if {
	not startswith(t, "[")
	not startswith(t, "{")
} else := _py_tokens(t)

_py_tokens(t) := concat("", [_py_token(x[0]) | some x in regex.find_all_string_submatch_n(_json_token, t, -1)])

# py_repr is Python repr() of the value with JSON text t.
py_repr(t) := py_str_repr(json.unmarshal(t)) if {
	startswith(t, `"`)
} else := py_str(t)

# py_str_at is Python str() of the value with JSON text t at path
# (["target", ...], or ["credentials", ...] in the credentials enforce()
# sees): its dicts print their keys in the request's JSON order, which
# input.key_order records where it is not sorted (rego.Ordered). It is
# py_str with one more branch, so that scalars cost no more.
py_str_at(t, path) := json.unmarshal(t) if {
	startswith(t, `"`)
} else := _py_token(t) if {
	not startswith(t, "[")
	not startswith(t, "{")
} else := _str_ordered(json.unmarshal(t), path) if {
	_order_node(path) != {}
} else := _py_tokens(t)

# py_repr_at is Python repr() of the value with JSON text t at path.
py_repr_at(t, path) := py_repr(t) if {
	startswith(t, `"`)
} else := py_str_at(t, path)

# _order_node is the key order tree at path: {"keys": [KEY, ...]} for an
# object whose keys are not sorted, "sub" by key or decimal index for the
# values below that have one, {} when the keys at and below are sorted.
_order_node(path) := object.get(object.get(input, "key_order", {}), _tree_path(_input_path(path)), {})

_tree_path(path) := array.concat([path[0]], [s | some k in array.slice(path, 1, count(path)); some s in ["sub", _sub_key(k)]])

# _input_path is where a value of the credentials enforce() sees is in the
# input: "system" may be the system_scope value it copied.
_input_path(path) := array.concat(["credentials", "system_scope"], array.slice(path, 2, count(path))) if {
	path[0] == "credentials"
	path[1] == "system"
	_raw_creds.system_scope
	truthy(_raw_creds.system_scope)
} else := path

_sub_key(k) := format_int(k, 10) if {
	is_number(k)
} else := k

# _str_ordered renders container v without recursion: every node of
# walk(v) contributes text at a sort key, its position in the output, and
# the sorted texts are joined. A node's position is the list of its
# ancestors' ranks: an element's index, a key's position in key_order, or
# (sorted keys) the key itself; -2 and -1 come before a container's
# children (its opening, then a child's separator and key), and the object
# {} after them all (OPA orders numbers, then strings, then objects).
# path and p name one input value, so OPA's cache of function results by
# argument (where 5 equals 5.0) cannot mix two values up.
_str_ordered(v, path) := concat("", [part[1] | some part in sort(parts)]) if {
	parts := [part |
		walk(v, [p, x])
		some part in _node_parts(p, x, path)
	]
}

_node_parts(p, x, path) := [[array.concat(_pos(p, path), [-1]), _py_token(json.marshal(x))]] if {
	not is_object(x)
	not is_array(x)
} else := array.concat(
	[[array.concat(q, [-1]), _open(x)], [array.concat(q, [{}]), _close(x)]],
	[[array.concat(q, [r, -2]), _lead(x, k, r, ranks)] | some k, _ in x; r := _rank(keys, k)],
) if {
	q := _pos(p, path)
	keys := _ranks(array.concat(path, p))
	ranks := {_rank(keys, k) | some k, _ in x}
}

_open(x) := "{" if {
	is_object(x)
} else := "["

_close(x) := "}" if {
	is_object(x)
} else := "]"

# _lead is what precedes a child: ", " unless it is the first, and a dict
# key's repr.
_lead(x, k, r, ranks) := concat("", [_comma(r, ranks), py_str_repr(k), ": "]) if {
	is_object(x)
} else := _comma(r, ranks)

_comma(r, ranks) := "" if {
	r == min(ranks)
} else := ", "

_pos(p, path) := [_rank(_ranks(array.concat(path, array.slice(p, 0, i))), k) | some i, k in p]

# _ranks are the positions of the keys of the object at path, null when
# they are sorted.
_ranks(path) := {k: i | some i, k in _order_node(path).keys} if {
	_order_node(path).keys
} else := null

_rank(keys, k) := keys[k] if {
	is_string(k)
	keys != null
} else := k

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
} else := "nan" if {
	_is_nan(t)
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
	regex.match(_printable_re, c)
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

# Both classes are Python's (Unicode 14), generated below: Cased includes
# Other_Lowercase and Other_Uppercase (ª, Ⅰ, Ⓐ), which \p{L*} misses.
_cased(c) if regex.match(_cased_re, c)

_case_ignorable(c) if regex.match(_case_ignorable_re, c)

# _repeat is s repeated n times ("" for n <= 0).
_repeat(s, n) := concat("", [s | some _ in numbers.range(1, n)]) if {
	n > 0
} else := ""

# BEGIN GENERATED UNICODE CLASSES
# Unicode 14.0.0 classes of the reference interpreter, rendered from
# internal/python/tables.go by TestRegoUnicodeClasses; do not edit.

# _printable_re matches one character that str.isprintable() accepts.
_printable_re := `^[\x{20}-\x{7e}\x{a1}-\x{ac}\x{ae}-\x{377}\x{37a}-\x{37f}\x{384}-\x{38a}\x{38c}\x{38e}-\x{3a1}\x{3a3}-\x{52f}\x{531}-\x{556}\x{559}-\x{58a}\x{58d}-\x{58f}\x{591}-\x{5c7}\x{5d0}-\x{5ea}\x{5ef}-\x{5f4}\x{606}-\x{61b}\x{61d}-\x{6dc}\x{6de}-\x{70d}\x{710}-\x{74a}\x{74d}-\x{7b1}\x{7c0}-\x{7fa}\x{7fd}-\x{82d}\x{830}-\x{83e}\x{840}-\x{85b}\x{85e}\x{860}-\x{86a}\x{870}-\x{88e}\x{898}-\x{8e1}\x{8e3}-\x{983}\x{985}-\x{98c}\x{98f}-\x{990}\x{993}-\x{9a8}\x{9aa}-\x{9b0}\x{9b2}\x{9b6}-\x{9b9}\x{9bc}-\x{9c4}\x{9c7}-\x{9c8}\x{9cb}-\x{9ce}\x{9d7}\x{9dc}-\x{9dd}\x{9df}-\x{9e3}\x{9e6}-\x{9fe}\x{a01}-\x{a03}\x{a05}-\x{a0a}\x{a0f}-\x{a10}\x{a13}-\x{a28}\x{a2a}-\x{a30}\x{a32}-\x{a33}\x{a35}-\x{a36}\x{a38}-\x{a39}\x{a3c}\x{a3e}-\x{a42}\x{a47}-\x{a48}\x{a4b}-\x{a4d}\x{a51}\x{a59}-\x{a5c}\x{a5e}\x{a66}-\x{a76}\x{a81}-\x{a83}\x{a85}-\x{a8d}\x{a8f}-\x{a91}\x{a93}-\x{aa8}\x{aaa}-\x{ab0}\x{ab2}-\x{ab3}\x{ab5}-\x{ab9}\x{abc}-\x{ac5}\x{ac7}-\x{ac9}\x{acb}-\x{acd}\x{ad0}\x{ae0}-\x{ae3}\x{ae6}-\x{af1}\x{af9}-\x{aff}\x{b01}-\x{b03}\x{b05}-\x{b0c}\x{b0f}-\x{b10}\x{b13}-\x{b28}\x{b2a}-\x{b30}\x{b32}-\x{b33}\x{b35}-\x{b39}\x{b3c}-\x{b44}\x{b47}-\x{b48}\x{b4b}-\x{b4d}\x{b55}-\x{b57}\x{b5c}-\x{b5d}\x{b5f}-\x{b63}\x{b66}-\x{b77}\x{b82}-\x{b83}\x{b85}-\x{b8a}\x{b8e}-\x{b90}\x{b92}-\x{b95}\x{b99}-\x{b9a}\x{b9c}\x{b9e}-\x{b9f}\x{ba3}-\x{ba4}\x{ba8}-\x{baa}\x{bae}-\x{bb9}\x{bbe}-\x{bc2}\x{bc6}-\x{bc8}\x{bca}-\x{bcd}\x{bd0}\x{bd7}\x{be6}-\x{bfa}\x{c00}-\x{c0c}\x{c0e}-\x{c10}\x{c12}-\x{c28}\x{c2a}-\x{c39}\x{c3c}-\x{c44}\x{c46}-\x{c48}\x{c4a}-\x{c4d}\x{c55}-\x{c56}\x{c58}-\x{c5a}\x{c5d}\x{c60}-\x{c63}\x{c66}-\x{c6f}\x{c77}-\x{c8c}\x{c8e}-\x{c90}\x{c92}-\x{ca8}\x{caa}-\x{cb3}\x{cb5}-\x{cb9}\x{cbc}-\x{cc4}\x{cc6}-\x{cc8}\x{cca}-\x{ccd}\x{cd5}-\x{cd6}\x{cdd}-\x{cde}\x{ce0}-\x{ce3}\x{ce6}-\x{cef}\x{cf1}-\x{cf2}\x{d00}-\x{d0c}\x{d0e}-\x{d10}\x{d12}-\x{d44}\x{d46}-\x{d48}\x{d4a}-\x{d4f}\x{d54}-\x{d63}\x{d66}-\x{d7f}\x{d81}-\x{d83}\x{d85}-\x{d96}\x{d9a}-\x{db1}\x{db3}-\x{dbb}\x{dbd}\x{dc0}-\x{dc6}\x{dca}\x{dcf}-\x{dd4}\x{dd6}\x{dd8}-\x{ddf}\x{de6}-\x{def}\x{df2}-\x{df4}\x{e01}-\x{e3a}\x{e3f}-\x{e5b}\x{e81}-\x{e82}\x{e84}\x{e86}-\x{e8a}\x{e8c}-\x{ea3}\x{ea5}\x{ea7}-\x{ebd}\x{ec0}-\x{ec4}\x{ec6}\x{ec8}-\x{ecd}\x{ed0}-\x{ed9}\x{edc}-\x{edf}\x{f00}-\x{f47}\x{f49}-\x{f6c}\x{f71}-\x{f97}\x{f99}-\x{fbc}\x{fbe}-\x{fcc}\x{fce}-\x{fda}\x{1000}-\x{10c5}\x{10c7}\x{10cd}\x{10d0}-\x{1248}\x{124a}-\x{124d}\x{1250}-\x{1256}\x{1258}\x{125a}-\x{125d}\x{1260}-\x{1288}\x{128a}-\x{128d}\x{1290}-\x{12b0}\x{12b2}-\x{12b5}\x{12b8}-\x{12be}\x{12c0}\x{12c2}-\x{12c5}\x{12c8}-\x{12d6}\x{12d8}-\x{1310}\x{1312}-\x{1315}\x{1318}-\x{135a}\x{135d}-\x{137c}\x{1380}-\x{1399}\x{13a0}-\x{13f5}\x{13f8}-\x{13fd}\x{1400}-\x{167f}\x{1681}-\x{169c}\x{16a0}-\x{16f8}\x{1700}-\x{1715}\x{171f}-\x{1736}\x{1740}-\x{1753}\x{1760}-\x{176c}\x{176e}-\x{1770}\x{1772}-\x{1773}\x{1780}-\x{17dd}\x{17e0}-\x{17e9}\x{17f0}-\x{17f9}\x{1800}-\x{180d}\x{180f}-\x{1819}\x{1820}-\x{1878}\x{1880}-\x{18aa}\x{18b0}-\x{18f5}\x{1900}-\x{191e}\x{1920}-\x{192b}\x{1930}-\x{193b}\x{1940}\x{1944}-\x{196d}\x{1970}-\x{1974}\x{1980}-\x{19ab}\x{19b0}-\x{19c9}\x{19d0}-\x{19da}\x{19de}-\x{1a1b}\x{1a1e}-\x{1a5e}\x{1a60}-\x{1a7c}\x{1a7f}-\x{1a89}\x{1a90}-\x{1a99}\x{1aa0}-\x{1aad}\x{1ab0}-\x{1ace}\x{1b00}-\x{1b4c}\x{1b50}-\x{1b7e}\x{1b80}-\x{1bf3}\x{1bfc}-\x{1c37}\x{1c3b}-\x{1c49}\x{1c4d}-\x{1c88}\x{1c90}-\x{1cba}\x{1cbd}-\x{1cc7}\x{1cd0}-\x{1cfa}\x{1d00}-\x{1f15}\x{1f18}-\x{1f1d}\x{1f20}-\x{1f45}\x{1f48}-\x{1f4d}\x{1f50}-\x{1f57}\x{1f59}\x{1f5b}\x{1f5d}\x{1f5f}-\x{1f7d}\x{1f80}-\x{1fb4}\x{1fb6}-\x{1fc4}\x{1fc6}-\x{1fd3}\x{1fd6}-\x{1fdb}\x{1fdd}-\x{1fef}\x{1ff2}-\x{1ff4}\x{1ff6}-\x{1ffe}\x{2010}-\x{2027}\x{2030}-\x{205e}\x{2070}-\x{2071}\x{2074}-\x{208e}\x{2090}-\x{209c}\x{20a0}-\x{20c0}\x{20d0}-\x{20f0}\x{2100}-\x{218b}\x{2190}-\x{2426}\x{2440}-\x{244a}\x{2460}-\x{2b73}\x{2b76}-\x{2b95}\x{2b97}-\x{2cf3}\x{2cf9}-\x{2d25}\x{2d27}\x{2d2d}\x{2d30}-\x{2d67}\x{2d6f}-\x{2d70}\x{2d7f}-\x{2d96}\x{2da0}-\x{2da6}\x{2da8}-\x{2dae}\x{2db0}-\x{2db6}\x{2db8}-\x{2dbe}\x{2dc0}-\x{2dc6}\x{2dc8}-\x{2dce}\x{2dd0}-\x{2dd6}\x{2dd8}-\x{2dde}\x{2de0}-\x{2e5d}\x{2e80}-\x{2e99}\x{2e9b}-\x{2ef3}\x{2f00}-\x{2fd5}\x{2ff0}-\x{2ffb}\x{3001}-\x{303f}\x{3041}-\x{3096}\x{3099}-\x{30ff}\x{3105}-\x{312f}\x{3131}-\x{318e}\x{3190}-\x{31e3}\x{31f0}-\x{321e}\x{3220}-\x{a48c}\x{a490}-\x{a4c6}\x{a4d0}-\x{a62b}\x{a640}-\x{a6f7}\x{a700}-\x{a7ca}\x{a7d0}-\x{a7d1}\x{a7d3}\x{a7d5}-\x{a7d9}\x{a7f2}-\x{a82c}\x{a830}-\x{a839}\x{a840}-\x{a877}\x{a880}-\x{a8c5}\x{a8ce}-\x{a8d9}\x{a8e0}-\x{a953}\x{a95f}-\x{a97c}\x{a980}-\x{a9cd}\x{a9cf}-\x{a9d9}\x{a9de}-\x{a9fe}\x{aa00}-\x{aa36}\x{aa40}-\x{aa4d}\x{aa50}-\x{aa59}\x{aa5c}-\x{aac2}\x{aadb}-\x{aaf6}\x{ab01}-\x{ab06}\x{ab09}-\x{ab0e}\x{ab11}-\x{ab16}\x{ab20}-\x{ab26}\x{ab28}-\x{ab2e}\x{ab30}-\x{ab6b}\x{ab70}-\x{abed}\x{abf0}-\x{abf9}\x{ac00}-\x{d7a3}\x{d7b0}-\x{d7c6}\x{d7cb}-\x{d7fb}\x{f900}-\x{fa6d}\x{fa70}-\x{fad9}\x{fb00}-\x{fb06}\x{fb13}-\x{fb17}\x{fb1d}-\x{fb36}\x{fb38}-\x{fb3c}\x{fb3e}\x{fb40}-\x{fb41}\x{fb43}-\x{fb44}\x{fb46}-\x{fbc2}\x{fbd3}-\x{fd8f}\x{fd92}-\x{fdc7}\x{fdcf}\x{fdf0}-\x{fe19}\x{fe20}-\x{fe52}\x{fe54}-\x{fe66}\x{fe68}-\x{fe6b}\x{fe70}-\x{fe74}\x{fe76}-\x{fefc}\x{ff01}-\x{ffbe}\x{ffc2}-\x{ffc7}\x{ffca}-\x{ffcf}\x{ffd2}-\x{ffd7}\x{ffda}-\x{ffdc}\x{ffe0}-\x{ffe6}\x{ffe8}-\x{ffee}\x{fffc}-\x{fffd}\x{10000}-\x{1000b}\x{1000d}-\x{10026}\x{10028}-\x{1003a}\x{1003c}-\x{1003d}\x{1003f}-\x{1004d}\x{10050}-\x{1005d}\x{10080}-\x{100fa}\x{10100}-\x{10102}\x{10107}-\x{10133}\x{10137}-\x{1018e}\x{10190}-\x{1019c}\x{101a0}\x{101d0}-\x{101fd}\x{10280}-\x{1029c}\x{102a0}-\x{102d0}\x{102e0}-\x{102fb}\x{10300}-\x{10323}\x{1032d}-\x{1034a}\x{10350}-\x{1037a}\x{10380}-\x{1039d}\x{1039f}-\x{103c3}\x{103c8}-\x{103d5}\x{10400}-\x{1049d}\x{104a0}-\x{104a9}\x{104b0}-\x{104d3}\x{104d8}-\x{104fb}\x{10500}-\x{10527}\x{10530}-\x{10563}\x{1056f}-\x{1057a}\x{1057c}-\x{1058a}\x{1058c}-\x{10592}\x{10594}-\x{10595}\x{10597}-\x{105a1}\x{105a3}-\x{105b1}\x{105b3}-\x{105b9}\x{105bb}-\x{105bc}\x{10600}-\x{10736}\x{10740}-\x{10755}\x{10760}-\x{10767}\x{10780}-\x{10785}\x{10787}-\x{107b0}\x{107b2}-\x{107ba}\x{10800}-\x{10805}\x{10808}\x{1080a}-\x{10835}\x{10837}-\x{10838}\x{1083c}\x{1083f}-\x{10855}\x{10857}-\x{1089e}\x{108a7}-\x{108af}\x{108e0}-\x{108f2}\x{108f4}-\x{108f5}\x{108fb}-\x{1091b}\x{1091f}-\x{10939}\x{1093f}\x{10980}-\x{109b7}\x{109bc}-\x{109cf}\x{109d2}-\x{10a03}\x{10a05}-\x{10a06}\x{10a0c}-\x{10a13}\x{10a15}-\x{10a17}\x{10a19}-\x{10a35}\x{10a38}-\x{10a3a}\x{10a3f}-\x{10a48}\x{10a50}-\x{10a58}\x{10a60}-\x{10a9f}\x{10ac0}-\x{10ae6}\x{10aeb}-\x{10af6}\x{10b00}-\x{10b35}\x{10b39}-\x{10b55}\x{10b58}-\x{10b72}\x{10b78}-\x{10b91}\x{10b99}-\x{10b9c}\x{10ba9}-\x{10baf}\x{10c00}-\x{10c48}\x{10c80}-\x{10cb2}\x{10cc0}-\x{10cf2}\x{10cfa}-\x{10d27}\x{10d30}-\x{10d39}\x{10e60}-\x{10e7e}\x{10e80}-\x{10ea9}\x{10eab}-\x{10ead}\x{10eb0}-\x{10eb1}\x{10f00}-\x{10f27}\x{10f30}-\x{10f59}\x{10f70}-\x{10f89}\x{10fb0}-\x{10fcb}\x{10fe0}-\x{10ff6}\x{11000}-\x{1104d}\x{11052}-\x{11075}\x{1107f}-\x{110bc}\x{110be}-\x{110c2}\x{110d0}-\x{110e8}\x{110f0}-\x{110f9}\x{11100}-\x{11134}\x{11136}-\x{11147}\x{11150}-\x{11176}\x{11180}-\x{111df}\x{111e1}-\x{111f4}\x{11200}-\x{11211}\x{11213}-\x{1123e}\x{11280}-\x{11286}\x{11288}\x{1128a}-\x{1128d}\x{1128f}-\x{1129d}\x{1129f}-\x{112a9}\x{112b0}-\x{112ea}\x{112f0}-\x{112f9}\x{11300}-\x{11303}\x{11305}-\x{1130c}\x{1130f}-\x{11310}\x{11313}-\x{11328}\x{1132a}-\x{11330}\x{11332}-\x{11333}\x{11335}-\x{11339}\x{1133b}-\x{11344}\x{11347}-\x{11348}\x{1134b}-\x{1134d}\x{11350}\x{11357}\x{1135d}-\x{11363}\x{11366}-\x{1136c}\x{11370}-\x{11374}\x{11400}-\x{1145b}\x{1145d}-\x{11461}\x{11480}-\x{114c7}\x{114d0}-\x{114d9}\x{11580}-\x{115b5}\x{115b8}-\x{115dd}\x{11600}-\x{11644}\x{11650}-\x{11659}\x{11660}-\x{1166c}\x{11680}-\x{116b9}\x{116c0}-\x{116c9}\x{11700}-\x{1171a}\x{1171d}-\x{1172b}\x{11730}-\x{11746}\x{11800}-\x{1183b}\x{118a0}-\x{118f2}\x{118ff}-\x{11906}\x{11909}\x{1190c}-\x{11913}\x{11915}-\x{11916}\x{11918}-\x{11935}\x{11937}-\x{11938}\x{1193b}-\x{11946}\x{11950}-\x{11959}\x{119a0}-\x{119a7}\x{119aa}-\x{119d7}\x{119da}-\x{119e4}\x{11a00}-\x{11a47}\x{11a50}-\x{11aa2}\x{11ab0}-\x{11af8}\x{11c00}-\x{11c08}\x{11c0a}-\x{11c36}\x{11c38}-\x{11c45}\x{11c50}-\x{11c6c}\x{11c70}-\x{11c8f}\x{11c92}-\x{11ca7}\x{11ca9}-\x{11cb6}\x{11d00}-\x{11d06}\x{11d08}-\x{11d09}\x{11d0b}-\x{11d36}\x{11d3a}\x{11d3c}-\x{11d3d}\x{11d3f}-\x{11d47}\x{11d50}-\x{11d59}\x{11d60}-\x{11d65}\x{11d67}-\x{11d68}\x{11d6a}-\x{11d8e}\x{11d90}-\x{11d91}\x{11d93}-\x{11d98}\x{11da0}-\x{11da9}\x{11ee0}-\x{11ef8}\x{11fb0}\x{11fc0}-\x{11ff1}\x{11fff}-\x{12399}\x{12400}-\x{1246e}\x{12470}-\x{12474}\x{12480}-\x{12543}\x{12f90}-\x{12ff2}\x{13000}-\x{1342e}\x{14400}-\x{14646}\x{16800}-\x{16a38}\x{16a40}-\x{16a5e}\x{16a60}-\x{16a69}\x{16a6e}-\x{16abe}\x{16ac0}-\x{16ac9}\x{16ad0}-\x{16aed}\x{16af0}-\x{16af5}\x{16b00}-\x{16b45}\x{16b50}-\x{16b59}\x{16b5b}-\x{16b61}\x{16b63}-\x{16b77}\x{16b7d}-\x{16b8f}\x{16e40}-\x{16e9a}\x{16f00}-\x{16f4a}\x{16f4f}-\x{16f87}\x{16f8f}-\x{16f9f}\x{16fe0}-\x{16fe4}\x{16ff0}-\x{16ff1}\x{17000}-\x{187f7}\x{18800}-\x{18cd5}\x{18d00}-\x{18d08}\x{1aff0}-\x{1aff3}\x{1aff5}-\x{1affb}\x{1affd}-\x{1affe}\x{1b000}-\x{1b122}\x{1b150}-\x{1b152}\x{1b164}-\x{1b167}\x{1b170}-\x{1b2fb}\x{1bc00}-\x{1bc6a}\x{1bc70}-\x{1bc7c}\x{1bc80}-\x{1bc88}\x{1bc90}-\x{1bc99}\x{1bc9c}-\x{1bc9f}\x{1cf00}-\x{1cf2d}\x{1cf30}-\x{1cf46}\x{1cf50}-\x{1cfc3}\x{1d000}-\x{1d0f5}\x{1d100}-\x{1d126}\x{1d129}-\x{1d172}\x{1d17b}-\x{1d1ea}\x{1d200}-\x{1d245}\x{1d2e0}-\x{1d2f3}\x{1d300}-\x{1d356}\x{1d360}-\x{1d378}\x{1d400}-\x{1d454}\x{1d456}-\x{1d49c}\x{1d49e}-\x{1d49f}\x{1d4a2}\x{1d4a5}-\x{1d4a6}\x{1d4a9}-\x{1d4ac}\x{1d4ae}-\x{1d4b9}\x{1d4bb}\x{1d4bd}-\x{1d4c3}\x{1d4c5}-\x{1d505}\x{1d507}-\x{1d50a}\x{1d50d}-\x{1d514}\x{1d516}-\x{1d51c}\x{1d51e}-\x{1d539}\x{1d53b}-\x{1d53e}\x{1d540}-\x{1d544}\x{1d546}\x{1d54a}-\x{1d550}\x{1d552}-\x{1d6a5}\x{1d6a8}-\x{1d7cb}\x{1d7ce}-\x{1da8b}\x{1da9b}-\x{1da9f}\x{1daa1}-\x{1daaf}\x{1df00}-\x{1df1e}\x{1e000}-\x{1e006}\x{1e008}-\x{1e018}\x{1e01b}-\x{1e021}\x{1e023}-\x{1e024}\x{1e026}-\x{1e02a}\x{1e100}-\x{1e12c}\x{1e130}-\x{1e13d}\x{1e140}-\x{1e149}\x{1e14e}-\x{1e14f}\x{1e290}-\x{1e2ae}\x{1e2c0}-\x{1e2f9}\x{1e2ff}\x{1e7e0}-\x{1e7e6}\x{1e7e8}-\x{1e7eb}\x{1e7ed}-\x{1e7ee}\x{1e7f0}-\x{1e7fe}\x{1e800}-\x{1e8c4}\x{1e8c7}-\x{1e8d6}\x{1e900}-\x{1e94b}\x{1e950}-\x{1e959}\x{1e95e}-\x{1e95f}\x{1ec71}-\x{1ecb4}\x{1ed01}-\x{1ed3d}\x{1ee00}-\x{1ee03}\x{1ee05}-\x{1ee1f}\x{1ee21}-\x{1ee22}\x{1ee24}\x{1ee27}\x{1ee29}-\x{1ee32}\x{1ee34}-\x{1ee37}\x{1ee39}\x{1ee3b}\x{1ee42}\x{1ee47}\x{1ee49}\x{1ee4b}\x{1ee4d}-\x{1ee4f}\x{1ee51}-\x{1ee52}\x{1ee54}\x{1ee57}\x{1ee59}\x{1ee5b}\x{1ee5d}\x{1ee5f}\x{1ee61}-\x{1ee62}\x{1ee64}\x{1ee67}-\x{1ee6a}\x{1ee6c}-\x{1ee72}\x{1ee74}-\x{1ee77}\x{1ee79}-\x{1ee7c}\x{1ee7e}\x{1ee80}-\x{1ee89}\x{1ee8b}-\x{1ee9b}\x{1eea1}-\x{1eea3}\x{1eea5}-\x{1eea9}\x{1eeab}-\x{1eebb}\x{1eef0}-\x{1eef1}\x{1f000}-\x{1f02b}\x{1f030}-\x{1f093}\x{1f0a0}-\x{1f0ae}\x{1f0b1}-\x{1f0bf}\x{1f0c1}-\x{1f0cf}\x{1f0d1}-\x{1f0f5}\x{1f100}-\x{1f1ad}\x{1f1e6}-\x{1f202}\x{1f210}-\x{1f23b}\x{1f240}-\x{1f248}\x{1f250}-\x{1f251}\x{1f260}-\x{1f265}\x{1f300}-\x{1f6d7}\x{1f6dd}-\x{1f6ec}\x{1f6f0}-\x{1f6fc}\x{1f700}-\x{1f773}\x{1f780}-\x{1f7d8}\x{1f7e0}-\x{1f7eb}\x{1f7f0}\x{1f800}-\x{1f80b}\x{1f810}-\x{1f847}\x{1f850}-\x{1f859}\x{1f860}-\x{1f887}\x{1f890}-\x{1f8ad}\x{1f8b0}-\x{1f8b1}\x{1f900}-\x{1fa53}\x{1fa60}-\x{1fa6d}\x{1fa70}-\x{1fa74}\x{1fa78}-\x{1fa7c}\x{1fa80}-\x{1fa86}\x{1fa90}-\x{1faac}\x{1fab0}-\x{1faba}\x{1fac0}-\x{1fac5}\x{1fad0}-\x{1fad9}\x{1fae0}-\x{1fae7}\x{1faf0}-\x{1faf6}\x{1fb00}-\x{1fb92}\x{1fb94}-\x{1fbca}\x{1fbf0}-\x{1fbf9}\x{20000}-\x{2a6df}\x{2a700}-\x{2b738}\x{2b740}-\x{2b81d}\x{2b820}-\x{2cea1}\x{2ceb0}-\x{2ebe0}\x{2f800}-\x{2fa1d}\x{30000}-\x{3134a}\x{e0100}-\x{e01ef}]$`

# _cased_re matches one character the Final_Sigma rule of str.lower() counts as cased.
_cased_re := `^[\x{41}-\x{5a}\x{61}-\x{7a}\x{aa}\x{b5}\x{ba}\x{c0}-\x{d6}\x{d8}-\x{f6}\x{f8}-\x{1ba}\x{1bc}-\x{1bf}\x{1c4}-\x{293}\x{295}-\x{2af}\x{370}-\x{373}\x{376}-\x{377}\x{37b}-\x{37d}\x{37f}\x{386}\x{388}-\x{38a}\x{38c}\x{38e}-\x{3a1}\x{3a3}-\x{3f5}\x{3f7}-\x{481}\x{48a}-\x{52f}\x{531}-\x{556}\x{560}-\x{588}\x{10a0}-\x{10c5}\x{10c7}\x{10cd}\x{10d0}-\x{10fa}\x{10fd}-\x{10ff}\x{13a0}-\x{13f5}\x{13f8}-\x{13fd}\x{1c80}-\x{1c88}\x{1c90}-\x{1cba}\x{1cbd}-\x{1cbf}\x{1d00}-\x{1d2b}\x{1d6b}-\x{1d77}\x{1d79}-\x{1d9a}\x{1e00}-\x{1f15}\x{1f18}-\x{1f1d}\x{1f20}-\x{1f45}\x{1f48}-\x{1f4d}\x{1f50}-\x{1f57}\x{1f59}\x{1f5b}\x{1f5d}\x{1f5f}-\x{1f7d}\x{1f80}-\x{1fb4}\x{1fb6}-\x{1fbc}\x{1fbe}\x{1fc2}-\x{1fc4}\x{1fc6}-\x{1fcc}\x{1fd0}-\x{1fd3}\x{1fd6}-\x{1fdb}\x{1fe0}-\x{1fec}\x{1ff2}-\x{1ff4}\x{1ff6}-\x{1ffc}\x{2102}\x{2107}\x{210a}-\x{2113}\x{2115}\x{2119}-\x{211d}\x{2124}\x{2126}\x{2128}\x{212a}-\x{212d}\x{212f}-\x{2134}\x{2139}\x{213c}-\x{213f}\x{2145}-\x{2149}\x{214e}\x{2160}-\x{217f}\x{2183}-\x{2184}\x{24b6}-\x{24e9}\x{2c00}-\x{2c7b}\x{2c7e}-\x{2ce4}\x{2ceb}-\x{2cee}\x{2cf2}-\x{2cf3}\x{2d00}-\x{2d25}\x{2d27}\x{2d2d}\x{a640}-\x{a66d}\x{a680}-\x{a69b}\x{a722}-\x{a76f}\x{a771}-\x{a787}\x{a78b}-\x{a78e}\x{a790}-\x{a7ca}\x{a7d0}-\x{a7d1}\x{a7d3}\x{a7d5}-\x{a7d9}\x{a7f5}-\x{a7f6}\x{a7fa}\x{ab30}-\x{ab5a}\x{ab60}-\x{ab68}\x{ab70}-\x{abbf}\x{fb00}-\x{fb06}\x{fb13}-\x{fb17}\x{ff21}-\x{ff3a}\x{ff41}-\x{ff5a}\x{10400}-\x{1044f}\x{104b0}-\x{104d3}\x{104d8}-\x{104fb}\x{10570}-\x{1057a}\x{1057c}-\x{1058a}\x{1058c}-\x{10592}\x{10594}-\x{10595}\x{10597}-\x{105a1}\x{105a3}-\x{105b1}\x{105b3}-\x{105b9}\x{105bb}-\x{105bc}\x{10c80}-\x{10cb2}\x{10cc0}-\x{10cf2}\x{118a0}-\x{118df}\x{16e40}-\x{16e7f}\x{1d400}-\x{1d454}\x{1d456}-\x{1d49c}\x{1d49e}-\x{1d49f}\x{1d4a2}\x{1d4a5}-\x{1d4a6}\x{1d4a9}-\x{1d4ac}\x{1d4ae}-\x{1d4b9}\x{1d4bb}\x{1d4bd}-\x{1d4c3}\x{1d4c5}-\x{1d505}\x{1d507}-\x{1d50a}\x{1d50d}-\x{1d514}\x{1d516}-\x{1d51c}\x{1d51e}-\x{1d539}\x{1d53b}-\x{1d53e}\x{1d540}-\x{1d544}\x{1d546}\x{1d54a}-\x{1d550}\x{1d552}-\x{1d6a5}\x{1d6a8}-\x{1d6c0}\x{1d6c2}-\x{1d6da}\x{1d6dc}-\x{1d6fa}\x{1d6fc}-\x{1d714}\x{1d716}-\x{1d734}\x{1d736}-\x{1d74e}\x{1d750}-\x{1d76e}\x{1d770}-\x{1d788}\x{1d78a}-\x{1d7a8}\x{1d7aa}-\x{1d7c2}\x{1d7c4}-\x{1d7cb}\x{1df00}-\x{1df09}\x{1df0b}-\x{1df1e}\x{1e900}-\x{1e943}\x{1f130}-\x{1f149}\x{1f150}-\x{1f169}\x{1f170}-\x{1f189}]$`

# _case_ignorable_re matches one character the Final_Sigma rule of str.lower() skips.
_case_ignorable_re := `^[\x{27}\x{2e}\x{3a}\x{5e}\x{60}\x{a8}\x{ad}\x{af}\x{b4}\x{b7}-\x{b8}\x{2b0}-\x{36f}\x{374}-\x{375}\x{37a}\x{384}-\x{385}\x{387}\x{483}-\x{489}\x{559}\x{55f}\x{591}-\x{5bd}\x{5bf}\x{5c1}-\x{5c2}\x{5c4}-\x{5c5}\x{5c7}\x{5f4}\x{600}-\x{605}\x{610}-\x{61a}\x{61c}\x{640}\x{64b}-\x{65f}\x{670}\x{6d6}-\x{6dd}\x{6df}-\x{6e8}\x{6ea}-\x{6ed}\x{70f}\x{711}\x{730}-\x{74a}\x{7a6}-\x{7b0}\x{7eb}-\x{7f5}\x{7fa}\x{7fd}\x{816}-\x{82d}\x{859}-\x{85b}\x{888}\x{890}-\x{891}\x{898}-\x{89f}\x{8c9}-\x{902}\x{93a}\x{93c}\x{941}-\x{948}\x{94d}\x{951}-\x{957}\x{962}-\x{963}\x{971}\x{981}\x{9bc}\x{9c1}-\x{9c4}\x{9cd}\x{9e2}-\x{9e3}\x{9fe}\x{a01}-\x{a02}\x{a3c}\x{a41}-\x{a42}\x{a47}-\x{a48}\x{a4b}-\x{a4d}\x{a51}\x{a70}-\x{a71}\x{a75}\x{a81}-\x{a82}\x{abc}\x{ac1}-\x{ac5}\x{ac7}-\x{ac8}\x{acd}\x{ae2}-\x{ae3}\x{afa}-\x{aff}\x{b01}\x{b3c}\x{b3f}\x{b41}-\x{b44}\x{b4d}\x{b55}-\x{b56}\x{b62}-\x{b63}\x{b82}\x{bc0}\x{bcd}\x{c00}\x{c04}\x{c3c}\x{c3e}-\x{c40}\x{c46}-\x{c48}\x{c4a}-\x{c4d}\x{c55}-\x{c56}\x{c62}-\x{c63}\x{c81}\x{cbc}\x{cbf}\x{cc6}\x{ccc}-\x{ccd}\x{ce2}-\x{ce3}\x{d00}-\x{d01}\x{d3b}-\x{d3c}\x{d41}-\x{d44}\x{d4d}\x{d62}-\x{d63}\x{d81}\x{dca}\x{dd2}-\x{dd4}\x{dd6}\x{e31}\x{e34}-\x{e3a}\x{e46}-\x{e4e}\x{eb1}\x{eb4}-\x{ebc}\x{ec6}\x{ec8}-\x{ecd}\x{f18}-\x{f19}\x{f35}\x{f37}\x{f39}\x{f71}-\x{f7e}\x{f80}-\x{f84}\x{f86}-\x{f87}\x{f8d}-\x{f97}\x{f99}-\x{fbc}\x{fc6}\x{102d}-\x{1030}\x{1032}-\x{1037}\x{1039}-\x{103a}\x{103d}-\x{103e}\x{1058}-\x{1059}\x{105e}-\x{1060}\x{1071}-\x{1074}\x{1082}\x{1085}-\x{1086}\x{108d}\x{109d}\x{10fc}\x{135d}-\x{135f}\x{1712}-\x{1714}\x{1732}-\x{1733}\x{1752}-\x{1753}\x{1772}-\x{1773}\x{17b4}-\x{17b5}\x{17b7}-\x{17bd}\x{17c6}\x{17c9}-\x{17d3}\x{17d7}\x{17dd}\x{180b}-\x{180f}\x{1843}\x{1885}-\x{1886}\x{18a9}\x{1920}-\x{1922}\x{1927}-\x{1928}\x{1932}\x{1939}-\x{193b}\x{1a17}-\x{1a18}\x{1a1b}\x{1a56}\x{1a58}-\x{1a5e}\x{1a60}\x{1a62}\x{1a65}-\x{1a6c}\x{1a73}-\x{1a7c}\x{1a7f}\x{1aa7}\x{1ab0}-\x{1ace}\x{1b00}-\x{1b03}\x{1b34}\x{1b36}-\x{1b3a}\x{1b3c}\x{1b42}\x{1b6b}-\x{1b73}\x{1b80}-\x{1b81}\x{1ba2}-\x{1ba5}\x{1ba8}-\x{1ba9}\x{1bab}-\x{1bad}\x{1be6}\x{1be8}-\x{1be9}\x{1bed}\x{1bef}-\x{1bf1}\x{1c2c}-\x{1c33}\x{1c36}-\x{1c37}\x{1c78}-\x{1c7d}\x{1cd0}-\x{1cd2}\x{1cd4}-\x{1ce0}\x{1ce2}-\x{1ce8}\x{1ced}\x{1cf4}\x{1cf8}-\x{1cf9}\x{1d2c}-\x{1d6a}\x{1d78}\x{1d9b}-\x{1dff}\x{1fbd}\x{1fbf}-\x{1fc1}\x{1fcd}-\x{1fcf}\x{1fdd}-\x{1fdf}\x{1fed}-\x{1fef}\x{1ffd}-\x{1ffe}\x{200b}-\x{200f}\x{2018}-\x{2019}\x{2024}\x{2027}\x{202a}-\x{202e}\x{2060}-\x{2064}\x{2066}-\x{206f}\x{2071}\x{207f}\x{2090}-\x{209c}\x{20d0}-\x{20f0}\x{2c7c}-\x{2c7d}\x{2cef}-\x{2cf1}\x{2d6f}\x{2d7f}\x{2de0}-\x{2dff}\x{2e2f}\x{3005}\x{302a}-\x{302d}\x{3031}-\x{3035}\x{303b}\x{3099}-\x{309e}\x{30fc}-\x{30fe}\x{a015}\x{a4f8}-\x{a4fd}\x{a60c}\x{a66f}-\x{a672}\x{a674}-\x{a67d}\x{a67f}\x{a69c}-\x{a69f}\x{a6f0}-\x{a6f1}\x{a700}-\x{a721}\x{a770}\x{a788}-\x{a78a}\x{a7f2}-\x{a7f4}\x{a7f8}-\x{a7f9}\x{a802}\x{a806}\x{a80b}\x{a825}-\x{a826}\x{a82c}\x{a8c4}-\x{a8c5}\x{a8e0}-\x{a8f1}\x{a8ff}\x{a926}-\x{a92d}\x{a947}-\x{a951}\x{a980}-\x{a982}\x{a9b3}\x{a9b6}-\x{a9b9}\x{a9bc}-\x{a9bd}\x{a9cf}\x{a9e5}-\x{a9e6}\x{aa29}-\x{aa2e}\x{aa31}-\x{aa32}\x{aa35}-\x{aa36}\x{aa43}\x{aa4c}\x{aa70}\x{aa7c}\x{aab0}\x{aab2}-\x{aab4}\x{aab7}-\x{aab8}\x{aabe}-\x{aabf}\x{aac1}\x{aadd}\x{aaec}-\x{aaed}\x{aaf3}-\x{aaf4}\x{aaf6}\x{ab5b}-\x{ab5f}\x{ab69}-\x{ab6b}\x{abe5}\x{abe8}\x{abed}\x{fb1e}\x{fbb2}-\x{fbc2}\x{fe00}-\x{fe0f}\x{fe13}\x{fe20}-\x{fe2f}\x{fe52}\x{fe55}\x{feff}\x{ff07}\x{ff0e}\x{ff1a}\x{ff3e}\x{ff40}\x{ff70}\x{ff9e}-\x{ff9f}\x{ffe3}\x{fff9}-\x{fffb}\x{101fd}\x{102e0}\x{10376}-\x{1037a}\x{10780}-\x{10785}\x{10787}-\x{107b0}\x{107b2}-\x{107ba}\x{10a01}-\x{10a03}\x{10a05}-\x{10a06}\x{10a0c}-\x{10a0f}\x{10a38}-\x{10a3a}\x{10a3f}\x{10ae5}-\x{10ae6}\x{10d24}-\x{10d27}\x{10eab}-\x{10eac}\x{10f46}-\x{10f50}\x{10f82}-\x{10f85}\x{11001}\x{11038}-\x{11046}\x{11070}\x{11073}-\x{11074}\x{1107f}-\x{11081}\x{110b3}-\x{110b6}\x{110b9}-\x{110ba}\x{110bd}\x{110c2}\x{110cd}\x{11100}-\x{11102}\x{11127}-\x{1112b}\x{1112d}-\x{11134}\x{11173}\x{11180}-\x{11181}\x{111b6}-\x{111be}\x{111c9}-\x{111cc}\x{111cf}\x{1122f}-\x{11231}\x{11234}\x{11236}-\x{11237}\x{1123e}\x{112df}\x{112e3}-\x{112ea}\x{11300}-\x{11301}\x{1133b}-\x{1133c}\x{11340}\x{11366}-\x{1136c}\x{11370}-\x{11374}\x{11438}-\x{1143f}\x{11442}-\x{11444}\x{11446}\x{1145e}\x{114b3}-\x{114b8}\x{114ba}\x{114bf}-\x{114c0}\x{114c2}-\x{114c3}\x{115b2}-\x{115b5}\x{115bc}-\x{115bd}\x{115bf}-\x{115c0}\x{115dc}-\x{115dd}\x{11633}-\x{1163a}\x{1163d}\x{1163f}-\x{11640}\x{116ab}\x{116ad}\x{116b0}-\x{116b5}\x{116b7}\x{1171d}-\x{1171f}\x{11722}-\x{11725}\x{11727}-\x{1172b}\x{1182f}-\x{11837}\x{11839}-\x{1183a}\x{1193b}-\x{1193c}\x{1193e}\x{11943}\x{119d4}-\x{119d7}\x{119da}-\x{119db}\x{119e0}\x{11a01}-\x{11a0a}\x{11a33}-\x{11a38}\x{11a3b}-\x{11a3e}\x{11a47}\x{11a51}-\x{11a56}\x{11a59}-\x{11a5b}\x{11a8a}-\x{11a96}\x{11a98}-\x{11a99}\x{11c30}-\x{11c36}\x{11c38}-\x{11c3d}\x{11c3f}\x{11c92}-\x{11ca7}\x{11caa}-\x{11cb0}\x{11cb2}-\x{11cb3}\x{11cb5}-\x{11cb6}\x{11d31}-\x{11d36}\x{11d3a}\x{11d3c}-\x{11d3d}\x{11d3f}-\x{11d45}\x{11d47}\x{11d90}-\x{11d91}\x{11d95}\x{11d97}\x{11ef3}-\x{11ef4}\x{13430}-\x{13438}\x{16af0}-\x{16af4}\x{16b30}-\x{16b36}\x{16b40}-\x{16b43}\x{16f4f}\x{16f8f}-\x{16f9f}\x{16fe0}-\x{16fe1}\x{16fe3}-\x{16fe4}\x{1aff0}-\x{1aff3}\x{1aff5}-\x{1affb}\x{1affd}-\x{1affe}\x{1bc9d}-\x{1bc9e}\x{1bca0}-\x{1bca3}\x{1cf00}-\x{1cf2d}\x{1cf30}-\x{1cf46}\x{1d167}-\x{1d169}\x{1d173}-\x{1d182}\x{1d185}-\x{1d18b}\x{1d1aa}-\x{1d1ad}\x{1d242}-\x{1d244}\x{1da00}-\x{1da36}\x{1da3b}-\x{1da6c}\x{1da75}\x{1da84}\x{1da9b}-\x{1da9f}\x{1daa1}-\x{1daaf}\x{1e000}-\x{1e006}\x{1e008}-\x{1e018}\x{1e01b}-\x{1e021}\x{1e023}-\x{1e024}\x{1e026}-\x{1e02a}\x{1e130}-\x{1e13d}\x{1e2ae}\x{1e2ec}-\x{1e2ef}\x{1e8d0}-\x{1e8d6}\x{1e944}-\x{1e94b}\x{1f3fb}-\x{1f3ff}\x{e0001}\x{e0020}-\x{e007f}\x{e0100}-\x{e01ef}]$`

# END GENERATED UNICODE CLASSES
