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
// json.loads, as oslopolicy-checker reads them: NaN and Infinity are
// floats, and dicts print in the files' key order (the target flattened as
// oslopolicy-checker's flatten() does it, in order; without --target it is
// {user_id, project_id}).
func TestCheckFilesDecodeAsPython(t *testing.T) {
	dir := t.TempDir()
	const keyT, whole = `{"a": "x:%(t)s"}`, `{"a": "x:%s"}`
	tests := []struct {
		name, policy, target, creds string
		code                        int
		out                         string
	}{
		{"Infinity is a float", keyT, `{"t": Infinity}`, `{"x": "inf"}`, 0, "passed: a\n"},
		{"NaN is a float", keyT, `{"t": NaN}`, `{"x": "nan"}`, 0, "passed: a\n"},
		{"text after the object", keyT, `{"t": 1} x`, `{"x": "1"}`, 1, "Extra data"},
		{"a lone surrogate fails closed", keyT, `{"t": "\udfff"}`, `{"x": "\ud800"}`, 1, "holds a lone surrogate"},
		{"a dict in a list prints in order", keyT, `{"t": [{"b": 1, "a": 2}]}`, `{"x": "[{'b': 1, 'a': 2}]"}`, 0, "passed: a\n"},
		{"a dict in a list does not print sorted", keyT, `{"t": [{"b": 1, "a": 2}]}`, `{"x": "[{'a': 2, 'b': 1}]"}`, 1, "failed: a\n"},
		{"a credentials dict prints in order", keyT, `{"t": "{'b': 1, 'a': 2}"}`, `{"x": {"b": 1, "a": 2}}`, 0, "passed: a\n"},
		{"the flattened target is in order", whole, `{"b": {"d": 1, "c": 2}, "a": 1}`, `{"x": "{'b.d': 1, 'b.c': 2, 'a': 1}"}`, 0, "passed: a\n"},
		{"a flattened key that comes again: first place, last value", whole, `{"a.b": 1, "c": 0, "a": {"b": 2}}`, `{"x": "{'a.b': 2, 'c': 0}"}`, 0, "passed: a\n"},
		{"the default target is user_id, project_id", whole, "", `{"project_id": "p", "x": "{'user_id': 'u', 'project_id': 'p'}", "user_id": "u"}`, 0, "passed: a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy, target, creds := filepath.Join(dir, "policy.json"), filepath.Join(dir, "target.json"), filepath.Join(dir, "creds.json")
			for f, text := range map[string]string{policy: tc.policy, target: tc.target, creds: tc.creds} {
				if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"check", "--policy", policy, "--rule", "a", "--creds", creds}
			if tc.target != "" {
				args = append(args, "--target", target)
			}
			code, out, errOut := runCLI(t, "", args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.out) {
				t.Errorf("exit %d, want %d; output %q %q, want %q", code, tc.code, out, errOut, tc.out)
			}
		})
	}
}
