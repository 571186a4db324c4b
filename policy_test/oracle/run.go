package oracle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/oslorego/oslorego/internal/testenv"
)

// Find locates the oracle (testenv.FindOracle): the script is
// $OSLO_ORACLE if set, otherwise ../shared/oracle/oslo_oracle.py; the
// interpreter is $OSLO_ORACLE_PYTHON if set, otherwise /usr/bin/python3,
// and it must be a 3.11 that imports oslo_policy. The error says why the
// oracle is unusable.
func Find() (python, script string, err error) {
	return testenv.FindOracle()
}

// Run answers every case with ONE oracle subprocess: requests are streamed
// to its stdin from a goroutine while answers are read from stdout, and
// matched by order. The bookkeeping fields and Expect are not sent.
func Run(ctx context.Context, cases []Case) ([]Result, error) {
	lines, err := runLines(ctx, cases)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(lines))
	for i, l := range lines {
		var r struct {
			Allowed *bool  `json:"allowed"`
			Error   string `json:"error"`
			Raised  string `json:"raised"`
		}
		if err := json.Unmarshal(l, &r); err != nil {
			return nil, fmt.Errorf("oracle: answer %d (%s): %w: %s", i, cases[i].ID, err, l)
		}
		if r.Allowed == nil && r.Error == "" {
			return nil, fmt.Errorf("oracle: answer %d (%s) has neither allowed nor error: %s", i, cases[i].ID, l)
		}
		if r.Allowed != nil {
			out[i].Allowed = *r.Allowed
		}
		out[i].Error = r.Error
		out[i].Raised = r.Raised
		if out[i].Error != "" {
			out[i].Allowed = false
		}
	}
	return out, nil
}

// Verbose is the oracle's --verbose answer: the result plus diagnostics.
type Verbose struct {
	Result
	Parsed         *string           `json:"parsed,omitempty"`      // str() of the parsed check tree
	ResultRepr     string            `json:"result_repr,omitempty"` // repr of enforce()'s raw return
	Log            []string          `json:"log,omitempty"`         // parser ERROR log records
	ErrorStage     string            `json:"error_stage,omitempty"` // load / parse / enforce
	EffectiveRules map[string]string `json:"effective_rules,omitempty"`
	Raw            json.RawMessage   `json:"-"`
}

// RunVerbose is Run with the oracle's --verbose diagnostics (debugging aid).
func RunVerbose(ctx context.Context, cases []Case) ([]Verbose, error) {
	lines, err := runLines(ctx, cases, "--verbose")
	if err != nil {
		return nil, err
	}
	out := make([]Verbose, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l, &out[i]); err != nil {
			return nil, fmt.Errorf("oracle: answer %d: %w", i, err)
		}
		out[i].Raw = append(json.RawMessage(nil), l...)
	}
	return out, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func runLines(ctx context.Context, cases []Case, args ...string) ([][]byte, error) {
	// Encode everything up front so encoding errors are reported cleanly.
	reqs := make([][]byte, len(cases))
	for i, c := range cases {
		b, err := Marshal(c.request())
		if err != nil {
			return nil, fmt.Errorf("oracle: encode case %d (%s): %w", i, c.ID, err)
		}
		if bytes.ContainsAny(b, "\n\r") {
			return nil, fmt.Errorf("oracle: case %d (%s) encodes with a raw newline", i, c.ID)
		}
		reqs[i] = b
	}
	return runRaw(ctx, reqs, args...)
}

// runRaw sends each request line verbatim and returns one answer line per
// request.
func runRaw(ctx context.Context, reqs [][]byte, args ...string) ([][]byte, error) {
	cases := reqs
	if len(cases) == 0 {
		return nil, nil
	}
	python, script, err := Find()
	if err != nil {
		return nil, err
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8", "PYTHONDONTWRITEBYTECODE=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("oracle: start %s %s: %w", python, script, err)
	}

	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(stdin, 1<<16)
		var err error
		for _, b := range reqs {
			if _, err = w.Write(b); err != nil {
				break
			}
			if err = w.WriteByte('\n'); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if cerr := stdin.Close(); err == nil {
			err = cerr
		}
		writeErr <- err
	}()

	out := make([][]byte, 0, len(cases))
	r := bufio.NewReaderSize(stdout, 1<<16)
	var readErr error
	for len(out) < len(cases) {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, bytes.TrimRight(line, "\r\n"))
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	if len(out) == len(cases) {
		// Drain anything unexpected so Wait does not block.
		rest, _ := io.ReadAll(r)
		if len(bytes.TrimSpace(rest)) > 0 {
			readErr = fmt.Errorf("oracle: unexpected extra output: %.200s", rest)
		}
	} else {
		cancel()
	}
	werr := <-writeErr
	waitErr := cmd.Wait()
	if len(out) < len(cases) && parent.Err() != nil {
		return nil, fmt.Errorf("oracle: %w", parent.Err())
	}
	if len(out) != len(cases) {
		return nil, fmt.Errorf("oracle: got %d answers for %d cases (wait: %v, write: %v, read: %v); stderr tail:\n%s",
			len(out), len(cases), waitErr, werr, readErr, strings.TrimSpace(stderr.String()))
	}
	if readErr != nil {
		return nil, readErr
	}
	if werr != nil {
		return nil, fmt.Errorf("oracle: writing requests: %w", werr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("oracle: %w; stderr tail:\n%s", waitErr, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
