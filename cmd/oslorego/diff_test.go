package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	new := filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(old, []byte(`"download_image": "role:member"`+"\n"+`"get_image": "role:reader"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(new, []byte(`"download_image": "role:member and not 'ntt_3251':%(x_billing_code_ntt)s"`+"\n"+`"get_image": "role:READER"`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "diff", old, new)
	if code != 1 || !strings.Contains(stdout, "download_image: 1 of 4 requests differ (exhaustive)\n  member, target.x_billing_code_ntt = ntt_3251: allow → deny\n") ||
		!strings.Contains(stdout, "2 rules: 1 differ, 1 decide alike") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "diff", old, new, "--rule", "get_image", "--format", "json")
	var rep struct {
		Rules []struct {
			Rule                string
			Differs, Exhaustive bool
		}
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || len(rep.Rules) != 1 || rep.Rules[0].Differs || !rep.Rules[0].Exhaustive {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "diff", "--against-defaults", "../../bundles/glance", "--enforce-new-defaults", "--rule", "download_image")
	if code != 1 || !strings.Contains(stdout, "target.x_billing_code_ntt in {ntt_3251, ntt_3252}: allow → deny") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	// --rego applies to policy files, as for check: the README's warning that
	// replacing Glance's rule with "role:admin or rule:restricted" lets a token
	// with no role download unrestricted images.
	rego := filepath.Join(dir, "restrict.rego")
	p0, p1 := filepath.Join(dir, "p0.json"), filepath.Join(dir, "p1.json")
	for path, text := range map[string]string{
		rego: "package oslo.policy\n\nimport data.oslo.lib\n\nrules.restricted := false if {\n\tinput.target.x_billing_code_ntt in {\"ntt_3251\"}\n\t\"member\" in lib.roles\n} else := true\n",
		p0:   `{"download_image": "role:admin"}`,
		p1:   `{"download_image": "role:admin or rule:restricted"}`,
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = runCLI(t, "", "diff", p0, p1, "--rego", rego, "--rule", "download_image")
	if code != 1 || !strings.Contains(stdout, "(exhaustive)") || !strings.Contains(stdout, "not admin, not member: deny → allow\n    e.g. credentials {\"roles\":[]}") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"diff", old}, {"diff", old, new, "--format", "yaml"}, {"diff", "--against-defaults", old}} {
		if code, _, stderr := runCLI(t, "", args...); code == 0 {
			t.Errorf("%v: exit 0 (%s)", args, stderr)
		}
	}
}

// The README's worked example shows what diff prints, byte for byte.
func TestDiffREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	if _, err := os.Stat("../shared/policies/glance-legacy.json"); err != nil {
		testenv.Missing(t, "../shared beside the repository: %v", err)
	}
	for _, args := range [][]string{
		{"diff", "../shared/policies/glance-legacy.json", "../shared/policies/glance.json", "--rule", "download_image,fetch_image_location,get_images"},
		{"diff", "--against-defaults", "bundles/glance", "--enforce-new-defaults", "--rule", "download_image"},
	} {
		code, stdout, stderr := runCLI(t, "", args...)
		if code != 1 || !strings.Contains(string(readme), "\n"+stdout+"```\n") {
			t.Errorf("%v: exit %d; the README does not show this output:\n%s%s", args, code, stdout, stderr)
		}
	}
}
