package bundles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/internal/jsonexact"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// Source is where a bundle is read from; make one with Path, FS or
// Builtin. A directory is built on the fly; a .tar.gz file or an http(s)
// URL is a built bundle, verified when Options.Verify is given.
type Source struct {
	name string // the path or URL; for FS, the name given
	fsys fs.FS  // a directory held in an fs.FS; nil for Path
}

// Path is a bundle directory, a .tar.gz file, an http(s) URL (OPA's
// bundle protocol: a Watcher sends If-None-Match with the last ETag) or
// an oci://HOST/REPO:TAG reference (a Watcher fetches the bundle only when
// the tag names another manifest; see Push).
func Path(p string) Source { return Source{name: p} }

// FS is a bundle directory held in fsys (an embedded one, say), read in
// place; name is what messages call it.
func FS(fsys fs.FS, name string) Source { return Source{name: name, fsys: fsys} }

// String is the source's path, URL or name.
func (s Source) String() string { return s.name }

func (s Source) remote() bool {
	return s.fsys == nil && (strings.HasPrefix(s.name, "http://") || strings.HasPrefix(s.name, "https://") || s.oci())
}

// oci reports whether s is a bundle in an OCI registry.
func (s Source) oci() bool { return s.fsys == nil && strings.HasPrefix(s.name, OCIScheme) }

// content is one read of a source: a directory to build (fsys) or the
// bytes of a built bundle (body).
type content struct {
	src         Source
	fsys        fs.FS
	dir         string // the directory a Path names; "" otherwise
	body        []byte
	etag        string
	notModified bool
}

// read reads src once. etag, when not "", lets an http(s) source answer
// that the bundle has not changed (notModified).
func (s Source) read(ctx context.Context, client *http.Client, etag string) (content, error) {
	c := content{src: s, fsys: s.fsys}
	switch {
	case c.fsys != nil:
	case s.oci():
		var err error
		c.body, c.etag, c.notModified, err = fetchOCI(ctx, client, s.name, etag)
		if err != nil {
			return c, err
		}
	case s.remote():
		var err error
		c.body, c.etag, c.notModified, err = fetch(ctx, client, s.name, etag)
		if err != nil {
			return c, err
		}
	default:
		st, err := os.Stat(s.name)
		if err != nil {
			return c, fmt.Errorf("loading bundle: %w", err)
		}
		if st.IsDir() {
			c.fsys, c.dir = os.DirFS(s.name), s.name
		} else if c.body, err = os.ReadFile(s.name); err != nil {
			return c, fmt.Errorf("loading bundle: %w", err)
		}
	}
	return c, nil
}

// digest identifies what a build or read of c takes in: a hash of a
// directory's files, or of a file's bytes.
func (c content) digest() (string, error) {
	if c.fsys != nil {
		d, err := Digest(c.fsys)
		if err != nil {
			return "", fmt.Errorf("bundle %s: %w", c.src, err)
		}
		return d, nil
	}
	sum := sha256.Sum256(c.body)
	return hex.EncodeToString(sum[:]), nil
}

// bundle builds a directory, or reads and verifies a built bundle, and
// checks it against its requirements and opts.
func (c content) bundle(opts Options) (*bundle.Bundle, error) {
	if c.fsys != nil {
		src, err := readDir(c.fsys, c.src.name)
		if err != nil {
			return nil, err
		}
		return buildDir(src, opts)
	}
	what := "loading bundle " + c.src.name
	if c.src.remote() {
		what = "bundle from " + c.src.name
	}
	b, err := readTarGz(bytes.NewReader(c.body), opts.Verify)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := Validate(b, opts); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// Load reads the bundle at src: a directory is built (see the package
// documentation), a built one verified with opts.Verify; either is checked
// against its requirements and opts. Use it to write or test a bundle;
// Open to decide with it.
func Load(ctx context.Context, src Source, opts Options) (*bundle.Bundle, error) {
	_, b, err := load(ctx, src, opts)
	return b, err
}

// Open loads the bundle at src (see Load) and compiles it into the engine
// that decides with its modules and data.
func Open(ctx context.Context, src Source, opts Options) (*Loaded, error) {
	c, b, err := load(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	return c.open(ctx, b, opts)
}

func load(ctx context.Context, src Source, opts Options) (content, *bundle.Bundle, error) {
	c, err := src.read(ctx, opts.Client, "")
	if err != nil {
		return c, nil, err
	}
	b, err := c.bundle(opts)
	return c, b, err
}

// Loaded is a bundle compiled: the engine that decides with its modules,
// and the revision it is reported under.
type Loaded struct {
	Engine   *rego.Engine
	Revision string
	LoadedAt time.Time
	// Requires are what the bundle declared it requires, with what the
	// bundles in force before it did: a reload may not drop them.
	Requires Requirements

	bundle *bundle.Bundle
	// dir names the oslo sources of a directory in explanations, as
	// given; "" names them relative to the bundle.
	dir string
}

// Policy returns the engine and its revision; a nil Loaded has none. A
// Loaded is a fixed policy source for the server.
func (l *Loaded) Policy() (*rego.Engine, string) {
	if l == nil {
		return nil, ""
	}
	return l.Engine, l.Revision
}

// Explainer compiles an engine that can explain decisions, from the oslo
// sources the build recorded in the bundle's manifest (metadata
// "oslorego") and its other modules. A bundle without them gets an
// engine like Engine, which cannot explain. Its decisions come from the
// recorded sources, translated again: decide with Engine, which runs the
// bundle's own modules.
func (l *Loaded) Explainer(ctx context.Context) (*rego.Engine, error) {
	rec, err := recordedSources(l.bundle)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return engine(ctx, l.bundle, "")
	}
	p, err := rec.policy(l.dir)
	if err != nil {
		return nil, err
	}
	opts := []rego.Option{rego.Policy(p), rego.Package(rec.Package), rego.Data(l.bundle.Data)}
	for _, m := range rec.raw(l.bundle) {
		opts = append(opts, rego.Module(path.Join(l.dir, m.File), m.Text))
	}
	return rego.New(ctx, opts...)
}

// open compiles b, the bundle of c.
func (c content) open(ctx context.Context, b *bundle.Bundle, opts Options) (*Loaded, error) {
	req, err := BundleRequirements(b)
	if err != nil {
		return nil, err
	}
	eng, err := engine(ctx, b, opts.Package)
	if err != nil {
		return nil, fmt.Errorf("bundle revision %q: %w", b.Manifest.Revision, err)
	}
	return &Loaded{Engine: eng, Revision: b.Manifest.Revision, LoadedAt: time.Now(), Requires: req.union(opts.Require), bundle: b, dir: c.dir}, nil
}

// engine compiles a bundle's modules and data, deciding with the rules of
// package pkg ("" for translate.DefaultPackage). When the bundle records
// the oslo sources it was built from and its modules carry exactly their
// translation (rego.Built checks that), the engine knows the translation:
// it names the rule that decided and takes the holds and native paths.
// Otherwise (no sources, or modules edited after the build) it compiles
// the modules alone, deciding the same way, only slower.
func engine(ctx context.Context, b *bundle.Bundle, pkg string) (*rego.Engine, error) {
	opts := []rego.Option{rego.Data(b.Data)}
	for _, m := range b.Modules {
		opts = append(opts, rego.Module(strings.TrimPrefix(m.Path, "/"), string(m.Raw)))
	}
	if tr := builtFrom(b, pkg); tr != nil {
		if eng, err := rego.New(ctx, append(opts, rego.Built(tr))...); err == nil {
			return eng, nil
		}
	}
	return rego.New(ctx, append(opts, rego.Package(pkg))...)
}

// builtFrom translates the oslo sources b records in package pkg; nil when
// it records none, in another package, or they no longer translate.
func builtFrom(b *bundle.Bundle, pkg string) *translate.Translation {
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	rec, err := recordedSources(b)
	if err != nil || rec == nil || rec.Package != pkg {
		return nil
	}
	p, _, err := bundlePolicy(b, pkg)
	if err != nil || p == nil {
		return nil
	}
	tr, err := translate.Translate(p, pkg)
	if err != nil {
		return nil
	}
	return tr
}

// fetch GETs a bundle, with If-None-Match when etag is not "".
func fetch(ctx context.Context, client *http.Client, url, etag string) (body []byte, newTag string, notModified bool, err error) {
	if client == nil {
		client = defaultClient()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", false, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, "", true, nil
	case http.StatusOK:
	default:
		return nil, "", false, fmt.Errorf("fetching bundle from %s: %s", url, resp.Status)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBundleBytes+1))
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle: %w", err)
	}
	if len(body) > maxBundleBytes {
		return nil, "", false, errors.New("fetching bundle: larger than 256 MiB")
	}
	return body, resp.Header.Get("ETag"), false, nil
}

const maxBundleBytes = 256 << 20

// defaultClient fetches remote bundles when Options.Client is nil.
func defaultClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

func readTarGz(r io.Reader, verify *VerifyOptions) (*bundle.Bundle, error) {
	br := bundle.NewReader(r).WithRegoVersion(ast.RegoV1).WithProcessAnnotations(true)
	if verify != nil {
		keys := map[string]*bundle.KeyConfig{verify.KeyID: {Key: verify.Key, Algorithm: verify.Alg}}
		br = br.WithBundleVerificationConfig(bundle.NewVerificationConfig(keys, verify.KeyID, "", nil))
	} else {
		br = br.WithSkipBundleVerification(true)
	}
	b, err := br.Read()
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// recordedFile is one oslo source recorded in the manifest.
type recordedFile struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// recorded is the manifest metadata "oslorego" a build writes (see
// sourcesMetadata). Options are recorded under oslo.Options' Go field
// names.
type recorded struct {
	Policies  []recordedFile `json:"policies"`
	Defaults  *recordedFile  `json:"defaults"`
	Options   oslo.Options   `json:"options"`
	Package   string         `json:"package"`
	Generated []string       `json:"translated"`
}

// recordedSources reads the oslo sources a build recorded in b; nil when
// it records none.
func recordedSources(b *bundle.Bundle) (*recorded, error) {
	meta, ok := b.Manifest.Metadata["oslorego"].(map[string]any)
	if !ok {
		return nil, nil
	}
	var rec recorded
	raw, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("bundle metadata: %w", err)
	}
	// Ours: exact names, no unknown field, so an edit cannot swap a
	// source by case nor drop an option by a typo.
	if err := jsonexact.Unmarshal(raw, &rec, true); err != nil {
		return nil, fmt.Errorf("bundle metadata oslorego: %w", err)
	}
	return &rec, nil
}

// policy rebuilds the oslo policy from the recorded sources, naming each
// file under dir.
func (rec *recorded) policy(dir string) (*oslo.Policy, error) {
	var layers []*oslo.Layer
	for _, f := range rec.Policies {
		l, err := oslo.ParseLayer(path.Join(dir, f.Path), []byte(f.Text))
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	var defaults []oslo.RuleDefault
	if rec.Defaults != nil {
		var err error
		if defaults, err = oslo.ParseDefaults(path.Join(dir, rec.Defaults.Path), []byte(rec.Defaults.Text)); err != nil {
			return nil, err
		}
	}
	return oslo.Build(layers, defaults, rec.Options)
}

// raw are the modules of b the build did not translate from the recorded
// sources: raw Rego, tests, property protections.
func (rec *recorded) raw(b *bundle.Bundle) []translate.Module {
	generated := map[string]bool{}
	for _, g := range rec.Generated {
		generated[g] = true
	}
	var out []translate.Module
	for _, m := range b.Modules {
		if !generated[m.Path] {
			out = append(out, translate.Module{File: strings.TrimPrefix(m.Path, "/"), Text: string(m.Raw)})
		}
	}
	return out
}

// bundlePolicy is the oslo policy b records, with the rules its raw Rego
// modules define declared (nil when b records none), and the package of
// the bundle's rules.
func bundlePolicy(b *bundle.Bundle, pkg string) (*oslo.Policy, string, error) {
	rec, err := recordedSources(b)
	if err != nil {
		return nil, "", err
	}
	if rec != nil && rec.Package != "" {
		pkg = rec.Package
	}
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	if rec == nil {
		return nil, pkg, nil
	}
	p, err := rec.policy("")
	if err != nil {
		return nil, "", err
	}
	for _, m := range rec.raw(b) {
		if err := p.DeclareRego(m.File, m.Text, rec.Package); err != nil {
			return nil, "", err
		}
	}
	return p, pkg, nil
}

// Sources are the oslo sources a bundle was built from, as its build
// recorded them, for tools that reason about the rules rather than run
// them (oslorego diff).
type Sources struct {
	// Policy is the effective oslo policy, with the rules the raw Rego
	// modules define declared; nil when the bundle records no oslo sources.
	Policy *oslo.Policy
	// Defaults are the registered defaults the build read (none: nil).
	Defaults []oslo.RuleDefault
	// Options are the options the build translated with.
	Options oslo.Options
	// Package is the Rego package of the rules.
	Package string
	// Raw are the modules the build did not translate (raw Rego, tests,
	// property protections); every module when Policy is nil.
	Raw  []translate.Module
	Data map[string]any
}

// Sources returns what the bundle was built from (see Sources).
func (l *Loaded) Sources() (*Sources, error) {
	rec, err := recordedSources(l.bundle)
	if err != nil {
		return nil, err
	}
	s := &Sources{Data: l.bundle.Data, Package: translate.DefaultPackage}
	if rec == nil {
		for _, m := range l.bundle.Modules {
			s.Raw = append(s.Raw, translate.Module{File: strings.TrimPrefix(m.Path, "/"), Text: string(m.Raw)})
		}
		return s, nil
	}
	if rec.Package != "" {
		s.Package = rec.Package
	}
	s.Options = rec.Options
	s.Raw = rec.raw(l.bundle)
	if s.Policy, _, err = bundlePolicy(l.bundle, s.Package); err != nil {
		return nil, err
	}
	if rec.Defaults != nil {
		if s.Defaults, err = oslo.ParseDefaults(rec.Defaults.Path, []byte(rec.Defaults.Text)); err != nil {
			return nil, err
		}
	}
	return s, nil
}
