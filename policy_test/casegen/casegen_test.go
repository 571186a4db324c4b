package casegen

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

func encodeAreas(t *testing.T, areas []Area) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, a := range areas {
		buf.WriteString(a.Name + "\n")
		b, err := oracle.WriteJSONL(a.Cases)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

func TestCorpusDeterministic(t *testing.T) {
	testenv.Long(t)
	a, b := encodeAreas(t, Corpus()), encodeAreas(t, Corpus())
	if !bytes.Equal(a, b) {
		t.Fatal("Corpus() is not deterministic")
	}
}

func TestCorpusIDsAndNotes(t *testing.T) {
	checkAreas(t, Corpus())
}

func checkAreas(t *testing.T, areas []Area) {
	t.Helper()
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, a := range areas {
		if a.Name == "" || names[a.Name] || strings.ContainsAny(a.Name, "/\\ ") {
			t.Errorf("bad or duplicate area name %q", a.Name)
		}
		names[a.Name] = true
		if len(a.Cases) == 0 {
			t.Errorf("area %s is empty", a.Name)
		}
		for _, c := range a.Cases {
			if c.ID == "" || c.Note == "" {
				t.Errorf("area %s: case without ID or Note: %+v", a.Name, c)
			}
			if !strings.HasPrefix(c.ID, a.Name+"-") {
				t.Errorf("case %s is not named after its area %s", c.ID, a.Name)
			}
			if ids[c.ID] {
				t.Errorf("duplicate ID %s", c.ID)
			}
			ids[c.ID] = true
			if c.Expect != nil {
				t.Errorf("%s: generated cases must not carry expectations", c.ID)
			}
			// Every case must survive the JSON round trip unchanged.
			b1, err := oracle.Marshal(c)
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			c2, err := oracle.Unmarshal(b1)
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			b2, err := oracle.Marshal(c2)
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			if !bytes.Equal(b1, b2) {
				t.Errorf("%s does not round-trip:\n%s\n%s", c.ID, b1, b2)
			}
		}
	}
}

// TestCorpusNoNetwork: http(s) checks only appear in cases marked network,
// and those never reach the network (checked by construction: every URL
// either fails to format or is short-circuited; see area_http.go).
func TestCorpusNoNetwork(t *testing.T) {
	for _, a := range Corpus() {
		for _, c := range a.Cases {
			b, _ := oracle.Marshal(c)
			s := string(b)
			if (strings.Contains(s, "http:") || strings.Contains(s, "https:")) && !c.Network {
				t.Errorf("%s mentions http(s): but is not marked network", c.ID)
			}
		}
	}
}

func TestRealPolicies(t *testing.T) {
	testenv.Long(t)
	dir := testenv.Shared(t, "policies")
	a1, err := RealPolicies(dir)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := RealPolicies(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encodeAreas(t, a1), encodeAreas(t, a2)) {
		t.Fatal("RealPolicies is not deterministic")
	}
	checkAreas(t, append(Corpus(), a1...))
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(a1) != len(files) {
		t.Errorf("%d areas for %d files", len(a1), len(files))
	}
	for _, a := range a1 {
		rules := map[string]bool{}
		for _, c := range a.Cases {
			rules[c.Rule] = true
		}
		if len(rules) < min(MaxRealRules, 2) {
			t.Errorf("%s: only %d distinct rules enforced", a.Name, len(rules))
		}
	}
}

func TestClosure(t *testing.T) {
	defs := map[string][]string{
		"top":         {"rule:mid or role:x"},
		"mid":         {"(rule:leaf) and rule:missing"},
		"leaf":        {"@"},
		"other":       {"rule:top"},
		"default":     {"rule:dflt_helper"},
		"dflt_helper": {"role:admin"},
	}
	got := closure("top", func(n string) ([]string, bool) { v, ok := defs[n]; return v, ok })
	want := []string{"top", "mid", "leaf", "default", "dflt_helper"}
	if len(got) != len(want) {
		t.Errorf("closure = %v", got)
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("closure lacks %s: %v", w, got)
		}
	}
}

func TestRandomDeterministic(t *testing.T) {
	gen := func(seed uint64) []byte {
		r := rand.New(rand.NewPCG(seed, 42))
		var cs []oracle.Case
		for i := 0; i < 500; i++ {
			cs = append(cs, Random(r))
		}
		b, err := oracle.WriteJSONL(cs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(gen(1), gen(1)) {
		t.Fatal("same seed, different cases")
	}
	if bytes.Equal(gen(1), gen(2)) {
		t.Fatal("different seeds, same cases")
	}
	for _, line := range bytes.Split(gen(3), []byte("\n")) {
		if bytes.Contains(line, []byte("http")) {
			t.Fatalf("random case mentions http: %s", line)
		}
	}
}

// TestRandomMix runs 5000 random cases through the oracle and checks that
// the generator yields a healthy mix of allow / deny / error.
func TestRandomMix(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	r := rand.New(rand.NewPCG(2024, 7))
	cases := make([]oracle.Case, 5000)
	for i := range cases {
		cases[i] = Random(r)
	}
	start := time.Now()
	res, err := oracle.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	var s oracle.Summary
	for _, x := range res {
		s.Add(x)
	}
	t.Logf("random mix: %s; oracle %v (%.2fs per 1000)", s, el.Round(time.Millisecond), el.Seconds()/5)
	for _, n := range []int{s.Allow, s.Deny, s.Error} {
		if n < len(cases)/10 {
			t.Errorf("unhealthy mix: %s", s)
			break
		}
	}
}
