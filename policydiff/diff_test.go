package policydiff_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/policydiff"
	"github.com/oslorego/oslorego/translate/oslo"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func diffTexts(t *testing.T, old, new string, o policydiff.Options) *policydiff.RuleDiff {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	a, err := policydiff.Load(ctx, write(t, dir, "old.yaml", old), policydiff.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := policydiff.Load(ctx, write(t, dir, "new.yaml", new), policydiff.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.Rules = []string{"r"}
	rep, err := policydiff.Diff(ctx, a, b, o)
	if err != nil {
		t.Fatal(err)
	}
	return &rep.Rules[0]
}

func TestDiffRule(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		max, sample    int
		differs        bool
		exhaustive     bool
		identical      bool
		// conditions are the "condition: old → new" lines, in order.
		conditions []string
	}{
		{name: "identical", old: `"r": "role:admin or rule:x"
"x": "project_id:%(project_id)s"`, new: `"x": "project_id:%(project_id)s"
"r": "role:admin or rule:x"`, exhaustive: true, identical: true},
		{name: "equivalent, written otherwise", old: `"r": "role:admin or role:member"`, new: `"r": "role:MEMBER or (role:Admin and @)"`, exhaustive: true},
		{name: "role added", old: `"r": "role:admin"`, new: `"r": "role:admin or role:member"`, differs: true, exhaustive: true,
			conditions: []string{"not admin, member: deny → allow"}},
		{name: "blueprint restriction", old: `"r": "role:member"`, new: `"r": "role:member and not 'ntt_3251':%(x_billing_code_ntt)s"`, differs: true, exhaustive: true,
			conditions: []string{"member, target.x_billing_code_ntt = ntt_3251: allow → deny"}},
		{name: "owner equality", old: `"r": "project_id:%(project_id)s"`, new: `"r": "project_id:%(owner)s"`, differs: true, exhaustive: true,
			conditions: []string{"target.owner ≠ credentials.project_id, target.project_id = credentials.project_id: allow → deny",
				"target.owner = credentials.project_id, target.project_id ≠ credentials.project_id: deny → allow"}},
		{name: "is_admin", old: `"r": "is_admin:True"`, new: `"r": "role:admin"`, differs: true, exhaustive: true,
			conditions: []string{"not admin, credentials.is_admin = true: allow → deny", "admin, credentials.is_admin ≠ true: deny → allow"}},
		{name: "undefined falls back to default", old: `"default": "role:admin"`, new: `"default": "role:admin"
"r": "role:admin or role:reader"`, differs: true, exhaustive: true,
			conditions: []string{"not admin, reader: deny → allow"}},
		{name: "sampled is never exhaustive", old: `"r": "role:a and role:b and role:c and role:d and role:e"`, new: `"r": "role:a and role:b and role:c and role:d and role:e"
"x": "@"`, max: 8, exhaustive: true, identical: true},
		{name: "sampled says so", old: `"r": "role:a and role:b and role:c and role:d and role:e"`, new: `"r": "role:a and role:b and role:c and role:d and (role:e or role:f)"`, max: 8},
		{name: "sampled: what matters around the example", old: `"r": "role:a and role:b and role:c and role:d and role:e"`, new: `"r": "role:a and role:b and role:c and role:d and (role:e or role:f)"`, max: 8, sample: 400, differs: true,
			conditions: []string{"e.g. a, b, c, d, not e, f: deny → allow"}},
		{name: "format the abstraction does not model", old: `"r": "project_id:p%(project_id)s"`, new: `"r": "project_id:%(project_id)s"`, differs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := diffTexts(t, tc.old, tc.new, policydiff.Options{MaxRequests: tc.max, Sample: max(tc.sample, tc.max), Seed: 3})
			if rd.Differs != tc.differs || rd.Exhaustive != tc.exhaustive || rd.Identical != tc.identical {
				t.Fatalf("differs %v exhaustive %v identical %v, want %v %v %v (%+v)", rd.Differs, rd.Exhaustive, rd.Identical, tc.differs, tc.exhaustive, tc.identical, rd)
			}
			if !rd.Exhaustive && len(rd.NotExhaustive) == 0 {
				t.Errorf("not exhaustive without a reason")
			}
			if tc.conditions == nil {
				return
			}
			var got []string
			for _, d := range rd.Differences {
				got = append(got, d.Condition+": "+d.Old+" → "+d.New)
			}
			if strings.Join(got, "\n") != strings.Join(tc.conditions, "\n") {
				t.Errorf("conditions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.conditions, "\n"))
			}
		})
	}
}

// The blueprint's restriction (raw Rego over data.json, in bundles/glance)
// against Glance's registered download_image: only members lose access,
// only to images with a restricted billing code, and the Rego is
// enumerated exhaustively.
func TestBlueprintAgainstDefaults(t *testing.T) {
	ctx := context.Background()
	lo := policydiff.LoadOptions{Bundle: bundles.Options{Options: oslo.Options{EnforceNewDefaults: true}}}
	old, err := policydiff.LoadDefaults(ctx, "../bundles/glance", lo)
	if err != nil {
		t.Fatal(err)
	}
	new, err := policydiff.Load(ctx, "../bundles/glance", lo)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{Rules: []string{"download_image", "get_image"}})
	if err != nil {
		t.Fatal(err)
	}
	dl, get := rep.Rules[0], rep.Rules[1]
	if !dl.Differs || !dl.Exhaustive || len(dl.Differences) == 0 {
		t.Fatalf("download_image: %+v", dl)
	}
	for _, d := range dl.Differences {
		code, _ := d.Example.Target.(map[string]any)["x_billing_code_ntt"].(string)
		roles := d.Example.Credentials.(map[string]any)["roles"].([]any)
		if d.Old != "allow" || d.New != "deny" || (code != "ntt_3251" && code != "ntt_3252") || len(roles) != 1 || roles[0] != "member" ||
			!strings.Contains(d.Condition, "not admin, member") || !strings.Contains(d.Condition, "target.x_billing_code_ntt in {ntt_3251, ntt_3252}") {
			t.Errorf("download_image difference %q %s → %s, example %+v", d.Condition, d.Old, d.New, d.Example)
		}
	}
	if get.Differs || !get.Exhaustive {
		t.Errorf("get_image (written out as registered): %+v", get)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "download_image: ") || !strings.Contains(buf.String(), ": allow → deny") {
		t.Errorf("text report:\n%s", buf.String())
	}
}

// A built bundle decides as its directory does: no rule differs, and
// every rule is decided exhaustively or reaches identical rules.
func TestBuiltBundleAgainstDirectory(t *testing.T) {
	ctx := context.Background()
	b, err := bundles.Load(ctx, bundles.Path("../bundles/glance"), bundles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bundles.Write(&buf, b, nil); err != nil {
		t.Fatal(err)
	}
	built := write(t, t.TempDir(), "glance.tar.gz", buf.String())
	old, err := policydiff.Load(ctx, "../bundles/glance", policydiff.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	new, err := policydiff.Load(ctx, built, policydiff.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rules) < 60 {
		t.Fatalf("%d rules compared", len(rep.Rules))
	}
	for _, rd := range rep.Rules {
		if rd.Differs || !rd.Exhaustive {
			t.Errorf("%s: %+v", rd.Rule, rd)
		}
	}
}

func bundleDir(t *testing.T, policy, rego string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "policy.yaml", policy)
	write(t, dir, "x.rego", "package oslo.policy\n\nimport data.oslo.lib\n\n"+rego)
	return dir
}

// Raw Rego: comparisons of input with constants are enumerated, oslo
// rules it uses by name are followed, anything else is searched and said
// to be not exhaustive.
func TestDiffRawRego(t *testing.T) {
	ctx := context.Background()
	policy := `"r": "rule:x"
"admin_only": "role:admin"`
	for _, tc := range []struct {
		name, old, new string
		exhaustive     bool
		conditions     []string
	}{
		{name: "oslo rule used by name", old: `rules.x := true if { rules.admin_only == true; input.target.k == "v" } else := false`,
			new: `rules.x := true if { rules.admin_only == true } else := false`, exhaustive: true,
			conditions: []string{"admin, target.k ≠ v: deny → allow"}},
		{name: "roles and data", old: `rules.x := true if { "member" in lib.roles; not input.target.k in data.codes } else := false`,
			new: `rules.x := true if { "member" in lib.roles } else := false`, exhaustive: true,
			conditions: []string{"member, target.k in {missing, c1, c2}: deny → allow"}}, // OPA: not (undefined in X) is false
		{name: "holds used by name", old: `rules.x := true if { holds.admin_only; input.target.k == "v" } else := false`,
			new: `rules.x := true if { holds.admin_only } else := false`, exhaustive: true,
			conditions: []string{"admin, target.k ≠ v: deny → allow"}},
		{name: "library call", old: `rules.x := true if { lib.value("k") == "v" } else := false`,
			new: `rules.x := false`, exhaustive: false},
		{name: "equality of two input values", old: `rules.x := true if { input.target.owner == input.credentials.project_id } else := false`,
			new: `rules.x := false`, exhaustive: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := bundleDir(t, policy, tc.old), bundleDir(t, policy, tc.new)
			write(t, a, "data.json", `{"codes": ["c1", "c2"]}`)
			write(t, b, "data.json", `{"codes": ["c1", "c2"]}`)
			old, err := policydiff.Load(ctx, a, policydiff.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			new, err := policydiff.Load(ctx, b, policydiff.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{Rules: []string{"r"}})
			if err != nil {
				t.Fatal(err)
			}
			rd := rep.Rules[0]
			if rd.Exhaustive != tc.exhaustive || (!rd.Exhaustive && len(rd.NotExhaustive) == 0) {
				t.Fatalf("exhaustive %v, want %v: %+v", rd.Exhaustive, tc.exhaustive, rd)
			}
			if tc.conditions == nil {
				return
			}
			var got []string
			for _, d := range rd.Differences {
				got = append(got, d.Condition+": "+d.Old+" → "+d.New)
			}
			if strings.Join(got, "\n") != strings.Join(tc.conditions, "\n") {
				t.Errorf("conditions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.conditions, "\n"))
			}
		})
	}
}

func TestDiffPathPrefix(t *testing.T) {
	rd := diffTexts(t, `"r": "token:x"`, `"r": "token.project.id:x"`, policydiff.Options{})
	if !rd.Differs || rd.Exhaustive || !strings.Contains(strings.Join(rd.NotExhaustive, ";"), "read both as a value and as the object") {
		t.Errorf("%+v", rd)
	}
}

// --against-defaults with a policy file: the defaults alone against the
// file over them; a policy file without --defaults is refused.
func TestAgainstDefaultsOfPolicyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	policy := write(t, dir, "policy.yaml", `"get": "role:admin"`)
	defaults := write(t, dir, "defaults.json", `{"rules": {"get": {"check_str": "role:reader"}, "put": {"check_str": "role:member"}}}`)
	lo := policydiff.LoadOptions{Defaults: defaults}
	old, err := policydiff.LoadDefaults(ctx, policy, lo)
	if err != nil {
		t.Fatal(err)
	}
	new, err := policydiff.Load(ctx, policy, lo)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rules) != 2 || rep.Rules[0].Rule != "get" || !rep.Rules[0].Differs || rep.Rules[1].Differs || !rep.Rules[1].Identical {
		t.Fatalf("%+v", rep.Rules)
	}
	if _, err := policydiff.LoadDefaults(ctx, policy, policydiff.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "--defaults") {
		t.Errorf("no defaults: %v", err)
	}
}

// diffWithHelper diffs rule r of two bundles that share policy and a
// helper package (helper.rego), their x.rego bodies differing.
func diffWithHelper(t *testing.T, policy, helper string, bodies [2]string) policydiff.RuleDiff {
	t.Helper()
	ctx := context.Background()
	var sides []*policydiff.Side
	for _, body := range bodies {
		dir := bundleDir(t, policy, "import data.helper\n\n"+body+"\n")
		write(t, dir, "helper.rego", "package helper\n\n"+helper+"\n")
		s, err := policydiff.Load(ctx, dir, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sides = append(sides, s)
	}
	rep, err := policydiff.Diff(ctx, sides[0], sides[1], policydiff.Options{Rules: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Rules[0]
}

// Rego of another package that a rule of the policy calls is read too.
func TestDiffRegoHelperPackage(t *testing.T) {
	rd := diffWithHelper(t, `"r": "rule:x"`, "owner_ok := true if { input.target.owner == input.credentials.project_id } else := false",
		[2]string{`rules.x := helper.owner_ok`, `rules.x := false`})
	if rd.Exhaustive || !strings.Contains(strings.Join(rd.NotExhaustive, ";"), "helper.rego") {
		t.Errorf("%+v", rd)
	}
}

// An oslo rule used through an import alias from another package is
// followed: its role is in the abstraction.
func TestDiffRegoImportAlias(t *testing.T) {
	rd := diffWithHelper(t, `"r": "rule:x"
"admin_only": "role:admin"`, "import data.oslo.policy as p\n\nok := true if { p.rules.admin_only == true } else := false",
		[2]string{`rules.x := helper.ok`, `rules.x := false`})
	if !rd.Exhaustive || len(rd.Differences) != 1 || rd.Differences[0].Condition != "admin" {
		t.Errorf("%+v", rd)
	}
}

// Rego alone (no oslo sources recorded): searched, never exhaustive.
func TestDiffRegoOnly(t *testing.T) {
	ctx := context.Background()
	var sides []*policydiff.Side
	for _, role := range []string{"admin", "member"} {
		dir := t.TempDir()
		write(t, dir, "x.rego", "package oslo.policy\n\nrules.r := true if { \""+role+"\" in input.credentials.roles } else := false\n\nresult := rules[input.rule]\n\nexact_result := result\n")
		s, err := policydiff.Load(ctx, dir, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sides = append(sides, s)
	}
	rep, err := policydiff.Diff(ctx, sides[0], sides[1], policydiff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rules) != 1 || rep.Rules[0].Rule != "r" || !rep.Rules[0].Differs || rep.Rules[0].Exhaustive ||
		!strings.Contains(strings.Join(rep.Rules[0].NotExhaustive, ";"), "records no oslo sources") {
		t.Errorf("%+v", rep.Rules)
	}
}
