package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// batchAnswer is one --batch output line.
type batchAnswer struct {
	Allowed bool   `json:"allowed"`
	Error   string `json:"error"`
}

func batchAnswers(t *testing.T, out string) []batchAnswer {
	t.Helper()
	var got []batchAnswer
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var a batchAnswer
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("answer %q: %v", l, err)
		}
		got = append(got, a)
	}
	return got
}

// TestBatchPolicyLoadError: when --policy cannot be loaded, every line is
// answered with the load error and the exit status is 1.
func TestBatchPolicyLoadError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(bad, []byte("a: \"role:x\"\nb: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, policy string
	}{
		{"unparsable file", bad},
		{"missing file", filepath.Join(dir, "missing.yaml")},
	}
	in := `{"rule":"a","target":{},"creds":{}}` + "\n\n" + "not json\n" + `{"rule":"a","rules":{"a":"@"}}` + "\n"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, in, "check", "--batch", "--policy", tc.policy)
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", code, errOut)
			}
			got := batchAnswers(t, out)
			lines := []int{1, 3, 4}
			if len(got) != len(lines) {
				t.Fatalf("%d answers for %d requests:\n%s", len(got), len(lines), out)
			}
			for i, a := range got {
				want := "line " + string(rune('0'+lines[i])) + ": loading the policy: "
				if a.Allowed || !strings.HasPrefix(a.Error, want) {
					t.Errorf("answer %d = %+v, want a deny with %q", i+1, a, want)
				}
			}
		})
	}
}

// TestBatchPolicyStrict: with --policy (whose YAML keys need not be
// strings), the rule must be a string.
func TestBatchPolicyStrict(t *testing.T) {
	tests := []struct{ line, err string }{
		{`{"target": {}}`, `line 1: request has no "rule"`},
		{`{"rule": null}`, `line 1: "rule" must be a string with --policy`},
		{`{"rule": 5}`, `line 1: "rule" must be a string with --policy`},
		{`{"rule": "download_image", "default_rule": "x"}`, `line 1: "default_rule" goes with "rules"`},
		{`{"rule": "download_image", "credentials": {}}`, `line 1: unknown field 'credentials'`},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.line, "check", "--batch", "--policy", example+"policy.yaml")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got := batchAnswers(t, out)
			if len(got) != 1 || got[0].Allowed || !strings.HasPrefix(got[0].Error, tc.err) {
				t.Errorf("answers %+v, want a deny with %q", got, tc.err)
			}
		})
	}
}

// TestCheckFilesDecodeAsPython: --target and --creds are read with
// json.loads, as oslopolicy-checker reads them.
func TestCheckFilesDecodeAsPython(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"a": "x:%(t)s"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target, creds string
		code                int
		out                 string
	}{
		{"Infinity is a float", `{"t": Infinity}`, `{"x": "inf"}`, 0, "passed: a\n"},
		{"text after the object", `{"t": 1} x`, `{"x": "1"}`, 1, "Extra data"},
		{"a lone surrogate fails closed", `{"t": "\udfff"}`, `{"x": "\ud800"}`, 1, "holds a lone surrogate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target, creds := filepath.Join(dir, "target.json"), filepath.Join(dir, "creds.json")
			if err := os.WriteFile(target, []byte(tc.target), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(creds, []byte(tc.creds), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "", "check", "--policy", policy, "--rule", "a", "--target", target, "--creds", creds)
			if code != tc.code || !strings.Contains(out+errOut, tc.out) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.code, out, errOut, tc.out)
			}
		})
	}
}
