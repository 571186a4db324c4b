package pdp

import (
	"fmt"
	"sort"
	"strings"
)

// OPAPath is oslo.policy.opa's document path for a rule name: ':' → '/'
// and '-' → '_' (its normalize_name), queried as /v1/data/PATH/allow.
func OPAPath(rule string) string {
	return strings.NewReplacer(":", "/", "-", "_").Replace(rule)
}

// pathIndex maps oslo.policy.opa paths back to the bundle's rule names.
// The mapping is lossy ("a-b" and "a_b" share a path), so a path that
// more than one rule maps to is ambiguous and is never decided.
type pathIndex struct {
	rules     map[string]string   // path → the one rule with it
	ambiguous map[string][]string // path → its rules, sorted, when several
}

func newPathIndex(names []string) *pathIndex {
	idx := &pathIndex{rules: map[string]string{}, ambiguous: map[string][]string{}}
	for _, n := range names {
		p := OPAPath(n)
		if other, ok := idx.rules[p]; ok && other != n {
			idx.ambiguous[p] = append(idx.ambiguous[p], other, n)
			delete(idx.rules, p)
			continue
		}
		if _, ok := idx.ambiguous[p]; ok {
			idx.ambiguous[p] = append(idx.ambiguous[p], n)
			continue
		}
		idx.rules[p] = n
	}
	for p := range idx.ambiguous {
		sort.Strings(idx.ambiguous[p])
	}
	return idx
}

// rule is the rule name for path. A path no rule of the bundle maps to
// names an unknown rule: oslo decides any unknown name with the default
// rule, so the path itself stands for it. A path holding ':' or '-' is
// refused (no rule maps to it; as a name it could be another rule). A path several rules map to is
// an error naming them.
func (idx *pathIndex) rule(path string) (string, error) {
	if strings.ContainsAny(path, ":-") {
		// oslo.policy.opa never sends one; taken as a name it could be
		// a rule other than the one the path maps to.
		return "", fmt.Errorf("%w: the path %q holds ':' or '-', which oslo.policy.opa's paths never do", errBadRequest, path)
	}
	if names, ok := idx.ambiguous[path]; ok {
		return "", fmt.Errorf("%w: the path %q is ambiguous: rules %s all map to it (':' → '/', '-' → '_'); ask /v1/oslo/check with the rule name instead", errBadRequest, path, quoteAll(names))
	}
	if n, ok := idx.rules[path]; ok {
		return n, nil
	}
	return path, nil
}
