package casegen

import (
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// listArea: reference §4 (legacy list-of-lists and other non-str values).
func listArea() *area {
	a := newArea("list")
	type lc struct {
		val   string // raw JSON rule value
		note  string
		creds []M
	}
	none := []M{roles()}
	ab := []M{roles("a", "b"), roles("a"), roles("b"), roles()}
	cases := []lc{
		// falsy values -> TrueCheck
		{`[]`, "empty list -> allow", none},
		{`null`, "null -> allow", none},
		{`false`, "false -> allow", none},
		{`0`, "0 -> allow", none},
		{`0.0`, "0.0 -> allow", none},
		{`-0`, "-0 is int 0 -> allow", none},
		{`{}`, "empty dict -> allow", none},
		{`""`, "empty string -> allow (text rule)", none},
		// empty inner lists
		{`[[]]`, "[[]] -> no branch -> deny", none},
		{`[[], []]`, "[[], []] -> deny", none},
		{`[[], ["role:a"]]`, "empty inner lists are skipped", ab},
		{`[""]`, "empty bare string is falsy and skipped -> deny", none},
		{`["", "role:a"]`, "empty bare string skipped, role:a stays", ab},
		{`[[""]]`, "inner '' is a colon-less check -> !", none},
		{`[0]`, "falsy 0 inner item is skipped -> deny", none},
		{`[null]`, "falsy null inner item skipped -> deny", none},
		{`[false]`, "falsy false inner item skipped -> deny", none},
		{`[{}]`, "falsy {} inner item skipped -> deny", none},
		// or / and structure
		{`["role:a", "role:b"]`, "bare strings are separate OR branches", ab},
		{`[["role:a", "role:b"]]`, "inner list is an AND", ab},
		{`[["role:a"], ["role:b"]]`, "outer list is an OR", ab},
		{`[["role:a"], "role:b"]`, "mixed inner list and bare string", ab},
		{`[["role:a", "role:b"], ["role:c"]]`, "(a and b) or c", []M{roles("a", "b"), roles("c"), roles("a"), roles("a", "c"), roles()}},
		{`[["role:a"]]`, "single check", ab},
		{`["role:a"]`, "single bare string", ab},
		{`[["@"]]`, "@ in a list", none},
		{`[["!"]]`, "! in a list", none},
		{`[["@", "!"]]`, "@ and !", none},
		{`["@", "!"]`, "@ or !", none},
		{`[["!"], ["@"]]`, "! or @", none},
		// no tokenizing inside lists
		{`[["not role:a"]]`, "'not role:a' is the generic kind 'not role' (UnaryOp Not -> ValueError -> creds path)", []M{roles(), M{"not role": "a"}}},
		{`[["role:a or role:b"]]`, "a role literally named 'a or role:b'", []M{roles("a"), roles("b"), roles("a or role:b")}},
		{`[["role:a and role:b"]]`, "a role literally named 'a and role:b'", []M{roles("a", "b"), roles("a and role:b")}},
		{`["role:a and role:b"]`, "a bare string is not tokenized either", []M{roles("a", "b"), roles("a and role:b")}},
		{`[["(role:a)"]]`, "'(role' kind: unbalanced paren -> SyntaxError", []M{roles("a")}},
		{`[["role:a)"]]`, "role literally 'a)'", []M{roles("a"), roles("a)")}},
		{`[["role:a "]]`, "trailing space is part of the role name", []M{roles("a"), roles("a ")}},
		{`[[" role:a"]]`, "' role' kind is generic; literal_eval strips leading space -> Name -> creds path ' role'", []M{roles("a"), M{" role": "a"}}},
		{`[["foo bar:x"]]`, "kind with a space -> SyntaxError at enforce time", []M{M{"foo bar": "x"}}},
		{`[["foo  bar:x"]]`, "kind with two spaces -> SyntaxError", none},
		{`[["1 :1"]]`, "kind '1 ' is the literal 1", none},
		{`[[" 1:1"]]`, "kind ' 1': leading space stripped by literal_eval -> literal 1", none},
		{`[["\t1:1"]]`, "kind '\\t1': leading tab stripped by literal_eval -> literal 1", none},
		{`[["1 + 1:2"]]`, "BinOp of ints is not a literal -> creds path '1 + 1'", []M{M{"1 + 1": "2"}, M{}}},
		{`[["1+2j:(1+2j)"]]`, "complex literal", none},
		{`[["'a' 'b':ab"]]`, "implicit string concatenation is a literal", none},
		{`[["set():set()"]]`, "set() is a literal (only reachable in lists: text rules strip the parens)", none},
		{`[["(1, 2):(1, 2)"]]`, "tuple literal with a space", none},
		{`[["project_id:%(project id)s"]]`, "format key with a space is fine in lists", []M{M{"project_id": "p1"}, M{"project_id": "p2"}}},
		{`[["x:%(k)"]]`, "incomplete format (no tokenizer to strip the paren) -> ValueError", []M{M{"x": "v"}}},
		{`[["role:a", "x:%(missing)s"]]`, "missing target key inside an AND -> False", []M{roles("a")}},
		{`[["role:a"], ["x:%(missing)s"]]`, "missing target key inside an OR", []M{roles("a"), roles()}},
		{`[["rule:other"]]`, "rule: in a list", []M{roles("o"), roles()}},
		{`[["%(k)s:y"]]`, "kind with a format is a SyntaxError", none},
		{`[["role:%(k)s"]]`, "role match is still %-formatted", []M{roles("v"), roles()}},
		{`[["a.b:v"]]`, "dot path in lists", []M{M{"a": M{"b": "v"}}, M{"a": M{"b": "w"}}}},
		// deeper nesting / non-str items -> local !
		{`[[["role:a"]]]`, "three levels: the inner list is not a str -> local !", []M{roles("a")}},
		{`[[1]]`, "non-str item 1 -> local !", none},
		{`[[null]]`, "null item in an inner list -> local !", none},
		{`[[true]]`, "true item in an inner list -> local !", none},
		{`[["role:a", 1]]`, "a and ! -> deny", []M{roles("a")}},
		{`[["role:a"], [1]]`, "a or ! ", []M{roles("a"), roles()}},
		{`[[{"role:a": 1}]]`, "dict inside inner list -> not a str -> local !", []M{roles("a")}},
		// dicts iterate their keys
		{`{"role:a": 1}`, "dict iterates its keys: same as ['role:a']", ab},
		{`{"role:a": 1, "role:b": 2}`, "dict keys are OR branches, in key order", ab},
		{`{"role:b": 0, "role:a": null}`, "dict values are ignored (key order b, a)", ab},
		{`[{"role:a": 1, "role:b": 2}]`, "dict as inner item iterates keys: a and b", ab},
		{`[["role:a"], {"role:b": 1}]`, "dict inner item next to a list", ab},
		// non-iterable truthy values abort loading of the whole map
		{`true`, "true -> TypeError while loading", none},
		{`5`, "5 -> TypeError while loading", none},
		{`1.5`, "1.5 -> TypeError while loading", none},
		{`-1`, "-1 -> TypeError while loading", none},
		{`[1]`, "[1]: inner 1 is not iterable -> TypeError while loading", none},
		{`[true]`, "[true] -> TypeError while loading", none},
		{`[5, "role:a"]`, "[5, ...] -> TypeError while loading", none},
		{`["role:a", 2.5]`, "TypeError even after a valid branch", []M{roles("a")}},
	}
	for _, c := range cases {
		for _, cr := range c.creds {
			rules := R("r", raw(c.val), "other", "role:o")
			a.add(fmt.Sprintf("§4 %s: %s; creds %s", c.val, c.note, string(oracle.MustJSON(cr))), en(rules, "r", M{"k": "v", "project id": "p1"}, cr))
		}
	}
	// One bad value aborts the whole map.
	bad := R("good", "@", "bad", raw(`true`), "also_good", "role:a")
	for _, name := range []string{"good", "bad", "also_good", "unknown"} {
		a.add("§4/§8 one non-iterable truthy value aborts loading: enforce "+q(name)+" -> error", en(bad, name, nil, roles("a")))
	}
	bad2 := R("good", "@", "bad", raw(`[[1]]`))
	a.add("§4 [[1]] only makes its own rule deny; the map loads (enforce good)", en(bad2, "good", nil, nil))
	a.add("§4 [[1]] only makes its own rule deny (enforce bad)", en(bad2, "bad", nil, nil))
	// list rule as the default rule
	a.add("§4/§5.2 list-format default rule used for an unknown name", en(R("default", raw(`[["role:a"], ["role:b"]]`)), "unknown", nil, roles("b")))
	a.add("§4/§5.2 empty-list default rule allows unknown names", en(R("default", raw(`[]`), "x", "!"), "unknown", nil, nil))
	return a
}
