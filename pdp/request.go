package pdp

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/rego"
)

// checkRequest is one decoded request: the rule and what it is decided on.
type checkRequest struct {
	rule        string
	target      rego.Ordered
	credentials rego.Ordered
}

// errBadRequest marks a request that cannot be decided: a 400.
var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// checkFields are the fields oslo.policy's HttpCheck sends, in both forms.
var checkFields = []string{"rule", "target", "credentials"}

// parseCheckJSON reads HttpCheck's JSON body ({"rule", "target",
// "credentials"}) as Python's json.loads would: exact field names, a
// repeated field keeps its last value, other fields are refused.
func parseCheckJSON(body []byte) (checkRequest, error) {
	if req, ok := fastCheckJSON(body); ok {
		return req, nil
	}
	return parseCheckJSONExact(body)
}

// parseCheckJSONExact is parseCheckJSON through json.loads's exact
// reading, which reports the errors.
func parseCheckJSONExact(body []byte) (checkRequest, error) {
	members, err := jsonObject(body)
	if err != nil {
		return checkRequest{}, err
	}
	return checkFromMembers(members)
}

// fastCheckJSON is parseCheckJSON for the usual body, read in one pass by
// rego.DecodeMembers: each field once, a string rule, object target and
// credentials. ok is false for any other body, which parseCheckJSON then
// reads as before, and refuses if it must.
func fastCheckJSON(body []byte) (req checkRequest, ok bool) {
	members, ok := rego.DecodeMembers(string(body))
	if !ok || len(members) != len(checkFields) {
		return req, false
	}
	seen := 0
	for _, m := range members {
		switch _, isMap := m.Value.Value.(map[string]any); {
		case m.Key == "rule":
			if req.rule, ok = m.Value.Value.(string); !ok {
				return req, false
			}
			seen |= 1
		case m.Key == "target" && isMap:
			req.target, seen = m.Value, seen|2
		case m.Key == "credentials" && isMap:
			req.credentials, seen = m.Value, seen|4
		default:
			return req, false
		}
	}
	return req, seen == 7
}

// checkFromMembers is the request of a JSON body's members.
func checkFromMembers(members []policyfile.Member) (checkRequest, error) {
	fields, err := exactFields(members, checkFields)
	if err != nil {
		return checkRequest{}, err
	}
	var req checkRequest
	if req.rule, err = ruleName(fields["rule"]); err != nil {
		return checkRequest{}, err
	}
	if req.target, err = object("target", fields["target"]); err != nil {
		return checkRequest{}, err
	}
	if req.credentials, err = object("credentials", fields["credentials"]); err != nil {
		return checkRequest{}, err
	}
	return req, nil
}

// parseCheckForm reads HttpCheck's form body ([oslo_policy]
// remote_content_type = application/x-www-form-urlencoded): the same three
// fields, each JSON-encoded (oslo_serialization.jsonutils.dumps), each
// exactly once.
func parseCheckForm(body []byte) (checkRequest, error) {
	if !utf8.Valid(body) {
		return checkRequest{}, badRequest("the form is not valid UTF-8")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return checkRequest{}, badRequest("not a form: %v", err)
	}
	var unknown []string
	for k := range form {
		if !contains(checkFields, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return checkRequest{}, badRequest("unknown form field %s (the fields are \"rule\", \"target\" and \"credentials\")", strings.Join(unknown, ", "))
	}
	values := map[string]policyfile.Value{}
	for _, k := range checkFields {
		vs := form[k]
		switch len(vs) {
		case 0:
			return checkRequest{}, badRequest("the form has no %q", k)
		case 1:
		default:
			return checkRequest{}, badRequest("the form has %q %d times", k, len(vs))
		}
		v, err := policyfile.LoadJSON(vs[0])
		if err != nil {
			return checkRequest{}, badRequest("form field %q is not JSON: %s", k, jsonMessage(err))
		}
		values[k] = v
	}
	var req checkRequest
	if req.rule, err = ruleName(values["rule"]); err != nil {
		return checkRequest{}, err
	}
	if req.target, err = object("target", values["target"]); err != nil {
		return checkRequest{}, err
	}
	if req.credentials, err = object("credentials", values["credentials"]); err != nil {
		return checkRequest{}, err
	}
	return req, nil
}

// parseOPAInput reads oslo.policy.opa's body: {"input": {"target": {...},
// "credentials": {...}}}.
func parseOPAInput(body []byte) (target, creds rego.Ordered, err error) {
	if target, creds, ok := fastOPAInput(body); ok {
		return target, creds, nil
	}
	return parseOPAInputExact(body)
}

// parseOPAInputExact is parseOPAInput through json.loads's exact reading,
// which reports the errors.
func parseOPAInputExact(body []byte) (target, creds rego.Ordered, err error) {
	members, err := jsonObject(body)
	if err != nil {
		return target, creds, err
	}
	top, err := exactFields(members, []string{"input"})
	if err != nil {
		return target, creds, err
	}
	in := top["input"]
	if in.Kind != policyfile.Map {
		return target, creds, badRequest("\"input\" must be an object")
	}
	inner := make([]policyfile.Member, 0, len(in.Pairs))
	for _, p := range in.Pairs {
		inner = append(inner, policyfile.Member{Key: p.Key.Str, Value: p.Val})
	}
	fields, err := exactFields(inner, []string{"target", "credentials"})
	if err != nil {
		return target, creds, fmt.Errorf("input: %w", err)
	}
	if target, err = object("target", fields["target"]); err != nil {
		return target, creds, err
	}
	creds, err = object("credentials", fields["credentials"])
	return target, creds, err
}

// fastOPAInput is parseOPAInput for the usual body, read in one pass by
// rego.DecodeMembers; ok is false for any other body, which parseOPAInput
// then reads as before, and refuses if it must.
func fastOPAInput(body []byte) (target, creds rego.Ordered, ok bool) {
	members, ok := rego.DecodeMembers(string(body))
	if !ok || len(members) != 1 || members[0].Key != "input" {
		return target, creds, false
	}
	in := members[0].Value
	if m, isMap := in.Value.(map[string]any); !isMap || len(m) != 2 {
		return target, creds, false
	}
	target, okT := in.Get("target")
	creds, okC := in.Get("credentials")
	_, tMap := target.Value.(map[string]any)
	_, cMap := creds.Value.(map[string]any)
	return target, creds, okT && okC && tMap && cMap
}

// jsonObject decodes body as one JSON object, as Python's json.loads: a
// dict, so a repeated member keeps its last value (at its first place).
// One parse: the members' raw text, which LoadJSONObject also keeps, is
// not needed here.
func jsonObject(body []byte) ([]policyfile.Member, error) {
	if !utf8.Valid(body) {
		return nil, badRequest("the body is not valid UTF-8")
	}
	members, err := policyfile.LoadJSONObject(string(body))
	if err != nil {
		return nil, badRequest("the body is not one JSON object: %s", jsonMessage(err))
	}
	return members, nil
}

// jsonMessage is a JSON error's message without the wrapping.
func jsonMessage(err error) string {
	var pe *policyfile.Error
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// exactFields keeps the last value of each member and refuses a member
// that is not one of want, or a missing one.
func exactFields(members []policyfile.Member, want []string) (map[string]policyfile.Value, error) {
	out := map[string]policyfile.Value{}
	for _, m := range members {
		if !contains(want, m.Key) {
			return nil, badRequest("unknown field %q (the fields are %s, spelt exactly)", m.Key, quoteAll(want))
		}
		out[m.Key] = m.Value
	}
	for _, k := range want {
		if _, ok := out[k]; !ok {
			return nil, badRequest("no %q field", k)
		}
	}
	return out, nil
}

// ruleName is the rule field: a string naming the rule to decide. oslo
// sends null when enforce() was given a Check rather than a rule name;
// there is then nothing to decide here.
func ruleName(v policyfile.Value) (string, error) {
	if v.Kind != policyfile.String {
		return "", badRequest("\"rule\" must be a string naming the rule to decide, not %s", kindName(v))
	}
	if !utf8.ValidString(v.Str) {
		return "", badRequest("\"rule\" holds a lone surrogate: %v", rego.ErrUnrepresentable)
	}
	return v.Str, nil
}

// object converts a target or credentials value, which must be an object.
func object(name string, v policyfile.Value) (rego.Ordered, error) {
	if v.Kind != policyfile.Map {
		return rego.Ordered{}, badRequest("%q must be an object, not %s", name, kindName(v))
	}
	o, err := rego.OrderedValue(v)
	if err != nil {
		return rego.Ordered{}, badRequest("%s: %v", name, err)
	}
	return o, nil
}

func kindName(v policyfile.Value) string {
	switch v.Kind {
	case policyfile.List:
		return "an array"
	case policyfile.Map:
		return "an object"
	case policyfile.String:
		return "a string"
	case policyfile.Int, policyfile.Float:
		return "a number"
	case policyfile.Bool:
		return "a boolean"
	}
	return "null"
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
