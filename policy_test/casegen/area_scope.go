package casegen

import (
	"fmt"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// scopeArea: reference §7 (scope types, enforce_scope).
func scopeArea() *area {
	a := newArea("scope")
	tokens := []struct {
		name  string
		creds M
	}{
		{"system token", M{"system_scope": "all", "roles": L{"admin"}}},
		{"domain token", M{"domain_id": "d1", "roles": L{"admin"}}},
		{"project token", M{"project_id": "p1", "roles": L{"admin"}}},
		{"no project at all (still project scope)", M{"roles": L{"admin"}}},
		{"creds['system'] directly", M{"system": "all", "roles": L{"admin"}}},
		{"system_scope and domain_id (system wins)", M{"system_scope": "all", "domain_id": "d1", "roles": L{"admin"}}},
		{"empty system_scope, domain_id set", M{"system_scope": "", "domain_id": "d1", "roles": L{"admin"}}},
		{"empty domain_id (project scope)", M{"domain_id": "", "project_id": "p1", "roles": L{"admin"}}},
		{"null domain_id (project scope)", M{"domain_id": nil, "project_id": "p1", "roles": L{"admin"}}},
	}
	scopeSets := [][]string{{"system"}, {"domain"}, {"project"}, {"system", "project"}, {"domain", "project"}, {"system", "domain", "project"}}
	for _, es := range []bool{false, true} {
		for _, st := range scopeSets {
			for _, tk := range tokens {
				for _, rule := range []string{"@", "!"} {
					c := en(R("r", rule), "r", nil, tk.creds)
					c.Conf = map[string]bool{"enforce_scope": es}
					c.ScopeTypes = map[string][]string{"r": st}
					a.add(fmt.Sprintf("§7 scope_types [%s], enforce_scope=%v, %s, rule %s", strings.Join(st, ","), es, tk.name, rule), c)
				}
			}
		}
	}
	// do_raise: InvalidScope vs PolicyNotAuthorized.
	for _, es := range []bool{false, true} {
		for _, rule := range []string{"@", "!"} {
			c := withRaise(en(R("r", rule), "r", nil, M{"project_id": "p1"}))
			c.Conf = map[string]bool{"enforce_scope": es}
			c.ScopeTypes = map[string][]string{"r": {"system"}}
			a.add(fmt.Sprintf("§7 do_raise, scope mismatch, enforce_scope=%v, rule %s -> InvalidScope only when enforced", es, rule), c)
		}
	}
	// Scope is checked by the REQUESTED name only.
	via := en(R("r", "@", "s", "rule:r"), "s", nil, M{"project_id": "p1"})
	via.Conf = map[string]bool{"enforce_scope": true}
	via.ScopeTypes = map[string][]string{"r": {"system"}}
	a.add("§6.5/§7 rules reached via rule: are not scope-checked", via)
	direct := via
	direct.Rule = "r"
	a.add("§7 the same rule enforced directly is scope-checked", direct)
	unk := en(R("default", "@"), "u", nil, M{"project_id": "p1"})
	unk.Conf = map[string]bool{"enforce_scope": true}
	unk.ScopeTypes = map[string][]string{"u": {"system"}}
	a.add("§7 unknown name registered with scope_types: default rule found, then the scope check fails", unk)
	unk2 := unk
	unk2.Creds = M{"system_scope": "all"}
	a.add("§7 unknown name registered with scope_types: scope ok -> default rule", unk2)
	miss := en(R("x", "@"), "u", nil, M{"project_id": "p1"})
	miss.Conf = map[string]bool{"enforce_scope": true}
	miss.ScopeTypes = map[string][]string{"u": {"system"}}
	miss.DefaultRule = oracle.Null()
	a.add("§7 rule missing and no default: KeyError -> False before any scope check", withRaise(miss))
	empty := en(oracle.Rules{}, "r", nil, M{"project_id": "p1"})
	empty.Conf = map[string]bool{"enforce_scope": true}
	empty.ScopeTypes = map[string][]string{"r": {"system"}}
	a.add("§7 empty rule map -> False before the scope check (do_raise: PolicyNotAuthorized)", withRaise(empty))
	// Scope check happens before evaluation: a raising rule is not evaluated.
	rz := en(R("r", "class:x"), "r", nil, M{"project_id": "p1"})
	rz.Conf = map[string]bool{"enforce_scope": true}
	rz.ScopeTypes = map[string][]string{"r": {"system"}}
	a.add("§7 scope failure returns before evaluating a raising rule", rz)
	rz2 := rz
	rz2.Conf = map[string]bool{"enforce_scope": false}
	a.add("§7 enforce_scope=false: the raising rule is evaluated", rz2)
	// system_scope mapping happens before the scope check.
	m := en(R("r", "@"), "r", nil, M{"system_scope": "all"})
	m.Conf = map[string]bool{"enforce_scope": true}
	m.ScopeTypes = map[string][]string{"r": {"project"}}
	a.add("§6.3/§7 system_scope makes the token system-scoped", m)
	// Scope with a list-format rule in the map.
	l := en(R("r", L{L{"role:admin"}}), "r", nil, M{"domain_id": "d1", "roles": L{"admin"}})
	l.Conf = map[string]bool{"enforce_scope": true}
	l.ScopeTypes = map[string][]string{"r": {"domain"}}
	a.add("§7 scope_types on a list-format rule", l)
	return a
}
