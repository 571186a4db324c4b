package auth

import (
	"strings"

	"github.com/oslorego/oslorego/translate/python"
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
