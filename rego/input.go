package rego

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
)

// Input converts a request to the Rego input document
// {"rule", "target", "credentials"}. A missing target or credentials is {}.
func Input(req Request) (ast.Value, error) {
	target, creds := req.Target, req.Credentials
	if target == nil {
		target = map[string]any{}
	}
	if creds == nil {
		creds = map[string]any{}
	}
	return InputValue(req.Rule, target, creds)
}

// InputJSON builds the input from raw JSON target and credentials, decoded
// as Python's json.loads does (see DecodeJSON). An empty target or
// credentials is {}.
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

func decodeJSON(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	return DecodeJSON(raw)
}

// InputValue builds the input document from Go values as DecodeJSON
// returns them. rule is normally a string; oslo looks any other hashable
// value up like a name that no rule has (so nil, a number or a bool falls
// back to the default rule), and the entry point does the same.
func InputValue(rule, target, creds any) (ast.Value, error) {
	rv, err := ast.InterfaceToValue(rule)
	if err != nil {
		return nil, fmt.Errorf("rule: %w", err)
	}
	tv, err := ast.InterfaceToValue(target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	cv, err := ast.InterfaceToValue(creds)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return ast.NewObject(
		ast.Item(ast.StringTerm("rule"), ast.NewTerm(rv)),
		ast.Item(ast.StringTerm("target"), ast.NewTerm(tv)),
		ast.Item(ast.StringTerm("credentials"), ast.NewTerm(cv)),
	), nil
}

// ErrUnrepresentable is wrapped by DecodeJSON's errors for values that
// Python's json.loads accepts but OPA cannot hold.
var ErrUnrepresentable = errors.New("OPA cannot hold this value exactly, so the decision fails closed")

// DecodeJSON decodes data as Python's json.loads does: exact field names,
// nothing after the value, a duplicate key keeps its last value, and
// Infinity, -Infinity and 1e400 are all the float inf. Objects become
// map[string]any, arrays []any, numbers json.Number (ints exactly, floats
// as Python's repr, inf as 1e400 which the library renders "inf").
//
// Two values json.loads accepts have no OPA equivalent and are errors
// (wrapping ErrUnrepresentable): NaN (OPA numbers are decimal text) and
// strings holding a lone surrogate such as "\ud800" (OPA strings are UTF-8;
// mapping the surrogate to anything else could make two different Python
// strings equal).
func DecodeJSON(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	v, err := policyfile.LoadJSON(string(data))
	if err != nil {
		var pe *policyfile.Error
		if errors.As(err, &pe) {
			return nil, errors.New(pe.Msg)
		}
		return nil, err
	}
	return GoValue(v)
}

// GoValue converts a value loaded by policyfile.LoadJSON as DecodeJSON
// does.
func GoValue(v policyfile.Value) (any, error) {
	switch v.Kind {
	case policyfile.Null:
		return nil, nil
	case policyfile.Bool:
		return v.Truthy, nil
	case policyfile.Int:
		return json.Number(v.Str), nil
	case policyfile.Float:
		switch v.Str {
		case "inf":
			return json.Number("1e400"), nil
		case "-inf":
			return json.Number("-1e400"), nil
		case "nan":
			return nil, fmt.Errorf("NaN at line %d column %d: %w", v.Line, v.Col, ErrUnrepresentable)
		}
		return json.Number(v.Str), nil
	case policyfile.String:
		if err := checkString(v.Str, v); err != nil {
			return nil, err
		}
		return v.Str, nil
	case policyfile.List:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			x, err := GoValue(it)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case policyfile.Map:
		out := make(map[string]any, len(v.Pairs))
		for _, p := range v.Pairs {
			if p.Key.Kind != policyfile.String {
				return nil, fmt.Errorf("line %d column %d: a %s key", p.Key.Line, p.Key.Col, p.Key.Kind)
			}
			if err := checkString(p.Key.Str, p.Key); err != nil {
				return nil, err
			}
			x, err := GoValue(p.Val)
			if err != nil {
				return nil, err
			}
			out[p.Key.Str] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d column %d: unexpected %s value", v.Line, v.Col, v.Kind)
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
