package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

// runLineCorpus answers casegen.Lines() with the oracle and writes (or,
// with check, compares) policy_test/testdata/lines/<area>.jsonl.
func runLineCorpus(check bool, jobs, chunk int) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "policy_test", "testdata", "lines")
	areas := casegen.Lines()
	if err := validateLines(areas); err != nil {
		return err
	}
	if err := answerLines(context.Background(), areas, jobs, chunk); err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, a := range areas {
		var s oracle.Summary
		for _, c := range a.Cases {
			s.Add(*c.Expect)
		}
		b, err := oracle.WriteLineCases(a.Cases)
		if err != nil {
			return fmt.Errorf("area %s: %w", a.Name, err)
		}
		files[a.Name+".jsonl"] = b
		fmt.Printf("%-34s %6.0f KiB  %s\n", a.Name, float64(len(b))/1024, s)
	}
	if check {
		return compare(dir, files, true)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range old {
		if _, ok := files[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(files) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func validateLines(areas []casegen.LineArea) error {
	names, ids := map[string]bool{}, map[string]bool{}
	for _, a := range areas {
		if a.Name == "" || strings.ContainsAny(a.Name, `/\ `) || names[a.Name] {
			return fmt.Errorf("bad or duplicate line area name %q", a.Name)
		}
		names[a.Name] = true
		for _, c := range a.Cases {
			if c.ID == "" || c.Note == "" || strings.TrimSpace(c.Line) == "" {
				return fmt.Errorf("area %s: line case without ID, Note or Line: %+v", a.Name, c)
			}
			if ids[c.ID] {
				return fmt.Errorf("duplicate line case ID %s", c.ID)
			}
			ids[c.ID] = true
		}
	}
	return nil
}

// answerLines fills Expect, running up to jobs oracle processes on chunks.
func answerLines(ctx context.Context, areas []casegen.LineArea, jobs, chunk int) error {
	var work [][]oracle.LineCase
	for _, a := range areas {
		for i := 0; i < len(a.Cases); i += chunk {
			work = append(work, a.Cases[i:min(i+chunk, len(a.Cases))])
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, max(jobs, 1))
	for _, cs := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func(cs []oracle.LineCase) {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := oracle.RunLines(ctx, cs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			for i := range cs {
				r := res[i]
				cs[i].Expect = &r
			}
		}(cs)
	}
	wg.Wait()
	return first
}
