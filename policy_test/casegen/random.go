package casegen

import (
	"math/rand/v2"
	"strings"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// Pools the random generator draws from. Small on purpose, so that rule:
// references hit, miss and cycle, and so that target and creds values
// often (but not always) coincide.
var (
	rNames     = []string{"a", "b", "c", "default", "admin_or_owner", "compute:create"}
	rRefExtra  = []string{"missing", "A"}
	rRoleNames = []string{"admin", "admin", "Admin", "ADMIN", "member", "member", "reader", "reader", "_member_", "ΑΣ", "ας", "ß", "SS", "", "a:b", "%(r)s", "%(r)s", "%(missing)s", "%(n)d", "a%%b"}
	// rAligned are generic checks that often hold for rCreds / rTarget.
	rAligned = []string{"user_id:%(user_id)s", "project_id:%(project_id)s", "user_id:u1", "project_id:p1", "is_admin:True",
		"tenant:%(project_id)s", "a.b:p2", "a.b:%(k)s", "a.b.c:%(k)s", "token.project.id:%(project_id)s", "system_scope:all", "roles:admin",
		"'admin':%(r)s", "'member':%(k)s", "True:True", "True:%(b)s", "1:1", "0x10:16", "1e3:1000.0", "None:%(none)s", "nested.list.x:%(k)s",
		"n:%(n)s", "'p1':%(project_id)s", "\"u1\":%(user_id)s", "domain_id:d1", "system:all"}
	rCredsRoles = []string{"admin", "Admin", "member", "reader", "_member_", "ας", "ss", "p1"}
	rPathKinds  = []string{"user_id", "project_id", "is_admin", "roles", "system_scope", "system", "domain_id", "tenant", "a.b", "a.b.c", "nested.list.x", "token.project.id", "n", "missing"}
	rLitKinds   = []string{"True", "False", "None", "'admin'", "\"p1\"", "1", "10", "0x10", "1e3", "10.0", "[1,2]", "''", "-1"}
	rBadKinds   = []string{"class", "a..b", "01", "not", "roles.0"}
	rConsts     = []string{"p1", "p2", "u1", "admin", "member", "True", "False", "None", "1", "10", "10.0", "1e+20", "all", "1000.0", "16", "[1,2]", "", "ας"}
	rFormats    = []string{"%(project_id)s", "%(user_id)s", "%(k)s", "%(n)s", "%(f)s", "%(b)s", "%(none)s", "%(missing)s", "%(l)s", "%(d)s", "%(r)s", "%(n)d", "%(k)r", "%(k).2s", "%(f)d", "100%%", "p%(n)s"}
	rOps        = map[string][]string{"and": {"and", "and", "and", "AND", "And"}, "or": {"or", "or", "or", "OR", "oR"}, "not": {"not", "not", "NOT", "Not"}}
	rSpaces     = []string{" ", " ", " ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\u001c"}
	rTargetKeys = []string{"project_id", "user_id", "k", "n", "f", "b", "none", "l", "d", "r"}
)

func pickS(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// rValue is a random JSON value for targets and creds.
func rValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(20); {
	case n < 8:
		return pickS(r, []string{"p1", "p2", "u1", "admin", "member", "True", "None", "", "ας", "10", "all"})
	case n < 12:
		return N(pickS(r, []string{"10", "10.0", "1e20", "-1", "0", "1", "16", "123456789012345678901234567890", "0.5", "1000.0"}))
	case n < 15:
		return []any{true, false, nil}[r.IntN(3)]
	case n < 17 || depth > 1:
		l := L{}
		for i := r.IntN(3); i > 0; i-- {
			l = append(l, rValue(r, depth+1))
		}
		return l
	default:
		m := M{}
		for i := 1 + r.IntN(2); i > 0; i-- {
			m[pickS(r, []string{"a", "b", "id", "x"})] = rValue(r, depth+1)
		}
		return m
	}
}

// rAtom is one check token.
func rAtom(r *rand.Rand, inList bool) string {
	switch n := r.IntN(100); {
	case n < 10:
		return pickS(r, []string{"@", "@", "@", "!"})
	case n < 33:
		return "role:" + pickS(r, rRoleNames)
	case n < 44:
		return "rule:" + pickS(r, append(rNames[:len(rNames):len(rNames)], rRefExtra...))
	case n < 74:
		return pickS(r, rAligned)
	case n < 96:
		var kind string
		switch k := r.IntN(100); {
		case k < 60:
			kind = pickS(r, rPathKinds)
		case k < 96:
			kind = pickS(r, rLitKinds)
		default:
			kind = pickS(r, rBadKinds)
		}
		match := pickS(r, rConsts)
		if chance(r, 0.55) {
			match = pickS(r, rFormats)
		}
		return kind + ":" + match
	case n < 98:
		return pickS(r, []string{"foobar", "@@", "True"}) // colon-less: local !
	default:
		if inList {
			return "role:a b"
		}
		return pickS(r, []string{"'x'", "\"admin\""}) // string token
	}
}

// rExpr builds a policy-language expression as a token list.
func rExpr(r *rand.Rand, depth int) []string {
	if depth >= 3 {
		return []string{rAtom(r, false)}
	}
	switch n := r.IntN(100); {
	case n < 35:
		return []string{rAtom(r, false)}
	case n < 47:
		return append([]string{pickS(r, rOps["not"])}, rExpr(r, depth+1)...)
	case n < 85:
		op := "and"
		if chance(r, 0.65) {
			op = "or"
		}
		out := rExpr(r, depth+1)
		for i := 1 + r.IntN(2); i > 0; i-- {
			out = append(out, pickS(r, rOps[op]))
			out = append(out, rExpr(r, depth+1)...)
		}
		return out
	default:
		return append(append([]string{"("}, rExpr(r, depth+1)...), ")")
	}
}

// rText joins tokens with random whitespace; parens are sometimes glued to
// their neighbour, and with small probability one paren is dropped or added.
func rText(r *rand.Rand, toks []string) string {
	if chance(r, 0.04) {
		i := r.IntN(len(toks) + 1)
		p := pickS(r, []string{"(", ")"})
		toks = append(toks[:i], append([]string{p}, toks[i:]...)...)
	} else if chance(r, 0.04) {
		for i, t := range toks {
			if t == "(" || t == ")" {
				toks = append(toks[:i:i], toks[i+1:]...)
				break
			}
		}
	}
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			glue := (t == ")" || toks[i-1] == "(") && chance(r, 0.6)
			if !glue {
				b.WriteString(pickS(r, rSpaces))
			}
		}
		b.WriteString(t)
	}
	s := b.String()
	if chance(r, 0.05) {
		s = pickS(r, rSpaces) + s + pickS(r, rSpaces)
	}
	return s
}

// rRuleValue is a rule value: mostly text, ~15% legacy lists, a few odd
// scalars.
func rRuleValue(r *rand.Rand) any {
	switch n := r.IntN(100); {
	case n < 4:
		return []any{nil, false, N("0"), L{}, L{L{}}, "", true, N("1")}[r.IntN(8)]
	case n < 19:
		out := L{}
		for i := 1 + r.IntN(3); i > 0; i-- {
			if chance(r, 0.2) {
				out = append(out, rAtom(r, true))
				continue
			}
			inner := L{}
			for j := r.IntN(3); j >= 0; j-- {
				inner = append(inner, rAtom(r, true))
			}
			out = append(out, inner)
		}
		return out
	default:
		return rText(r, rExpr(r, 0))
	}
}

func rTarget(r *rand.Rand) any {
	switch n := r.IntN(100); {
	case n < 2:
		return null
	case n < 3:
		return L{"k"}
	case n < 4:
		return "p1"
	}
	t := M{}
	for _, k := range rTargetKeys {
		if chance(r, 0.7) {
			var v any
			switch k {
			case "project_id":
				v = pickS(r, []string{"p1", "p1", "p2"})
			case "user_id":
				v = pickS(r, []string{"u1", "u1", "u2"})
			case "r":
				v = pickS(r, rCredsRoles)
			default:
				v = rValue(r, 0)
			}
			if chance(r, 0.05) {
				v = nil
			}
			t[k] = v
		}
	}
	return t
}

func rCreds(r *rand.Rand) any {
	switch n := r.IntN(100); {
	case n < 1:
		return L{}
	case n < 2:
		return null
	}
	c := M{}
	if chance(r, 0.85) {
		switch n := r.IntN(100); {
		case n < 2:
			c["roles"] = nil
		case n < 4:
			c["roles"] = "admin"
		case n < 5:
			c["roles"] = L{N("1")}
		default:
			l := L{}
			for i := r.IntN(5); i > 0; i-- {
				l = append(l, pickS(r, rCredsRoles))
			}
			c["roles"] = l
		}
	}
	if chance(r, 0.8) {
		c["project_id"] = pickS(r, []string{"p1", "p1", "p2"})
	}
	if chance(r, 0.8) {
		c["user_id"] = pickS(r, []string{"u1", "u1", "u2"})
	}
	if chance(r, 0.5) {
		c["is_admin"] = []any{true, false, "True", N("1")}[r.IntN(4)]
	}
	if chance(r, 0.2) {
		c["system_scope"] = []any{"all", "", nil}[r.IntN(3)]
	}
	if chance(r, 0.2) {
		c["domain_id"] = pickS(r, []string{"d1", ""})
	}
	if chance(r, 0.3) {
		c["tenant"] = pickS(r, []string{"p1", "p2"})
	}
	if chance(r, 0.4) {
		switch r.IntN(6) {
		case 0:
			c["a"] = "p1" // a.b -> path through a str -> TypeError
		case 1:
			c["a"] = M{"b": M{"c": pickS(r, rConsts)}}
		case 2:
			c["a"] = L{M{"b": "p2"}, M{"b": pickS(r, rConsts)}}
		default:
			c["a"] = M{"b": pickS(r, rConsts)}
		}
	}
	if chance(r, 0.2) {
		c["nested"] = M{"list": L{M{"x": pickS(r, rConsts)}, M{"y": "z"}}}
	}
	if chance(r, 0.2) {
		c["token"] = M{"project": M{"id": pickS(r, []string{"p1", "p2"})}}
	}
	if chance(r, 0.3) {
		c["n"] = rValue(r, 0)
	}
	return c
}

// Random returns a random enforcer-mode case for the differential test
// (math/rand/v2; the same generator state gives the same case), drawing
// from the classes DrawnClasses allows. It never contains http:/https:
// checks.
func Random(r *rand.Rand) oracle.Case {
	c, _ := NewGen(mustDrawnClasses()).Case(r)
	return c
}

// Gen draws the differential's random cases and request lines, adding
// values of each class of issue 9 with its own probability. A class
// outside the Gen's set is still drawn, so that the random stream and every
// case without it stay the same, but it is not applied.
type Gen struct{ classes ClassSet }

// NewGen returns a generator that applies the given classes.
func NewGen(classes ClassSet) *Gen { return &Gen{classes: classes} }

// Case returns a random case and the classes it carries.
func (g *Gen) Case(r *rand.Rand) (oracle.Case, ClassSet) {
	c := randomBase(r)
	var drawn ClassSet
	for _, cc := range caseClasses {
		hit := chance(r, cc.rate)
		sub := rand.New(rand.NewPCG(r.Uint64(), uint64(cc.class)))
		if hit && g.classes.Has(cc.class) {
			cc.gen(sub).apply(sub, &c)
			drawn = drawn.With(cc.class)
		}
	}
	if drawn != 0 {
		c.Note += ", classes " + drawn.String()
	}
	return c, drawn
}

// randomBase is a random case without any class of issue 9.
func randomBase(r *rand.Rand) oracle.Case {
	names := append([]string(nil), rNames...)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	names = names[:1+r.IntN(6)]
	rules := oracle.Rules{}
	for _, n := range names {
		rules = append(rules, oracle.RuleEntry{Name: n, Value: oracle.MustJSON(rRuleValue(r))})
	}
	rule := names[r.IntN(len(names))]
	if chance(r, 0.12) {
		rule = pickS(r, append(rNames[:len(rNames):len(rNames)], "unknown"))
	}
	c := oracle.Case{
		Note:   "random (differential)",
		Rules:  rules,
		Rule:   rule,
		Target: rTarget(r),
		Creds:  rCreds(r),
	}
	switch n := r.IntN(100); {
	case n < 15:
		c.DefaultRule = oracle.Null()
	case n < 35:
		c.DefaultRule = oracle.Name(pickS(r, rNames))
	}
	if chance(r, 0.1) {
		all := []string{"system", "domain", "project"}
		var st []string
		for _, s := range all {
			if chance(r, 0.5) {
				st = append(st, s)
			}
		}
		if len(st) == 0 {
			st = []string{pickS(r, all)}
		}
		c.ScopeTypes = map[string][]string{rule: st}
		c.Conf = map[string]bool{"enforce_scope": chance(r, 0.7)}
	}
	return c
}

// RandomValue is a random JSON value of the kinds the random cases put in
// targets and credentials (strings, some non-ASCII, exact numbers, booleans,
// null, short lists and objects).
func RandomValue(r *rand.Rand) any { return rValue(r, 0) }
