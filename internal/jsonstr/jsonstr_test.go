package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"admin", `"admin"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"<&>", `"<&>"`},                             // no HTML escaping
		{"\ufeffx", `"\ufeffx"`},                     // a byte-order mark is escaped
		{"tab\there", `"tab\there"`},                 // JSON's own escape
		{"\U000e0001", `"\udb40\udc01"`},             // astral, not printable: a surrogate pair
		{"caf\u00e9 \u4e2d", "\"caf\u00e9 \u4e2d\""}, // printable non-ASCII stays as is
	}
	for _, tc := range tests {
		got := Quote(tc.in)
		if got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != tc.in {
			t.Errorf("Quote(%q) = %s reads back as %q, %v", tc.in, got, back, err)
		}
		if !Printable(got) {
			t.Errorf("Quote(%q) = %q is not printable", tc.in, got)
		}
	}
}
