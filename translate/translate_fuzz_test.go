package translate

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// FuzzTranslate checks that any rule string translates to Rego that
// compiles: a rule oslo accepts must never become a broken module.
func FuzzTranslate(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in, "role:a or rule:r")
	}
	f.Add("rule:r or rule:s", "rule:r")
	f.Add("x:%(k)5.2r and 'lit':%s", "not rule:default")
	f.Fuzz(func(t *testing.T, r, s string) {
		doc, err := json.Marshal(map[string]string{"r": r, "s": s, "default": "rule:s"})
		if err != nil {
			t.Skip()
		}
		l, err := ParseLayer("fuzz.json", doc)
		if err != nil {
			t.Fatalf("string rules must load: %v", err)
		}
		p, err := Build([]*Layer{l}, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Translate(p, "")
		if err != nil {
			t.Fatal(err)
		}
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
		_ = Lint(p)
	})
}
