package casegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// MaxRealRules is how many rules RealPolicies enforces per file at most;
// larger files get MaxRealRules rules spread evenly over the file order.
const MaxRealRules = 150

// Cases per selected rule of a plain file (6 distinct personas). Meta
// files also get 6 per rule: 2+1+1+2 personas over 4 conf variants.
const realPlainPerRule = 6

// persona is a credential set as services build them
// (oslo.context to_policy_values() plus is_admin, tenant_id and keystone's
// token data).
type persona struct {
	name  string
	creds M
}

func tokenFor(user, userDomain string, project, projectDomain, domain any, system bool, roleNames ...string) M {
	rl := L{}
	for _, r := range roleNames {
		rl = append(rl, M{"name": r})
	}
	t := M{"user": M{"id": user, "domain": M{"id": userDomain}}, "roles": rl}
	if project != nil {
		t["project"] = M{"id": project, "domain": M{"id": projectDomain}}
	}
	if domain != nil {
		t["domain"] = M{"id": domain}
	}
	if system {
		t["system"] = M{"all": true}
	}
	return t
}

func mkPersona(name, user, userDomain string, project, projectDomain, domain any, system, isAdmin, adminProject bool, roleNames ...string) persona {
	rl := L{}
	for _, r := range roleNames {
		rl = append(rl, r)
	}
	var sys any
	if system {
		sys = "all"
	}
	var tenant any = project
	c := M{
		"user_id": user, "user_domain_id": userDomain,
		"project_id": project, "tenant_id": tenant, "project_domain_id": projectDomain,
		"domain_id": domain, "system_scope": sys,
		"roles": rl, "is_admin": isAdmin, "is_admin_project": adminProject,
		"token": tokenFor(user, userDomain, project, projectDomain, domain, system, roleNames...),
	}
	return persona{name, c}
}

// optionalCreds are persona keys that a case only carries when one of the
// reachable rules mentions them (no check can read a key whose name does
// not occur in the rules, so dropping it cannot change a decision).
var optionalCreds = []string{"token", "tenant_id", "user_domain_id", "project_domain_id", "is_admin_project"}

// credsFor returns the persona's creds without the optional keys the rule
// texts do not mention.
func credsFor(p persona, texts []string) M {
	all := strings.Join(texts, "\n")
	c := M{}
	for k, v := range p.creds {
		c[k] = v
	}
	for _, k := range optionalCreds {
		if !strings.Contains(all, k) {
			delete(c, k)
		}
	}
	return c
}

// Personas used by RealPolicies.
var personas = []persona{
	mkPersona("cloud admin (is_admin, admin project)", "u-admin", "default", "p-admin", "default", nil, false, true, true, "admin", "member", "reader"),
	mkPersona("project member (p1)", "u1", "d1", "p1", "d1", nil, false, false, false, "member", "reader"),
	mkPersona("project reader (p1)", "u1r", "d1", "p1", "d1", nil, false, false, false, "reader"),
	mkPersona("other-project member (p2)", "u2", "d2", "p2", "d2", nil, false, false, false, "member", "reader"),
	mkPersona("system admin", "u-sys", "default", nil, nil, nil, true, false, false, "admin", "member", "reader"),
	mkPersona("system reader", "u-sysr", "default", nil, nil, nil, true, false, false, "reader"),
	mkPersona("domain admin (d1)", "u-dadmin", "d1", nil, nil, "d1", false, false, false, "admin", "member", "reader"),
	mkPersona("no roles (p1)", "u1", "d1", "p1", "d1", nil, false, false, false),
	mkPersona("service (p-service)", "u-svc", "default", "p-service", "default", nil, false, false, false, "service"),
}

// scenario is what a target describes; target keys are filled by suffix.
type scenario struct {
	name                  string
	project, user, domain any
	visibility, roleName  string
	roleDomain            any
}

var scenarios = []scenario{
	{"target p1/u1/d1 private", "p1", "u1", "d1", "private", "member", nil},
	{"target p2/u2/d2 private", "p2", "u2", "d2", "private", "admin", "d2"},
	{"target p3/u3/d1 public", "p3", "u3", "d1", "public", "reader", "d1"},
	{"target p-admin/u-admin/default shared", "p-admin", "u-admin", "default", "shared", "manager", nil},
}

// targetValue picks the scenario value for a (possibly flattened) target key.
func (s scenario) targetValue(key string) any {
	k := strings.ToLower(key)
	switch {
	case k == "visibility" || strings.HasSuffix(k, ".visibility"):
		return s.visibility
	case strings.HasSuffix(k, "role.name"):
		return s.roleName
	case strings.HasSuffix(k, "role.domain_id") || strings.HasSuffix(k, "prior_role.domain_id"):
		return s.roleDomain
	case strings.Contains(k, "domain"):
		return s.domain
	case strings.Contains(k, "project") || strings.Contains(k, "tenant") || k == "owner" || strings.HasSuffix(k, "member_id"):
		return s.project
	case strings.Contains(k, "user"):
		return s.user
	case k == "quota_class":
		return "default"
	}
	return "x-" + key
}

var (
	ruleRefRe   = regexp.MustCompile(`rule:([^\s()]+)`)
	formatKeyRe = regexp.MustCompile(`%\(([^)]*)\)`)
)

// stringsIn returns every string inside a JSON value (dict keys included).
func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k := range x {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return nil
}

func refsIn(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, m := range ruleRefRe.FindAllStringSubmatch(t, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func formatKeys(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, m := range formatKeyRe.FindAllStringSubmatch(t, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// closure returns the names reachable from start through rule: references,
// plus the default rule "default" and what it reaches. texts(name) gives
// the rule's strings, ok=false when the name is not defined.
func closure(start string, texts func(string) ([]string, bool)) map[string]bool {
	seen := map[string]bool{}
	queue := []string{start, "default"}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		ts, ok := texts(n)
		if !ok {
			continue
		}
		seen[n] = true
		queue = append(queue, refsIn(ts...)...)
	}
	return seen
}

// pick returns the indices of the rules enforced for a file with n rules.
func pick(n int) []int {
	if n <= MaxRealRules {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, MaxRealRules)
	for i := range out {
		out[i] = i * n / MaxRealRules
	}
	return out
}

// buildTarget fills the referenced keys (plus project_id and user_id) from
// the scenario, with sorted keys.
func buildTarget(s scenario, keys []string) M {
	t := M{"project_id": s.targetValue("project_id"), "user_id": s.targetValue("user_id")}
	for _, k := range keys {
		t[k] = s.targetValue(k)
	}
	return t
}

func areaNameFor(file string) string {
	stem := strings.TrimSuffix(filepath.Base(file), ".json")
	return "real-" + strings.ReplaceAll(stem, ".", "-")
}

// RealPolicies builds cases from every *.json file of policiesDir (sorted by
// name):
//
//   - plain policy maps (<p>.json, legacy and list-format files,
//     <p>.effective-legacy.json) are enforced in enforcer mode with the
//     file's rules in file order;
//   - <p>.meta.json (registered defaults) are enforced in file mode with an
//     empty policy file and the defaults registered, under four conf
//     variants (defaults, i.e. new OR deprecated; enforce_new_defaults;
//     enforce_scope; both).
//
// Every rule is enforced (files with more than MaxRealRules rules: that many,
// spread evenly). To keep the corpus small, each case carries only the rules
// the enforced rule can reach (rule: references, transitively, plus the
// "default" rule and what it reaches) — evaluation never looks at any other
// rule, so the decision is the same as with the whole file — and targets
// carry only the keys the reachable rules format (plus project_id and
// user_id). Personas and target scenarios rotate deterministically.
func RealPolicies(policiesDir string) ([]Area, error) {
	files, err := filepath.Glob(filepath.Join(policiesDir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("casegen: no *.json policy files in %s", policiesDir)
	}
	sort.Strings(files)
	var out []Area
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var a Area
		if strings.HasSuffix(f, ".meta.json") {
			a, err = metaArea(f, data)
		} else {
			a, err = plainArea(f, data)
		}
		if err != nil {
			return nil, fmt.Errorf("casegen: %s: %w", f, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func plainArea(file string, data []byte) (Area, error) {
	var rules oracle.Rules
	if err := json.Unmarshal(data, &rules); err != nil {
		return Area{}, err
	}
	rules = rules.Dict()
	vals := map[string][]string{}
	for _, e := range rules {
		v, err := oracle.DecodeValue(e.Value)
		if err != nil {
			return Area{}, err
		}
		vals[e.Name] = stringsIn(v)
	}
	texts := func(n string) ([]string, bool) { t, ok := vals[n]; return t, ok }
	a := newArea(areaNameFor(file))
	base := filepath.Base(file)
	for i, idx := range pick(len(rules)) {
		name := rules[idx].Name
		reach := closure(name, texts)
		var sub oracle.Rules
		var keys, all []string
		for _, e := range rules {
			if reach[e.Name] {
				sub = append(sub, e)
				keys = append(keys, formatKeys(vals[e.Name]...)...)
				all = append(all, vals[e.Name]...)
			}
		}
		for k := 0; k < realPlainPerRule; k++ {
			p := personas[(i+k)%len(personas)]
			s := scenarios[(i*5+k*3)%len(scenarios)]
			a.add(fmt.Sprintf("§14 %s: %s; %s; %s", base, name, p.name, s.name),
				en(sub, name, buildTarget(s, keys), credsFor(p, all)))
		}
	}
	return a.area(), nil
}

type metaRule struct {
	CheckStr       string   `json:"check_str"`
	ScopeTypes     []string `json:"scope_types"`
	DeprecatedRule *struct {
		Name     string `json:"name"`
		CheckStr string `json:"check_str"`
	} `json:"deprecated_rule"`
	DeprecatedForRemoval bool `json:"deprecated_for_removal"`
}

func metaArea(file string, data []byte) (Area, error) {
	var top struct {
		Rules json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return Area{}, err
	}
	var order oracle.Rules // only for the key order
	if err := json.Unmarshal(top.Rules, &order); err != nil {
		return Area{}, err
	}
	order = order.Dict()
	defs := map[string]metaRule{}
	for _, e := range order {
		var m metaRule
		dec := json.NewDecoder(bytes.NewReader(e.Value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return Area{}, fmt.Errorf("rule %s: %w", e.Name, err)
		}
		defs[e.Name] = m
	}
	texts := func(n string) ([]string, bool) {
		m, ok := defs[n]
		if !ok {
			return nil, false
		}
		t := []string{m.CheckStr}
		if m.DeprecatedRule != nil {
			t = append(t, m.DeprecatedRule.CheckStr)
		}
		return t, true
	}
	confs := []struct {
		conf     map[string]bool
		name     string
		personas int
	}{
		{nil, "legacy: new OR old", 2},
		{map[string]bool{"enforce_new_defaults": true}, "enforce_new_defaults", 1},
		{map[string]bool{"enforce_scope": true}, "enforce_scope", 1},
		{map[string]bool{"enforce_new_defaults": true, "enforce_scope": true}, "enforce_scope+enforce_new_defaults", 2},
	}
	a := newArea(areaNameFor(file))
	base := filepath.Base(file)
	for i, idx := range pick(len(order)) {
		name := order[idx].Name
		reach := closure(name, texts)
		var reg []oracle.Registered
		var keys, all []string
		for _, e := range order {
			if !reach[e.Name] {
				continue
			}
			m := defs[e.Name]
			r := oracle.Registered{Name: e.Name, CheckStr: m.CheckStr, ScopeTypes: m.ScopeTypes, DeprecatedForRemoval: m.DeprecatedForRemoval}
			if m.DeprecatedForRemoval {
				r.DeprecatedReason, r.DeprecatedSince = "reason", "X"
			}
			if m.DeprecatedRule != nil {
				r.DeprecatedRule = &oracle.DeprecatedRule{Name: m.DeprecatedRule.Name, CheckStr: m.DeprecatedRule.CheckStr}
			}
			reg = append(reg, r)
			t, _ := texts(e.Name)
			keys = append(keys, formatKeys(t...)...)
			all = append(all, t...)
		}
		slot := 0
		for _, cf := range confs {
			for k := 0; k < cf.personas; k++ {
				p := personas[(i+slot)%len(personas)]
				s := scenarios[(i*5+slot*3)%len(scenarios)]
				slot++
				cs := oracle.Case{Mode: "file", Rules: oracle.Rules{}, Registered: reg, Rule: name, Target: buildTarget(s, keys), Creds: credsFor(p, all), Conf: cf.conf}
				a.add(fmt.Sprintf("§14/§9 %s (registered defaults, empty file, %s): %s; %s; %s", base, cf.name, name, p.name, s.name), cs)
			}
		}
	}
	return a.area(), nil
}

// literalKeyRe finds 'literal':%(key)s checks, whose literal a random
// request sometimes puts in the target.
var literalKeyRe = regexp.MustCompile(`'([^']*)':%\(([^)]*)\)s`)

// requestRoles are the roles RealRequest adds or removes.
var requestRoles = []string{"admin", "member", "reader", "manager", "service", "Admin", "other"}

// RealRequest draws a random request for rules whose texts are given: a
// persona's credentials and a scenario's target (as RealPolicies builds
// them, with the keys the texts format), then perturbed: target keys
// dropped or taken from another scenario or from a 'literal':%(key)s of
// the texts, roles added and removed, is_admin and the scope changed.
func RealRequest(r *rand.Rand, texts []string) (target, creds M) {
	p := personas[r.IntN(len(personas))]
	creds = credsFor(p, texts)
	roles := L{}
	for _, x := range creds["roles"].(L) {
		if !chance(r, 0.15) {
			roles = append(roles, x)
		}
	}
	for chance(r, 0.3) {
		roles = append(roles, pickS(r, requestRoles))
	}
	creds["roles"] = roles
	if chance(r, 0.2) {
		creds["is_admin"] = chance(r, 0.5)
	}
	if chance(r, 0.1) {
		creds["system_scope"] = "all"
	}
	if chance(r, 0.1) {
		delete(creds, "project_id")
	}
	keys := formatKeys(texts...)
	target = buildTarget(scenarios[r.IntN(len(scenarios))], keys)
	for _, k := range keys {
		switch {
		case chance(r, 0.15):
			delete(target, k)
		case chance(r, 0.15):
			target[k] = scenarios[r.IntN(len(scenarios))].targetValue(k)
		}
	}
	for _, m := range literalKeyRe.FindAllStringSubmatch(strings.Join(texts, "\n"), -1) {
		if chance(r, 0.3) {
			target[m[2]] = m[1]
		}
	}
	return target, creds
}
