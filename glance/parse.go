// Ported from Glance 25.1.0 glance/common/property_utils.py and CPython 3.11.2 Lib/configparser.py (Apache-2.0, PSF License); see NOTICE.

// Package glance holds what oslorego knows of Glance itself, as opposed to
// oslo.policy (package translate/oslo): today, Glance's property protection
// files (property_protection_file, Glance Zed), translated into a Rego
// module that the bundles serve beside the policy.
//
// Parse reads a file exactly as Glance's PropertyRules._load_rules does with
// Python's configparser.ConfigParser() (strict, BasicInterpolation, option
// names case-folded, [DEFAULT] as defaults for every section), and Rego emits
// allowed(property, operation) with check_property_rules' semantics: sections
// are Python regexes applied with re.search in file order, the first match
// decides, a property matching no section is denied, and a file without
// sections allows everything.
//
// Known differences from Glance, by design: Zed's module-global parser keeps
// stale sections across re-reads until a restart, and check_property_rules
// appends X-Service-Roles to the request's roles (a leak into later policy
// checks); neither is modelled, the Rego sees input.credentials only. In the
// policies format an oslo rule that would raise (an {"error": ...} result)
// counts as not allowed rather than failing the request. The regex
// translation's residual differences are listed in regex.go.
package glance

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// Format is the property_protection_rule_format option.
type Format string

const (
	// Roles: each value is a comma-separated list of roles.
	Roles Format = "roles"
	// Policies: each value names one oslo policy rule.
	Policies Format = "policies"
)

// Operations are the operations every section must define, in order.
var Operations = []string{"create", "read", "update", "delete"}

// Rule is one section: a Python regex and the permission per operation.
type Rule struct {
	// Pattern is the section name: a Python regex, applied with re.search.
	Pattern string
	// Line is the line of the section header.
	Line int
	// Ops holds the permission of each of create, read, update and delete.
	Ops map[string]Perm
	// text is the section as written (header and its lines), for comments.
	text string
}

// Perm is the permission for one operation of one section.
type Perm struct {
	// Roles (roles format) are the roles listed, stripped, in order,
	// without '@' and '!'; anyone holding one of them (compared
	// case-insensitively) is allowed.
	Roles []string
	// Policy (policies format) is the oslo rule enforced with target {}.
	Policy string
	// AllowAll is '@' in the value: everyone is allowed.
	AllowAll bool
	// DenyAll is '!' in the value: nobody is allowed.
	DenyAll bool
}

// File is a parsed property protection file.
type File struct {
	Path   string
	Format Format
	// Rules are the sections in file order ([DEFAULT] excluded).
	Rules []Rule
}

// Error is a reason Glance rejects the file (every image API request then
// fails with 400 "Invalid configuration in property protection file.").
type Error struct {
	Path    string
	Line    int
	Section string // the section's regex, "" when not in a section
	Msg     string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s:%d: ", e.Path, e.Line)
	if e.Section != "" {
		s += fmt.Sprintf("section [%s]: ", e.Section)
	}
	return s + e.Msg
}

// option is one configparser option: its value lines and where it started.
type option struct {
	name  string
	lines []string
	line  int
}

type section struct {
	name  string
	line  int
	opts  map[string]*option
	order []string
	text  []string
}

func (s *section) value(name string) (*option, bool) {
	o, ok := s.opts[name]
	return o, ok
}

func (o *option) joined() string {
	return strings.TrimRightFunc(strings.Join(o.lines, "\n"), python.IsSpace)
}

func pyStrip(s string) string { return strings.TrimFunc(s, python.IsSpace) }

var optRE = regexp.MustCompile(`^(.*?)\s*([=:])\s*(.*)$`)

// Parse parses a property protection file as Glance's check_property_rules
// setup does (Python configparser: sections in file order, option names
// case-folded, [DEFAULT] values are defaults for every section and not a
// rule, BasicInterpolation; values comma-separated roles stripped; '@'
// allows everyone, '!' denies everyone, both together invalid; empty value
// = nobody; policies format: exactly one rule name, a comma is invalid; a
// missing or misspelt operation is invalid; an uncompilable regex is
// invalid). Errors are *Error values naming the file, the section (the
// regex) and the line.
func Parse(path string, data []byte, format Format) (*File, error) {
	if format != Roles && format != Policies {
		return nil, &Error{Path: path, Line: 0, Msg: fmt.Sprintf("property_protection_rule_format %q is neither roles nor policies", format)}
	}
	if !utf8.Valid(data) {
		line := 1 + strings.Count(string(data[:firstInvalid(data)]), "\n")
		return nil, &Error{Path: path, Line: line, Msg: "the file is not valid UTF-8"}
	}
	// Python's text mode: universal newlines.
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}

	defaults := &section{name: "DEFAULT", opts: map[string]*option{}}
	var sections []*section
	byName := map[string]*section{}
	added := map[string]bool{}
	var cur *section
	var opt *option
	indent := -1 // -1: sys.maxsize
	var firstErr *Error
	for i, line := range lines {
		lineno := i + 1
		if cur != nil {
			cur.text = append(cur.text, line)
		}
		stripped := pyStrip(line)
		comment := strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";")
		value := stripped
		if comment {
			value = ""
		}
		if value == "" {
			// empty_lines_in_values: a blank (not comment) line joins the value.
			if !comment && cur != nil && opt != nil {
				opt.lines = append(opt.lines, "")
			}
			continue
		}
		level := strings.IndexFunc(line, func(r rune) bool { return !python.IsSpace(r) })
		if cur != nil && opt != nil && indent >= 0 && level > indent {
			opt.lines = append(opt.lines, value)
			continue
		}
		indent = level
		if strings.HasPrefix(value, "[") && strings.LastIndex(value, "]") > 1 {
			// SECTCRE: \[(?P<header>.+)\] with re.match: greedy up to the last ']'.
			name := value[1:strings.LastIndex(value, "]")]
			if cur != nil {
				cur.text = cur.text[:len(cur.text)-1] // the header is not the previous section's
			}
			switch {
			case byName[name] != nil:
				return nil, &Error{Path: path, Line: lineno, Section: name, Msg: fmt.Sprintf("section %q already exists (configparser.DuplicateSectionError)", name)}
			case name == "DEFAULT":
				cur = defaults
			default:
				cur = &section{name: name, line: lineno, opts: map[string]*option{}, text: []string{line}}
				sections = append(sections, cur)
				byName[name] = cur
			}
			opt = nil
			continue
		}
		if cur == nil {
			return nil, &Error{Path: path, Line: lineno, Msg: fmt.Sprintf("file contains no section headers: %s (configparser.MissingSectionHeaderError)", python.StrRepr(line))}
		}
		m := optRE.FindStringSubmatch(value)
		if m == nil || m[1] == "" {
			if firstErr == nil {
				secName := cur.name
				if cur == defaults {
					secName = ""
				}
				firstErr = &Error{Path: path, Line: lineno, Section: secName, Msg: fmt.Sprintf("cannot parse line %s (configparser.ParsingError)", python.StrRepr(line))}
			}
			if m == nil {
				continue
			}
		}
		name := python.Lower(strings.TrimRightFunc(m[1], python.IsSpace))
		key := cur.name + "\x00" + name
		if added[key] {
			secName := cur.name
			if cur == defaults {
				secName = ""
			}
			return nil, &Error{Path: path, Line: lineno, Section: secName, Msg: fmt.Sprintf("option %q already exists in section %q (configparser.DuplicateOptionError)", name, cur.name)}
		}
		added[key] = true
		opt = &option{name: name, lines: []string{pyStrip(m[3])}, line: lineno}
		if _, ok := cur.opts[name]; !ok {
			cur.order = append(cur.order, name)
		}
		cur.opts[name] = opt
	}
	if firstErr != nil {
		return nil, firstErr
	}

	f := &File{Path: path, Format: format}
	for _, s := range sections {
		var pe *pyError
		if _, err := compilePattern(s.name); errors.As(err, &pe) {
			return nil, &Error{Path: path, Line: s.line, Section: s.name, Msg: "the regex does not compile: " + err.Error()}
		}
		r := Rule{Pattern: s.name, Line: s.line, Ops: map[string]Perm{}, text: sectionText(s.text)}
		for _, op := range Operations {
			o, ok := s.value(op)
			if !ok {
				o, ok = defaults.value(op)
			}
			if !ok {
				return nil, &Error{Path: path, Line: s.line, Section: s.name, Msg: fmt.Sprintf("operation %q is missing (no option %q)", op, op)}
			}
			budget := maxInterpolated
			v, err := interpolate(s, defaults, op, o.joined(), 1, &budget)
			if err != nil {
				return nil, &Error{Path: path, Line: o.line, Section: s.name, Msg: op + ": " + err.Error()}
			}
			p, err := perm(format, v)
			if err != nil {
				return nil, &Error{Path: path, Line: o.line, Section: s.name, Msg: op + ": " + err.Error()}
			}
			r.Ops[op] = p
		}
		f.Rules = append(f.Rules, r)
	}
	return f, nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// sectionText is the section's lines without trailing blank and comment
// lines (those usually introduce the next section).
func sectionText(lines []string) string {
	end := len(lines)
	for end > 1 {
		s := pyStrip(lines[end-1])
		if s != "" && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, ";") {
			break
		}
		end--
	}
	return strings.Join(lines[:end], "\n")
}

var keyRE = regexp.MustCompile(`^%\(([^)]+)\)s`)

// maxInterpolated bounds a value's size after interpolation: ten levels of
// references can otherwise expand a small file exponentially (Python would
// run out of memory).
const maxInterpolated = 1 << 20

// interpolate is BasicInterpolation._interpolate_some.
func interpolate(s, defaults *section, option, rest string, depth int, budget *int) (string, error) {
	if depth > 10 {
		return "", fmt.Errorf("interpolation too deep (configparser.InterpolationDepthError)")
	}
	var b strings.Builder
	for rest != "" {
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			m := keyRE.FindStringSubmatch(rest)
			if m == nil {
				return "", fmt.Errorf("bad interpolation variable reference %s (configparser.InterpolationSyntaxError)", python.StrRepr(rest))
			}
			name := python.Lower(m[1])
			rest = rest[len(m[0]):]
			o, ok := s.value(name)
			if !ok {
				o, ok = defaults.value(name)
			}
			if !ok {
				return "", fmt.Errorf("bad interpolation: option %q references missing option %q (configparser.InterpolationMissingOptionError)", option, name)
			}
			v := o.joined()
			if strings.Contains(v, "%") {
				sub, err := interpolate(s, defaults, option, v, depth+1, budget)
				if err != nil {
					return "", err
				}
				v = sub
			}
			*budget -= len(v)
			if *budget < 0 {
				return "", fmt.Errorf("the value is over %d bytes after interpolation", maxInterpolated)
			}
			b.WriteString(v)
		default:
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(', found: %s (configparser.InterpolationSyntaxError)", python.StrRepr(rest))
		}
	}
	return b.String(), nil
}

// perm is _load_rules' handling of one operation's value.
func perm(format Format, v string) (Perm, error) {
	if v == "" {
		return Perm{}, nil // nobody (Glance logs a warning)
	}
	var items []string
	var p Perm
	if format == Policies {
		if strings.Contains(v, ",") {
			return Perm{}, fmt.Errorf("policies format allows exactly one rule name, not %q", v)
		}
		items = []string{v}
	} else {
		for _, r := range strings.Split(v, ",") {
			items = append(items, pyStrip(r))
		}
	}
	for _, it := range items {
		switch it {
		case "@":
			p.AllowAll = true
		case "!":
			p.DenyAll = true
		default:
			if format == Policies {
				p.Policy = it
			} else {
				p.Roles = append(p.Roles, it)
			}
		}
	}
	if p.AllowAll && p.DenyAll {
		return Perm{}, fmt.Errorf("'@' and '!' together in %q", v)
	}
	return p, nil
}
