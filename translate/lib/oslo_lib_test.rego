package oslo.lib_test

import data.oslo.lib

# --- and / or / not with oslo's short-circuit over errors

test_any_of if {
	lib.any_of([false, true, lib.error("x")]) == true
	lib.any_of([false, lib.error("x"), true]) == {"error": "x"}
	lib.any_of([false, false]) == false
	lib.any_of([]) == false
}

test_all_of if {
	lib.all_of([true, false, lib.error("x")]) == false
	lib.all_of([true, lib.error("x"), false]) == {"error": "x"}
	lib.all_of([true, true]) == true
}

test_negate if {
	lib.negate(true) == false
	lib.negate(false) == true
	lib.negate(lib.error("x")) == {"error": "x"}
}

# --- Python str() of JSON values

test_py_str_scalars if {
	lib.py_str(json.marshal("a")) == "a"
	lib.py_str(json.marshal(true)) == "True"
	lib.py_str(json.marshal(false)) == "False"
	lib.py_str(json.marshal(null)) == "None"
	lib.py_str(json.marshal(10)) == "10"
	lib.py_str(json.marshal(-0)) == "0"
	lib.py_str(json.marshal(12345678901234567890123)) == "12345678901234567890123"
}

test_py_str_floats if {
	lib.py_str(json.marshal(10.0)) == "10.0"
	lib.py_str(json.marshal(1e20)) == "1e+20"
	lib.py_str(json.marshal(1.5E3)) == "1500.0"
	lib.py_str(json.marshal(0.1)) == "0.1"
	lib.py_str(json.marshal(1e16)) == "1e+16"
	lib.py_str(json.marshal(1e15)) == "1000000000000000.0"
	lib.py_str(json.marshal(0.0001)) == "0.0001"
	lib.py_str(json.marshal(0.00001)) == "1e-05"
	lib.py_str(json.marshal(-2.5)) == "-2.5"
	lib.py_str(json.marshal(123456789.0)) == "123456789.0"
	lib.py_str(json.marshal(1.5e300)) == "1.5e+300"
	lib.py_str(json.marshal(1e400)) == "inf"
	lib.py_str(json.marshal(0.0)) == "0.0"
}

test_py_str_containers if {
	lib.py_str(json.marshal(["a", "b"])) == "['a', 'b']"
	lib.py_str(json.marshal({"k": 1})) == "{'k': 1}"
	lib.py_str(json.marshal([1, [true, null], {"a": "it's"}])) == `[1, [True, None], {'a': "it's"}]`
	lib.py_str(json.marshal([])) == "[]"
	lib.py_str(json.marshal({})) == "{}"
	lib.py_str(json.marshal([10.0])) == "[10.0]"
}

test_py_repr_strings if {
	lib.py_repr(json.marshal("a")) == "'a'"
	lib.py_repr(json.marshal("it's")) == `"it's"`
	lib.py_repr(json.marshal(`both ' and "`)) == `'both \' and "'`
	lib.py_repr(json.marshal("back\\slash")) == `'back\\slash'`
	lib.py_repr(json.marshal("tab\tnl\n")) == `'tab\tnl\n'`
	lib.py_repr(json.marshal("\u0001")) == `'\x01'`
	lib.py_repr(json.marshal("caf\u00e9")) == "'café'"
	lib.py_repr(json.marshal("\u00a0")) == `'\xa0'`
	lib.py_repr(json.marshal("\u2028")) == `'\u2028'`
}

# --- Python str.lower()

test_py_lower if {
	lib.py_lower("ADMIN") == "admin"
	lib.py_lower("ΑΣ") == "ας"
	lib.py_lower("Σ") == "σ"
	lib.py_lower("ΑΣΑ") == "ασα"
	lib.py_lower("İ") == "i\u0307"
	lib.py_lower("SS") == "ss"
}

# --- MATCH formatting

test_value if {
	lib.value("k") == "v" with input.target as {"k": "v"}
	lib.value("k") == "None" with input.target as {"k": null}
	lib.value("k") == {"missing": "k"} with input.target as {}
	lib.value("k") == lib.error("TypeError: list indices must be integers or slices, not str") with input.target as []
	lib.value("k") == lib.error("TypeError: format requires a mapping") with input.target as null
}

test_text if {
	lib.text("x") == "x" with input.target as {}
	lib.text("x") == "x" with input.target as []
	lib.text("x").error with input.target as "s"
}

test_format if {
	segs := [{"t": "lit", "lit": "p-"}, {"t": "key", "key": "k", "conv": "s", "flags": "-", "width": 4, "prec": -1, "err": ""}, {"t": "lit", "lit": "|"}]
	lib.format(segs, false) == "p-ab  |" with input.target as {"k": "ab"}
	lib.format(segs, false) == {"missing": "k"} with input.target as {}
	whole := [{"t": "whole", "conv": "s", "flags": "", "width": -1, "prec": -1, "err": ""}]
	lib.format(whole, true) == "{'a': 1}" with input.target as {"a": 1}
	lib.format(whole, true) == "None" with input.target as null
	d := [{"t": "key", "key": "n", "conv": "d", "flags": "+0", "width": 5, "prec": -1, "err": ""}]
	lib.format(d, false) == "+0003" with input.target as {"n": 3.7}
	lib.format(d, false).error with input.target as {"n": "3"}
	r := [{"t": "key", "key": "s", "conv": "r", "flags": "", "width": -1, "prec": 2, "err": ""}]
	lib.format(r, false) == "'a" with input.target as {"s": "abc"}
}

# --- checks

test_role if {
	lib.role_lower("admin") with input as {"target": {}, "credentials": {"roles": ["Admin"]}}
	not lib.role_lower("admin") with input as {"target": {}, "credentials": {"roles": ["member"]}}
	not lib.role_lower("admin") with input as {"target": {}, "credentials": {}}
	lib.role_lower("a") with input as {"target": {}, "credentials": {"roles": "admin"}}
	lib.role_lower("x") with input as {"target": {}, "credentials": {"roles": {"X": 1}}}
	lib.role_lower("x").error with input as {"target": {}, "credentials": {"roles": null}}
	lib.role_lower("x").error with input as {"target": {}, "credentials": {"roles": ["x", 1]}}
	lib.role_lower("x").error with input as {"target": null, "credentials": {"roles": ["x"]}}
}

test_creds_path if {
	lib.creds_path(["a", "b"], "x") with input.credentials as {"a": [{"b": "y"}, {"b": "x"}]}
	lib.creds_path(["a", "b"], "x") with input.credentials as {"a": {"b": ["y", "x"]}}
	lib.creds_path(["a", "b", "c"], "1") with input.credentials as {"a": {"b": {"c": 1}}}
	not lib.creds_path(["a", "b"], "x") with input.credentials as {"a": [{"b": "y"}]}
	not lib.creds_path(["a", "b"], "x") with input.credentials as {"a": {}}
	not lib.creds_path(["a", "b"], "x") with input.credentials as {}
	not lib.creds_path(["a", "b"], {"missing": "k"}) with input.credentials as {"a": {"b": "x"}}
	lib.creds_path(["system", "x"], "y") with input.credentials as {"system_scope": {"x": "y"}}
}

test_creds_is if {
	lib.creds_is(["is_admin"], "True") with input.credentials as {"is_admin": true}
	lib.creds_is(["is_admin"], "True") with input.credentials as {"is_admin": "True"}
	not lib.creds_is(["is_admin"], "True") with input.credentials as {"is_admin": "true"}
	not lib.creds_is(["is_admin"], "True") with input.credentials as {"is_admin": 1}
	lib.creds_is(["a", "b"], "x") with input.credentials as {"a": [{"b": "y"}, {"b": "x"}]}
	lib.creds_is(["a", "b"], "x") with input.credentials as {"a": [{"b": "x"}, "str"]}
	lib.creds_is(["a", "b"], "x").error with input.credentials as {"a": ["str", {"b": "x"}]}
	not lib.creds_is(["a", "b"], "x") with input.credentials as {"a": []}
	lib.creds_is(["a"], "['x']") with input.credentials as {"a": [["x"]]}
	lib.creds_is(["a", "b"], "x").error with input.credentials as {"a": null}
	not lib.creds_is(["a", "b"], "x") with input.credentials as {"c": null}
	lib.creds_is(["project_id"], "None") with input.credentials as {"project_id": null}
}

# 5 and 5.0 are equal to OPA but not to Python's str().
test_number_spelling if {
	not lib.creds_is(["n"], lib.value("n")) with input as {"target": {"n": 5.0}, "credentials": {"n": 5}}
	lib.creds_is(["n"], lib.value("n")) with input as {"target": {"n": 5.0}, "credentials": {"n": 5.0}}
	not lib.creds_is(["n"], lib.value("n")) with input as {"target": {"n": 5}, "credentials": {"n": [5.0, 6]}}
	lib.creds_is(["n"], lib.value("n")) with input as {"target": {"n": 5}, "credentials": {"n": [5.0, 5]}}
}

test_conversions if {
	x := {"t": "key", "key": "k", "conv": "x", "flags": "#", "width": -1, "prec": -1, "err": ""}
	lib.format([x], false) == "0xff" with input.target as {"k": 255}
	lib.format([x], false).error with input.target as {"k": 2.5}
	o := object.union(x, {"conv": "o"})
	lib.format([o], false) == "0o10" with input.target as {"k": 8}
	e := object.union(x, {"conv": "e", "flags": ""})
	lib.format([e], false) == "4.200000e+01" with input.target as {"k": 42}
	f := object.union(x, {"conv": "f", "flags": "", "prec": 1})
	lib.format([f], false) == "0.2" with input.target as {"k": 0.25}
	g := object.union(x, {"conv": "g", "flags": ""})
	lib.format([g], false) == "1e-05" with input.target as {"k": 0.00001}
	c := object.union(x, {"conv": "c", "flags": ""})
	lib.format([c], false) == "A" with input.target as {"k": 65}
	lib.format([c], false) == "A" with input.target as {"k": "A"}
	lib.format([c], false).error with input.target as {"k": "AB"}
	a := object.union(x, {"conv": "a", "flags": ""})
	lib.format([a], false) == `'\xe9'` with input.target as {"k": "é"}
	d := object.union(x, {"conv": "d", "flags": ""})
	lib.format([d], false) == "123456789012345678901234567890" with input.target as {"k": 123456789012345678901234567890}
	lib.format([d], false).error with input.target as {"k": 1e400}
	lib.format([d], false) == "-3" with input.target as {"k": -3.7}
	lib.format([d], false) == "0" with input.target as {"k": -0.5}
}

# int() of a float is the double's exact integer, not its shortest digits.
test_int_of_float if {
	d := {"t": "key", "key": "k", "conv": "d", "flags": "", "width": -1, "prec": -1, "err": ""}
	lib.format([d], false) == "99999999999999991611392" with input.target as {"k": 1e23}
	lib.format([d], false) == "-99999999999999991611392" with input.target as {"k": -1e23}
	lib.format([d], false) == "10000000000000000" with input.target as {"k": 1e16}
	lib.format([d], false) == "3" with input.target as {"k": 2.9999999999999999999}
	lib.format([d], false) == "1152921504606846976" with input.target as {"k": 1.152921504606847e18}
	p := object.union(d, {"flags": "+", "conv": "u"})
	lib.format([p], false) == "+1000000000000000017216064596736454828831087825013238982328892017892380671244575047987920451875459594568606138861698291060311049225532948520696938805711440650122628514669428460356992624968028329550689224175284346730060716088829214255439694630119794546505512415617982143262670862918816362862119154749127262208" with input.target as {"k": 1e306}
}

test_system_scope_mapping if {
	lib.creds_is(["system"], "all") with input.credentials as {"system_scope": "all"}
	lib.token_scope == "system" with input.credentials as {"system_scope": "all"}
	lib.token_scope == "domain" with input.credentials as {"domain_id": "d"}
	lib.token_scope == "project" with input.credentials as {"domain_id": ""}
}

# --- dict key order (input.key_order, written by rego.InputJSON)

test_py_str_at_key_order if {
	order := {"target": {"keys": ["b", "a"], "sub": {"l": {"sub": {"1": {"keys": ["d", "c"]}}}}}}
	doc := {"target": {"b": 1, "a": 2, "l": [{}, {"d": null, "c": "x"}]}, "key_order": order}
	lib.py_str_at(json.marshal(doc.target.l), ["target", "l"]) == "[{}, {'d': None, 'c': 'x'}]" with input as doc
	lib.py_str_at(json.marshal({"b": 1, "a": 2}), ["target"]) == "{'b': 1, 'a': 2}" with input as doc

	# No order at a path: sorted, as json.marshal writes it.
	lib.py_str_at(json.marshal({"b": 1, "a": 2}), ["target", "x"]) == "{'a': 2, 'b': 1}" with input as doc
	lib.py_str_at(json.marshal({"b": 1, "a": 2}), ["target"]) == "{'a': 2, 'b': 1}" with input as {}

	# A sorted dict inside an ordered one keeps its sorted keys.
	nested := {"target": {"keys": ["z", "a"]}}
	lib.py_str_at(json.marshal({"z": {"y": [], "x": {}}, "a": 0}), ["target"]) == "{'z': {'x': {}, 'y': []}, 'a': 0}" with input.key_order as nested
	lib.py_repr_at(json.marshal("s"), ["target"]) == "'s'" with input.key_order as nested
}

test_format_whole_target_in_order if {
	whole := [{"t": "whole", "conv": "s", "flags": "", "width": -1, "prec": -1, "err": ""}]
	lib.format(whole, true) == "{'b': '1', 'a': '2'}" with input as {"target": {"b": "1", "a": "2"}, "key_order": {"target": {"keys": ["b", "a"]}}}
	lib.format(whole, true) == "{'a': '2', 'b': '1'}" with input as {"target": {"b": "1", "a": "2"}}
}

test_creds_in_order if {
	doc := {"credentials": {"d": [{"b": 1, "a": 2}], "system_scope": {"b": 1, "a": 2}}, "key_order": {"credentials": {"sub": {"d": {"sub": {"0": {"keys": ["b", "a"]}}}, "system_scope": {"keys": ["b", "a"]}}}}}
	lib.creds_eq("d", "{'b': 1, 'a': 2}") with input as doc
	lib.creds_is(["d"], "{'b': 1, 'a': 2}") with input as doc
	lib.creds_eq("system", "{'b': 1, 'a': 2}") with input as doc
	lib.creds_is(["system"], "{'b': 1, 'a': 2}") with input as doc
	not lib.creds_eq("system", "{'a': 2, 'b': 1}") with input as doc
}

# --- NaN (rego.NaNText) and inf

test_nan if {
	lib.py_str(lib.nan_text) == "nan"
	lib.py_str(json.marshal([2e400, {"n": 2e400}, 1e400])) == "[nan, {'n': nan}, inf]"
	lib.py_type(lib.nan_text) == "float"
	lib.truthy(2e400)
	f := {"t": "key", "key": "k", "conv": "f", "flags": "0", "width": 5, "prec": -1, "err": ""}
	lib.format([f], false) == "00nan" with input.target as {"k": 2e400}
	lib.format([f], false) == "00inf" with input.target as {"k": 1e400}
	lib.format([f], false) == "-0inf" with input.target as {"k": -1e400}
	lib.format([object.union(f, {"flags": " "})], false) == "  nan" with input.target as {"k": 2e400}
	lib.format([object.union(f, {"flags": " 0"})], false) == " 0nan" with input.target as {"k": 2e400}
	lib.format([object.union(f, {"conv": "G", "flags": "+-", "width": 6})], false) == "+NAN  " with input.target as {"k": 2e400}
	lib.format([object.union(f, {"conv": "d"})], false) == lib.error("ValueError: cannot convert float NaN to integer") with input.target as {"k": 2e400}
	lib.format([object.union(f, {"conv": "x"})], false) == lib.error("TypeError: %x format: an integer is required, not float") with input.target as {"k": 2e400}
}
