package checker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
)

// TestBatchProtocol decides one request line per case, with the per-request
// "rules" map. allowed/err is oslo's answer (the oracle's) unless the case
// says the protocol is stricter on purpose; err is a substring of the
// error, "" for none.
func TestBatchProtocol(t *testing.T) {
	tests := []struct {
		class, name, line string
		allowed           bool
		err               string
	}{
		// G: field names are exact; an unknown field is refused, naming it.
		{"G", "Creds is not creds", `{"rule":"a","rules":{"a":"role:admin"},"target":{},"creds":{},"Creds":{"roles":["admin"]}}`, false, `line 1: unknown field 'Creds'`},
		{"G", "CREDS is not creds", `{"rule":"a","rules":{"a":"role:admin"},"target":{},"CREDS":{"roles":["admin"]}}`, false, `unknown field 'CREDS'`},
		{"G", "long s folds to s in Go", `{"rule":"a","rules":{"a":"role:admin"},"target":{},"cred\u017f":{"roles":["admin"]}}`, false, `unknown field 'credſ'`},
		{"G", "Rules is not rules", `{"rule":"a","rules":{"a":"!"},"Rules":{"a":"@"},"target":{},"creds":{}}`, false, `unknown field 'Rules'`},
		{"G", "RULE is not rule", `{"rule":"a","RULE":"b","rules":{"a":"!","b":"@"},"target":{},"creds":{}}`, false, `unknown field 'RULE'`},
		{"G", "Target is not target", `{"rule":"a","rules":{"a":"%(x)s:1"},"Target":{"x":"y"},"creds":{"y":"1"}}`, false, `unknown field 'Target'`},
		{"G", "Default_Rule is not default_rule", `{"rule":"x","rules":{"d":"@"},"Default_Rule":"d","target":{},"creds":{}}`, false, `unknown field 'Default_Rule'`},
		{"G", "an oracle-only field", `{"rule":"a","rules":{"a":"@"},"target":{},"creds":{},"do_raise":true}`, false, `unknown field 'do_raise'`},
		{"G", "a repeated field keeps its last value, as json.loads", `{"rule":"a","rules":{"a":"role:admin"},"creds":{"roles":["admin"]},"creds":{}}`, false, ""},
		{"G", "exact names decide", `{"rule":"a","rules":{"a":"role:admin"},"target":{},"creds":{"roles":["admin"]}}`, true, ""},
		// J: a line is one JSON value and nothing else.
		{"J", "text after the object", `{"rule":"a","rules":{"a":"@"},"target":{},"creds":{}} trailing`, false, `line 1: not one JSON object: Extra data: line 1 column 55 (char 54)`},
		{"J", "a second object", `{"rule":"a","rules":{"a":"@"},"target":{},"creds":{}}{}`, false, `Extra data`},
		{"J", "a stray bracket", `{"rule":"a","rules":{"a":"@"},"target":{},"creds":{}}]`, false, `Extra data`},
		{"J", "trailing white space is stripped, as str.strip()", "{\"rule\":\"a\",\"rules\":{\"a\":\"@\"},\"target\":{},\"creds\":{}}\t\u00a0 ", true, ""},
		{"J", "not an object", `["a"]`, false, `not a JSON object`},
		// H: a missing or non-string rule is looked up like a name no rule
		// has: the default rule decides (oslo's Rules.__missing__).
		{"H", "missing rule", `{"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "null rule", `{"rule":null,"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "int rule", `{"rule":5,"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "bool rule", `{"rule":true,"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "float rule", `{"rule":1.5,"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "NaN rule", `{"rule":NaN,"rules":{"default":"@"},"target":{},"creds":{}}`, true, ""},
		{"H", "missing rule, denying default", `{"rules":{"default":"!"},"target":{},"creds":{}}`, false, ""},
		{"H", "missing rule, no default rule", `{"rules":{"default":"@"},"default_rule":null,"target":{},"creds":{}}`, false, ""},
		{"H", "list rule is unhashable", `{"rule":["a"],"rules":{"default":"@"},"target":{},"creds":{}}`, false, `TypeError: unhashable type: 'list'`},
		{"H", "dict rule is unhashable", `{"rule":{},"rules":{"default":"@"},"target":{},"creds":{}}`, false, `TypeError: unhashable type: 'dict'`},
		{"H", "list rule with no rules at all denies first", `{"rule":["a"],"rules":{},"target":{},"creds":{}}`, false, ""},
		{"H", "int default_rule is no default", `{"rule":"x","rules":{"default":"@","d":"@"},"default_rule":5,"target":{},"creds":{}}`, false, ""},
		{"H", "bool default_rule is no default", `{"rule":"x","rules":{"default":"@","d":"@"},"default_rule":true,"target":{},"creds":{}}`, false, ""},
		{"H", "dict default_rule is no default", `{"rule":"x","rules":{"default":"@","d":"@"},"default_rule":{"d":1},"target":{},"creds":{}}`, false, ""},
		{"H", "empty list default_rule is no default", `{"rule":"x","rules":{"default":"@","d":"@"},"default_rule":[],"target":{},"creds":{}}`, false, ""},
		{"H", "empty default_rule is no default", `{"rule":"x","rules":{"default":"@","d":"@"},"default_rule":"","target":{},"creds":{}}`, false, ""},
		{"H", "a named default_rule decides", `{"rule":"x","rules":{"default":"!","d":"@"},"default_rule":"d","target":{},"creds":{}}`, true, ""},
		{"H", "int rule with a named default_rule", `{"rule":5,"rules":{"default":"!","d":"@"},"default_rule":"d","target":{},"creds":{}}`, true, ""},
		// Stricter on purpose (README): a non-empty list default_rule
		// (oslo raises TypeError only when a missing rule is looked up).
		{"H", "non-empty list default_rule is refused", `{"rule":"d","rules":{"default":"@","d":"@"},"default_rule":["d"],"target":{},"creds":{}}`, false, `"default_rule" must be a string or null`},
		{"H", "rules that are not an object", `{"rule":"a","rules":["a"],"target":{},"creds":{}}`, false, `AttributeError: 'list' object has no attribute 'items'`},
		{"H", "null rules", `{"rule":"a","rules":null,"target":{},"creds":{}}`, false, `AttributeError: 'NoneType' object has no attribute 'items'`},
		// I: NaN and ±Infinity are Python floats. ±Infinity travel as
		// ±1e400 (the same float to Python), NaN as rego.NaNText.
		{"I", "Infinity renders inf", `{"rule":"a","rules":{"a":"x:%(t)s"},"target":{"t":Infinity},"creds":{"x":"inf"}}`, true, ""},
		{"I", "-Infinity repr is -inf", `{"rule":"a","rules":{"a":"x:%(t)r"},"target":{"t":-Infinity},"creds":{"x":"-inf"}}`, true, ""},
		{"I", "Infinity in a list", `{"rule":"a","rules":{"a":"x:%(t)s"},"target":{"t":[Infinity,-Infinity]},"creds":{"x":"[inf, -inf]"}}`, true, ""},
		{"I", "Infinity is not 1e400's text", `{"rule":"a","rules":{"a":"x:%(t)s"},"target":{"t":Infinity},"creds":{"x":"Infinity"}}`, false, ""},
		{"I", "%d of Infinity raises", `{"rule":"a","rules":{"a":"x:%(t)d"},"target":{"t":Infinity},"creds":{"x":"inf"}}`, false, `OverflowError: cannot convert float infinity to integer`},
		{"I", "Infinity in the credentials", `{"rule":"a","rules":{"a":"x:inf"},"target":{},"creds":{"x":Infinity}}`, true, ""},
		{"I", "NaN renders nan", `{"rule":"a","rules":{"a":"x:%(t)s"},"target":{"t":NaN},"creds":{"x":"nan"}}`, true, ""},
		{"I", "%d of NaN raises", `{"rule":"a","rules":{"a":"x:%(t)d"},"target":{"t":NaN},"creds":{"x":"nan"}}`, false, `ValueError: cannot convert float NaN to integer`},
		// A: dicts print in the line's key order.
		{"A", "the whole target in JSON order", `{"rule":"a","rules":{"a":"role:%s"},"target":{"b":"1","a":"2"},"creds":{"roles":["{'b': '1', 'a': '2'}"]}}`, true, ""},
		{"A", "the whole target, not sorted", `{"rule":"a","rules":{"a":"role:%s"},"target":{"b":"1","a":"2"},"creds":{"roles":["{'a': '2', 'b': '1'}"]}}`, false, ""},
		// F: lone surrogates stay distinct, or the decision fails closed.
		{"F", "different lone surrogates", `{"rule":"a","rules":{"a":"role:%(t)s"},"target":{"t":"\ud800"},"creds":{"roles":["\udfff"]}}`, false, `holds a lone surrogate`},
		{"F", "a lone surrogate in a key", `{"rule":"a","rules":{"a":"@"},"target":{},"creds":{"\udc00":1}}`, false, `creds: the string '\udc00' at line 1 column 52 holds a lone surrogate`},
		{"F", "a lone surrogate in the rule name", `{"rule":"\ud800","rules":{"default":"@"},"target":{},"creds":{}}`, false, `rule: the name '\ud800' holds a lone surrogate`},
		{"F", "a surrogate pair is one character", `{"rule":"a","rules":{"a":"role:%(t)s"},"target":{"t":"\ud83d\ude00"},"creds":{"roles":["😀"]}}`, true, ""},
		{"F", "U+FFFD is itself", `{"rule":"a","rules":{"a":"role:%(t)s"},"target":{"t":"\ufffd"},"creds":{"roles":["\ufffd"]}}`, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.class+"/"+tc.name, func(t *testing.T) {
			got := runBatch(t, newBatch(), tc.line+"\n")
			if len(got) != 1 {
				t.Fatalf("%d answers, want 1: %+v", len(got), got)
			}
			if got[0].Allowed != tc.allowed || !strings.Contains(got[0].Error, tc.err) || (tc.err == "") != (got[0].Error == "") {
				t.Errorf("answer %+v, want allowed=%v error~%q", got[0], tc.allowed, tc.err)
			}
		})
	}
}

// TestBatchLineCorpus replays the request-line corpus (policy_test/testdata/
// lines, answered by oslo.policy through the oracle, which reads each line
// with json.loads): every answer matches oslo's allow, deny or error,
// except where the case says oslorego refuses on purpose, which must be a
// deny with that error.
func TestBatchLineCorpus(t *testing.T) {
	testenv.Long(t)
	files, err := filepath.Glob("../policy_test/testdata/lines/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("only %d line corpus files (run go run ./policy_test/cmd/gencorpus -lines-only)", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cases, err := oracle.ReadLineCases(data)
			if err != nil {
				t.Fatal(err)
			}
			var in strings.Builder
			for _, c := range cases {
				in.WriteString(c.Line + "\n")
			}
			got := runBatch(t, newBatch(), in.String())
			if len(got) != len(cases) {
				t.Fatalf("%d answers for %d lines", len(got), len(cases))
			}
			// With the memo on, the first memoLines lines: the whole
			// corpus again would double this test's time.
			const memoLines = 200
			var sample strings.Builder
			for _, c := range cases[:min(memoLines, len(cases))] {
				sample.WriteString(c.Line + "\n")
			}
			memoAgrees(t, sample.String(), got[:min(memoLines, len(got))])
			for i, c := range cases {
				if c.Expect == nil {
					t.Fatalf("%s: no expectation", c.ID)
				}
				a := got[i]
				kind := oracle.Result{Allowed: a.Allowed, Error: a.Error}.Outcome()
				switch {
				case c.Refused != "":
					if a.Allowed || !strings.Contains(a.Error, c.Refused) {
						t.Errorf("%s (%s): want a refusal with %q, got %+v\n  line: %s", c.ID, c.Note, c.Refused, a, c.Line)
					}
				case kind != c.Expect.Outcome():
					t.Errorf("%s (%s): oslo says %s %q, oslorego %s %q\n  line: %s", c.ID, c.Note, c.Expect.Outcome(), c.Expect.Error, kind, a.Error, c.Line)
				}
			}
		})
	}
}

// TestBatchDifferential sends random request lines (casegen.RandomLine:
// the differential's random policies, mutated the ways the request-line
// corpus tests) to oslo.policy and to Batch. OSLOREGO_LINES_N sets
// the number of lines, OSLOREGO_LINES_SEED the seed.
func TestBatchDifferential(t *testing.T) {
	testenv.Long(t)
	testenv.Oracle(t)
	n, seed := 400, uint64(20261204)
	if v, err := strconv.Atoi(os.Getenv("OSLOREGO_LINES_N")); err == nil {
		n = v
	}
	if v, err := strconv.ParseUint(os.Getenv("OSLOREGO_LINES_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("%d random lines, seed %d", n, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	cases := make([]oracle.LineCase, n)
	var in strings.Builder
	for i := range cases {
		cases[i] = casegen.RandomLine(r)
		in.WriteString(cases[i].Line + "\n")
	}
	want, err := oracle.RunLines(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	got := runBatch(t, newBatch(), in.String())
	if len(got) != n {
		t.Fatalf("%d answers for %d lines", len(got), n)
	}
	memoAgrees(t, in.String(), got)
	mix := map[string]int{}
	bad := 0
	for i, c := range cases {
		a := got[i]
		kind := oracle.Result{Allowed: a.Allowed, Error: a.Error}.Outcome()
		mix[want[i].Outcome()]++
		if kind == want[i].Outcome() {
			continue
		}
		refused := false
		for _, m := range casegen.RefusalMarkers {
			refused = refused || (c.Refused != "" && !a.Allowed && strings.Contains(a.Error, m))
		}
		if !refused {
			bad++
			t.Errorf("line %d: oslo says %s %q, oslorego %s %q\n  line: %s", i+1, want[i].Outcome(), want[i].Error, kind, a.Error, c.Line)
		}
	}
	t.Logf("oracle outcomes: %v", mix)
	if bad == 0 && (mix["allow"] < n/20 || mix["deny"] < n/10 || mix["error"] < n/20) {
		t.Errorf("the generator's mix is too thin to prove much: %v", mix)
	}
}

// memoAgrees decides the lines of in twice with the decision memo on, in
// blocks of memoBlock lines each sent twice (so that a line's "rules"
// engine is still cached, and not being decided, when it comes again):
// both answers, the second from the memo where it can be, must be off's,
// the answer without the memo, line for line.
func memoAgrees(t *testing.T, in string, off []batchAnswer) {
	t.Helper()
	const memoBlock = 4
	lines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
	var twice strings.Builder
	var order []int // the line of off each answer is to
	for at := 0; at < len(lines); at += memoBlock {
		block := lines[at:min(at+memoBlock, len(lines))]
		for range 2 {
			for i, l := range block {
				twice.WriteString(l + "\n")
				order = append(order, at+i)
			}
		}
	}
	b := newBatch()
	b.Memo, b.Stats = 1000, &rego.MemoStats{}
	on := runBatch(t, b, twice.String())
	if len(on) != len(order) || len(off) != len(lines) {
		t.Fatalf("memo on: %d answers for %d lines (%d without the memo)", len(on), len(order), len(off))
	}
	// Errors about the line name its number.
	unnumbered := func(a batchAnswer, n int) batchAnswer {
		a.Error = strings.TrimPrefix(a.Error, fmt.Sprintf("line %d: ", n))
		return a
	}
	for i, a := range on {
		n := order[i]
		if got, want := unnumbered(a, i+1), unnumbered(off[n], n+1); got != want {
			t.Errorf("line %d, memo on: %+v; off: %+v", n+1, got, want)
		}
	}
	hits, misses := b.Stats.Hits.Load(), b.Stats.Misses.Load()
	t.Logf("memo on: %d hits, %d misses, %d bypassed", hits, misses, b.Stats.Bypassed.Load())
	// The "rules" engine cache starts over when full: a block it drops
	// between its two passes misses again.
	if 2*hits < misses {
		t.Errorf("memo on: %d hits for %d misses: the repeated lines were not answered from the memo", hits, misses)
	}
}

// TestDeepChainsEvaluate pins the deliberate choice for issue 9 class K
// (README, known limits): oslo raises once Python's recursion limit is hit
// (328 rule: references or nots through Enforcer.enforce, 329 without it,
// about 165 "(@ and rule:...)" levels: a count of Python frames that depends
// on the caller), and oslorego evaluates instead, with the logical answer.
func TestDeepChainsEvaluate(t *testing.T) {
	chain := func(n int, link string) string {
		rules := make([]string, 0, n+1)
		for i := 0; i < n; i++ {
			rules = append(rules, fmt.Sprintf(`"r%d":"%s"`, i, fmt.Sprintf(link, i+1)))
		}
		rules = append(rules, fmt.Sprintf(`"r%d":"@"`, n))
		return fmt.Sprintf(`{"rule":"r0","rules":{%s},"target":{},"creds":{}}`, strings.Join(rules, ","))
	}
	nots := func(n int) string {
		return fmt.Sprintf(`{"rule":"a","rules":{"a":"%s@"},"target":{},"creds":{}}`, strings.Repeat("not ", n))
	}
	tests := []struct {
		name string
		line string
		want bool
	}{
		{"rule chain 327", chain(327, "rule:r%d"), true},
		{"rule chain 328", chain(328, "rule:r%d"), true},
		{"rule chain 400", chain(400, "rule:r%d"), true},
		{"and chain 200", chain(200, "(@ and rule:r%d)"), true},
		{"not 328", nots(328), true},
		{"not 329", nots(329), false},
	}
	var in strings.Builder
	for _, tc := range tests {
		in.WriteString(tc.line + "\n")
	}
	got := runBatch(t, newBatch(), in.String())
	if len(got) != len(tests) {
		t.Fatalf("%d answers for %d lines", len(got), len(tests))
	}
	for i, tc := range tests {
		if got[i].Allowed != tc.want || got[i].Error != "" {
			t.Errorf("%s: allowed %v error %q, want allowed %v and no error", tc.name, got[i].Allowed, got[i].Error, tc.want)
		}
	}
}
