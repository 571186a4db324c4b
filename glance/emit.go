// Follows Glance 25.1.0 glance/common/property_utils.py check_property_rules (Apache-2.0); see NOTICE.

package glance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/open-policy-agent/opa/v1/format"

	"github.com/oslorego/oslorego/internal/python"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// DefaultPackage is the Rego package Rego uses when pkg is "".
const DefaultPackage = "oslo.glance.property_protections"

var packageRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// Rego emits a Rego v1 module in package pkg ("" for DefaultPackage)
// defining allowed(property, operation): true or false, the first section
// whose regex matches the property (re.search: unanchored) decides, a
// property matching no section is denied, and a file with no sections
// allows everything. Only create, read, update and delete can be allowed.
//
// In the roles format, a permission holds when one of the listed roles
// (lower-cased) is in data.oslo.lib.roles, the lower-cased roles of
// input.credentials. In the policies format it holds when
// data.<policyPkg>.rules[NAME] is true with input.target as {} (policyPkg
// "" is "oslo.policy"). '!' denies and '@' allows before either.
//
// A section regex that RE2 cannot express with Python's meaning (lookaround,
// backreferences, possessive quantifiers or atomic groups, conditionals,
// Unicode \b) is an *Error naming the file, section and line.
func Rego(f *File, pkg, policyPkg string) (string, error) {
	if pkg == "" {
		pkg = DefaultPackage
	}
	if policyPkg == "" {
		policyPkg = translate.DefaultPackage
	}
	for _, p := range []string{pkg, policyPkg} {
		if !packageRE.MatchString(p) || p == translate.LibPackage {
			return "", fmt.Errorf("invalid Rego package %q", p)
		}
	}
	if f.Format != Roles && f.Format != Policies {
		return "", fmt.Errorf("%s: unknown format %q", f.Path, f.Format)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Glance property protections translated from %s\n", comment(filepath.Base(f.Path)))
	fmt.Fprintf(&b, "# (property_protection_rule_format = %s) by oslorego.\n", f.Format)
	b.WriteString("#\n")
	b.WriteString("# allowed(property, operation) is Glance Zed's check_property_rules: the\n")
	b.WriteString("# sections are Python regexes tried in file order with re.search\n")
	b.WriteString("# (unanchored) and the first match decides; a property matching no section\n")
	b.WriteString("# is denied, and only create, read, update and delete can be allowed.\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	if len(f.Rules) == 0 {
		b.WriteString("# The file has no sections: Glance allows everything.\n")
		b.WriteString("allowed(_, _) := true\n")
		return formatModule(f.Path, b.String())
	}
	if f.Format == Roles {
		b.WriteString("import data.oslo.lib\n\n")
	}
	b.WriteString("default allowed(_, _) := false\n\n")
	b.WriteString("allowed(property, operation) if _permit(_section(property), operation)\n\n")
	b.WriteString("# _section is the index of the first section whose regex matches.\n")
	b.WriteString("_section(property) := min({i | some i, p in _patterns; regex.match(p, property)})\n\n")
	b.WriteString("# _patterns are the sections' regexes, in RE2 syntax with Python's meaning.\n")
	b.WriteString("_patterns := [\n")
	for _, r := range f.Rules {
		re, err := compilePattern(r.Pattern)
		if err != nil {
			msg := "the regex does not compile: " + err.Error()
			var u *unsupportedError
			if errors.As(err, &u) {
				msg = "the regex cannot be translated for Rego's regex.match (RE2): " + err.Error()
			}
			return "", &Error{Path: f.Path, Line: r.Line, Section: r.Pattern, Msg: msg}
		}
		fmt.Fprintf(&b, "\t%s, # [%s] line %d\n", regoString(re), comment(r.Pattern), r.Line)
	}
	b.WriteString("]\n")
	if f.Format == Roles {
		b.WriteString("\n# _any_role holds when the credentials hold one of roles (lower-cased).\n")
		b.WriteString("_any_role(roles) if {\n\tsome role in roles\n\tlib.roles[role]\n}\n")
	}
	for i, r := range f.Rules {
		b.WriteString("\n")
		text := r.text
		if text == "" {
			text = sectionSource(r)
		}
		fmt.Fprintf(&b, "# Section %d, line %d:\n", i, r.Line)
		for _, l := range strings.Split(text, "\n") {
			fmt.Fprintf(&b, "#   %s\n", comment(l))
		}
		for _, op := range Operations {
			p, ok := r.Ops[op]
			if !ok {
				return "", &Error{Path: f.Path, Line: r.Line, Section: r.Pattern, Msg: fmt.Sprintf("operation %q is missing", op)}
			}
			head := fmt.Sprintf("_permit(%d, %q)", i, op)
			switch {
			case p.DenyAll:
				fmt.Fprintf(&b, "# %s: '!' denies everyone\n", op)
			case p.AllowAll:
				fmt.Fprintf(&b, "%s := true\n", head)
			case f.Format == Policies && p.Policy != "":
				c := oslo.ParseRule("rule:" + p.Policy)
				if rc, ok := c.(*oslo.RuleCheck); !ok || rc.Name != p.Policy {
					return "", &Error{Path: f.Path, Line: r.Line, Section: r.Pattern, Msg: fmt.Sprintf("%s: Glance enforces %q, which oslo does not parse as a single rule reference", op, "rule:"+p.Policy)}
				}
				fmt.Fprintf(&b, "%s if data.%s.rules[%s] == true with input.target as {}\n", head, policyPkg, jsonString(p.Policy))
			case f.Format == Roles && len(p.Roles) > 0:
				var rs []string
				seen := map[string]bool{}
				for _, role := range p.Roles {
					l := python.Lower(role)
					if !seen[l] {
						seen[l] = true
						rs = append(rs, jsonString(l))
					}
				}
				fmt.Fprintf(&b, "%s if _any_role({%s})\n", head, strings.Join(rs, ", "))
			default:
				fmt.Fprintf(&b, "# %s: empty, nobody is allowed\n", op)
			}
		}
	}
	return formatModule(f.Path, b.String())
}

func formatModule(path, src string) (string, error) {
	out, err := format.Source(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".rego", []byte(src))
	if err != nil {
		return "", fmt.Errorf("%s: internal error: the emitted Rego does not format: %v\n%s", path, err, src)
	}
	return string(out), nil
}

// sectionSource reconstructs a section's text from a Rule built by hand.
func sectionSource(r Rule) string {
	lines := []string{"[" + r.Pattern + "]"}
	for _, op := range Operations {
		p := r.Ops[op]
		var items []string
		if p.AllowAll {
			items = append(items, "@")
		}
		if p.DenyAll {
			items = append(items, "!")
		}
		if p.Policy != "" {
			items = append(items, p.Policy)
		}
		items = append(items, p.Roles...)
		lines = append(lines, op+" = "+strings.Join(items, ","))
	}
	return strings.Join(lines, "\n")
}

// comment makes s safe in a Rego comment: unprintable code points (which
// OPA may reject or which would end the comment) become \u escapes.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\t' || (unicode.IsPrint(r) && r != '\ufeff') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\u{%x}`, r)
		}
	}
	return b.String()
}

func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// regoString is a raw string literal when that is readable, else JSON.
func regoString(s string) string {
	if !strings.Contains(s, "`") && comment(s) == s && !strings.Contains(s, "\t") {
		return "`" + s + "`"
	}
	return jsonString(s)
}
