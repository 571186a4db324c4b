package jsonexact

import (
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name string `json:"name"`
}

type doc struct {
	Roles  []inner          `json:"roles"`
	Admin  *bool            `json:"is_admin,omitempty"`
	ByName map[string]inner `json:"by_name"`
	When   time.Time        `json:"when"`
	Plain  struct{ Path string }
	Skip   string `json:"-"`
}

func TestUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		strict   bool
		wantErr  string // "" means success
	}{
		{"exact", `{"roles":[{"name":"a"}],"is_admin":true,"by_name":{"x":{"name":"b"}},"when":"2026-01-01T00:00:00Z","Plain":{"Path":"p"}}`, true, ""},
		{"unknown allowed when not strict", `{"roles":[],"other":1}`, false, ""},
		{"unknown refused when strict", `{"roles":[],"other":1}`, true, `unknown field "other"`},
		{"folded field name", `{"roles":[],"Roles":[{"name":"admin"}]}`, false, `field "Roles": names are case-sensitive (want "roles")`},
		{"upper case field name", `{"IS_ADMIN":true}`, false, `want "is_admin"`},
		{"unicode folded field name", `{"roleſ":[]}`, false, `want "roles"`},
		{"folded nested in slice", `{"roles":[{"NAME":"admin"}]}`, false, `roles[0]: field "NAME"`},
		{"folded nested in map", `{"by_name":{"x":{"Name":"a"}}}`, false, `by_name.x: field "Name"`},
		{"untagged field needs Go name", `{"plain":{}}`, false, `want "Plain"`},
		{"untagged nested field", `{"Plain":{"path":"p"}}`, false, `want "Path"`},
		{"skipped field is unknown", `{"Skip":"x"}`, true, `unknown field "Skip"`},
		{"duplicate key", `{"roles":[],"roles":[{"name":"admin"}]}`, false, `"roles" given twice`},
		{"trailing data", `{"roles":[]} x`, false, "data after the JSON value"},
		{"second value", `{"roles":[]}{}`, false, "data after the JSON value"},
		{"syntax error", `{"roles":`, false, "unexpected EOF"},
		{"trailing white space", "{\"roles\":[]}\n \t", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d, tc.strict)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Unmarshal: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Unmarshal error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestUnmarshalDecodes(t *testing.T) {
	var d doc
	if err := Unmarshal([]byte(`{"roles":[{"name":"a"}],"Plain":{"Path":"p"}}`), &d, true); err != nil {
		t.Fatal(err)
	}
	if len(d.Roles) != 1 || d.Roles[0].Name != "a" || d.Plain.Path != "p" {
		t.Fatalf("decoded %+v", d)
	}
}
