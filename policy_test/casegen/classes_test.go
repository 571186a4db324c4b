package casegen

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

func TestParseClasses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ClassSet
	}{
		{"", 0},
		{"none", 0},
		{"all", AllClasses},
		{"A", ClassSet(0).With(ClassA)},
		{"a, nan ,K", ClassSet(0).With(ClassA).With(ClassNaN).With(ClassK)},
		{"A,E,NaN", ClassSet(0).With(ClassA).With(ClassE).With(ClassNaN)},
		{PendingClasses, 0}, // every fix has merged: nothing is pending
	} {
		got, err := ParseClasses(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseClasses(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseClasses("A,X"); err == nil {
		t.Error("an unknown class was accepted")
	}
	if s := ClassSet(0).With(ClassNaN).With(ClassB).String(); s != "B,NaN" {
		t.Errorf("String() = %q", s)
	}
}

func TestDrawnClasses(t *testing.T) {
	pending, _ := ParseClasses(PendingClasses)
	for _, tc := range []struct {
		env  *string
		want ClassSet
	}{
		{nil, AllClasses &^ pending},
		{sp(""), AllClasses},
		{sp("none"), AllClasses},
		{sp("K"), AllClasses &^ ClassSet(0).With(ClassK)},
	} {
		if tc.env == nil {
			// t.Setenv cannot unset; an empty Setenv then Unsetenv restores it.
			t.Setenv(SkipClassesEnv, "")
			unsetenv(t, SkipClassesEnv)
		} else {
			t.Setenv(SkipClassesEnv, *tc.env)
		}
		if got, err := DrawnClasses(); err != nil || got != tc.want {
			t.Errorf("%s=%v: DrawnClasses() = %s, %v; want %s", SkipClassesEnv, tc.env, got, err, tc.want)
		}
	}
	t.Setenv(SkipClassesEnv, "Q")
	if _, err := DrawnClasses(); err == nil {
		t.Error("a bad skip list was accepted")
	}
}

// TestGenClasses checks that every class is drawn at a useful rate, that
// a class the Gen does not apply never shows, and that leaving a class out
// changes only the cases that would carry it.
func TestGenClasses(t *testing.T) {
	const n = 3000
	without := AllClasses &^ ClassSet(0).With(ClassA).With(ClassNaN).With(ClassG)
	all, part := NewGen(AllClasses), NewGen(without)
	r1, r2 := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	count := map[Class]int{}
	for i := 0; i < n; i++ {
		l1, d1 := all.Line(r1)
		l2, d2 := part.Line(r2)
		for _, c := range d1.Classes() {
			count[c]++
		}
		if d2&^without != 0 {
			t.Fatalf("line %d carries %s, which the Gen leaves out", i, d2&^without)
		}
		if d1&^without == 0 && (l1.Line != l2.Line || d1 != d2) {
			t.Fatalf("line %d without A, NaN, G differs:\n%s %s\n%s %s", i, d1, l1.Line, d2, l2.Line)
		}
	}
	for _, c := range AllClasses.Classes() {
		if rate := float64(count[c]) / n; rate < 0.03 {
			t.Errorf("class %s drawn in only %.1f%% of lines", c, 100*rate)
		}
		t.Logf("class %-3s %5.1f%%", c, 100*float64(count[c])/n)
	}
}

// TestGenLinesAreJSONish checks the mutated lines stay one line and that
// lines without G or J mutations are a single JSON object Go can read
// (NaN, Infinity and lone surrogates aside).
func TestGenLinesAreJSONish(t *testing.T) {
	g := NewGen(AllClasses)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		l, d := g.Line(r)
		if strings.ContainsAny(l.Line, "\n\r") {
			t.Fatalf("line %d holds a newline: %q", i, l.Line)
		}
		if d.Has(ClassG) || d.Has(ClassJ) || d.Has(ClassNaN) || d.Has(ClassI) || d.Has(ClassF) {
			continue
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l.Line), &v); err != nil {
			t.Fatalf("line %d (%s): %v\n%s", i, d, err, l.Line)
		}
	}
}

// TestOrderedDictRendering pins pyRepr on insertion order, repeats and
// nesting (the oracle agrees: see the differential's class A).
func TestOrderedDictRendering(t *testing.T) {
	d := od{{"b", "1"}, {"a", N("2")}, {"c", od{{"z", nil}, {"y", L{true, N("1.5"), N("1e20")}}}}, {"b", "it's"}}
	if got, want := pyRepr(d, false), `{'b': "it's", 'a': 2, 'c': {'z': None, 'y': [True, 1.5, 1e+20]}}`; got != want {
		t.Errorf("pyRepr = %s, want %s", got, want)
	}
	if got, want := pyRepr(d, true), `{'a': 2, 'b': "it's", 'c': {'y': [True, 1.5, 1e+20], 'z': None}}`; got != want {
		t.Errorf("pyRepr sorted = %s, want %s", got, want)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(M{"t": d}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(b.String()), `{"t":{"b":"1","a":2,"c":{"z":null,"y":[true,1.5,1e20]},"b":"it's"}}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	if _, err := oracle.Marshal(oracle.Case{Target: M{"t": d}}); err != nil {
		t.Fatal(err)
	}
}

func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
