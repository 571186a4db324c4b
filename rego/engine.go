// Package rego compiles translated oslo policies, together with raw Rego
// written beside them, into OPA's embedded evaluator and answers decisions.
//
// New builds an Engine from options, in the manner of OPA's rego.New: the
// oslo policy (Policy or Translation), raw Rego modules (Module) whose
// rules New declares for the policy to use, and data (Data). An Engine is
// built once per policy load and is safe for concurrent use: every
// decision reuses a query prepared on that one compile, and the exact
// form (Exact) is a second query on the same compiler.
//
// This package's name is the design's; OPA's own package of the same name,
// github.com/open-policy-agent/opa/v1/rego, is imported as oparego in every
// file of the module (a test in policy_test checks it).
package rego

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
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
//
// Its modules are compiled once; the decision query (the plain boolean
// holds form for sane input, the exact rules otherwise) and the exact
// query (the exact tri-state rules only, see Exact) are two queries
// prepared on that one compiler.
type Engine struct {
	pkg      string
	tr       *translate.Translation // nil for raw modules alone
	compiler *ast.Compiler
	store    storage.Store // nil without data
	query    oparego.PreparedEvalQuery
	// exact decides with the exact rules only; an exact engine's is itself.
	exact *Engine
	// fp are the input footprints of query's entry point, by rule.
	fp *footprints
	// holds decides sane input to safe rules without result's dispatch;
	// nil for the exact engine and without a translation.
	holds *holdsPath
	// native decides sane input to the safe rules it compiled in Go, ahead
	// of holds (see native.go); nil when off or when no rule compiled.
	native    *nativeProgram
	nativeCov NativeCoverage
}

// Option configures New.
type Option func(*config)

type config struct {
	policy  *oslo.Policy
	tr      *translate.Translation
	pkg     string
	modules []translate.Module
	data    map[string]any
	// noNative turns the native path off (Native(false)).
	noNative bool
	// built is the translation the modules carry (Built).
	built *translate.Translation
}

// Policy compiles the oslo policy p: New declares on p the rules
// (rules[NAME] in the policy's package) that the Module options define,
// so that rule:NAME finds them, then translates it. Give Policy or
// Translation, not both; without either New compiles the Module options
// alone.
func Policy(p *oslo.Policy) Option {
	return func(c *config) { c.policy = p }
}

// Translation compiles a policy already translated; the rules its Module
// options define must already be declared on tr.Policy.
func Translation(tr *translate.Translation) Option {
	return func(c *config) { c.tr = tr }
}

// Package is the Rego package of the policy's rules (default
// translate.DefaultPackage; a Translation brings its own). Without Policy
// or Translation it names the package whose rules decide, as in a built
// bundle's modules.
func Package(pkg string) Option {
	return func(c *config) { c.pkg = pkg }
}

// Module adds a raw Rego module (file name and source) compiled with the
// translated ones; it may define rules in the policy's package that oslo
// rules refer to (with Policy, New declares them), and use the translated
// rules. Without Policy or Translation the modules are all there is: a
// built bundle's, which carry the library and the translated rules.
func Module(file, source string) Option {
	return func(c *config) { c.modules = append(c.modules, translate.Module{File: file, Text: source}) }
}

// Built says that the Module options are a built bundle's modules and
// carry the oslo library and the modules of tr (formatted, under the
// bundle's own paths). New checks that they do, module by module as
// parsed, and fails otherwise. The engine then compiles the bundle's own
// texts, yet names the rule that decided, explains, and takes the holds
// and native paths as an engine built from Translation(tr) does. Give it
// instead of Policy or Translation.
func Built(tr *translate.Translation) Option {
	return func(c *config) { c.built = tr }
}

// Native turns the native path on (the default) or off. On, sane input
// to a safe rule whose holds form the engine compiled to Go is decided
// there, without OPA's evaluator; the decisions are the same either way
// (tests compare them), and off is for those comparisons.
func Native(on bool) Option {
	return func(c *config) { c.noNative = !on }
}

// Data gives the policy this data document (data.json of a bundle).
func Data(data map[string]any) Option {
	return func(c *config) { c.data = data }
}

// New compiles an engine from its sources: the oslo policy (Policy or
// Translation) with the library, the raw Rego modules and the data. Every
// decision, exact or not, then reuses queries prepared on this one
// compile. Without Policy or Translation the engine cannot explain
// decisions or name the rule's origin.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.policy != nil && cfg.tr != nil {
		return nil, errors.New("rego.New: give Policy or Translation, not both")
	}
	if cfg.built != nil && (cfg.policy != nil || cfg.tr != nil) {
		return nil, errors.New("rego.New: give Built alone, without Policy or Translation")
	}
	tr := cfg.tr
	if cfg.built != nil {
		tr = cfg.built
	}
	pkg := cfg.pkg
	if tr != nil {
		if pkg != "" && pkg != tr.Package {
			return nil, fmt.Errorf("rego.New: Package %q differs from the translation's %q", pkg, tr.Package)
		}
		pkg = tr.Package
	}
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	if cfg.policy != nil {
		for _, m := range cfg.modules {
			if err := cfg.policy.DeclareRego(m.File, m.Text, pkg); err != nil {
				return nil, err
			}
		}
		var err error
		if tr, err = translate.Translate(cfg.policy, pkg); err != nil {
			return nil, err
		}
	}
	// sources are the modules' texts by file, for the native path's check
	// that the library is the embedded one.
	sources := map[string]string{}
	parse := func() (map[string]*ast.Module, error) {
		modules := map[string]*ast.Module{}
		if tr != nil && cfg.built == nil {
			sources[translate.LibModule().File] = translate.LibModule().Text
			lib, err := parsedLib()
			if err != nil {
				return nil, err
			}
			modules[translate.LibModule().File] = lib
			for _, m := range tr.Modules {
				if err := addModule(modules, m.File, m.Text); err != nil {
					return nil, err
				}
				sources[m.File] = m.Text
			}
		}
		for _, m := range cfg.modules {
			if err := addModule(modules, m.File, m.Text); err != nil {
				return nil, err
			}
			sources[m.File] = m.Text
		}
		if cfg.built != nil {
			if err := carries(modules, cfg.built); err != nil {
				return nil, err
			}
		}
		return modules, nil
	}
	compiler, err := compile(parse)
	if err != nil {
		return nil, err
	}
	e := &Engine{pkg: pkg, tr: tr, compiler: compiler}
	if cfg.data != nil {
		e.store = inmem.NewFromObjectWithOpts(cfg.data, inmem.OptRoundTripOnWrite(true))
	}
	entry, exact := "data."+pkg+".result", "data."+pkg+".exact_result"
	if e.query, err = e.prepare(ctx, entry); err != nil {
		return nil, fmt.Errorf("preparing decision query: %w", err)
	}
	x := *e
	if x.query, err = e.prepare(ctx, exact); err != nil {
		return nil, fmt.Errorf("preparing exact decision query: %w", err)
	}
	for _, q := range []struct {
		fp    **footprints
		query string
	}{{&e.fp, entry}, {&x.fp, exact}} {
		ref, err := ast.ParseRef(q.query)
		if err != nil {
			return nil, fmt.Errorf("entry point %s: %w", q.query, err)
		}
		*q.fp = newFootprints(compiler, ref)
	}
	x.exact = &x
	e.exact = &x
	if tr != nil {
		if e.holds, err = newHoldsPath(ctx, e); err != nil {
			return nil, fmt.Errorf("preparing the holds form: %w", err)
		}
	}
	switch {
	case e.holds == nil:
		e.nativeCov.Disabled = "no holds path"
	case cfg.noNative:
		e.nativeCov = NativeCoverage{Safe: len(e.holds.safe) + len(e.holds.guarded), Guarded: len(e.holds.guarded), Disabled: "turned off"}
	default:
		candidates := maps.Clone(e.holds.safe)
		maps.Copy(candidates, e.holds.guarded)
		e.native, e.nativeCov = newNative(compiler, e.holds.pkg, candidates, sources, cfg.data)
		e.nativeCov.Guarded = len(e.holds.guarded)
	}
	return e, nil
}

// Exact returns the engine deciding with the exact tri-state rules only,
// never the plain boolean holds form used for sane input. The answers
// are the same; tests use it to check exactly that. It shares the
// engine's compiled modules and data: no second compile.
func (e *Engine) Exact() *Engine { return e.exact }

// prepare prepares query on the engine's compiler and store. OPA's default
// makes a failing builtin "undefined", and `not undefined` is true: an
// error would become an allow, so every query has strict builtin errors.
func (e *Engine) prepare(ctx context.Context, query string) (oparego.PreparedEvalQuery, error) {
	return e.prepareQuery(ctx, oparego.Query(query))
}

// prepareQuery is prepare for a query given as a rego option (Query or
// ParsedQuery).
func (e *Engine) prepareQuery(ctx context.Context, query func(*oparego.Rego)) (oparego.PreparedEvalQuery, error) {
	args := []func(*oparego.Rego){oparego.Compiler(e.compiler), query, oparego.StrictBuiltinErrors(true)}
	if e.store != nil {
		args = append(args, oparego.Store(e.store))
	}
	return oparego.New(args...).PrepareForEval(ctx)
}

// compile compiles the modules parse gives. OPA's recursion check
// searches everything a rule reaches, once per rule: quadratic in the depth
// of a rule: chain (5 s for 3000 links, minutes for one check --batch line
// of 20,000). One topological sort of the same dependency graph (which
// the type check does anyway) tells whether there is a cycle at all; only
// then is the compile redone with OPA's check, for its error message
// (compiling rewrites modules, hence parse).
func compile(parse func() (map[string]*ast.Module, error)) (*ast.Compiler, error) {
	modules, err := parse()
	if err != nil {
		return nil, err
	}
	cyclic := false
	acyclic := ast.CompilerStageDefinition{
		Name:       "oslorego_check_acyclic",
		MetricName: "compile_stage_oslorego_check_acyclic",
		Stage: func(c *ast.Compiler) *ast.Error {
			if _, ok := c.Graph.Sort(); !ok {
				cyclic = true
				return ast.NewError(ast.RecursionErr, nil, "rules are recursive")
			}
			return nil
		},
	}
	// The stage goes after the one OPA's check follows: a skipped stage's
	// followers are skipped with it.
	c := ast.NewCompiler().WithEnablePrintStatements(false).
		WithSkipStages(ast.StageCheckRecursion).
		WithStageAfterID(ast.StageRewriteTestRulesForTracing, acyclic)
	if c.Compile(modules); !c.Failed() {
		return c, nil
	}
	if !cyclic {
		return nil, fmt.Errorf("compiling policy: %w", c.Errors)
	}
	if modules, err = parse(); err != nil {
		return nil, err
	}
	c = ast.NewCompiler().WithEnablePrintStatements(false)
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compiling policy: %w", c.Errors)
	}
	return c, nil
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

// carries checks that modules hold the library and every module of tr,
// each equal as parsed (locations, layout and comments aside) to one of
// them, as tr writes it or as "opa fmt" does (which a build writes, and
// which turns some "x := true if" heads into "x if"): what a bundle built
// from tr holds.
func carries(modules map[string]*ast.Module, tr *translate.Translation) error {
	lib, err := parsedLib()
	if err != nil {
		return err
	}
	formatted, err := tr.Formatted()
	if err != nil {
		return err
	}
	// forms are the accepted parses of each module, the library first.
	forms := [][]*ast.Module{{lib}}
	names := []string{translate.LibModule().File}
	for i, m := range tr.Modules {
		var f []*ast.Module
		for _, text := range []string{m.Text, formatted[i].Text} {
			pm, err := ast.ParseModuleWithOpts(m.File, text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				return fmt.Errorf("parsing translated module %s: %w", m.File, err)
			}
			f = append(f, pm)
		}
		forms = append(forms, f)
		names = append(names, m.File)
	}
	used := map[string]bool{}
	for i, f := range forms {
		found := false
		for file, m := range modules {
			if !used[file] && slices.ContainsFunc(f, m.Equal) {
				used[file], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("the modules do not carry the translation's %s as built", names[i])
		}
	}
	return nil
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
//
// Only the part of the target the rule can read (its Footprint) is
// converted to OPA's value form: a target value the rule never reads is
// neither converted nor checked.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	if e.native != nil {
		if d, ok := e.decideNativeGo(ctx, req); ok {
			return e.finish(d), nil
		}
	}
	in, err := e.Input(req)
	if err != nil {
		return Decision{Rule: req.Rule, Error: err.Error()}, nil
	}
	return e.DecideInput(ctx, req.Rule, in)
}

// Input is the input document for req with only the target keys that
// e.Footprint(req.Rule) names (all of them when it is Whole, or when the
// target is not an object): a decision on it is the decision on Input(req).
func (e *Engine) Input(req Request) (ast.Value, error) {
	fp := e.Footprint(req.Rule)
	if fp.Whole {
		return Input(req)
	}
	return inputValue(req.Rule, orEmpty(req.Target), orEmpty(req.Credentials), fp.Target)
}

// DecideInput is Decide for an input already converted with Input; batch
// callers use it to avoid converting twice.
func (e *Engine) DecideInput(ctx context.Context, rule string, in ast.Value) (Decision, error) {
	d := Decision{Rule: rule}
	var (
		rs    oparego.ResultSet
		err   error
		holds bool
	)
	if e.holds != nil {
		name, target, creds, sane := saneParts(in)
		if sane && e.native != nil && ctx.Err() == nil {
			if id, ok := e.native.byName[name]; ok {
				if d.Allowed, ok = e.native.decide(id, target, creds); ok {
					return e.finish(d), nil
				}
			}
		}
		if sane && e.holds.safe[name] {
			d.Allowed, holds, err = e.holds.decide(ctx, name, in)
		}
	}
	if !holds && err == nil {
		rs, err = e.query.Eval(ctx, oparego.EvalParsedInput(in))
	}
	if err != nil {
		if ctx.Err() != nil {
			return d, fmt.Errorf("deciding %q: %w", rule, err)
		}
		d.Allowed = false
		d.Error = "policy evaluation failed: " + err.Error()
		return d, nil
	}
	switch {
	case holds:
	case len(rs) != 1 || len(rs[0].Expressions) != 1:
		d.Error = "policy evaluation produced no result"
		return d, nil
	default:
		switch v := rs[0].Expressions[0].Value.(type) {
		case bool:
			d.Allowed = v
		case map[string]any:
			msg, _ := v["error"].(string)
			d.Error = msg
		default:
			d.Error = fmt.Sprintf("policy evaluation produced %T, not a decision", v)
		}
	}
	return e.finish(d), nil
}

// finish names the rule that decided d.
func (e *Engine) finish(d Decision) Decision {
	if e.tr == nil {
		return d
	}
	if name, ok := e.resolve(d.Rule); ok {
		d.Evaluated = name
		if r := e.tr.Policy.Rule(name); r != nil {
			d.Origin = r.Origin.String()
		}
	}
	return d
}

// resolve is the rule the Rego entry point evaluates for rule (oslo's
// Rules lookup), for reporting.
func (e *Engine) resolve(rule string) (string, bool) { return e.tr.Policy.Resolve(rule) }

// Query is another query prepared over an engine's compiled modules and
// data, for callers that need more than the decision (Glance's property
// protections, say).
type Query struct {
	pq oparego.PreparedEvalQuery
}

// PrepareQuery prepares query against the engine's compiled modules and
// data. Prepare once and reuse: evaluation is then as cheap as a decision.
func (e *Engine) PrepareQuery(ctx context.Context, query string) (*Query, error) {
	pq, err := e.prepare(ctx, query)
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

// RuleNames are the names of the rules the engine's oslo policy defines,
// sorted: from its translation, or for an engine compiled from a built
// bundle's modules, from the rule_names the translation wrote into them.
// None for an engine of raw Rego alone.
func (e *Engine) RuleNames(ctx context.Context) ([]string, error) {
	var names []string
	if e.tr != nil && e.tr.Policy != nil {
		for _, r := range e.tr.Policy.Rules {
			names = append(names, r.Name)
		}
		sort.Strings(names)
		return names, nil
	}
	ref := "data." + e.pkg + ".rule_names"
	if !e.Defines(ref) {
		return nil, nil
	}
	q, err := e.PrepareQuery(ctx, ref)
	if err != nil {
		return nil, err
	}
	v, ok, err := q.Eval(ctx, ast.NewObject())
	if err != nil || !ok {
		return nil, err
	}
	list, isList := v.([]any)
	if !isList {
		return nil, fmt.Errorf("%s is %T, not a set of names", ref, v)
	}
	for _, n := range list {
		s, isString := n.(string)
		if !isString {
			return nil, fmt.Errorf("%s holds %T, not a name", ref, n)
		}
		names = append(names, s)
	}
	sort.Strings(names)
	return names, nil
}
