package policyfile

import (
	"fmt"
	"strings"
	"testing"
)

// TestJSONObjectDuplicates: a JSON object is a Python dict, small (keys
// scanned) or large (indexed): a repeated key keeps its first place and
// takes its last value, as json.loads gives.
func TestJSONObjectDuplicates(t *testing.T) {
	many := func(n int, extra string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"k%d": %d, `, i, i)
		}
		return b.String() + extra + "}"
	}
	cases := []struct {
		name, text string
		want       string // key=value, in order
	}{
		{"small", `{"a": 1, "b": 2, "a": 3}`, "a=3 b=2"},
		{"small, escaped key equal", `{"a": 1, "\u0061": 2}`, "a=2"},
		{"at the scan limit", many(smallStrDict, `"k0": "x", "k15": "y"`), "k0=x k1=1 k2=2 k3=3 k4=4 k5=5 k6=6 k7=7 k8=8 k9=9 k10=10 k11=11 k12=12 k13=13 k14=14 k15=y"},
		{"past the scan limit", many(smallStrDict+2, `"k0": "x", "k17": "y", "new": 0`), "k0=x k1=1 k2=2 k3=3 k4=4 k5=5 k6=6 k7=7 k8=8 k9=9 k10=10 k11=11 k12=12 k13=13 k14=14 k15=15 k16=16 k17=y new=0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := LoadJSON(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range v.Pairs {
				got = append(got, p.Key.Str+"="+p.Val.Str)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %s\nwant %s", g, tc.want)
			}
		})
	}
}
