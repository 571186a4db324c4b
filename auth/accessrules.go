package auth

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// accessRule is one access rule of an application credential, as
// Keystone returns it in the token of a restricted credential.
type accessRule struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
}

// accessRules are a token's access rules, compiled. A nil *accessRules is
// a token without any (not an application credential, or an
// unrestricted one); an empty list allows nothing.
type accessRules struct {
	credentialID string
	rules        []compiledRule
}

type compiledRule struct {
	service, method string
	path            *regexp.Regexp // nil: the rule can never match
}

// compileAccessRules compiles the rules of an application credential.
func compileAccessRules(credentialID string, rules []accessRule) *accessRules {
	ar := &accessRules{credentialID: credentialID, rules: make([]compiledRule, 0, len(rules))}
	for _, r := range rules {
		ar.rules = append(ar.rules, compiledRule{service: r.Service, method: r.Method, path: accessRulePath(r.Path)})
	}
	return ar
}

// allows reports whether one rule allows method on path for service, as
// keystonemiddleware's validate_allowed_request does (method compared
// exactly, the service type compared exactly, the path matched whole).
// The path is the request's, percent-decoded (webob's request.path).
func (ar *accessRules) allows(service, method, path string) bool {
	if !utf8.ValidString(path) {
		// webob would not decode it; never match what Python could not.
		return false
	}
	for _, r := range ar.rules {
		if r.method == method && r.service == service && r.path != nil && r.path.MatchString(path) {
			return true
		}
	}
	return false
}

// unsafeRegexp are the characters whose meaning as a regular expression
// differs between Python's re and Go's regexp in ways that could allow
// what keystonemiddleware denies ([[:alpha:]], \pL, \Q...\E, (?<n>...)
// exist in one only); a rule whose literal text holds one never matches.
// Keystone's path patterns are globs: these do not occur in real rules.
const unsafeRegexp = `\[]()|^$`

// accessRulePath translates a rule's path pattern to a regular expression
// exactly as keystonemiddleware's _path_matches does: {tag} and a lone *
// match one path segment, ** anything, and every other character is
// copied into the expression unescaped (so "." matches any character, as
// there). A lone "{" or "}" is dropped, as re.finditer skips it. It
// returns nil for a pattern that must never match: one using a character
// of unsafeRegexp, or one Go cannot compile (Python's possessive "*+",
// say), which keystonemiddleware would either refuse or that Go reads
// otherwise.
func accessRulePath(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '{' && strings.IndexByte(pattern[i:], '}') > 0:
			// (?P<tag>{[^}]*}): up to the first "}".
			i += strings.IndexByte(pattern[i:], '}') + 1
			b.WriteString(`[^\/]+`)
		case c == '*' && (i+1 == len(pattern) || pattern[i+1] != '*'):
			i++
			b.WriteString(`[^\/]+`)
		case c == '*':
			i += 2
			b.WriteString(`.*`)
		case c == '{' || c == '}':
			i++ // matches no alternative of the tokenizer: skipped
		default:
			r, n := utf8.DecodeRuneInString(pattern[i:])
			if strings.ContainsRune(unsafeRegexp, r) || r == utf8.RuneError && n == 1 {
				return nil
			}
			b.WriteString(pattern[i : i+n])
			i += n
		}
	}
	// Python's $ also matches before a final newline; \z does not, so a
	// path ending in %0A is denied here (stricter, never looser).
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil
	}
	return re
}

// describe names a refusal for logs: which credential, and what was asked.
func (ar *accessRules) describe(service, method, path string) string {
	return fmt.Sprintf("application credential %s: no access rule allows %s %s for service type %s (%d rules)",
		ar.credentialID, method, path, service, len(ar.rules))
}
