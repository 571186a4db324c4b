package policyfile

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/internal/testenv"
)

// realFiles: rule counts from Python (len(json.load(f))) and the position
// of the last key of each file.
var realFiles = []struct {
	file      string
	rules     int
	key       string
	line, col int
}{
	{"cinder-legacy-listformat.json", 61, "consistencygroup:get_all_cgsnapshots", 76, 5},
	{"cinder-legacy.json", 136, "workers:cleanup", 161, 5},
	{"cinder.effective-legacy.json", 167, "volume_extension:default_unset", 168, 3},
	{"cinder.json", 167, "volume_extension:default_unset", 168, 3},
	{"cinder.meta.json", 2, "rules", 3, 3},
	{"glance-legacy-listformat.json", 2, "manage_image_cache", 3, 5},
	{"glance-legacy.json", 48, "add_metadef_tags", 61, 5},
	{"glance.effective-legacy.json", 67, "stores_info_detail", 68, 3},
	{"glance.json", 67, "stores_info_detail", 68, 3},
	{"glance.meta.json", 2, "rules", 3, 3},
	{"keystone-legacy-listformat.json", 90, "identity:remove_endpoint_from_project", 108, 5},
	{"keystone-legacy.json", 167, "identity:get_domain_config_default", 198, 5},
	{"keystone-v3cloudsample-legacy.json", 224, "identity:delete_application_credential", 260, 5},
	{"keystone.effective-legacy.json", 203, "identity:delete_user", 204, 3},
	{"keystone.json", 203, "identity:delete_user", 204, 3},
	{"keystone.meta.json", 2, "rules", 3, 3},
	{"neutron-legacy-listformat.json", 34, "delete_port", 41, 5},
	{"neutron-legacy.json", 225, "delete_floatingip_port_forwarding", 264, 5},
	{"neutron.effective-legacy.json", 365, "remove_subports", 366, 3},
	{"neutron.json", 365, "remove_subports", 366, 3},
	{"neutron.meta.json", 2, "rules", 3, 3},
	{"nova-legacy-listformat.json", 105, "network:delete_dns_domain", 119, 5},
	{"nova-legacy.json", 469, "os_compute_api:os-server-external-events:discoverable", 499, 5},
	{"nova.effective-legacy.json", 214, "os_compute_api:os-volumes-attachments:delete", 215, 3},
	{"nova.json", 214, "os_compute_api:os-volumes-attachments:delete", 215, 3},
	{"nova.meta.json", 2, "rules", 3, 3},
}

func readPolicy(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "policies", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRealPolicyFiles(t *testing.T) {
	for _, tc := range realFiles {
		t.Run(tc.file, func(t *testing.T) {
			data := readPolicy(t, tc.file)
			f, err := Parse(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != "json" || f.Path != tc.file {
				t.Errorf("Format, Path = %q, %q", f.Format, f.Path)
			}
			if len(f.Rules) != tc.rules {
				t.Fatalf("%d rules, Python has %d", len(f.Rules), tc.rules)
			}
			last := f.Rules[len(f.Rules)-1]
			if last.Name != tc.key || last.Line != tc.line || last.Col != tc.col {
				t.Errorf("last rule %q at %d:%d, want %q at %d:%d", last.Name, last.Line, last.Col, tc.key, tc.line, tc.col)
			}
			// Every rule's position points at its quoted key, and every
			// value position at the value's first character.
			lines := strings.Split(string(data), "\n")
			at := func(line, col int) string {
				l := lines[line-1]
				return string([]rune(l)[col-1:])
			}
			seen := map[string]bool{}
			for _, r := range f.Rules {
				if seen[r.Name] {
					t.Errorf("rule %q listed twice", r.Name)
				}
				seen[r.Name] = true
				if r.KeyKind != String {
					t.Errorf("rule %q: key kind %v", r.Name, r.KeyKind)
				}
				if want := strconv.Quote(r.Name); !strings.HasPrefix(at(r.Line, r.Col), want) {
					t.Errorf("rule %q at %d:%d points at %q", r.Name, r.Line, r.Col, at(r.Line, r.Col))
				}
				first := map[Kind]string{String: `"`, List: "[", Map: "{"}[r.Value.Kind]
				if first == "" || !strings.HasPrefix(at(r.Value.Line, r.Value.Col), first) {
					t.Errorf("rule %q: %v value at %d:%d points at %q", r.Name, r.Value.Kind, r.Value.Line, r.Value.Col, at(r.Value.Line, r.Value.Col))
				}
			}

			// The same bytes behind a UTF-8 BOM fail json.loads and load
			// through yaml.safe_load: same rules, same positions (PyYAML
			// does not count the BOM as a column).
			y, err := Parse(tc.file, append([]byte("\ufeff"), data...))
			if err != nil {
				t.Fatalf("YAML path: %v", err)
			}
			if y.Format != "yaml" {
				t.Errorf("BOM file format %q", y.Format)
			}
			if got, want := dumpRules(y.Rules), dumpRules(f.Rules); got != want {
				t.Errorf("YAML path differs from JSON path:\n%s\nvs\n%s", got, want)
			}
		})
	}
}

// dumpRules renders rules with all positions.
func dumpRules(rules []Rule) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString(r.Name + "@" + strconv.Itoa(r.Line) + ":" + strconv.Itoa(r.Col) + "=")
		dumpValue(&b, r.Value)
		b.WriteString("\n")
	}
	return b.String()
}

func dumpValue(b *strings.Builder, v Value) {
	b.WriteString(v.Kind.String() + "@" + strconv.Itoa(v.Line) + ":" + strconv.Itoa(v.Col) + "(" + strconv.Quote(v.Str) + ")")
	for _, it := range v.Items {
		b.WriteString("[")
		dumpValue(b, it)
		b.WriteString("]")
	}
	for _, p := range v.Pairs {
		b.WriteString("{")
		dumpValue(b, p.Key)
		b.WriteString(":")
		dumpValue(b, p.Val)
		b.WriteString("}")
	}
}

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return f
}

func only(t *testing.T, src string) Rule {
	t.Helper()
	f := mustParse(t, src)
	if len(f.Rules) != 1 {
		t.Fatalf("Parse(%q): %d rules, want 1", src, len(f.Rules))
	}
	return f.Rules[0]
}

// TestYAMLTraps covers the YAML scalar traps of the reference (§8).
func TestYAMLTraps(t *testing.T) {
	cases := []struct {
		src       string
		kind      Kind
		str       string
		truthy    bool
		iterable  bool
		line, col int
	}{
		{"a: !", Null, "None", false, false, 1, 4}, // the non-specific tag: null, i.e. ALLOW
		{"a: no", Bool, "False", false, false, 1, 4},
		{"a: off", Bool, "False", false, false, 1, 4},
		{"a: ~", Null, "None", false, false, 1, 4},
		{"a:", Null, "None", false, false, 1, 3},
		{"a: 0", Int, "0", false, false, 1, 4},
		{"a: yes", Bool, "True", true, false, 1, 4},
		{"a: on", Bool, "True", true, false, 1, 4},
		{"a: true", Bool, "True", true, false, 1, 4},
		{"a: \"@\"", String, "@", true, true, 1, 4},
		{"a: '!'", String, "!", true, true, 1, 4},
		{"a: role:admin", String, "role:admin", true, true, 1, 4},
		{"a: \"\"", String, "", false, true, 1, 4},
		{"a: []", List, "", false, true, 1, 4},
		{"a: {}", Map, "", false, true, 1, 4},
		{"a: 0.0", Float, "0.0", false, false, 1, 4},
		{"a: .nan", Float, "nan", true, false, 1, 4},
		{"a: 1.5", Float, "1.5", true, false, 1, 4},
		{"a: 0x1F", Int, "31", true, false, 1, 4},
		{"a: 017", Int, "15", true, false, 1, 4},
		{"a: 1:30", Int, "90", true, false, 1, 4},
		{"a: y", String, "y", true, true, 1, 4}, // YAML 1.1 y/n are not booleans in PyYAML
		{"a: ! 12", Int, "12", true, false, 1, 4},
		{"a: ! \"12\"", Int, "12", true, false, 1, 4},
		{"a: !!str 1", String, "1", true, true, 1, 4},
		{"a: 2001-12-14", Other, "datetime.date(2001, 12, 14)", true, false, 1, 4},
		{"a: !!binary ''", Other, "b''", false, true, 1, 4},
		{"a: !!binary aGk=", Other, "b'hi'", true, true, 1, 4},
	}
	for _, tc := range cases {
		r := only(t, tc.src)
		v := r.Value
		if v.Kind != tc.kind || v.Str != tc.str || v.Truthy != tc.truthy || v.Line != tc.line || v.Col != tc.col {
			t.Errorf("%q: got %v %q truthy=%v at %d:%d, want %v %q truthy=%v at %d:%d",
				tc.src, v.Kind, v.Str, v.Truthy, v.Line, v.Col, tc.kind, tc.str, tc.truthy, tc.line, tc.col)
		}
		if _, ok := v.Iter(); ok != tc.iterable {
			t.Errorf("%q: iterable = %v, want %v", tc.src, ok, tc.iterable)
		}
		if r.Name != "a" || r.KeyKind != String || r.Line != 1 || r.Col != 1 {
			t.Errorf("%q: rule %q %v at %d:%d", tc.src, r.Name, r.KeyKind, r.Line, r.Col)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"a: @", 1, 4, "found character '@' that cannot start any token"},
		{"a: role:x\nb: @admin", 2, 4, "found character '@' that cannot start any token"},
		{"a: `x`", 1, 4, "found character '`' that cannot start any token"},
		{"a: b\n  c: d", 2, 4, "mapping values are not allowed here"},
		{"a:\tb", 1, 3, "found character '\\t' that cannot start any token"},
		{"a: b\t", 1, 5, "found character '\\t' that cannot start any token"},
		{"  \n\t\n", 2, 1, "found character '\\t' that cannot start any token"},
		{"- a\n- b", 1, 1, "top-level value is a list"},
		{"[\"role:a\"]", 1, 1, "top-level value is a list"},
		{"\"role:a\"", 1, 1, "top-level value is a string"},
		{"true", 1, 1, "top-level value is a bool"},
		{"a: b\n---\nc: d", 2, 1, "expected a single document in the stream"},
		{"a: *x", 1, 4, "found undefined alias 'x'"},
		{"a: &x 1\nb: &x 2", 2, 4, "found duplicate anchor 'x'"},
		{"a: !foo x", 1, 4, "could not determine a constructor for the tag '!foo'"},
		{"a: !!python/object:os.system x", 1, 4, "could not determine a constructor"},
		{"a: =", 1, 4, "could not determine a constructor for the tag 'tag:yaml.org,2002:value'"},
		{"a: 2001-02-30", 1, 4, "day is out of range for month"},
		{"[a]: b", 1, 1, "found unhashable key"},
		{"a: 'x", 1, 6, "found unexpected end of stream"},
		{"a: x\x01", 1, 5, "special characters are not allowed"},
		{"a: \xff", 1, 4, "invalid UTF-8"},
		{"{\"a\": " + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "}", 1, 996, "maximum recursion depth"},
		{"a: " + strings.Repeat("[", 600) + strings.Repeat("]", 600), 1, 493, "maximum recursion depth"},
		{"a: " + strings.Repeat("1", 4301), 1, 4, "Exceeds the limit (4300 digits)"},
	}
	for _, tc := range cases {
		_, err := Parse("p.yaml", []byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not an *Error", tc.src, err)
			continue
		}
		if pe.Path != "p.yaml" || pe.Line != tc.line || pe.Col != tc.col || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%q: got %s, want p.yaml:%d:%d: ...%s...", tc.src, pe, tc.line, tc.col, tc.msg)
		}
		if want := "p.yaml:" + strconv.Itoa(pe.Line) + ":" + strconv.Itoa(pe.Col) + ": " + pe.Msg; pe.Error() != want {
			t.Errorf("Error() = %q, want %q", pe.Error(), want)
		}
	}
}

// TestEmpty: `parsed or {}` turns every falsy document into no rules.
func TestEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# comments only\n# more\n", "---\n", "---\n...\n", "null", "~",
		"{}", "[]", "0", "false", "\"\"", "''", "0.0", "!!set {}", "!!binary ''", " \n \n"} {
		f := mustParse(t, src)
		if len(f.Rules) != 0 {
			t.Errorf("%q: %d rules", src, len(f.Rules))
		}
	}
	if f := mustParse(t, "{}"); f.Format != "json" {
		t.Errorf("{}: format %q", f.Format)
	}
	if f := mustParse(t, "# c\n"); f.Format != "yaml" {
		t.Errorf("comment: format %q", f.Format)
	}
}

func TestAlmostJSON(t *testing.T) {
	for _, src := range []string{`{'a': 'role:x',}`, `{a: 'role:x'}`, `{"a": "role:x",}`, "{\"a\": \"role:x\"} # c", "{\n  a: role:x\n}"} {
		f := mustParse(t, src)
		if f.Format != "yaml" || len(f.Rules) != 1 || f.Rules[0].Name != "a" || f.Rules[0].Value.Str != "role:x" || f.Rules[0].Value.Kind != String {
			t.Errorf("%q: %+v", src, f)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	for _, src := range []string{
		"a: x\nb: y\na: z\n",
		"{\"a\": \"x\",\n\"b\": \"y\",\n\"a\": \"z\"}",
	} {
		f := mustParse(t, src)
		if len(f.Rules) != 2 {
			t.Fatalf("%q: %d rules", src, len(f.Rules))
		}
		a, b := f.Rules[0], f.Rules[1]
		if a.Name != "a" || a.Value.Str != "z" || a.Line != 3 || a.Col != 1 || a.Value.Line != 3 || b.Name != "b" {
			t.Errorf("%q: %+v %+v", src, a, b)
		}
	}
	// Nested maps keep the first key (position) and the last value; keys
	// compare like Python's (1 == 1.0 == True).
	f := mustParse(t, "m:\n  1: a\n  k: b\n  true: c\n  1.0: d\n")
	m := f.Rules[0].Value
	if len(m.Pairs) != 2 {
		t.Fatalf("pairs: %+v", m.Pairs)
	}
	p := m.Pairs[0]
	if p.Key.Kind != Int || p.Key.Str != "1" || p.Key.Line != 2 || p.Val.Str != "d" || p.Val.Line != 5 {
		t.Errorf("pair 0: %+v", p)
	}
	// Non-string keys are rules oslo can never enforce by name.
	f = mustParse(t, "1: a\n\"1\": b\n~: c\n2001-12-14: d\n1.5: e\n")
	var got []string
	for _, r := range f.Rules {
		got = append(got, r.Name+"/"+r.KeyKind.String())
	}
	if want := "1/Int 1/String None/Null 2001-12-14/Other 1.5/Float"; strings.Join(got, " ") != want {
		t.Errorf("rules %v, want %s", got, want)
	}
}

func TestPositions(t *testing.T) {
	// JSON: columns count code points; \r\n is one line break.
	f := mustParse(t, "{\"é\": \"ü\", \"b\": [1,\r\n  {\"k\": 1, \"j\": 2, \"k\": 3}]}")
	if r := f.Rules[1]; r.Name != "b" || r.Line != 1 || r.Col != 12 || r.Value.Line != 1 || r.Value.Col != 17 {
		t.Errorf("b: %d:%d value %d:%d", r.Line, r.Col, r.Value.Line, r.Value.Col)
	}
	m := f.Rules[1].Value.Items[1]
	if m.Line != 2 || m.Col != 3 || len(m.Pairs) != 2 {
		t.Fatalf("map: %+v", m)
	}
	if k := m.Pairs[0]; k.Key.Str != "k" || k.Key.Col != 4 || k.Val.Str != "3" || k.Val.Col != 25 {
		t.Errorf("k: %+v", k)
	}

	// YAML: aliases have the alias position, their items the anchored ones;
	// properties are part of the node.
	f = mustParse(t, "x: &a [r1, r2]\ny:  *a\nz: !!str 1\n\"q\": |\n  text\n")
	y := f.Rules[1].Value
	if y.Line != 2 || y.Col != 5 || y.Items[1].Line != 1 || y.Items[1].Col != 12 {
		t.Errorf("alias: %+v", y)
	}
	if z := f.Rules[2].Value; z.Line != 3 || z.Col != 4 {
		t.Errorf("tagged: %d:%d", z.Line, z.Col)
	}
	if q := f.Rules[3]; q.Line != 4 || q.Col != 1 || q.Value.Str != "text\n" || q.Value.Line != 4 || q.Value.Col != 6 {
		t.Errorf("literal: %+v", q)
	}
	// A lone \r is a line break (Python's universal newlines).
	f = mustParse(t, "a: 1\rb: 2\r\nc: 3")
	if c := f.Rules[2]; c.Line != 3 || c.Col != 1 {
		t.Errorf("c: %d:%d", c.Line, c.Col)
	}
	// Merged keys keep the position they have in the merged mapping.
	f = mustParse(t, "base: &b {x: 1}\n<<: *b\nz: 2\n")
	if x := f.Rules[0]; x.Name != "x" || x.Line != 1 || x.Col != 11 {
		t.Errorf("merged x: %+v", x)
	}
}

func TestIter(t *testing.T) {
	f := mustParse(t, "l: [a, [b]]\nm: {k1: 1, k2: 2}\ns: \"ab\u00e9\"\ni: 5\nd: 2001-12-14\nb: !!binary AAE=\nn: ~\n")
	get := func(name string) Value {
		for _, r := range f.Rules {
			if r.Name == name {
				return r.Value
			}
		}
		t.Fatalf("no rule %q", name)
		return Value{}
	}
	strs := func(vs []Value) string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Kind.String()+":"+v.Str)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"l", "String:a,List:", true},
		{"m", "String:k1,String:k2", true},
		{"s", "String:a,String:b,String:é", true},
		{"i", "", false},
		{"d", "", false},
		{"b", "Int:0,Int:1", true},
		{"n", "", false},
	} {
		items, ok := get(tc.name).Iter()
		if ok != tc.ok || strs(items) != tc.want {
			t.Errorf("%s: Iter() = %s, %v; want %s, %v", tc.name, strs(items), ok, tc.want, tc.ok)
		}
	}
	// Lone surrogates (JSON escapes) are single characters.
	r := only(t, `{"s": "\ud800x\udc00"}`)
	items, _ := r.Value.Iter()
	if len(items) != 3 || utf8.ValidString(r.Value.Str) {
		t.Errorf("surrogates: %q -> %d items", r.Value.Str, len(items))
	}
	if got := python.ASCIIReprWTF8(r.Value.Str); got != `'\ud800x\udc00'` {
		t.Errorf("surrogates rendered %s", got)
	}
}
