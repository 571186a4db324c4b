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
		{"NaN", `{"a": NaN}`, "", "NaN at line 1 column 7", true},
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
