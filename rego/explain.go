package rego

import (
	"context"
	"fmt"
	"strings"

	oparego "github.com/open-policy-agent/opa/v1/rego"

	"github.com/oslorego/oslorego/translate/oslo"
)

// Explanation shows how oslo's evaluation of a rule went, check by check.
type Explanation struct {
	// Steps are the checks evaluated, in order, with short-circuit: checks
	// oslo never reaches are not listed.
	Steps []Step `json:"steps"`
	// Failed are the leaf checks that made the decision a deny (false or
	// an error), deepest rule last.
	Failed []Step `json:"failed,omitempty"`
}

// Step is one evaluated check.
type Step struct {
	Depth int `json:"depth"`
	// Rule is the rule the check belongs to and Origin where that rule is
	// written (file:line).
	Rule   string `json:"rule"`
	Origin string `json:"origin"`
	// Check is the oslo text of the sub-expression (oslo's canonical form).
	Check  string `json:"check"`
	Result string `json:"result"`
}

// String renders the explanation as an indented tree.
func (x *Explanation) String() string {
	var b strings.Builder
	for _, s := range x.Steps {
		fmt.Fprintf(&b, "%s%s = %s", strings.Repeat("  ", s.Depth), s.Check, s.Result)
		if s.Depth == 0 || strings.HasPrefix(s.Check, s.Rule+" ") {
			fmt.Fprintf(&b, "   [%s]", s.Origin)
		}
		b.WriteString("\n")
	}
	for _, f := range x.Failed {
		fmt.Fprintf(&b, "failed: %s = %s (in rule %q at %s)\n", f.Check, f.Result, f.Rule, f.Origin)
	}
	return b.String()
}

// Explain decides the request and explains the decision: which oslo
// sub-expressions were evaluated, what each gave, and which failed.
func (e *Engine) Explain(ctx context.Context, req Request) (Decision, error) {
	in, err := Input(req)
	if err != nil {
		return Decision{Rule: req.Rule, Error: err.Error()}, nil
	}
	d, err := e.DecideInput(ctx, req.Rule, in)
	if err != nil {
		return d, err
	}
	if e.tr == nil {
		return d, fmt.Errorf("explaining %q: the engine was built from compiled modules, without the oslo sources", req.Rule)
	}
	if d.Evaluated == "" {
		return d, nil
	}
	p := e.tr.Policy
	// Every rule reachable from the evaluated one, and its checks.
	reach := []string{d.Evaluated}
	seen := map[string]bool{d.Evaluated: true}
	for i := 0; i < len(reach); i++ {
		oslo.Walk(p.Rule(reach[i]).Check, func(c oslo.Check) {
			if rc, ok := c.(*oslo.RuleCheck); ok {
				if t, ok := e.resolve(rc.Name); ok && !seen[t] {
					seen[t] = true
					reach = append(reach, t)
				}
			}
		})
	}
	var q []string
	index := map[oslo.Check]string{}
	for _, name := range reach {
		for _, n := range e.tr.Nodes(name) {
			if _, dup := index[n.Check]; dup {
				continue
			}
			v := fmt.Sprintf("n%d", len(q))
			index[n.Check] = v
			q = append(q, v+" := "+n.Expr)
		}
	}
	args := []func(*oparego.Rego){
		oparego.Compiler(e.compiler),
		oparego.Imports([]string{"data.oslo.lib"}),
		oparego.Query(strings.Join(q, "; ")),
		oparego.ParsedInput(in),
		oparego.StrictBuiltinErrors(true),
	}
	if e.store != nil {
		args = append(args, oparego.Store(e.store))
	}
	rs, err := oparego.New(args...).Eval(ctx)
	if err != nil {
		return d, fmt.Errorf("explaining %q: %w", req.Rule, err)
	}
	if len(rs) != 1 {
		return d, fmt.Errorf("explaining %q: the explanation query had %d results", req.Rule, len(rs))
	}
	w := &explainer{e: e, vals: map[oslo.Check]string{}, x: &Explanation{}}
	for c, v := range index {
		w.vals[c] = render(rs[0].Bindings[v])
	}
	root := p.Rule(d.Evaluated)
	if d.Evaluated != req.Rule {
		w.x.Steps = append(w.x.Steps, Step{Rule: req.Rule, Check: fmt.Sprintf("%q is not a rule: the default rule %q decides", req.Rule, d.Evaluated), Result: "-", Origin: root.Origin.String()})
	}
	w.rule(root, 0, map[string]bool{})
	if !d.Allowed {
		if w.vals[root.Check] == "true" {
			w.x.Failed = []Step{{Rule: d.Evaluated, Origin: root.Origin.String(), Check: "scope check: the token's scope is not in the rule's scope_types", Result: "false"}}
		} else {
			w.x.Failed = w.blame(root, root.Check, map[string]bool{root.Name: true})
		}
	}
	d.Explanation = w.x
	return d, nil
}

func render(v any) string {
	switch t := v.(type) {
	case bool:
		if t {
			return "true"
		}
		return "false"
	case map[string]any:
		if msg, ok := t["error"].(string); ok {
			return "error: " + msg
		}
	}
	return fmt.Sprintf("%v", v)
}

type explainer struct {
	e    *Engine
	vals map[oslo.Check]string
	x    *Explanation
}

func (w *explainer) rule(r *oslo.Rule, depth int, onPath map[string]bool) {
	w.x.Steps = append(w.x.Steps, Step{Depth: depth, Rule: r.Name, Origin: r.Origin.String(), Check: r.Name + " := " + r.Check.String(), Result: w.vals[r.Check]})
	if onPath[r.Name] {
		return
	}
	onPath[r.Name] = true
	w.check(r, r.Check, depth+1, onPath)
	delete(onPath, r.Name)
}

// check lists the checks below c that oslo evaluates, in order.
func (w *explainer) check(r *oslo.Rule, c oslo.Check, depth int, onPath map[string]bool) {
	switch n := c.(type) {
	case *oslo.AndCheck:
		w.children(r, n.Rules, "false", depth, onPath)
	case *oslo.OrCheck:
		w.children(r, n.Rules, "true", depth, onPath)
	case *oslo.NotCheck:
		w.visit(r, n.Rule, depth, onPath)
	case *oslo.RuleCheck:
		// Shown by the referenced rule's own step (see visit).
	default:
		if depth == 1 {
			w.x.Steps = append(w.x.Steps, Step{Depth: depth, Rule: r.Name, Origin: r.Origin.String(), Check: c.String(), Result: w.vals[c]})
		}
	}
}

func (w *explainer) children(r *oslo.Rule, kids []oslo.Check, stop string, depth int, onPath map[string]bool) {
	for _, k := range kids {
		w.visit(r, k, depth, onPath)
		if kv := w.vals[k]; kv == stop || strings.HasPrefix(kv, "error") {
			return
		}
	}
}

func (w *explainer) visit(r *oslo.Rule, c oslo.Check, depth int, onPath map[string]bool) {
	if rc, ok := c.(*oslo.RuleCheck); ok {
		if t, ok := w.e.resolve(rc.Name); ok {
			w.rule(w.e.tr.Policy.Rule(t), depth, onPath)
			return
		}
	}
	w.x.Steps = append(w.x.Steps, Step{Depth: depth, Rule: r.Name, Origin: r.Origin.String(), Check: c.String(), Result: w.vals[c]})
	w.check(r, c, depth+1, onPath)
}

// blame returns the leaf checks that made c not true: the first failing
// operand of an and, every operand of a failed or, the referenced rule of
// a rule: check. A failed "not X" is blamed on itself.
func (w *explainer) blame(r *oslo.Rule, c oslo.Check, onPath map[string]bool) []Step {
	if w.vals[c] == "true" {
		return nil
	}
	switch n := c.(type) {
	case *oslo.AndCheck:
		for _, k := range n.Rules {
			if w.vals[k] != "true" {
				return w.blame(r, k, onPath)
			}
		}
	case *oslo.OrCheck:
		var out []Step
		for _, k := range n.Rules {
			out = append(out, w.blame(r, k, onPath)...)
			if strings.HasPrefix(w.vals[k], "error") {
				break
			}
		}
		return out
	case *oslo.RuleCheck:
		if t, ok := w.e.resolve(n.Name); ok && !onPath[t] {
			tr := w.e.tr.Policy.Rule(t)
			onPath[t] = true
			defer delete(onPath, t)
			return w.blame(tr, tr.Check, onPath)
		}
	}
	return []Step{{Rule: r.Name, Origin: r.Origin.String(), Check: c.String(), Result: w.vals[c]}}
}
