package casegen

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/oslorego/oslorego/internal/python"
)

// The Unicode sweeps (issue 9 B, C and plain lower-casing) put code points
// through the library's run-time tables end to end, many per case, each
// case named by the code point range it covers. Every sweep case is built
// so that oslo allows it (unicode_sweep_test.go in policy_test checks the
// committed answers), so a deny from the oracle means this module's tables
// differ from Python's and a deny from oslorego means the Rego library
// differs from both.
//
// Coverage: every code point of every row of 256 in which Python 3.11
// (Unicode 14) or Go's unicode package (the Unicode that OPA's lower() and
// regexp run on) assigns anything relevant, that is everywhere two Unicode
// versions can disagree; elsewhere (rows unassigned in both, private use)
// every sweepStride-th code point and each plane's first and last. A full
// sweep is affordable for the corpus file but not for TestConformance:
// Rego spends about 0.1 ms per engine on each non-printable code point that
// repr() escapes and about 0.07 ms per Σ probe, so all 967,548
// non-printable code points alone would add minutes. Surrogates are left
// out: JSON text is UTF-8 here and cannot carry them (lone surrogates are
// class F, refused on purpose).
const (
	sweepRow    = 256
	sweepStride = 61 // prime, so the samples run through every low byte
)

// cpGroup is a run of swept code points reported together: one dense row,
// or up to sweepRow samples of sparse rows.
type cpGroup struct {
	pts   []rune
	dense bool
}

func (g cpGroup) label() string {
	kind := "every code point"
	if !g.dense {
		kind = fmt.Sprintf("every %dth code point", sweepStride)
	}
	return fmt.Sprintf("U+%04X..U+%04X (%s)", g.pts[0], g.pts[len(g.pts)-1], kind)
}

// sweepGroups lists the swept code points: whole rows where relevant(r)
// holds for any code point of the row, samples elsewhere.
func sweepGroups(relevant func(rune) bool) []cpGroup {
	var out []cpGroup
	var sparse []rune
	flush := func() {
		if len(sparse) > 0 {
			out = append(out, cpGroup{pts: sparse})
			sparse = nil
		}
	}
	for row := rune(0); row <= unicode.MaxRune; row += sweepRow {
		if row >= 0xd800 && row < 0xe000 {
			continue
		}
		dense := false
		for r := row; r < row+sweepRow && !dense; r++ {
			dense = relevant(r)
		}
		if dense {
			flush()
			pts := make([]rune, 0, sweepRow)
			for r := row; r < row+sweepRow; r++ {
				pts = append(pts, r)
			}
			out = append(out, cpGroup{pts: pts, dense: true})
			continue
		}
		for r := row; r < row+sweepRow; r++ {
			if low := r & 0xffff; r%sweepStride == 0 || low == 0 || low == 0xffff {
				if sparse = append(sparse, r); len(sparse) == sweepRow {
					flush()
				}
			}
		}
	}
	flush()
	return out
}

// assignedSomewhere: Python can print r, or Go's tables assign it.
func assignedSomewhere(r rune) bool {
	return python.IsPrintable(r) || sigmaClassOf(r) != sigmaOther ||
		unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf)
}

// caseRelevant: r is cased or case-ignorable for Python, or in one of the
// general categories those properties are made of in Go's tables.
func caseRelevant(r rune) bool {
	return sigmaClassOf(r) != sigmaOther ||
		unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Mn, unicode.Me, unicode.Cf, unicode.Sk,
			unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// sigmaClass is what str.lower()'s Final_Sigma rule sees in a character:
// skipped (case-ignorable, even when also cased), cased, or neither.
type sigmaClass int

const (
	sigmaOther sigmaClass = iota
	sigmaCased
	sigmaIgnorable
)

func (c sigmaClass) String() string {
	return [...]string{"neither cased nor case-ignorable", "cased", "case-ignorable"}[c]
}

// sigmaClassOf asks this module's str.lower() port: rΣ ends in ς only
// after a cased letter; ArΣ also when r is skipped.
func sigmaClassOf(r rune) sigmaClass {
	switch {
	case strings.HasSuffix(python.Lower(string(r)+"Σ"), "ς"):
		return sigmaCased
	case strings.HasSuffix(python.Lower("A"+string(r)+"Σ"), "ς"):
		return sigmaIgnorable
	}
	return sigmaOther
}

// reprSweepArea (B): %(t)r of a group of code points against Python's
// repr(), printable and non-printable ones in separate cases.
func reprSweepArea() *area {
	a := newArea("unicode-sweep-repr")
	for _, g := range sweepGroups(assignedSomewhere) {
		var printable, other []rune
		for _, r := range g.pts {
			if python.IsPrintable(r) {
				printable = append(printable, r)
			} else {
				other = append(other, r)
			}
		}
		for _, part := range []struct {
			pts  []rune
			what string
		}{{printable, "printable, left as they are"}, {other, "non-printable, escaped"}} {
			if len(part.pts) == 0 {
				continue
			}
			s := string(part.pts)
			a.add(fmt.Sprintf("repr() sweep %s: %d %s (str.isprintable, Unicode 14)", g.label(), len(part.pts), part.what),
				one("x:%(t)r", M{"t": s}, M{"x": python.StrRepr(s)}))
		}
	}
	return a
}

// Σ probes: how many code points one probe string carries, and how many
// probes (role checks) one case makes. A probe's Σ costs Rego a scan of
// the whole string, so probes stay short and a case holds several.
const (
	sigmaUnits  = 4
	sigmaRun    = 8
	sigmaProbes = 8
)

// sigmaProbe builds one role string testing pts, all of class c, such that
// classifying any non-empty subset of them differently changes where
// str.lower() writes ς (see TestSigmaProbesDetectMisclassification):
//
//   - neither: "A" x1 Σ x2 Σ ... — each Σ is final only if its x is cased
//     or skipped (then the Σ or A before it counts), and nothing cased
//     follows;
//   - cased: "0" x1 Σ "0" x2 Σ ... — each Σ is final only if its own x is
//     cased;
//   - ignorable: "A" x1..xk Σ "0" x1..xk Σ — the first Σ stays final only
//     if no x stops the backward scan as uncased, the second stays not
//     final only if none stops it as cased.
func sigmaProbe(c sigmaClass, pts []rune) string {
	var b strings.Builder
	switch c {
	case sigmaOther:
		b.WriteString("A")
		for _, r := range pts {
			b.WriteRune(r)
			b.WriteString("Σ")
		}
	case sigmaCased:
		for _, r := range pts {
			b.WriteString("0")
			b.WriteRune(r)
			b.WriteString("Σ")
		}
	case sigmaIgnorable:
		b.WriteString("A" + string(pts) + "Σ0" + string(pts) + "Σ")
	}
	return b.String()
}

// sigmaSweepArea (C): the Final_Sigma rule with Unicode 14's Cased and
// Case_Ignorable, on credential roles lowered at run time. Each case asks
// role:%(tN)s for up to sigmaProbes probes, tN being the probe lowered by
// this module's str.lower() port.
func sigmaSweepArea() *area {
	a := newArea("unicode-sweep-sigma")
	for _, g := range sweepGroups(caseRelevant) {
		byClass := map[sigmaClass][]rune{}
		for _, r := range g.pts {
			c := sigmaClassOf(r)
			byClass[c] = append(byClass[c], r)
		}
		for _, c := range []sigmaClass{sigmaOther, sigmaCased, sigmaIgnorable} {
			pts := byClass[c]
			per := sigmaUnits
			if c == sigmaIgnorable {
				per = sigmaRun
			}
			var probes []string
			var covered []rune
			flush := func() {
				if len(probes) == 0 {
					return
				}
				var checks []string
				target := M{}
				creds := L{}
				for i, p := range probes {
					k := fmt.Sprintf("t%d", i)
					checks = append(checks, "role:%("+k+")s")
					target[k] = python.Lower(p)
					creds = append(creds, p)
				}
				a.add(fmt.Sprintf("str.lower() Final_Sigma sweep %s: %d code points %s (Unicode 14 Cased, Case_Ignorable; credential roles)",
					g.label(), len(covered), c),
					one(strings.Join(checks, " and "), target, M{"roles": creds}))
				probes, covered = nil, nil
			}
			seen := map[string]bool{}
			for i := 0; i < len(pts); i += per {
				chunk := pts[i:min(i+per, len(pts))]
				p := sigmaProbe(c, chunk)
				// Two probes of a case must not lower alike, or one could
				// stand in for the other.
				if low := python.Lower(p); seen[low] || len(probes) == sigmaProbes {
					flush()
					seen = map[string]bool{}
				}
				seen[python.Lower(p)] = true
				probes = append(probes, p)
				covered = append(covered, chunk...)
			}
			flush()
		}
	}
	return a
}

// lowerSweepArea: plain str.lower() of credential roles, which the Rego
// library does with OPA's lower() (Go's strings.ToLower) unless a role holds
// Σ or İ, against Python's; and, for every code point that either changes,
// rule text lowered when translating against roles lowered at run time.
func lowerSweepArea() *area {
	a := newArea("unicode-sweep-lower")
	special := func(r rune) bool { return r == 'Σ' || r == 'İ' }
	for _, g := range sweepGroups(assignedSomewhere) {
		var pts []rune
		for _, r := range g.pts {
			if !special(r) {
				pts = append(pts, r)
			}
		}
		s := string(pts)
		a.add(fmt.Sprintf("str.lower() sweep %s: %d code points (credential role lowered at run time)", g.label(), len(pts)),
			one("role:%(t)s", M{"t": python.Lower(s)}, roles(s)))
	}
	// Constant rule text is lowered by oslorego when it translates; the
	// roles at run time. Only letters that lower-case differently can
	// tell, and none of them splits a rule into tokens.
	var changing []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r < 0xe000 || python.IsSpace(r) || strings.ContainsRune("()%", r) {
			continue
		}
		if s := string(r); python.Lower(s) != s || strings.ToLower(s) != s {
			changing = append(changing, r)
		}
	}
	const group = 64
	for i := 0; i < len(changing); i += group {
		pts := changing[i:min(i+group, len(changing))]
		s := string(pts)
		label := fmt.Sprintf("U+%04X..U+%04X (%d code points that lower-case)", pts[0], pts[len(pts)-1], len(pts))
		a.add("str.lower() of rule text at translation against roles at run time: "+label,
			one("role:"+s, nil, roles(s)))
		a.add("str.lower() of rule text at translation against lowered roles: "+label,
			one("role:"+s, nil, roles(python.Lower(s))))
	}
	return a
}
