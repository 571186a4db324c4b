// Package checker is oslorego's oslopolicy-checker: it reads credentials,
// a Keystone token and a target as oslopolicy-checker reads them, decides
// rules and prints "passed: NAME" or "failed: NAME" (Check), and serves
// the JSON Lines batch protocol of `oslorego check --batch` (Batch), which
// decides one request per line as oslo.policy's Enforcer.enforce() would.
// The command parses flags and builds engines; the rest is here.
package checker

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// ReadJSON reads a JSON file as oslopolicy-checker does, with Python's
// json.loads, keeping the objects' key order (how their dicts print);
// what names the file in errors.
func ReadJSON(path, what string) (rego.Ordered, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return rego.Ordered{}, fmt.Errorf("reading %s: %w", what, err)
	}
	v, err := rego.DecodeOrdered(data)
	if err != nil {
		return rego.Ordered{}, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return v, nil
}

// Creds reads the credentials object in credsPath (used as is), or
// derives credentials from the Keystone token in accessPath as
// oslopolicy-checker --access does (isAdmin sets is_admin); with neither,
// the credentials are empty.
func Creds(credsPath, accessPath string, isAdmin bool) (rego.Ordered, error) {
	switch {
	case credsPath != "":
		v, err := ReadJSON(credsPath, "credentials")
		if err != nil {
			return rego.Ordered{}, err
		}
		if _, ok := v.Value.(map[string]any); !ok {
			return rego.Ordered{}, fmt.Errorf("credentials %s: want a JSON object", credsPath)
		}
		return v, nil
	case accessPath != "":
		v, err := ReadJSON(accessPath, "access file")
		if err != nil {
			return rego.Ordered{}, err
		}
		return AccessCreds(v, isAdmin)
	}
	return rego.Ordered{Value: map[string]any{}}, nil
}

// AccessCreds is oslopolicy-checker's reading of a Keystone token body
// ({"token": {...}}): the token's fields in order, then its assignments:
// roles by name, user_id, project_id, system_scope "all" for a system
// token, and is_admin.
func AccessCreds(v rego.Ordered, isAdmin bool) (rego.Ordered, error) {
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

// Target reads the target object in path and flattens it, or without a
// path builds oslopolicy-checker's default target from the credentials:
// their user_id and project_id.
func Target(path string, creds rego.Ordered) (rego.Ordered, error) {
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
	v, err := ReadJSON(path, "target")
	if err != nil {
		return rego.Ordered{}, err
	}
	if _, ok := v.Value.(map[string]any); !ok {
		return rego.Ordered{}, fmt.Errorf("target %s: want a JSON object", path)
	}
	return Flatten(v), nil
}

// Flatten is oslopolicy-checker's flattening of a target: nested objects
// become dotted keys ({"a": {"b": 1}} is {"a.b": 1}), in order; a key
// that comes again keeps its first position and its last value.
func Flatten(o rego.Ordered) rego.Ordered {
	var keys []string
	var vals []rego.Ordered
	flatten(o, "", &keys, &vals)
	return rego.ObjectOf(keys, vals)
}

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

// RuleNames are the rules oslopolicy-checker checks when not given one:
// every rule whose name contains ":", sorted.
func RuleNames(p *oslo.Policy) []string {
	var names []string
	for _, r := range p.Rules {
		if strings.Contains(r.Name, ":") {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Check decides each rule of names for target and creds, writes each
// decision (WriteDecision), and reports whether every rule passed.
func Check(ctx context.Context, w io.Writer, eng *rego.Engine, names []string, target, creds rego.Ordered, explain bool) (bool, error) {
	passed := true
	for _, name := range names {
		req := rego.Request{Rule: name, Target: target, Credentials: creds}
		var d rego.Decision
		var err error
		if explain {
			d, err = eng.Explain(ctx, req)
		} else {
			d, err = eng.Decide(ctx, req)
		}
		if err != nil {
			return false, err
		}
		WriteDecision(w, name, d)
		passed = passed && d.Allowed
	}
	return passed, nil
}

// WriteDecision writes "passed: NAME" or "failed: NAME", why a decision
// failed closed, and the explanation when there is one.
func WriteDecision(w io.Writer, name string, d rego.Decision) {
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

// oneLine keeps multi-line error text on one output line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
