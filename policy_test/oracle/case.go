// Package oracle describes oslo.policy conformance cases and runs them
// through the real library (python3-oslo.policy 4.0.0) via the oracle script
// shared/oracle/oslo_oracle.py.
//
// A Case is exactly one line of the oracle's JSON-lines input format plus a
// few bookkeeping fields (id, note, network, oslo_head_differs, expect) that
// the oracle ignores.
//
// Representation choices (so that a case round-trips meaningfully):
//
//   - Rules is an ORDERED list of (name, raw JSON value) pairs, encoded as a
//     JSON object in that order. Raw values keep dict-valued / list-valued
//     rules byte-exact (the iteration order of a dict-valued rule matters to
//     oslo's list parser). Duplicate names survive a round trip; Python's
//     json.loads keeps the LAST value at the FIRST position (see Rules.Dict).
//   - Target and Creds are decoded with json.Decoder.UseNumber, so every
//     number is a json.Number holding its literal text ("10", "10.0",
//     "1e20" are different to Python's str()). Objects become
//     map[string]any and are re-encoded with sorted keys; cases that render
//     a dict with str() therefore always use sorted keys. An absent
//     "target"/"creds" is normalised to {} (what the oracle uses).
//   - DefaultRule distinguishes absent (nil), JSON null (Null=true) and a
//     name.
//   - Check and PolicyD entries are raw JSON.
package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Case is one oracle request (the oracle's input format) plus, once
// answered, its expected result.
type Case struct {
	ID   string `json:"id,omitempty"`   // stable, e.g. "role-007"
	Note string `json:"note,omitempty"` // what it tests, with the spec section
	// Network marks cases that contain http:/https: checks. No corpus case
	// actually reaches the network (the check is short-circuited or fails
	// its URL formatting first); a Rego port cannot evaluate such checks.
	Network bool `json:"network,omitempty"`
	// HeadDiffers marks cases where upstream oslo.policy HEAD (2026) gives a
	// different answer than 4.0.0 (reference §13).
	HeadDiffers bool `json:"oslo_head_differs,omitempty"`

	Mode  string          `json:"mode,omitempty"`  // "" (enforcer), "file" or "direct"
	Rules Rules           `json:"rules,omitzero"`  // nil: absent; empty non-nil: {}
	Check json.RawMessage `json:"check,omitempty"` // enforce a parsed Check instead of Rule
	Rule  string          `json:"rule"`
	// Target and Creds: JSON values, numbers as json.Number.
	Target any `json:"target"`
	Creds  any `json:"creds"`

	DefaultRule    *NullableString     `json:"default_rule,omitempty"`
	DoRaise        bool                `json:"do_raise,omitempty"`
	Conf           map[string]bool     `json:"conf,omitempty"`
	ScopeTypes     map[string][]string `json:"scope_types,omitempty"`
	PolicyFileText *string             `json:"policy_file_text,omitempty"`
	PolicyD        []json.RawMessage   `json:"policy_d,omitzero"` // JSON objects or JSON strings (raw YAML text)
	Registered     []Registered        `json:"registered,omitempty"`
	NoPolicyFile   bool                `json:"no_policy_file,omitempty"`

	Expect *Result `json:"expect,omitempty"` // the oracle's answer
}

// Result is the oracle's answer for one case.
type Result struct {
	Allowed bool   `json:"allowed"`
	Error   string `json:"error,omitempty"`  // "<ExcType>: <message>" when oslo raised
	Raised  string `json:"raised,omitempty"` // only with do_raise: PolicyNotAuthorized / InvalidScope
}

// Outcome classifies a result as "allow", "deny" or "error".
func (r Result) Outcome() string {
	switch {
	case r.Error != "":
		return "error"
	case r.Allowed:
		return "allow"
	default:
		return "deny"
	}
}

// Registered is a RuleDefault registered with the enforcer (mode "file").
type Registered struct {
	Name                 string          `json:"name"`
	CheckStr             string          `json:"check_str"`
	ScopeTypes           []string        `json:"scope_types,omitempty"`
	DeprecatedRule       *DeprecatedRule `json:"deprecated_rule,omitempty"`
	DeprecatedForRemoval bool            `json:"deprecated_for_removal,omitempty"`
	DeprecatedSince      string          `json:"deprecated_since,omitempty"`
	DeprecatedReason     string          `json:"deprecated_reason,omitempty"`
}

// DeprecatedRule is the deprecated_rule of a Registered default.
type DeprecatedRule struct {
	Name     string `json:"name"`
	CheckStr string `json:"check_str"`
}

// NullableString is a JSON string or null. Use a *NullableString field to
// also represent "absent" (nil).
type NullableString struct {
	Null  bool
	Value string
}

// Name returns a non-null NullableString.
func Name(s string) *NullableString { return &NullableString{Value: s} }

// Null returns a JSON-null NullableString.
func Null() *NullableString { return &NullableString{Null: true} }

// MarshalJSON implements json.Marshaler.
func (n NullableString) MarshalJSON() ([]byte, error) {
	if n.Null {
		return []byte("null"), nil
	}
	return json.Marshal(n.Value)
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *NullableString) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*n = NullableString{Null: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*n = NullableString{Value: s}
	return nil
}

// String renders the value for messages.
func (n *NullableString) String() string {
	switch {
	case n == nil:
		return "<absent>"
	case n.Null:
		return "null"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// RuleEntry is one name -> rule pair of a policy map.
type RuleEntry struct {
	Name  string
	Value json.RawMessage // a JSON string, list, null, bool, number or object
}

// Rules is an ordered policy map. It encodes as a JSON object whose keys
// appear in slice order.
type Rules []RuleEntry

// MarshalJSON implements json.Marshaler.
func (r Rules) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range r {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(e.Name)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v := e.Value
		if len(v) == 0 {
			return nil, fmt.Errorf("oracle: rule %q has an empty raw value", e.Name)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, fmt.Errorf("oracle: rule %q: %w", e.Name, err)
		}
		buf.Write(c.Bytes())
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON implements json.Unmarshaler; order and duplicates are kept.
func (r *Rules) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null
		*r = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("oracle: rules must be a JSON object, got %v", tok)
	}
	out := Rules{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := kt.(string)
		if !ok {
			return fmt.Errorf("oracle: bad rules key %v", kt)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		out = append(out, RuleEntry{Name: k, Value: v})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*r = out
	return nil
}

// Dict returns the map as Python's json.loads sees it: for duplicate names
// the last value wins but keeps the position of the first occurrence.
func (r Rules) Dict() Rules {
	idx := map[string]int{}
	var out Rules
	for _, e := range r {
		if i, ok := idx[e.Name]; ok {
			out[i].Value = e.Value
			continue
		}
		idx[e.Name] = len(out)
		out = append(out, e)
	}
	if out == nil && r != nil {
		out = Rules{}
	}
	return out
}

// Get returns the (last) value of name.
func (r Rules) Get(name string) (json.RawMessage, bool) {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i].Name == name {
			return r[i].Value, true
		}
	}
	return nil, false
}

// Names returns the rule names in order (duplicates included).
func (r Rules) Names() []string {
	out := make([]string, len(r))
	for i, e := range r {
		out[i] = e.Name
	}
	return out
}

// MustRules builds Rules from alternating name, value arguments. Values are
// encoded with json.Marshal unless they already are json.RawMessage.
// It panics on odd argument counts or unencodable values.
func MustRules(kv ...any) Rules {
	if len(kv)%2 != 0 {
		panic("oracle.MustRules: odd number of arguments")
	}
	out := Rules{}
	for i := 0; i < len(kv); i += 2 {
		name, ok := kv[i].(string)
		if !ok {
			panic(fmt.Sprintf("oracle.MustRules: name %v is not a string", kv[i]))
		}
		out = append(out, RuleEntry{Name: name, Value: MustJSON(kv[i+1])})
	}
	return out
}

// MustJSON encodes v (without HTML escaping); json.RawMessage is passed
// through compacted. It panics on error.
func MustJSON(v any) json.RawMessage {
	if raw, ok := v.(json.RawMessage); ok {
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			panic(err)
		}
		return c.Bytes()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// caseAlias has Case's fields without its methods.
type caseAlias Case

// UnmarshalJSON decodes a case, keeping numbers in target/creds as
// json.Number and distinguishing an absent default_rule from null.
func (c *Case) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	// Decode everything but target/creds/default_rule through the alias
	// (target/creds must not go through float64: 1e400 would fail).
	rest := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		switch k {
		case "target", "creds", "default_rule":
		default:
			rest[k] = v
		}
	}
	var rbuf bytes.Buffer
	enc := json.NewEncoder(&rbuf)
	enc.SetEscapeHTML(false) // keep raw rule values byte-exact
	err := enc.Encode(rest)
	if err != nil {
		return err
	}
	rb := rbuf.Bytes()
	var a caseAlias
	if err := json.Unmarshal(rb, &a); err != nil {
		return err
	}
	decodeAny := func(key string) (any, error) {
		v, ok := raw[key]
		if !ok {
			return map[string]any{}, nil // the oracle's default
		}
		return DecodeValue(v)
	}
	if a.Target, err = decodeAny("target"); err != nil {
		return fmt.Errorf("oracle: target: %w", err)
	}
	if a.Creds, err = decodeAny("creds"); err != nil {
		return fmt.Errorf("oracle: creds: %w", err)
	}
	if v, ok := raw["default_rule"]; ok {
		a.DefaultRule = new(NullableString)
		if err := a.DefaultRule.UnmarshalJSON(v); err != nil {
			return fmt.Errorf("oracle: default_rule: %w", err)
		}
	}
	*c = Case(a)
	return nil
}

// DecodeValue decodes one JSON value with numbers as json.Number.
func DecodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// Marshal encodes a case as one JSON line (no trailing newline, no HTML
// escaping).
func Marshal(c Case) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(caseAlias(c)); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Unmarshal decodes one case line.
func Unmarshal(line []byte) (Case, error) {
	var c Case
	err := json.Unmarshal(line, &c)
	return c, err
}

// ReadJSONL decodes a JSON-lines stream of cases (blank lines skipped).
func ReadJSONL(data []byte) ([]Case, error) {
	var out []Case
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		c, err := Unmarshal(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// WriteJSONL encodes cases as JSON lines, each terminated by "\n".
func WriteJSONL(cases []Case) ([]byte, error) {
	var buf bytes.Buffer
	for _, c := range cases {
		b, err := Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// request returns the case as sent to the oracle: bookkeeping fields and
// the expectation are dropped.
func (c Case) request() Case {
	c.ID, c.Note, c.Expect = "", "", nil
	c.Network, c.HeadDiffers = false, false
	return c
}

// Summary counts outcomes.
type Summary struct{ Allow, Deny, Error int }

// Add counts one result.
func (s *Summary) Add(r Result) {
	switch r.Outcome() {
	case "allow":
		s.Allow++
	case "deny":
		s.Deny++
	default:
		s.Error++
	}
}

// Total is the number of counted results.
func (s Summary) Total() int { return s.Allow + s.Deny + s.Error }

func (s Summary) String() string {
	t := s.Total()
	if t == 0 {
		return "0 cases"
	}
	pct := func(n int) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(t)) }
	return strings.Join([]string{
		fmt.Sprintf("%d cases", t),
		fmt.Sprintf("allow %d (%s)", s.Allow, pct(s.Allow)),
		fmt.Sprintf("deny %d (%s)", s.Deny, pct(s.Deny)),
		fmt.Sprintf("error %d (%s)", s.Error, pct(s.Error)),
	}, ", ")
}
