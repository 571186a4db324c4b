package bundles

import (
	"context"
	"strings"
	"testing"
)

// The "oslorego" manifest metadata a build records is ours: its field
// names are exact and an unknown field is an error, so a hand-edited
// bundle cannot swap the recorded sources or options by a key that
// differs only in case, nor drop an option by misspelling it.
func TestRecordedMetadataExactNames(t *testing.T) {
	policy := func(m map[string]any) map[string]any { return m["policies"].([]any)[0].(map[string]any) }
	defaults := map[string]any{"path": "defaults.json", "text": `{"rules": {"x": {"check_str": "@"}}}`}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string // "" loads
	}{
		{"as built", func(m map[string]any) {}, ""},
		{"with defaults", func(m map[string]any) { m["defaults"] = defaults }, ""},
		{"Policies beside policies", func(m map[string]any) { m["Policies"] = []any{} }, `field "Policies": names are case-sensitive (want "policies")`},
		{"unknown field", func(m map[string]any) { m["policiez"] = []any{} }, `unknown field "policiez"`},
		{"policy Path", func(m map[string]any) { p := policy(m); p["Path"] = p["path"]; delete(p, "path") }, `policies[0]: field "Path"`},
		{"policy TEXT", func(m map[string]any) { p := policy(m); p["TEXT"] = p["text"]; delete(p, "text") }, `policies[0]: field "TEXT"`},
		{"policy unknown field", func(m map[string]any) { policy(m)["txt"] = "" }, `policies[0]: unknown field "txt"`},
		{"defaults Text", func(m map[string]any) {
			m["defaults"] = map[string]any{"path": "d.json", "Text": defaults["text"]}
		}, `defaults: field "Text"`},
		{"options folded", func(m map[string]any) { m["options"] = map[string]any{"enforcescope": true} }, `options: field "enforcescope": names are case-sensitive (want "EnforceScope")`},
		{"options misspelt", func(m map[string]any) { m["options"] = map[string]any{"EnforceScopes": true} }, `options: unknown field "EnforceScopes"`},
		{"Package", func(m map[string]any) { m["PACKAGE"] = "x" }, `field "PACKAGE"`},
		{"Translated", func(m map[string]any) { m["Translated"] = []any{} }, `field "Translated"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := build(t, example)
			tc.edit(b.Manifest.Metadata["oslorego"].(map[string]any))
			_, err := (&Loaded{bundle: b}).Explainer(context.Background())
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Explainer: %v, want %q", err, tc.want)
			}
		})
	}
}
