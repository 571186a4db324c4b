package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
)

// Compile builds a decision engine from a bundle's modules and data.
func Compile(ctx context.Context, b *bundle.Bundle, pkg string) (*rego.Engine, error) {
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	modules := map[string]string{}
	for _, m := range b.Modules {
		modules[strings.TrimPrefix(m.Path, "/")] = string(m.Raw)
	}
	return rego.NewFromModules(ctx, pkg, modules, rego.WithData(b.Data))
}

// Loaded is a bundle compiled and in force.
type Loaded struct {
	Engine   *rego.Engine
	Revision string
	LoadedAt time.Time
}

// Watcher keeps the last good bundle from a directory, a .tar.gz file, or
// an HTTP bundle service (OPA's bundle protocol: ETag / If-None-Match), and
// replaces it atomically between decisions when a new one builds, verifies
// and compiles. A bundle that fails leaves the last good one in force.
type Watcher struct {
	src    string
	verify *VerifyOptions
	opts   BuildOptions
	client *http.Client

	cur  atomic.Pointer[Loaded]
	mu   sync.Mutex // serialises reloads
	etag string
	last error
}

// NewWatcher watches src: a directory, a .tar.gz file or an http(s) URL.
func NewWatcher(src string, verify *VerifyOptions, opts BuildOptions, client *http.Client) *Watcher {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Watcher{src: src, verify: verify, opts: opts, client: client}
}

// Current is the bundle in force, or nil before the first good load.
func (w *Watcher) Current() *Loaded { return w.cur.Load() }

// LastError is why the last reload failed (nil when it succeeded).
func (w *Watcher) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Reload fetches the bundle once and puts it in force if it changed. It
// reports whether the bundle in force changed.
func (w *Watcher) Reload(ctx context.Context) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed, err := w.reload(ctx)
	w.last = err
	return changed, err
}

func (w *Watcher) reload(ctx context.Context) (bool, error) {
	var b *bundle.Bundle
	etag := ""
	if strings.HasPrefix(w.src, "http://") || strings.HasPrefix(w.src, "https://") {
		body, tag, notModified, err := w.fetch(ctx)
		if err != nil || notModified {
			return false, err
		}
		if b, err = readTarGz(bytes.NewReader(body), w.verify); err != nil {
			return false, fmt.Errorf("bundle from %s: %w", w.src, err)
		}
		etag = tag
	} else {
		var err error
		if b, err = Load(w.src, w.verify, w.opts); err != nil {
			return false, err
		}
	}
	if cur := w.cur.Load(); cur != nil && cur.Revision == b.Manifest.Revision && b.Manifest.Revision != "" {
		w.etag = etag
		return false, nil
	}
	eng, err := Compile(ctx, b, w.opts.Package)
	if err != nil {
		return false, fmt.Errorf("bundle revision %q: %w", b.Manifest.Revision, err)
	}
	w.cur.Store(&Loaded{Engine: eng, Revision: b.Manifest.Revision, LoadedAt: time.Now()})
	w.etag = etag
	return true, nil
}

// fetch GETs the bundle, with If-None-Match when an ETag is known.
func (w *Watcher) fetch(ctx context.Context) (body []byte, etag string, notModified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.src, nil)
	if err != nil {
		return nil, "", false, err
	}
	if w.etag != "" && w.cur.Load() != nil {
		req.Header.Set("If-None-Match", w.etag)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, "", false, fmt.Errorf("fetching bundle: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, "", true, nil
	case http.StatusOK:
	default:
		return nil, "", false, fmt.Errorf("fetching bundle from %s: %s", w.src, resp.Status)
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

// Run reloads every interval until ctx ends, reporting failures to logf.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, logf func(format string, args ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.Reload(ctx); err != nil && logf != nil {
			logf("bundle %s: %v (the last good bundle stays in force)", w.src, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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

// EngineFromDir compiles a bundle directory into an engine that keeps the
// oslo sources, so that it can explain decisions (Compile, from a built
// bundle, cannot).
func EngineFromDir(ctx context.Context, src *Source, opts BuildOptions) (*rego.Engine, error) {
	pkg := opts.Package
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	p, err := translate.Load(src.Policies, src.Defaults, opts.Options)
	if err != nil {
		return nil, err
	}
	ropts := []rego.Option{rego.WithData(src.Data)}
	for _, m := range src.Rego {
		file := filepath.Join(src.Dir, m.File) // as the oslo files are named
		if err := p.DeclareRego(file, m.Text, pkg); err != nil {
			return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
		}
		ropts = append(ropts, rego.WithModule(file, m.Text))
	}
	tr, err := translate.Translate(p, pkg)
	if err != nil {
		return nil, err
	}
	return rego.New(ctx, tr, ropts...)
}

// EngineFromBundle compiles a built bundle into an engine that can explain
// decisions, from the oslo sources the build recorded in the manifest
// (metadata "oslorego"). A bundle without them gets a plain engine.
func EngineFromBundle(ctx context.Context, b *bundle.Bundle) (*rego.Engine, error) {
	meta, ok := b.Manifest.Metadata["oslorego"].(map[string]any)
	if !ok {
		return Compile(ctx, b, "")
	}
	var rec struct {
		Policies  []struct{ Path, Text string } `json:"policies"`
		Defaults  *struct{ Path, Text string }  `json:"defaults"`
		Options   translate.Options             `json:"options"`
		Package   string                        `json:"package"`
		Generated []string                      `json:"translated"`
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("bundle metadata: %w", err)
	}
	var layers []*translate.Layer
	for _, f := range rec.Policies {
		l, err := translate.ParseLayer(f.Path, []byte(f.Text))
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	var defaults []translate.RuleDefault
	if rec.Defaults != nil {
		if defaults, err = translate.ParseDefaults(rec.Defaults.Path, []byte(rec.Defaults.Text)); err != nil {
			return nil, err
		}
	}
	p, err := translate.Build(layers, defaults, rec.Options)
	if err != nil {
		return nil, err
	}
	generated := map[string]bool{}
	for _, g := range rec.Generated {
		generated[g] = true
	}
	ropts := []rego.Option{rego.WithData(b.Data)}
	for _, m := range b.Modules {
		if generated[m.Path] {
			continue
		}
		file := strings.TrimPrefix(m.Path, "/")
		if err := p.DeclareRego(file, string(m.Raw), rec.Package); err != nil {
			return nil, err
		}
		ropts = append(ropts, rego.WithModule(file, string(m.Raw)))
	}
	tr, err := translate.Translate(p, rec.Package)
	if err != nil {
		return nil, err
	}
	return rego.New(ctx, tr, ropts...)
}
