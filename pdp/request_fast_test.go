package pdp

import (
	"testing"

	"github.com/oslorego/oslorego/rego"
)

// fastBodies are request bodies of both JSON forms, usual and not.
var fastBodies = []string{
	`{"rule": "a", "target": {"b": 1, "a": [1.5, -0, {"y": null}]}, "credentials": {"roles": ["r"]}}`,
	`{"rule":"a","target":{},"credentials":{}}`, `{"credentials": {}, "target": {}, "rule": "a"}`,
	`{"rule": "a", "rule": "b", "target": {}, "credentials": {}}`, `{"rule": "a", "target": {}, "credentials": {}, "rule": "b"}`,
	`{"rule": "a", "target": {}, "target": {}}`, `{"rule": 1, "target": {}, "credentials": {}}`, `{"rule": null, "target": {}, "credentials": {}}`,
	`{"rule": "a", "target": [], "credentials": {}}`, `{"rule": "a", "target": {}, "credentials": "x"}`, `{"rule": "a", "target": {}, "Credentials": {}}`,
	`{"rule": "\ud800", "target": {}, "credentials": {}}`, `{"rule": "a", "target": {"x": "\udc00"}, "credentials": {}}`,
	`{"rule": "a", "target": {"x": NaN}, "credentials": {}}`, `{"rule": "a", "target": {"x": 1, "x": 2}, "credentials": {}}`,
	`{"input": {"target": {"b": 1, "a": {"d": 1, "c": 2}}, "credentials": {"roles": ["r"]}}}`, `{"input": {"credentials": {}, "target": {}}}`,
	`{"input": {"target": {}, "credentials": {}, "x": 1}}`, `{"input": {"target": {}}}`, `{"input": {"target": {}, "target": {}}}`,
	`{"input": {"target": {}, "credentials": []}}`, `{"input": []}`, `{"input": {}, "input": {"target": {}, "credentials": {}}}`,
	`{"input": {"target": {}, "credentials": {}}, "x": 1}`, `{}`, `[]`, ``, `{"rule": "a", "target": {}, "credentials": {}} x`,
}

// checkFastBody asserts that a body the one-pass reading takes is the
// request the exact reading makes of it.
func checkFastBody(t *testing.T, body []byte) {
	t.Helper()
	input := func(rule string, target, creds rego.Ordered) string {
		t.Helper()
		in, err := rego.InputValue(rule, target, creds)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		return in.String()
	}
	if req, ok := fastCheckJSON(body); ok {
		want, err := parseCheckJSONExact(body)
		if err != nil {
			t.Fatalf("%q: read in one pass; the exact reading refuses it: %v", body, err)
		}
		if got, exp := input(req.rule, req.target, req.credentials), input(want.rule, want.target, want.credentials); got != exp {
			t.Fatalf("%q: one pass %s, exact %s", body, got, exp)
		}
	}
	if target, creds, ok := fastOPAInput(body); ok {
		wantT, wantC, err := parseOPAInputExact(body)
		if err != nil {
			t.Fatalf("%q: read in one pass; the exact reading refuses it: %v", body, err)
		}
		if got, exp := input("r", target, creds), input("r", wantT, wantC); got != exp {
			t.Fatalf("%q: one pass %s, exact %s", body, got, exp)
		}
	}
}

func TestFastBodiesAreExact(t *testing.T) {
	for _, b := range fastBodies {
		checkFastBody(t, []byte(b))
	}
	for _, b := range []string{fastBodies[0], fastBodies[1], fastBodies[2], fastBodies[15], fastBodies[16],
		checkBody("a", map[string]any{"x": []any{1, "ü"}}, member), opaBody(map[string]any{"project_id": "p1"}, admin)} {
		_, ok := fastCheckJSON([]byte(b))
		_, _, okOPA := fastOPAInput([]byte(b))
		if !ok && !okOPA {
			t.Errorf("%s: left to the exact reading", b)
		}
	}
}

// FuzzFastBodies is TestFastBodiesAreExact on any body.
func FuzzFastBodies(f *testing.F) {
	for _, b := range fastBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(checkFastBody)
}
