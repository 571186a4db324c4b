// Command gencorpus asks the oslo.policy oracle for the decision of every
// case of casegen.Corpus() and casegen.RealPolicies() and writes them to
// policy_test/testdata/corpus/<area>.jsonl (one case per line, expect
// filled in, deterministic order).
//
//	go run ./policy_test/cmd/gencorpus            # regenerate
//	go run ./policy_test/cmd/gencorpus -check     # verify the committed files
//
// -check regenerates everything in memory (it needs the oracle too) and
// fails if any file differs, is missing or is stale.
//
// It also writes the request-line corpus of casegen.Lines() to
// policy_test/testdata/lines/<area>.jsonl (-lines-only: just that).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

const module = "module github.com/oslorego/oslorego"

func main() {
	var (
		check    = flag.Bool("check", false, "regenerate in memory and fail if the files on disk differ")
		outDir   = flag.String("out", "", "output directory (default <repo>/policy_test/testdata/corpus)")
		polDir   = flag.String("policies", "", "real policy files (default <repo>/../shared/policies)")
		jobs     = flag.Int("j", runtime.NumCPU(), "oracle processes to run in parallel")
		chunk    = flag.Int("chunk", 1500, "cases per oracle process")
		onlyHand = flag.Bool("hand-only", false, "only the hand-written corpus (skip RealPolicies)")
		onlyLine = flag.Bool("lines-only", false, "only the request-line corpus (testdata/lines)")
	)
	flag.Parse()
	var err error
	if !*onlyLine {
		err = run(*check, *outDir, *polDir, *jobs, *chunk, *onlyHand)
	}
	if err == nil {
		err = runLineCorpus(*check, *jobs, *chunk)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

// repoRoot walks up from the working directory to this module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), module+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod of github.com/oslorego/oslorego)")
		}
		dir = parent
	}
}

func run(check bool, outDir, polDir string, jobs, chunk int, handOnly bool) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if outDir == "" {
		outDir = filepath.Join(root, "policy_test", "testdata", "corpus")
	}
	if polDir == "" {
		polDir = filepath.Join(filepath.Dir(root), "shared", "policies")
	}
	areas := casegen.Corpus()
	if !handOnly {
		real, err := casegen.RealPolicies(polDir)
		if err != nil {
			return err
		}
		areas = append(areas, real...)
	}
	if err := validate(areas); err != nil {
		return err
	}
	start := time.Now()
	if err := answer(context.Background(), areas, jobs, chunk); err != nil {
		return err
	}
	elapsed := time.Since(start)

	files := map[string][]byte{}
	var total oracle.Summary
	var report []string
	totalBytes := 0
	for _, a := range areas {
		var s oracle.Summary
		for _, c := range a.Cases {
			s.Add(*c.Expect)
			total.Add(*c.Expect)
		}
		b, err := oracle.WriteJSONL(a.Cases)
		if err != nil {
			return fmt.Errorf("area %s: %w", a.Name, err)
		}
		files[a.Name+".jsonl"] = b
		totalBytes += len(b)
		report = append(report, fmt.Sprintf("%-34s %6.0f KiB  %s", a.Name, float64(len(b))/1024, s))
	}
	report = append(report, fmt.Sprintf("%-34s %6.0f KiB  %s", "TOTAL", float64(totalBytes)/1024, total))
	report = append(report, fmt.Sprintf("oracle time %v (%.2fs per 1000 cases, %d processes)", elapsed.Round(time.Millisecond), elapsed.Seconds()*1000/float64(total.Total()), jobs))

	if check {
		return compare(outDir, files, !handOnly)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(outDir, "*.jsonl"))
	for _, f := range old {
		if _, ok := files[filepath.Base(f)]; !ok && !handOnly {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(files) {
		if err := os.WriteFile(filepath.Join(outDir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	fmt.Println(strings.Join(report, "\n"))
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate checks area names and case IDs before spending oracle time.
func validate(areas []casegen.Area) error {
	names := map[string]bool{}
	ids := map[string]bool{}
	for _, a := range areas {
		if a.Name == "" || strings.ContainsAny(a.Name, `/\ `) || names[a.Name] {
			return fmt.Errorf("bad or duplicate area name %q", a.Name)
		}
		names[a.Name] = true
		for _, c := range a.Cases {
			if c.ID == "" || c.Note == "" {
				return fmt.Errorf("area %s: case without ID or Note: %+v", a.Name, c)
			}
			if ids[c.ID] {
				return fmt.Errorf("duplicate case ID %s", c.ID)
			}
			ids[c.ID] = true
		}
	}
	return nil
}

// answer fills Expect for every case, running up to jobs oracle processes
// on chunks of at most chunk cases.
func answer(ctx context.Context, areas []casegen.Area, jobs, chunk int) error {
	type job struct{ cases []oracle.Case }
	var work []job
	for _, a := range areas {
		for i := 0; i < len(a.Cases); i += chunk {
			work = append(work, job{a.Cases[i:min(i+chunk, len(a.Cases))]})
		}
	}
	if jobs < 1 {
		jobs = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, jobs)
	for _, w := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func(cs []oracle.Case) {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := oracle.Run(ctx, cs)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
				return
			}
			for i := range cs {
				r := res[i]
				cs[i].Expect = &r
			}
		}(w.cases)
	}
	wg.Wait()
	return first
}

func compare(dir string, want map[string][]byte, stale bool) error {
	var problems []string
	for _, name := range sortedKeys(want) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		case !bytes.Equal(got, want[name]):
			problems = append(problems, fmt.Sprintf("%s: differs (%s)", name, firstDiff(got, want[name])))
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok && stale {
			problems = append(problems, fmt.Sprintf("%s: stale file (no such area)", filepath.Base(f)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("corpus in %s is out of date (run go run ./policy_test/cmd/gencorpus):\n  %s", dir, strings.Join(problems, "\n  "))
	}
	fmt.Printf("corpus in %s is up to date (%d files)\n", dir, len(want))
	return nil
}

func firstDiff(a, b []byte) string {
	la := bytes.Split(a, []byte("\n"))
	lb := bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			j := 0
			for j < len(x) && j < len(y) && x[j] == y[j] {
				j++
			}
			from := max(0, j-40)
			return fmt.Sprintf("line %d col %d: on disk …%q…, generated …%q…", i+1, j+1, x[from:min(len(x), j+60)], y[from:min(len(y), j+60)])
		}
	}
	return "no line differs"
}
