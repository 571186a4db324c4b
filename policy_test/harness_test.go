package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// checkRule is the name a case's "check" is enforced under: oslo enforces
// a Check object directly, which no policy rule can refer to.
const checkRule = "\x00check"

// outcome is what our engine decided for a case.
type outcome struct {
	Allowed bool
	Error   string
}

// kind classifies an outcome like oracle.Result.Outcome.
func (o outcome) kind() string {
	switch {
	case o.Error != "":
		return "error"
	case o.Allowed:
		return "allow"
	}
	return "deny"
}

// harness decides oracle cases with our engine, compiling each distinct
// policy once.
type harness struct {
	mu      sync.Mutex
	engines map[string]engineOrErr
	// keep caches every engine built; without it only the last one is
	// kept. Random cases rarely share a policy, and 10,000 compiled
	// engines held at once need more memory than CI has.
	keep bool
	// probe decides each case a second time through the memo with a
	// target key no rule reads added: a hit, which must be the decision
	// on that whole input.
	probe bool
	// memo counts what the engines' decision memos did; probeHits the
	// probes answered from the memo.
	memo      rego.MemoStats
	probeHits atomic.Int64
}

type engineOrErr struct {
	eng  *rego.Engine
	memo *rego.Memo
	// opa is eng without the native path.
	opa *rego.Engine
	err error
}

// harnessMemo is the decision memo's size per engine in the harness.
const harnessMemo = 1000

// newHarness builds engines per policy; keep says whether to cache them all
// (cases grouped by policy) or only the latest (random cases).
func newHarness(keep bool) *harness {
	return &harness{engines: map[string]engineOrErr{}, keep: keep}
}

func (h *harness) decide(ctx context.Context, c oracle.Case) (outcome, error) {
	eng, err := h.engine(ctx, c)
	if err != nil {
		return outcome{}, err
	}
	if eng.err != nil {
		// oslo could not load this policy: every decision raises.
		return outcome{Error: eng.err.Error()}, nil
	}
	rule := c.Rule
	if len(c.Check) > 0 {
		rule = checkRule
		if name, ok := bareCheck(c); ok {
			rule = name
		}
	}
	// Through JSON, so that a null target stays null and numbers keep
	// their literal text.
	target, err := json.Marshal(c.Target)
	if err != nil {
		return outcome{}, err
	}
	creds, err := json.Marshal(c.Creds)
	if err != nil {
		return outcome{}, err
	}
	in, err := rego.InputJSON(rule, target, creds)
	if err != nil {
		return outcome{}, err
	}
	d, err := eng.eng.DecideInput(ctx, rule, in)
	if err != nil {
		return outcome{}, err
	}
	// The plain boolean holds form and the exact rules must agree.
	x, err := eng.eng.Exact().DecideInput(ctx, rule, in)
	if err != nil {
		return outcome{}, err
	}
	got := outcome{Allowed: d.Allowed, Error: d.Error}
	// The native path decides as OPA's evaluator does.
	o, err := eng.opa.DecideInput(ctx, rule, in)
	if err != nil {
		return outcome{}, err
	}
	if o != d {
		return got, fmt.Errorf("%s: with the native path %+v, without %+v", c.ID, d, o)
	}
	// Deciding through the decision memo, which converts the rule's
	// input footprint alone and may answer from an earlier case,
	// changes nothing.
	if err := h.sameThroughMemo(ctx, eng.memo, rule, target, creds, d); err != nil {
		return got, fmt.Errorf("%s: %w", c.ID, err)
	}
	if exact := (outcome{Allowed: x.Allowed, Error: x.Error}); exact.kind() != got.kind() {
		return got, fmt.Errorf("%s: the holds shortcut says %s, the exact rules %s %q", c.ID, got.kind(), exact.kind(), exact.Error)
	}
	return got, nil
}

func (h *harness) engine(ctx context.Context, c oracle.Case) (engineOrErr, error) {
	key := policyKey(c)
	h.mu.Lock()
	e, ok := h.engines[key]
	h.mu.Unlock()
	if ok {
		return e, nil
	}
	p, err := buildPolicy(c)
	if err != nil {
		e = engineOrErr{err: err}
	} else {
		tr, err := translate.Translate(p, "")
		if err != nil {
			return e, fmt.Errorf("translate: %w", err)
		}
		// One compile: the exact form is a second query on it (Exact).
		eng, err := rego.New(ctx, rego.Translation(tr))
		if err != nil {
			return e, fmt.Errorf("compile: %w", err)
		}
		e = engineOrErr{eng: eng, memo: rego.NewMemo(eng, harnessMemo, &h.memo), opa: eng.WithoutNative()}
	}
	h.mu.Lock()
	if !h.keep {
		clear(h.engines)
	}
	h.engines[key] = e
	h.mu.Unlock()
	return e, nil
}

// policyKey identifies everything of a case that shapes the policy.
func policyKey(c oracle.Case) string {
	k := c
	k.ID, k.Note, k.Rule, k.Target, k.Creds, k.Expect = "", "", "", nil, nil, nil
	b, err := json.Marshal(k)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func options(c oracle.Case) oslo.Options {
	o := oslo.Options{EnforceScope: c.Conf["enforce_scope"], EnforceNewDefaults: c.Conf["enforce_new_defaults"]}
	if c.DefaultRule != nil {
		if c.DefaultRule.Null || c.DefaultRule.Value == "" {
			o.NoDefaultRule = true
		} else {
			o.DefaultRule = c.DefaultRule.Value
		}
	}
	return o
}

// buildPolicy loads the case's policy as oslo would; an error is a policy
// oslo cannot load.
func buildPolicy(c oracle.Case) (*oslo.Policy, error) {
	opts := options(c)
	var layers []*oslo.Layer
	var defaults []oslo.RuleDefault
	switch c.Mode {
	case "", "enforcer":
		raw, err := json.Marshal(c.Rules)
		if err != nil {
			return nil, err
		}
		if c.Rules == nil {
			raw = []byte("{}")
		}
		l, err := oslo.ParseLayer("rules", raw)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	case "file":
		if !c.NoPolicyFile {
			var data []byte
			if c.PolicyFileText != nil {
				data = []byte(*c.PolicyFileText)
			} else {
				var err error
				if data, err = json.Marshal(c.Rules); err != nil {
					return nil, err
				}
				if c.Rules == nil {
					data = []byte("{}")
				}
			}
			l, err := oslo.ParseLayer("policy.json", data)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		for i, raw := range c.PolicyD {
			data := []byte(raw)
			var text string
			if json.Unmarshal(raw, &text) == nil {
				data = []byte(text)
			}
			l, err := oslo.ParseLayer(fmt.Sprintf("policy.d/%02d.yaml", i), data)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		for _, r := range c.Registered {
			d := oslo.RuleDefault{Name: r.Name, CheckStr: r.CheckStr, ScopeTypes: r.ScopeTypes, DeprecatedForRemoval: r.DeprecatedForRemoval}
			if r.DeprecatedRule != nil {
				d.Deprecated = &oslo.DeprecatedRule{Name: r.DeprecatedRule.Name, CheckStr: r.DeprecatedRule.CheckStr}
			}
			defaults = append(defaults, d)
		}
	default:
		return nil, fmt.Errorf("unknown mode %q", c.Mode)
	}
	p, err := oslo.Build(layers, defaults, opts)
	if err != nil {
		return nil, err
	}
	// The oracle registers scope types without merging defaults
	// (set_rules with use_conf=False).
	p.RegisterScopes(c.ScopeTypes)
	if _, bare := bareCheck(c); len(c.Check) > 0 && !bare {
		key, _ := json.Marshal(checkRule)
		l, err := oslo.ParseLayer("check", []byte(fmt.Sprintf("{%s: %s}", key, c.Check)))
		if err != nil {
			return nil, err
		}
		if err := p.AddRule(l.Rules[0]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// bareCheck reports whether the case's check parses to oslo 4.0.0's bare
// string: enforce() then looks that string up as a rule name.
func bareCheck(c oracle.Case) (string, bool) {
	var s string
	if len(c.Check) == 0 || json.Unmarshal(c.Check, &s) != nil {
		return "", false
	}
	if b, ok := oslo.ParseRule(s).(*oslo.BareToken); ok {
		return b.Text, true
	}
	return "", false
}

// probeKey is a target key no policy reads; it sorts after every key of
// the generators, so that the key order stays sorted where it was.
const probeKey = "\U0010FFFDmemo probe"

// sameThroughMemo decides again through the engine's decision memo,
// which converts only the input its Footprint names (as Engine.Decide
// does) and may answer from an earlier case with the same footprint
// input, and requires the decision made on the whole input without the
// memo, want. With h.probe, a target object with probeKey added must then
// be a hit (unless the rule is not memoisable) and the decision on that
// whole input.
func (h *harness) sameThroughMemo(ctx context.Context, memo *rego.Memo, rule string, target, creds []byte, want rego.Decision) error {
	eng := memo.Engine()
	t, err := rego.DecodeOrdered(target)
	if err != nil {
		return err
	}
	c, err := rego.DecodeOrdered(creds)
	if err != nil {
		return err
	}
	got, out, err := memo.Decide(ctx, rego.Request{Rule: rule, Target: t, Credentials: c})
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("through the memo (%s, footprint %s) the decision is %+v, on the whole input %+v", out, eng.Footprint(rule), got, want)
	}
	if !h.probe || (out != rego.MemoMiss && out != rego.MemoHit) || len(target) < 2 || target[0] != '{' {
		return nil
	}
	probed := []byte(`{"` + probeKey + `": 1}`)
	if len(target) > 2 {
		probed = append(append(target[:len(target)-1:len(target)-1], `, "`+probeKey+`": 1`...), '}')
	}
	in, err := rego.InputJSON(rule, probed, creds)
	if err != nil {
		return err
	}
	whole, err := eng.DecideInput(ctx, rule, in)
	if err != nil {
		return err
	}
	if t, err = rego.DecodeOrdered(probed); err != nil {
		return err
	}
	got, out, err = memo.Decide(ctx, rego.Request{Rule: rule, Target: t, Credentials: c})
	if err != nil {
		return err
	}
	// A target whose keys are not in sorted order carries its key order
	// in the input, which the new key changes: a miss.
	orig, err := rego.InputJSON(rule, target, creds)
	if err != nil {
		return err
	}
	_, noOrder := orig.Find(ast.MustParseRef(`x.key_order.target.keys`)[1:])
	ordered := noOrder == nil
	if got != whole || (out != rego.MemoHit && !ordered) {
		return fmt.Errorf("with an unread target key, through the memo (%s, want a hit) %+v, on the whole input %+v", out, got, whole)
	}
	if out == rego.MemoHit {
		h.probeHits.Add(1)
	}
	return nil
}
