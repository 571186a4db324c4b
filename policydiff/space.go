package policydiff

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/rego"
)

// dimKind is what a dimension of the abstraction sets.
type dimKind int

const (
	roleDim dimKind = iota
	credsDim
	targetDim
)

// dim is one dimension of the abstraction: a role (absent, present), a
// credentials path or a target key (missing, a literal, equal to a
// credentials path, a value of its own).
type dim struct {
	kind   dimKind
	key    string
	values []dval
}

// dval is one value of a dimension.
type dval struct {
	label   string
	missing bool
	// own marks a credentials value no other dimension holds unless it
	// equals this one.
	own bool
	v   any
	// eq is the index of the credentials dimension whose value this one
	// takes; -1 for none.
	eq int
}

// space is the abstraction of one rule: dimensions laid out in order
// (credentials first, so that equalities point backwards).
type space struct {
	dims []dim
	size float64
}

// fresh is a value no literal of the abstraction equals.
func fresh(base string, taken map[string]bool) string {
	s := base
	for taken[s] {
		s += "'"
	}
	taken[s] = true
	return s
}

// newSpace lays out v's dimensions. Nodes connected by equalities form
// components; every node of a component may take every literal of the
// component (an equality can carry a literal across), and every
// credentials node may equal an earlier one, so that every pattern of
// equalities the checks can observe is present.
//
// With oslo alone (oslo is set: no raw Rego, nothing the abstraction does
// not model) a missing target key or credentials path decides exactly as
// a value of its own that nothing equals: a %(key)s that is missing makes
// just that check false (oslo's KeyError), a path that is missing too,
// and a value nothing equals fails every comparison. So "missing" is left
// out there, except for system_scope and domain_id, whose truth the
// token's scope reads. Raw Rego tells them apart: both stay.
func newSpace(v *vocab, oslo bool) *space {
	taken := map[string]bool{}
	for _, n := range v.target {
		for _, l := range n.lits {
			if s, ok := l.(string); ok {
				taken[s] = true
			}
		}
	}
	for _, n := range v.creds {
		for _, l := range n.lits {
			if s, ok := l.(string); ok {
				taken[s] = true
			}
		}
	}
	for r := range v.roles {
		taken[r] = true
	}
	other := ""
	if v.otherRole {
		other = fresh("other-role", taken)
	}
	roles := sortedKeys(v.roles)
	if other != "" {
		roles = append(roles, other)
	}
	for k := range v.roleKeys {
		n := getNode(v.target, k)
		for _, r := range roles {
			n.lit(r)
		}
	}
	// Components over credentials and target nodes.
	comp := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := comp[x]; ok && p != x {
			r := find(p)
			comp[x] = r
			return r
		}
		comp[x] = x
		return x
	}
	union := func(a, b string) { comp[find(a)] = find(b) }
	for k, n := range v.creds {
		find("c:" + k)
		for t := range n.adj {
			union("c:"+k, "t:"+t)
		}
	}
	for k := range v.target {
		find("t:" + k)
	}
	lits := map[string]map[string]any{}
	add := func(id string, n *node) {
		r := find(id)
		if lits[r] == nil {
			lits[r] = map[string]any{}
		}
		for c, l := range n.lits {
			lits[r][c] = l
		}
	}
	for k, n := range v.creds {
		add("c:"+k, n)
	}
	for k, n := range v.target {
		add("t:"+k, n)
	}
	s := &space{size: 1}
	credIndex := map[string]int{}
	for _, k := range sortedKeys(v.creds) {
		d := dim{kind: credsDim, key: k}
		if !oslo || k == "system_scope" || k == "domain_id" {
			d.values = append(d.values, dval{label: "missing", missing: true, eq: -1})
		}
		d.values = append(d.values, litValues(lits[find("c:"+k)])...)
		d.values = append(d.values, dval{label: "a value of its own", v: fresh("cred-"+k, taken), eq: -1, own: true})
		for _, j := range sortedKeys(credIndex) {
			if find("c:"+j) == find("c:"+k) {
				d.values = append(d.values, dval{label: "= credentials." + j, eq: credIndex[j]})
			}
		}
		credIndex[k] = len(s.dims)
		s.dims = append(s.dims, d)
	}
	for _, r := range roles {
		s.dims = append(s.dims, dim{kind: roleDim, key: r, values: []dval{{label: "not " + r, eq: -1}, {label: r, eq: -1}}})
	}
	for _, k := range sortedKeys(v.target) {
		n := v.target[k]
		d := dim{kind: targetDim, key: k}
		if !oslo {
			d.values = append(d.values, dval{label: "missing", missing: true, eq: -1})
		}
		d.values = append(d.values, litValues(lits[find("t:"+k)])...)
		for _, c := range sortedKeys(n.adj) {
			d.values = append(d.values, dval{label: "= credentials." + c, eq: credIndex[c]})
		}
		d.values = append(d.values, dval{label: "another value", v: fresh("other-"+k, taken), eq: -1})
		s.dims = append(s.dims, d)
	}
	for _, d := range s.dims {
		s.size *= float64(len(d.values))
	}
	return s
}

func litValues(m map[string]any) []dval {
	var out []dval
	for _, c := range sortedKeys(m) {
		l := m[c]
		label := fmt.Sprint(l)
		if _, ok := l.(string); !ok {
			label = c
		}
		out = append(out, dval{label: label, v: l, eq: -1})
	}
	return out
}

// resolve is the value dimension i holds at point p: its own, or that of
// the credentials dimension it equals; ok=false when it equals one that
// does not hold a value of its own (the point repeats another).
func (s *space) resolve(p []int, i int) (dval, bool) {
	dv := s.dims[i].values[p[i]]
	if dv.eq < 0 {
		return dv, true
	}
	src := s.dims[dv.eq].values[p[dv.eq]]
	if !src.own {
		return dval{}, false
	}
	return dval{label: dv.label, v: src.v, eq: -1}, true
}

// request builds the request of point p for rule; ok=false when p only
// repeats another point.
func (s *space) request(rule string, p []int) (rego.Request, bool) {
	roles := []any{}
	creds := map[string]any{}
	target := map[string]any{}
	for i, d := range s.dims {
		dv, ok := s.resolve(p, i)
		if !ok {
			return rego.Request{}, false
		}
		switch d.kind {
		case roleDim:
			if p[i] == 1 {
				roles = append(roles, d.key)
			}
		case credsDim:
			if !dv.missing && !setPath(creds, strings.Split(d.key, "."), dv.v) {
				return rego.Request{}, false
			}
		case targetDim:
			if !dv.missing {
				target[d.key] = dv.v
			}
		}
	}
	creds["roles"] = roles
	return rego.Request{Rule: rule, Target: target, Credentials: creds}, true
}

// setPath sets a dot path in nested objects; false when a shorter path
// already holds a scalar there (such points are left out).
func setPath(m map[string]any, path []string, v any) bool {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			nm := map[string]any{}
			m[k] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return false
		}
		m = nm
	}
	if _, ok := m[path[len(path)-1]]; ok {
		return false
	}
	m[path[len(path)-1]] = v
	return true
}

// points calls fn for every point of the space when it has at most max,
// in order (exhaustive=true), or for sample points drawn at random with
// seed.
func (s *space) points(max, sample int, seed uint64, fn func(p []int)) (exhaustive bool) {
	p := make([]int, len(s.dims))
	if s.size <= float64(max) {
		for {
			fn(p)
			i := len(p) - 1
			for ; i >= 0; i-- {
				p[i]++
				if p[i] < len(s.dims[i].values) {
					break
				}
				p[i] = 0
			}
			if i < 0 {
				return true
			}
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x6469666600))
	for n := 0; n < sample; n++ {
		for i, d := range s.dims {
			p[i] = r.IntN(len(d.values))
		}
		fn(p)
	}
	return false
}

// index is p's position in the enumeration order.
func (s *space) index(p []int) int {
	idx := 0
	for i, d := range s.dims {
		idx = idx*len(d.values) + p[i]
	}
	return idx
}

// describe is the condition a cube stands for: the dimensions it
// restricts, each with the values it allows.
func (s *space) describe(cube [][]bool) string {
	var parts []string
	for i, d := range s.dims {
		var in, out []string
		for j, ok := range cube[i] {
			if ok {
				in = append(in, d.values[j].label)
			} else {
				out = append(out, d.values[j].label)
			}
		}
		if len(out) == 0 {
			continue
		}
		switch d.kind {
		case roleDim:
			parts = append(parts, in[0])
			continue
		}
		name := "target." + d.key
		if d.kind == credsDim {
			name = "credentials." + d.key
		}
		switch {
		case len(in) == 1 && ownValue(in[0]) && len(out) == 1:
			parts = append(parts, name+" "+notText(out[0]))
		case len(in) == 1:
			parts = append(parts, name+" "+isText(in[0]))
		case len(out) == 1 && (len(in) > 3 || !ownValue(out[0])):
			parts = append(parts, name+" "+notText(out[0]))
		case len(in) <= 3:
			parts = append(parts, name+" in {"+strings.Join(in, ", ")+"}")
		case len(out) < len(in):
			parts = append(parts, name+" not in {"+strings.Join(out, ", ")+"}")
		default:
			parts = append(parts, name+" in {"+strings.Join(in, ", ")+"}")
		}
	}
	if len(parts) == 0 {
		return "any request"
	}
	sort.SliceStable(parts, func(i, j int) bool { return rank(parts[i]) < rank(parts[j]) })
	return strings.Join(parts, ", ")
}

// rank puts roles first, then credentials, then the target.
func rank(s string) int {
	switch {
	case strings.HasPrefix(s, "credentials."):
		return 1
	case strings.HasPrefix(s, "target."):
		return 2
	}
	return 0
}

// ownValue reports whether label is a value no literal equals: "not
// that" reads worse than the few values left.
func ownValue(label string) bool { return label == "another value" || label == "a value of its own" }

// isText and notText say that a dimension holds, or does not hold, the
// value labelled label.
func isText(label string) string {
	switch {
	case label == "missing":
		return "missing"
	case ownValue(label):
		return "is " + label
	case strings.HasPrefix(label, "= "):
		return label
	}
	return "= " + label
}

func notText(label string) string {
	switch {
	case label == "missing":
		return "present"
	case ownValue(label):
		return "not " + label
	case strings.HasPrefix(label, "= "):
		return "≠ " + strings.TrimPrefix(label, "= ")
	}
	return "≠ " + label
}
