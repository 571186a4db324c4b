// Package rego compiles translated oslo policies, together with raw Rego
// written beside them, into OPA's embedded evaluator and answers decisions.
//
// An Engine is built once per policy load and is safe for concurrent use:
// every decision reuses one prepared query.
//
// This package's name is the design's; OPA's own package of the same name,
// github.com/open-policy-agent/opa/v1/rego, is imported as oparego in every
// file of the module (a test in policy_test checks it).
package rego

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/oslorego/oslorego/translate"
)

// Request asks whether Credentials may perform Rule on Target, as oslo's
// Enforcer.enforce(rule, target, creds) does.
type Request struct {
	Rule        string `json:"rule"`
	Target      any    `json:"target"`
	Credentials any    `json:"credentials"`
}

// Decision is the answer to a Request.
type Decision struct {
	// Allowed is true only when oslo.policy would allow.
	Allowed bool `json:"allowed"`
	// Rule is the requested rule; Evaluated is the rule that decided (the
	// default rule for an unknown name), "" when none did.
	Rule      string `json:"rule"`
	Evaluated string `json:"evaluated,omitempty"`
	// Origin is where the evaluated rule is written (file:line).
	Origin string `json:"origin,omitempty"`
	// Error says why the decision failed closed where oslo.policy raises.
	Error string `json:"error,omitempty"`
	// Explanation is filled by Explain.
	Explanation *Explanation `json:"explanation,omitempty"`
}

// Engine answers decisions for one translated policy and any raw Rego
// modules compiled with it.
type Engine struct {
	pkg      string
	tr       *translate.Translation // nil for NewFromModules
	compiler *ast.Compiler
	query    oparego.PreparedEvalQuery
	store    storage.Store // nil without data
}

// Option configures New.
type Option func(*config)

type config struct {
	modules map[string]string
	exact   bool
	data    map[string]any
}

// WithData gives the policy this data document (data.json of a bundle).
func WithData(data map[string]any) Option {
	return func(c *config) { c.data = data }
}

// WithExact makes the engine decide with the exact tri-state rules only,
// never the plain boolean holds form that is used for sane input. The
// answers are the same; tests use it to check exactly that.
func WithExact() Option {
	return func(c *config) { c.exact = true }
}

// WithModule adds a raw Rego module (file name and source) compiled with
// the translated ones; it may define rules in the policy's package that
// oslo rules refer to, and use the translated rules.
func WithModule(file, source string) Option {
	return func(c *config) { c.modules[file] = source }
}

// New compiles the translation (plus the library and any raw modules) and
// prepares the decision query.
func New(ctx context.Context, tr *translate.Translation, opts ...Option) (*Engine, error) {
	cfg := newConfig(opts)
	modules := map[string]*ast.Module{}
	lib, err := parsedLib()
	if err != nil {
		return nil, err
	}
	modules[translate.LibModule().File] = lib
	for _, m := range tr.Modules {
		if err := addModule(modules, m.File, m.Text); err != nil {
			return nil, err
		}
	}
	if err := addModules(modules, cfg.modules); err != nil {
		return nil, err
	}
	e, err := compile(ctx, tr.Package, modules, cfg)
	if err != nil {
		return nil, err
	}
	e.tr = tr
	return e, nil
}

// NewFromModules compiles ready Rego modules, such as a built bundle's
// (which carry the library and the translated rules), with the data given
// by WithData, deciding with the rules of package pkg. Without the oslo
// sources it cannot explain decisions or name the rule's origin.
func NewFromModules(ctx context.Context, pkg string, modules map[string]string, opts ...Option) (*Engine, error) {
	cfg := newConfig(opts)
	parsed := map[string]*ast.Module{}
	if err := addModules(parsed, modules); err != nil {
		return nil, err
	}
	if err := addModules(parsed, cfg.modules); err != nil {
		return nil, err
	}
	return compile(ctx, pkg, parsed, cfg)
}

func newConfig(opts []Option) *config {
	cfg := &config{modules: map[string]string{}}
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

func addModule(modules map[string]*ast.Module, file, text string) error {
	if _, dup := modules[file]; dup {
		return fmt.Errorf("two modules named %s", file)
	}
	m, err := ast.ParseModuleWithOpts(file, text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		return fmt.Errorf("parsing %s: %w", file, err)
	}
	modules[file] = m
	return nil
}

// addModules adds modules in a stable (sorted) order.
func addModules(modules map[string]*ast.Module, src map[string]string) error {
	files := make([]string, 0, len(src))
	for f := range src {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := addModule(modules, f, src[f]); err != nil {
			return err
		}
	}
	return nil
}

func compile(ctx context.Context, pkg string, modules map[string]*ast.Module, cfg *config) (*Engine, error) {
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compiling policy: %w", compiler.Errors)
	}
	decision := "result"
	if cfg.exact {
		decision = "exact_result"
	}
	args := []func(*oparego.Rego){oparego.Compiler(compiler), oparego.Query("data." + pkg + "." + decision),
		// OPA's default makes a failing builtin "undefined", and `not
		// undefined` is true: an error would become an allow.
		oparego.StrictBuiltinErrors(true)}
	var store storage.Store
	if cfg.data != nil {
		store = inmem.NewFromObjectWithOpts(cfg.data, inmem.OptRoundTripOnWrite(true))
		args = append(args, oparego.Store(store))
	}
	pq, err := oparego.New(args...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing decision query: %w", err)
	}
	return &Engine{pkg: pkg, compiler: compiler, query: pq, store: store}, nil
}

// parsedLib parses the semantics library once per process; each compile
// gets its own copy because the compiler rewrites modules.
var parsedLib = func() func() (*ast.Module, error) {
	once := sync.OnceValues(func() (*ast.Module, error) {
		lib := translate.LibModule()
		return ast.ParseModuleWithOpts(lib.File, lib.Text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	})
	return func() (*ast.Module, error) {
		m, err := once()
		if err != nil {
			return nil, fmt.Errorf("parsing the oslo library: %w", err)
		}
		return m.Copy(), nil
	}
}()

// Translation returns the translation the engine was built from.
func (e *Engine) Translation() *translate.Translation { return e.tr }

// Decide answers one request. Errors are returned only for a failure of the
// engine itself (a cancelled context); a policy that raises in oslo, or an
// evaluation error (a failing builtin: queries are prepared with strict
// builtin errors), gives a denied Decision with Error set.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	in, err := Input(req)
	if err != nil {
		return Decision{Rule: req.Rule, Error: err.Error()}, nil
	}
	return e.DecideInput(ctx, req.Rule, in)
}

// DecideInput is Decide for an input already converted with Input; batch
// callers use it to avoid converting twice.
func (e *Engine) DecideInput(ctx context.Context, rule string, in ast.Value) (Decision, error) {
	d := Decision{Rule: rule}
	rs, err := e.query.Eval(ctx, oparego.EvalParsedInput(in))
	if err != nil {
		if ctx.Err() != nil {
			return d, fmt.Errorf("deciding %q: %w", rule, err)
		}
		d.Error = "policy evaluation failed: " + err.Error()
		return d, nil
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		d.Error = "policy evaluation produced no result"
		return d, nil
	}
	switch v := rs[0].Expressions[0].Value.(type) {
	case bool:
		d.Allowed = v
	case map[string]any:
		msg, _ := v["error"].(string)
		d.Error = msg
	default:
		d.Error = fmt.Sprintf("policy evaluation produced %T, not a decision", v)
	}
	if e.tr == nil {
		return d, nil
	}
	if name, ok := e.resolve(rule); ok {
		d.Evaluated = name
		if r := e.tr.Policy.Rule(name); r != nil {
			d.Origin = r.Origin.String()
		}
	}
	return d, nil
}

// resolve mirrors the Rego entry point's rule resolution, for reporting.
func (e *Engine) resolve(rule string) (string, bool) {
	p := e.tr.Policy
	if p.Rule(rule) != nil {
		return rule, true
	}
	if d := p.Options.DefaultRuleName(); d != "" && p.Rule(d) != nil {
		return d, true
	}
	return "", false
}

// Query is another query prepared over an engine's compiled modules and
// data, for callers that need more than the decision (Glance's property
// protections, say).
type Query struct {
	pq oparego.PreparedEvalQuery
}

// PrepareQuery prepares query against the engine's compiled modules and
// data. Prepare once and reuse: evaluation is then as cheap as a decision.
func (e *Engine) PrepareQuery(ctx context.Context, query string) (*Query, error) {
	args := []func(*oparego.Rego){oparego.Compiler(e.compiler), oparego.Query(query), oparego.StrictBuiltinErrors(true)}
	if e.store != nil {
		args = append(args, oparego.Store(e.store))
	}
	pq, err := oparego.New(args...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing query %q: %w", query, err)
	}
	return &Query{pq: pq}, nil
}

// Eval evaluates the query with input and returns the value of its single
// expression, or ok=false when it is undefined. A failing builtin is an
// error, never an undefined expression.
func (q *Query) Eval(ctx context.Context, input ast.Value) (value any, ok bool, err error) {
	rs, err := q.pq.Eval(ctx, oparego.EvalParsedInput(input))
	if err != nil {
		return nil, false, fmt.Errorf("evaluating query: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

// Defines reports whether the compiled modules define a rule or function
// at ref, e.g. "data.oslo.glance.property_protections.allowed".
func (e *Engine) Defines(ref string) bool {
	r, err := ast.ParseRef(ref)
	if err != nil {
		return false
	}
	return len(e.compiler.GetRulesExact(r)) > 0
}
