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
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/internal/jsonexact"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// Compile builds a decision engine from a bundle's modules and data.
func Compile(ctx context.Context, b *bundle.Bundle, pkg string) (*rego.Engine, error) {
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	opts := []rego.Option{rego.Package(pkg), rego.Data(b.Data)}
	for _, m := range b.Modules {
		opts = append(opts, rego.Module(strings.TrimPrefix(m.Path, "/"), string(m.Raw)))
	}
	return rego.New(ctx, opts...)
}

// Loaded is a bundle compiled and in force.
type Loaded struct {
	Engine   *rego.Engine
	Revision string
	LoadedAt time.Time
	// Requires are what the bundle declared it requires, with what the
	// bundles in force before it did: a reload may not drop them.
	Requires Requirements
}

// Watcher keeps the last good bundle from a directory, a .tar.gz file, an
// HTTP bundle service (OPA's bundle protocol: ETag / If-None-Match) or a
// built-in bundle, and replaces it atomically between decisions when a new
// one builds, verifies, meets its requirements (see Validate) and
// compiles. A bundle that fails leaves the last good one in force; the
// failure is logged at ERROR, counted, and reported by Status.
//
// A directory or file is rebuilt only when its content changed (Digest):
// a reload of an unchanged source reads and hashes it, nothing more.
//
// Watcher is a prometheus.Collector of oslorego_bundle_revision_info,
// oslorego_bundle_reload_total{result} and
// oslorego_bundle_last_success_timestamp_seconds.
type Watcher struct {
	src    string
	fsys   fs.FS // a built-in bundle; nil otherwise
	verify *VerifyOptions
	opts   BuildOptions
	client *http.Client
	log    *slog.Logger

	cur    atomic.Pointer[Loaded]
	mu     sync.Mutex // serialises reloads; guards etag and digest
	etag   string
	digest string // of the source content last attempted

	state  sync.Mutex // guards last and lastAt
	last   error
	lastAt time.Time

	success, failure, unchanged atomic.Uint64
	lastOK                      atomic.Int64 // unix nanoseconds
	builds                      atomic.Uint64
}

// WatchOption configures a Watcher.
type WatchOption func(*Watcher)

// WithLogger logs reloads to l: failures at ERROR, new bundles at INFO
// with their revision. The default discards.
func WithLogger(l *slog.Logger) WatchOption {
	return func(w *Watcher) {
		if l != nil {
			w.log = l
		}
	}
}

// NewWatcher watches src: a directory, a .tar.gz file or an http(s) URL.
func NewWatcher(src string, verify *VerifyOptions, opts BuildOptions, client *http.Client, options ...WatchOption) *Watcher {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	w := &Watcher{src: src, verify: verify, opts: opts, client: client, log: slog.New(slog.DiscardHandler)}
	for _, o := range options {
		o(w)
	}
	return w
}

// NewBuiltinWatcher watches the built-in bundle name (see Builtin), read
// from the binary: it never changes, but it is reloaded, reported and
// counted like any other bundle.
func NewBuiltinWatcher(name string, opts BuildOptions, options ...WatchOption) (*Watcher, error) {
	sub, err := builtinFS(name)
	if err != nil {
		return nil, err
	}
	w := NewWatcher("built-in "+name+" bundle", nil, opts, nil, options...)
	w.fsys = sub
	return w, nil
}

// Current is the bundle in force, or nil before the first good load.
func (w *Watcher) Current() *Loaded { return w.cur.Load() }

// Source names what the watcher loads from.
func (w *Watcher) Source() string { return w.src }

// LastError is why the newest reload failed (nil when it succeeded).
func (w *Watcher) LastError() error {
	w.state.Lock()
	defer w.state.Unlock()
	return w.last
}

// Status reports whether a policy is in force (ready) and, in detail, its
// revision and, when the newest reload failed, that it failed and why.
func (w *Watcher) Status() (ready bool, detail string) {
	cur := w.cur.Load()
	w.state.Lock()
	last, at := w.last, w.lastAt
	w.state.Unlock()
	if cur == nil {
		detail = "no policy bundle loaded yet from " + w.src
		if last != nil {
			detail += fmt.Sprintf("; the newest load failed at %s: %v", at.UTC().Format(time.RFC3339), last)
		}
		return false, detail
	}
	detail = fmt.Sprintf("policy bundle %s revision %s loaded at %s", w.src, cur.Revision, cur.LoadedAt.UTC().Format(time.RFC3339))
	if last != nil {
		detail += fmt.Sprintf("; the newest reload failed at %s: %v (the last good bundle stays in force)", at.UTC().Format(time.RFC3339), last)
	}
	return true, detail
}

// Reload fetches the bundle once and puts it in force if it changed. It
// reports whether the bundle in force changed, and this attempt's error.
// A directory or file whose content is the same as at the last attempt
// is not built again (whether that attempt failed or not: LastError and
// Status keep reporting it).
func (w *Watcher) Reload(ctx context.Context) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed, same, err := w.reload(ctx)
	now := time.Now()
	switch {
	case err != nil:
		w.failure.Add(1)
		w.setLast(err, now)
		attrs := []any{"bundle", w.src, "error", err}
		if cur := w.cur.Load(); cur != nil {
			attrs = append(attrs, "revision_in_force", cur.Revision)
		}
		w.log.Error("policy bundle reload failed; the last good bundle stays in force", attrs...)
	case same:
		w.unchanged.Add(1)
		w.lastOK.Store(now.UnixNano())
	default:
		w.success.Add(1)
		w.lastOK.Store(now.UnixNano())
		w.setLast(nil, now)
		if changed {
			w.log.Info("policy bundle loaded", "bundle", w.src, "revision", w.cur.Load().Revision)
		}
	}
	return changed, err
}

func (w *Watcher) setLast(err error, at time.Time) {
	w.state.Lock()
	defer w.state.Unlock()
	w.last, w.lastAt = err, at
}

// reload does one attempt; same is true when the source did not change
// since the last attempt (nothing was built).
func (w *Watcher) reload(ctx context.Context) (changed, same bool, err error) {
	var b *bundle.Bundle
	etag := ""
	opts := w.opts
	if cur := w.cur.Load(); cur != nil {
		opts.Require = opts.Require.union(cur.Requires)
	}
	switch {
	case strings.HasPrefix(w.src, "http://") || strings.HasPrefix(w.src, "https://"):
		body, tag, notModified, err := w.fetch(ctx)
		if err != nil || notModified {
			return false, notModified, err
		}
		if b, err = readTarGz(bytes.NewReader(body), w.verify); err != nil {
			return false, false, fmt.Errorf("bundle from %s: %w", w.src, err)
		}
		if err := Validate(b, opts); err != nil {
			return false, false, fmt.Errorf("bundle from %s: %w", w.src, err)
		}
		etag = tag
	default:
		var fsys fs.FS
		var body []byte
		digest := ""
		if w.fsys != nil {
			fsys = w.fsys
		} else if st, err := os.Stat(w.src); err != nil {
			return false, false, fmt.Errorf("loading bundle: %w", err)
		} else if st.IsDir() {
			fsys = os.DirFS(w.src)
		} else if body, err = os.ReadFile(w.src); err != nil {
			return false, false, fmt.Errorf("loading bundle: %w", err)
		} else {
			sum := sha256.Sum256(body)
			digest = hex.EncodeToString(sum[:])
		}
		if fsys != nil {
			if digest, err = Digest(fsys); err != nil {
				return false, false, fmt.Errorf("bundle %s: %w", w.src, err)
			}
		}
		if digest == w.digest && w.digest != "" {
			return false, true, nil
		}
		w.digest = digest
		w.builds.Add(1)
		if fsys != nil {
			src, err := ReadFS(fsys, w.src)
			if err != nil {
				return false, false, err
			}
			if b, err = Build(src, opts); err != nil {
				return false, false, err
			}
		} else {
			if b, err = readTarGz(bytes.NewReader(body), w.verify); err != nil {
				return false, false, fmt.Errorf("loading bundle %s: %w", w.src, err)
			}
			if err := Validate(b, opts); err != nil {
				return false, false, fmt.Errorf("loading bundle %s: %w", w.src, err)
			}
		}
	}
	if cur := w.cur.Load(); cur != nil && cur.Revision == b.Manifest.Revision && b.Manifest.Revision != "" {
		w.etag = etag
		return false, false, nil // confirmed: a success, though nothing changes
	}
	req, err := BundleRequirements(b)
	if err != nil {
		return false, false, err
	}
	eng, err := Compile(ctx, b, w.opts.Package)
	if err != nil {
		return false, false, fmt.Errorf("bundle revision %q: %w", b.Manifest.Revision, err)
	}
	w.cur.Store(&Loaded{Engine: eng, Revision: b.Manifest.Revision, LoadedAt: time.Now(), Requires: req.union(opts.Require)})
	w.etag = etag
	return true, false, nil
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

// Run reloads every interval until ctx ends (Reload logs the outcome).
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = w.Reload(ctx) // logged, counted and reported by Reload
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var (
	revisionDesc = prometheus.NewDesc("oslorego_bundle_revision_info",
		"The revision of the policy bundle in force (1; absent before the first good load).", []string{"revision"}, nil)
	reloadDesc = prometheus.NewDesc("oslorego_bundle_reload_total",
		"Policy bundle reloads by result: success (a bundle was put in force or confirmed), failure (the last good one stays), unchanged (the source did not change).", []string{"result"}, nil)
	lastSuccessDesc = prometheus.NewDesc("oslorego_bundle_last_success_timestamp_seconds",
		"When a reload last succeeded or found the source unchanged (Unix time).", nil, nil)
)

// Describe implements prometheus.Collector.
func (w *Watcher) Describe(ch chan<- *prometheus.Desc) {
	ch <- revisionDesc
	ch <- reloadDesc
	ch <- lastSuccessDesc
}

// Collect implements prometheus.Collector.
func (w *Watcher) Collect(ch chan<- prometheus.Metric) {
	if cur := w.cur.Load(); cur != nil {
		ch <- prometheus.MustNewConstMetric(revisionDesc, prometheus.GaugeValue, 1, cur.Revision)
	}
	ch <- prometheus.MustNewConstMetric(reloadDesc, prometheus.CounterValue, float64(w.success.Load()), "success")
	ch <- prometheus.MustNewConstMetric(reloadDesc, prometheus.CounterValue, float64(w.failure.Load()), "failure")
	ch <- prometheus.MustNewConstMetric(reloadDesc, prometheus.CounterValue, float64(w.unchanged.Load()), "unchanged")
	if ns := w.lastOK.Load(); ns != 0 {
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(ns)/1e9)
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
	p, err := src.policy(opts.Options, src.Dir)
	if err != nil {
		return nil, err
	}
	ropts := []rego.Option{rego.Policy(p), rego.Package(pkg), rego.Data(src.Data)}
	for _, m := range src.Rego {
		// Named as the oslo files are.
		ropts = append(ropts, rego.Module(filepath.Join(src.Dir, m.File), m.Text))
	}
	eng, err := rego.New(ctx, ropts...)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", src.Dir, err)
	}
	return eng, nil
}

// EngineFromBundle compiles a built bundle into an engine that can explain
// decisions, from the oslo sources the build recorded in the manifest
// (metadata "oslorego"). A bundle without them gets a plain engine.
// Its decisions come from the recorded sources, translated again: decide
// with Compile, which runs the bundle's own modules.
func EngineFromBundle(ctx context.Context, b *bundle.Bundle) (*rego.Engine, error) {
	p, rec, err := recordedPolicy(b)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return Compile(ctx, b, "")
	}
	generated := map[string]bool{}
	for _, g := range rec.Generated {
		generated[g] = true
	}
	ropts := []rego.Option{rego.Data(b.Data)}
	for _, m := range b.Modules {
		if generated[m.Path] {
			continue
		}
		ropts = append(ropts, rego.Module(strings.TrimPrefix(m.Path, "/"), string(m.Raw)))
	}
	tr, err := translate.Translate(p, rec.Package)
	if err != nil {
		return nil, err
	}
	return rego.New(ctx, append(ropts, rego.Translation(tr))...)
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

// recordedPolicy rebuilds the oslo policy from the sources recorded in a
// built bundle, with the rules its raw Rego modules define declared; nil
// when the bundle records none.
func recordedPolicy(b *bundle.Bundle) (*oslo.Policy, *recorded, error) {
	meta, ok := b.Manifest.Metadata["oslorego"].(map[string]any)
	if !ok {
		return nil, nil, nil
	}
	var rec recorded
	raw, err := json.Marshal(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle metadata: %w", err)
	}
	// Ours: exact names, no unknown field, so an edit cannot swap a
	// source by case nor drop an option by a typo.
	if err := jsonexact.Unmarshal(raw, &rec, true); err != nil {
		return nil, nil, fmt.Errorf("bundle metadata oslorego: %w", err)
	}
	var layers []*oslo.Layer
	for _, f := range rec.Policies {
		l, err := oslo.ParseLayer(f.Path, []byte(f.Text))
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, l)
	}
	var defaults []oslo.RuleDefault
	if rec.Defaults != nil {
		if defaults, err = oslo.ParseDefaults(rec.Defaults.Path, []byte(rec.Defaults.Text)); err != nil {
			return nil, nil, err
		}
	}
	p, err := oslo.Build(layers, defaults, rec.Options)
	if err != nil {
		return nil, nil, err
	}
	generated := map[string]bool{}
	for _, g := range rec.Generated {
		generated[g] = true
	}
	for _, m := range b.Modules {
		if generated[m.Path] {
			continue
		}
		if err := p.DeclareRego(strings.TrimPrefix(m.Path, "/"), string(m.Raw), rec.Package); err != nil {
			return nil, nil, err
		}
	}
	return p, &rec, nil
}

// bundlePolicy is recordedPolicy and the package of the bundle's rules.
func bundlePolicy(b *bundle.Bundle, pkg string) (*oslo.Policy, string, error) {
	p, rec, err := recordedPolicy(b)
	if err != nil {
		return nil, "", err
	}
	if rec != nil && rec.Package != "" {
		pkg = rec.Package
	}
	if pkg == "" {
		pkg = translate.DefaultPackage
	}
	return p, pkg, nil
}
