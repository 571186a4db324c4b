package casegen

import (
	"encoding/json"
	"fmt"

	"github.com/oslorego/oslorego/policy_test/oracle"
)

// fileText is a file-mode case whose policy file holds text verbatim.
func fileText(text, rule string, creds any) oracle.Case {
	return oracle.Case{Mode: "file", PolicyFileText: sp(text), Rule: rule, Target: M{}, Creds: creds}
}

type jsonRaw = json.RawMessage

func overlays(vs ...any) []jsonRaw {
	out := make([]jsonRaw, len(vs))
	for i, v := range vs {
		out[i] = oracle.MustJSON(v)
	}
	return out
}

// fileArea: reference §8 (loading, files, overlays, registered defaults).
func fileArea() *area {
	a := newArea("file")
	ra := roles("a")
	none := roles()
	type ft struct {
		text  string
		rule  string
		creds []M
		note  string
	}
	texts := []ft{
		// JSON
		{`{"r": "role:a"}`, "r", []M{ra, none}, "JSON file"},
		{`{"r": "role:a", "r": "@"}`, "r", []M{none}, "JSON duplicate keys: last wins"},
		{`{"r": [["role:a"]]}`, "r", []M{ra, none}, "JSON list-format rule"},
		{`{"r": ""}`, "r", []M{none}, "JSON empty rule -> allow"},
		{`{"r": null}`, "r", []M{none}, "JSON null rule -> allow"},
		{`{"r": true, "s": "@"}`, "s", []M{none}, "JSON true value aborts the whole load"},
		{`{"r": NaN}`, "r", []M{none}, "JSON NaN (accepted by Python json) is a truthy float -> TypeError"},
		{`{"r": "role:a"} `, "r", []M{ra}, "trailing whitespace"},
		{"\ufeff{\"r\": \"role:a\"}", "r", []M{ra}, "UTF-8 BOM: json.loads rejects, YAML accepts"},
		{`[]`, "r", []M{none}, "top-level empty list is falsy -> {} -> no rules -> False"},
		{`["r"]`, "r", []M{none}, "top-level non-empty list -> AttributeError"},
		{`"r"`, "r", []M{none}, "top-level string -> AttributeError"},
		{`5`, "r", []M{none}, "top-level number -> AttributeError"},
		{`null`, "r", []M{none}, "top-level null -> {}"},
		{`{}`, "r", []M{none}, "empty object -> no rules -> False"},
		{``, "r", []M{none}, "empty file -> {} -> False"},
		// almost-JSON parsed by YAML
		{`{'r': 'role:a'}`, "r", []M{ra, none}, "single quotes (YAML)"},
		{`{r: "role:a"}`, "r", []M{ra, none}, "bare key (YAML)"},
		{`{"r": "role:a",}`, "r", []M{ra, none}, "trailing comma (YAML)"},
		{"{\n  \"r\": \"role:a\",\n  \"s\": \"@\",\n}", "r", []M{ra, none}, "multi-line trailing comma (YAML)"},
		{`{"r": "role:a" "s": "@"}`, "r", []M{ra}, "missing comma -> YAML error -> ValueError"},
		// YAML
		{"\"r\": \"role:a\"\n", "r", []M{ra, none}, "YAML quoted"},
		{"r: role:a\n", "r", []M{ra, none}, "YAML plain scalar with a colon"},
		{"r: role:a or role:b\n", "r", []M{roles("b"), none}, "YAML plain scalar with spaces"},
		{"r: not role:a\n", "r", []M{ra, none}, "YAML plain 'not role:a'"},
		{"r: role:a # comment\n", "r", []M{ra, none}, "YAML comment stripped"},
		{"r: role:a#x\n", "r", []M{roles("a#x"), ra}, "'#' without a space is not a comment"},
		{"r: >-\n  role:a or\n  role:b\n", "r", []M{roles("b")}, "folded scalar"},
		{"r: |\n  role:a\n", "r", []M{ra}, "literal block keeps a trailing newline (tokenizer ignores it)"},
		{"r: \"role:a\"\nr: \"@\"\n", "r", []M{none}, "YAML duplicate keys: last wins"},
		{"r: &x role:a\ns: *x\n", "s", []M{ra, none}, "anchors and aliases"},
		// YAML scalar traps
		{"r: !\n", "r", []M{none}, "unquoted '!' is a tag with a null value -> ALLOW"},
		{"r: \"!\"\n", "r", []M{none}, "quoted '!' -> deny"},
		{"r: '!'\n", "r", []M{none}, "single-quoted '!' -> deny"},
		{"r: ! role:a\n", "r", []M{ra, none}, "non-specific tag on a plain scalar keeps the string"},
		{"r: !foo role:a\n", "r", []M{ra}, "unknown tag -> constructor error -> ValueError"},
		{"r: no\n", "r", []M{none}, "no -> false -> allow"},
		{"r: No\n", "r", []M{none}, "No -> false -> allow"},
		{"r: NO\n", "r", []M{none}, "NO -> false -> allow"},
		{"r: off\n", "r", []M{none}, "off -> false -> allow"},
		{"r: false\n", "r", []M{none}, "false -> allow"},
		{"r: ~\n", "r", []M{none}, "~ -> null -> allow"},
		{"r:\n", "r", []M{none}, "empty value -> null -> allow"},
		{"r: null\n", "r", []M{none}, "null -> allow"},
		{"r: Null\n", "r", []M{none}, "Null -> allow"},
		{"r: 0\n", "r", []M{none}, "0 -> allow"},
		{"r: 0.0\n", "r", []M{none}, "0.0 -> allow"},
		{"r: []\n", "r", []M{none}, "[] -> allow"},
		{"r: {}\n", "r", []M{none}, "{} -> allow"},
		{"r: [[]]\n", "r", []M{none}, "[[]] -> deny"},
		{"r: 'no'\n", "r", []M{none}, "quoted 'no' is a colon-less check -> deny"},
		{"r: y\n", "r", []M{none}, "y is a string in PyYAML (YAML 1.1 bool list excludes it) -> deny"},
		{"r: yes\ns: \"@\"\n", "s", []M{none}, "yes -> true -> TypeError aborts the load"},
		{"r: on\ns: \"@\"\n", "s", []M{none}, "on -> true -> TypeError"},
		{"r: true\ns: \"@\"\n", "s", []M{none}, "true -> TypeError"},
		{"r: True\n", "r", []M{none}, "True -> TypeError"},
		{"r: 1\n", "r", []M{none}, "1 -> TypeError"},
		{"r: 0x10\n", "r", []M{none}, "0x10 -> int 16 -> TypeError"},
		{"r: 1.5\n", "r", []M{none}, "1.5 -> TypeError"},
		{"r: .inf\n", "r", []M{none}, ".inf -> TypeError"},
		{"r: 2001-01-01\n", "r", []M{none}, "date -> TypeError"},
		{"r: @\n", "r", []M{none}, "unquoted @ -> ScannerError -> ValueError"},
		{"r: \"@\"\n", "r", []M{none}, "quoted @ -> allow"},
		{"r: %(x)s\n", "r", []M{none}, "plain scalar cannot start with % -> ScannerError"},
		{"r: role: a\n", "r", []M{ra}, "': ' inside a plain value -> YAML error"},
		{"r: [role:a]\n", "r", []M{ra, none}, "flow sequence with a plain 'role:a'"},
		{"r: [[role:a, role:b]]\n", "r", []M{roles("a", "b"), ra}, "flow list of lists"},
		{"r:\n  - - role:a\n  - - role:b\n", "r", []M{roles("b"), none}, "block list of lists"},
		{"r:\n  role:a: 1\n", "r", []M{ra, none}, "dict value iterates keys"},
		{"r: !!str 1\n", "r", []M{none}, "!!str 1 -> '1' colon-less -> deny"},
		{"r: \"role:a\"\n\ts: x\n", "r", []M{ra}, "tab indentation -> YAML error"},
		{"- r\n", "r", []M{none}, "top-level YAML list -> AttributeError"},
		{"---\nr: \"@\"\n", "r", []M{none}, "document start marker"},
		{"r: \"@\"\n---\ns: \"@\"\n", "r", []M{none}, "two YAML documents -> error"},
		{"# only a comment\n", "r", []M{none}, "comment-only file -> {}"},
		{"r: \"role:a\"\n\"\": \"@\"\n", "", []M{none}, "empty rule name"},
		{"? r\n: \"@\"\n", "r", []M{none}, "explicit key syntax"},
		{"1: \"@\"\n", "1", []M{none}, "integer key 1: enforce('1') does not find int key 1 -> default"},
		{"true: \"@\"\n", "True", []M{none}, "bool key: enforce('True') misses"},
	}
	for _, t := range texts {
		for _, c := range t.creds {
			a.add(fmt.Sprintf("§8 %s; file %s; %v", t.note, q(t.text), c["roles"]), fileText(t.text, t.rule, c))
		}
	}
	// JSON written from rules (oracle json.dump of "rules").
	a.add("§8 rules written as policy.json", oracle.Case{Mode: "file", Rules: R("r", "role:a", "default", "!"), Rule: "r", Target: M{}, Creds: ra})
	a.add("§8 unknown name -> file's default rule", oracle.Case{Mode: "file", Rules: R("r", "role:a", "default", "@"), Rule: "zzz", Target: M{}, Creds: none})
	a.add("§8 default_rule overridden in file mode", oracle.Case{Mode: "file", Rules: R("r", "role:a", "d2", "@"), Rule: "zzz", Target: M{}, Creds: none, DefaultRule: oracle.Name("d2")})
	a.add("§8 default_rule null in file mode", oracle.Case{Mode: "file", Rules: R("default", "@"), Rule: "zzz", Target: M{}, Creds: none, DefaultRule: oracle.Null()})

	// policy.d overlays.
	type ov struct {
		main  *string // nil: no policy file
		pd    []jsonRaw
		reg   []oracle.Registered
		rule  string
		creds []M
		note  string
	}
	mainA := `{"r": "role:a", "s": "role:s"}`
	ovs := []ov{
		{sp(mainA), overlays(M{"r": "@"}), nil, "r", []M{none}, "overlay overrides the main file"},
		{sp(mainA), overlays(M{"r": "!"}, M{"r": "@"}), nil, "r", []M{none}, "later overlay wins (00 then 01)"},
		{sp(mainA), overlays(M{"r": "@"}, M{"r": "!"}), nil, "r", []M{ra}, "later overlay wins even over the main file's match"},
		{sp(mainA), overlays(M{"t": "@"}), nil, "s", []M{roles("s"), none}, "overlay adds a rule; untouched main rules stay"},
		{sp(mainA), overlays(M{"t": "@"}), nil, "t", []M{none}, "rule only in the overlay"},
		{nil, overlays(M{"r": "role:a"}), nil, "r", []M{ra, none}, "overlays load even when the main policy file is missing"},
		{nil, overlays(M{"r": "!"}, "r: \"@\"\n"), nil, "r", []M{none}, "missing main file, YAML text overlay wins"},
		{sp(mainA), overlays("r: \"@\"\n"), nil, "r", []M{none}, "YAML text overlay"},
		{sp(mainA), overlays("r: @\n"), nil, "r", []M{none}, "overlay with a YAML error -> load error"},
		{sp(mainA), overlays(""), nil, "r", []M{ra}, "empty overlay file changes nothing"},
		{sp(mainA), overlays("r: yes\n"), nil, "s", []M{roles("s")}, "overlay with a non-iterable truthy value aborts"},
		{sp(mainA), overlays(M{"default": "@"}), nil, "zzz", []M{none}, "overlay supplies the default rule"},
		{sp(`["x"]`), overlays(M{"r": "@"}), nil, "r", []M{none}, "broken main file -> load error even with overlays"},
		{sp(mainA), overlays(M{"r": "rule:s"}), nil, "r", []M{roles("s"), none}, "overlay references a main-file rule"},
	}
	// Registered defaults.
	reg := func(name, check string) oracle.Registered { return oracle.Registered{Name: name, CheckStr: check} }
	ovs = append(ovs,
		ov{sp(`{}`), nil, []oracle.Registered{reg("r", "role:a")}, "r", []M{ra, none}, "registered default used when the file lacks the rule"},
		ov{sp(`{"r": "@"}`), nil, []oracle.Registered{reg("r", "role:a")}, "r", []M{none}, "file rule wins over the registered default (no OR)"},
		ov{sp(`{"r": "!"}`), nil, []oracle.Registered{reg("r", "@")}, "r", []M{none}, "file ! wins over registered @"},
		ov{sp(`{}`), overlays(M{"r": "!"}), []oracle.Registered{reg("r", "@")}, "r", []M{none}, "overlay rule wins over the registered default"},
		ov{nil, nil, []oracle.Registered{reg("r", "role:a")}, "r", []M{ra, none}, "no policy file at all: registered defaults still load"},
		ov{nil, nil, nil, "r", []M{none}, "no file, nothing registered -> empty rules -> False"},
		ov{sp(`{}`), nil, []oracle.Registered{reg("default", "@"), reg("r", "role:a")}, "zzz", []M{none}, "registered 'default' is the default rule"},
		ov{sp(`{"default": "!"}`), nil, []oracle.Registered{reg("default", "@")}, "zzz", []M{none}, "file default wins over the registered default"},
		ov{sp(`{}`), nil, []oracle.Registered{reg("r", "rule:s"), reg("s", "role:s")}, "r", []M{roles("s"), none}, "registered defaults referencing each other"},
		ov{sp(`{"s": "@"}`), nil, []oracle.Registered{reg("r", "rule:s"), reg("s", "role:s")}, "r", []M{none}, "registered default referencing a file-overridden rule"},
		ov{sp(`{}`), nil, []oracle.Registered{reg("r", "")}, "r", []M{none}, "registered empty check_str -> allow"},
		ov{sp(`{}`), nil, []oracle.Registered{reg("r", "role:a or")}, "r", []M{ra}, "registered unparsable check_str -> !"},
		ov{sp(`{"r": "role:a"}`), nil, []oracle.Registered{reg("r", "role:a")}, "r", []M{ra}, "file rule identical to the default (redundant-rule warning only)"},
		ov{sp(`{"r": [["role:b"]]}`), nil, []oracle.Registered{reg("r", "role:a")}, "r", []M{roles("b"), ra}, "list-format file rule overrides a registered default"},
		ov{sp(`{}`), nil, []oracle.Registered{{Name: "r", CheckStr: "role:a", DeprecatedForRemoval: true, DeprecatedReason: "gone", DeprecatedSince: "Z"}}, "r", []M{ra, none}, "deprecated_for_removal only warns"},
		ov{sp(`{"r": "@"}`), nil, []oracle.Registered{{Name: "r", CheckStr: "role:a", DeprecatedForRemoval: true, DeprecatedReason: "gone", DeprecatedSince: "Z"}}, "r", []M{none}, "deprecated_for_removal overridden in the file"},
	)
	for _, o := range ovs {
		for _, c := range o.creds {
			cs := oracle.Case{Mode: "file", PolicyFileText: o.main, PolicyD: o.pd, Registered: o.reg, Rule: o.rule, Target: M{}, Creds: c}
			if o.main == nil {
				cs.NoPolicyFile = true
			}
			a.add(fmt.Sprintf("§8 %s; %v", o.note, c["roles"]), cs)
		}
	}
	// An empty policy_d directory (list present but empty).
	a.add("§8 empty policy.d directory", oracle.Case{Mode: "file", PolicyFileText: sp(mainA), PolicyD: []jsonRaw{}, Rule: "r", Target: M{}, Creds: ra})
	return a
}
