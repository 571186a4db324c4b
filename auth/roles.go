package auth

import (
	"strings"

	"github.com/oslorego/oslorego/internal/python"
)

// normalizeRoles makes the role list keystonemiddleware and oslo.context
// would give Glance: every name split at commas (X-Roles joins them with
// commas and oslo.context splits them again) and trimmed as Python's
// str.strip does. Nothing is lower-cased: the policy's Rego library does
// that as Python's str.lower, and Go's strings.ToLower differs ("İ").
// Empty roles and exact duplicates are dropped, which changes no role
// check; the order is kept. It never returns nil, so that roles encode as
// [] rather than null.
func normalizeRoles(roles []string) []string {
	out := make([]string, 0, len(roles))
	seen := make(map[string]bool, len(roles))
	for _, names := range roles {
		for _, r := range strings.Split(names, ",") {
			r = strings.TrimFunc(r, python.IsSpace)
			if r == "" || seen[r] {
				continue
			}
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// keystoneImplied are the implications `keystone-manage bootstrap` creates
// between the default roles: admin implies member, member implies reader.
var keystoneImplied = map[string][]string{
	"admin":  {"member", "reader"},
	"member": {"reader"},
}

// ImpliedRoles returns roles (trimmed, as a token carries them) followed
// by the default roles they imply under Keystone's default implied roles
// (admin ⇒ member ⇒ reader), which a Keystone token for that user would
// carry too. Names match ignoring ASCII case only, as any other folding
// would differ from Python's ("ADMİN" is not admin).
func ImpliedRoles(roles []string) []string {
	out := normalizeRoles(roles)
	has := func(name string) bool {
		for _, r := range out {
			if asciiEqualFold(r, name) {
				return true
			}
		}
		return false
	}
	for _, r := range out {
		for name, implied := range keystoneImplied {
			if !asciiEqualFold(r, name) {
				continue
			}
			for _, i := range implied {
				if !has(i) {
					out = append(out, i)
				}
			}
		}
	}
	return out
}

// asciiEqualFold reports whether a and b are equal ignoring the case of
// ASCII letters; other bytes must be equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
