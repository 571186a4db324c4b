package rego

import (
	"context"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
)

// holdsPath decides sane input to a safe rule of a translated policy with
// the query data.PKG.holds[NAME], prepared once per rule name, instead of
// data.PKG.result: result's first branch is exactly that rule's holds form
// when lib.sane holds, input.rule is in safe_rules and no scope check
// applies, and going straight to it skips evaluating the dispatch (sane,
// the safe_rules test, the lookup by input.rule), most of a cheap
// decision's cost. Which rules are safe is read from the compiled
// translation (safe_rules), not decided here.
type holdsPath struct {
	pkg ast.Ref // data.PKG
	// safe are the rules whose holds form decides sane input, less those
	// the scope check can deny.
	safe map[string]bool
	// guarded are the rules whose holds form decides sane input only where
	// their credentials walks index objects alone (guarded_rules, less the
	// scoped ones): the native path checks that, OPA's holds form cannot.
	guarded map[string]bool
	e       *Engine
	// queries are the prepared holds queries by rule name (*holdsQuery).
	queries sync.Map
}

type holdsQuery struct {
	once  sync.Once
	query oparego.PreparedEvalQuery
	err   error
}

// newHoldsPath reads safe_rules, guarded_rules (when the translation has
// them: a bundle built before them has not), enforce_scope and scope_types
// from the compiled translation of package pkg; nil when no rule is safe
// or guarded.
func newHoldsPath(ctx context.Context, e *Engine) (*holdsPath, error) {
	pkg, err := ast.ParseRef("data." + e.pkg)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", e.pkg, err)
	}
	settings, err := e.PrepareQuery(ctx, fmt.Sprintf(`{"safe": data.%[1]s.safe_rules, "scope": data.%[1]s.enforce_scope, "scoped": object.keys(data.%[1]s.scope_types)}`, e.pkg))
	if err != nil {
		return nil, err
	}
	v, ok, err := settings.Eval(ctx, ast.NewObject())
	if err != nil || !ok {
		return nil, fmt.Errorf("reading safe_rules: %v (defined: %t)", err, ok)
	}
	m, _ := v.(map[string]any)
	safe := map[string]bool{}
	for _, n := range asStrings(m["safe"]) {
		safe[n] = true
	}
	guarded := map[string]bool{}
	if ref := "data." + e.pkg + ".guarded_rules"; e.Defines(ref) {
		q, err := e.PrepareQuery(ctx, ref)
		if err != nil {
			return nil, err
		}
		v, ok, err := q.Eval(ctx, ast.NewObject())
		if err != nil || !ok {
			return nil, fmt.Errorf("reading guarded_rules: %v (defined: %t)", err, ok)
		}
		for _, n := range asStrings(v) {
			if !safe[n] {
				guarded[n] = true
			}
		}
	}
	if scope, _ := m["scope"].(bool); scope {
		for _, n := range asStrings(m["scoped"]) {
			delete(safe, n)
			delete(guarded, n)
		}
	}
	if len(safe) == 0 && len(guarded) == 0 {
		return nil, nil
	}
	return &holdsPath{pkg: pkg, safe: safe, guarded: guarded, e: e}, nil
}

func asStrings(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// decide answers in, plainly sane input (saneParts) to the safe rule
// name, by the holds form; ok is false when the holds query cannot be
// prepared, and the caller must evaluate result.
func (h *holdsPath) decide(ctx context.Context, name string, in ast.Value) (allowed, ok bool, err error) {
	q, err := h.query(ctx, name)
	if err != nil {
		return false, false, err
	}
	rs, err := q.Eval(ctx, oparego.EvalParsedInput(in))
	if err != nil {
		return false, true, err
	}
	// A holds rule may be false ("!"): result asks for true.
	return len(rs) == 1 && len(rs[0].Expressions) == 1 && rs[0].Expressions[0].Value == true, true, nil
}

func (h *holdsPath) query(ctx context.Context, name string) (oparego.PreparedEvalQuery, error) {
	x, _ := h.queries.LoadOrStore(name, &holdsQuery{})
	q := x.(*holdsQuery)
	q.once.Do(func() {
		// Parsed, not printed: a rule name may hold what a Rego string
		// literal cannot spell as Go prints it (a NUL).
		ref := h.pkg.Append(ast.StringTerm("holds")).Append(ast.StringTerm(name))
		q.query, q.err = h.e.prepareQuery(ctx, oparego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))))
		if q.err != nil {
			q.err = fmt.Errorf("preparing the holds form of %q: %w", name, q.err)
		}
	})
	return q.query, q.err
}

// saneParts is input.rule, target and credentials, and whether the input
// is plainly sane: a rule name, target and credentials objects, and
// credentials roles absent, a string, an object or an array of strings.
// That is lib.sane's test (which also takes a missing target or
// credentials); true here implies lib.sane, and a false only sends the
// decision the longer way.
func saneParts(in ast.Value) (name string, target, creds ast.Object, sane bool) {
	obj, ok := in.(ast.Object)
	if !ok {
		return "", nil, nil, false
	}
	rule, ok := valueOf(obj, keyRule).(ast.String)
	if !ok {
		return "", nil, nil, false
	}
	if target, ok = valueOf(obj, keyTarget).(ast.Object); !ok {
		return "", nil, nil, false
	}
	if creds, ok = valueOf(obj, keyCredentials).(ast.Object); !ok {
		return "", nil, nil, false
	}
	switch roles := valueOf(creds, keyRoles).(type) {
	case nil, ast.String, ast.Object:
	case *ast.Array:
		for i := range roles.Len() {
			if _, ok := roles.Elem(i).Value.(ast.String); !ok {
				return "", nil, nil, false
			}
		}
	default:
		return "", nil, nil, false
	}
	return string(rule), target, creds, true
}

var (
	keyRule        = ast.StringTerm("rule")
	keyTarget      = ast.StringTerm("target")
	keyCredentials = ast.StringTerm("credentials")
	keyRoles       = ast.StringTerm("roles")
)

// valueOf is obj[key], nil when absent.
func valueOf(obj ast.Object, key *ast.Term) ast.Value {
	if t := obj.Get(key); t != nil {
		return t.Value
	}
	return nil
}
