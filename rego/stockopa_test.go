package rego_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// TestStockOPAReadsKeyOrderAndNaN: the input documents of the dict-order
// and NaN cases (key_order, NaNText) mean the same to the stock opa CLI,
// which reads them as JSON, as to the engine. Each case's policy is its own
// package; one `opa eval` answers them all, and one more reads a case's
// document with -i.
func TestStockOPAReadsKeyOrderAndNaN(t *testing.T) {
	out, err := exec.Command("go", "tool", "-n", "opa").Output()
	if err != nil {
		t.Fatalf("go tool -n opa: %v", err)
	}
	opa := strings.TrimSpace(string(out))
	var cases []valueCase
	cases = append(cases, dictCases...)
	cases = append(cases, nanCases()...)
	dir := t.TempDir()
	lib := translate.LibModule()
	if err := os.WriteFile(filepath.Join(dir, lib.File), []byte(lib.Text), 0o644); err != nil {
		t.Fatal(err)
	}
	var inputs []any
	var ours []string
	var pkgs []string
	for i, tc := range cases {
		tr := translated(t, tc.policy, oslo.Options{}, fmt.Sprintf("oslo.case%d", i))
		for _, m := range tr.Modules {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("case%d_%s", i, m.File)), []byte(m.Text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		e, err := rego.New(context.Background(), rego.Translation(tr))
		if err != nil {
			t.Fatal(err)
		}
		in, err := rego.InputJSON(tc.rule, []byte(tc.target), []byte(tc.creds))
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.DecideInput(context.Background(), tc.rule, in)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, kind(d))
		doc, err := ast.JSON(in)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, doc)
		pkgs = append(pkgs, fmt.Sprintf("case%d", i))
	}
	data, err := json.Marshal(map[string]any{"oslorego_inputs": inputs, "oslorego_pkgs": pkgs})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"key_order"`)) || !bytes.Contains(data, []byte(":"+rego.NaNText)) {
		t.Fatalf("the documents carry no key_order or no NaN:\n%s", data)
	}
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "data.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	const query = `package oslorego_cli_check

results := [r |
	some i, doc in data.oslorego_inputs
	r := data.oslo[data.oslorego_pkgs[i]].result with input as doc
]
`
	if err := os.WriteFile(filepath.Join(dataDir, "check.rego"), []byte(query), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs := opaEval(t, opa, "data.oslorego_cli_check.results", "-d", dir, "-d", dataDir)
	list, ok := theirs.([]any)
	if !ok || len(list) != len(cases) {
		t.Fatalf("opa eval answered %v for %d cases", theirs, len(cases))
	}
	for i, v := range list {
		if got := cliKind(v); got != ours[i] {
			t.Errorf("%s: opa eval says %s, the engine %s", cases[i].name, got, ours[i])
		}
	}
	// The same document as opa eval's input.
	first, err := json.Marshal(inputs[0])
	if err != nil {
		t.Fatal(err)
	}
	inFile := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(inFile, first, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cliKind(opaEval(t, opa, "data.oslo.case0.result", "-d", dir, "-i", inFile)); got != ours[0] || got != "allow" {
		t.Errorf("opa eval -i %s: %s, the engine %s", first, got, ours[0])
	}
}

func opaEval(t *testing.T, opa, query string, args ...string) any {
	t.Helper()
	cmd := exec.Command(opa, append(append([]string{"eval", "--format", "json"}, args...), query)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("opa eval: %v\n%s", err, stderr.String())
	}
	var res struct {
		Result []struct {
			Expressions []struct {
				Value any `json:"value"`
			} `json:"expressions"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 || len(res.Result[0].Expressions) != 1 {
		t.Fatalf("opa eval output: %v\n%s", err, out)
	}
	return res.Result[0].Expressions[0].Value
}

func cliKind(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "allow"
		}
		return "deny"
	case map[string]any:
		if _, ok := v["error"]; ok {
			return "error"
		}
	}
	return fmt.Sprintf("unexpected %v", v)
}
