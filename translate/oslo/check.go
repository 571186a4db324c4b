// Follows oslo.policy 4.0.0 oslo_policy/_checks.py (Apache-2.0); see NOTICE.

package oslo

import "strings"

// Check is one node of a parsed oslo rule: the counterpart of oslo's
// _checks.BaseCheck tree.
type Check interface {
	// String is oslo's str() of the check (its canonical form).
	String() string
	// Pos is the byte range of the check in the rule text ([0,0) if it
	// has no place there, e.g. a whole-rule parse failure).
	Pos() Span
}

// Span is a byte range [Start, End) in the text of one rule.
type Span struct{ Start, End int }

// Span returns the span itself so that embedding it implements Check.Pos.
func (s Span) Pos() Span { return s }

// TrueCheck is "@" (and the empty rule): always allowed.
type TrueCheck struct{ Span }

// FalseCheck is "!" or a check oslo could not understand (Reason says why).
type FalseCheck struct {
	Span
	// Reason is empty for a literal "!", otherwise why oslo turned the
	// text into "!" (a parse failure it logged).
	Reason string
	// Whole is true when the whole rule string failed to parse (rather
	// than one check token in it).
	Whole bool
}

// AndCheck is "a and b and ...", evaluated left to right with short-circuit.
type AndCheck struct {
	Span
	Rules []Check
}

// OrCheck is "a or b or ...", evaluated left to right with short-circuit.
type OrCheck struct {
	Span
	Rules []Check
}

// NotCheck is "not a".
type NotCheck struct {
	Span
	Rule Check
}

// RuleCheck is "rule:NAME": evaluate another rule of the policy.
type RuleCheck struct {
	Span
	Name string
}

// RoleCheck is "role:MATCH": MATCH is %-formatted with the target and
// compared case-insensitively with the credentials' roles.
type RoleCheck struct {
	Span
	Match string
}

// GenericCheck is "KIND:MATCH": MATCH is %-formatted with the target and
// compared with a Python literal KIND or with the credentials at the dot
// path KIND.
type GenericCheck struct {
	Span
	Kind, Match string
}

// RemoteCheck is "http:..." or "https:...": oslo POSTs to a URL. It cannot
// be decided offline, so it always fails closed.
type RemoteCheck struct {
	Span
	Kind, Match string
}

// BareToken is oslo 4.0.0's quirk for a rule made of exactly one token that
// is not a check (a quoted string, a lone operator or parenthesis): the
// parser returns the bare Python str and enforce() raises AttributeError.
type BareToken struct {
	Span
	Text string
}

func (c *TrueCheck) String() string  { return "@" }
func (c *FalseCheck) String() string { return "!" }
func (c *AndCheck) String() string   { return "(" + joinChecks(c.Rules, " and ") + ")" }
func (c *OrCheck) String() string    { return "(" + joinChecks(c.Rules, " or ") + ")" }
func (c *NotCheck) String() string   { return "not " + c.Rule.String() }
func (c *RuleCheck) String() string  { return "rule:" + c.Name }
func (c *RoleCheck) String() string  { return "role:" + c.Match }
func (c *GenericCheck) String() string {
	return c.Kind + ":" + c.Match
}
func (c *RemoteCheck) String() string { return c.Kind + ":" + c.Match }
func (c *BareToken) String() string   { return c.Text }

func joinChecks(cs []Check, sep string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, sep)
}

// Walk calls fn for c and every check below it, parents first.
func Walk(c Check, fn func(Check)) {
	fn(c)
	switch n := c.(type) {
	case *AndCheck:
		for _, r := range n.Rules {
			Walk(r, fn)
		}
	case *OrCheck:
		for _, r := range n.Rules {
			Walk(r, fn)
		}
	case *NotCheck:
		Walk(n.Rule, fn)
	}
}

// ExternalCheck stands for a rule that raw Rego beside the oslo files
// defines (as rules[NAME] in the policy's package): oslo rules may refer to
// it with rule:NAME.
type ExternalCheck struct {
	Span
	Name   string
	Origin Origin
}

func (c *ExternalCheck) String() string {
	return "<Rego rule " + c.Name + " at " + c.Origin.String() + ">"
}
