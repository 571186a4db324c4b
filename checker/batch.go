package checker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// ErrPolicy is what Batch.Run returns, once every line is answered, when
// Batch.PolicyErr is set.
var ErrPolicy = errors.New("the policy could not be loaded")

// Batch decides JSON Lines requests, one per line:
//
//	{"rule": NAME, "target": {...}, "creds": {...}}
//
// optionally with "rules" (a whole policy map for that request) and
// "default_rule". A line is one JSON object read as Python's json.loads
// reads it; field names are exact and other fields are refused. One JSON
// line is written per request, in order: {"allowed": true|false}, with
// "error" where the decision failed closed or the line was refused.
type Batch struct {
	// Policy decides the requests without "rules"; nil if none was given.
	Policy *rego.Engine
	// PolicyErr is why the policy could not be loaded, if it could not:
	// every line is then answered with it (oslo raises on every enforce),
	// so that a caller can tell a broken policy from a broken pipe.
	PolicyErr error
	// Options are the oslo options of a request's "rules" map; its
	// "default_rule" overrides the default rule.
	Options oslo.Options
	// Compile makes the engine of a request's "rules" map, once per
	// distinct map (and default rule) among the last few.
	Compile func(ctx context.Context, p *oslo.Policy) (*rego.Engine, error)
	// Explain explains each decision of a rule given by name.
	Explain bool
	// Workers is how many lines are decided at once (default GOMAXPROCS).
	Workers int
	// Memo bounds the exact decision memo (rego.Memo) of each engine, in
	// decisions; 0 is none. Stats, if not nil, counts what the memos did.
	Memo  int
	Stats *rego.MemoStats
	// MaxLine bounds a request line, in bytes (0: DefaultMaxLine). A
	// longer line is answered with an error, without being held in
	// memory, and the lines after it are read as usual.
	MaxLine int
}

// DefaultMaxLine is Batch.MaxLine's default: far above any real request
// (the PDP's default body bound is 1 MiB), far below what would exhaust
// memory when a stream holds no newline.
const DefaultMaxLine = 64 << 20

// rulesEngines is how many "rules" engines a Batch keeps.
const rulesEngines = 64

// queued is how many lines may be read ahead of the answer being written.
const queued = 512

// Run reads requests from r until EOF and writes one answer per request
// to w, in order. Lines are decided in parallel; an answer is written as
// soon as every earlier one is, and flushed as soon as no later line is
// waiting, so that an interactive caller gets each answer at once. A
// line's failure is that line's answer; Run fails on a read or write error
// or when ctx ends (a read already blocked then is left to finish on its
// own), and returns ErrPolicy after answering every line if PolicyErr is
// set.
func (b *Batch) Run(ctx context.Context, r io.Reader, w io.Writer) error {
	// Deferred in this order: the workers are told to stop, then awaited.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := b.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cache := newEngineCache(rulesEngines, func(rules string, def defaultRule) (*rego.Engine, error) {
		return b.compileRules(ctx, rules, def)
	})
	memos := &memos{size: b.Memo, stats: b.Stats, of: map[*rego.Engine]*rego.Memo{}}

	type job struct {
		num    int
		line   []byte
		answer chan answer
	}
	// The reader sends each job to the workers and, in input order, to
	// the writer, which waits for each job's answer in turn.
	jobs, order := make(chan *job, queued), make(chan *job, queued)
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		in := bufio.NewReaderSize(r, 1<<20)
		maxLine := b.MaxLine
		if maxLine <= 0 {
			maxLine = DefaultMaxLine
		}
		for num := 1; ctx.Err() == nil; num++ {
			line, long, err := readLine(in, maxLine)
			if line = pyStrip(line); len(line) > 0 || long {
				j := &job{num, line, make(chan answer, 1)}
				to := []chan *job{order, jobs}
				if long {
					// Answered here: the workers never see it.
					j.answer <- answer{Error: fmt.Sprintf("line %d: longer than %d bytes (the bound on a request line)", num, maxLine)}
					to = to[:1]
				}
				for _, ch := range to {
					select {
					case ch <- j:
					case <-ctx.Done():
						return
					}
				}
			}
			if err == io.EOF {
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- fmt.Errorf("reading requests: %w", err)
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case j, ok := <-jobs:
					if !ok {
						return
					}
					j.answer <- b.decide(ctx, cache, memos, j.num, j.line)
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	out := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		var j *job
		var more bool
		select {
		case j, more = <-order:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !more {
			break
		}
		var a answer
		select {
		case a = <-j.answer:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			// Decided while being cancelled: not an answer to trust.
			return err
		}
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("writing decision: %w", err)
		}
		if len(order) == 0 {
			if err := out.Flush(); err != nil {
				return fmt.Errorf("writing decision: %w", err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing decision: %w", err)
	}
	if err := <-readErr; err != nil {
		return err
	}
	if b.PolicyErr != nil {
		return ErrPolicy
	}
	return nil
}

// answer is one output line.
type answer struct {
	Allowed     bool              `json:"allowed"`
	Error       string            `json:"error,omitempty"`
	Explanation *rego.Explanation `json:"explanation,omitempty"`
}

// request is one decoded line.
type request struct {
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

// Request line fields, by index in lineFields.
const (
	fieldRule = iota
	fieldRules
	fieldTarget
	fieldCreds
	fieldDefaultRule
	numFields
)

// fieldIndex is the index of a request line field, -1 for another name.
// Names are exact: Go's encoding/json would also take "Creds" or "CREDS"
// for "creds".
func fieldIndex(key string) int {
	switch key {
	case "rule":
		return fieldRule
	case "rules":
		return fieldRules
	case "target":
		return fieldTarget
	case "creds":
		return fieldCreds
	case "default_rule":
		return fieldDefaultRule
	}
	return -1
}

// field is one member of a request line, read by either decoder.
type field struct {
	set  bool
	kind policyfile.Kind
	str  string // a String's text
	n    int    // a List's or a Map's length
	raw  string // the JSON text
	// value is the converted value when decoded; slow otherwise.
	value   rego.Ordered
	decoded bool
	slow    policyfile.Value
}

// ordered is f's value with its key order.
func (f *field) ordered() (rego.Ordered, error) {
	if f.decoded {
		return f.value, nil
	}
	return rego.OrderedValue(f.slow)
}

// lineFields are a line's fields: a repeated one keeps its last value.
type lineFields [numFields]field

// add records a member, or refuses an unknown name.
func (fs *lineFields) add(key string, f field) error {
	i := fieldIndex(key)
	if i < 0 {
		return fmt.Errorf("unknown field %s (the fields are \"rule\", \"rules\", \"target\", \"creds\" and \"default_rule\", spelt exactly)", python.StrReprWTF8(key))
	}
	f.set = true
	fs[i] = f
	return nil
}

// readLine reads one line, through its newline. A line longer than max
// is read to its end but not kept: long is true and line is nil.
func readLine(in *bufio.Reader, max int) (line []byte, long bool, err error) {
	for {
		chunk, err := in.ReadSlice('\n')
		if !long {
			if len(line)+len(chunk) > max {
				long, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err != bufio.ErrBufferFull {
			return line, long, err
		}
	}
}

// pyStrip is Python's str.strip() of a line (the oracle and
// oslopolicy-checker-style readers strip before json.loads): Unicode white
// space, which for Python also includes U+001C..U+001F.
func pyStrip(line []byte) []byte {
	return bytes.TrimFunc(line, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// readFields reads a line's members: in one pass straight to Go values
// for the usual line, through json.loads's exact reading for any other,
// which reports its errors.
func readFields(text string, fs *lineFields) error {
	if ok, err := readFieldsFast(text, fs); ok {
		return err
	}
	return readFieldsExact(text, fs)
}

// readFieldsFast is readFields with rego.DecodeMembers: ok is false, and
// nothing read, when the line is not the usual.
func readFieldsFast(text string, fs *lineFields) (ok bool, err error) {
	members, ok := rego.DecodeMembers(text)
	if !ok {
		return false, nil
	}
	for _, m := range members {
		f := field{kind: m.Kind(), n: m.Len(), raw: m.Raw, value: m.Value, decoded: true}
		f.str, _ = m.Value.Value.(string)
		if err := fs.add(m.Key, f); err != nil {
			return true, err
		}
	}
	return true, nil
}

// readFieldsExact is readFields with policyfile.LoadJSONObject.
func readFieldsExact(text string, fs *lineFields) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("the line is not valid UTF-8")
	}
	members, err := policyfile.LoadJSONObject(text)
	if err != nil {
		var pe *policyfile.Error
		if errors.As(err, &pe) {
			return fmt.Errorf("not one JSON object: %s", pe.Msg)
		}
		return fmt.Errorf("not one JSON object: %w", err)
	}
	for _, m := range members {
		v := m.Value
		if err := fs.add(m.Key, field{kind: v.Kind, str: v.Str, n: len(v.Items) + len(v.Pairs), raw: m.Raw, slow: v}); err != nil {
			return err
		}
	}
	return nil
}

// parseLine decodes one request line as Python's json.loads does: one
// JSON object and nothing after it, exact field names (an unknown field is
// refused, not ignored), a repeated field keeps its last value.
func parseLine(line []byte) (request, error) {
	var fs lineFields
	if err := readFields(string(line), &fs); err != nil {
		return request{target: map[string]any{}, creds: map[string]any{}}, err
	}
	return requestOf(&fs)
}

// requestOf is the request of a line's fields.
func requestOf(fs *lineFields) (request, error) {
	req := request{target: map[string]any{}, creds: map[string]any{}}
	if f := &fs[fieldRules]; f.set {
		if f.kind != policyfile.Map {
			// Rules.from_dict calls .items().
			return req, fmt.Errorf("\"rules\" must be an object (oslo: AttributeError: '%s' object has no attribute 'items')", pyTypeName(f.kind))
		}
		req.rules, req.emptyRules = f.raw, f.n == 0
	}
	if f := &fs[fieldDefaultRule]; f.set {
		if req.rules == "" {
			return req, fmt.Errorf("\"default_rule\" goes with \"rules\"")
		}
		req.defaultRule.set = true
		switch {
		case f.kind == policyfile.String && f.str != "":
			req.defaultRule.name = f.str
		case f.kind == policyfile.List && f.n > 0:
			// oslo raises TypeError (unhashable) from every lookup of a
			// missing rule; refused here rather than reproduced.
			return req, fmt.Errorf("\"default_rule\" must be a string or null, not a non-empty list")
		default:
			// null, "", and any other value: Rules.__missing__ finds no
			// default rule (not a string, or falsy, or not in the rules).
			req.defaultRule.none = true
		}
	}
	if f := &fs[fieldRule]; f.set {
		switch f.kind {
		case policyfile.String:
			req.rule = f.str
		case policyfile.List, policyfile.Map:
			// self.rules[rule] raises TypeError, after `not self.rules`.
			req.ruleErr = fmt.Sprintf("TypeError: unhashable type: '%s'", pyTypeName(f.kind))
		default:
			req.rule = nil
		}
		if f.kind != policyfile.String && req.rules == "" {
			return req, fmt.Errorf("\"rule\" must be a string with --policy")
		}
	} else if req.rules == "" {
		return req, fmt.Errorf("request has no \"rule\" (a missing rule falls back to the default rule only with \"rules\")")
	}
	if s, ok := req.rule.(string); ok && !utf8.ValidString(s) {
		return req, fmt.Errorf("rule: the name %s holds a lone surrogate: %w", python.StrReprWTF8(s), rego.ErrUnrepresentable)
	}
	for _, f := range []struct {
		name  string
		field int
		dst   *any
	}{{"target", fieldTarget, &req.target}, {"creds", fieldCreds, &req.creds}} {
		if fs[f.field].set {
			// With the key order: Python prints dicts in JSON order.
			v, err := fs[f.field].ordered()
			if err != nil {
				return req, fmt.Errorf("%s: %w", f.name, err)
			}
			*f.dst = v
		}
	}
	return req, nil
}

func pyTypeName(k policyfile.Kind) string {
	switch k {
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

// decide answers line n.
func (b *Batch) decide(ctx context.Context, cache *engineCache, memos *memos, n int, line []byte) answer {
	fail := func(format string, args ...any) answer {
		return answer{Error: fmt.Sprintf("line %d: ", n) + fmt.Sprintf(format, args...)}
	}
	if b.PolicyErr != nil {
		return fail("loading the policy: %s", oneLine(b.PolicyErr.Error()))
	}
	req, err := parseLine(line)
	if err != nil {
		return fail("%v", err)
	}
	eng := b.Policy
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
	switch {
	case b.Explain && isName:
		d, err = eng.Explain(ctx, rego.Request{Rule: name, Target: req.target, Credentials: req.creds})
	case isName && b.Memo > 0:
		// The decoder has refused what OPA cannot hold: converting only
		// what the rule reads (as Engine.Decide does) fails on nothing
		// the whole input would have failed on.
		d, _, err = memos.get(eng).Decide(ctx, rego.Request{Rule: name, Target: req.target, Credentials: req.creds})
	default:
		var in ast.Value
		if isName {
			// Only what the rule can read is converted (its footprint).
			in, err = eng.Input(rego.Request{Rule: name, Target: req.target, Credentials: req.creds})
		} else {
			in, err = rego.InputValue(req.rule, req.target, req.creds)
		}
		if err != nil {
			return fail("%v", err)
		}
		d, err = eng.DecideInput(ctx, name, in)
	}
	if err != nil {
		return fail("%v", err)
	}
	return answer{Allowed: d.Allowed, Error: d.Error, Explanation: d.Explanation}
}

// memos are the decision memos of a batch's engines, one per engine.
// Like the engine cache they start over when full.
type memos struct {
	size  int
	stats *rego.MemoStats
	mu    sync.Mutex
	of    map[*rego.Engine]*rego.Memo
}

func (ms *memos) get(e *rego.Engine) *rego.Memo {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.of[e]
	if m == nil {
		if len(ms.of) > rulesEngines {
			clear(ms.of)
		}
		m = rego.NewMemo(e, ms.size, ms.stats)
		ms.of[e] = m
	}
	return m
}

// compileRules makes the engine of a request's "rules" map.
func (b *Batch) compileRules(ctx context.Context, rules string, def defaultRule) (*rego.Engine, error) {
	if b.Compile == nil {
		return nil, errors.New("this batch decides no \"rules\" maps")
	}
	opts := b.Options
	switch {
	case def.none:
		opts.NoDefaultRule = true
	case def.set:
		opts.DefaultRule, opts.NoDefaultRule = def.name, false
	}
	layer, err := oslo.ParseLayer("rules", []byte(rules))
	if err != nil {
		return nil, err
	}
	p, err := oslo.Build([]*oslo.Layer{layer}, nil, opts)
	if err != nil {
		return nil, err
	}
	return b.Compile(ctx, p)
}
