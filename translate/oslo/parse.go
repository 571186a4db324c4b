// Ported from oslo.policy 4.0.0 oslo_policy/_parser.py (Apache-2.0); see NOTICE.

package oslo

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// ParseRule parses the policy-language string s as oslo.policy 4.0.0's
// _parser.parse_rule does. A string that oslo cannot understand becomes a
// FalseCheck whose Reason says why; parsing itself never fails.
func ParseRule(s string) Check {
	if s == "" {
		return &TrueCheck{}
	}
	toks := tokenize(s)
	st := parseState{}
	for _, t := range toks {
		st.shift(t)
	}
	if len(st.stack) != 1 {
		return &FalseCheck{Span: Span{0, len(s)}, Reason: parseFailure(s, st.stack), Whole: true}
	}
	top := st.stack[0]
	if top.check != nil {
		return top.check
	}
	// oslo 4.0.0 returns the bare str; enforce() then raises.
	return &BareToken{Span: top.span, Text: top.text}
}

// token is one lexical token of a rule string, or a reduced expression.
type token struct {
	kind  string // "(", ")", "and", "or", "not", "string", "check", "and_expr", "or_expr"
	text  string // the source text (operators keep their case)
	check Check  // for check, and_expr, or_expr
	span  Span
}

// tokenize is oslo's _parse_tokenize: split on Python whitespace, peel
// leading "(" and trailing ")" off each piece, and classify what is left.
func tokenize(s string) []token {
	var out []token
	for _, p := range splitSpace(s) {
		tok, start := p.text, p.start
		clean := strings.TrimLeft(tok, "(")
		for i := 0; i < len(tok)-len(clean); i++ {
			out = append(out, token{kind: "(", text: "(", span: Span{start + i, start + i + 1}})
		}
		if clean == "" {
			continue
		}
		start += len(tok) - len(clean)
		tok = clean
		clean = strings.TrimRight(tok, ")")
		trail := len(tok) - len(clean)
		sp := Span{start, start + len(clean)}
		switch lowered := asciiLower(clean); {
		case lowered == "and" || lowered == "or" || lowered == "not":
			out = append(out, token{kind: lowered, text: clean, span: sp})
		case clean != "":
			// The quote test looks at the token before its trailing parens
			// are removed, as oslo does.
			if len(tok) >= 2 && (tok[0] == '"' && tok[len(tok)-1] == '"' || tok[0] == '\'' && tok[len(tok)-1] == '\'') {
				out = append(out, token{kind: "string", text: tok[1 : len(tok)-1], span: Span{start, start + len(tok)}})
			} else {
				out = append(out, token{kind: "check", text: clean, check: ParseCheck(clean, start), span: sp})
			}
		}
		for i := 0; i < trail; i++ {
			at := start + len(clean) + i
			out = append(out, token{kind: ")", text: ")", span: Span{at, at + 1}})
		}
	}
	return out
}

type piece struct {
	text  string
	start int
}

// splitSpace splits on runs of Python whitespace (str.isspace), which is
// wider than Go's: it includes U+001C..U+001F.
func splitSpace(s string) []piece {
	var out []piece
	start := -1
	for i, r := range s {
		if python.IsSpace(r) {
			if start >= 0 {
				out = append(out, piece{s[start:i], start})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, piece{s[start:], start})
	}
	return out
}

// asciiLower lowers ASCII letters only. No non-ASCII character has a Python
// lower() that spells "and", "or" or "not", so this decides operators
// exactly.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return s
		}
	}
	return strings.ToLower(s)
}

type parseState struct{ stack []token }

func (st *parseState) shift(t token) {
	st.stack = append(st.stack, t)
	for st.reduce() {
	}
}

func (st *parseState) top(kinds ...string) bool {
	n := len(st.stack)
	if n < len(kinds) {
		return false
	}
	for i, k := range kinds {
		if st.stack[n-len(kinds)+i].kind != k {
			return false
		}
	}
	return true
}

func (st *parseState) replace(n int, t token) {
	st.stack = append(st.stack[:len(st.stack)-n], t)
}

// reduce applies the first of oslo's reductions that matches the top of the
// stack; it reports whether one did. At most one pattern can match at a
// time, so their order does not matter.
func (st *parseState) reduce() bool {
	n := len(st.stack)
	switch {
	case st.top("(", "check", ")"), st.top("(", "and_expr", ")"), st.top("(", "or_expr", ")"):
		in := st.stack[n-2]
		st.replace(3, token{kind: "check", check: in.check, span: Span{st.stack[n-3].span.Start, st.stack[n-1].span.End}})
	case st.top("check", "and", "check"):
		a, b := st.stack[n-3], st.stack[n-1]
		sp := Span{a.span.Start, b.span.End}
		st.replace(3, token{kind: "and_expr", check: &AndCheck{Span: sp, Rules: []Check{a.check, b.check}}, span: sp})
	case st.top("or_expr", "and", "check"):
		// "a or b and c": the last operand of the or takes the and.
		or, c := st.stack[n-3], st.stack[n-1]
		oc := or.check.(*OrCheck)
		last := oc.Rules[len(oc.Rules)-1]
		if ac, ok := last.(*AndCheck); ok {
			ac.Rules = append(ac.Rules, c.check)
			ac.Span.End = c.span.End
		} else {
			oc.Rules[len(oc.Rules)-1] = &AndCheck{Span: Span{last.Pos().Start, c.span.End}, Rules: []Check{last, c.check}}
		}
		oc.Span.End = c.span.End
		st.replace(3, token{kind: "or_expr", check: oc, span: Span{or.span.Start, c.span.End}})
	case st.top("and_expr", "and", "check"):
		a, c := st.stack[n-3], st.stack[n-1]
		ac := a.check.(*AndCheck)
		ac.Rules = append(ac.Rules, c.check)
		ac.Span.End = c.span.End
		st.replace(3, token{kind: "and_expr", check: ac, span: Span{a.span.Start, c.span.End}})
	case st.top("check", "or", "check"), st.top("and_expr", "or", "check"):
		a, b := st.stack[n-3], st.stack[n-1]
		sp := Span{a.span.Start, b.span.End}
		st.replace(3, token{kind: "or_expr", check: &OrCheck{Span: sp, Rules: []Check{a.check, b.check}}, span: sp})
	case st.top("or_expr", "or", "check"):
		a, c := st.stack[n-3], st.stack[n-1]
		oc := a.check.(*OrCheck)
		oc.Rules = append(oc.Rules, c.check)
		oc.Span.End = c.span.End
		st.replace(3, token{kind: "or_expr", check: oc, span: Span{a.span.Start, c.span.End}})
	case st.top("not", "check"):
		nt, c := st.stack[n-2], st.stack[n-1]
		sp := Span{nt.span.Start, c.span.End}
		st.replace(2, token{kind: "check", check: &NotCheck{Span: sp, Rule: c.check}, span: sp})
	default:
		return false
	}
	return true
}

// parseFailure explains why the token stream did not reduce to one check.
func parseFailure(s string, stack []token) string {
	if len(stack) == 0 {
		return "the rule has no tokens (only whitespace)"
	}
	for _, t := range stack {
		if t.kind == "(" {
			return fmt.Sprintf("unbalanced parenthesis at offset %d", t.span.Start)
		}
	}
	// Point at the first token that could not be combined with the previous.
	t := stack[len(stack)-1]
	for i := 1; i < len(stack); i++ {
		if isOperand(stack[i-1]) == isOperand(stack[i]) || stack[i].kind == ")" || stack[i].kind == "string" {
			t = stack[i]
			break
		}
	}
	if stack[0].kind == "and" || stack[0].kind == "or" || stack[0].kind == "string" || stack[0].kind == ")" {
		t = stack[0]
	}
	what := t.text
	if t.check != nil {
		what = t.check.String()
	}
	return fmt.Sprintf("unexpected %q at offset %d", what, t.span.Start)
}

func isOperand(t token) bool {
	return t.kind == "check" || t.kind == "and_expr" || t.kind == "or_expr"
}

// ParseCheck is oslo's _parse_check for one token: "!", "@", or KIND:MATCH
// split at the first colon. offset is the token's position in its rule.
func ParseCheck(s string, offset int) Check {
	sp := Span{offset, offset + len(s)}
	switch s {
	case "!":
		return &FalseCheck{Span: sp}
	case "@":
		return &TrueCheck{Span: sp}
	}
	kind, match, ok := strings.Cut(s, ":")
	if !ok {
		return &FalseCheck{Span: sp, Reason: fmt.Sprintf("check %q has no colon", s)}
	}
	switch kind {
	case "http", "https":
		return &RemoteCheck{Span: sp, Kind: kind, Match: match}
	case "rule":
		return &RuleCheck{Span: sp, Name: match}
	case "role":
		return &RoleCheck{Span: sp, Match: match}
	}
	return &GenericCheck{Span: sp, Kind: kind, Match: match}
}
