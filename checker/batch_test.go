package checker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// batchAnswer is one output line.
type batchAnswer struct {
	Allowed bool   `json:"allowed"`
	Error   string `json:"error"`
}

// newBatch is `oslorego check --batch` without --policy or other flags.
func newBatch() *Batch {
	return &Batch{
		Options: oslo.Options{DefaultRule: "default"},
		Compile: func(ctx context.Context, p *oslo.Policy) (*rego.Engine, error) {
			tr, err := translate.Translate(p, translate.DefaultPackage)
			if err != nil {
				return nil, err
			}
			return rego.New(ctx, rego.Translation(tr))
		},
	}
}

func readAnswers(t *testing.T, out string) []batchAnswer {
	t.Helper()
	var got []batchAnswer
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var a batchAnswer
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("answer %q: %v", l, err)
		}
		got = append(got, a)
	}
	return got
}

// runBatch runs b over in and returns its answers; Run must succeed.
func runBatch(t *testing.T, b *Batch, in string) []batchAnswer {
	t.Helper()
	var out bytes.Buffer
	if err := b.Run(context.Background(), strings.NewReader(in), &out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return readAnswers(t, out.String())
}

// TestBatchKeepsOrder: lines decided by several workers, some against a
// map that compiles slowly, are answered in input order.
func TestBatchKeepsOrder(t *testing.T) {
	b := newBatch()
	b.Workers = 4
	compile := b.Compile
	b.Compile = func(ctx context.Context, p *oslo.Policy) (*rego.Engine, error) {
		if p.Rule("slow") != nil {
			time.Sleep(50 * time.Millisecond)
		}
		return compile(ctx, p)
	}
	lines := []string{
		`{"rule":"a","rules":{"a":"!","slow":"@"}}`,
		`{"rule":"a","rules":{"a":"@"}}`,
		`{"rule":"a","rules":{"a":"@"}}`,
		`not json`,
	}
	var in strings.Builder
	var want []bool
	for i := range 200 {
		in.WriteString(lines[i%len(lines)] + "\n")
		want = append(want, i%len(lines) == 1 || i%len(lines) == 2)
	}
	got := runBatch(t, b, in.String())
	if len(got) != len(want) {
		t.Fatalf("%d answers for %d lines", len(got), len(want))
	}
	for i, a := range got {
		if a.Allowed != want[i] || (i%len(lines) == 3) != strings.HasPrefix(a.Error, fmt.Sprintf("line %d: not one JSON object", i+1)) {
			t.Errorf("answer %d = %+v, want allowed %v", i+1, a, want[i])
		}
	}
}

// TestBatchAnswersEachLineAtOnce: an interactive caller gets each answer
// before it sends the next line.
func TestBatchAnswersEachLineAtOnce(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- newBatch().Run(context.Background(), inR, outW); outW.Close() }()
	answers := bufio.NewReader(outR)
	for i, tc := range []struct {
		line    string
		allowed bool
	}{{`{"rule":"a","rules":{"a":"@"}}`, true}, {`{"rule":"a","rules":{"a":"!"}}`, false}, {`{"rule":"a","rules":{"a":"@"}}`, true}} {
		if _, err := io.WriteString(inW, tc.line+"\n"); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { l, _ := answers.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			if a := readAnswers(t, l); len(a) != 1 || a[0].Allowed != tc.allowed {
				t.Errorf("line %d answered %q, want allowed %v", i+1, l, tc.allowed)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("line %d: no answer while the input stays open", i+1)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestBatchStopsWhenCancelled: Run returns when its context ends, even
// while the input stays open and a read is blocked.
func TestBatchStopsWhenCancelled(t *testing.T) {
	inR, inW := io.Pipe()
	defer inW.Close()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newBatch().Run(ctx, inR, outW) }()
	if _, err := io.WriteString(inW, `{"rule":"a","rules":{"a":"@"}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	// Once the answer is out, Run waits for the next line.
	if l, err := bufio.NewReader(outR).ReadString('\n'); err != nil || l != `{"allowed":true}`+"\n" {
		t.Fatalf("answer %q, %v", l, err)
	}
	time.Sleep(50 * time.Millisecond) // not an assertion: lets Run reach the read
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still reads after its context ended")
	}
}

// TestBatchPolicyErr: when the policy could not be loaded, every request
// line is answered with the load error, and Run says so at the end.
func TestBatchPolicyErr(t *testing.T) {
	b := newBatch()
	b.PolicyErr = errors.New("policy.yaml:2: bad\n  indentation")
	var out bytes.Buffer
	in := `{"rule":"a","target":{},"creds":{}}` + "\n\n" + "not json\n" + `{"rule":"a","rules":{"a":"@"}}` + "\n"
	if err := b.Run(context.Background(), strings.NewReader(in), &out); !errors.Is(err, ErrPolicy) {
		t.Errorf("Run: %v, want ErrPolicy", err)
	}
	got := readAnswers(t, out.String())
	lines := []int{1, 3, 4}
	if len(got) != len(lines) {
		t.Fatalf("%d answers for %d requests:\n%s", len(got), len(lines), out.String())
	}
	for i, a := range got {
		want := fmt.Sprintf("line %d: loading the policy: policy.yaml:2: bad indentation", lines[i])
		if a.Allowed || a.Error != want {
			t.Errorf("answer %d = %+v, want a deny with %q", i+1, a, want)
		}
	}
}

// TestBatchNoPolicy: without a policy, a line without "rules" is refused.
func TestBatchNoPolicy(t *testing.T) {
	got := runBatch(t, newBatch(), `{"rule":"a","target":{},"creds":{}}`+"\n")
	if len(got) != 1 || got[0].Allowed || !strings.HasPrefix(got[0].Error, `line 1: no policy: give --policy or a "rules" map`) {
		t.Errorf("answers %+v", got)
	}
}

// TestBatchBoundsLines: a line longer than MaxLine is answered with an
// error that names it, whatever its length against the read buffer, and
// the lines around it are decided as usual.
func TestBatchBoundsLines(t *testing.T) {
	ok := `{"rule": "r", "rules": {"r": "@"}}`
	for _, n := range []int{65, 4 << 10, 3 << 20} {
		b := newBatch()
		b.MaxLine = 64
		long := `{"rule": "r", "rules": {"r": "@"}, "target": {"x": "` + strings.Repeat("a", n) + `"}}`
		got := runBatch(t, b, ok+"\n"+long+"\n"+ok+"\n"+long)
		if len(got) != 4 {
			t.Fatalf("n=%d: %d answers, want 4: %+v", n, len(got), got)
		}
		for i, want := range []string{"", "line 2: longer than 64 bytes", "", "line 4: longer than 64 bytes"} {
			if got[i].Allowed != (want == "") || !strings.HasPrefix(got[i].Error, want) {
				t.Errorf("n=%d: answer %d = %+v, want allowed=%t error %q", n, i+1, got[i], want == "", want)
			}
		}
	}
	// A line of exactly MaxLine bytes (its newline included) is read.
	b := newBatch()
	b.MaxLine = len(ok) + 1
	if got := runBatch(t, b, ok+"\n"); len(got) != 1 || !got[0].Allowed {
		t.Errorf("a line at the bound: %+v, want allowed", got)
	}
}
