// Package bundles builds standard OPA bundles from a directory of legacy
// oslo policy files, raw Rego, Rego tests and data, and runs their tests.
//
// A bundle directory holds:
//
//	policy.yaml | policy.json   the oslo policy file (at most one)
//	policy.d/                   oslo overlays, applied in sorted order
//	defaults.json | .yaml       registered defaults (the oslorego defaults format)
//	*.rego, */*.rego            raw Rego; *_test.rego are tests
//	data.json | data.yaml       data, at the root of data
//	.manifest                   optional: revision, roots, metadata
//	property-protections-roles.conf | property-protections-policies.conf
//	                            Glance property protections, translated to
//	                            data.oslo.glance.property_protections.allowed
package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"
	"gopkg.in/yaml.v3"

	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/propprot"
)

// Source is what a bundle directory holds, read but not yet translated.
type Source struct {
	Dir string
	// Policies are the oslo policy file and policy.d overlays, in order.
	Policies []string
	Defaults string
	// Rego are the raw modules (tests included), by path relative to Dir.
	Rego     []translate.Module
	Data     map[string]any
	Manifest *bundle.Manifest
	// Protections are Glance's property protections, if the directory has
	// a property protection file.
	Protections *propprot.File
}

// Read reads a bundle directory.
func Read(dir string) (*Source, error) {
	src := &Source{Dir: dir, Data: map[string]any{}}
	var mains []string
	for _, name := range []string{"policy.json", "policy.yaml", "policy.yml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			mains = append(mains, filepath.Join(dir, name))
		}
	}
	if len(mains) > 1 {
		return nil, fmt.Errorf("%s: more than one oslo policy file: %s", dir, strings.Join(mains, ", "))
	}
	src.Policies = mains
	if st, err := os.Stat(filepath.Join(dir, "policy.d")); err == nil && st.IsDir() {
		src.Policies = append(src.Policies, filepath.Join(dir, "policy.d"))
	}
	for _, name := range []string{"defaults.json", "defaults.yaml", "defaults.yml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			if src.Defaults != "" {
				return nil, fmt.Errorf("%s: more than one defaults file", dir)
			}
			src.Defaults = filepath.Join(dir, name)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") || rel == "policy.d" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		src.Rego = append(src.Rego, translate.Module{File: filepath.ToSlash(rel), Text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", dir, err)
	}
	for _, name := range []string{"data.json", "data.yaml", "data.yml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var v map[string]any
		if strings.HasSuffix(name, ".json") {
			err = util.UnmarshalJSON(b, &v)
		} else {
			err = yaml.Unmarshal(b, &v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		for k, val := range v {
			if _, dup := src.Data[k]; dup {
				return nil, fmt.Errorf("%s: data key %q is defined twice", dir, k)
			}
			src.Data[k] = val
		}
	}
	for _, f := range []propprot.Format{propprot.Roles, propprot.Policies} {
		p := filepath.Join(dir, "property-protections-"+string(f)+".conf")
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if src.Protections != nil {
			return nil, fmt.Errorf("%s: more than one property protection file", dir)
		}
		if src.Protections, err = propprot.Parse(p, b, f); err != nil {
			return nil, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".manifest")); err == nil {
		var m bundle.Manifest
		if err := util.UnmarshalJSON(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ".manifest"), err)
		}
		src.Manifest = &m
	}
	if len(src.Policies) == 0 && src.Defaults == "" && len(src.Rego) == 0 {
		return nil, fmt.Errorf("%s: no oslo policy, defaults or Rego in the bundle directory", dir)
	}
	return src, nil
}

// BuildOptions shape a build.
type BuildOptions struct {
	// Revision overrides the manifest's (default: a hash of the content).
	Revision string
	Options  translate.Options
	// Package is the Rego package of the translated rules.
	Package string
}

// Build translates the oslo files, adds the raw Rego and data, checks that
// everything compiles together, and returns the bundle.
func Build(src *Source, opts BuildOptions) (*bundle.Bundle, error) {
	pkg := opts.Package
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	b := &bundle.Bundle{Data: src.Data}
	var mods []translate.Module
	var meta map[string]any
	if len(src.Policies) > 0 || src.Defaults != "" {
		p, err := translate.Load(src.Policies, src.Defaults, opts.Options)
		if err != nil {
			return nil, err
		}
		for _, m := range src.Rego {
			if err := p.DeclareRego(filepath.Join(src.Dir, m.File), m.Text, pkg); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
			}
		}
		tr, err := translate.Translate(p, pkg)
		if err != nil {
			return nil, err
		}
		formatted, err := tr.Formatted()
		if err != nil {
			return nil, err
		}
		lib := translate.LibModule()
		mods = append(mods, translate.Module{File: "oslo/lib/" + lib.File, Text: lib.Text})
		dir := strings.ReplaceAll(pkg, ".", "/")
		for _, m := range formatted {
			mods = append(mods, translate.Module{File: dir + "/" + m.File, Text: m.Text})
		}
		if meta, err = sourcesMetadata(src, opts.Options, pkg, mods); err != nil {
			return nil, err
		}
	}
	if src.Protections != nil {
		text, err := propprot.Rego(src.Protections, "", pkg)
		if err != nil {
			return nil, err
		}
		mods = append(mods, translate.Module{File: strings.ReplaceAll(propprot.DefaultPackage, ".", "/") + ".rego", Text: text})
	}
	seen := map[string]bool{}
	for _, m := range mods {
		seen[m.File] = true
	}
	for _, m := range src.Rego {
		if seen[m.File] {
			return nil, fmt.Errorf("bundle %s: %s would hide a translated module of the same path", src.Dir, m.File)
		}
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].File < mods[j].File })
	parsed := map[string]*ast.Module{}
	for _, m := range mods {
		pm, err := ast.ParseModuleWithOpts(m.File, m.Text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
		}
		parsed[m.File] = pm
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + m.File, Path: "/" + m.File, Raw: []byte(m.Text), Parsed: pm})
	}
	c := ast.NewCompiler()
	if c.Compile(parsed); c.Failed() {
		return nil, fmt.Errorf("bundle %s does not compile: %w", src.Dir, c.Errors)
	}
	if src.Manifest != nil {
		b.Manifest = *src.Manifest
	}
	if meta != nil {
		if b.Manifest.Metadata == nil {
			b.Manifest.Metadata = map[string]any{}
		}
		b.Manifest.Metadata["oslorego"] = meta
	}
	if b.Manifest.Roots == nil {
		roots := computeRoots(parsed, src.Data)
		b.Manifest.Roots = &roots
	}
	switch {
	case opts.Revision != "":
		b.Manifest.Revision = opts.Revision
	case b.Manifest.Revision == "":
		b.Manifest.Revision = contentHash(b)
	}
	return b, nil
}

// sourcesMetadata records the oslo sources in the manifest, so that a built
// bundle can still explain decisions with the oslo text and file:line.
func sourcesMetadata(src *Source, opts translate.Options, pkg string, translated []translate.Module) (map[string]any, error) {
	var files []any
	for _, p := range src.Policies {
		paths := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			paths = paths[:0]
			for _, e := range entries {
				if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					paths = append(paths, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(paths)
		}
		for _, f := range paths {
			text, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			files = append(files, map[string]any{"path": relPath(src.Dir, f), "text": string(text)})
		}
	}
	meta := map[string]any{"policies": files, "package": pkg}
	if src.Defaults != "" {
		text, err := os.ReadFile(src.Defaults)
		if err != nil {
			return nil, err
		}
		meta["defaults"] = map[string]any{"path": relPath(src.Dir, src.Defaults), "text": string(text)}
	}
	o, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	var om map[string]any
	if err := json.Unmarshal(o, &om); err != nil {
		return nil, err
	}
	meta["options"] = om
	var paths []any
	for _, m := range translated {
		paths = append(paths, "/"+m.File)
	}
	meta["translated"] = paths
	return meta, nil
}

func relPath(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// computeRoots is the first path segment of every package and data key.
func computeRoots(mods map[string]*ast.Module, data map[string]any) []string {
	set := map[string]bool{}
	for _, m := range mods {
		if len(m.Package.Path) > 1 {
			if s, ok := m.Package.Path[1].Value.(ast.String); ok {
				set[string(s)] = true
			}
		}
	}
	for k := range data {
		set[k] = true
	}
	return sortedKeys(set)
}

// contentHash identifies a bundle by its modules and data.
func contentHash(b *bundle.Bundle) string {
	h := sha256.New()
	for _, m := range b.Modules {
		fmt.Fprintf(h, "%s\x00%d\x00", m.Path, len(m.Raw))
		h.Write(m.Raw)
	}
	data, _ := json.Marshal(b.Data)
	h.Write(data)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:32]
}

// SignOptions sign a bundle with OPA's bundle signature format.
type SignOptions struct {
	// Key is a PEM private key (RS256/ES256...) or an HMAC secret (HS256).
	Key, Alg, KeyID string
}

// Write writes b as a gzipped tar OPA bundle, signed when sign is given.
// The same bundle always gives the same bytes.
func Write(w io.Writer, b *bundle.Bundle, sign *SignOptions) error {
	if sign != nil {
		cfg := bundle.NewSigningConfig(sign.Key, sign.Alg, "")
		if err := b.GenerateSignature(cfg, sign.KeyID, false); err != nil {
			return fmt.Errorf("signing bundle: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(*b); err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// VerifyOptions check a bundle's signature when loading it.
type VerifyOptions struct {
	Key, Alg, KeyID string
}

// Load reads a bundle from a directory (built on the fly) or a .tar.gz file
// (verified when verify is given).
func Load(p string, verify *VerifyOptions, opts BuildOptions) (*bundle.Bundle, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("loading bundle: %w", err)
	}
	if st.IsDir() {
		src, err := Read(p)
		if err != nil {
			return nil, err
		}
		return Build(src, opts)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("loading bundle: %w", err)
	}
	defer f.Close()
	b, err := readTarGz(f, verify)
	if err != nil {
		return nil, fmt.Errorf("loading bundle %s: %w", p, err)
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
