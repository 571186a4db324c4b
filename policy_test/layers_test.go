package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/oslorego/oslorego"

// layers is the direction data flows in, top to bottom: files, the oslo
// model, Rego generation, the engine, bundles, the front-ends (the server,
// the checker, the PDP), the command.
// A package may import a package of a lower rank, or one of its own entry
// (internal/... among themselves); nothing else of the module. Tests may
// import anything: end-to-end tests drive the layers above them.
var layers = []struct {
	pattern string // a package path in the module; "/..." also matches below it
	rank    int
}{
	{"internal/...", 0},    // CPython and PyYAML ports, JSON helpers
	{"translate/oslo", 1},  // the oslo policy model: grammar, files, defaults, lint
	{"translate", 2},       // oslo rules to Rego, and the Rego library
	{"glance", 3},          // Glance's own behaviour, emitted as Rego beside the policy
	{"rego", 4},            // the engine: compile, decide, explain
	{"bundles", 5},         // sources to bundles to engines
	{"auth", 5},            // tokens and headers to credentials
	{"imagestore", 5},      // image metadata and data
	{"upstream", 5},        // a real Glance's image API, for gateway mode
	{"imagecache", 5},      // image bytes on disk for the gateway, verified against their hash
	{"shadow", 5},          // a candidate bundle deciding again off the request path
	{"server", 6},          // the HTTP front-end
	{"checker", 6},         // the CLI's front-end: oslopolicy-checker and the batch protocol
	{"pdp", 6},             // the decision point other services ask: oslo's HttpCheck, oslo.policy.opa
	{"policydiff", 6},      // two policies compared rule by rule (oslorego diff)
	{"cmd/...", 7},         // the command
	{"policy_test/...", 8}, // the suites and their tooling
	{"bench/...", 9},       // benchmark programs: they drive the layers with the suites' generators
}

// layerOf returns the index in layers of the entry that ranks pkg (a path
// relative to the module), or -1.
func layerOf(pkg string) int {
	for i, l := range layers {
		if p, sub := strings.CutSuffix(l.pattern, "/..."); sub && (pkg == p || strings.HasPrefix(pkg, p+"/")) || pkg == l.pattern {
			return i
		}
	}
	return -1
}

type listedPackage struct {
	ImportPath, Dir                    string
	Imports                            []string
	GoFiles, TestGoFiles, XTestGoFiles []string
}

// modulePackages lists every package of the module with go list.
func modulePackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,Imports,GoFiles,TestGoFiles,XTestGoFiles", "./...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < len(layers) {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// TestImportLayers fails on a package the table does not rank and on an
// import of a package ranked above the importer (or beside it).
func TestImportLayers(t *testing.T) {
	for _, p := range modulePackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		from := layerOf(rel)
		if from < 0 {
			t.Errorf("%s has no rank: add it to layers in policy_test/layers_test.go", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			irel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			to := layerOf(irel)
			switch {
			case to < 0:
				t.Errorf("%s imports %s, which has no rank", rel, irel)
			case to != from && layers[to].rank >= layers[from].rank:
				t.Errorf("%s (rank %d) imports %s (rank %d): data flows the other way", rel, layers[from].rank, irel, layers[to].rank)
			}
		}
	}
}

// TestOPARegoAlias checks that every file importing OPA's rego package
// names it oparego, so that "rego." always means this module's engine.
func TestOPARegoAlias(t *testing.T) {
	const opaRego = "github.com/open-policy-agent/opa/v1/rego"
	fset := token.NewFileSet()
	seen := 0
	for _, p := range modulePackages(t) {
		for _, files := range [][]string{p.GoFiles, p.TestGoFiles, p.XTestGoFiles} {
			for _, name := range files {
				path := filepath.Join(p.Dir, name)
				f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
				if err != nil {
					t.Fatal(err)
				}
				for _, imp := range f.Imports {
					if path, _ := strconv.Unquote(imp.Path.Value); path != opaRego {
						continue
					}
					seen++
					if imp.Name == nil || imp.Name.Name != "oparego" {
						t.Errorf("%s imports %s without the alias oparego", fset.Position(imp.Pos()), opaRego)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatalf("no file imports %s: is the check still looking at the module?", opaRego)
	}
}
