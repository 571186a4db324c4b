package rego

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Rule values in a decision's memo.
const (
	memoNone uint8 = iota
	memoTrue
	memoFalse
	memoUndef
)

// nState is one native decision: the input, the rules' values so far,
// the bodies' slots, and whether the decision must go to OPA.
type nState struct {
	target, creds any // ast.Object or map[string]any
	memo          []uint8
	stack         []nval
	fallback      bool
	rolesDone     bool
	roles         []string
}

// decide evaluates holds rule id on a sane input whose target and
// credentials are objects (OPA's or Go's). ok is false when the decision
// must go to OPA instead: a value the native code does not render as the
// library does, a conflict OPA reports as an error, or a panic.
func (p *nativeProgram) decide(id int32, target, creds any) (allowed, ok bool) {
	st := p.states.Get().(*nState)
	defer func() {
		if r := recover(); r != nil {
			// Fail to OPA, never to an allow; the state is dropped.
			allowed, ok = false, false
			return
		}
		st.target, st.creds, st.roles = nil, nil, st.roles[:0]
		p.states.Put(st)
	}()
	clear(st.memo)
	st.target, st.creds, st.fallback, st.rolesDone = target, creds, false, false
	st.stack = st.stack[:0]
	v := p.eval(st, id)
	if st.fallback {
		return false, false
	}
	return v == memoTrue, true
}

// eval is rule id's value, memoised for the decision.
func (p *nativeProgram) eval(st *nState, id int32) uint8 {
	if v := st.memo[id]; v != memoNone {
		return v
	}
	r := &p.rules[id]
	res := memoUndef
	for i := range r.bodies {
		b := &r.bodies[i]
		if !p.body(st, b) {
			if st.fallback {
				return memoNone
			}
			continue
		}
		v := memoFalse
		if b.value {
			v = memoTrue
		}
		if res != memoUndef && res != v {
			// Two values: OPA reports a conflict.
			st.fallback = true
			return memoNone
		}
		res = v
		if r.uniform {
			break
		}
	}
	st.memo[id] = res
	return res
}

// body reports whether every expression of b holds.
func (p *nativeProgram) body(st *nState, b *nBody) bool {
	base := len(st.stack)
	for range b.slots {
		st.stack = append(st.stack, nval{})
	}
	defer func() { st.stack = st.stack[:base] }()
	for i := range b.ops {
		op := &b.ops[i]
		holds := p.op(st, op, base)
		if st.fallback {
			return false
		}
		if holds == op.neg {
			return false
		}
	}
	return true
}

func (st *nState) arg(a nArg, base int) nval {
	if a.slot < 0 {
		return a.c
	}
	return st.stack[base+int(a.slot)]
}

// op evaluates one expression, before its negation.
func (p *nativeProgram) op(st *nState, op *nOp, base int) bool {
	switch op.code {
	case opConst:
		return op.val.b
	case opRule:
		return p.eval(st, op.rule) == memoTrue
	case opRoles:
		st.stack[base+int(op.out)] = nval{k: nRoles}
		return true
	case opCopy:
		st.stack[base+int(op.out)] = st.arg(op.args[0], base)
		return true
	case opEqual:
		a, b := st.arg(op.args[0], base), st.arg(op.args[1], base)
		switch {
		case a.k == nStr && b.k == nStr:
			return a.s == b.s
		case a.k == nStr && b.k == nOther, a.k == nOther && b.k == nStr:
			return false
		}
		st.fallback = true
		return false
	case opIsString:
		return st.arg(op.args[0], base).k == nStr
	case opMember:
		a := st.arg(op.args[0], base)
		if a.k != nStr {
			st.fallback = a.k != nOther
			return false
		}
		roles, ok := st.lowerRoles()
		if !ok {
			st.fallback = true
			return false
		}
		for _, r := range roles {
			if r == a.s {
				return true
			}
		}
		return false
	case opValue:
		v, ok := st.value(st.arg(op.args[0], base))
		st.stack[base+int(op.out)] = v
		st.fallback = !ok
		return true
	case opText:
		a := st.arg(op.args[0], base)
		st.stack[base+int(op.out)] = a
		st.fallback = a.k != nStr
		return true
	case opFormat:
		v, ok := st.format(op.segs)
		st.stack[base+int(op.out)] = v
		st.fallback = !ok
		return true
	case opPyLower:
		a := st.arg(op.args[0], base)
		if a.k != nStr || specialLower(a.s) {
			st.fallback = true
			return false
		}
		st.stack[base+int(op.out)] = nval{k: nStr, s: strings.ToLower(a.s)}
		return true
	case opCredsEq:
		holds, ok := st.credsEq(st.arg(op.args[0], base), st.arg(op.args[1], base))
		st.fallback = !ok
		return holds
	case opCredsPath:
		holds, ok := st.credsPath(op.path, st.arg(op.args[1], base))
		st.fallback = !ok
		return holds
	}
	st.fallback = true
	return false
}

// specialLower reports whether s holds a character Go's lower-casing (the
// library's lower()) does not lower-case as Python does; the library
// lower-cases those strings character by character, which is left to OPA.
func specialLower(s string) bool {
	return strings.Contains(s, "Σ") || strings.Contains(s, "İ")
}

// lookup is obj[key] for an OPA or Go object.
func lookup(obj any, key nval) (any, bool) {
	switch o := obj.(type) {
	case ast.Object:
		t := key.t
		if t == nil {
			t = ast.StringTerm(key.s)
		}
		if v := o.Get(t); v != nil {
			return v.Value, true
		}
	case map[string]any:
		v, ok := o[key.s]
		return v, ok
	}
	return nil, false
}

// asString is x when it is a string.
func asString(x any) (string, bool) {
	switch v := x.(type) {
	case ast.String:
		return string(v), true
	case string:
		return v, true
	}
	return "", false
}

// pyStr is the library's py_str_at of x's JSON text: Python's str() of a
// string, bool, null or integer. ok is false for anything else (floats,
// containers), and for strings that would not survive the library's JSON
// round trip unchanged.
func pyStr(x any) (string, bool) {
	switch v := x.(type) {
	case ast.String:
		return string(v), utf8.ValidString(string(v))
	case string:
		return v, utf8.ValidString(v)
	case ast.Boolean:
		return pyBool(bool(v)), true
	case bool:
		return pyBool(v), true
	case ast.Null, nil:
		return "None", true
	case ast.Number:
		return intText(string(v))
	case json.Number:
		return intText(string(v))
	}
	return "", false
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// intText is the library's rendering of an integer's JSON text: the text
// itself, -0 as 0. ok is false for any other number text.
func intText(t string) (string, bool) {
	if t == "-0" {
		return "0", true
	}
	d := strings.TrimPrefix(t, "-")
	if d == "" || (len(d) > 1 && d[0] == '0') {
		return "", false
	}
	for i := range len(d) {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return t, true
}

// value is lib.value(key) for a target object.
func (st *nState) value(key nval) (nval, bool) {
	if key.k != nStr {
		return nval{}, false
	}
	v, ok := lookup(st.target, key)
	if !ok {
		return nval{k: nOther}, true // {"missing": key}
	}
	if s, ok := asString(v); ok {
		return nval{k: nStr, s: s}, true
	}
	s, ok := pyStr(v)
	return nval{k: nStr, s: s}, ok
}

// format is lib.format(segs, _) for a target object and segments of
// literals and %s, %r and %a conversions of keys. Every segment is
// rendered, as the library's comprehension does, before a missing key
// makes the result {"missing": key}.
func (st *nState) format(segs []fmtSeg) (nval, bool) {
	var b strings.Builder
	missing := false
	for i := range segs {
		s := &segs[i]
		if s.lit {
			b.WriteString(s.text)
			continue
		}
		v, ok := lookup(st.target, s.key)
		if !ok {
			missing = true
			continue
		}
		text, ok := convertSeg(v, s)
		if !ok {
			return nval{}, false
		}
		b.WriteString(text)
	}
	if missing {
		return nval{k: nOther}, true
	}
	return nval{k: nStr, s: b.String()}, true
}

// convertSeg is the library's _convert of x for a %s, %r or %a segment.
func convertSeg(x any, s *fmtSeg) (string, bool) {
	var text string
	if str, isStr := asString(x); isStr && s.conv != 's' {
		if !utf8.ValidString(str) {
			return "", false
		}
		r, ok := reprASCII(str)
		if !ok {
			return "", false
		}
		text = r
	} else {
		t, ok := pyStr(x)
		if !ok {
			return "", false
		}
		text = t
	}
	if s.prec >= 0 && utf8.RuneCountInString(text) > s.prec {
		text = string([]rune(text)[:s.prec])
	}
	if n := utf8.RuneCountInString(text); n < s.width {
		pad := strings.Repeat(" ", s.width-n)
		if s.left {
			return text + pad, true
		}
		return pad + text, true
	}
	return text, true
}

// reprASCII is the library's py_str_repr for a string of printable ASCII
// (its first branch); ok is false for any other string.
func reprASCII(s string) (string, bool) {
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return "", false
		}
	}
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"`, true
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'", true
}

// credsEq is lib.creds_eq(key, m) for a credentials object.
func (st *nState) credsEq(key, m nval) (holds, ok bool) {
	if key.k != nStr {
		return false, false
	}
	if m.k != nStr {
		return false, m.k == nOther
	}
	v, found, ok := st.cred(key)
	if !ok || !found {
		return false, ok
	}
	if s, isStr := asString(v); isStr {
		return s == m.s, true
	}
	sure := true
	switch a := v.(type) {
	case *ast.Array:
		for i := range a.Len() {
			s, ok := pyStr(a.Elem(i).Value)
			if ok && s == m.s {
				return true, true
			}
			sure = sure && ok
		}
		return false, sure
	case []any:
		for _, e := range a {
			s, ok := pyStr(e)
			if ok && s == m.s {
				return true, true
			}
			sure = sure && ok
		}
		return false, sure
	}
	s, ok := pyStr(v)
	return ok && s == m.s, ok
}

// credsPath is lib.creds_path(path, m): oslo's _find_in_dict along path
// from the credentials, fanning out over lists. ok is false, for OPA's
// exact rules to decide, unless the walk indexes objects alone (where oslo
// would raise, or could, depending on the order it walks in) and every
// value it reaches renders as the library renders it.
func (st *nState) credsPath(path []nval, m nval) (holds, ok bool) {
	if m.k != nStr {
		return false, m.k == nOther
	}
	v, found, ok := st.cred(path[0])
	if !ok || !found {
		return false, ok
	}
	return walkPath(v, path[1:], m.s)
}

// walkPath continues the walk at v, a value reached by a key: a list fans
// out over its elements.
func walkPath(v any, rest []nval, m string) (holds, ok bool) {
	switch a := v.(type) {
	case *ast.Array:
		for i := range a.Len() {
			h, ok := walkStep(a.Elem(i).Value, rest, m)
			if !ok {
				return false, false
			}
			holds = holds || h
		}
		return holds, true
	case []any:
		for _, e := range a {
			h, ok := walkStep(e, rest, m)
			if !ok {
				return false, false
			}
			holds = holds || h
		}
		return holds, true
	}
	return walkStep(v, rest, m)
}

// walkStep is one _find_in_dict call: compare v at the end of the path,
// else index it, which only an object allows without raising.
func walkStep(v any, rest []nval, m string) (holds, ok bool) {
	if len(rest) == 0 {
		s, ok := pyStr(v)
		return ok && s == m, ok
	}
	if !isObject(v) {
		return false, false
	}
	next, found := lookup(v, rest[0])
	if !found {
		return false, true
	}
	return walkPath(next, rest[1:], m)
}

var (
	keySystem      = nval{k: nStr, s: "system", t: ast.StringTerm("system")}
	keySystemScope = nval{k: nStr, s: "system_scope", t: ast.StringTerm("system_scope")}
	keyRolesVal    = nval{k: nStr, s: "roles", t: ast.StringTerm("roles")}
)

// cred is lib.creds[key]: the credentials, with a truthy system_scope
// copied to "system" (by object.union, which merges two objects: left to
// OPA).
func (st *nState) cred(key nval) (v any, found, ok bool) {
	if key.s == "system" {
		if ss, has := lookup(st.creds, keySystemScope); has {
			t, sure := truthy(ss)
			if !sure {
				return nil, false, false
			}
			if t {
				old, had := lookup(st.creds, keySystem)
				if had && isObject(old) && isObject(ss) {
					return nil, false, false
				}
				return ss, true, true
			}
		}
	}
	v, found = lookup(st.creds, key)
	return v, found, true
}

func isObject(x any) bool {
	switch x.(type) {
	case ast.Object, map[string]any:
		return true
	}
	return false
}

// truthy is the library's truthy() of a JSON value; sure is false for a
// number other than an integer.
func truthy(x any) (t, sure bool) {
	switch v := x.(type) {
	case ast.Null, nil:
		return false, true
	case ast.Boolean:
		return bool(v), true
	case bool:
		return v, true
	case ast.String:
		return v != "", true
	case string:
		return v != "", true
	case ast.Number:
		return intTruthy(string(v))
	case json.Number:
		return intTruthy(string(v))
	case *ast.Array:
		return v.Len() > 0, true
	case []any:
		return len(v) > 0, true
	case ast.Object:
		return v.Len() > 0, true
	case map[string]any:
		return len(v) > 0, true
	}
	return false, false
}

func intTruthy(t string) (bool, bool) {
	s, ok := intText(t)
	return s != "0", ok
}

// lowerRoles is lib.roles for sane credentials: the roles lower-cased
// (an array's elements, a string's characters, an object's keys).
func (st *nState) lowerRoles() ([]string, bool) {
	if st.rolesDone {
		return st.roles, true
	}
	v, found := lookup(st.creds, keyRolesVal)
	st.roles = st.roles[:0]
	add := func(s string) bool {
		if specialLower(s) {
			return false
		}
		st.roles = append(st.roles, strings.ToLower(s))
		return true
	}
	if found {
		switch r := v.(type) {
		case *ast.Array:
			for i := range r.Len() {
				s, ok := r.Elem(i).Value.(ast.String)
				if !ok || !add(string(s)) {
					return nil, false
				}
			}
		case []any:
			for _, e := range r {
				s, ok := e.(string)
				if !ok || !add(s) {
					return nil, false
				}
			}
		case ast.String, string:
			s, _ := asString(r)
			if !utf8.ValidString(s) {
				return nil, false
			}
			for _, c := range s {
				if !add(string(c)) {
					return nil, false
				}
			}
		case ast.Object:
			ok := true
			r.Foreach(func(k, _ *ast.Term) {
				s, isStr := k.Value.(ast.String)
				ok = ok && isStr && add(string(s))
			})
			if !ok {
				return nil, false
			}
		case map[string]any:
			for k := range r {
				if !add(k) {
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	st.rolesDone = true
	return st.roles, true
}

// decideNativeGo decides req natively on its Go values, without converting
// them to OPA's form; ok is false when the decision must take the usual
// way. The input Decide would convert must convert without error (so
// that the native path never answers where the conversion would fail
// closed), and be plainly sane (see saneParts).
func (e *Engine) decideNativeGo(ctx context.Context, req Request) (Decision, bool) {
	id, ok := e.native.byName[req.Rule]
	if !ok || ctx.Err() != nil {
		return Decision{}, false
	}
	target, ok := plain(orEmpty(req.Target)).Value.(map[string]any)
	if !ok {
		return Decision{}, false
	}
	creds, ok := plain(orEmpty(req.Credentials)).Value.(map[string]any)
	if !ok || !plainValue(creds) {
		return Decision{}, false
	}
	switch roles := creds["roles"].(type) {
	case nil:
		if _, has := creds["roles"]; has {
			return Decision{}, false
		}
	case string, map[string]any:
	case []any:
		for _, r := range roles {
			if _, ok := r.(string); !ok {
				return Decision{}, false
			}
		}
	default:
		return Decision{}, false
	}
	// The target as Input converts it: the footprint's keys, which must
	// hold every key the native rule reads.
	if fp := e.Footprint(req.Rule); fp.Whole {
		if !plainValue(target) {
			return Decision{}, false
		}
	} else {
		for _, k := range fp.Target {
			if v, has := target[k]; has && !plainValue(v) {
				return Decision{}, false
			}
		}
		for _, k := range e.native.rules[id].keys {
			if !containsString(fp.Target, k) {
				return Decision{}, false
			}
		}
	}
	allowed, ok := e.native.decide(id, target, creds)
	return Decision{Rule: req.Rule, Allowed: allowed}, ok
}

// containsString reports whether sorted holds s.
func containsString(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// plainValue reports whether x is made of the Go values DecodeJSON gives
// (nil, bool, string, json.Number without an exponent, []any,
// map[string]any), which ast.InterfaceToValue converts without error.
func plainValue(x any) bool {
	switch v := x.(type) {
	case nil, bool, string:
		return true
	case json.Number:
		return !strings.ContainsAny(string(v), "eE")
	case []any:
		for _, e := range v {
			if !plainValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !plainValue(e) {
				return false
			}
		}
		return true
	}
	return false
}
