package python

import (
	"fmt"
	"strings"
	"testing"
)

func mustValue(t *testing.T, expr string) value {
	t.Helper()
	p := newParser([]byte(expr), false)
	tree, err := p.run(p.evalRule)
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}
	v, err := convert(tree)
	if err != nil {
		t.Fatalf("convert %q: %v", expr, err)
	}
	return v
}

// Expected values are hash() of /usr/bin/python3 (3.11.2, 64-bit).
func TestPyHash(t *testing.T) {
	cases := []struct {
		expr string
		want int64
	}{
		{"-1", -2},
		{"2305843009213693951", 0}, // 2**61-1
		{"2305843009213693952", 1}, // 2**61
		{"-2305843009213693952", -2},
		{"1000000000000000000000000000000", 465258685558744706},
		{"1.5", 1152921504606846977},
		{"-1.5", -1152921504606846977},
		{"1e300", 1224995262755759164},
		{"0.1", 230584300921369408},
		{"-0.0", 0},
		{"1e999", 314159},
		{"-1e999", -314159},
		{"1j", 1000003},
		{"1+2j", 2000007},
		{"-1.5-0.5j", -4611686018427387905},
		{"()", 5740354900026072187},
		{"(1,)", -6644214454873602895},
		{"(1,2)", -3550055125485641917},
		{"((1,2),3.5)", 8011440717425436011},
		{"True", 1},
		{"(0, -1)", 8374038142897728572},
	}
	for _, c := range cases {
		h, det, err := pyHash(mustValue(t, c.expr))
		if err != nil || !det || int64(h) != c.want {
			t.Errorf("hash(%s) = %d (det %v, err %v), want %d", c.expr, int64(h), det, err, c.want)
		}
	}
	for _, expr := range []string{"'a'", "b'a'", "None", "...", "(1, 'a')"} {
		if _, det, err := pyHash(mustValue(t, expr)); det || err != nil {
			t.Errorf("hash(%s) should be reported as not reproducible", expr)
		}
	}
	for _, expr := range []string{"[1]", "(1, [2])", "(1, {2})"} {
		if _, _, err := pyHash(mustValue(t, expr)); err == nil || err.typ != "TypeError" {
			t.Errorf("hash(%s) should raise TypeError, got %v", expr, err)
		}
	}
}

// Expected strings are str() of the same sets built by /usr/bin/python3.
func TestSetOrder(t *testing.T) {
	seq := func(n int, f func(int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	cases := []struct{ kind, want string }{
		{"{8,16,0,1}", "{8, 16, 0, 1}"},
		{"{-1,-2,-3}", "{-3, -1, -2}"},
		{"{1e300,1e-300,0.5}", "{0.5, 1e+300, 1e-300}"},
		{"{(1,2),(2,1),(),(0,)}", "{(0,), (1, 2), (2, 1), ()}"},
		{"{1j,2j,-1j,1+1j}", "{(-0-1j), 1j, (1+1j), 2j}"},
		{"{2305843009213693952, 4611686018427387904, 9223372036854775808, 5}",
			"{2305843009213693952, 4611686018427387904, 9223372036854775808, 5}"},
		{"{1, True, 1.0, 1+0j}", "{1}"}, // equal elements keep the first
		{seq(20, func(i int) string { return fmt.Sprint(20 - i) }),
			"{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}"},
		{seq(30, func(i int) string { return fmt.Sprint(i * 37) }), // two resizes
			"{0, 259, 518, 777, 1036, 148, 407, 666, 925, 37, 296, 555, 814, 1073, 185, 444, 703, 962, 74, 333, 592, 851, 222, 481, 740, 999, 111, 370, 629, 888}"},
		{seq(20, func(i int) string { return FloatRepr(float64(i-10) * 1.5) }),
			"{0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 12.0, 13.5, -15.0, -13.5, -12.0, -10.5, -9.0, -7.5, -6.0, -4.5, -3.0, -1.5}"},
	}
	for _, c := range cases {
		got := LiteralEval(c.kind)
		if got.Class != Literal || got.Str != c.want || got.Err != "" {
			t.Errorf("LiteralEval(%s) = %+v, want %s", c.kind, got, c.want)
		}
	}
}
