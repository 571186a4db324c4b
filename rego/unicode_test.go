package rego_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// TestDecideUnicodeTables checks the Rego library's run-time Unicode
// classes against oslo.policy 4.0.0 on Python 3.11 (Unicode 14.0.0):
// repr() escapes what str.isprintable() rejects, including code points
// unassigned in Unicode 14 (issue 9 class B), and str.lower()'s Final_Sigma
// rule counts Other_Lowercase/Other_Uppercase letters as cased (class C).
// Expected answers are Enforcer.enforce() of /usr/bin/python3.
func TestDecideUnicodeTables(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		target string
		creds  string
		want   bool
	}{
		{"B unassigned U+0378 is escaped", "x:%(t)r", `{"t":"\u0378"}`, `{"x":"'\\u0378'"}`, true},
		{"B unassigned U+0378 is not printed raw", "x:%(t)r", `{"t":"\u0378"}`, `{"x":"'\u0378'"}`, false},
		{"B Unicode 15 U+1FAE8 is escaped", "x:%(t)r", `{"t":"\ud83e\udee8"}`, `{"x":"'\\U0001fae8'"}`, true},
		{"B Unicode 15 U+1FAE8 is not printed raw", "x:%(t)r", `{"t":"\ud83e\udee8"}`, `{"x":"'\ud83e\udee8'"}`, false},
		{"B Unicode 15 U+0CF3 is escaped", "x:%(t)r", `{"t":"\u0cf3"}`, `{"x":"'\\u0cf3'"}`, true},
		{"B printable and soft hyphen", "x:%(t)r", `{"t":"\u00e9\u00ad"}`, `{"x":"'\u00e9\\xad'"}`, true},
		{"C feminine ordinal is cased, sigma final", "role:\u00aa\u03c3", `{}`, `{"roles":["\u00aa\u03a3"]}`, false},
		{"C feminine ordinal, final sigma matches", "role:\u00aa\u03c2", `{}`, `{"roles":["\u00aa\u03a3"]}`, true},
		{"C roman numeral one is cased", "role:\u2170\u03c2", `{}`, `{"roles":["\u2160\u03a3"]}`, true},
		{"C roman numeral one, medial sigma refused", "role:\u2170\u03c3", `{}`, `{"roles":["\u2160\u03a3"]}`, false},
		{"C circled A in a formatted role", "role:%(t)s", `{"t":"\u24b6\u03a3"}`, `{"roles":["\u24d0\u03c2"]}`, true},
		{"C circled A in a formatted role, medial refused", "role:%(t)s", `{"t":"\u24b6\u03a3"}`, `{"roles":["\u24d0\u03c3"]}`, false},
		{"C squared A is cased", "role:\U0001f130\u03c2", `{}`, `{"roles":["\ud83c\udd30\u03a3"]}`, true},
		{"C cased letter after sigma", "role:a\u03c3\u00aa", `{}`, `{"roles":["a\u03a3\u00aa"]}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy, err := json.Marshal(map[string]string{"a": tc.rule})
			if err != nil {
				t.Fatal(err)
			}
			e := engine(t, string(policy), oslo.Options{})
			in, err := rego.InputJSON("a", []byte(tc.target), []byte(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.DecideInput(context.Background(), "a", in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Error != "" || d.Allowed != tc.want {
				t.Errorf("got allowed=%v error=%q, want allowed=%v", d.Allowed, d.Error, tc.want)
			}
		})
	}
}
