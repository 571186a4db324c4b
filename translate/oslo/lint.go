package oslo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/internal/jsonstr"
	"github.com/oslorego/oslorego/internal/python"
)

// MaxCredsPath is the most dot-separated parts a credentials KIND (a.b.c)
// may have: oslorego denies a deeper path (translate/lib's max_path is the
// same number), and Lint says so.
const MaxCredsPath = 12

// Severity ranks a lint finding.
type Severity string

// Lint severities: an Error is something oslo.policy gets wrong or raises
// on; a Warning is legal but suspicious.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem lint found in a rule.
type Finding struct {
	Severity Severity
	Origin   Origin
	Rule     string
	Message  string
}

func (f Finding) String() string {
	loc := f.Origin.String()
	if f.Origin.Col > 0 {
		loc = fmt.Sprintf("%s:%d", loc, f.Origin.Col)
	}
	return fmt.Sprintf("%s: %s: rule %s: %s", loc, f.Severity, jsonstr.Quote(f.Rule), f.Message)
}

// Lint reports, ahead of time, what makes rules deny or raise unexpectedly:
// parse failures, undefined rule: references, cycles, checks oslo raises
// on, and rules that are always true or can never be true.
func Lint(p *Policy) []Finding {
	var out []Finding
	add := func(sev Severity, r *Rule, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Origin: r.Origin, Rule: r.Name, Message: fmt.Sprintf(format, args...)})
	}
	def := p.Options.DefaultRuleName()
	_, cyclic := p.Components()
	f := &folder{p: p, cyclic: cyclic, memo: map[string]constness{}, budget: maxCycleFolds}
	for _, r := range p.Rules {
		Walk(r.Check, func(c Check) {
			switch n := c.(type) {
			case *FalseCheck:
				switch {
				case n.Whole:
					add(Error, r, "oslo cannot parse %s (%s): the whole rule denies", jsonstr.Quote(r.Text), n.Reason)
				case n.Reason != "":
					add(Error, r, "%s: this check is always false", n.Reason)
				}
			case *RuleCheck:
				if p.Rule(n.Name) != nil {
					return
				}
				if t, ok := p.Resolve(n.Name); ok {
					add(Error, r, "rule:%s is not defined: oslo silently evaluates the default rule %s instead", n.Name, jsonstr.Quote(t))
				} else {
					add(Error, r, "rule:%s is not defined (and there is no default rule): it is always false", n.Name)
				}
			case *BareToken:
				add(Error, r, "the rule is the single token %s: oslo.policy 4.0.0 raises when it is enforced", jsonstr.Quote(n.Text))
			case *RemoteCheck:
				add(Error, r, "%s is a remote check: oslorego cannot decide it offline and denies", n.String())
			case *GenericCheck:
				if lit := python.LiteralEval(n.Kind); lit.Class != python.SyntaxError && lit.Err != "" {
					add(Error, r, "oslorego cannot evaluate the kind %s exactly (%s) and denies", jsonstr.Quote(n.Kind), lit.Err)
				} else if lit.Class == python.SyntaxError {
					add(Error, r, "the kind %s of %s is not valid Python (%s): oslo raises when it is evaluated", jsonstr.Quote(n.Kind), jsonstr.Quote(n.String()), lit.Err)
				} else if lit.Class == python.NotLiteral && len(strings.Split(n.Kind, ".")) > MaxCredsPath {
					add(Error, r, "the credentials path %s is deeper than %d: oslorego denies it", jsonstr.Quote(n.Kind), MaxCredsPath)
				}
				lintFormat(r, n.Match, add)
			case *RoleCheck:
				lintFormat(r, n.Match, add)
			}
		})
		if cyclic[r.Name] {
			add(Error, r, "rule is part of a rule: cycle (%s): oslo raises when the cycle is reached", strings.Join(cycleOf(p, r.Name), " -> "))
		}
		if cyclic[r.Name] {
			continue // whether it raises depends on the request
		}
		switch f.rule(r.Name) {
		case constTrue:
			if r.Text != "" && r.Text != "@" && r.Text != "[]" {
				add(Warning, r, "always true: everyone is allowed")
			}
		case constFalse:
			if r.Text != "!" && r.Text != "[[]]" {
				add(Warning, r, "can never be true: everyone is denied")
			}
		}
	}
	if def != "" && p.Rule(def) == nil && len(p.Rules) > 0 {
		out = append(out, Finding{Severity: Warning, Origin: Origin{Path: strings.Join(p.Sources, ", ")}, Rule: def, Message: "the default rule is not defined: unknown rule names are denied"})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Origin.Path != out[j].Origin.Path {
			return out[i].Origin.Path < out[j].Origin.Path
		}
		return out[i].Origin.Line < out[j].Origin.Line
	})
	return out
}

func lintFormat(r *Rule, match string, add func(Severity, *Rule, string, ...any)) {
	for _, s := range ParseFormat(match).Segs {
		if s.Err != "" {
			add(Error, r, "the match %s: %s", jsonstr.Quote(match), s.Err)
		}
	}
}

// cycleOf returns one cycle through name, for the message.
func cycleOf(p *Policy, name string) []string {
	var path []string
	seen := map[string]bool{}
	var dfs func(n string) bool
	dfs = func(n string) bool {
		path = append(path, n)
		if seen[n] {
			return n == name
		}
		seen[n] = true
		r := p.Rule(n)
		found := false
		Walk(r.Check, func(c Check) {
			if found {
				return
			}
			if rc, ok := c.(*RuleCheck); ok {
				if t, ok := p.Resolve(rc.Name); ok && dfs(t) {
					found = true
				}
			}
		})
		if !found {
			path = path[:len(path)-1]
		}
		return found
	}
	if dfs(name) {
		return path
	}
	return []string{name}
}

type constness int

const (
	constUnknown constness = iota
	constTrue
	constFalse
)

// maxCycleFolds bounds how many times folding enters a rule of a rule:
// cycle, where a rule's value depends on the path that reached it: each
// path would otherwise be walked, exponentially many. Past it, rules are
// not constant (Lint then claims nothing).
const maxCycleFolds = 10000

// folder folds checks to true or false when that does not depend on the
// request (assuming a well-formed target and credentials).
type folder struct {
	p      *Policy
	cyclic map[string]bool
	// memo holds the rules outside cycles already folded: their value
	// does not depend on the path that reached them, and a rule referred
	// to from many places (each level of a diamond of rule: references
	// twice) is folded once.
	memo map[string]constness
	// budget is how many more times a rule of a cycle may be entered;
	// visiting are the rules of cycles on the current path (entering one
	// again is oslo's recursion, not a constant).
	budget   int
	visiting map[string]bool
}

// rule folds the rule name.
func (f *folder) rule(name string) constness {
	if v, ok := f.memo[name]; ok {
		return v
	}
	if f.cyclic[name] {
		if f.visiting[name] || f.budget <= 0 {
			return constUnknown
		}
		f.budget--
		if f.visiting == nil {
			f.visiting = map[string]bool{}
		}
		f.visiting[name] = true
		defer delete(f.visiting, name)
		return f.constant(f.p.Rule(name).Check)
	}
	v := f.constant(f.p.Rule(name).Check)
	f.memo[name] = v
	return v
}

func (f *folder) constant(c Check) constness {
	switch n := c.(type) {
	case *TrueCheck:
		return constTrue
	case *FalseCheck:
		return constFalse
	case *NotCheck:
		switch f.constant(n.Rule) {
		case constTrue:
			return constFalse
		case constFalse:
			return constTrue
		}
	case *AndCheck:
		return f.fold(n.Rules, constFalse)
	case *OrCheck:
		return f.fold(n.Rules, constTrue)
	case *RuleCheck:
		t, ok := f.p.Resolve(n.Name)
		if !ok {
			return constFalse
		}
		return f.rule(t)
	case *GenericCheck:
		lit := python.LiteralEval(n.Kind)
		if s, ok := ParseFormat(n.Match).Const(); ok && lit.Class == python.Literal && lit.Err == "" {
			if s == lit.Str {
				return constTrue
			}
			return constFalse
		}
	}
	return constUnknown
}

// fold is and (absorbing false) or or (absorbing true) over constant rules:
// the absorbing value if any operand has it, the other constant if all do.
func (f *folder) fold(rules []Check, absorbing constness) constness {
	all := constTrue + constFalse - absorbing
	for _, k := range rules {
		switch f.constant(k) {
		case absorbing:
			return absorbing
		case constUnknown:
			all = constUnknown
		}
	}
	return all
}
