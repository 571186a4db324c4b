package rego

import (
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Keys are the keys of an object value in Python's dict order, nil for any
// other value.
func (o Ordered) Keys() []string {
	m, ok := o.Value.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	if list, ok := o.node("keys").(*ast.Array); ok {
		for i := 0; i < list.Len(); i++ {
			if k, ok := list.Elem(i).Value.(ast.String); ok {
				keys = append(keys, string(k))
			}
		}
		return keys
	}
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Get is the member key of an object value, with its order; ok is false
// when o is not an object or has no such key.
func (o Ordered) Get(key string) (Ordered, bool) {
	m, ok := o.Value.(map[string]any)
	if !ok {
		return Ordered{}, false
	}
	v, ok := m[key]
	if !ok {
		return Ordered{}, false
	}
	out := Ordered{Value: v}
	if sub, ok := o.node("sub").(ast.Object); ok {
		if t := sub.Get(ast.StringTerm(key)); t != nil {
			out.order, _ = t.Value.(ast.Object)
		}
	}
	return out, true
}

// ObjectOf builds an object from keys and values in order, as Python's
// dict(zip(keys, vals)) does: a repeated key keeps its first position and
// its last value.
func ObjectOf(keys []string, vals []Ordered) Ordered {
	m := make(map[string]any, len(keys))
	var order []string
	subs := map[string]ast.Object{}
	for i, k := range keys {
		if _, dup := m[k]; !dup {
			order = append(order, k)
		}
		m[k] = vals[i].Value
		delete(subs, k)
		if vals[i].order != nil {
			subs[k] = vals[i].order
		}
	}
	var keysList *ast.Array
	var sub ast.Object
	if !sort.StringsAreSorted(order) {
		ts := make([]*ast.Term, len(order))
		for i, k := range order {
			ts[i] = ast.StringTerm(k)
		}
		keysList = ast.NewArray(ts...)
	}
	for _, k := range order {
		if t, ok := subs[k]; ok {
			sub = addSub(sub, k, t)
		}
	}
	return Ordered{Value: m, order: orderTree(keysList, sub)}
}

// node is the member name ("keys" or "sub") of o's order tree, or nil.
func (o Ordered) node(name string) ast.Value {
	if o.order == nil {
		return nil
	}
	if t := o.order.Get(ast.StringTerm(name)); t != nil {
		return t.Value
	}
	return nil
}
