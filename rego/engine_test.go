package rego_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// The Glance download restriction from the blueprint.
const glancePolicy = `{
  "context_is_admin": "role:admin",
  "restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)",
  "download_image": "role:admin or rule:restricted",
  "cyclic": "rule:cyclic or @",
  "bare": "'admin'"
}`

func engine(t testing.TB, policy string, opts oslo.Options) *rego.Engine {
	t.Helper()
	e, err := rego.New(context.Background(), rego.Translation(translated(t, policy, opts, "")))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// built is policy (JSON) loaded as policy.json.
func built(t testing.TB, policy string, opts oslo.Options) *oslo.Policy {
	t.Helper()
	l, err := oslo.ParseLayer("policy.json", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// translated is policy (JSON) translated into package pkg ("" the default).
func translated(t testing.TB, policy string, opts oslo.Options, pkg string) *translate.Translation {
	t.Helper()
	tr, err := translate.Translate(built(t, policy, opts), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestDecide(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	restricted := map[string]any{"x_billing_code_ntt": "ntt_3251"}
	other := map[string]any{"x_billing_code_ntt": "ntt_0001"}
	absent := map[string]any{}
	member := map[string]any{"roles": []any{"member"}}
	admin := map[string]any{"roles": []any{"Admin", "member"}}
	reader := map[string]any{"roles": []any{"reader"}}
	none := map[string]any{}
	tests := []struct {
		name      string
		rule      string
		target    any
		creds     any
		allowed   bool
		evaluated string
		err       string
	}{
		{"member, restricted image", "download_image", restricted, member, false, "download_image", ""},
		{"member, other code", "download_image", other, member, true, "download_image", ""},
		{"member, no marker", "download_image", absent, member, true, "download_image", ""},
		{"admin, restricted image", "download_image", restricted, admin, true, "download_image", ""},
		{"reader, restricted image", "download_image", restricted, reader, true, "download_image", ""},
		{"no role, restricted image", "download_image", restricted, none, true, "download_image", ""},
		{"unknown rule, no default rule defined", "nope", absent, admin, false, "", ""},
		{"cycle is short-circuited", "cyclic", absent, none, false, "cyclic", "RecursionError"},
		{"bare token raises", "bare", absent, none, false, "bare", "AttributeError"},
		{"credentials not an object", "download_image", absent, []any{}, false, "download_image", "InvalidContextObject"},
		{"null target raises on formatting", "download_image", nil, member, false, "download_image", "TypeError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := rego.Request{Rule: tc.rule, Target: tc.target, Credentials: tc.creds}
			var d rego.Decision
			var err error
			if tc.target == nil {
				in, ierr := rego.InputJSON(tc.rule, []byte("null"), []byte(`{"roles": ["member"]}`))
				if ierr != nil {
					t.Fatal(ierr)
				}
				d, err = e.DecideInput(context.Background(), tc.rule, in)
			} else {
				d, err = e.Decide(context.Background(), req)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tc.allowed || d.Evaluated != tc.evaluated || !strings.Contains(d.Error, tc.err) || (tc.err == "") != (d.Error == "") {
				t.Errorf("got allowed=%v evaluated=%q error=%q, want %v %q %q", d.Allowed, d.Evaluated, d.Error, tc.allowed, tc.evaluated, tc.err)
			}
		})
	}
}

// A cycle that short-circuit never reaches does not raise: "@ or rule:x".
func TestCycleOnlyWhenReached(t *testing.T) {
	e := engine(t, `{"a": "@ or rule:b", "b": "rule:a", "c": "rule:b"}`, oslo.Options{})
	for rule, want := range map[string]string{"a": "allow", "b": "allow", "c": "allow"} {
		d, err := e.Decide(context.Background(), rego.Request{Rule: rule})
		if err != nil {
			t.Fatal(err)
		}
		if got := kind(d); got != want {
			t.Errorf("%s: got %s (%s), want %s", rule, got, d.Error, want)
		}
	}
	e = engine(t, `{"a": "rule:b or @", "b": "rule:a"}`, oslo.Options{})
	d, _ := e.Decide(context.Background(), rego.Request{Rule: "a"})
	if kind(d) != "error" || !strings.Contains(d.Error, "a -> b -> a") {
		t.Errorf("a: got %s %q, want the cycle a -> b -> a", kind(d), d.Error)
	}
}

func kind(d rego.Decision) string {
	switch {
	case d.Error != "":
		return "error"
	case d.Allowed:
		return "allow"
	}
	return "deny"
}

func TestExplain(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	d, err := e.Explain(context.Background(), rego.Request{
		Rule:        "download_image",
		Target:      map[string]any{"x_billing_code_ntt": "ntt_3251"},
		Credentials: map[string]any{"roles": []any{"member"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Explanation == nil {
		t.Fatalf("want a denied, explained decision, got %+v", d)
	}
	text := d.Explanation.String()
	for _, want := range []string{
		"download_image := (role:admin or rule:restricted) = false",
		"restricted := not ('ntt_3251':%(x_billing_code_ntt)s and role:member) = false   [policy.json:3]",
		"'ntt_3251':%(x_billing_code_ntt)s = true",
		`failed: role:admin = false (in rule "download_image" at policy.json:4)`,
		`failed: not ('ntt_3251':%(x_billing_code_ntt)s and role:member) = false (in rule "restricted" at policy.json:3)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}

// One engine answers from many goroutines at once.
func TestConcurrentDecisions(t *testing.T) {
	e := engine(t, glancePolicy, oslo.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				code := fmt.Sprintf("ntt_%04d", (g*50+i)%3+3250)
				d, err := e.Decide(context.Background(), rego.Request{Rule: "download_image",
					Target: map[string]any{"x_billing_code_ntt": code}, Credentials: map[string]any{"roles": []any{"member"}}})
				if err != nil || d.Allowed != (code != "ntt_3251") {
					errs <- fmt.Sprintf("%s: allowed=%v err=%v", code, d.Allowed, err)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func Example() {
	ctx := context.Background()
	layer, _ := oslo.ParseLayer("policy.json", []byte(`{
		"restricted": "not ('ntt_3251':%(x_billing_code_ntt)s and role:member)",
		"download_image": "role:admin or rule:restricted"}`))
	policy, _ := oslo.Build([]*oslo.Layer{layer}, nil, oslo.Options{})
	tr, _ := translate.Translate(policy, "")
	eng, err := rego.New(ctx, rego.Translation(tr))
	if err != nil {
		panic(err)
	}
	d, _ := eng.Decide(ctx, rego.Request{
		Rule:        "download_image",
		Target:      map[string]any{"x_billing_code_ntt": "ntt_3251"},
		Credentials: map[string]any{"roles": []any{"member"}},
	})
	fmt.Println(d.Allowed, d.Origin)
	// Output: false policy.json:3
}

// Raw Rego beside legacy rules, both ways: an oslo rule refers to a rule
// written in Rego, and Rego uses a translated rule.
func TestRawRegoBesideLegacy(t *testing.T) {
	const raw = `package oslo.policy

import data.oslo.lib

restricted_codes := {"ntt_3251", "ntt_3252"}

# restricted: members may not download images whose billing code is listed.
rules.restricted := false if {
	input.target.x_billing_code_ntt in restricted_codes
	"member" in lib.roles
} else := true

# may_download uses the translated oslo rule.
may_download if rules.download_image == true
`
	l, err := oslo.ParseLayer("policy.json", []byte(`{"download_image": "role:admin or rule:restricted"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names, err := oslo.RegoRules("restrict.rego", raw, translate.DefaultPackage)
	if err != nil {
		t.Fatal(err)
	}
	for name, at := range names {
		if err := p.DeclareExternal(name, at); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := rego.New(ctx, rego.Translation(tr), rego.Module("restrict.rego", raw))
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]bool{"ntt_3251": false, "ntt_3252": false, "ntt_0001": true} {
		d, err := e.Decide(ctx, rego.Request{Rule: "download_image", Target: map[string]any{"x_billing_code_ntt": code}, Credentials: map[string]any{"roles": []any{"member"}}})
		if err != nil || d.Allowed != want || d.Error != "" {
			t.Errorf("%s: %+v %v, want allowed=%v", code, d, err, want)
		}
	}
	d, _ := e.Decide(ctx, rego.Request{Rule: "restricted", Target: map[string]any{"x_billing_code_ntt": "ntt_3251"}, Credentials: map[string]any{"roles": []any{"member"}}})
	if d.Allowed || d.Origin != "restrict.rego:8" {
		t.Errorf("enforcing the Rego rule by name: %+v", d)
	}
	// A name defined both in a policy file and in Rego is refused, naming both.
	p2, _ := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	err = p2.DeclareExternal("download_image", oslo.Origin{Path: "x.rego", Line: 3})
	if err == nil || !strings.Contains(err.Error(), "x.rego:3") || !strings.Contains(err.Error(), "policy.json:1") {
		t.Errorf("conflict: %v", err)
	}
}
