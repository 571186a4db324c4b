package bundles

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/rego"
)

// edited is b with the module at path rewritten by edit.
func edited(t *testing.T, b *bundle.Bundle, path string, edit func(string) string) *bundle.Bundle {
	t.Helper()
	c := *b
	c.Modules = append([]bundle.ModuleFile(nil), b.Modules...)
	for i, m := range c.Modules {
		if m.Path == path {
			text := edit(string(m.Raw))
			if text == string(m.Raw) {
				t.Fatalf("the edit of %s changed nothing", path)
			}
			c.Modules[i].Raw = []byte(text)
			c.Modules[i].Parsed = nil
			return &c
		}
	}
	t.Fatalf("no module %s", path)
	return nil
}

// A built bundle's engine knows the translation its modules carry: it names
// the rule that decided and decides safe rules natively, with the same
// decisions as the engine of the modules alone. A bundle whose translated
// modules were edited after the build decides by its own modules.
func TestBuiltBundleEngineKnowsItsTranslation(t *testing.T) {
	ctx := context.Background()
	member := map[string]any{"roles": []any{"member"}, "project_id": "p1"}
	plain := rego.Request{Rule: "download_image", Target: map[string]any{"project_id": "p1"}, Credentials: member}
	restricted := rego.Request{Rule: "download_image", Target: map[string]any{"project_id": "p1", "x_billing_code_ntt": "ntt_3251"}, Credentials: member}
	unknown := rego.Request{Rule: "no_such_rule", Target: map[string]any{}, Credentials: member}
	decide := func(t *testing.T, eng *rego.Engine, req rego.Request) rego.Decision {
		t.Helper()
		d, err := eng.Decide(ctx, req)
		if err != nil || d.Error != "" {
			t.Fatalf("%s: %+v %v", req.Rule, d, err)
		}
		return d
	}
	// modulesAlone is the engine of b's modules without the translation.
	modulesAlone := func(t *testing.T, b *bundle.Bundle) *rego.Engine {
		t.Helper()
		opts := []rego.Option{rego.Data(b.Data)}
		for _, m := range b.Modules {
			opts = append(opts, rego.Module(strings.TrimPrefix(m.Path, "/"), string(m.Raw)))
		}
		eng, err := rego.New(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	b := build(t, "glance")

	t.Run("as built", func(t *testing.T) {
		eng, err := engine(ctx, b, "")
		if err != nil {
			t.Fatal(err)
		}
		if cov := eng.NativeCoverage(); cov.Native == 0 || cov.Disabled != "" {
			t.Fatalf("native coverage %+v, want the safe rules native", cov)
		}
		if eng.Translation() == nil {
			t.Fatal("no translation")
		}
		alone := modulesAlone(t, b)
		for _, req := range []rego.Request{plain, restricted, unknown} {
			got, want := decide(t, eng, req), decide(t, alone, req)
			if got.Allowed != want.Allowed {
				t.Errorf("%s %v: built engine %v, modules alone %v", req.Rule, req.Target, got.Allowed, want.Allowed)
			}
		}
		if d := decide(t, eng, plain); !d.Allowed || d.Evaluated != "download_image" || d.Origin == "" {
			t.Errorf("plain download: %+v, want allowed by download_image with its origin", d)
		}
		if d := decide(t, eng, restricted); d.Allowed {
			t.Errorf("restricted download allowed: %+v", d)
		}
		if d := decide(t, eng, unknown); d.Evaluated != "default" {
			t.Errorf("unknown rule: %+v, want the default rule to decide", d)
		}
	})

	t.Run("comment added", func(t *testing.T) {
		c := edited(t, b, "/oslo/policy/policy.rego", func(s string) string { return s + "\n# reviewed\n" })
		eng, err := engine(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if eng.Translation() == nil || eng.NativeCoverage().Native == 0 {
			t.Fatalf("a comment lost the translation: %+v", eng.NativeCoverage())
		}
	})

	t.Run("rule edited", func(t *testing.T) {
		c := edited(t, b, "/oslo/policy/policy.rego", func(s string) string {
			s = strings.ReplaceAll(s, `"member" in lib.roles`, `"nobody" in lib.roles`)
			return strings.ReplaceAll(s, `lib.role_lower("member")`, `lib.role_lower("nobody")`)
		})
		eng, err := engine(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if eng.Translation() != nil || eng.NativeCoverage().Native != 0 {
			t.Fatalf("an edited bundle kept the translation: %+v", eng.NativeCoverage())
		}
		if d := decide(t, eng, plain); d.Allowed {
			t.Errorf("the edited bundle allows a member: %+v (its modules say only nobody)", d)
		}
		if d := decide(t, modulesAlone(t, c), plain); d.Allowed {
			t.Errorf("modules alone allow a member: %+v", d)
		}
	})

	t.Run("library edited", func(t *testing.T) {
		c := edited(t, b, "/oslo/lib/oslo_lib.rego", func(s string) string { return s + "\nextra := true\n" })
		eng, err := engine(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if eng.Translation() != nil {
			t.Fatal("a bundle with another library kept the translation")
		}
		if d := decide(t, eng, plain); !d.Allowed {
			t.Errorf("plain download refused: %+v", d)
		}
	})
}
