package bundles

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/internal/jsonexact"
	"github.com/oslorego/oslorego/translate/oslo"
)

// RequiresKey is the .manifest metadata key under which a bundle declares
// what it must contain:
//
//	{"metadata": {"oslorego_requires": {"rules": ["download_image"], "files": ["policy.yaml"]}}}
//
// rules must be defined (by the oslo files or by rules[NAME] in Rego);
// files are paths relative to the bundle directory that must be present.
const RequiresKey = "oslorego_requires"

// filesKey records, in a built bundle's manifest metadata, the files of
// the directory it was built from, so that a built bundle can be checked
// against its requirements too.
const filesKey = "oslorego_files"

// metadataKeys are the manifest metadata keys oslorego reads or writes.
var metadataKeys = []string{"oslorego", RequiresKey, filesKey}

// Requirements are what a bundle must contain.
type Requirements struct {
	Rules []string `json:"rules,omitempty"`
	Files []string `json:"files,omitempty"`
}

// Empty reports whether nothing is required.
func (r Requirements) Empty() bool { return len(r.Rules) == 0 && len(r.Files) == 0 }

func (r Requirements) union(o Requirements) Requirements {
	u := Requirements{Rules: append(slices.Clone(r.Rules), o.Rules...), Files: append(slices.Clone(r.Files), o.Files...)}
	slices.Sort(u.Rules)
	slices.Sort(u.Files)
	u.Rules, u.Files = slices.Compact(u.Rules), slices.Compact(u.Files)
	return u
}

// BundleRequirements reads what b declares it must contain. Field names
// are exact and an unknown field is an error: a misspelt requirement must
// not pass unnoticed.
func BundleRequirements(b *bundle.Bundle) (Requirements, error) {
	var r Requirements
	// A misspelt key (oslorego_require, OSLOREGO_REQUIRES) would otherwise
	// be free-form metadata that requires nothing.
	for k := range b.Manifest.Metadata {
		if strings.HasPrefix(strings.ToLower(k), "oslorego") && !slices.Contains(metadataKeys, k) {
			return r, fmt.Errorf("manifest metadata: unknown key %q (oslorego reads %s)", k, strings.Join(metadataKeys, ", "))
		}
	}
	v, ok := b.Manifest.Metadata[RequiresKey]
	if !ok {
		return r, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return r, fmt.Errorf("manifest metadata %s: %w", RequiresKey, err)
	}
	if err := jsonexact.Unmarshal(raw, &r, true); err != nil {
		return r, fmt.Errorf("manifest metadata %s: %w", RequiresKey, err)
	}
	return r, nil
}

// Validate refuses a bundle that lacks a rule or file it declares it
// requires (RequiresKey) or that opts.Require adds, or in which an action
// of opts.Decidable raises for every input (a rule: cycle that deciding it
// always reaches, see oslo.Policy.Raises). Build validates what it
// builds; loaders validate built bundles.
//
// Rules and actions are checked on the oslo sources the build recorded
// (and the rules[NAME] the Rego modules define); a bundle without oslo
// sources has no rule: references, so only its Rego rules are checked.
func Validate(b *bundle.Bundle, opts Options) error {
	req, err := BundleRequirements(b)
	if err != nil {
		return err
	}
	req = req.union(opts.Require)
	if req.Empty() && len(opts.Decidable) == 0 {
		return nil
	}
	p, pkg, err := bundlePolicy(b, opts.Package)
	if err != nil {
		return err
	}
	defined := map[string]bool{}
	if p != nil {
		for _, r := range p.Rules {
			defined[r.Name] = true
		}
	} else {
		for _, m := range b.Modules {
			names, err := oslo.RegoRules(strings.TrimPrefix(m.Path, "/"), string(m.Raw), pkg)
			if err != nil {
				return err
			}
			for n := range names {
				defined[n] = true
			}
		}
	}
	var missing []string
	for _, r := range req.Rules {
		if !defined[r] {
			missing = append(missing, fmt.Sprintf("rule %q", r))
		}
	}
	files := map[string]bool{}
	if recorded, ok := b.Manifest.Metadata[filesKey].([]any); ok {
		for _, f := range recorded {
			if s, ok := f.(string); ok {
				files[s] = true
			}
		}
	}
	for _, f := range req.Files {
		if !files[f] {
			missing = append(missing, fmt.Sprintf("file %q", f))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the bundle lacks what it requires (%s): %s", RequiresKey, strings.Join(missing, ", "))
	}
	if p == nil {
		return nil
	}
	for _, a := range opts.Decidable {
		if reason, raises := p.Raises(a); raises {
			return fmt.Errorf("action %q can never be decided, it raises for every input: %s", a, reason)
		}
	}
	return nil
}
