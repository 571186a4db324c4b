package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// depReg is a registered default "new" (check newCheck) deprecating
// oldName (check oldCheck).
func depReg(name, newCheck, oldName, oldCheck string) oracle.Registered {
	return oracle.Registered{Name: name, CheckStr: newCheck, DeprecatedRule: &oracle.DeprecatedRule{Name: oldName, CheckStr: oldCheck}, DeprecatedReason: "r", DeprecatedSince: "X"}
}

// deprecatedArea: reference §9 (deprecated rules).
func deprecatedArea() *area {
	a := newArea("deprecated")
	personas := []M{roles("new"), roles("old"), roles("custom"), roles()}
	type dc struct {
		file    string
		pd      []jsonRaw
		reg     []oracle.Registered
		rule    string
		headDif bool
		note    string
	}
	renamed := depReg("n", "role:new", "o", "role:old")
	same := depReg("n", "role:new", "n", "role:old")
	base := []dc{
		// 1. renamed + old name overridden
		{`{"o": "role:custom"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 renamed; old name overridden -> the override becomes the new rule"},
		{`{"o": "role:custom"}`, nil, []oracle.Registered{renamed}, "o", false, "9.4 the old name itself is just the file rule"},
		{`{"o": "role:old"}`, nil, []oracle.Registered{renamed}, "n", true, "9.1 4.0.0 quirk: override textually identical to the old default still replaces the new rule (HEAD: new OR old)"},
		{`{"o": "(role:old)"}`, nil, []oracle.Registered{renamed}, "n", true, "9.1 override equivalent to the old default (parenthesised) replaces the new rule"},
		{`{"o": "rule:n"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 generator alias rule:<new> is ignored -> new OR old"},
		{`{"o": "rule:n"}`, nil, []oracle.Registered{renamed}, "o", false, "9.1 enforcing the alias name follows rule:n"},
		{`{"o": "(rule:n)"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 alias compared by str(): '(rule:n)' is 'rule:n'"},
		{`{"o": " rule:n "}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 alias compared by str(): surrounding whitespace ignored"},
		{`{"o": "rule:n or !"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 not exactly the alias -> the override wins (a cycle n -> n!)"},
		{`{"o": "rule:N"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 alias is case-sensitive: rule:N is an override"},
		{`{"o": "role:custom", "n": "role:new"}`, nil, []oracle.Registered{renamed}, "n", false, "9.4 new name also in the file -> the file's new rule wins outright"},
		{`{"o": "role:custom", "n": "!"}`, nil, []oracle.Registered{renamed}, "n", false, "9.4 file's new rule wins (!)"},
		{`{"o": ""}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 old name overridden with '' -> allow everyone"},
		{`{"o": "!"}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 old name overridden with ! -> deny everyone"},
		{`{"o": [["role:custom"]]}`, nil, []oracle.Registered{renamed}, "n", false, "9.1 list-format override of the old name"},
		{`{}`, overlays(M{"o": "role:custom"}), []oracle.Registered{renamed}, "n", false, "9.1 old-name override coming from policy.d"},
		{`{"o": "role:old"}`, overlays(M{"o": "role:custom"}), []oracle.Registered{renamed}, "n", false, "9.1 policy.d override of the old name wins over the main file's"},
		// 2./3. not overridden
		{`{}`, nil, []oracle.Registered{renamed}, "n", false, "9.2 no override, check changed -> new OR old"},
		{`{}`, nil, []oracle.Registered{renamed}, "o", false, "9.4 old name not in the file -> unknown name -> default rule (none)"},
		{`{"default": "role:custom"}`, nil, []oracle.Registered{renamed}, "o", false, "9.4 old name not in the file -> the file's default rule"},
		{`{}`, nil, []oracle.Registered{same}, "n", false, "9.2 same-name deprecation, check changed -> new OR old"},
		{`{"n": "role:custom"}`, nil, []oracle.Registered{same}, "n", false, "9.4 same-name deprecation overridden in the file"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "")}, "n", false, "9.2 old check '' -> new OR @ -> allow everyone"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "@")}, "n", false, "9.2 old check '@' -> allow everyone"},
		{`{}`, nil, []oracle.Registered{depReg("n", "", "o", "role:old")}, "n", false, "9.2 new check '' -> allow everyone"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "role:new")}, "n", false, "9.3 identical check strings -> new only"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "role:new ")}, "n", false, "9.2 check strings differ only by a space -> OR of equivalent checks"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "!")}, "n", false, "9.2 old check ! -> new OR ! = new"},
		{`{}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "role:old or")}, "n", false, "9.2 unparsable old check -> new OR !"},
		{`{}`, nil, []oracle.Registered{depReg("n", "rule:x", "o", "rule:y"), {Name: "x", CheckStr: "role:new"}, {Name: "y", CheckStr: "role:old"}}, "n", false, "9.2 deprecated rule referencing other registered rules"},
		{`{"y": "role:custom"}`, nil, []oracle.Registered{depReg("n", "rule:x", "o", "rule:y"), {Name: "x", CheckStr: "role:new"}, {Name: "y", CheckStr: "role:old"}}, "n", false, "9.2 OR'ed old check follows a file override of a referenced rule"},
		{`{}`, nil, []oracle.Registered{depReg("n", "rule:default", "o", "rule:default")}, "n", false, "9.3 identical 'rule:default' checks"},
		{`{"default": "role:custom"}`, nil, []oracle.Registered{depReg("n", "role:new", "o", "rule:default")}, "n", false, "9.2 old check rule:default follows the file's default"},
		{`{}`, nil, []oracle.Registered{{Name: "default", CheckStr: ""}, depReg("n", "role:new", "o", "rule:default")}, "n", false, "9.2 old check rule:default with default '' -> allow everyone (the Zed glance situation)"},
		{`{}`, nil, []oracle.Registered{{Name: "n", CheckStr: "role:new", DeprecatedRule: &oracle.DeprecatedRule{Name: "o", CheckStr: "role:old"}, DeprecatedForRemoval: true, DeprecatedReason: "gone", DeprecatedSince: "Z"}}, "n", false, "9.5 deprecated_for_removal plus deprecated_rule"},
	}
	for _, d := range base {
		for _, conf := range []map[string]bool{nil, {"enforce_new_defaults": true}} {
			for _, p := range personas {
				c := oracle.Case{Mode: "file", PolicyFileText: sp(d.file), PolicyD: d.pd, Registered: d.reg, Rule: d.rule, Target: M{}, Creds: p, Conf: conf}
				c.HeadDiffers = d.headDif
				a.add(fmt.Sprintf("§%s; file %s; enforce_new_defaults=%v; %v", d.note, d.file, conf != nil, p["roles"]), c)
			}
		}
	}
	// Deprecated + scope_types + enforce_scope.
	sc := oracle.Registered{Name: "n", CheckStr: "role:new", ScopeTypes: []string{"project"}, DeprecatedRule: &oracle.DeprecatedRule{Name: "o", CheckStr: "role:old"}, DeprecatedReason: "r", DeprecatedSince: "X"}
	for _, conf := range []map[string]bool{nil, {"enforce_scope": true}, {"enforce_scope": true, "enforce_new_defaults": true}} {
		for _, cr := range []M{{"roles": L{"old"}, "project_id": "p1"}, {"roles": L{"old"}, "system_scope": "all"}, {"roles": L{"new"}, "domain_id": "d1"}} {
			c := oracle.Case{Mode: "file", PolicyFileText: sp(`{}`), Registered: []oracle.Registered{sc}, Rule: "n", Target: M{}, Creds: cr, Conf: conf}
			a.add(fmt.Sprintf("§9/§7 deprecated rule with scope_types [project]; conf %v; creds %s", conf, string(oracle.MustJSON(cr))), c)
		}
	}
	// Deprecation handled once: enforcing twice in one enforcer is not
	// expressible with the oracle; the OR'ed rule is reached via rule:.
	c := oracle.Case{Mode: "file", PolicyFileText: sp(`{"via": "rule:n"}`), Registered: []oracle.Registered{renamed}, Rule: "via", Target: M{}, Creds: roles("old")}
	a.add("§9 the effective (OR'ed) deprecated rule is what rule:<new> reaches", c)
	c2 := c
	c2.Conf = map[string]bool{"enforce_new_defaults": true}
	a.add("§9 rule:<new> reaches the new check only with enforce_new_defaults", c2)
	return a
}
