package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// LineCase is one request line sent verbatim both to the oracle and to
// `oslorego check --batch`. Unlike a Case it is not re-encoded, so it can
// test how a line is decoded: field names, text after the object, NaN,
// lone surrogates, a missing or non-string rule. It holds only the fields
// the batch protocol knows (rule, rules, target, creds, default_rule) or
// misspellings of them.
type LineCase struct {
	ID   string `json:"id"`
	Note string `json:"note"`
	// Line is the request line (no raw newline).
	Line string `json:"line"`
	// Refused, when set, says oslorego refuses the line or fails closed on
	// purpose (the README's stricter protocol and known limits) whatever
	// oslo answers: its answer must be a deny whose error contains Refused.
	Refused string  `json:"refused,omitempty"`
	Expect  *Result `json:"expect,omitempty"` // the oracle's answer
}

// RunLines answers every line with one oracle subprocess, like Run.
func RunLines(ctx context.Context, cases []LineCase) ([]Result, error) {
	reqs := make([][]byte, len(cases))
	for i, c := range cases {
		if bytes.ContainsAny([]byte(c.Line), "\n\r") || len(bytes.TrimSpace([]byte(c.Line))) == 0 {
			return nil, fmt.Errorf("oracle: line case %d (%s) is blank or holds a raw newline", i, c.ID)
		}
		reqs[i] = []byte(c.Line)
	}
	lines, err := runRaw(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(lines))
	for i, l := range lines {
		var r struct {
			Allowed *bool  `json:"allowed"`
			Error   string `json:"error"`
		}
		if err := json.Unmarshal(l, &r); err != nil {
			return nil, fmt.Errorf("oracle: answer %d (%s): %w: %s", i, cases[i].ID, err, l)
		}
		if r.Allowed == nil && r.Error == "" {
			return nil, fmt.Errorf("oracle: answer %d (%s) has neither allowed nor error: %s", i, cases[i].ID, l)
		}
		out[i] = Result{Allowed: r.Allowed != nil && *r.Allowed && r.Error == "", Error: r.Error}
	}
	return out, nil
}

// ReadLineCases decodes a JSON-lines file of LineCases.
func ReadLineCases(data []byte) ([]LineCase, error) {
	var out []LineCase
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var c LineCase
		if err := json.Unmarshal(line, &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// WriteLineCases encodes LineCases as JSON lines (no HTML escaping).
func WriteLineCases(cases []LineCase) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			return nil, fmt.Errorf("line case %s: %w", c.ID, err)
		}
	}
	return buf.Bytes(), nil
}
