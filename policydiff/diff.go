package policydiff

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// Options shape a diff.
type Options struct {
	// Rules are the rule names to compare (none: every rule either side
	// defines).
	Rules []string
	// MaxRequests is the most abstract requests decided per rule (default
	// DefaultMaxRequests): an abstraction up to that size is enumerated
	// whole, a larger one is sampled and the result is not exhaustive.
	MaxRequests int
	// Sample is how many requests are drawn from a larger abstraction
	// (default DefaultSample).
	Sample int
	// Seed seeds the samples (the same seed, the same requests).
	Seed uint64
	// MaxDifferences is the most conditions reported per rule (default 8).
	MaxDifferences int
}

// DefaultMaxRequests and DefaultSample are Options.MaxRequests' and
// Options.Sample's defaults.
const (
	DefaultMaxRequests = 20000
	DefaultSample      = 2000
)

// Report is the result of a diff.
type Report struct {
	Old   string     `json:"old"`
	New   string     `json:"new"`
	Rules []RuleDiff `json:"rules"`
}

// RuleDiff is what a diff found for one rule.
type RuleDiff struct {
	Rule string `json:"rule"`
	// Differs is true when some request is decided differently.
	Differs bool `json:"differs"`
	// Exhaustive is true when every request of an abstraction that covers
	// all the rule reads was decided (or both sides reach the very same
	// rules): "no difference" is then a proof.
	Exhaustive bool `json:"exhaustive"`
	// Identical is true when both sides reach the same oslo rules with
	// the same options, so nothing needed deciding.
	Identical bool `json:"identical,omitempty"`
	// Requests is how many abstract requests were decided; Space the size
	// of the abstraction (an upper bound: some points repeat others).
	Requests int     `json:"requests"`
	Space    float64 `json:"space"`
	// Differing is how many decided requests differ.
	Differing int `json:"differing_requests"`
	// Differences describe them: one condition per group, each with an
	// example (at most Options.MaxDifferences).
	Differences []Difference `json:"differences,omitempty"`
	// NotExhaustive says why the search is not a proof.
	NotExhaustive []string `json:"not_exhaustive_because,omitempty"`
}

// Difference is one group of requests the two sides decide differently.
type Difference struct {
	// Condition describes the group; with an exhaustive search every
	// request of the abstraction that meets it differs the same way.
	Condition string       `json:"condition"`
	Old       string       `json:"old"`
	New       string       `json:"new"`
	Example   rego.Request `json:"example"`
	OldError  string       `json:"old_error,omitempty"`
	NewError  string       `json:"new_error,omitempty"`
}

// Diff compares old and new rule by rule (see the package documentation).
func Diff(ctx context.Context, old, new *Side, o Options) (*Report, error) {
	if o.MaxRequests <= 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Sample <= 0 {
		o.Sample = DefaultSample
	}
	if o.MaxDifferences <= 0 {
		o.MaxDifferences = 8
	}
	var sides [2]parsed
	for i, s := range []*Side{old, new} {
		mods, err := parseModules(s)
		if err != nil {
			return nil, err
		}
		sides[i] = parsed{s, mods}
	}
	names := o.Rules
	if len(names) == 0 {
		names = ruleNames(sides[:])
	}
	rep := &Report{Old: old.Name, New: new.Name, Rules: make([]RuleDiff, len(names))}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rep.Rules[i], errs[i] = diffRule(ctx, names[i], sides[0], sides[1], o)
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// parsed is a side with its raw modules parsed (see parseModules).
type parsed struct {
	*Side
	mods []*ast.Module
}

// ruleNames are the names either side defines, sorted.
func ruleNames(sides []parsed) []string {
	set := map[string]bool{}
	for _, s := range sides {
		if s.Policy != nil {
			for _, r := range s.Policy.Rules {
				set[r.Name] = true
			}
			continue
		}
		for _, m := range s.mods {
			for _, r := range m.Rules {
				ref := r.Head.Ref()
				if len(ref) == 2 && ref[0].Equal(ast.VarTerm("rules")) {
					if n, ok := ref[1].Value.(ast.String); ok {
						set[string(n)] = true
					}
				}
			}
		}
	}
	return sortedKeys(set)
}

// sideVocab adds what side reads for rule to v; it reports whether raw
// Rego is reached.
func sideVocab(s parsed, rule string, v *vocab) bool {
	if s.Policy == nil {
		v.why[s.Name+" records no oslo sources: what its translated rules read is unknown"] = true
		regoVocab(s.Side, rule, v, s.mods, nil)
		return true
	}
	c := &collector{p: s.Policy, v: v, seen: map[string]bool{}}
	c.rule(rule)
	if s.Policy.Options.EnforceScope && len(s.Policy.Scopes[rule]) > 0 {
		getNode(v.creds, "system_scope").lit("all")
		getNode(v.creds, "domain_id")
	}
	if c.rego {
		regoVocab(s.Side, rule, v, s.mods, c)
	}
	return c.rego
}

func diffRule(ctx context.Context, rule string, oldp, newp parsed, o Options) (RuleDiff, error) {
	old, new := oldp.Side, newp.Side
	rd := RuleDiff{Rule: rule}
	v := newVocab()
	oldRego := sideVocab(oldp, rule, v)
	newRego := sideVocab(newp, rule, v)
	if !oldRego && !newRego && fingerprint(old.Policy, rule) == fingerprint(new.Policy, rule) {
		rd.Exhaustive, rd.Identical = true, true
		return rd, nil
	}
	for a := range v.creds {
		for b := range v.creds {
			if strings.HasPrefix(b, a+".") {
				// A request cannot hold both a value at a and an object below it.
				v.why[fmt.Sprintf("credentials path %s is read both as a value and as the object holding %s", a, b)] = true
			}
		}
	}
	sp := newSpace(v, !oldRego && !newRego && len(v.why) == 0)
	rd.Space = sp.size
	h := fnv.New64a()
	h.Write([]byte(rule))
	var res []byte
	exhaustiveSpace := sp.size <= float64(o.MaxRequests)
	if exhaustiveSpace {
		res = make([]byte, int(sp.size))
	}
	// found is a differing request of a sample.
	type found struct {
		req     rego.Request
		sampled []int
	}
	var diffs []found
	var ferr error
	sp.points(o.MaxRequests, o.Sample, o.Seed^h.Sum64(), func(p []int) {
		if ferr != nil {
			return
		}
		req, ok := sp.request(rule, p)
		if !ok {
			return
		}
		od, err := old.Engine.Decide(ctx, req)
		if err != nil {
			ferr = err
			return
		}
		nd, err := new.Engine.Decide(ctx, req)
		if err != nil {
			ferr = err
			return
		}
		rd.Requests++
		out := byte(1)
		if od.Allowed != nd.Allowed {
			out = 2
			if nd.Allowed {
				out = 3
			}
			rd.Differing++
		}
		if res != nil {
			res[sp.index(p)] = out
			return
		}
		if out > 1 && len(diffs) < 2*o.MaxDifferences {
			pc := append([]int(nil), p...)
			diffs = append(diffs, found{req: req, sampled: pc})
		}
	})
	if ferr != nil {
		return rd, fmt.Errorf("rule %s: %w", rule, ferr)
	}
	rd.Differs = rd.Differing > 0
	rd.Exhaustive = exhaustiveSpace && len(v.why) == 0
	if !rd.Exhaustive {
		rd.NotExhaustive = sortedKeys(v.why)
		if !exhaustiveSpace {
			rd.NotExhaustive = append(rd.NotExhaustive, fmt.Sprintf("the abstraction has %.0f requests (more than %d); %d drawn at random (seed %d)", sp.size, o.MaxRequests, o.Sample, o.Seed))
		}
	}
	if res != nil {
		for _, out := range []byte{2, 3} {
			for _, c := range sp.cover(res, out, o.MaxDifferences-len(rd.Differences)) {
				req, _ := sp.request(rule, c.example)
				d, err := difference(ctx, old, new, req)
				if err != nil {
					return rd, err
				}
				d.Condition = sp.describe(c.cube)
				rd.Differences = append(rd.Differences, d)
			}
		}
		return rd, nil
	}
	seen := map[string]bool{}
	for _, f := range diffs {
		if len(rd.Differences) == o.MaxDifferences {
			break
		}
		d, err := difference(ctx, old, new, f.req)
		if err != nil {
			return rd, err
		}
		cube, err := axes(ctx, sp, rule, f.sampled, old, new, d.Old, d.New)
		if err != nil {
			return rd, err
		}
		d.Condition = "e.g. " + sp.describe(cube)
		if d.Condition == "e.g. any request" {
			d.Condition = "e.g. this request (no single change of it ends the difference)"
		}
		if !seen[d.Condition+d.Old] {
			seen[d.Condition+d.Old] = true
			rd.Differences = append(rd.Differences, d)
		}
	}
	return rd, nil
}

// axes is what matters around a differing request p of a sampled space:
// for each dimension, the values that, changed alone, keep the same two
// decisions (every value: the dimension does not matter here).
func axes(ctx context.Context, sp *space, rule string, p []int, old, new *Side, od, nd string) ([][]bool, error) {
	cube := make([][]bool, len(sp.dims))
	q := append([]int(nil), p...)
	for i, d := range sp.dims {
		cube[i] = make([]bool, len(d.values))
		for j := range d.values {
			q[i] = j
			req, ok := sp.request(rule, q)
			if j == p[i] || !ok {
				cube[i][j] = true
				continue
			}
			x, err := difference(ctx, old, new, req)
			if err != nil {
				return nil, err
			}
			cube[i][j] = x.Old == od && x.New == nd
		}
		q[i] = p[i]
	}
	return cube, nil
}

func difference(ctx context.Context, old, new *Side, req rego.Request) (Difference, error) {
	od, err := old.Engine.Decide(ctx, req)
	if err != nil {
		return Difference{}, err
	}
	nd, err := new.Engine.Decide(ctx, req)
	if err != nil {
		return Difference{}, err
	}
	return Difference{Old: word(od.Allowed), New: word(nd.Allowed), Example: req, OldError: od.Error, NewError: nd.Error}, nil
}

func word(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// fingerprint is the structure of every oslo rule that deciding rule can
// reach in p, as resolved (default rule fallbacks included), with the
// options and scope types that change the decision: equal fingerprints
// decide every request alike.
func fingerprint(p *oslo.Policy, rule string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "scope=%v:%q|", p.Options.EnforceScope, p.Scopes[rule])
	seen := map[string]bool{}
	var visit func(name string)
	var check func(c oslo.Check)
	visit = func(name string) {
		resolved, ok := p.Resolve(name)
		fmt.Fprintf(&b, "%q->%q,%v;", name, resolved, ok)
		if !ok || seen[resolved] {
			return
		}
		seen[resolved] = true
		fmt.Fprintf(&b, "def %q{", resolved)
		check(p.Rule(resolved).Check)
		b.WriteString("}")
	}
	check = func(c oslo.Check) {
		switch n := c.(type) {
		case *oslo.AndCheck:
			b.WriteString("and(")
			for _, r := range n.Rules {
				check(r)
			}
			b.WriteString(")")
		case *oslo.OrCheck:
			b.WriteString("or(")
			for _, r := range n.Rules {
				check(r)
			}
			b.WriteString(")")
		case *oslo.NotCheck:
			b.WriteString("not(")
			check(n.Rule)
			b.WriteString(")")
		case *oslo.RuleCheck:
			fmt.Fprintf(&b, "rule(%q", n.Name)
			visit(n.Name)
			b.WriteString(")")
		default:
			fmt.Fprintf(&b, "%T(%q)", c, c.String())
		}
	}
	visit(rule)
	return b.String()
}

// cubeOf is one group of differing requests: a cube of the space, and
// the point it grew from.
type cubeOf struct {
	cube    [][]bool
	example []int
}

// cover groups the points of outcome out into at most max cubes, each
// grown greedily from an uncovered point one dimension at a time: first
// to every value of the dimension, else value by value, as long as every
// point of the cube (that is not a repeat) has outcome out.
func (s *space) cover(res []byte, out byte, max int) []cubeOf {
	var cubes []cubeOf
	covered := make([]bool, len(res))
	for idx := range res {
		if len(cubes) >= max {
			break
		}
		if res[idx] != out || covered[idx] {
			continue
		}
		p := s.decode(idx)
		cube := make([][]bool, len(s.dims))
		for i, d := range s.dims {
			cube[i] = make([]bool, len(d.values))
			cube[i][p[i]] = true
		}
		order := make([]int, len(s.dims))
		for i := range order {
			order[i] = i
		}
		// Roles first: conditions read best with few role terms.
		sort.SliceStable(order, func(a, b int) bool { return s.dims[order[a]].kind == roleDim && s.dims[order[b]].kind != roleDim })
		for _, i := range order {
			saved := append([]bool(nil), cube[i]...)
			for j := range cube[i] {
				cube[i][j] = true
			}
			if s.all(res, cube, out, nil) {
				continue
			}
			copy(cube[i], saved)
			for j := range cube[i] {
				if cube[i][j] {
					continue
				}
				cube[i][j] = true
				if !s.all(res, cube, out, nil) {
					cube[i][j] = false
				}
			}
		}
		s.all(res, cube, out, covered)
		cubes = append(cubes, cubeOf{cube: cube, example: p})
	}
	return cubes
}

// all reports whether every point of cube that is not a repeat has
// outcome out; with mark, it marks them instead.
func (s *space) all(res []byte, cube [][]bool, out byte, mark []bool) bool {
	p := make([]int, len(s.dims))
	var rec func(i, idx int) bool
	rec = func(i, idx int) bool {
		if i == len(s.dims) {
			if res[idx] != 0 && res[idx] != out {
				return false
			}
			if mark != nil {
				mark[idx] = true
			}
			return true
		}
		n := len(s.dims[i].values)
		for j := 0; j < n; j++ {
			if !cube[i][j] {
				continue
			}
			p[i] = j
			if !rec(i+1, idx*n+j) && mark == nil {
				return false
			}
		}
		return true
	}
	return rec(0, 0)
}

// decode is the point at position idx of the enumeration order.
func (s *space) decode(idx int) []int {
	p := make([]int, len(s.dims))
	for i := len(s.dims) - 1; i >= 0; i-- {
		n := len(s.dims[i].values)
		p[i] = idx % n
		idx /= n
	}
	return p
}
