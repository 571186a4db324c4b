package oslo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// A defaults file's keys are exact and known: a misspelt scope_types must
// not drop scope enforcement silently. Documentation keys are accepted.
func TestParseDefaultsKeys(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // "" parses
	}{
		{"documented keys", `{"_source": "x", "rules": {"a": {"check_str": "@", "scope_types": ["project"],
			"deprecated_for_removal": false, "deprecated_reason": "r", "deprecated_since": "W",
			"description": "d", "operations": [{"path": "/", "method": "GET"}],
			"deprecated_rule": {"name": "old", "check_str": "!", "deprecated_reason": "r", "deprecated_since": "W"}}}}`, ""},
		{"misspelt scope_types", "{\"rules\": {\"a\": {\"check_str\": \"@\",\n \"scope_typez\": [\"system\"]}}}",
			`d.json:2: rule "a": unknown key "scope_typez"`},
		{"cased scope_types", "rules:\n  a:\n    check_str: '@'\n    Scope_Types: [system]\n",
			`d.json:4: rule "a": unknown key "Scope_Types"`},
		{"misspelt deprecated_for_removal", "rules:\n  a:\n    check_str: '@'\n    deprecated_for_remova: true\n",
			`d.json:4: rule "a": unknown key "deprecated_for_remova"`},
		{"unknown key in deprecated_rule", "rules:\n  a:\n    check_str: '@'\n    deprecated_rule:\n      name: old\n      check_strs: '!'\n",
			`d.json:6: rule "a": unknown key "deprecated_rule.check_strs"`},
		{"unknown top-level key", `{"rulez": {}}`, `unknown key "rulez"`},
		{"no check_str", `{"rules": {"a": {}}}`, `rule "a" has no check_str`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDefaults("d.json", []byte(tc.text))
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseDefaults: %v, want %q", err, tc.want)
			}
		})
	}
}

// The defaults files the project ships and the registered defaults of the
// reference policies (../shared/policies/*.meta.json) use only accepted
// keys.
func TestShippedDefaultsParse(t *testing.T) {
	files, err := filepath.Glob("../../bundles/*/defaults.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped defaults files: %v", err)
	}
	if dir, ok := testenv.MaybeShared(t, "policies"); ok {
		metas, _ := filepath.Glob(filepath.Join(dir, "*.meta.json"))
		if len(metas) == 0 {
			t.Fatalf("no *.meta.json in %s", dir)
		}
		files = append(files, metas...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDefaults(f, data)
		if err != nil || len(d) == 0 {
			t.Errorf("%s: %d rules, %v", f, len(d), err)
		}
	}
}
