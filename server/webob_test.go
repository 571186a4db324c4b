package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// TestRangeAgainstWebob compares requestRange with Glance Zed's own Range
// code (get_range_from_request and the download serializer, read from
// python3-glance 2:25.1.0 and run by testdata/glance_range.py) on Debian's
// webob (python3-webob 1:1.8.6-3), on 30,000 random headers. The only
// differences allowed are deliberate: where Glance fails with 500 (int("")
// of "bytes=-") we answer 416, and a suffix range of an empty image is 416,
// not a 206 of no bytes.
func TestRangeAgainstWebob(t *testing.T) {
	testenv.Long(t)
	py := testenv.Python(t, "webob")
	src := testenv.GlanceSource(t)
	if info, _ := filepath.Glob(filepath.Join(src, "glance-*info")); len(info) > 0 {
		t.Logf("Glance's code: %s", info[0])
	}
	rng := rand.New(rand.NewPCG(7, 9))
	pieces := []string{"bytes", "BYTES", "items", "=", " = ", "-", "--", ",", " ", "*", "/", "0", "1", "3", "9", "10", "11", "20", "x", "99999999999999999999"}
	type q struct {
		Range *string `json:"range,omitempty"`
		CR    *string `json:"cr,omitempty"`
		Size  int64   `json:"size"`
	}
	var qs []q
	for i := 0; i < 30000; i++ {
		var b strings.Builder
		if rng.IntN(3) > 0 {
			b.WriteString([]string{"bytes=", "bytes ", "BYTES=", "bytes = "}[rng.IntN(4)])
		}
		for n := rng.IntN(6); n >= 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		x := q{Size: int64([]int{0, 1, 10, 11}[rng.IntN(4)])}
		if rng.IntN(2) == 0 {
			x.Range = &s
		} else {
			x.CR = &s
		}
		qs = append(qs, x)
	}
	cmd := exec.Command(py, "testdata/glance_range.py", src)
	var in strings.Builder
	for _, x := range qs {
		j, _ := json.Marshal(x)
		in.Write(j)
		in.WriteByte('\n')
	}
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	bad, n, partial := 0, 0, 0
	for ; sc.Scan(); n++ {
		var want []int64
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil || len(want) == 0 || n >= len(qs) {
			t.Fatalf("answer %d: %q: %v", n, sc.Text(), err)
		}
		if want[0] == 206 {
			partial++
		}
		x := qs[n]
		r, c := "", ""
		if x.Range != nil {
			r = *x.Range
		}
		if x.CR != nil {
			c = *x.CR
		}
		// requestRange returns a *rangeError, not an error: compare it
		// with nil directly (as an error it would never be nil).
		br, rerr := requestRange(r, c, x.Range != nil, x.CR != nil, x.Size)
		var got []int64
		switch {
		case rerr != nil:
			got = []int64{int64(rerr.Status)}
		case br == nil:
			got = []int64{200}
		default:
			got = []int64{206, br.Start, br.Length}
		}
		deliberate := fmt.Sprint(got) == "[416]" && (fmt.Sprint(want) == "[500]" || x.Size == 0 && fmt.Sprint(want) == "[206 0 0]")
		if fmt.Sprint(got) != fmt.Sprint(want) && !deliberate {
			if bad < 25 {
				t.Errorf("range %q cr %q size %d: got %v glance %v", r, c, x.Size, got, want)
			}
			bad++
		}
	}
	if n != len(qs) || partial < 100 {
		t.Fatalf("glance answered %d of %d headers, %d of them 206", n, len(qs), partial)
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, len(qs))
	}
}
