package checker

import (
	"fmt"
	"testing"

	"github.com/oslorego/oslorego/rego"
)

// fastLines are request lines, usual and not, for the one-pass reading.
var fastLines = []string{
	`{"rule":"compute:get","target":{"project_id":"p","id":"req-1"},"creds":{"roles":["member"],"is_admin":false}}`,
	`{"rule": "a", "target": {"b": 1, "a": [1.5, -0, {"y": null, "x": true}]}, "creds": {"é": "\u00e9\ud83d\ude00"}}`,
	`{"rule":"a","rules":{"a":"role:admin"},"target":{},"creds":{},"Creds":{"roles":["admin"]}}`,
	`{"rule":"a","rules":{"a":"role:admin"},"target":{},"cred\u017f":{"roles":["admin"]}}`,
	`{"rule":"a","rules":{"a":"role:admin"},"creds":{"roles":["admin"]},"creds":{}}`,
	`{"rule":"a","rules":{"a":"@"},"target":{},"creds":{}} trailing`, `["a"]`, `{}`, `{"rule":"a"}`,
	`{"rules":{"default":"@"},"target":{},"creds":{}}`, `{"rule":null,"rules":{"default":"@"},"target":{},"creds":{}}`,
	`{"rule":5,"rules":{"default":"@"}}`, `{"rule":true,"rules":{"default":"@"}}`, `{"rule":1.5,"rules":{"default":"@"}}`,
	`{"rule":NaN,"rules":{"default":"@"}}`, `{"rule":1e400,"rules":{"default":"@"}}`, `{"rule":["a"],"rules":{"default":"@"}}`,
	`{"rule":{},"rules":{"default":"@"}}`, `{"rule":["a"],"rules":{}}`, `{"rule":"x","rules":{"d":"@"},"default_rule":5}`,
	`{"rule":"x","rules":{"d":"@"},"default_rule":"d"}`, `{"rule":"x","rules":{"d":"@"},"default_rule":""}`,
	`{"rule":"x","rules":{"d":"@"},"default_rule":null}`, `{"rule":"x","rules":{"d":"@"},"default_rule":["d"]}`,
	`{"rule":"x","rules":{"d":"@"},"default_rule":[]}`, `{"rule":"x","rules":{"d":"@"},"default_rule":{"a":1}}`,
	`{"rule":"x","default_rule":"d"}`, `{"rule":"x","rules":[]}`, `{"rule":"x","rules":"a"}`, `{"rule":"x","rules":1}`,
	`{"rule":"x","rules":2.5}`, `{"rule":"x","rules":null}`, `{"rule":"x","rules":false}`, `{"rule":5}`,
	`{"rule":"\ud800","rules":{"default":"@"}}`, `{"rule":"a","target":{"x":"\udfff"}}`, `{"rule":"a","creds":{"x":"\ud800"}}`,
	`{"rule":"a","target":{"x":1,"x":2}}`, `{"rule":"a","target":{"b":{"d":1,"c":2},"a":[{"z":1,"y":2}]}}`,
	`{"rule":"a","target":[],"creds":"x"}`, `{"\ud800":1}`, "{\"rule\":\"a\",\"target\":{\"\xff\":1}}",
}

// checkFastLine asserts that a line read in one pass gives the request,
// or the error, that json.loads's exact reading gives.
func checkFastLine(t *testing.T, line string) {
	t.Helper()
	var fast, exact lineFields
	ok, errFast := readFieldsFast(line, &fast)
	if !ok {
		return // the exact reading decides it (see rego.DecodeMembers's tests)
	}
	errExact := readFieldsExact(line, &exact)
	if fmt.Sprint(errFast) != fmt.Sprint(errExact) {
		t.Fatalf("%q: one pass %v, exact %v", line, errFast, errExact)
	}
	if errFast != nil {
		return
	}
	got, errGot := requestOf(&fast)
	want, errWant := requestOf(&exact)
	if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
		t.Fatalf("%q: one pass %v, exact %v", line, errGot, errWant)
	}
	if errGot != nil {
		return
	}
	if fmt.Sprintf("%#v %q %q %t %+v", got.rule, got.ruleErr, got.rules, got.emptyRules, got.defaultRule) !=
		fmt.Sprintf("%#v %q %q %t %+v", want.rule, want.ruleErr, want.rules, want.emptyRules, want.defaultRule) {
		t.Fatalf("%q: one pass %+v, exact %+v", line, got, want)
	}
	in := func(r request) string {
		v, err := rego.InputValue("r", r.target, r.creds)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return v.String()
	}
	if a, b := in(got), in(want); a != b {
		t.Fatalf("%q: one pass %s, exact %s", line, a, b)
	}
}

func TestParseLineFastIsExact(t *testing.T) {
	read := 0
	for _, l := range fastLines {
		checkFastLine(t, l)
		var fs lineFields
		if ok, _ := readFieldsFast(l, &fs); ok {
			read++
		}
	}
	// Most lines are read in one pass, so the comparison compares.
	if read < len(fastLines)/2 {
		t.Errorf("only %d of %d lines read in one pass", read, len(fastLines))
	}
}

// FuzzParseLineFast is TestParseLineFastIsExact on any line.
func FuzzParseLineFast(f *testing.F) {
	for _, l := range fastLines {
		f.Add(l)
	}
	f.Fuzz(checkFastLine)
}

// BenchmarkParseLine reads a request line of the cold benchmark.
func BenchmarkParseLine(b *testing.B) {
	line := []byte(`{"rule":"os_compute_api:servers:show","target":{"id":"req-12345","project_id":"d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f","user_id":"u-1"},"creds":{"domain_id":null,"is_admin":false,"project_id":"d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f","roles":["member","reader"],"system_scope":null,"user_id":"u-1"}}`)
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var fs lineFields
			if err := readFieldsExact(string(line), &fs); err != nil {
				b.Fatal(err)
			}
			if _, err := requestOf(&fs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseLine(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}
