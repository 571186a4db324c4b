package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

type checkFlags struct {
	policies []string
	creds    string
	access   string
	isAdmin  bool
	target   string
	rule     string
	explain  bool
	batch    bool
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var pf policyFlags
	var cf checkFlags
	fs := newFlagSet("check", "--policy FILE [--creds FILE|--access TOKEN.json] [--target FILE] [--rule NAME] [--explain]\n       oslorego check --batch [--policy FILE]",
		`Decide rules the way oslo.policy's Enforcer.enforce() does, like
oslopolicy-checker: print "passed: NAME" or "failed: NAME" for --rule, or for
every rule whose name contains ":" (sorted). A decision that fails closed
(where oslo.policy raises) prints "failed: NAME" and an "error:" line.
Exits 0 when every checked rule passed, 1 otherwise.

Credentials come from --creds (a JSON object used as is) or --access (a
Keystone token body as oslopolicy-checker reads it: roles by name, user_id,
project_id, system_scope "all" for system tokens, is_admin from --is-admin).
The --target JSON is flattened to dotted keys as oslopolicy-checker does;
without it the target is {user_id, project_id} of the credentials.

With --batch, JSON Lines requests are read from stdin, one per line:
  {"rule": NAME, "target": {...}, "creds": {...}}
optionally with "rules": {...} (a whole policy map for that request instead
of --policy) and "default_rule": NAME|null. A line is one JSON object read
as Python's json.loads reads it; field names are exact and other fields are
refused. One JSON line is written per request, in order:
{"allowed": true|false}, with "error" where the decision failed closed or
the line was refused. If --policy cannot be loaded, every line is answered
with the load error and the exit status is 1.`, stdout)
	pf.register(fs)
	fs.StringArrayVar(&cf.policies, "policy", nil, "policy file or policy.d directory (repeat to layer; later ones override)")
	fs.StringVar(&cf.creds, "creds", "", "JSON file with the credentials object")
	fs.StringVar(&cf.access, "access", "", "JSON file with a Keystone token ({\"token\": {...}}), as oslopolicy-checker --access")
	fs.BoolVar(&cf.isAdmin, "is-admin", false, "with --access: set is_admin true in the credentials")
	fs.StringVar(&cf.target, "target", "", "JSON file with the target object (flattened to dotted keys)")
	fs.StringVar(&cf.rule, "rule", "", "rule to check (default: every rule whose name contains \":\")")
	fs.BoolVar(&cf.explain, "explain", false, "explain each decision: the oslo sub-expressions evaluated and which failed, with file:line")
	fs.BoolVar(&cf.batch, "batch", false, "read JSON Lines requests on stdin and write one decision per line")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q (give policies with --policy)", fs.Args())
	}
	if cf.batch {
		return runBatch(ctx, &pf, &cf, stdin, stdout)
	}
	if len(cf.policies) == 0 {
		return usageErr("--policy is required")
	}
	if cf.creds != "" && cf.access != "" {
		return usageErr("give --creds or --access, not both")
	}
	eng, err := buildEngine(ctx, &pf, cf.policies)
	if err != nil {
		return err
	}
	creds, err := loadCreds(&cf)
	if err != nil {
		return err
	}
	target, err := loadTarget(cf.target, creds)
	if err != nil {
		return err
	}
	var names []string
	if cf.rule != "" {
		names = []string{cf.rule}
	} else {
		for _, r := range eng.Translation().Policy.Rules {
			if strings.Contains(r.Name, ":") {
				names = append(names, r.Name)
			}
		}
		sort.Strings(names)
	}
	failed := false
	for _, name := range names {
		req := rego.Request{Rule: name, Target: target, Credentials: creds}
		var d rego.Decision
		if cf.explain {
			d, err = eng.Explain(ctx, req)
		} else {
			d, err = eng.Decide(ctx, req)
		}
		if err != nil {
			return err
		}
		printDecision(stdout, name, d)
		failed = failed || !d.Allowed
	}
	if failed {
		return errFindings
	}
	return nil
}

// printDecision prints "passed: NAME" or "failed: NAME", why a decision
// failed closed, and the explanation when there is one.
func printDecision(w io.Writer, name string, d rego.Decision) {
	if d.Allowed {
		fmt.Fprintf(w, "passed: %s\n", name)
	} else {
		fmt.Fprintf(w, "failed: %s\n", name)
	}
	if d.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", oneLine(d.Error))
	}
	if d.Explanation != nil {
		for _, line := range strings.Split(strings.TrimRight(d.Explanation.String(), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

func buildEngine(ctx context.Context, pf *policyFlags, paths []string) (*rego.Engine, error) {
	p, err := pf.loadOslo(paths)
	if err != nil {
		return nil, err
	}
	return pf.engine(ctx, p)
}

func readJSON(path, what string) (rego.Ordered, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return rego.Ordered{}, fmt.Errorf("reading %s: %w", what, err)
	}
	// oslopolicy-checker reads these with json.loads; Python keeps the
	// objects' key order, which is how their dicts print.
	v, err := rego.DecodeOrdered(data)
	if err != nil {
		return rego.Ordered{}, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return v, nil
}

// loadCreds reads --creds, or derives credentials from --access as
// oslopolicy-checker does.
func loadCreds(cf *checkFlags) (rego.Ordered, error) {
	switch {
	case cf.creds != "":
		v, err := readJSON(cf.creds, "credentials")
		if err != nil {
			return rego.Ordered{}, err
		}
		if _, ok := v.Value.(map[string]any); !ok {
			return rego.Ordered{}, fmt.Errorf("credentials %s: want a JSON object", cf.creds)
		}
		return v, nil
	case cf.access != "":
		v, err := readJSON(cf.access, "access file")
		if err != nil {
			return rego.Ordered{}, err
		}
		return accessCreds(v, cf.isAdmin)
	}
	return rego.Ordered{Value: map[string]any{}}, nil
}

// accessCreds is oslopolicy-checker's reading of a Keystone token: the
// token's members in order, with its assignments to them.
func accessCreds(v rego.Ordered, isAdmin bool) (rego.Ordered, error) {
	tok, ok := v.Get("token")
	if _, isMap := tok.Value.(map[string]any); !ok || !isMap {
		return rego.Ordered{}, fmt.Errorf("access file: want {\"token\": {...}}")
	}
	var keys []string
	var vals []rego.Ordered
	for _, k := range tok.Keys() {
		m, _ := tok.Get(k)
		keys, vals = append(keys, k), append(vals, m)
	}
	set := func(k string, v any) {
		keys, vals = append(keys, k), append(vals, rego.Ordered{Value: v})
	}
	m := tok.Value.(map[string]any)
	roles := []any{}
	rs, _ := m["roles"].([]any)
	for _, r := range rs {
		rm, _ := r.(map[string]any)
		name, ok := rm["name"]
		if !ok {
			return rego.Ordered{}, fmt.Errorf("access file: every token role needs a \"name\"")
		}
		roles = append(roles, name)
	}
	set("roles", roles)
	user, _ := m["user"].(map[string]any)
	if user == nil || user["id"] == nil {
		return rego.Ordered{}, fmt.Errorf("access file: the token has no user.id")
	}
	set("user_id", user["id"])
	if p, ok := m["project"].(map[string]any); ok && len(p) > 0 {
		set("project_id", p["id"])
	}
	if s, ok := m["system"]; ok && s != nil {
		set("system_scope", "all")
	}
	set("is_admin", isAdmin)
	return rego.ObjectOf(keys, vals), nil
}

// loadTarget reads and flattens --target, or builds oslopolicy-checker's
// default target from the credentials.
func loadTarget(path string, creds rego.Ordered) (rego.Ordered, error) {
	if path == "" {
		var keys []string
		var vals []rego.Ordered
		for _, k := range []string{"user_id", "project_id"} {
			if v, ok := creds.Get(k); ok {
				keys, vals = append(keys, k), append(vals, v)
			}
		}
		return rego.ObjectOf(keys, vals), nil
	}
	v, err := readJSON(path, "target")
	if err != nil {
		return rego.Ordered{}, err
	}
	if _, ok := v.Value.(map[string]any); !ok {
		return rego.Ordered{}, fmt.Errorf("target %s: want a JSON object", path)
	}
	var keys []string
	var vals []rego.Ordered
	flatten(v, "", &keys, &vals)
	return rego.ObjectOf(keys, vals), nil
}

// flatten is oslopolicy-checker's: nested objects become dotted keys, in
// order; a key that comes again keeps its first position and last value.
func flatten(o rego.Ordered, prefix string, keys *[]string, vals *[]rego.Ordered) {
	for _, k := range o.Keys() {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		v, _ := o.Get(k)
		if _, ok := v.Value.(map[string]any); ok {
			flatten(v, key, keys, vals)
			continue
		}
		*keys, *vals = append(*keys, key), append(*vals, v)
	}
}

// batchFields are the fields of a --batch request line. Names are exact:
// Go's encoding/json would also take "Creds" or "CREDS" for "creds".
var batchFields = map[string]bool{"rule": true, "rules": true, "target": true, "creds": true, "default_rule": true}

// batchRequest is one decoded --batch line.
type batchRequest struct {
	// rule is the "rule" value: a string, or (with "rules") nil for an
	// absent rule or another value oslo looks up as a name no rule has.
	rule any
	// ruleErr is why the rule cannot be decided (an unhashable rule).
	ruleErr string
	target  any
	creds   any
	// rules is the raw JSON text of "rules"; "" when absent.
	rules string
	// emptyRules is true when "rules" is {} (oslo then denies everything
	// without looking the rule up).
	emptyRules  bool
	defaultRule defaultRule
}

// defaultRule is a request's "default_rule".
type defaultRule struct {
	set  bool   // the field is present
	none bool   // oslo has no default rule: null, "", or a hashable non-string
	name string // the rule name otherwise
}

func (d defaultRule) key() string {
	switch {
	case !d.set:
		return "absent"
	case d.none:
		return "none"
	}
	return "name:" + d.name
}

type batchResult struct {
	Allowed     bool              `json:"allowed"`
	Error       string            `json:"error,omitempty"`
	Explanation *rego.Explanation `json:"explanation,omitempty"`
}

func runBatch(ctx context.Context, pf *policyFlags, cf *checkFlags, stdin io.Reader, stdout io.Writer) error {
	var base *rego.Engine
	var loadErr error
	if len(cf.policies) > 0 || pf.defaults != "" {
		// A policy that cannot be loaded answers every line with the load
		// error (oslo raises on every enforce), so that a caller can tell
		// a broken policy from a broken pipe; the exit status is then 1.
		base, loadErr = buildEngine(ctx, pf, cf.policies)
	}
	cache := newEngineCache(ctx, pf, 64)
	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriterSize(stdout, 1<<16)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	workers := runtime.GOMAXPROCS(0)
	// Requests are decided in chunks, in parallel, and written in order. A
	// chunk ends early when no more input is buffered, so an interactive
	// caller gets each answer at once.
	const chunk = 512
	type pending struct {
		num  int
		line []byte
	}
	var lines []pending
	results := make([]batchResult, chunk)
	decide := func(n int, line []byte) batchResult {
		if loadErr != nil {
			return batchResult{Error: fmt.Sprintf("line %d: loading the policy: %s", n, oneLine(loadErr.Error()))}
		}
		return decideLine(ctx, n, line, base, cache, cf.explain)
	}
	flush := func() error {
		var wg sync.WaitGroup
		next := make(chan int, len(lines))
		for i := range lines {
			next <- i
		}
		close(next)
		for w := 0; w < min(workers, len(lines)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					results[i] = decide(lines[i].num, lines[i].line)
				}
			}()
		}
		wg.Wait()
		for i := range lines {
			if err := enc.Encode(results[i]); err != nil {
				return fmt.Errorf("writing decision: %w", err)
			}
		}
		lines = lines[:0]
		if err := out.Flush(); err != nil {
			return fmt.Errorf("writing decision: %w", err)
		}
		return ctx.Err()
	}
	for num := 1; ; num++ {
		line, err := in.ReadBytes('\n')
		if line = pyStrip(line); len(line) > 0 {
			lines = append(lines, pending{num, line})
		}
		if len(lines) == chunk || (len(lines) > 0 && (in.Buffered() == 0 || err != nil)) {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			if loadErr != nil {
				return fmt.Errorf("%w", errFindings)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading requests: %w", err)
		}
	}
}

// pyStrip is Python's str.strip() of a line (the oracle and
// oslopolicy-checker-style readers strip before json.loads): Unicode white
// space, which for Python also includes U+001C..U+001F.
func pyStrip(line []byte) []byte {
	return bytes.TrimFunc(line, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// parseBatchLine decodes one request line as Python's json.loads does: one
// JSON object and nothing after it, exact field names (an unknown field is
// refused, not ignored), a repeated field keeps its last value.
func parseBatchLine(line []byte) (batchRequest, error) {
	req := batchRequest{target: map[string]any{}, creds: map[string]any{}}
	if !utf8.Valid(line) {
		return req, fmt.Errorf("the line is not valid UTF-8")
	}
	members, err := policyfile.LoadJSONObject(string(line))
	if err != nil {
		var pe *policyfile.Error
		if errors.As(err, &pe) {
			return req, fmt.Errorf("not one JSON object: %s", pe.Msg)
		}
		return req, fmt.Errorf("not one JSON object: %w", err)
	}
	last := map[string]policyfile.Member{}
	for _, m := range members {
		if !batchFields[m.Key] {
			return req, fmt.Errorf("unknown field %s (the fields are \"rule\", \"rules\", \"target\", \"creds\" and \"default_rule\", spelt exactly)", python.StrReprWTF8(m.Key))
		}
		last[m.Key] = m
	}
	if m, ok := last["rules"]; ok {
		if m.Value.Kind != policyfile.Map {
			// Rules.from_dict calls .items().
			return req, fmt.Errorf("\"rules\" must be an object (oslo: AttributeError: '%s' object has no attribute 'items')", pyTypeName(m.Value))
		}
		req.rules, req.emptyRules = m.Raw, len(m.Value.Pairs) == 0
	}
	if m, ok := last["default_rule"]; ok {
		if req.rules == "" {
			return req, fmt.Errorf("\"default_rule\" goes with \"rules\"")
		}
		req.defaultRule.set = true
		switch v := m.Value; {
		case v.Kind == policyfile.String && v.Str != "":
			req.defaultRule.name = v.Str
		case v.Kind == policyfile.List && len(v.Items) > 0:
			// oslo raises TypeError (unhashable) from every lookup of a
			// missing rule; refused here rather than reproduced.
			return req, fmt.Errorf("\"default_rule\" must be a string or null, not a non-empty list")
		default:
			// null, "", and any other value: Rules.__missing__ finds no
			// default rule (not a string, or falsy, or not in the rules).
			req.defaultRule.none = true
		}
	}
	if m, ok := last["rule"]; ok {
		switch v := m.Value; v.Kind {
		case policyfile.String:
			req.rule = v.Str
		case policyfile.List, policyfile.Map:
			// self.rules[rule] raises TypeError, after `not self.rules`.
			req.ruleErr = fmt.Sprintf("TypeError: unhashable type: '%s'", pyTypeName(v))
		default:
			req.rule = nil
		}
		if v := m.Value; v.Kind != policyfile.String && req.rules == "" {
			return req, fmt.Errorf("\"rule\" must be a string with --policy")
		}
	} else if req.rules == "" {
		return req, fmt.Errorf("request has no \"rule\" (a missing rule falls back to the default rule only with \"rules\")")
	}
	if s, ok := req.rule.(string); ok && !utf8.ValidString(s) {
		return req, fmt.Errorf("rule: the name %s holds a lone surrogate: %w", python.StrReprWTF8(s), rego.ErrUnrepresentable)
	}
	for _, f := range []struct {
		name string
		dst  *any
	}{{"target", &req.target}, {"creds", &req.creds}} {
		if m, ok := last[f.name]; ok {
			// With the key order: Python prints dicts in JSON order.
			v, err := rego.OrderedValue(m.Value)
			if err != nil {
				return req, fmt.Errorf("%s: %w", f.name, err)
			}
			*f.dst = v
		}
	}
	return req, nil
}

func pyTypeName(v policyfile.Value) string {
	switch v.Kind {
	case policyfile.List:
		return "list"
	case policyfile.Map:
		return "dict"
	case policyfile.String:
		return "str"
	case policyfile.Int:
		return "int"
	case policyfile.Float:
		return "float"
	case policyfile.Bool:
		return "bool"
	}
	return "NoneType"
}

func decideLine(ctx context.Context, n int, line []byte, base *rego.Engine, cache *engineCache, explain bool) batchResult {
	fail := func(format string, args ...any) batchResult {
		return batchResult{Error: fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, args...)}
	}
	req, err := parseBatchLine(line)
	if err != nil {
		return fail("%v", err)
	}
	eng := base
	if req.rules != "" {
		if eng, err = cache.get(req.rules, req.defaultRule); err != nil {
			return fail("%s", oneLine(err.Error()))
		}
	}
	if eng == nil {
		return fail("no policy: give --policy or a \"rules\" map in the request")
	}
	if req.ruleErr != "" && !req.emptyRules {
		// With no rules at all, enforce() denies before the lookup raises.
		return fail("%s", req.ruleErr)
	}
	name, isName := req.rule.(string)
	var d rego.Decision
	if explain && isName {
		d, err = eng.Explain(ctx, rego.Request{Rule: name, Target: req.target, Credentials: req.creds})
	} else {
		var in ast.Value
		if in, err = rego.InputValue(req.rule, req.target, req.creds); err != nil {
			return fail("%v", err)
		}
		d, err = eng.DecideInput(ctx, name, in)
	}
	if err != nil {
		return fail("%v", err)
	}
	return batchResult{Allowed: d.Allowed, Error: d.Error, Explanation: d.Explanation}
}

// engineCache keeps engines for per-request "rules" maps, so a stream of
// requests against the same map compiles it once.
type engineCache struct {
	mu      sync.Mutex
	ctx     context.Context
	pf      *policyFlags
	max     int
	engines map[string]*rego.Engine
	errs    map[string]error
}

func newEngineCache(ctx context.Context, pf *policyFlags, max int) *engineCache {
	return &engineCache{ctx: ctx, pf: pf, max: max, engines: map[string]*rego.Engine{}, errs: map[string]error{}}
}

func (c *engineCache) get(rules string, defaultRule defaultRule) (*rego.Engine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := defaultRule.key() + "\x00" + rules
	if e, ok := c.engines[key]; ok {
		return e, nil
	}
	if err, ok := c.errs[key]; ok {
		return nil, err
	}
	e, err := c.build(rules, defaultRule)
	if len(c.engines)+len(c.errs) >= c.max {
		c.engines, c.errs = map[string]*rego.Engine{}, map[string]error{}
	}
	if err != nil {
		c.errs[key] = err
		return nil, err
	}
	c.engines[key] = e
	return e, nil
}

func (c *engineCache) build(rules string, defaultRule defaultRule) (*rego.Engine, error) {
	opts := c.pf.options()
	switch {
	case defaultRule.none:
		opts.NoDefaultRule = true
	case defaultRule.set:
		opts.DefaultRule, opts.NoDefaultRule = defaultRule.name, false
	}
	layer, err := oslo.ParseLayer("rules", []byte(rules))
	if err != nil {
		return nil, err
	}
	p, err := oslo.Build([]*oslo.Layer{layer}, nil, opts)
	if err != nil {
		return nil, err
	}
	return c.pf.engine(c.ctx, p)
}
