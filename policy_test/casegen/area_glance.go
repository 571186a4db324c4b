package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// glancePolicyYAML is shared/glance-peer/policy.yaml (the blueprint example
// deployed on the live Zed glance peer).
const glancePolicyYAML = `# Blueprint restrict-downloading-images-protected-properties example
# (commit 0656386e9), adapted. Everything else falls back to policy-in-code
# defaults (legacy mode: enforce_new_defaults=false => "<new> or rule:default",
# and default is "" => effectively allow).
"context_is_admin": "role:admin"
"default": ""
"restricted": "not ('test_key':%(test_key)s and role:_member_)"
"download_image": "role:admin or rule:restricted"
`

// glanceArea: the Glance "restricted download" policy (glance-download.md
// §1.1, §3.2, §5; seeds/glance-restrict-download-*).
func glanceArea() *area {
	a := newArea("glance")
	personas := []struct {
		name  string
		roles []string
	}{
		{"admin", []string{"admin"}},
		{"member", []string{"member"}},
		{"reader", []string{"reader"}},
		{"_member_", []string{"_member_"}},
		{"_Member_ (case)", []string{"_Member_"}},
		{"_member_+admin", []string{"_member_", "admin"}},
		{"member (blueprint role)", []string{"member", "reader"}},
		{"no roles", nil},
	}
	image := func(extra M) M {
		t := M{
			"id": "c08308b4-0000-4000-8000-000000000001", "image_id": "c08308b4-0000-4000-8000-000000000001",
			"owner": "p-owner", "project_id": "p-owner", "visibility": "private", "status": "active",
			"protected": false, "size": N("10"), "min_disk": N("0"), "checksum": nil,
		}
		for k, v := range extra {
			t[k] = v
		}
		return t
	}
	markers := []struct {
		name   string
		target M
	}{
		{"marker present (test_key=test_key)", image(M{"test_key": "test_key", "x_billing_code_ntt": "ntt_3251", "target.x_billing_code_ntt": "ntt_3251"})},
		{"marker absent", image(nil)},
		{"marker other value (foo)", image(M{"test_key": "foo", "x_billing_code_ntt": "other", "target.x_billing_code_ntt": "other"})},
		{"marker null", image(M{"test_key": nil, "x_billing_code_ntt": nil, "target.x_billing_code_ntt": nil})},
		{"marker differs in case (TEST_KEY)", image(M{"test_key": "TEST_KEY", "x_billing_code_ntt": "NTT_3251", "target.x_billing_code_ntt": "NTT_3251"})},
	}
	creds := func(rs []string) M {
		l := L{}
		for _, r := range rs {
			l = append(l, r)
		}
		return M{"roles": l, "user_id": "u1", "project_id": "p-owner", "domain_id": nil, "system_scope": nil, "is_admin_project": true}
	}
	variants := []struct {
		name  string
		rules oracle.Rules
	}{
		{"commit 0656386e9 example", R("context_is_admin", "role:admin", "default", "", "restricted", "not ('test_key':%(test_key)s and role:_member_)", "download_image", "role:admin or rule:restricted")},
		{"blueprint text", R("restricted", "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)", "download_image", "role:admin or rule:restricted")},
		{"zh spec: unquoted kind is a creds path", R("restricted", "not (ntt_3251:%(x_billing_code_ntt)s and role:member)", "download_image", "role:admin or rule:restricted")},
		{"zh spec: target.-prefixed key (flattened)", R("restricted", "not (ntt_3251:%(target.x_billing_code_ntt)s and role:member)", "download_image", "role:admin or rule:restricted")},
	}
	for _, v := range variants {
		for _, m := range markers {
			for _, p := range personas {
				a.add(fmt.Sprintf("glance-download.md §1.1/§5.4 %s; %s; %s", v.name, m.name, p.name), en(v.rules, "download_image", m.target, creds(p.roles)))
			}
		}
	}
	// The live policy.yaml through real file loading.
	for _, m := range markers {
		for _, p := range personas {
			c := fileText(glancePolicyYAML, "download_image", creds(p.roles))
			c.Target = m.target
			a.add(fmt.Sprintf("glance-download.md §3.2 shared/glance-peer/policy.yaml (file mode); %s; %s", m.name, p.name), c)
		}
	}
	// rule:restricted missing or misspelt falls back to the default rule.
	mis := []struct {
		rules oracle.Rules
		def   *oracle.NullableString
		note  string
	}{
		{R("default", "", "download_image", "role:admin or rule:restricted"), nil, "restricted missing, default '' -> allow everyone"},
		{R("default", "", "restriced", "not ('test_key':%(test_key)s and role:_member_)", "download_image", "role:admin or rule:restricted"), nil, "restricted misspelt, default '' -> allow everyone"},
		{R("default", "role:admin", "download_image", "role:admin or rule:restricted"), nil, "restricted missing, default role:admin"},
		{R("download_image", "role:admin or rule:restricted"), nil, "restricted missing, no default rule"},
		{R("default", "", "download_image", "role:admin or rule:restricted"), oracle.Null(), "restricted missing, default_rule disabled"},
	}
	for _, m := range mis {
		for _, p := range []int{0, 3, 7} {
			c := en(m.rules, "download_image", markers[0].target, creds(personas[p].roles))
			c.DefaultRule = m.def
			a.add(fmt.Sprintf("glance-download.md §5 %s; %s", m.note, personas[p].name), c)
		}
	}
	// Legacy glance rules that depend on creds glance no longer sends.
	legacy := R("download_image", "tenant:%(owner)s or is_admin:True")
	for _, cr := range []M{creds([]string{"admin"}), {"tenant": "p-owner", "roles": L{}}, {"is_admin": true}} {
		a.add("glance-download.md §6 legacy 'tenant:%(owner)s' needs creds['tenant'] (absent in Zed)", en(legacy, "download_image", markers[1].target, cr))
	}
	// Other glance idioms.
	idioms := []struct {
		rule   string
		target M
		creds  M
		note   string
	}{
		{"'public':%(visibility)s", image(M{"visibility": "public"}), creds(nil), "public image"},
		{"'public':%(visibility)s", image(nil), creds(nil), "private image"},
		{"project_id:%(member_id)s", image(M{"member_id": "p-owner"}), creds(nil), "member_id alias"},
		{"project_id:%(member_id)s", image(M{"member_id": nil}), creds(nil), "member_id None vs project p-owner"},
		{"project_id:%(member_id)s", image(M{"member_id": nil}), M{"project_id": nil}, "member_id None vs creds project None -> True"},
		{"'community':%(visibility)s or 'shared':%(visibility)s", image(M{"visibility": "shared"}), creds(nil), "shared visibility"},
	}
	for _, i := range idioms {
		a.add("glance-download.md §1.2 "+q(i.rule)+": "+i.note, one(i.rule, i.target, i.creds))
	}
	return a
}
