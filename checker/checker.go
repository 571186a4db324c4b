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
// json.loads; what names the file in errors.
func ReadJSON(path, what string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	v, err := rego.DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return v, nil
}

// Creds reads the credentials object in credsPath (used as is), or
// derives credentials from the Keystone token in accessPath as
// oslopolicy-checker --access does (isAdmin sets is_admin); with neither,
// the credentials are empty.
func Creds(credsPath, accessPath string, isAdmin bool) (map[string]any, error) {
	switch {
	case credsPath != "":
		v, err := ReadJSON(credsPath, "credentials")
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("credentials %s: want a JSON object", credsPath)
		}
		return m, nil
	case accessPath != "":
		v, err := ReadJSON(accessPath, "access file")
		if err != nil {
			return nil, err
		}
		return AccessCreds(v, isAdmin)
	}
	return map[string]any{}, nil
}

// AccessCreds is oslopolicy-checker's reading of a Keystone token body
// ({"token": {...}}): the token's fields, roles by name, user_id,
// project_id, system_scope "all" for a system token, and is_admin.
func AccessCreds(v any, isAdmin bool) (map[string]any, error) {
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

// Target reads the target object in path and flattens it, or without a
// path builds oslopolicy-checker's default target from the credentials:
// their user_id and project_id.
func Target(path string, creds map[string]any) (map[string]any, error) {
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
	v, err := ReadJSON(path, "target")
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("target %s: want a JSON object", path)
	}
	return Flatten(m), nil
}

// Flatten is oslopolicy-checker's flattening of a target: nested objects
// become dotted keys ({"a": {"b": 1}} is {"a.b": 1}).
func Flatten(m map[string]any) map[string]any {
	return flatten(m, "")
}

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
func Check(ctx context.Context, w io.Writer, eng *rego.Engine, names []string, target, creds map[string]any, explain bool) (bool, error) {
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
