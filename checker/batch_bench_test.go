package checker

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// BenchmarkBatchRun is check --batch --decision-memo 0 on a policy file
// and request lines: the time per line of reading it, of deciding it, and
// of the whole (two workers on two cores), and a CPU profile. With
// bench/cold's lines:
//
//	go build -o /tmp/cold ./bench/cold && /tmp/cold gen -policies ../shared/policies -out /tmp/req
//	/tmp/cold batch -requests /tmp/req/nova.jsonl -n 20000 > /tmp/nova-lines.jsonl
//	BATCH_POLICY=../shared/policies/nova.json BATCH_LINES=/tmp/nova-lines.jsonl \
//	  go test -run '^$' -bench BatchRun -cpuprofile /tmp/batch.prof ./checker
func BenchmarkBatchRun(b *testing.B) {
	policy, linesFile := os.Getenv("BATCH_POLICY"), os.Getenv("BATCH_LINES")
	if policy == "" || linesFile == "" {
		b.Skip("set BATCH_POLICY (a policy file) and BATCH_LINES (request lines)")
	}
	data, err := os.ReadFile(policy)
	if err != nil {
		b.Fatal(err)
	}
	in, err := os.ReadFile(linesFile)
	if err != nil {
		b.Fatal(err)
	}
	layer, err := oslo.ParseLayer(policy, data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{layer}, nil, oslo.Options{DefaultRule: "default"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	eng, err := rego.New(ctx, rego.Policy(p))
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(in, []byte("\n")) {
		if l = pyStrip(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	perLine := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
	}
	// read: the lines as decide reads them; read-exact: as it did before
	// the one-pass reading (policyfile.LoadJSONObject, rego.OrderedValue).
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			for _, l := range lines {
				if _, err := parseLine(l); err != nil {
					b.Fatal(err)
				}
			}
		}
		perLine(b)
	})
	b.Run("read-exact", func(b *testing.B) {
		for b.Loop() {
			for _, l := range lines {
				var fs lineFields
				if err := readFieldsExact(string(l), &fs); err != nil {
					b.Fatal(err)
				}
				if _, err := requestOf(&fs); err != nil {
					b.Fatal(err)
				}
			}
		}
		perLine(b)
	})
	// decide: the read requests decided as decide does (memo off).
	reqs := make([]request, len(lines))
	for i, l := range lines {
		if reqs[i], err = parseLine(l); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("decide", func(b *testing.B) {
		for b.Loop() {
			for _, r := range reqs {
				name := r.rule.(string)
				req := rego.Request{Rule: name, Target: r.target, Credentials: r.creds}
				in, err := eng.Input(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := eng.DecideInput(ctx, name, in); err != nil {
					b.Fatal(err)
				}
			}
		}
		perLine(b)
	})
	// run: the whole of check --batch but process start and policy load.
	b.Run("run", func(b *testing.B) {
		batch := &Batch{Policy: eng}
		for b.Loop() {
			if err := batch.Run(ctx, bytes.NewReader(in), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b)
	})
}
