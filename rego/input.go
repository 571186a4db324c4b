package rego

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
)

// Input converts a request to the Rego input document
// {"rule", "target", "credentials"}, with "key_order" when the target or
// credentials is an Ordered value whose objects' keys are not all sorted
// (see Ordered). A missing target or credentials is {}.
func Input(req Request) (ast.Value, error) {
	return inputValue(req.Rule, orEmpty(req.Target), orEmpty(req.Credentials), nil)
}

// orEmpty is v, or {} for a missing value.
func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// InputJSON builds the input from raw JSON target and credentials, decoded
// as Python's json.loads does (see DecodeOrdered), with their key order. An
// empty target or credentials is {}.
func InputJSON(rule string, target, creds json.RawMessage) (ast.Value, error) {
	t, err := decodeJSON(target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	c, err := decodeJSON(creds)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return InputValue(rule, t, c)
}

func decodeJSON(raw json.RawMessage) (Ordered, error) {
	if len(raw) == 0 {
		return Ordered{Value: map[string]any{}}, nil
	}
	return DecodeOrdered(raw)
}

// InputValue builds the input document from Go values as DecodeJSON
// returns them, or as Ordered values (see Ordered). rule is normally a
// string; oslo looks any other hashable value up like a name that no rule
// has (so nil, a number or a bool falls back to the default rule), and the
// entry point does the same.
func InputValue(rule, target, creds any) (ast.Value, error) {
	return inputValue(rule, target, creds, nil)
}

// inputValue is InputValue; when keep is not nil and the target is an
// object, only the target's members named in keep are converted. The key
// order tree is the whole target's either way: it is already a value.
func inputValue(rule, target, creds any, keep []string) (ast.Value, error) {
	rv, err := ast.InterfaceToValue(rule)
	if err != nil {
		return nil, fmt.Errorf("rule: %w", err)
	}
	t, c := plain(target), plain(creds)
	var tv ast.Value
	if m, ok := t.Value.(map[string]any); ok && keep != nil {
		tv, err = members(m, keep)
	} else {
		tv, err = ast.InterfaceToValue(t.Value)
	}
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	cv, err := ast.InterfaceToValue(c.Value)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("rule"), ast.NewTerm(rv)),
		ast.Item(ast.StringTerm("target"), ast.NewTerm(tv)),
		ast.Item(ast.StringTerm("credentials"), ast.NewTerm(cv)),
	}
	if t.order != nil || c.order != nil {
		order := ast.NewObject()
		if t.order != nil {
			order.Insert(ast.StringTerm("target"), ast.NewTerm(t.order))
		}
		if c.order != nil {
			order.Insert(ast.StringTerm("credentials"), ast.NewTerm(c.order))
		}
		items = append(items, ast.Item(ast.StringTerm("key_order"), ast.NewTerm(order)))
	}
	return ast.NewObject(items...), nil
}

// members is the object of m's members named in keep, converted.
func members(m map[string]any, keep []string) (ast.Value, error) {
	obj := ast.NewObjectWithCapacity(len(keep))
	for _, k := range keep {
		v, ok := m[k]
		if !ok {
			continue
		}
		x, err := ast.InterfaceToValue(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		obj.Insert(ast.StringTerm(k), ast.NewTerm(x))
	}
	return obj, nil
}

// plain is v as an Ordered value: a Go value has no key order.
func plain(v any) Ordered {
	if o, ok := v.(Ordered); ok {
		return o
	}
	return Ordered{Value: v}
}

// Ordered is a request value (a target or credentials) with the key order
// of its objects. Python prints a dict's keys in insertion order, the JSON
// order of the request; OPA objects have no order, so the input document
// carries it beside the values, as input.key_order. OrderedValue and
// InputJSON make one; Input, InputValue and a Request take one wherever
// they take a plain Go value. A plain value (a Go map) has no order: its
// dicts print with sorted keys.
type Ordered struct {
	// Value is the value as GoValue returns it.
	Value any
	// order is Value's input.key_order tree (see convert), nil when every
	// object's keys are in sorted order.
	order ast.Object
}

// NaNText is the JSON number that carries Python's float NaN in the input
// document. json.loads reads 2e400 as inf, and DecodeJSON writes every
// float as Python's repr, with inf as 1e400, so no other value has this
// text; the library formats it as "nan".
const NaNText = "2e400"

// ErrUnrepresentable is wrapped by DecodeJSON's errors for values that
// Python's json.loads accepts but OPA cannot hold.
var ErrUnrepresentable = errors.New("OPA cannot hold this value exactly, so the decision fails closed")

// DecodeJSON decodes data as Python's json.loads does: exact field names,
// nothing after the value, a duplicate key keeps its last value, and
// Infinity, -Infinity and 1e400 are all the float inf. Objects become
// map[string]any, arrays []any, numbers json.Number (ints exactly, floats
// as Python's repr, inf as 1e400 which the library renders "inf", NaN as
// NaNText). The objects' key order is dropped (see DecodeOrdered).
//
// Strings holding a lone surrogate such as "\ud800" have no OPA equivalent
// and are errors wrapping ErrUnrepresentable (OPA strings are UTF-8;
// mapping the surrogate to anything else could make two different Python
// strings equal).
func DecodeJSON(data []byte) (any, error) {
	o, err := DecodeOrdered(data)
	return o.Value, err
}

// DecodeOrdered is DecodeJSON keeping the objects' key order.
func DecodeOrdered(data []byte) (Ordered, error) {
	text := string(data)
	if o, ok := decodeFast(text); ok {
		return o, nil
	}
	if !utf8.ValidString(text) {
		return Ordered{}, errors.New("not valid UTF-8")
	}
	v, err := policyfile.LoadJSON(text)
	if err != nil {
		var pe *policyfile.Error
		if errors.As(err, &pe) {
			return Ordered{}, errors.New(pe.Msg)
		}
		return Ordered{}, err
	}
	return OrderedValue(v)
}

// GoValue converts a value loaded by policyfile.LoadJSON as DecodeJSON
// does.
func GoValue(v policyfile.Value) (any, error) {
	x, _, err := convert(v)
	return x, err
}

// OrderedValue is GoValue keeping the objects' key order.
func OrderedValue(v policyfile.Value) (Ordered, error) {
	x, order, err := convert(v)
	if err != nil {
		return Ordered{}, err
	}
	return Ordered{Value: x, order: order}, nil
}

// convert is GoValue, and the value's key order tree: nil, or an object
// {"keys": [KEY, ...], "sub": {KEY: TREE, ...}}. "keys" is there when an
// object's keys are not in sorted order (the order OPA's json.marshal and
// the library use otherwise): its keys in Python's dict order, which
// json.loads builds in JSON order, a repeated key at its first position.
// "sub" holds the trees of the members (by key) or elements (by decimal
// index) that have one.
func convert(v policyfile.Value) (any, ast.Object, error) {
	switch v.Kind {
	case policyfile.Null:
		return nil, nil, nil
	case policyfile.Bool:
		return v.Truthy, nil, nil
	case policyfile.Int:
		return json.Number(v.Str), nil, nil
	case policyfile.Float:
		switch v.Str {
		case "inf":
			return json.Number("1e400"), nil, nil
		case "-inf":
			return json.Number("-1e400"), nil, nil
		case "nan":
			return json.Number(NaNText), nil, nil
		}
		return json.Number(v.Str), nil, nil
	case policyfile.String:
		if err := checkString(v.Str, v); err != nil {
			return nil, nil, err
		}
		return v.Str, nil, nil
	case policyfile.List:
		out := make([]any, len(v.Items))
		var sub ast.Object
		for i, it := range v.Items {
			x, order, err := convert(it)
			if err != nil {
				return nil, nil, err
			}
			out[i] = x
			sub = addSub(sub, strconv.Itoa(i), order)
		}
		return out, orderTree(nil, sub), nil
	case policyfile.Map:
		out := make(map[string]any, len(v.Pairs))
		var sub ast.Object
		sorted := true
		for i, p := range v.Pairs {
			if p.Key.Kind != policyfile.String {
				return nil, nil, fmt.Errorf("line %d column %d: a %s key", p.Key.Line, p.Key.Col, p.Key.Kind)
			}
			if err := checkString(p.Key.Str, p.Key); err != nil {
				return nil, nil, err
			}
			x, order, err := convert(p.Val)
			if err != nil {
				return nil, nil, err
			}
			out[p.Key.Str] = x
			sub = addSub(sub, p.Key.Str, order)
			sorted = sorted && (i == 0 || v.Pairs[i-1].Key.Str < p.Key.Str)
		}
		var keys *ast.Array
		if !sorted {
			ts := make([]*ast.Term, len(v.Pairs))
			for i, p := range v.Pairs {
				ts[i] = ast.StringTerm(p.Key.Str)
			}
			keys = ast.NewArray(ts...)
		}
		return out, orderTree(keys, sub), nil
	}
	return nil, nil, fmt.Errorf("line %d column %d: unexpected %s value", v.Line, v.Col, v.Kind)
}

func addSub(sub ast.Object, key string, order ast.Object) ast.Object {
	if order == nil {
		return sub
	}
	if sub == nil {
		sub = ast.NewObject()
	}
	sub.Insert(ast.StringTerm(key), ast.NewTerm(order))
	return sub
}

func orderTree(keys *ast.Array, sub ast.Object) ast.Object {
	if keys == nil && sub == nil {
		return nil
	}
	tree := ast.NewObjectWithCapacity(2)
	if keys != nil {
		tree.Insert(ast.InternedTerm("keys"), ast.NewTerm(keys))
	}
	if sub != nil {
		tree.Insert(ast.InternedTerm("sub"), ast.NewTerm(sub))
	}
	return tree
}

// checkString refuses a string holding a lone surrogate: it is carried as
// generalised UTF-8, which is not UTF-8.
func checkString(s string, at policyfile.Value) error {
	if utf8.ValidString(s) {
		return nil
	}
	return fmt.Errorf("the string %s at line %d column %d holds a lone surrogate: %w",
		python.StrReprWTF8(s), at.Line, at.Col, ErrUnrepresentable)
}
