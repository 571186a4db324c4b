package translate

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/translate/oslo"
)

// FuzzTranslate checks that any rule string translates to Rego that
// compiles: a rule oslo accepts must never become a broken module.
func FuzzTranslate(f *testing.F) {
	// Seeds: every string rule of the policy the golden test pins (each
	// construct the emitter handles); the parser's own edge cases seed
	// oslo's FuzzParseRule.
	layers, err := oslo.ReadLayers("testdata/constructs.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range layers[0].Rules {
		if !r.TextIsJSON {
			f.Add(r.Text, "role:a or rule:r")
		}
	}
	f.Add("rule:r or rule:s", "rule:r")
	f.Add("x:%(k)5.2r and 'lit':%s", "not rule:default")
	f.Fuzz(func(t *testing.T, r, s string) {
		doc, err := json.Marshal(map[string]string{"r": r, "s": s, "default": "rule:s"})
		if err != nil {
			t.Skip()
		}
		tr := translateJSON(t, "fuzz.json", doc)
		p := tr.Policy
		modules := map[string]*ast.Module{}
		for _, m := range append([]Module{LibModule()}, tr.Modules...) {
			mod, err := ast.ParseModuleWithOpts(m.File, m.Text, ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatalf("%s does not parse: %v\n%s", m.File, err, m.Text)
			}
			modules[m.File] = mod
		}
		c := ast.NewCompiler()
		if c.Compile(modules); c.Failed() {
			t.Fatalf("translation does not compile: %v", c.Errors)
		}
		_ = oslo.Lint(p)
	})
}
