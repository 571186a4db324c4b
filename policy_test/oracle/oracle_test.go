package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

func TestRoundTrip(t *testing.T) {
	lines := []string{
		`{"id":"x-1","note":"n","rules":{"b":"role:a","a":[["role:b","x:1"]],"b":{"z:1":1,"a:1":2},"n":null},"rule":"a","target":{"f":10.0,"g":1e20,"i":123456789012345678901234567890,"k":[1,"a",true,null],"z":{"b":1,"a":2}},"creds":{"roles":["a"]},"default_rule":null,"expect":{"allowed":true}}`,
		`{"mode":"file","rule":"r","target":null,"creds":[],"default_rule":"d","conf":{"enforce_new_defaults":true,"enforce_scope":false},"policy_file_text":"a: b\n","policy_d":[{"x":"@"},"y: '!'\n"],"registered":[{"name":"r","check_str":"","scope_types":["project"],"deprecated_rule":{"name":"o","check_str":""},"deprecated_for_removal":true}],"expect":{"allowed":false,"error":"TypeError: x"}}`,
		`{"rules":{},"rule":"a","target":"s","creds":{"a":-0.0},"no_policy_file":true,"expect":{"allowed":false}}`,
		`{"rules":{"r":"a<b:x&y>"},"rule":"r","target":{"k":"<&>"},"creds":{}}`,
		`{"rule":"a","target":{},"creds":{},"do_raise":true,"scope_types":{"a":["system"]},"expect":{"allowed":false,"raised":"InvalidScope"}}`,
	}
	for _, l := range lines {
		c, err := Unmarshal([]byte(l))
		if err != nil {
			t.Fatalf("unmarshal %s: %v", l, err)
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		// Target dict keys are re-sorted; everything else must be identical.
		c2, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := Marshal(c2)
		if !bytes.Equal(b, b2) {
			t.Errorf("not stable:\n%s\n%s", b, b2)
		}
		if strings.Contains(l, "<b:x&y>") && !strings.Contains(string(b), `"a<b:x&y>"`) {
			t.Errorf("raw rule value was re-escaped: %s", b)
		}
		if !jsonEqual(t, []byte(l), b) {
			t.Errorf("round trip changed meaning:\n in: %s\nout: %s", l, b)
		}
	}
}

func TestRoundTripDetails(t *testing.T) {
	c, err := Unmarshal([]byte(`{"rules":{"b":"1","a":"2","b":"3"},"rule":"a","target":{"f":10.0,"e":1e20},"creds":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Rules.Names()); got != "[b a b]" {
		t.Errorf("names = %s", got)
	}
	d := c.Rules.Dict()
	if len(d) != 2 || d[0].Name != "b" || string(d[0].Value) != `"3"` {
		t.Errorf("Dict() = %v", d)
	}
	tg := c.Target.(map[string]any)
	if tg["f"] != json.Number("10.0") || tg["e"] != json.Number("1e20") {
		t.Errorf("numbers lost their text: %#v", tg)
	}
	if c.DefaultRule != nil {
		t.Errorf("absent default_rule decoded as %v", c.DefaultRule)
	}
	c, _ = Unmarshal([]byte(`{"rule":"a","default_rule":null}`))
	if c.DefaultRule == nil || !c.DefaultRule.Null {
		t.Errorf("null default_rule decoded as %v", c.DefaultRule)
	}
	if _, ok := c.Target.(map[string]any); !ok {
		t.Errorf("absent target should normalise to {}, got %#v", c.Target)
	}
	b, _ := Marshal(Case{Rule: "a", Rules: Rules{}, Target: map[string]any{}, Creds: nil})
	if string(b) != `{"rules":{},"rule":"a","target":{},"creds":null}` {
		t.Errorf("empty rules / null creds: %s", b)
	}
	b, _ = Marshal(Case{Rule: "a", Target: map[string]any{}, Creds: map[string]any{}})
	if string(b) != `{"rule":"a","target":{},"creds":{}}` {
		t.Errorf("nil rules must be omitted: %s", b)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	va, err := DecodeValue(a)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := DecodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	// Rules order is checked separately; compare canonical encodings.
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

func TestRunSmall(t *testing.T) {
	testenv.Oracle(t)
	cases := []Case{
		{Rules: MustRules("a", "role:admin"), Rule: "a", Target: map[string]any{}, Creds: map[string]any{"roles": []any{"ADMIN"}}},
		{Rules: MustRules("a", "role:admin"), Rule: "a", Target: map[string]any{}, Creds: map[string]any{"roles": []any{"member"}}},
		{Rules: MustRules("a", "rule:a"), Rule: "a", Target: map[string]any{}, Creds: map[string]any{}},
		{Rules: MustRules("a", "x:%(f)s"), Rule: "a", Target: map[string]any{"f": json.Number("10.0")}, Creds: map[string]any{"x": "10.0"}},
		{Rules: MustRules("a", "x:%(f)s"), Rule: "a", Target: map[string]any{"f": json.Number("10")}, Creds: map[string]any{"x": "10.0"}},
		{Rules: MustRules("a", "@"), Rule: "zzz", Target: map[string]any{}, Creds: map[string]any{}, DefaultRule: Null()},
		{Rules: MustRules("a", "@"), Rule: "zzz", Target: map[string]any{}, Creds: map[string]any{}, DefaultRule: Name("a")},
		{Mode: "file", Rule: "r", Target: map[string]any{}, Creds: map[string]any{},
			Registered: []Registered{{Name: "r", CheckStr: "role:x", DeprecatedRule: &DeprecatedRule{Name: "r", CheckStr: ""}}}},
	}
	want := []string{"allow", "deny", "error", "allow", "deny", "deny", "allow", "allow"}
	res, err := Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome() != want[i] {
			t.Errorf("case %d: got %+v, want %s", i, r, want[i])
		}
	}
	if res[2].Error == "" {
		t.Errorf("cycle should raise: %+v", res[2])
	}
}

func TestRunVerbose(t *testing.T) {
	testenv.Oracle(t)
	res, err := RunVerbose(context.Background(), []Case{{Rules: MustRules("a", "@ or ! and @"), Rule: "a", Target: map[string]any{}, Creds: map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Parsed == nil || *res[0].Parsed != "(@ or (! and @))" || !res[0].Allowed {
		t.Errorf("verbose = %s", res[0].Raw)
	}
}

// TestRunLargeBatch checks that the streaming does not deadlock when the
// request volume exceeds the pipe buffers.
func TestRunLargeBatch(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	big := make([]any, 2000)
	for i := range big {
		big[i] = fmt.Sprintf("role-%d", i)
	}
	var cases []Case
	for i := 0; i < 3000; i++ {
		cases = append(cases, Case{
			Rules:  MustRules("a", fmt.Sprintf("role:role-%d", i%2500)),
			Rule:   "a",
			Target: map[string]any{},
			Creds:  map[string]any{"roles": big},
		})
	}
	start := time.Now()
	res, err := Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if want := i%2500 < 2000; r.Allowed != want || r.Error != "" {
			t.Fatalf("case %d: %+v, want allowed=%v", i, r, want)
		}
	}
	t.Logf("%d cases (%d KiB of requests) in %v", len(cases), len(cases)*len(big)*10/1024, time.Since(start))
}

func TestRunContextCancel(t *testing.T) {
	testenv.Oracle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cases := make([]Case, 20000)
	for i := range cases {
		cases[i] = Case{Rules: MustRules("a", "@"), Rule: "a", Target: map[string]any{}, Creds: map[string]any{}}
	}
	if _, err := Run(ctx, cases); err == nil {
		t.Fatal("expected an error from a cancelled run")
	}
}

func TestFindEnv(t *testing.T) {
	t.Setenv("OSLO_ORACLE", "/nonexistent/oslo_oracle.py")
	if _, _, err := Find(); err == nil {
		t.Fatal("expected error for a missing $OSLO_ORACLE")
	}
}

func TestHugeNumbers(t *testing.T) {
	in := `{"rule":"r","target":{"k":1e400,"j":-1e400},"creds":[1e999]}`
	c, err := Unmarshal([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Marshal(c)
	if !jsonEqual(t, []byte(in), b) {
		t.Errorf("got %s", b)
	}
}
