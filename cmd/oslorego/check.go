package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/util"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
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
of --policy) and "default_rule": NAME|null. One JSON line is written per
request, in order: {"allowed": true|false}, with "error" where the decision
failed closed or the line was malformed.`, stdout)
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
	p, err := pf.load(paths)
	if err != nil {
		return nil, err
	}
	return pf.engine(ctx, p)
}

func readJSON(path, what string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	var v any
	if err := util.UnmarshalJSON(data, &v); err != nil {
		return nil, fmt.Errorf("%s %s is not JSON: %w", what, path, err)
	}
	return v, nil
}

// loadCreds reads --creds, or derives credentials from --access as
// oslopolicy-checker does.
func loadCreds(cf *checkFlags) (map[string]any, error) {
	switch {
	case cf.creds != "":
		v, err := readJSON(cf.creds, "credentials")
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("credentials %s: want a JSON object", cf.creds)
		}
		return m, nil
	case cf.access != "":
		v, err := readJSON(cf.access, "access file")
		if err != nil {
			return nil, err
		}
		return accessCreds(v, cf.isAdmin)
	}
	return map[string]any{}, nil
}

// accessCreds is oslopolicy-checker's reading of a Keystone token.
func accessCreds(v any, isAdmin bool) (map[string]any, error) {
	top, _ := v.(map[string]any)
	tok, ok := top["token"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("access file: want {\"token\": {...}}")
	}
	creds := map[string]any{}
	for k, v := range tok {
		creds[k] = v
	}
	roles := []any{}
	rs, _ := tok["roles"].([]any)
	for _, r := range rs {
		rm, _ := r.(map[string]any)
		name, ok := rm["name"]
		if !ok {
			return nil, fmt.Errorf("access file: every token role needs a \"name\"")
		}
		roles = append(roles, name)
	}
	creds["roles"] = roles
	user, _ := tok["user"].(map[string]any)
	if user == nil || user["id"] == nil {
		return nil, fmt.Errorf("access file: the token has no user.id")
	}
	creds["user_id"] = user["id"]
	if p, ok := tok["project"].(map[string]any); ok && len(p) > 0 {
		creds["project_id"] = p["id"]
	}
	if s, ok := tok["system"]; ok && s != nil {
		creds["system_scope"] = "all"
	}
	creds["is_admin"] = isAdmin
	return creds, nil
}

// loadTarget reads and flattens --target, or builds oslopolicy-checker's
// default target from the credentials.
func loadTarget(path string, creds map[string]any) (map[string]any, error) {
	if path == "" {
		t := map[string]any{}
		if v, ok := creds["user_id"]; ok {
			t["user_id"] = v
		}
		if v, ok := creds["project_id"]; ok {
			t["project_id"] = v
		}
		return t, nil
	}
	v, err := readJSON(path, "target")
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("target %s: want a JSON object", path)
	}
	return flatten(m, ""), nil
}

// flatten is oslopolicy-checker's: nested objects become dotted keys.
func flatten(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			for fk, fv := range flatten(sub, key) {
				out[fk] = fv
			}
			continue
		}
		out[key] = v
	}
	return out
}

// batchLine is one --batch request.
type batchLine struct {
	Rule        *string         `json:"rule"`
	Target      json.RawMessage `json:"target"`
	Creds       json.RawMessage `json:"creds"`
	Rules       json.RawMessage `json:"rules"`
	DefaultRule json.RawMessage `json:"default_rule"`
}

type batchResult struct {
	Allowed     bool              `json:"allowed"`
	Error       string            `json:"error,omitempty"`
	Explanation *rego.Explanation `json:"explanation,omitempty"`
}

func runBatch(ctx context.Context, pf *policyFlags, cf *checkFlags, stdin io.Reader, stdout io.Writer) error {
	var base *rego.Engine
	if len(cf.policies) > 0 || pf.defaults != "" {
		var err error
		if base, err = buildEngine(ctx, pf, cf.policies); err != nil {
			return err
		}
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
					results[i] = decideLine(ctx, lines[i].num, lines[i].line, base, cache, cf.explain)
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
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, pending{num, line})
		}
		if len(lines) == chunk || (len(lines) > 0 && (in.Buffered() == 0 || err != nil)) {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading requests: %w", err)
		}
	}
}

func decideLine(ctx context.Context, n int, line []byte, base *rego.Engine, cache *engineCache, explain bool) batchResult {
	fail := func(format string, args ...any) batchResult {
		return batchResult{Error: fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, args...)}
	}
	var req batchLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fail("malformed request: %v", err)
	}
	if req.Rule == nil {
		return fail("request has no \"rule\" string")
	}
	eng := base
	if len(req.Rules) > 0 {
		var err error
		if eng, err = cache.get(req.Rules, req.DefaultRule); err != nil {
			return fail("%s", oneLine(err.Error()))
		}
	} else if len(req.DefaultRule) > 0 {
		return fail("\"default_rule\" goes with \"rules\"")
	}
	if eng == nil {
		return fail("no policy: give --policy or a \"rules\" map in the request")
	}
	in, err := rego.InputJSON(*req.Rule, req.Target, req.Creds)
	if err != nil {
		return fail("%v", err)
	}
	var d rego.Decision
	if explain {
		var target, creds any
		_ = util.UnmarshalJSON(orEmpty(req.Target), &target)
		_ = util.UnmarshalJSON(orEmpty(req.Creds), &creds)
		d, err = eng.Explain(ctx, rego.Request{Rule: *req.Rule, Target: target, Credentials: creds})
	} else {
		d, err = eng.DecideInput(ctx, *req.Rule, in)
	}
	if err != nil {
		return fail("%v", err)
	}
	return batchResult{Allowed: d.Allowed, Error: d.Error, Explanation: d.Explanation}
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
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

func (c *engineCache) get(rules, defaultRule json.RawMessage) (*rego.Engine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := string(defaultRule) + "\x00" + string(rules)
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

func (c *engineCache) build(rules, defaultRule json.RawMessage) (*rego.Engine, error) {
	opts := c.pf.options()
	if len(defaultRule) > 0 {
		var name *string
		if err := json.Unmarshal(defaultRule, &name); err != nil {
			return nil, fmt.Errorf("\"default_rule\" must be a string or null")
		}
		if name == nil || *name == "" {
			opts.NoDefaultRule = true
		} else {
			opts.DefaultRule, opts.NoDefaultRule = *name, false
		}
	}
	layer, err := translate.ParseLayer("rules", rules)
	if err != nil {
		return nil, err
	}
	p, err := translate.Build([]*translate.Layer{layer}, nil, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.pf.declareRego(p); err != nil {
		return nil, err
	}
	return c.pf.engine(c.ctx, p)
}
