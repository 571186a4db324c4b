package rego

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/policyfile"
	"github.com/oslorego/oslorego/internal/python"
)

// fastSeeds are texts of every shape the one-pass decoder meets, usual
// and not; each is also tried as a member's value.
var fastSeeds = []string{
	`{}`, ` { } `, "{\"a\"\t:\r\n1 }\n", `{"rule": "a", "target": {"x": 1}, "creds": {"roles": ["r"]}}`,
	`{"rule":"compute:get","target":{"project_id":"p","user_id":"u","id":"req-1"},"creds":{"roles":["member","reader"],"project_id":"p","is_admin":false,"system_scope":null}}`,
	`{"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": 2}}`, `{"a": [[], {}, [{}], "", 0, -0, -0.0, 1.5, 1E5, 10.50, 1e-400, 1e400, -1e400, 2e400]}`,
	`{"a": 123456789012345678901234567890, "b": -12, "c": 0.1, "d": 5e-324, "e": 1.7976931348623157e308}`,
	`{"a": "\u00e9\n\t\"\\\/\b\f\r", "é": "ü€😀", "\ud83d\ude00": "\ud83d\ude00x", "k": "\u0000"}`,
	`{"a": 1, "a": 2}`, `{"x": {"a": 1, "a": 2}}`, `{"x": {"a": 1, "b": 2, "a": 3}}`, `{"x": [{"a": 1, "a": {"b": 1}}]}`,
	`{"a": NaN}`, `{"a": Infinity}`, `{"a": -Infinity}`, `{"a": "\ud800"}`, `{"a": "\udc00\ud800"}`, `{"\udfff": 1}`,
	`{"a": "\ud800\u0041"}`, `{"a": "\ud800\\u"}`, `{"a": "x\ud83d"}`, `{"a": "\uD83D\uDE00"}`,
	`{"a": 1e}`, `{"a": 1e+}`, `{"a": 1.}`, `{"a": .5}`, `{"a": 01}`, `{"a": -}`, `{"a": +1}`, `{"a": 1E+2}`, `{"a": 1e-2}`,
	"\ufeff{}", `[]`, `"a"`, `1`, `null`, `{"a": 1} x`, `{"a": 1,}`, `{"a" 1}`, `{a: 1}`, `{"a": 1`, `{"a": tru}`,
	`{"a": [1, 2}`, `{"a": "x`, `{"a": "\q"}`, `{"a": "\u12"}`, `{"a": "\u12G4"}`, "{\"a\": \"\x01\"}", ``, ` `, `{"a": 1}{"b": 2}`,
	`{"a": ` + strings.Repeat("[", 198) + strings.Repeat("]", 198) + `}`,
	`{"a": ` + strings.Repeat("[", 199) + strings.Repeat("]", 199) + `}`,
	`{"a": ` + strings.Repeat("[", 990) + strings.Repeat("]", 990) + `}`,
	`{"a": ` + strings.Repeat("9", python.IntMaxStrDigits) + `}`,
	`{"a": -` + strings.Repeat("9", python.IntMaxStrDigits) + `}`,
	`{"a": ` + strings.Repeat("9", python.IntMaxStrDigits+1) + `}`,
	`{"a": 0.` + strings.Repeat("9", python.IntMaxStrDigits+1) + `}`,
}

// fastCorpus is fastSeeds, the committed fuzz corpora of the policy file
// loader and of this decoder, and each of those as a member's value.
func fastCorpus(t testing.TB) []string {
	texts := append([]string(nil), fastSeeds...)
	for _, dir := range []string{"../internal/policyfile/testdata/fuzz/FuzzParse", "testdata/fuzz/FuzzDecodeMembers"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			texts = append(texts, corpusText(t, f))
		}
	}
	for _, s := range texts[:len(texts):len(texts)] {
		texts = append(texts, `{"rule": "r", "target": `+s+`}`)
	}
	return texts
}

// corpusText is the value in a fuzz corpus file ("go test fuzz v1" and
// one []byte(...) or string(...) line).
func corpusText(t testing.TB, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 {
		t.Fatalf("%s: not a fuzz corpus file", path)
	}
	lit := lines[1]
	lit = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(lit, "[]byte("), "string("), ")")
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// exactMembers is what DecodeMembers must return: LoadJSONObject, then
// OrderedValue of each member.
func exactMembers(text string) ([]Member, error) {
	ms, err := policyfile.LoadJSONObject(text)
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, m := range ms {
		o, err := OrderedValue(m.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, Member{Key: m.Key, Value: o, Raw: m.Raw})
	}
	return out, nil
}

// exactValue is what decodeFast must return: DecodeOrdered's slow path.
func exactValue(text string) (Ordered, error) {
	v, err := policyfile.LoadJSON(text)
	if err != nil {
		return Ordered{}, err
	}
	return OrderedValue(v)
}

// sameOrdered reports whether a and b are the same value with the same
// key order tree.
func sameOrdered(a, b Ordered) bool {
	if !reflect.DeepEqual(a.Value, b.Value) || (a.order == nil) != (b.order == nil) {
		return false
	}
	return a.order == nil || a.order.Compare(b.order) == 0
}

// checkFast asserts that DecodeMembers and decodeFast give exactly what
// the exact path gives, whenever they read a text, and that they read
// every usual text the exact path accepts.
func checkFast(t *testing.T, text string) {
	t.Helper()
	got, ok := DecodeMembers(text)
	one, oneOK := decodeFast(text)
	if !utf8.ValidString(text) {
		if ok || oneOK {
			t.Fatalf("%q: read invalid UTF-8 (members %t, value %t)", text, ok, oneOK)
		}
		return
	}
	want, err := exactMembers(text)
	keysOK := true // a top-level key is not a value: it may hold a lone surrogate
	for _, m := range want {
		keysOK = keysOK && utf8.ValidString(m.Key)
	}
	switch {
	case ok && err != nil:
		t.Fatalf("%q: read in one pass; the exact path fails: %v", text, err)
	case !ok && err == nil && keysOK && usual(text, false):
		t.Fatalf("%q: a usual text left to the exact path", text)
	case ok:
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, want %d", text, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Key != w.Key || g.Raw != w.Raw || !sameOrdered(g.Value, w.Value) {
				t.Fatalf("%q: member %d is %q=%#v (order %v) raw %q, want %q=%#v (order %v) raw %q",
					text, i, g.Key, g.Value.Value, g.Value.order, g.Raw, w.Key, w.Value.Value, w.Value.order, w.Raw)
			}
		}
		ms, _ := policyfile.LoadJSONObject(text)
		for i, m := range ms {
			if k, n := got[i].Kind(), len(m.Value.Items)+len(m.Value.Pairs); k != m.Value.Kind || got[i].Len() != n {
				t.Fatalf("%q: member %d: kind %s len %d, want %s len %d", text, i, k, got[i].Len(), m.Value.Kind, n)
			}
		}
	}
	wantOne, err := exactValue(text)
	switch {
	case oneOK && err != nil:
		t.Fatalf("%q: value read in one pass; the exact path fails: %v", text, err)
	case !oneOK && err == nil && usual(text, true):
		t.Fatalf("%q: a usual value left to the exact path", text)
	case oneOK && !sameOrdered(one, wantOne):
		t.Fatalf("%q: value %#v (order %v), want %#v (order %v)", text, one.Value, one.order, wantOne.Value, wantOne.order)
	}
}

// usual reports whether the one-pass reading must take a text that the
// exact path accepts: no NaN or Infinity, no int longer than Python
// converts, no more than fastMaxDepth levels, no repeated key in an object
// below the top level (at the top level too unless topDup). Lone
// surrogates, the other reason, make the exact path fail. It reads text
// with encoding/json, an independent reader of the same (standard) JSON.
func usual(text string, topDup bool) bool {
	if strings.Contains(text, "NaN") || strings.Contains(text, "Infinity") {
		return false
	}
	type frame struct {
		obj, wantKey bool
		keys         map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].obj {
			f := stack[n-1]
			if k, isKey := tok.(string); isKey && f.wantKey {
				if f.keys[k] && (n > 1 || topDup) {
					return false
				}
				f.keys[k], f.wantKey = true, false
				continue
			}
			f.wantKey = true
		}
		switch x := tok.(type) {
		case json.Delim:
			if x == '{' || x == '[' {
				if stack = append(stack, &frame{obj: x == '{', wantKey: true, keys: map[string]bool{}}); len(stack) > fastMaxDepth {
					return false
				}
			} else {
				stack = stack[:len(stack)-1]
			}
		case json.Number:
			if !strings.ContainsAny(string(x), ".eE") && len(strings.TrimPrefix(string(x), "-")) > python.IntMaxStrDigits {
				return false
			}
		}
	}
}

func TestDecodeMembersIsExact(t *testing.T) {
	for _, text := range fastCorpus(t) {
		checkFast(t, text)
	}
}

// TestDecodeMembersReadsTheUsual: the request lines of a benchmark (and
// of oslo's HttpCheck) are read in one pass.
func TestDecodeMembersReadsTheUsual(t *testing.T) {
	for _, text := range []string{
		`{"rule":"compute:get","target":{"project_id":"p","id":"req-1"},"creds":{"roles":["member"],"is_admin":false}}`,
		`{"rule": "a", "target": {"b": 1, "a": [1.5, -0, {"y": null, "x": true}]}, "credentials": {"é": "\u00e9\ud83d\ude00"}}`,
		`{"rule": "a", "rule": "b"}`,
	} {
		if _, ok := DecodeMembers(text); !ok {
			t.Errorf("%s: left to the exact path", text)
		}
	}
}

// FuzzDecodeMembers is TestDecodeMembersIsExact on any text.
func FuzzDecodeMembers(f *testing.F) {
	for _, s := range fastCorpus(f) {
		f.Add(s)
	}
	f.Fuzz(checkFast)
}

// BenchmarkDecodeMembers reads a request line as check --batch did
// (exact: LoadJSONObject, then OrderedValue of each member) and does
// (fast: DecodeMembers).
func BenchmarkDecodeMembers(b *testing.B) {
	lines := map[string]string{
		"sorted":   `{"rule":"os_compute_api:servers:show","target":{"id":"req-12345","project_id":"d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f","user_id":"u-1"},"creds":{"domain_id":null,"is_admin":false,"project_id":"d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f","roles":["member","reader"],"system_scope":null,"user_id":"u-1"}}`,
		"unsorted": `{"rule": "os_compute_api:servers:show", "target": {"user_id": "u-1", "project_id": "d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f", "id": "req-12345"}, "creds": {"user_id": "u-1", "project_id": "d4b0c5f8a1e94f5c9a5f3a1b2c3d4e5f", "roles": ["reader", "member"], "is_admin": false, "system_scope": null, "domain_id": null}}`,
	}
	for _, name := range []string{"sorted", "unsorted"} {
		line := []byte(lines[name])
		b.Run(name+"/exact", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := exactMembers(string(line)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := DecodeMembers(string(line)); !ok {
					b.Fatal("not read")
				}
			}
		})
	}
}

// The one-pass reading keeps what it reads apart: a decoded tree shares no
// map or slice with another.
func TestDecodeMembersFreshValues(t *testing.T) {
	ms, ok := DecodeMembers(`{"a": [[1], [2]], "b": {"x": {}, "y": {}}}`)
	if !ok {
		t.Fatal("not read")
	}
	a := ms[0].Value.Value.([]any)
	a[0].([]any)[0] = "changed"
	if a[1].([]any)[0] != json.Number("2") {
		t.Errorf("elements share storage: %v", a)
	}
	b := ms[1].Value.Value.(map[string]any)
	b["x"].(map[string]any)["k"] = 1
	if len(b["y"].(map[string]any)) != 0 {
		t.Errorf("members share storage: %v", b)
	}
}
