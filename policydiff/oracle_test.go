package policydiff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/policydiff"
	"github.com/oslorego/oslorego/translate/oslo"
)

// sideRules reads a JSON policy file as the oracle's ordered rules.
func sideRules(t *testing.T, path string) oracle.Rules {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rules oracle.Rules
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	return rules.Dict()
}

// oracleCase is the oracle's request for one example under one policy.
func oracleCase(rules oracle.Rules, ex policydiff.Difference) oracle.Case {
	return oracle.Case{Rules: rules, Rule: ex.Example.Rule, Target: jsonValue(ex.Example.Target), Creds: jsonValue(ex.Example.Credentials)}
}

// jsonValue round-trips v through JSON as the oracle package reads cases.
func jsonValue(v any) any {
	b, _ := json.Marshal(v)
	out, err := oracle.DecodeValue(b)
	if err != nil {
		panic(err)
	}
	return out
}

func outcome(r oracle.Result) string {
	if r.Allowed && r.Error == "" {
		return "allow"
	}
	return "deny"
}

// checkSound sends every example of rep to the oracle under both policies
// and fails when oslo.policy decides otherwise than the report says.
func checkSound(t *testing.T, ctx context.Context, rep *policydiff.Report, oldRules, newRules oracle.Rules) int {
	t.Helper()
	var cases []oracle.Case
	var exs []policydiff.Difference
	for _, rd := range rep.Rules {
		for _, d := range rd.Differences {
			cases = append(cases, oracleCase(oldRules, d), oracleCase(newRules, d))
			exs = append(exs, d)
		}
	}
	res, err := oracle.Run(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range exs {
		o, n := outcome(res[2*i]), outcome(res[2*i+1])
		if o != d.Old || n != d.New {
			b, _ := json.Marshal(d.Example)
			t.Errorf("%s: diff says %s → %s, oslo.policy says %s → %s (%s %s) for %s", d.Example.Rule, d.Old, d.New, o, n, res[2*i].Error, res[2*i+1].Error, b)
		}
	}
	return len(exs)
}

// TestSoundnessAgainstOracle: every example diff reports for the shared
// legacy and secure-RBAC Glance and Nova policies gets, from oslo.policy
// 4.0.0, exactly the two decisions reported.
func TestSoundnessAgainstOracle(t *testing.T) {
	testenv.Oracle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, pair := range [][]string{
		{"glance-legacy.json", "glance.json", "3"},
		{"nova-legacy.json", "nova.json", "3"},
		{"cinder-legacy.json", "cinder.json", "3"},
		// Keystone: a few rules, one of them sampled (not exhaustive).
		{"keystone-v3cloudsample-legacy.json", "keystone.json", "30", "identity:list_grants"},
	} {
		oldPath, newPath := testenv.Shared(t, "policies", pair[0]), testenv.Shared(t, "policies", pair[1])
		old, err := policydiff.Load(ctx, oldPath, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		new, err := policydiff.Load(ctx, newPath, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A seeded sample of the rules keeps the oracle's part short.
		names := old.Policy.Rules
		rules := pair[3:]
		every, _ := strconv.Atoi(pair[2])
		r := rand.New(rand.NewPCG(16, 1))
		for _, rule := range append(names, new.Policy.Rules...) {
			if r.IntN(every) == 0 {
				rules = append(rules, rule.Name)
			}
		}
		rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{Rules: rules, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		n := checkSound(t, ctx, rep, sideRules(t, oldPath), sideRules(t, newPath))
		t.Logf("%s → %s: %d rules, %d examples checked with oslo.policy", pair[0], pair[1], len(rules), n)
		sampled := 0
		for _, rd := range rep.Rules {
			if !rd.Exhaustive {
				sampled++
			}
		}
		t.Logf("%d of them not exhaustive", sampled)
		if n < 20 {
			t.Errorf("only %d examples: the test proves little", n)
		}
	}
}

// mutation is one single change of a check string.
type mutation struct {
	op   string
	text string
}

var (
	mutRoles    = []string{"admin", "member", "reader", "manager", "service", "other"}
	mutLiterals = []string{"'public'", "'private'", "'shared'", "'community'", "True", "'admin'"}
	mutConsts   = []string{"True", "False", "all", "p1"}
	mutKeys     = []string{"project_id", "user_id", "owner", "member_id", "visibility", "domain_id", "target.user.domain_id", "target.project.domain_id"}
)

// mutate applies one random single mutation to c (drop or add a role,
// swap and/or, add or remove a not, change a literal or a target field,
// replace a rule: reference); ok=false when the drawn one does not apply.
func mutate(r *rand.Rand, c oslo.Check, names []string) (mutation, bool) {
	var nodes []oslo.Check
	oslo.Walk(c, func(n oslo.Check) { nodes = append(nodes, n) })
	at := nodes[r.IntN(len(nodes))]
	ops := []string{"drop", "add-role", "swap", "not", "literal", "field", "rule", "role"}
	op := ops[r.IntN(len(ops))]
	var repl oslo.Check
	switch n := at.(type) {
	case *oslo.AndCheck, *oslo.OrCheck:
		kids, isAnd := junction(n)
		switch op {
		case "swap":
			repl = newJunction(!isAnd, kids)
		case "drop":
			if fewer, ok := dropOne(r, kids); ok {
				repl = newJunction(isAnd, fewer)
			}
		}
	case *oslo.NotCheck:
		if op == "not" {
			repl = n.Rule
		}
	case *oslo.RoleCheck:
		if op == "role" {
			repl = &oslo.RoleCheck{Match: mutRoles[r.IntN(len(mutRoles))]}
		}
	case *oslo.RuleCheck:
		if op == "rule" && len(names) > 0 {
			repl = &oslo.RuleCheck{Name: names[r.IntN(len(names))]}
		}
	case *oslo.GenericCheck:
		_, keyed := oslo.ParseFormat(n.Match).SingleKey()
		literalKind := strings.HasPrefix(n.Kind, "'") || n.Kind == "True" || n.Kind == "None"
		switch {
		case op == "literal" && literalKind:
			repl = &oslo.GenericCheck{Kind: mutLiterals[r.IntN(len(mutLiterals))], Match: n.Match}
		case op == "literal" && !keyed:
			repl = &oslo.GenericCheck{Kind: n.Kind, Match: mutConsts[r.IntN(len(mutConsts))]}
		case op == "field" && keyed:
			repl = &oslo.GenericCheck{Kind: n.Kind, Match: "%(" + mutKeys[r.IntN(len(mutKeys))] + ")s"}
		}
	}
	switch op {
	case "add-role":
		role := &oslo.RoleCheck{Match: mutRoles[r.IntN(len(mutRoles))]}
		if r.IntN(2) == 0 {
			repl = &oslo.AndCheck{Rules: []oslo.Check{at, role}}
		} else {
			repl = &oslo.OrCheck{Rules: []oslo.Check{at, role}}
		}
	case "not":
		if repl == nil {
			repl = &oslo.NotCheck{Rule: at}
		}
	}
	if repl == nil {
		return mutation{}, false
	}
	return mutation{op: op, text: replace(c, at, repl).String()}, true
}

// junction is an and/or check's operands, and whether it is an and.
func junction(c oslo.Check) ([]oslo.Check, bool) {
	if a, ok := c.(*oslo.AndCheck); ok {
		return a.Rules, true
	}
	return c.(*oslo.OrCheck).Rules, false
}

func newJunction(isAnd bool, rules []oslo.Check) oslo.Check {
	if isAnd {
		return &oslo.AndCheck{Rules: rules}
	}
	return &oslo.OrCheck{Rules: rules}
}

// dropOne is rules without one of them, drawn at random; ok=false when
// fewer than two.
func dropOne(r *rand.Rand, rules []oslo.Check) ([]oslo.Check, bool) {
	if len(rules) < 2 {
		return nil, false
	}
	i := r.IntN(len(rules))
	return append(append([]oslo.Check(nil), rules[:i]...), rules[i+1:]...), true
}

// replace is c with node at replaced by repl (c itself is unchanged).
func replace(c, at, repl oslo.Check) oslo.Check {
	if c == at {
		return repl
	}
	switch n := c.(type) {
	case *oslo.AndCheck:
		out := &oslo.AndCheck{}
		for _, r := range n.Rules {
			out.Rules = append(out.Rules, replace(r, at, repl))
		}
		return out
	case *oslo.OrCheck:
		out := &oslo.OrCheck{}
		for _, r := range n.Rules {
			out.Rules = append(out.Rules, replace(r, at, repl))
		}
		return out
	case *oslo.NotCheck:
		return &oslo.NotCheck{Rule: replace(n.Rule, at, repl)}
	}
	return c
}

// closure is every rule deciding name (or check c) can reach in p, with
// the default rule.
func closure(p *oslo.Policy, c oslo.Check, seen map[string]bool) {
	oslo.Walk(c, func(n oslo.Check) {
		rc, ok := n.(*oslo.RuleCheck)
		if !ok {
			return
		}
		if name, ok := p.Resolve(rc.Name); ok && !seen[name] {
			seen[name] = true
			closure(p, p.Rule(name).Check, seen)
		}
	})
}

// TestCompletenessByMutation mutates one check string of a rule of the
// shared real policies at a time and compares diff with random requests
// (casegen.RealRequest) decided by oslo.policy under both: whenever the
// requests find a difference, diff reports one for that rule; whenever
// diff reports none exhaustively, no request finds one. Every example diff
// reports is checked with oslo.policy too. OSLOREGO_MUT_N sets the number
// of mutations, OSLOREGO_MUT_SEED the seed.
func TestCompletenessByMutation(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	n := envInt("OSLOREGO_MUT_N", 160)
	seed := uint64(envInt("OSLOREGO_MUT_SEED", 20261205))
	const perMutation = 40
	// About 0.2 s a mutation on a quiet machine; room for a loaded one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+time.Duration(n)*time.Second)
	defer cancel()
	files := []string{"glance.json", "nova.json", "cinder.json", "keystone.json", "neutron.json", "glance-legacy.json", "nova-legacy.json", "keystone-v3cloudsample-legacy.json"}
	policies := map[string]*oslo.Policy{}
	for _, f := range files {
		p, err := oslo.Load([]string{testenv.Shared(t, "policies", f)}, "", oslo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		policies[f] = p
	}
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	type trial struct {
		file, rule string
		mut        mutation
		rep        *policydiff.RuleDiff
		oldRules   oracle.Rules
		newRules   oracle.Rules
		reqs       [][2]any
		examples   []policydiff.Difference
	}
	var trials []*trial
	for len(trials) < n {
		f := files[r.IntN(len(files))]
		p := policies[f]
		rule := p.Rules[r.IntN(len(p.Rules))]
		if rule.TextIsJSON || rule.Check.String() == "@" && rule.Text == "" {
			continue
		}
		names := make([]string, 0, len(p.Rules))
		for _, x := range p.Rules {
			names = append(names, x.Name)
		}
		mut, ok := mutate(r, rule.Check, names)
		if !ok || mut.text == rule.Check.String() {
			continue
		}
		seen := map[string]bool{rule.Name: true}
		closure(p, rule.Check, seen)
		closure(p, oslo.ParseRule(mut.text), seen)
		if d := p.Options.DefaultRuleName(); p.Rule(d) != nil && !seen[d] {
			seen[d] = true
			closure(p, p.Rule(d).Check, seen)
		}
		var oldRules, newRules oracle.Rules
		var texts []string
		for _, x := range p.Rules {
			if !seen[x.Name] {
				continue
			}
			text := x.Check.String()
			if x.TextIsJSON {
				text = x.Text
			}
			oldRules = append(oldRules, oracle.RuleEntry{Name: x.Name, Value: oracle.MustJSON(text)})
			if x.Name == rule.Name {
				text = mut.text
			}
			newRules = append(newRules, oracle.RuleEntry{Name: x.Name, Value: oracle.MustJSON(text)})
			texts = append(texts, x.Check.String(), text)
		}
		tr := &trial{file: f, rule: rule.Name, mut: mut, oldRules: oldRules, newRules: newRules}
		for i := 0; i < perMutation; i++ {
			target, creds := casegen.RealRequest(r, texts)
			tr.reqs = append(tr.reqs, [2]any{jsonValue(target), jsonValue(creds)})
		}
		i := len(trials)
		oldPath, newPath := filepath.Join(dir, fmt.Sprintf("%d-old.json", i)), filepath.Join(dir, fmt.Sprintf("%d-new.json", i))
		for _, w := range []struct {
			path  string
			rules oracle.Rules
		}{{oldPath, oldRules}, {newPath, newRules}} {
			b, err := json.Marshal(w.rules)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(w.path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old, err := policydiff.Load(ctx, oldPath, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		new, err := policydiff.Load(ctx, newPath, policydiff.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := policydiff.Diff(ctx, old, new, policydiff.Options{Rules: []string{rule.Name}, Seed: seed, MaxRequests: 4000})
		if err != nil {
			t.Fatal(err)
		}
		tr.rep = &rep.Rules[0]
		tr.examples = tr.rep.Differences
		trials = append(trials, tr)
	}
	var cases []oracle.Case
	for _, tr := range trials {
		for _, q := range tr.reqs {
			cases = append(cases, oracle.Case{Rules: tr.oldRules, Rule: tr.rule, Target: q[0], Creds: q[1]}, oracle.Case{Rules: tr.newRules, Rule: tr.rule, Target: q[0], Creds: q[1]})
		}
		for _, d := range tr.examples {
			cases = append(cases, oracleCase(tr.oldRules, d), oracleCase(tr.newRules, d))
		}
	}
	res, err := oracle.Run(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]int{}
	k := 0
	for _, tr := range trials {
		var witness string
		for _, q := range tr.reqs {
			o, nw := outcome(res[k]), outcome(res[k+1])
			k += 2
			if o != nw && witness == "" {
				b, _ := json.Marshal(map[string]any{"target": q[0], "credentials": q[1]})
				witness = fmt.Sprintf("%s → %s for %s", o, nw, b)
			}
		}
		for _, d := range tr.examples {
			o, nw := outcome(res[k]), outcome(res[k+1])
			k += 2
			if o != d.Old || nw != d.New {
				b, _ := json.Marshal(d.Example)
				t.Errorf("%s %s (%s: %s): diff's example says %s → %s, oslo.policy %s → %s: %s", tr.file, tr.rule, tr.mut.op, tr.mut.text, d.Old, d.New, o, nw, b)
			}
		}
		what := fmt.Sprintf("%s %s mutated (%s) to %q", tr.file, tr.rule, tr.mut.op, tr.mut.text)
		switch {
		case witness != "" && !tr.rep.Differs:
			t.Errorf("%s: random requests find a difference (%s) but diff reports none (exhaustive %v, %d requests)", what, witness, tr.rep.Exhaustive, tr.rep.Requests)
		case witness == "" && tr.rep.Differs:
			stats["diff finds a difference the random requests miss"]++
		case witness != "":
			stats["both find a difference"]++
		case tr.rep.Exhaustive:
			stats["neither: diff exhaustive"]++
		default:
			stats["neither: diff not exhaustive"]++
		}
		if tr.rep.Exhaustive {
			stats["exhaustive"]++
		}
	}
	keys := make([]string, 0, len(stats))
	for s := range stats {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	for _, s := range keys {
		t.Logf("%4d %s", stats[s], s)
	}
	t.Logf("%d mutations (seed %d), %d oracle requests", len(trials), seed, len(cases))
	if stats["both find a difference"] < len(trials)/5 {
		t.Errorf("random requests found a difference for only %d of %d mutations: the test proves little", stats["both find a difference"], len(trials))
	}
}

// Scope types, enforced: the token's scope is part of the abstraction,
// and what diff reports about it is what oslo.policy decides.
func TestScopeAgainstOracle(t *testing.T) {
	testenv.Oracle(t)
	ctx := context.Background()
	dir := t.TempDir()
	policy := write(t, dir, "policy.json", `{"default": "role:admin"}`)
	sides := map[string][]string{"old": {"project"}, "new": {"project", "system"}}
	loaded := map[string]*policydiff.Side{}
	for name, scopes := range sides {
		b, _ := json.Marshal(map[string]any{"rules": map[string]any{"r": map[string]any{"check_str": "role:reader or system_scope:all", "scope_types": scopes}}})
		s, err := policydiff.Load(ctx, policy, policydiff.LoadOptions{Options: oslo.Options{EnforceScope: true}, Defaults: write(t, dir, name+".json", string(b))})
		if err != nil {
			t.Fatal(err)
		}
		loaded[name] = s
	}
	rep, err := policydiff.Diff(ctx, loaded["old"], loaded["new"], policydiff.Options{Rules: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	rd := rep.Rules[0]
	if !rd.Differs || !rd.Exhaustive || len(rd.Differences) == 0 {
		t.Fatalf("%+v", rd)
	}
	var cases []oracle.Case
	for _, d := range rd.Differences {
		if !strings.Contains(d.Condition, "credentials.system_scope") || d.Old != "deny" || d.New != "allow" {
			t.Errorf("condition %q: %s → %s", d.Condition, d.Old, d.New)
		}
		for _, name := range []string{"old", "new"} {
			cases = append(cases, oracle.Case{
				Rules: oracle.Rules{{Name: "default", Value: oracle.MustJSON("role:admin")}, {Name: "r", Value: oracle.MustJSON("role:reader or system_scope:all")}},
				Rule:  "r", Target: jsonValue(d.Example.Target), Creds: jsonValue(d.Example.Credentials),
				ScopeTypes: map[string][]string{"r": sides[name]}, Conf: map[string]bool{"enforce_scope": true},
			})
		}
	}
	res, err := oracle.Run(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range rd.Differences {
		if o, n := outcome(res[2*i]), outcome(res[2*i+1]); o != d.Old || n != d.New {
			t.Errorf("%q: diff %s → %s, oslo.policy %s → %s", d.Condition, d.Old, d.New, o, n)
		}
	}
}
