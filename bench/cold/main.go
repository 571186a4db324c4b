// Command cold is oslorego's side of bench/oslo_bench.py --cold: the time
// of one cold decision (no memo, every request decided afresh) on each
// real policy file, on the same requests oslo.policy is timed on.
//
//	go run ./bench/cold gen -policies ../shared/policies -out DIR
//	go run ./bench/cold time -policy FILE|-defaults META -requests DIR/NAME.jsonl -n 20000 [-native=false]
//	go run ./bench/cold batch -requests DIR/NAME.jsonl -n 100000 > LINES.jsonl
//
// gen writes, per real policy file, the requests of casegen.RealPolicies
// (every rule, or 150 spread over a larger file, against rotating personas
// and targets; the registered-defaults files under oslo's default options)
// as JSON Lines {"rule", "target", "creds"}. time loads the policy as a
// service does, then decides the requests in turn until n decisions are
// timed, each with its own clock reading, and prints one JSON line: the
// percentiles in microseconds and the decisions of the first pass (in
// order, 1 allow, 0 deny, e fail closed), which the driver compares with
// oslo.policy's. batch writes n check --batch lines that do not repeat:
// the requests in turn, each target with its own "id" (issue 13 goal 4).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/open-policy-agent/opa/v1/util"

	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cold gen|time [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "time":
		err = timeDecisions(os.Args[2:])
	case "batch":
		err = batchLines(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (gen, time or batch)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cold:", err)
		os.Exit(1)
	}
}

// line is one request, as check --batch and oslo_bench.py read it.
type line struct {
	Rule   string `json:"rule"`
	Target any    `json:"target"`
	Creds  any    `json:"creds"`
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("policies", "../shared/policies", "the real policy files")
	out := fs.String("out", "", "directory for NAME.jsonl, one per policy file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("gen: -out is required")
	}
	areas, err := casegen.RealPolicies(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, a := range areas {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, c := range a.Cases {
			// oslo's default options only: the service's usual configuration.
			if len(c.Conf) > 0 || c.DefaultRule != nil || c.Check != nil {
				continue
			}
			if err := enc.Encode(line{Rule: c.Rule, Target: c.Target, Creds: c.Creds}); err != nil {
				return fmt.Errorf("%s: %w", a.Name, err)
			}
		}
		name := strings.TrimPrefix(a.Name, "real-") + ".jsonl"
		if err := os.WriteFile(filepath.Join(*out, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func batchLines(args []string) error {
	fs := flag.NewFlagSet("batch", flag.ExitOnError)
	requests := fs.String("requests", "", "JSON Lines requests (from gen)")
	n := fs.Int("n", 100000, "lines to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reqs, err := readRequests(*requests)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range *n {
		r := reqs[i%len(reqs)]
		target := map[string]any{}
		if t, ok := r.Target.(map[string]any); ok {
			maps.Copy(target, t)
		}
		target["id"] = fmt.Sprintf("req-%d", i)
		if err := enc.Encode(line{Rule: r.Rule, Target: target, Creds: r.Credentials}); err != nil {
			return err
		}
	}
	return w.Flush()
}

func readRequests(path string) ([]rego.Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var reqs []rego.Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var l line
		if err := util.UnmarshalJSON(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		reqs = append(reqs, rego.Request{Rule: l.Rule, Target: l.Target, Credentials: l.Creds})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no requests", path)
	}
	return reqs, nil
}

// result is what time prints.
type result struct {
	Requests int     `json:"requests"`
	Timed    int     `json:"timed"`
	P50      float64 `json:"p50_us"`
	P90      float64 `json:"p90_us"`
	Mean     float64 `json:"mean_us"`
	// CPU is the process's CPU time per decision (user and system, GC
	// included): steadier than the clock on a shared machine.
	CPU       float64 `json:"cpu_us"`
	Allocs    float64 `json:"allocs"`
	Decisions string  `json:"decisions"`
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func timeDecisions(args []string) error {
	fs := flag.NewFlagSet("time", flag.ExitOnError)
	policy := fs.String("policy", "", "oslo policy file")
	defaults := fs.String("defaults", "", "registered defaults file (*.meta.json), with no policy file")
	requests := fs.String("requests", "", "JSON Lines requests (from gen)")
	n := fs.Int("n", 20000, "decisions to time (the requests repeated in order)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed decisions to this file")
	native := fs.Bool("native", true, "decide with the native path where it applies (false: OPA's evaluator for every decision)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var files []string
	if *policy != "" {
		files = []string{*policy}
	}
	p, err := oslo.Load(files, *defaults, oslo.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := rego.New(ctx, rego.Policy(p), rego.Native(*native))
	if err != nil {
		return err
	}
	reqs, err := readRequests(*requests)
	if err != nil {
		return err
	}
	decisions := make([]byte, len(reqs))
	times := make([]time.Duration, 0, *n)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs, cpu := ms.Mallocs, cpuTime()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	for i := 0; len(times) < *n; i++ {
		r := reqs[i%len(reqs)]
		start := time.Now()
		d, err := e.Decide(ctx, r)
		times = append(times, time.Since(start))
		if err != nil {
			return err
		}
		if i < len(reqs) {
			decisions[i] = outcome(d)
		}
	}
	cpu = cpuTime() - cpu
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&ms)
	mallocs = ms.Mallocs - mallocs
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	us := func(t time.Duration) float64 { return float64(t.Nanoseconds()) / 1e3 }
	return json.NewEncoder(os.Stdout).Encode(result{
		Requests:  len(reqs),
		Timed:     len(times),
		P50:       us(times[len(times)/2]),
		P90:       us(times[len(times)*9/10]),
		Mean:      us(sum) / float64(len(times)),
		CPU:       us(cpu) / float64(len(times)),
		Allocs:    float64(mallocs) / float64(len(times)),
		Decisions: string(decisions),
	})
}

func outcome(d rego.Decision) byte {
	switch {
	case d.Error != "":
		return 'e'
	case d.Allowed:
		return '1'
	}
	return '0'
}
