package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const example = "../../examples/glance-download/"

// runCLI runs the command in-process and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"member refused the restricted image", []string{"check", "--policy", example + "policy.yaml", "--creds", example + "member.json", "--target", example + "restricted-image.json", "--rule", "download_image"},
			1, []string{"failed: download_image\n"}},
		{"member may download another image", []string{"check", "--policy", example + "policy.yaml", "--creds", example + "member.json", "--target", example + "plain-image.json", "--rule", "download_image"},
			0, []string{"passed: download_image\n"}},
		{"admin may download the restricted image", []string{"check", "--policy", example + "policy.yaml", "--creds", example + "admin.json", "--target", example + "restricted-image.json", "--rule", "download_image"},
			0, []string{"passed: download_image\n"}},
		{"explain names the failing sub-expressions with file:line", []string{"check", "--policy", example + "policy.yaml", "--creds", example + "member.json", "--target", example + "restricted-image.json", "--rule", "download_image", "--explain"},
			1, []string{"failed: role:admin = false (in rule \"download_image\" at " + example + "policy.yaml:7)", "'ntt_3251':%(x_billing_code_ntt)s = true"}},
		{"every rule with a colon, sorted (none here)", []string{"check", "--policy", example + "policy.yaml", "--creds", example + "member.json"},
			0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestCheckAccessFile(t *testing.T) {
	dir := t.TempDir()
	access := filepath.Join(dir, "access.json")
	token := `{"token": {"roles": [{"id": "r1", "name": "Member"}], "user": {"name": "N", "id": "u1"}, "project": {"id": "p1"}}}`
	if err := os.WriteFile(access, []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"a:owner": "project_id:%(project_id)s and role:member", "a:admin": "is_admin:True", "user": "user:%(t)s"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The token's dicts print in its key order.
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte(`{"t": "{'name': 'N', 'id': 'u1'}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "", "check", "--policy", policy, "--access", access, "--target", target, "--rule", "user"); code != 0 || out != "passed: user\n" {
		t.Errorf("user:%%(t)s: exit %d, output %q", code, out)
	}
	code, out, _ := runCLI(t, "", "check", "--policy", policy, "--access", access)
	if code != 1 || out != "failed: a:admin\npassed: a:owner\n" {
		t.Errorf("exit %d, output %q", code, out)
	}
	code, out, _ = runCLI(t, "", "check", "--policy", policy, "--access", access, "--is-admin", "--rule", "a:admin")
	if code != 0 || out != "passed: a:admin\n" {
		t.Errorf("--is-admin: exit %d, output %q", code, out)
	}
}

func TestBatch(t *testing.T) {
	in := strings.Join([]string{
		`{"rule": "download_image", "target": {"x_billing_code_ntt": "ntt_3251"}, "creds": {"roles": ["member"]}}`,
		`{"rule": "download_image", "target": {}, "creds": {"roles": ["member"]}}`,
		``,
		`not json`,
		`{"rule": "r", "target": {}, "creds": {}, "rules": {"r": "rule:r"}, "default_rule": null}`,
		`{"rule": "r", "target": {}, "creds": {"roles": ["x"]}, "rules": {"r": "role:X"}}`,
		`{"rule": "r", "credentials": {}}`,
		`{"target": {}}`,
		`{"rule": "r", "rules": {"r": true}}`,
	}, "\n")
	code, out, errOut := runCLI(t, in, "check", "--batch", "--policy", example+"policy.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []struct {
		allowed bool
		err     string
	}{
		{false, ""},
		{true, ""},
		{false, "line 4: not one JSON object: Expecting value"},
		{false, "RecursionError"},
		{true, ""},
		{false, "line 7: unknown field 'credentials'"},
		{false, "line 8: request has no \"rule\""},
		{false, "TypeError"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d answers for %d requests:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		var got struct {
			Allowed bool   `json:"allowed"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if got.Allowed != want[i].allowed || !strings.Contains(got.Error, want[i].err) || (want[i].err == "") != (got.Error == "") {
			t.Errorf("answer %d = %s, want allowed=%v error~%q", i+1, l, want[i].allowed, want[i].err)
		}
	}
}

func TestTranslateAndLint(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "", "translate", example+"policy.yaml", "-o", dir)
	if code != 0 {
		t.Fatalf("translate: exit %d: %s", code, errOut)
	}
	for _, f := range []string{"oslo_lib.rego", "decision.rego", "policy.rego"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	policy := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(policy, []byte("{\n\"a\": \"rule:b\",\n\"b\": \"rule:a\",\n\"c\": \"role:x or rule:nope\"\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "", "lint", "--no-default-rule", policy)
	if code != 1 {
		t.Errorf("lint of a cycle: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{policy + ":2:1: error: rule \"a\": rule is part of a rule: cycle (a -> b -> a)", policy + ":4:1: error: rule \"c\": rule:nope is not defined"} {
		if !strings.Contains(out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "", "lint", example+"policy.yaml")
	if code != 0 || !strings.Contains(out, "0 errors") {
		t.Errorf("lint of the example: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"check"}, {"check", "--bogus"}, {"check", "--policy", "x", "--creds", "a", "--access", "b"}} {
		if code, _, _ := runCLI(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	code, out, _ := runCLI(t, "", "check", "--help")
	if code != 0 || !strings.Contains(out, "--batch") {
		t.Errorf("check --help: exit %d\n%s", code, out)
	}
	code, _, errOut := runCLI(t, "", "check", "--policy", "/nonexistent/policy.yaml", "--rule", "x")
	if code != 1 || !strings.Contains(errOut, "/nonexistent/policy.yaml") {
		t.Errorf("missing policy: exit %d, stderr %q", code, errOut)
	}
}

func TestRegoBesideLegacy(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "restrict.rego")
	if err := os.WriteFile(raw, []byte(`package oslo.policy

import data.oslo.lib

rules.restricted := false if {
	input.target.x_billing_code_ntt in {"ntt_3251"}
	"member" in lib.roles
} else := true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"download_image": "role:admin or rule:restricted"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"check", "--policy", policy, "--rego", raw, "--creds", example + "member.json", "--rule", "download_image", "--target"}
	if code, out, errOut := runCLI(t, "", append(args, example+"restricted-image.json")...); code != 1 || out != "failed: download_image\n" {
		t.Errorf("restricted image: exit %d %q %s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", append(args, example+"plain-image.json")...); code != 0 || out != "passed: download_image\n" {
		t.Errorf("plain image: exit %d %q %s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "", "lint", "--rego", raw, policy); code != 0 || !strings.Contains(out, "0 errors") {
		t.Errorf("lint with the Rego rule declared: exit %d\n%s", code, out)
	}
	// The same name in the oslo file and in Rego is an error naming both.
	if err := os.WriteFile(policy, []byte(`{"restricted": "@", "download_image": "rule:restricted"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "lint", "--rego", raw, policy)
	if code != 1 || !strings.Contains(errOut, raw+":5") || !strings.Contains(errOut, policy+":1") {
		t.Errorf("conflict: exit %d, stderr %q", code, errOut)
	}
}

func TestBuildAndTest(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "b.tar.gz")
	if code, _, errOut := runCLI(t, "", "build", "../../bundles/testdata/example", "-o", out); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	again := filepath.Join(dir, "again.tar.gz")
	if code, _, _ := runCLI(t, "", "build", "../../bundles/testdata/example", "-o", again); code != 0 {
		t.Fatal("second build failed")
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Error("two builds differ")
	}
	for _, target := range []string{out, "../../bundles/testdata/example"} {
		code, stdout, errOut := runCLI(t, "", "test", target)
		if code != 0 || !strings.Contains(stdout, "PASS: 3/3") {
			t.Errorf("test %s: exit %d\n%s%s", target, code, stdout, errOut)
		}
	}
	if code, _, _ := runCLI(t, "", "build", "../../bundles/testdata/example"); code != 2 {
		t.Errorf("build without -o: exit %d, want 2", code)
	}
}

func TestEval(t *testing.T) {
	dir := "../../bundles/testdata/example"
	code, out, errOut := runCLI(t, "", "eval", dir, "--rule", "download_image", "--creds", example+"member.json", "--target", example+"restricted-image.json", "--explain")
	if code != 1 || !strings.Contains(out, "failed: download_image") || !strings.Contains(out, "restrict.rego:7") {
		t.Errorf("eval dir: exit %d\n%s%s", code, out, errOut)
	}
	built := filepath.Join(t.TempDir(), "b.tar.gz")
	if code, _, errOut := runCLI(t, "", "build", dir, "-o", built); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut = runCLI(t, "", "eval", built, "--rule", "download_image", "--creds", example+"member.json", "--target", example+"plain-image.json")
	if code != 0 || out != "passed: download_image\n" {
		t.Errorf("eval tar.gz: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "eval", built, "--rule", "download_image", "--creds", example+"member.json", "--target", example+"restricted-image.json", "--explain")
	if code != 1 || !strings.Contains(out, "restricted := <Rego rule restricted at restrict.rego:7> = false") || !strings.Contains(out, "[policy.yaml:4]") {
		t.Errorf("eval tar.gz --explain: exit %d\n%s%s", code, out, errOut)
	}
}
