// Ported from oslo.policy 4.0.0 oslo_policy/_parser.py _parse_list_rule (Apache-2.0); see NOTICE.

package oslo

import (
	"fmt"

	"github.com/oslorego/oslorego/internal/policyfile"
)

// LoadError is a value that makes oslo abort loading the whole policy map
// (Rules.load raises), e.g. a rule whose value is true or a number.
type LoadError struct {
	Path      string
	Line, Col int
	Rule      string
	Msg       string
}

func (e *LoadError) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.Path, e.Line, e.Col)
	}
	if e.Rule != "" {
		return fmt.Sprintf("%s: rule %q: %s", loc, e.Rule, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// ParseValue parses one rule value from a policy file as oslo's parse_rule
// does: strings are policy language, anything else goes to the legacy
// list-of-lists parser. A value that makes oslo raise while loading is
// returned as an error (without path; the caller adds it).
func ParseValue(v policyfile.Value) (Check, error) {
	if v.Kind == policyfile.String {
		return ParseRule(v.Str), nil
	}
	return parseList(v)
}

// parseList is oslo's _parse_list_rule: the outer list is OR-ed, each inner
// list AND-ed, inner items parsed as single checks without tokenizing.
func parseList(v policyfile.Value) (Check, error) {
	if !v.Truthy {
		return &TrueCheck{}, nil
	}
	outer, ok := v.Iter()
	if !ok {
		return nil, fmt.Errorf("TypeError: %s is not a rule (a string or a list of lists): oslo cannot load this policy", describe(v))
	}
	var or []Check
	for _, inner := range outer {
		if !inner.Truthy {
			continue
		}
		items := []policyfile.Value{inner}
		if inner.Kind != policyfile.String {
			if items, ok = inner.Iter(); !ok {
				return nil, fmt.Errorf("TypeError: list item %s is not a list: oslo cannot load this policy", describe(inner))
			}
		}
		var and []Check
		for _, it := range items {
			if it.Kind != policyfile.String {
				and = append(and, &FalseCheck{Reason: fmt.Sprintf("list item %s is not a string", describe(it))})
				continue
			}
			and = append(and, ParseCheck(it.Str, 0))
		}
		if len(and) == 1 {
			or = append(or, and[0])
		} else {
			or = append(or, &AndCheck{Rules: and})
		}
	}
	switch len(or) {
	case 0:
		return &FalseCheck{Reason: "legacy list rule has no non-empty branch"}, nil
	case 1:
		return or[0], nil
	}
	return &OrCheck{Rules: or}, nil
}

func describe(v policyfile.Value) string {
	switch v.Kind {
	case policyfile.String:
		return fmt.Sprintf("%q", v.Str)
	case policyfile.List:
		return "a list"
	case policyfile.Map:
		return "a mapping"
	case policyfile.Null:
		return "null"
	}
	return v.Str
}
