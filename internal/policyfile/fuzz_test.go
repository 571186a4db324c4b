package policyfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are added to the committed corpus in testdata/fuzz.
var fuzzSeeds = []string{
	"a: !", "a: no", "a: @", "{\"a\": \"role:x\"}", "{'a': 'role:x',}", "a: &x [1]\nb: *x",
	"<<: {a: 1}\nb: 2", "a: !!binary aGk=", "a: 2001-12-14 21:59:43.10 -5", "a: |\n  x\n",
	"{\"a\": [[\"role:a\"], [\"role:b\"]]}", "a: \"\\ud800\"",
}

// FuzzParse checks that Parse never panics and that every position it
// reports is inside the file.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			// Errors from the YAML loader count NEL, LS and PS as line
			// breaks, the others (JSON recursion, UTF-8) only \n.
			if (pe.Line != 0 || pe.Col != 0) && !newPositions(t, data, "yaml").ok(pe.Line, pe.Col) &&
				!newPositions(t, data, "json").ok(pe.Line, pe.Col) {
				t.Fatalf("error position %d:%d outside the file", pe.Line, pe.Col)
			}
			return
		}
		pos := newPositions(t, data, file.Format)
		budget := 100000 // aliases can describe exponentially large trees
		var walk func(v Value, what string)
		walk = func(v Value, what string) {
			if budget--; budget < 0 {
				return
			}
			pos.check(v.Line, v.Col, what)
			for _, it := range v.Items {
				walk(it, what+"[]")
			}
			for _, p := range v.Pairs {
				walk(p.Key, what+".key")
				walk(p.Val, what+".val")
			}
			if items, ok := v.Iter(); ok && v.Kind != String {
				if len(items) != len(v.Items)+len(v.Pairs) {
					t.Errorf("%s: Iter returned %d items", what, len(items))
				}
			}
		}
		for _, r := range file.Rules {
			pos.check(r.Line, r.Col, "rule "+r.Name)
			walk(r.Value, "rule "+r.Name)
		}
	})
}

// positions checks that positions are inside the file (after newline
// translation). YAML counts NEL, LS and PS as line breaks too; a column may
// point just past the end of a line (empty values, end of stream).
type positions struct {
	t     *testing.T
	lines []int // code points per line
}

func newPositions(t *testing.T, data []byte, format string) *positions {
	text := universalNewlines(data)
	breaks := "\n"
	if format == "yaml" {
		breaks = "\n\u0085\u2028\u2029"
	}
	p := &positions{t: t}
	for _, l := range splitAny(text, breaks) {
		p.lines = append(p.lines, utf8.RuneCountInString(l))
	}
	return p
}

func (p *positions) ok(line, col int) bool {
	return line >= 1 && line <= len(p.lines) && col >= 1 && col <= p.lines[line-1]+1
}

func (p *positions) check(line, col int, what string) {
	p.t.Helper()
	if line < 1 || line > len(p.lines) {
		p.t.Fatalf("%s: line %d outside the file (%d lines)", what, line, len(p.lines))
	}
	if n := p.lines[line-1]; col < 1 || col > n+1 {
		p.t.Fatalf("%s: column %d outside line %d (%d characters)", what, col, line, n)
	}
}

func splitAny(s, seps string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if strings.ContainsRune(seps, r) {
			out = append(out, s[start:i])
			start = i + len(string(r))
		}
	}
	return append(out, s[start:])
}

// oracleProc is one long-running testdata/oracle.py process.
type oracleProc struct {
	mu sync.Mutex
	w  *bufio.Writer
	r  *bufio.Reader
}

var (
	oracleOnce   sync.Once
	sharedOracle *oracleProc
	oracleErr    error
)

func startOracle(python string) (*oracleProc, error) {
	oracleOnce.Do(func() {
		cmd := exec.Command(python, "testdata/oracle.py")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			oracleErr = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			oracleErr = err
			return
		}
		if oracleErr = cmd.Start(); oracleErr != nil {
			return
		}
		sharedOracle = &oracleProc{w: bufio.NewWriter(in), r: bufio.NewReaderSize(out, 1<<20)}
	})
	return sharedOracle, oracleErr
}

func (o *oracleProc) query(doc []byte) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, "%d\n", len(doc))
	o.w.Write(doc)
	if err := o.w.Flush(); err != nil {
		return "", err
	}
	line, err := o.r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// FuzzAgainstPython is a coverage-guided differential fuzzer: every input
// must load (or fail) exactly as in Python. Run it with
// go test -fuzz=FuzzAgainstPython ./internal/policyfile/
func FuzzAgainstPython(f *testing.F) {
	py := requireOracle(f)
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range handCases {
		if len(s) < 300 {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4000 {
			return
		}
		o, err := startOracle(py)
		if err != nil {
			t.Fatal(err)
		}
		want, err := o.query(data)
		if err != nil {
			t.Fatal(err)
		}
		got := canonParse(data)
		if sameOutcome(got, want) {
			return
		}
		// Known, documented differences: recursive structures, and the
		// approximate recursion limits.
		if _, perr := Parse("fuzz", data); perr != nil &&
			(strings.Contains(perr.Error(), "recursive structure") || strings.Contains(perr.Error(), "maximum recursion depth")) {
			return
		}
		if strings.HasPrefix(want, "ERR RecursionError") {
			return
		}
		t.Errorf("differs from Python:\n--- input ---\n%q\n--- python ---\n%s\n--- go ---\n%s", data, want, got)
	})
}
