package casegen

import (
	"slices"
	"testing"
	"unicode"
)

// finalSigmas mirrors handle_capital_sigma() in CPython's unicodeobject.c
// over abstract characters: for each Σ of s, whether it is final, given
// the class of every other character.
func finalSigmas(s []rune, class func(rune) sigmaClass) []bool {
	cls := func(r rune) sigmaClass {
		if r == 'Σ' {
			return sigmaCased
		}
		return class(r)
	}
	var out []bool
	for i, r := range s {
		if r != 'Σ' {
			continue
		}
		j := i - 1
		for j >= 0 && cls(s[j]) == sigmaIgnorable {
			j--
		}
		final := j >= 0 && cls(s[j]) == sigmaCased
		if final {
			j = i + 1
			for j < len(s) && cls(s[j]) == sigmaIgnorable {
				j++
			}
			final = j == len(s) || cls(s[j]) != sigmaCased
		}
		out = append(out, final)
	}
	return out
}

// TestSigmaProbesDetectMisclassification proves the claim of sigmaProbe:
// for a probe of every class and length, any other classification of any
// non-empty subset of its code points moves a final sigma, so a table that
// differs from Python's anywhere in a probe changes the lowered role.
func TestSigmaProbesDetectMisclassification(t *testing.T) {
	const slot = 0xe000 // private use: stands for the probed code points
	fixed := func(r rune) sigmaClass {
		switch r {
		case 'A':
			return sigmaCased
		case '0':
			return sigmaOther
		}
		t.Fatalf("unexpected character %q in a probe", r)
		return 0
	}
	all := []sigmaClass{sigmaOther, sigmaCased, sigmaIgnorable}
	for _, c := range all {
		maxLen := sigmaUnits
		if c == sigmaIgnorable {
			maxLen = sigmaRun
		}
		for n := 1; n <= maxLen; n++ {
			pts := make([]rune, n)
			for i := range pts {
				pts[i] = slot + rune(i)
			}
			probe := []rune(sigmaProbe(c, pts))
			assign := make([]sigmaClass, n)
			classOf := func(r rune) sigmaClass {
				if r >= slot && r < slot+rune(n) {
					return assign[r-slot]
				}
				return fixed(r)
			}
			for i := range assign {
				assign[i] = c
			}
			want := finalSigmas(probe, classOf)
			// Every assignment in all^n other than the true one.
			total := 1
			for range n {
				total *= len(all)
			}
			for k := 0; k < total; k++ {
				same := true
				for i, x := 0, k; i < n; i, x = i+1, x/len(all) {
					assign[i] = all[x%len(all)]
					same = same && assign[i] == c
				}
				if same {
					continue
				}
				if got := finalSigmas(probe, classOf); slices.Equal(got, want) {
					t.Errorf("%s probe of %d: classes %v are not told apart from the true ones (%q)", c, n, assign, string(probe))
				}
			}
		}
	}
}

// TestSweepCovers checks what the sweep comments promise: every code point
// that Python or Go assigns is swept, with its whole row, and so is every
// sweepStride-th one; no surrogate is.
func TestSweepCovers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		relevant func(rune) bool
	}{{"assigned", assignedSomewhere}, {"case", caseRelevant}} {
		covered := map[rune]bool{}
		prev := rune(-1)
		for _, g := range sweepGroups(tc.relevant) {
			for _, r := range g.pts {
				if r <= prev {
					t.Fatalf("%s: U+%04X after U+%04X", tc.name, r, prev)
				}
				prev = r
				covered[r] = true
			}
		}
		for r := rune(0); r <= unicode.MaxRune; r++ {
			surrogate := r >= 0xd800 && r < 0xe000
			switch {
			case surrogate && covered[r]:
				t.Fatalf("%s: surrogate U+%04X swept", tc.name, r)
			case surrogate:
			case (tc.relevant(r) || r%sweepStride == 0) && !covered[r]:
				t.Fatalf("%s: U+%04X not swept", tc.name, r)
			case tc.relevant(r) && !covered[r&^(sweepRow-1)]:
				t.Fatalf("%s: the row of U+%04X is not swept whole", tc.name, r)
			}
		}
		t.Logf("%s: %d code points swept", tc.name, len(covered))
	}
}
