package oslo

import (
	"strings"
	"testing"
)

func TestRaises(t *testing.T) {
	tests := []struct {
		policy, rule, want string // want: "" when it need not raise
	}{
		{`{"download_image": "rule:a", "a": "rule:download_image"}`, "download_image", "download_image -> a -> download_image"},
		{`{"download_image": "rule:download_image"}`, "download_image", "download_image -> download_image"},
		{`{"x": "not rule:x"}`, "x", "x -> x"},
		{`{"x": "@ and rule:x"}`, "x", "x -> x"},
		{`{"x": "! or rule:x"}`, "x", "x -> x"},
		{`{"x": "'admin'"}`, "x", "bare token"},
		{`{"default": "rule:b", "b": "rule:default"}`, "unknown", "default -> b -> default"},
		// Not reached for every input: oslo short-circuits.
		{`{"x": "role:admin or rule:x"}`, "x", ""},
		{`{"x": "role:admin and rule:x"}`, "x", ""},
		{`{"x": "@ or rule:x"}`, "x", ""},
		{`{"x": "rule:y", "y": "role:admin"}`, "x", ""},
		{`{"x": "rule:undefined"}`, "x", ""},
		{`{"x": "rule:y", "y": "rule:z", "z": "@"}`, "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			l, err := ParseLayer("policy.json", []byte(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build([]*Layer{l}, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			reason, raises := p.Raises(tc.rule)
			if raises != (tc.want != "") || !strings.Contains(reason, tc.want) {
				t.Errorf("Raises(%q) = %q, %v; want %q", tc.rule, reason, raises, tc.want)
			}
		})
	}
}
