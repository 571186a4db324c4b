package rego_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// valueCase is one request from raw JSON (as check --batch reads it) and
// oslo.policy 4.0.0's answer: "allow", "deny", or "error:" and a part of
// the error. Each expected rendering is Python's (python3.11 -c "...").
type valueCase struct {
	name, policy, rule, target, creds, want string
}

// engines is policy's default engine (holds form for sane input) and its
// exact tri-state query on the same compile.
func engines(t *testing.T, policy string) map[string]*rego.Engine {
	t.Helper()
	tr := translated(t, policy, oslo.Options{}, "")
	e, err := rego.New(context.Background(), rego.Translation(tr))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*rego.Engine{"holds": e, "exact": e.Exact()}
}

func runValueCases(t *testing.T, cases []valueCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for form, e := range engines(t, tc.policy) {
				in, err := rego.InputJSON(tc.rule, []byte(tc.target), []byte(tc.creds))
				if err != nil {
					t.Fatalf("input: %v", err)
				}
				d, err := e.DecideInput(context.Background(), tc.rule, in)
				if err != nil {
					t.Fatal(err)
				}
				got := kind(d)
				if want, msg, _ := strings.Cut(tc.want, ":"); got != want || !strings.Contains(d.Error, msg) {
					t.Errorf("%s form: got %s %q, want %s\n  target %s\n  creds %s", form, got, d.Error, tc.want, tc.target, tc.creds)
				}
			}
		})
	}
}

// TestDictsPrintInInsertionOrder (issue 9 A): Python prints a dict's keys
// in insertion order, the JSON order of the request (a repeated key keeps
// its first position and its last value); OPA objects have none, so the
// input document carries it. Each rendering is checked against the sorted
// one too, which must not match.
func TestDictsPrintInInsertionOrder(t *testing.T) {
	runValueCases(t, dictCases)
}

const fmtX = `{"a": "x:%(t)s"}`

var dictCases = []valueCase{
	{"whole target %s, insertion order", `{"a": "role:%s"}`, "a", `{"b": "1", "a": "2"}`, `{"roles": ["{'b': '1', 'a': '2'}"]}`, "allow"},
	{"whole target %s, not sorted", `{"a": "role:%s"}`, "a", `{"b": "1", "a": "2"}`, `{"roles": ["{'a': '2', 'b': '1'}"]}`, "deny"},
	{"whole target %s, sorted keys stay sorted", `{"a": "role:%s"}`, "a", `{"a": "2", "b": "1"}`, `{"roles": ["{'a': '2', 'b': '1'}"]}`, "allow"},
	{"nested dicts", fmtX, "a", `{"t": {"z": 1, "a": {"y": [1, {"q": null, "p": true}], "b": 2.50}}}`, `{"x": "{'z': 1, 'a': {'y': [1, {'q': None, 'p': True}], 'b': 2.5}}"}`, "allow"},
	{"nested dicts, inner sorted", fmtX, "a", `{"t": {"z": 1, "a": {"y": [1, {"q": null, "p": true}], "b": 2.50}}}`, `{"x": "{'z': 1, 'a': {'b': 2.5, 'y': [1, {'p': True, 'q': None}]}}"}`, "deny"},
	{"dicts in a list", fmtX, "a", `{"t": [{"b": 1, "a": 2}, {"d": "x", "c": "y"}]}`, `{"x": "[{'b': 1, 'a': 2}, {'d': 'x', 'c': 'y'}]"}`, "allow"},
	{"lists in a dict, %r", `{"a": "x:%(t)r"}`, "a", `{"t": {"b": ["x", "y"], "a": []}}`, `{"x": "{'b': ['x', 'y'], 'a': []}"}`, "allow"},
	{"unicode keys, %a", `{"a": "x:%(t)a"}`, "a", `{"t": {"\u00e9": "\u00e8", "a": "\u2603", "\ud83d\ude00": 1}}`, `{"x": "{'\\xe9': '\\xe8', 'a': '\\u2603', '\\U0001f600': 1}"}`, "allow"},
	{"unicode keys, %s", fmtX, "a", `{"t": {"\u00e9": 1, "e": 2, "\uffff": 4, "\ud800\udc00": 3}}`, `{"x": "{'\u00e9': 1, 'e': 2, '\\uffff': 4, '\ud800\udc00': 3}"}`, "allow"},
	{"a repeated key: first position, last value", fmtX, "a", `{"t": {"b": 1, "a": 2, "b": 3}}`, `{"x": "{'b': 3, 'a': 2}"}`, "allow"},
	{"empty dicts", fmtX, "a", `{"t": [{}, [], {"": {}}, {"b": {}, "a": {}}]}`, `{"x": "[{}, [], {'': {}}, {'b': {}, 'a': {}}]"}`, "allow"},
	{"precision cuts the ordered text", `{"a": "x:%(t).8s"}`, "a", `{"t": {"b": 1, "a": 2}}`, `{"x": "{'b': 1,"}`, "allow"},
	{"width pads the ordered text", `{"a": "x:%(t)18s"}`, "a", `{"t": {"b": 1, "a": 2}}`, `{"x": "  {'b': 1, 'a': 2}"}`, "allow"},
	{"a dict in the middle of a MATCH", `{"a": "x:<%(t)s>%(u)s"}`, "a", `{"t": {"b": 1, "a": 2}, "u": {"d": 1, "c": 2}}`, `{"x": "<{'b': 1, 'a': 2}>{'d': 1, 'c': 2}"}`, "allow"},
	{"role:%(t)s of a dict", `{"a": "role:%(t)s"}`, "a", `{"t": {"b": 1, "A": 2}}`, `{"roles": ["{'B': 1, 'a': 2}"]}`, "allow"},
	{"creds value that is a dict", `{"a": "d:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': {'d': 1, 'c': 2}}"}`, `{"d": {"b": 1, "a": {"d": 1, "c": 2}}}`, "allow"},
	{"creds value that is a dict, sorted is wrong", `{"a": "d:%(t)s"}`, "a", `{"t": "{'a': {'c': 2, 'd': 1}, 'b': 1}"}`, `{"d": {"b": 1, "a": {"d": 1, "c": 2}}}`, "deny"},
	{"creds list of dicts fans out", `{"a": "d:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"d": [{"a": 0}, {"b": 1, "a": 2}]}`, "allow"},
	{"creds list in a list is one value", `{"a": "d:%(t)s"}`, "a", `{"t": "[{'b': 1, 'a': 2}]"}`, `{"d": [[{"b": 1, "a": 2}]]}`, "allow"},
	{"creds deeper path", `{"a": "d.e:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"d": {"e": {"b": 1, "a": 2}}}`, "allow"},
	{"creds deeper path through a list", `{"a": "d.e:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"d": [{"e": {"a": 2, "b": 1}}, {"e": {"b": 1, "a": 2}}]}`, "allow"},
	{"creds deeper path through a list, no match", `{"a": "d.e:%(t)s"}`, "a", `{"t": "{'a': 2, 'b': 1}"}`, `{"d": [{"e": {"b": 1, "a": 2}}]}`, "deny"},
	{"system copies system_scope, with its order", `{"a": "system:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"system_scope": {"b": 1, "a": 2}}`, "allow"},
	{"system copies system_scope, deeper", `{"a": "system.x:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"system": {"x": {"a": 2, "b": 1}}, "system_scope": {"x": {"b": 1, "a": 2}}}`, "allow"},
	{"system without system_scope is itself", `{"a": "system:%(t)s"}`, "a", `{"t": "{'b': 1, 'a': 2}"}`, `{"system": {"b": 1, "a": 2}, "system_scope": {}}`, "allow"},
	{"the same key order elsewhere does not leak", `{"a": "d:%(t)s"}`, "a", `{"t": "{'a': 2, 'b': 1}", "u": {"b": 1, "a": 2}}`, `{"d": {"a": 2, "b": 1}}`, "allow"},
}

// TestNaNIsExact (issue 9 I): json.loads reads NaN as the float nan, which
// Python formats as "nan" everywhere (upper case for %F %E %G) with
// Python's sign and padding rules; int() of it raises ValueError. (The
// space flag cannot be written in a rule: white space splits checks.)
func TestNaNIsExact(t *testing.T) {
	runValueCases(t, nanCases())
}

func nanCases() []valueCase {
	x := func(conv, want string) valueCase {
		return valueCase{"x:" + conv + " is " + want, `{"a": "x:` + conv + `"}`, "a", `{"t": NaN}`, `{"x": "` + want + `"}`, "allow"}
	}
	return []valueCase{
		x("%(t)s", "nan"), x("%(t)r", "nan"), x("%(t)a", "nan"), x("%(t)5s", "  nan"), x("%(t)-5s|", "nan  |"),
		x("%(t)f", "nan"), x("%(t)e", "nan"), x("%(t)g", "nan"), x("%(t).2f", "nan"), x("%(t)#g", "nan"),
		x("%(t)F", "NAN"), x("%(t)E", "NAN"), x("%(t)G", "NAN"),
		x("%(t)05f", "00nan"), x("%(t)+05f", "+0nan"), x("%(t)-06f|", "nan   |"), x("%(t)+f", "+nan"),
		x("%(t)010.3e", "0000000nan"), x("%(t)-+8F|", "+NAN    |"), x("%(t)+s", "nan"),
		{"%d of NaN raises", `{"a": "x:%(t)d"}`, "a", `{"t": NaN}`, `{"x": "nan"}`, "error:ValueError: cannot convert float NaN to integer"},
		{"%i of NaN raises", `{"a": "x:%(t)i"}`, "a", `{"t": NaN}`, `{}`, "error:ValueError: cannot convert float NaN to integer"},
		{"%u of NaN raises", `{"a": "x:%(t)05u"}`, "a", `{"t": NaN}`, `{}`, "error:ValueError: cannot convert float NaN to integer"},
		{"%x of NaN raises", `{"a": "x:%(t)x"}`, "a", `{"t": NaN}`, `{}`, "error:TypeError: %x format: an integer is required, not float"},
		{"%o of NaN raises", `{"a": "x:%(t)o"}`, "a", `{"t": NaN}`, `{}`, "error:TypeError: %o format: an integer is required, not float"},
		{"%c of NaN raises", `{"a": "x:%(t)c"}`, "a", `{"t": NaN}`, `{}`, "error:TypeError: %c requires int or char"},
		{"NaN is not inf", `{"a": "x:%(t)s"}`, "a", `{"t": NaN}`, `{"x": "inf"}`, "deny"},
		{"NaN in a list and a dict", `{"a": "x:%s"}`, "a", `{"t": NaN, "b": [NaN, Infinity], "a": {"n": -Infinity}}`, `{"x": "{'t': nan, 'b': [nan, inf], 'a': {'n': -inf}}"}`, "allow"},
		{"NaN in the credentials", `{"a": "x:nan"}`, "a", `{}`, `{"x": NaN}`, "allow"},
		{"NaN in a credentials list", `{"a": "x:%(t)s"}`, "a", `{"t": "nan"}`, `{"x": [1, NaN]}`, "allow"},
		{"NaN system_scope is truthy", `{"a": "system:nan"}`, "a", `{}`, `{"system_scope": NaN}`, "allow"},
		{"a NaN role cannot be lowered", `{"a": "role:nan"}`, "a", `{}`, `{"roles": [NaN]}`, "error:AttributeError: 'float' object has no attribute 'lower'"},
		{"NaN roles are not iterable", `{"a": "role:nan"}`, "a", `{}`, `{"roles": NaN}`, "error:TypeError: 'float' object is not iterable"},
		{"NaN in an unused field", `{"a": "@"}`, "a", `{"u": NaN}`, `{}`, "allow"},
		// inf pads with zeros as Python does too.
		{"%05f of inf", `{"a": "x:%(t)05f"}`, "a", `{"t": Infinity}`, `{"x": "00inf"}`, "allow"},
		{"%05f of -inf", `{"a": "x:%(t)05f"}`, "a", `{"t": -Infinity}`, `{"x": "-0inf"}`, "allow"},
		{"%+010G of inf", `{"a": "x:%(t)+010G"}`, "a", `{"t": Infinity}`, `{"x": "+000000INF"}`, "allow"},
		{"%-05f of -inf", `{"a": "x:%(t)-05f|"}`, "a", `{"t": -Infinity}`, `{"x": "-inf |"}`, "allow"},
	}
}
