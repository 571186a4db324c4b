package policyfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/internal/testenv"
)

// oracleModules are what testdata/oracle.py imports besides the standard
// library: Debian's python3-yaml and python3-oslo.serialization.
var oracleModules = []string{"yaml", "oslo_serialization.jsonutils"}

// requireOracle returns the interpreter that runs testdata/oracle.py.
func requireOracle(t testing.TB) string {
	t.Helper()
	return testenv.Python(t, oracleModules...)
}

// runOracle feeds all documents to one Python process and returns its
// canonical line for each.
func runOracle(t testing.TB, docs [][]byte) []string {
	t.Helper()
	cmd := exec.Command(requireOracle(t), "testdata/oracle.py")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, d := range docs {
			fmt.Fprintf(w, "%d\n", len(d))
			w.Write(d)
		}
		w.Flush()
		stdin.Close()
	}()
	var lines []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("oracle failed: %v", err)
	}
	if len(lines) != len(docs) {
		t.Fatalf("oracle returned %d lines for %d documents", len(lines), len(docs))
	}
	return lines
}

// sameOutcome compares a canonParse line with an oracle line ("ERR"
// matches "ERR <Python exception type>").
func sameOutcome(got, want string) bool {
	if got == "ERR" {
		return strings.HasPrefix(want, "ERR")
	}
	return got == want
}

// canonParse renders Parse's result like testdata/oracle.py renders
// Python's.
func canonParse(data []byte) string {
	f, err := Parse("doc", data)
	if err != nil {
		return "ERR"
	}
	parts := make([]string, len(f.Rules))
	for i, r := range f.Rules {
		parts[i] = fmt.Sprintf("%s %s = %s", python.ASCIIReprWTF8(r.Name), r.KeyKind, canonValue(r.Value))
	}
	return fmt.Sprintf("OK %s %s", f.Format, strings.Join(parts, " | "))
}

func canonValue(v Value) string {
	t := "-"
	if v.Truthy {
		t = "+"
	}
	switch v.Kind {
	case Null:
		return t + "Null"
	case Bool, Int, Float:
		return t + v.Kind.String() + ":" + v.Str
	case String:
		return t + "String:" + python.ASCIIReprWTF8(v.Str)
	case List:
		parts := make([]string, len(v.Items))
		for i, it := range v.Items {
			parts[i] = canonValue(it)
		}
		return t + "List[" + strings.Join(parts, ", ") + "]"
	case Map:
		parts := make([]string, len(v.Pairs))
		for i, p := range v.Pairs {
			parts[i] = canonValue(p.Key) + ": " + canonValue(p.Val)
		}
		return t + "Map{" + strings.Join(parts, ", ") + "}"
	}
	return t + "Other:" + v.Str
}
