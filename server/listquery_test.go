package server

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/testenv"
)

func TestParseGlanceQuery(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want [][2]string // nil: not UTF-8
	}{
		{"", [][2]string{}},
		{"a=1&b=2", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"a=1;b=2&&c", [][2]string{{"a", "1"}, {"b", "2"}, {"c", ""}}},
		{"a=b=c", [][2]string{{"a", "b=c"}}},
		{"n=with+space&m=%20%2B", [][2]string{{"n", "with space"}, {"m", " +"}}},
		{"a=%zz%4", [][2]string{{"a", "%zz\x04"}}},
		{"a=%+4", [][2]string{{"a", "\x04"}}}, // int(" 4", 16)
		{"a=%-0", [][2]string{{"a", "\x00"}}},
		{"a=%-1", [][2]string{{"a", "%-1"}}},
		{"a=%", [][2]string{{"a", "%"}}},
		{"%C3%A9=%E2%82%AC", [][2]string{{"é", "€"}}},
		{"a=%ff", nil},
		{"a=\xff", nil},
	} {
		p, ok := parseGlanceQuery(c.raw)
		if c.want == nil {
			if ok {
				t.Errorf("%q: parsed as %v, want not UTF-8", c.raw, p)
			}
			continue
		}
		got := [][2]string{}
		for _, kv := range p {
			got = append(got, [2]string{kv.key, kv.value})
		}
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q %v, want %q", c.raw, got, ok, c.want)
		}
	}
}

// The multi-dict as WebOb's: get the last, pop the first, set at the end,
// dict in first-appearance order with the last value.
func TestGlanceParams(t *testing.T) {
	p, _ := parseGlanceQuery("a=1&b=2&a=3&c=4")
	if v, _ := p.get("a"); v != "3" {
		t.Errorf("get: %q", v)
	}
	if v, _ := p.pop("a"); v != "1" {
		t.Errorf("pop: %q", v)
	}
	if v, _ := p.get("a"); v != "3" {
		t.Errorf("get after pop: %q", v)
	}
	p.set(glanceParam{key: "b", value: "9"})
	if got := p.urlencode(); got != "a=3&c=4&b=9" {
		t.Errorf("after set: %s", got)
	}
	q, _ := parseGlanceQuery("x=1&y=2&x=3&z=%20~%2F")
	if got := q.dict().urlencode(); got != "x=3&y=2&z=+~%2F" {
		t.Errorf("dict: %s", got)
	}
}

func TestPyInt(t *testing.T) {
	for s, want := range map[string]string{
		"0": "0", " 12 ": "12", "+5": "5", "-5": "-5", "1_000": "1000", "007": "7",
		"99999999999999999999": "99999999999999999999", "\u0663\u0664": "34", "\u2003 7\t": "7",
		"": "", "1__0": "", "_1": "", "1_": "", "0x10": "", "1.5": "", "- 1": "", "١_٢": "12",
	} {
		n, ok := pyInt(s)
		got := ""
		if ok {
			got = n.String()
		}
		if got != want {
			t.Errorf("int(%q): %q, want %q", s, got, want)
		}
	}
}

func TestParseISOTime(t *testing.T) {
	for s, want := range map[string]string{
		"2024-01-02T03:04:05Z":             "2024-01-02T03:04:05.000000",
		"2024-01-02T03:04:05+01:00":        "2024-01-02T02:04:05.000000",
		"2024-01-02T03:04:05-0130":         "2024-01-02T04:34:05.000000",
		"2024-01-02 03:04:05.1234567":      "2024-01-02T03:04:05.123456",
		"2024-01-02T03:04:05,5":            "2024-01-02T03:04:05.500000",
		"2024-01-02":                       "2024-01-02T00:00:00.000000",
		"2024-1-2":                         "2024-01-02T00:00:00.000000",
		"2024":                             "2024-01-01T00:00:00.000000",
		"20240102T0304":                    "2024-01-02T03:04:00.000000",
		"2024-01-02T03":                    "2024-01-02T03:00:00.000000",
		"2024-01-02T03:04:05+05":           "2024-01-01T22:04:05.000000",
		"2024-01-02\n":                     "2024-01-02T00:00:00.000000",
		"2024-01-02T03:04:05.999999999999": "2024-01-02T03:04:05.999999",
		"202401":                           "",
		"2024-13-01":                       "",
		"2023-02-29":                       "",
		"2024-01-02T24:00":                 "",
		"2024-01-02T03:04:05+24:00":        "",
		"0000-01-01":                       "",
		"0001-01-01T00:00:00+01:00":        "",
		"2024-01-02T03:04:05.9999999999999999999999999999":  "2024-01-02T03:04:05.999999",
		"2024-01-02T03:04:05.99999999999999999999999999999": "",
		"2024-01-02X": "",
		"bad":         "",
	} {
		tm, ok := parseISOTime(s)
		got := ""
		if ok {
			got = tm.Format("2006-01-02T15:04:05.000000")
		}
		if got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		msg  string
	}{
		{"a,b", []string{"a", "b"}, ""},
		{"", []string{}, ""},
		{",", []string{""}, ""},
		{"a,,b", []string{"a", "", "b"}, ""},
		{`"a,b",c`, []string{"a,b", "c"}, ""},
		{`"a\"b",c`, []string{`a\"b`, "c"}, ""},
		{`a,"b`, nil, `Invalid filter value a,"b. The quote is not closed.`},
		{`a"b"`, nil, `Invalid filter value a"b". There is no comma before opening quotation mark.`},
		{`"a"b`, nil, `Invalid filter value "a"b. There is no comma after closing quotation mark.`},
	} {
		got, msg := splitQuoted(c.in)
		if msg != c.msg || c.msg == "" && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q %q, want %q %q", c.in, got, msg, c.want, c.msg)
		}
	}
}

// parseV2List turns a query into the store's options as Glance's
// deserializer, controller and image_get_all do.
func TestParseV2List(t *testing.T) {
	readable := func(name string) bool { return name != "secret" }
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		query   string
		admin   bool
		want    imagestore.ListOptions // Project p, Limit 25 and default Sort unless given
		nothing bool
		msg     string
	}{
		{query: "", want: imagestore.ListOptions{}},
		{query: "visibility=all&member_status=all", want: imagestore.ListOptions{Visibility: "all", MemberStatus: "all"}},
		{query: "visibility=", nothing: true},
		{query: "limit=2000", want: imagestore.ListOptions{Limit: 1000}},
		{query: "name=in:a,b&status=eq:active", want: imagestore.ListOptions{Where: []imagestore.Cond{
			{Column: "name", Op: "in", Value: []string{"a", "b"}}, {Column: "status", Op: "=", Value: "active"}}}},
		{query: "created_at=gte:2024-01-02T03:04:05Z&size_max=9", want: imagestore.ListOptions{Where: []imagestore.Cond{
			{Column: "created_at", Op: ">=", Value: at}, {Column: "size", Op: "<=", Value: int64(9)}}}},
		{query: "tag=a&tag=b&os_distro=x&protected=true", want: imagestore.ListOptions{Tags: []string{"a", "b"},
			Properties: []imagestore.Prop{{Name: "os_distro", Value: "x"}}, Where: []imagestore.Cond{{Column: "protected", Op: "=", Value: true}}}},
		{query: "tags=ab", want: imagestore.ListOptions{Tags: []string{"a", "b"}}},
		{query: "owner=x&checksum=c&checksum=d", want: imagestore.ListOptions{Where: []imagestore.Cond{
			{Column: "checksum", Op: "=", Value: "c"}, {Column: "owner", Op: "=", Value: "x"}, {Column: "checksum", Op: "=", Value: "d"}}}},
		{query: "secret=1", nothing: true},
		{query: "members=x", nothing: true},
		{query: "size_min=99999999999999999999", want: imagestore.ListOptions{Where: []imagestore.Cond{
			{Column: "size", Op: ">=", Value: float64(1e20)}}}},
		{query: "save=1", nothing: true},
		{query: "sort_key=name&sort_key=size&sort_dir=asc", want: imagestore.ListOptions{Sort: []imagestore.SortKey{
			{Column: "name"}, {Column: "size"}, {Column: "created_at"}, {Column: "id"}}}},
		{query: "sort=id:asc,name", want: imagestore.ListOptions{Sort: []imagestore.SortKey{
			{Column: "id"}, {Column: "name", Desc: true}, {Column: "created_at", Desc: true}}}},
		{query: "size_min=x&created_at=bad", msg: "Unable to filter on a range with a non-numeric value."},
		{query: "foo_min=1", msg: "Unable to filter on a range of foo."},
		{query: "changes-since=", msg: `The "changes-since" filter is no longer available on v2.`},
		{query: "os_hidden=", msg: "Invalid value '' for 'os_hidden' filter. Valid values are 'true' or 'false'."},
	} {
		p, _ := parseGlanceQuery(c.query)
		lr, msg := parseV2List(p, "p", c.admin, readable)
		if msg != c.msg {
			t.Errorf("%q: message %q, want %q", c.query, msg, c.msg)
			continue
		}
		if msg != "" {
			continue
		}
		want := c.want
		want.Project, want.Admin = "p", c.admin
		if want.Limit == 0 {
			want.Limit = 25
		}
		if want.MemberStatus == "" {
			want.MemberStatus = "accepted"
		}
		if want.Sort == nil {
			want.Sort = []imagestore.SortKey{{Column: "created_at", Desc: true}, {Column: "id", Desc: true}}
		}
		hidden := imagestore.Cond{Column: "os_hidden", Op: "=", Value: false}
		want.Where = append([]imagestore.Cond{hidden}, want.Where...)
		if lr.nothing != c.nothing {
			t.Errorf("%q: nothing %v, want %v", c.query, lr.nothing, c.nothing)
		}
		if !c.nothing && !reflect.DeepEqual(lr.opts, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.query, lr.opts, want)
		}
	}
}

// The query parsers against the code Glance runs: WebOb's parse_qsl_text,
// Python's int(), oslo.utils' parse_isotime and normalize_time, and
// Glance's own split_filter_op and split_filter_value_for_quotes, on
// random inputs made of the pieces that matter to each.
func TestListQueryAgainstGlance(t *testing.T) {
	testenv.Long(t)
	py := testenv.Python(t, "webob", "iso8601", "oslo_utils")
	src := testenv.GlanceSource(t)
	rng := rand.New(rand.NewPCG(11, 12))
	gen := func(pieces []string, n int) string {
		var b strings.Builder
		for range 1 + rng.IntN(n) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	type query struct {
		Kind string `json:"kind"`
		S    string `json:"s,omitempty"`
		Hex  string `json:"hex,omitempty"`
	}
	var qs []query
	for range 4000 {
		raw := gen([]string{"a", "=", "&", ";", "+", "%", "2", "0", "f", "F", "-", " ", "%C3", "%A9", "\xff", "%ff", "é", "%2"}, 12)
		qs = append(qs, query{Kind: "query", Hex: hex.EncodeToString([]byte(raw))})
		qs = append(qs, query{Kind: "int", S: gen([]string{"0", "1", "9", "_", "-", "+", " ", "\t", "\u0663", "\u2003", "x", "\u00b2", "\u1d7ce"}, 6)})
		iso := gen([]string{"2024", "0001", "9999", "-", "01", "1", "12", "13", "29", "31", "T", " ", ":", "00", "23", "24", "59", "60",
			".", ",", "5", "123456789", "Z", "+", "-", "05", "0530", "23:59", "\n", "x"}, 10)
		qs = append(qs, query{Kind: "iso", S: iso})
		// Mostly well formed: the ISO 8601 shapes, with edge values.
		pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
		iso = pick("2024", "0001", "9999", "2023", "1900") + pick("", "-01", "-2", "02", "-12", "13", "-00") +
			pick("", "-29", "-31", "30", "-1", "15") +
			pick("", "T"+pick("00", "23", "24")+pick("", ":59", "30", ":60")+pick("", ":05", "59", ":7")+
				pick("", ".5", ",123456", ".9999999", "."+strings.Repeat("9", 30))+pick("", "Z", "+01:00", "-0530", "+23:59", "+24:00", "-12", "+0"),
				" 12:00:00") + pick("", "", "", "\n", "x")
		qs = append(qs, query{Kind: "iso", S: iso})
		qs = append(qs, query{Kind: "op", S: gen([]string{"gt", "in", "eq", ":", "2024-01-02", "T03", ":04", "Z", "a", ","}, 5)})
		qs = append(qs, query{Kind: "quotes", S: gen([]string{"a", ",", `"`, `\`, `\"`, " ", "\n", "é"}, 8)})
	}
	var in strings.Builder
	for _, q := range qs {
		j, _ := json.Marshal(q)
		in.Write(j)
		in.WriteByte('\n')
	}
	cmd := exec.Command(py, "testdata/glance_filters.py", src)
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	n, bad := 0, 0
	parsed := map[string]int{} // inputs Python reads without error, by kind
	for ; sc.Scan(); n++ {
		var want struct {
			OK    json.RawMessage `json:"ok"`
			Error *string         `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil || n >= len(qs) {
			t.Fatalf("answer %d: %q: %v", n, sc.Text(), err)
		}
		q := qs[n]
		if want.Error == nil {
			parsed[q.Kind]++
		}
		var got any
		var gotErr *string
		fail := func(msg string) { gotErr = &msg }
		switch q.Kind {
		case "query":
			raw, _ := hex.DecodeString(q.Hex)
			p, ok := parseGlanceQuery(string(raw))
			if !ok {
				fail("")
				break
			}
			pairs := [][2]string{}
			for _, kv := range p {
				pairs = append(pairs, [2]string{kv.key, kv.value})
			}
			got = pairs
		case "int":
			if v, ok := pyInt(q.S); ok {
				got = v.String()
			} else {
				fail("")
			}
		case "iso":
			if v, ok := parseISOTime(q.S); ok {
				got = v.Format("2006-01-02T15:04:05.000000")
			} else {
				fail("")
			}
		case "op":
			op, v := splitFilterOp(q.S)
			got = []string{op, v}
		case "quotes":
			v, msg := splitQuoted(q.S)
			if msg != "" {
				fail(msg)
			} else {
				got = v
			}
		}
		gotJSON, _ := json.Marshal(got)
		same := (want.Error == nil) == (gotErr == nil)
		if same && want.Error != nil {
			same = *want.Error == *gotErr
		}
		if same && want.Error == nil {
			var a, b any
			_ = json.Unmarshal(want.OK, &a)
			_ = json.Unmarshal(gotJSON, &b)
			same = reflect.DeepEqual(a, b)
		}
		if !same {
			if bad++; bad <= 20 {
				w := string(want.OK)
				if want.Error != nil {
					w = "error " + *want.Error
				}
				g := string(gotJSON)
				if gotErr != nil {
					g = "error " + *gotErr
				}
				t.Errorf("%s %q%s: ours %s, Python %s", q.Kind, q.S, q.Hex, g, w)
			}
		}
	}
	if n != len(qs) {
		t.Fatalf("%d answers for %d inputs", n, len(qs))
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, n)
	}
	for kind, k := range parsed {
		// Each kind is exercised both ways.
		if k == 0 || k == len(qs)/6 && kind != "op" {
			t.Errorf("%s: every input or none parses (%d)", kind, k)
		}
	}
	t.Logf("%d inputs, the same answers; parsed without error: %v", n, parsed)
}

// FuzzParseGlanceQuery: no raw query makes the listing parsers panic, and
// a parsed query is printed back by urlencode and parses to the same pairs.
func FuzzParseGlanceQuery(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "a=%zz;b", "name=in:%22a,b%22,c", "sort=name:asc,size", "x=%ff", "created_at=gt:2024-01-02T03:04:05%2B01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, ok := parseGlanceQuery(raw)
		if !ok {
			return
		}
		again, ok := parseGlanceQuery(p.urlencode())
		if !ok || len(again) != len(p) {
			t.Fatalf("%q: %v, then %v", raw, p, again)
		}
		for i := range p {
			if p[i].key != again[i].key || p[i].value != again[i].value {
				t.Fatalf("%q: %v, then %v", raw, p, again)
			}
		}
		_, _ = parseV2List(p, "p", false, func(string) bool { return true })
		_, _ = parseV1List(p, "p", true, func(string) bool { return true })
		for _, kv := range p {
			_, _ = parseISOTime(kv.value)
			_, _ = splitQuoted(kv.value)
			_, _ = pyInt(kv.value)
		}
	})
}
