package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/translate/oslo"
)

// TestDelegate: the policy file and [oslo_policy] section of a small
// service, against golden files (OSLOREGO_UPDATE_DELEGATE=1 rewrites
// them); the policy file loads as a policy whose every rule, "default"
// included, is the PDP's https check.
func TestDelegate(t *testing.T) {
	dir := t.TempDir()
	policy, conf := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "oslo_policy.conf")
	code, _, stderr := runCLI(t, "", "delegate", "testdata/delegate", "-o", policy, "--conf-output", conf,
		"--url", "https://pdp.example.org:9443/v1/oslo/check", "--ca-file", "/etc/nova/pdp-ca.pem",
		"--client-cert", "/etc/nova/pdp-client.pem", "--client-key", "/etc/nova/pdp-client-key.pem")
	if code != 0 {
		t.Fatalf("delegate: exit %d: %s", code, stderr)
	}
	for _, f := range []struct{ got, golden string }{{policy, "policy.yaml.golden"}, {conf, "oslo_policy.conf.golden"}} {
		got, err := os.ReadFile(f.got)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "delegate", f.golden)
		if os.Getenv("OSLOREGO_UPDATE_DELEGATE") != "" {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from %s:\n%s", f.got, golden, got)
		}
	}
	l, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := oslo.ParseLayer(policy, l)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range layer.Rules {
		names = append(names, r.Name)
		if r.Text != "https://pdp.example.org:9443/v1/oslo/check" {
			t.Errorf("rule %q is %q, not the PDP's check", r.Name, r.Text)
		}
	}
	want := []string{"context_is_admin", "os_compute_api:servers:create", "os_compute_api:os-flavor-manage", `név:"idézett"`, "default"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules %q, want %q", names, want)
	}
}

func TestDelegateRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"testdata/delegate", "--url", "https://pdp:9443/check?x=%(project_id)s"}, "%-formatting"},
		{[]string{"testdata/delegate", "--url", "https://pdp:9443/a b"}, "policy-language"},
		{[]string{"testdata/delegate", "--url", "ftp://pdp/x"}, "http or https"},
		{[]string{"testdata/delegate", "--url", "http://pdp:9080/v1/oslo/check", "--ca-file", "ca.pem"}, "need an https --url"},
		{[]string{"testdata/delegate", "--client-cert", "c.pem"}, "together"},
		{[]string{"testdata/delegate", "--content-type", "text/plain"}, "--content-type"},
		{[]string{"testdata"}, "no defaults.json"},
		{[]string{"testdata/nonexistent.json"}, "no such file"},
		{[]string{}, "want one defaults file"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"delegate"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("delegate %q: exit %d, %q; want a failure with %q", tc.args, code, stderr, tc.want)
		}
	}
}
