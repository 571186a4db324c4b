package rego

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputJSONPythonValues: target and credentials are decoded as Python's
// json.loads decodes them; what OPA cannot hold fails closed.
func TestInputJSONPythonValues(t *testing.T) {
	tests := []struct {
		name, target string
		want         string // the input's target, as OPA prints it
		err          string
		unrepr       bool // the error wraps ErrUnrepresentable
	}{
		{"Infinity is the float inf, carried as 1e400", `{"a": Infinity, "b": -Infinity, "c": 1e400}`, `{"a": 1e400, "b": -1e400, "c": 1e400}`, "", false},
		{"floats are Python's repr, ints exact", `{"a": 1E5, "b": 10.50, "c": -0, "d": 123456789012345678901234567890}`, `{"a": 100000.0, "b": 10.5, "c": 0, "d": 123456789012345678901234567890}`, "", false},
		{"a repeated key keeps its last value", `{"a": 1, "a": 2}`, `{"a": 2}`, "", false},
		{"a surrogate pair is one character", `{"a": "\ud83d\ude00"}`, `{"a": "😀"}`, "", false},
		{"NaN is the float nan, carried as NaNText", `{"a": NaN, "b": [NaN]}`, `{"a": 2e400, "b": [2e400]}`, "", false},
		{"a lone surrogate", `{"a": "x\ud800"}`, "", `the string 'x\ud800' at line 1 column 7 holds a lone surrogate`, true},
		{"a lone surrogate in a key", `{"\udfff": 1}`, "", `the string '\udfff'`, true},
		{"text after the value", `{"a": 1} x`, "", "Extra data: line 1 column 10 (char 9)", false},
		{"exact names: no case folding of anything", `{"A": 1, "a": 2}`, `{"A": 1, "a": 2}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := InputJSON("r", json.RawMessage(tc.target), nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				if errors.Is(err, ErrUnrepresentable) != tc.unrepr {
					t.Errorf("errors.Is(%v, ErrUnrepresentable) = %v", err, !tc.unrepr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := in.(ast.Object).Get(ast.StringTerm("target")).String()
			if got != tc.want {
				t.Errorf("target %s, want %s", got, tc.want)
			}
		})
	}
}

// TestInputKeyOrder: the input carries the key order of every object whose
// keys are not sorted, by path, beside the values, which stay as they were.
func TestInputKeyOrder(t *testing.T) {
	tests := []struct {
		name, target, creds string
		want                string // input.key_order, "" when absent
	}{
		{"sorted keys need nothing", `{"a": 1, "b": {"c": [{"d": 1, "e": 2}]}}`, `{"roles": [], "user_id": "u"}`, ""},
		{"the target's root", `{"b": 1, "a": 2}`, `{}`, `{"target": {"keys": ["b", "a"]}}`},
		{"nested, in lists, credentials", `{"a": [0, {"y": {}, "x": {"d": 1, "c": 2}}]}`, `{"user_id": "u", "roles": []}`,
			`{"credentials": {"keys": ["user_id", "roles"]}, "target": {"sub": {"a": {"sub": {"1": {"keys": ["y", "x"], "sub": {"x": {"keys": ["d", "c"]}}}}}}}}`},
		{"a repeated key keeps its first position", `{"b": 1, "a": 2, "b": 3}`, `{}`, `{"target": {"keys": ["b", "a"]}}`},
		{"code point order: e before \u00e9", `{"e": 1, "\u00e9": 2, "\ud800\udc00": 3, "\uffff": 4}`, `{}`, `{"target": {"keys": ["e", "\u00e9", "\ud800\udc00", "\uffff"]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := InputJSON("r", json.RawMessage(tc.target), json.RawMessage(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			obj := in.(ast.Object)
			got := ""
			if o := obj.Get(ast.StringTerm("key_order")); o != nil {
				got = o.String()
			}
			want := tc.want
			if want != "" {
				w, err := ast.ParseTerm(want)
				if err != nil {
					t.Fatal(err)
				}
				want = w.String()
			}
			if got != want {
				t.Errorf("key_order %s, want %s", got, want)
			}
			// The values themselves are what DecodeJSON gives.
			plain, err := DecodeJSON([]byte(tc.target))
			if err != nil {
				t.Fatal(err)
			}
			pv, err := ast.InterfaceToValue(plain)
			if err != nil {
				t.Fatal(err)
			}
			if tv := obj.Get(ast.StringTerm("target")).Value; tv.Compare(pv) != 0 {
				t.Errorf("target %s, want %s", tv, pv)
			}
		})
	}
}

// TestOrderedAccessors: Keys, Get and ObjectOf keep the key order that the
// input then carries, as Python's dict() would build it.
func TestOrderedAccessors(t *testing.T) {
	o, err := DecodeOrdered([]byte(`{"b": {"y": 1, "x": [{"d": 1, "c": 2}]}, "a": 1, "b2": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Keys(), " "); got != "b a b2" {
		t.Errorf("Keys %q", got)
	}
	b, ok := o.Get("b")
	if got := strings.Join(b.Keys(), " "); !ok || got != "y x" {
		t.Errorf("Get(b).Keys %q %v", got, ok)
	}
	if _, ok := o.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if k := (Ordered{Value: []any{}}).Keys(); k != nil {
		t.Errorf("Keys of a list %v", k)
	}
	obj := ObjectOf([]string{"z", "b", "z"}, []Ordered{{Value: 1}, b, {Value: 3}})
	in, err := InputValue("r", obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ast.MustParseTerm(`{"target": {"keys": ["z", "b"], "sub": {"b": {"keys": ["y", "x"], "sub": {"x": {"sub": {"0": {"keys": ["d", "c"]}}}}}}}}`)
	if got := in.(ast.Object).Get(ast.StringTerm("key_order")); got == nil || !got.Equal(want) {
		t.Errorf("key_order %v, want %v", got, want)
	}
	if got := obj.Value.(map[string]any)["z"]; got != 3 {
		t.Errorf("z = %v, want the last value 3", got)
	}
	if got := strings.Join(obj.Keys(), " "); got != "z b" {
		t.Errorf("ObjectOf Keys %q", got)
	}
}

// FuzzNaNTextOnlyFromNaN: no JSON text but NaN decodes to NaNText (inf is
// 1e400, every other float is Python's repr, ints are exact).
func FuzzNaNTextOnlyFromNaN(f *testing.F) {
	for _, s := range []string{`2e400`, `[2e400, NaN, 1e400, -2e400, 2E400, 2.0e400, 20e399, 2e+400]`, `{"a": NaN}`, `-0`, `1e-400`, `Infinity`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := DecodeJSON([]byte(s))
		if err != nil {
			return
		}
		n := 0
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case json.Number:
				if v == NaNText {
					n++
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			case map[string]any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(v)
		if n > strings.Count(s, "NaN") {
			t.Errorf("%q decodes to %d NaNText values from %d NaN", s, n, strings.Count(s, "NaN"))
		}
	})
}
