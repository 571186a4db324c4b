package oslo

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/oslorego/oslorego/internal/policyfile"
)

// defaultEntry is one rule of a defaults file (the shape of the *.meta.json
// files: what a service registers with oslo.policy in code).
type defaultEntry struct {
	CheckStr             *string          `yaml:"check_str"`
	ScopeTypes           []string         `yaml:"scope_types"`
	DeprecatedForRemoval bool             `yaml:"deprecated_for_removal"`
	DeprecatedRule       *deprecatedEntry `yaml:"deprecated_rule"`
	// Documentation fields are accepted and ignored.
	Description string `yaml:"description"`
	Operations  any    `yaml:"operations"`
	Reason      string `yaml:"deprecated_reason"`
	Since       string `yaml:"deprecated_since"`
}

// deprecatedEntry is a rule's deprecated_rule (oslo's DeprecatedRule).
type deprecatedEntry struct {
	Name     string `yaml:"name"`
	CheckStr string `yaml:"check_str"`
	// Documentation fields are accepted and ignored.
	Reason string `yaml:"deprecated_reason"`
	Since  string `yaml:"deprecated_since"`
}

// unknownKey returns the first key of mapping m that is not a yaml tag
// of struct t, or nil. Node.Decode ignores unknown keys, and yaml.v3's
// KnownFields exists only on a Decoder, which would lose the lines.
func unknownKey(m *yaml.Node, t reflect.Type) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil // Decode reports the wrong kind
	}
	known := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		known[name] = true
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; !known[k.Value] {
			return k
		}
	}
	return nil
}

// checkRuleKeys refuses a key of a rule's mapping v, or of its
// deprecated_rule, that the defaults format does not have.
func checkRuleKeys(path, name string, v *yaml.Node) error {
	if k := unknownKey(v, reflect.TypeFor[defaultEntry]()); k != nil {
		return fmt.Errorf("%s:%d: rule %q: unknown key %q", path, k.Line, name, k.Value)
	}
	if v.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value != "deprecated_rule" {
			continue
		}
		if k := unknownKey(v.Content[i+1], reflect.TypeFor[deprecatedEntry]()); k != nil {
			return fmt.Errorf("%s:%d: rule %q: unknown key %q", path, k.Line, name, "deprecated_rule."+k.Value)
		}
	}
	return nil
}

// ReadDefaults reads a defaults file: JSON or YAML of the form
//
//	{"rules": {NAME: {"check_str": "...", "scope_types": ["project"],
//	                  "deprecated_rule": {"name": "...", "check_str": "..."},
//	                  "deprecated_for_removal": false}}}
//
// Keys starting with "_" at the top level (such as "_source") are comments;
// a rule may also carry the documentation keys description, operations,
// deprecated_reason and deprecated_since (the last two also in
// deprecated_rule), which are ignored. Any other key is an error.
func ReadDefaults(path string) ([]RuleDefault, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading defaults: %w", err)
	}
	return ParseDefaults(path, data)
}

// ParseDefaults parses the contents of a defaults file (see ReadDefaults).
func ParseDefaults(path string, data []byte) ([]RuleDefault, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: defaults file is not JSON or YAML: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: a defaults file is a mapping with a \"rules\" key", path, top.Line)
	}
	var rules *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		switch {
		case k.Value == "rules":
			rules = top.Content[i+1]
		case len(k.Value) > 0 && k.Value[0] == '_':
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q in defaults file (want \"rules\")", path, k.Line, k.Value)
		}
	}
	if rules == nil {
		return nil, fmt.Errorf("%s: defaults file has no \"rules\" mapping", path)
	}
	if rules.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: \"rules\" must be a mapping of rule name to default", path, rules.Line)
	}
	var out []RuleDefault
	for i := 0; i+1 < len(rules.Content); i += 2 {
		k, v := rules.Content[i], rules.Content[i+1]
		at := Origin{path, k.Line, k.Column}
		// A misspelt key (scope_typez) would drop what it sets silently.
		if err := checkRuleKeys(path, k.Value, v); err != nil {
			return nil, err
		}
		var e defaultEntry
		if err := v.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s: rule %q: %w", at, k.Value, err)
		}
		if e.CheckStr == nil {
			return nil, fmt.Errorf("%s: rule %q has no check_str", at, k.Value)
		}
		if err := checkScopes(e.ScopeTypes); err != nil {
			return nil, fmt.Errorf("%s: rule %q: %w", at, k.Value, err)
		}
		d := RuleDefault{Name: k.Value, CheckStr: *e.CheckStr, ScopeTypes: e.ScopeTypes, DeprecatedForRemoval: e.DeprecatedForRemoval, Origin: at}
		if e.DeprecatedRule != nil {
			d.Deprecated = &DeprecatedRule{Name: e.DeprecatedRule.Name, CheckStr: e.DeprecatedRule.CheckStr}
		}
		out = append(out, d)
	}
	return out, nil
}

// checkScopes applies RuleDefault's validation: a list of unique strings.
func checkScopes(s []string) error {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return fmt.Errorf("scope_types has %q twice", x)
		}
		seen[x] = true
	}
	return nil
}

// valueText renders a rule value as written: a string as itself, anything
// else as JSON.
func valueText(v policyfile.Value) string {
	if v.Kind == policyfile.String {
		return v.Str
	}
	b, err := json.Marshal(plain(v))
	if err != nil {
		return v.Str
	}
	return string(b)
}

// plain converts a parsed value to Go values for display.
func plain(v policyfile.Value) any {
	switch v.Kind {
	case policyfile.String:
		return v.Str
	case policyfile.List:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = plain(it)
		}
		return out
	case policyfile.Map:
		out := map[string]any{}
		for _, p := range v.Pairs {
			out[p.Key.Str] = plain(p.Val)
		}
		return out
	case policyfile.Null:
		return nil
	case policyfile.Bool:
		return v.Str == "True"
	}
	return json.RawMessage(numberOr(v.Str))
}

func numberOr(s string) string {
	var f json.Number
	if json.Unmarshal([]byte(s), &f) == nil {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}
