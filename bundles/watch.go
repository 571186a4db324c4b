package bundles

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/rego"
)

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
// oslorego_bundle_last_success_timestamp_seconds (another prefix than
// oslorego_bundle with WithMetricsPrefix).
type Watcher struct {
	src   Source
	opts  Options
	log   *slog.Logger
	descs watchDescs

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

// WithMetricsPrefix names the watcher's metrics prefix_revision_info,
// prefix_reload_total and prefix_last_success_timestamp_seconds instead
// of oslorego_bundle_*: a second watcher (a shadow bundle) beside the
// policy in force, in one registry.
func WithMetricsPrefix(prefix string) WatchOption {
	return func(w *Watcher) { w.descs = newWatchDescs(prefix) }
}

// NewWatcher watches src, opened with opts (see Open). A built-in bundle
// never changes, but it is reloaded, reported and counted like any other.
func NewWatcher(src Source, opts Options, options ...WatchOption) *Watcher {
	w := &Watcher{src: src, opts: opts, log: slog.New(slog.DiscardHandler), descs: newWatchDescs("oslorego_bundle")}
	for _, o := range options {
		o(w)
	}
	return w
}

// Current is the bundle in force, or nil before the first good load.
func (w *Watcher) Current() *Loaded { return w.cur.Load() }

// Policy returns the engine in force and its revision (nil before the
// first good load): the watcher is the server's policy source.
func (w *Watcher) Policy() (*rego.Engine, string) { return w.cur.Load().Policy() }

// Source names what the watcher loads from.
func (w *Watcher) Source() string { return w.src.String() }

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
		detail = "no policy bundle loaded yet from " + w.src.String()
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
	opts := w.opts
	etag := ""
	if cur := w.cur.Load(); cur != nil {
		opts.Require = opts.Require.union(cur.Requires)
		etag = w.etag
	}
	c, err := w.src.read(ctx, opts.Client, etag)
	if err != nil || c.notModified {
		return false, c.notModified, err
	}
	if !w.src.remote() {
		digest, err := c.digest()
		if err != nil {
			return false, false, err
		}
		if digest == w.digest && w.digest != "" {
			return false, true, nil
		}
		w.digest = digest
		w.builds.Add(1)
	}
	b, err := c.bundle(opts)
	if err != nil {
		return false, false, err
	}
	if cur := w.cur.Load(); cur != nil && cur.Revision == b.Manifest.Revision && b.Manifest.Revision != "" {
		w.etag = c.etag
		return false, false, nil // confirmed: a success, though nothing changes
	}
	l, err := c.open(ctx, b, opts)
	if err != nil {
		return false, false, err
	}
	w.cur.Store(l)
	w.etag = c.etag
	return true, false, nil
}

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

// watchDescs are the descriptions of a watcher's metrics.
type watchDescs struct {
	revision, reload, lastSuccess *prometheus.Desc
}

func newWatchDescs(prefix string) watchDescs {
	return watchDescs{
		revision: prometheus.NewDesc(prefix+"_revision_info",
			"The revision of the policy bundle in force (1; absent before the first good load).", []string{"revision"}, nil),
		reload: prometheus.NewDesc(prefix+"_reload_total",
			"Policy bundle reloads by result: success (a bundle was put in force or confirmed), failure (the last good one stays), unchanged (the source did not change).", []string{"result"}, nil),
		lastSuccess: prometheus.NewDesc(prefix+"_last_success_timestamp_seconds",
			"When a reload last succeeded or found the source unchanged (Unix time).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (w *Watcher) Describe(ch chan<- *prometheus.Desc) {
	ch <- w.descs.revision
	ch <- w.descs.reload
	ch <- w.descs.lastSuccess
}

// Collect implements prometheus.Collector.
func (w *Watcher) Collect(ch chan<- prometheus.Metric) {
	if cur := w.cur.Load(); cur != nil {
		ch <- prometheus.MustNewConstMetric(w.descs.revision, prometheus.GaugeValue, 1, cur.Revision)
	}
	ch <- prometheus.MustNewConstMetric(w.descs.reload, prometheus.CounterValue, float64(w.success.Load()), "success")
	ch <- prometheus.MustNewConstMetric(w.descs.reload, prometheus.CounterValue, float64(w.failure.Load()), "failure")
	ch <- prometheus.MustNewConstMetric(w.descs.reload, prometheus.CounterValue, float64(w.unchanged.Load()), "unchanged")
	if ns := w.lastOK.Load(); ns != 0 {
		ch <- prometheus.MustNewConstMetric(w.descs.lastSuccess, prometheus.GaugeValue, float64(ns)/1e9)
	}
}
