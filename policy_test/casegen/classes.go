package casegen

import (
	"fmt"
	"math/bits"
	"os"
	"strings"
)

// Class names a class of disagreement with oslo.policy from issue 9 that
// the differential generators draw values from.
type Class uint

// The classes, as issue 9 names them. ClassI is ±Infinity and 1e400;
// ClassNaN is NaN, kept apart because its fix lands separately.
const (
	ClassA   Class = iota // dicts in JSON key order, rendered by %s / %r
	ClassB                // repr() of non-printable and unassigned code points
	ClassC                // str.lower(): Other_Lowercase / Other_Uppercase, case-ignorables around Σ
	ClassD                // %d %i %u of floats ≥ 1e16
	ClassE                // '\N{NAME}' literals on the left of generic checks
	ClassF                // lone surrogates in request-line strings
	ClassG                // misspelt or unknown request-line fields
	ClassH                // missing or non-string rule, non-string default_rule
	ClassI                // Infinity, -Infinity, 1e400
	ClassNaN              // NaN
	ClassJ                // text after the request object
	ClassK                // deep rule: chains and not stacks (within Python's recursion limit)
	numClasses
)

var classNames = [numClasses]string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "NaN", "J", "K"}

func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint(c))
}

// PendingClasses are the classes whose fixes have not reached this branch
// yet: the differential does not draw them unless OSLOREGO_DIFF_SKIP_CLASSES
// says otherwise (see DrawnClasses). Take a class out of this list when its
// fix merges.
const PendingClasses = ""

// ClassSet is a set of classes.
type ClassSet uint32

// AllClasses is every class.
const AllClasses = ClassSet(1<<numClasses - 1)

// Has reports whether c is in s.
func (s ClassSet) Has(c Class) bool { return s&(1<<c) != 0 }

// With returns s with c added.
func (s ClassSet) With(c Class) ClassSet { return s | 1<<c }

// Classes lists the members of s in order.
func (s ClassSet) Classes() []Class {
	var out []Class
	for s != 0 {
		c := Class(bits.TrailingZeros32(uint32(s)))
		out = append(out, c)
		s &^= 1 << c
	}
	return out
}

func (s ClassSet) String() string {
	var names []string
	for _, c := range s.Classes() {
		names = append(names, c.String())
	}
	return strings.Join(names, ",")
}

// ParseClasses reads a comma-separated list of class names ("A,E,NaN");
// "" and "none" are the empty set, "all" every class.
func ParseClasses(list string) (ClassSet, error) {
	var s ClassSet
	switch strings.TrimSpace(list) {
	case "", "none":
		return 0, nil
	case "all":
		return AllClasses, nil
	}
	for _, f := range strings.Split(list, ",") {
		name := strings.TrimSpace(f)
		found := false
		for c, n := range classNames {
			if strings.EqualFold(n, name) {
				s, found = s.With(Class(c)), true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown class %q (classes: %s)", name, AllClasses)
		}
	}
	return s, nil
}

// SkipClassesEnv overrides PendingClasses: the classes the differential
// must not draw. Set it empty (or "none") to draw every class.
const SkipClassesEnv = "OSLOREGO_DIFF_SKIP_CLASSES"

// DrawnClasses is every class except those SkipClassesEnv names, or, when
// it is unset, except PendingClasses.
func DrawnClasses() (ClassSet, error) {
	skip, ok := os.LookupEnv(SkipClassesEnv)
	if !ok {
		skip = PendingClasses
	}
	s, err := ParseClasses(skip)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", SkipClassesEnv, err)
	}
	return AllClasses &^ s, nil
}

func mustDrawnClasses() ClassSet {
	s, err := DrawnClasses()
	if err != nil {
		panic(err)
	}
	return s
}
