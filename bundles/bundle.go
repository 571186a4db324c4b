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
//
// A bundle may declare what it must contain, in its .manifest metadata:
//
//	{"metadata": {"oslorego_requires": {"rules": ["download_image", "restricted"], "files": ["policy.yaml"]}}}
//
// Load, Open and Watcher refuse a bundle that lacks a declared rule
// (defined by the oslo files or by rules[NAME] in Rego) or file (a path
// relative to the directory; a built bundle records its files). A Watcher
// also holds every reload to the requirements of the bundle in force, so
// deleting policy.yaml together with the declaration is refused too (a
// restart lifts them). Options.Decidable lists actions that must
// not raise for every input (the served routes'): a bundle in which one
// always reaches a rule: cycle is refused, with the cycle (see Validate).
//
// Revisions are a hash of the translated modules and data; the modules
// name their oslo sources by paths relative to the bundle, so the same
// content has the same revision wherever it is read from (the built-in
// bundle is read in place from the binary, see Builtin).
//
// A Source names where a bundle is: Path (a directory, a .tar.gz file, an
// http(s) URL or an oci:// reference), FS (a directory held in an fs.FS) or Builtin. Open is
// the one way from a source to a decision engine; Load stops at the
// bundle (to write or test it); a Watcher keeps the last good one in
// force.
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
	"net/http"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"
	"gopkg.in/yaml.v3"

	"github.com/oslorego/oslorego/glance"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// dirSource is what a bundle directory holds, read but not yet translated.
type dirSource struct {
	// Dir names the directory in messages and explanations; FS holds it.
	Dir string
	FS  fs.FS
	// Policies are the oslo policy file and the policy.d overlay directory,
	// in order, as slash paths in FS.
	Policies []string
	// Defaults is the registered defaults file in FS, or "".
	Defaults string
	// Rego are the raw modules (tests included), by path relative to Dir.
	Rego     []translate.Module
	Data     map[string]any
	Manifest *bundle.Manifest
	// Protections are Glance's property protections, if the directory has
	// a property protection file.
	Protections *glance.File
	// Files are every regular file of the directory (hidden directories
	// left out), as slash paths: what a bundle's requirements may name.
	Files []string
}

// readDir reads a bundle directory held in fsys (an embedded one, say);
// name is the directory's name in messages.
func readDir(fsys fs.FS, name string) (*dirSource, error) {
	src := &dirSource{Dir: name, FS: fsys, Data: map[string]any{}}
	exists := func(p string) bool { _, err := fs.Stat(fsys, p); return err == nil }
	var mains []string
	for _, f := range []string{"policy.json", "policy.yaml", "policy.yml"} {
		if exists(f) {
			mains = append(mains, f)
		}
	}
	if len(mains) > 1 {
		return nil, fmt.Errorf("%s: more than one oslo policy file: %s", name, strings.Join(mains, ", "))
	}
	src.Policies = mains
	if st, err := fs.Stat(fsys, "policy.d"); err == nil && st.IsDir() {
		src.Policies = append(src.Policies, "policy.d")
	}
	for _, f := range []string{"defaults.json", "defaults.yaml", "defaults.yml"} {
		if exists(f) {
			if src.Defaults != "" {
				return nil, fmt.Errorf("%s: more than one defaults file", name)
			}
			src.Defaults = f
		}
	}
	files, err := bundleFiles(fsys)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", name, err)
	}
	src.Files = files
	for _, p := range files {
		if !strings.HasSuffix(p, ".rego") || strings.HasPrefix(p, "policy.d/") {
			continue
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s: %w", name, err)
		}
		src.Rego = append(src.Rego, translate.Module{File: p, Text: string(b)})
	}
	for _, f := range []string{"data.json", "data.yaml", "data.yml"} {
		b, err := fs.ReadFile(fsys, f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s: %w", name, err)
		}
		var v map[string]any
		if strings.HasSuffix(f, ".json") {
			err = util.UnmarshalJSON(b, &v)
		} else {
			err = yaml.Unmarshal(b, &v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(name, f), err)
		}
		for k, val := range v {
			if _, dup := src.Data[k]; dup {
				return nil, fmt.Errorf("%s: data key %q is defined twice", name, k)
			}
			src.Data[k] = val
		}
	}
	for _, f := range []glance.Format{glance.Roles, glance.Policies} {
		p := "property-protections-" + string(f) + ".conf"
		b, err := fs.ReadFile(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s: %w", name, err)
		}
		if src.Protections != nil {
			return nil, fmt.Errorf("%s: more than one property protection file", name)
		}
		if src.Protections, err = glance.Parse(filepath.Join(name, p), b, f); err != nil {
			return nil, err
		}
	}
	if b, err := fs.ReadFile(fsys, ".manifest"); err == nil {
		var m bundle.Manifest
		if err := util.UnmarshalJSON(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(name, ".manifest"), err)
		}
		src.Manifest = &m
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading bundle %s: %w", name, err)
	}
	if len(src.Policies) == 0 && src.Defaults == "" && len(src.Rego) == 0 {
		return nil, fmt.Errorf("%s: no oslo policy, defaults or Rego in the bundle directory", name)
	}
	return src, nil
}

// policy parses the oslo files into a policy, naming each file by its
// path in the bundle, so that the bundle's content, and so its revision,
// does not depend on where the directory is.
func (src *dirSource) policy(opts oslo.Options) (*oslo.Policy, error) {
	texts, err := src.policyTexts()
	if err != nil {
		return nil, err
	}
	var layers []*oslo.Layer
	for _, t := range texts {
		l, err := oslo.ParseLayer(t.path, t.data)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	var defaults []oslo.RuleDefault
	if src.Defaults != "" {
		data, err := fs.ReadFile(src.FS, src.Defaults)
		if err != nil {
			return nil, fmt.Errorf("reading defaults: %w", err)
		}
		if defaults, err = oslo.ParseDefaults(src.Defaults, data); err != nil {
			return nil, err
		}
	}
	return oslo.Build(layers, defaults, opts)
}

// policyText is one oslo policy file of a source, by its path in the source.
type policyText struct {
	path string
	data []byte
}

// policyTexts reads the oslo policy file and overlays in the order they apply.
func (src *dirSource) policyTexts() ([]policyText, error) {
	var texts []policyText
	for _, p := range src.Policies {
		files, err := src.policyFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := fs.ReadFile(src.FS, f)
			if err != nil {
				return nil, fmt.Errorf("reading policy: %w", err)
			}
			texts = append(texts, policyText{f, data})
		}
	}
	return texts, nil
}

// policyFiles is p, or the files of the overlay directory p in sorted
// order (as oslo.ReadLayers reads them).
func (src *dirSource) policyFiles(p string) ([]string, error) {
	st, err := fs.Stat(src.FS, p)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := fs.ReadDir(src.FS, p)
	if err != nil {
		return nil, fmt.Errorf("reading policy directory: %w", err)
	}
	var out []string
	for _, e := range entries { // sorted by name
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, path.Join(p, e.Name()))
		}
	}
	return out, nil
}

// Digest is a hash of every regular file of a bundle directory (hidden
// directories left out), by path and content: cheap to compute, and equal
// only when nothing a build reads has changed.
func Digest(fsys fs.FS) (string, error) {
	files, err := bundleFiles(fsys)
	if err != nil {
		return "", fmt.Errorf("hashing bundle directory: %w", err)
	}
	h := sha256.New()
	for _, p := range files {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", fmt.Errorf("hashing bundle directory: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// bundleFiles lists the files a build reads, in walk order: regular files
// and links to files, hidden directories left out. readDir and Digest share it
// so that the digest changes exactly when what a build reads does.
func bundleFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if st, err := fs.Stat(fsys, p); err == nil && st.IsDir() {
			return nil // a link to a directory is not walked
		}
		files = append(files, p)
		return nil
	})
	return files, err
}

// Options shape how a bundle is built, read and checked.
type Options struct {
	// Revision overrides the manifest's of a directory's bundle (default:
	// a hash of the content).
	Revision string
	Options  oslo.Options
	// Package is the Rego package of the translated rules.
	Package string
	// Require adds requirements to those the bundle declares (see
	// Validate); a Watcher adds those of the bundle in force, so that a
	// reload cannot drop them.
	Require Requirements
	// Decidable are actions that must not raise for every input: the
	// served routes' actions (see Validate).
	Decidable []string
	// Verify checks the signature of a built bundle (a .tar.gz file or
	// URL); nil reads it unverified.
	Verify *VerifyOptions
	// Client fetches an http(s) or oci:// source (default: one with a 30 s timeout).
	Client *http.Client
	// OsloPolicyOPA adds to a directory's bundle, for every oslo rule, the
	// package that the oslo.policy.opa plugin queries (see PluginPath),
	// under manifest roots of their own, so that stock "opa run -s -b"
	// answers the plugin with oslo's decisions.
	OsloPolicyOPA bool
}

// buildDir translates the oslo files, adds the raw Rego and data, checks that
// everything compiles together, and returns the bundle.
func buildDir(src *dirSource, opts Options) (*bundle.Bundle, error) {
	pkg := opts.Package
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	b := &bundle.Bundle{Data: src.Data}
	var mods []translate.Module
	var meta map[string]any
	var ruleNames []string
	if len(src.Policies) > 0 || src.Defaults != "" {
		p, err := src.policy(opts.Options)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
		}
		for _, m := range src.Rego {
			if err := p.DeclareRego(m.File, m.Text, pkg); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
			}
		}
		tr, err := translate.Translate(p, pkg)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Rules {
			ruleNames = append(ruleNames, r.Name)
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
		text, err := glance.Rego(src.Protections, "", pkg)
		if err != nil {
			return nil, err
		}
		mods = append(mods, translate.Module{File: strings.ReplaceAll(glance.DefaultPackage, ".", "/") + ".rego", Text: text})
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
	parsed := map[string]*ast.Module{}
	parse := func(mods []translate.Module) error {
		for _, m := range mods {
			pm, err := ast.ParseModuleWithOpts(m.File, m.Text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				return fmt.Errorf("bundle %s: %w", src.Dir, err)
			}
			parsed[m.File] = pm
		}
		return nil
	}
	if err := parse(mods); err != nil {
		return nil, err
	}
	var roots []string
	if src.Manifest != nil && src.Manifest.Roots != nil {
		roots = append([]string(nil), *src.Manifest.Roots...)
	} else {
		roots = computeRoots(parsed, src.Data)
	}
	if opts.OsloPolicyOPA {
		extra, extraRoots, err := pluginModules(ruleNames, pkg, roots)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
		}
		for _, m := range extra {
			if _, dup := parsed[m.File]; dup {
				return nil, fmt.Errorf("bundle %s: %s would hide the oslo.policy.opa module of the same path", src.Dir, m.File)
			}
		}
		if err := parse(extra); err != nil {
			return nil, err
		}
		mods = append(mods, extra...)
		roots = append(roots, extraRoots...)
		sort.Strings(roots)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].File < mods[j].File })
	for _, m := range mods {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + m.File, Path: "/" + m.File, Raw: []byte(m.Text), Parsed: parsed[m.File]})
	}
	c := ast.NewCompiler()
	if c.Compile(parsed); c.Failed() {
		return nil, fmt.Errorf("bundle %s does not compile: %w", src.Dir, c.Errors)
	}
	if src.Manifest != nil {
		b.Manifest = *src.Manifest
	}
	if b.Manifest.Metadata == nil {
		b.Manifest.Metadata = map[string]any{}
	}
	if meta != nil {
		b.Manifest.Metadata["oslorego"] = meta
	}
	files := make([]any, len(src.Files))
	for i, f := range src.Files {
		files[i] = f
	}
	b.Manifest.Metadata[filesKey] = files
	b.Manifest.Roots = &roots
	switch {
	case opts.Revision != "":
		b.Manifest.Revision = opts.Revision
	case b.Manifest.Revision == "":
		b.Manifest.Revision = contentHash(b)
	}
	if err := Validate(b, opts); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
	}
	return b, nil
}

// sourcesMetadata records the oslo sources in the manifest, so that a built
// bundle can still explain decisions with the oslo text and file:line.
func sourcesMetadata(src *dirSource, opts oslo.Options, pkg string, translated []translate.Module) (map[string]any, error) {
	texts, err := src.policyTexts()
	if err != nil {
		return nil, err
	}
	var files []any
	for _, t := range texts {
		files = append(files, map[string]any{"path": t.path, "text": string(t.data)})
	}
	meta := map[string]any{"policies": files, "package": pkg}
	if src.Defaults != "" {
		text, err := fs.ReadFile(src.FS, src.Defaults)
		if err != nil {
			return nil, fmt.Errorf("reading defaults: %w", err)
		}
		meta["defaults"] = map[string]any{"path": src.Defaults, "text": string(text)}
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
