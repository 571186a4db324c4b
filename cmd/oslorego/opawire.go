package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	pbundle "github.com/open-policy-agent/opa/v1/plugins/bundle"
	lstat "github.com/open-policy-agent/opa/v1/plugins/logs/status"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/internal/opawire"
)

// opaWireFlags are serve's flags for OPA's wire formats: decision log
// uploads and status reports to OPA's management services.
type opaWireFlags struct {
	logURL         string
	buffer, batch  int
	interval       time.Duration
	statusURL      string
	statusInterval time.Duration
	// id names this process in the uploads' and reports' labels.
	id string
}

func (o *opaWireFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.logURL, "decision-log-url", "", "also upload every decision in OPA's decision log format (POST, gzipped JSON array of events) to this URL, e.g. http://sink/logs (the JSON lines log stays)")
	fs.IntVar(&o.buffer, "decision-log-buffer", 10000, "decisions waiting for --decision-log-url at most; more are dropped and counted (oslorego_decision_log_dropped_total)")
	fs.IntVar(&o.batch, "decision-log-batch", 1000, "decisions in one upload at most")
	fs.DurationVar(&o.interval, "decision-log-interval", 2*time.Second, "how often buffered decisions are uploaded (a full batch goes at once; a failed upload is retried with backoff up to 30s)")
	fs.StringVar(&o.statusURL, "status-url", "", "send status reports in OPA's status format (POST, JSON) to this URL, e.g. http://sink/status: at start, on every bundle or upload change, and every --status-interval")
	fs.DurationVar(&o.statusInterval, "status-interval", 30*time.Second, "how often a status report is sent when nothing changed")
}

// check refuses flags that cannot work, before anything starts.
func (o *opaWireFlags) check() error {
	for _, u := range []struct{ flag, v string }{{"--decision-log-url", o.logURL}, {"--status-url", o.statusURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return usageErr("%s %q: want an http(s) URL", u.flag, u.v)
		}
	}
	if o.buffer <= 0 || o.batch <= 0 || o.interval <= 0 || o.statusInterval <= 0 {
		return usageErr("--decision-log-buffer, --decision-log-batch, --decision-log-interval and --status-interval must be positive")
	}
	o.id = uuid.NewString()
	return nil
}

// labels are OPA's id and version labels, and the replica.
func (o *opaWireFlags) labels(replica string) map[string]string {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	l := map[string]string{"id": o.id, "version": version}
	if replica != "" {
		l["replica"] = replica
	}
	return l
}

// decisions tees dlog's decisions to --decision-log-url (dlog itself when
// it is not set). stop flushes what is buffered (for at most 10 s) and
// ends the uploads: call it after the server has stopped.
func (o *opaWireFlags) decisions(ctx context.Context, dlog *slog.Logger, reg *prometheus.Registry, log *slog.Logger, pkg, bundleName string) (*slog.Logger, *opawire.Uploader, func(), error) {
	if o.logURL == "" {
		return dlog, nil, func() {}, nil
	}
	up, err := opawire.NewUploader(opawire.UploaderConfig{URL: o.logURL, Buffer: o.buffer, Batch: o.batch, Interval: o.interval, Log: log})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := reg.Register(up); err != nil {
		return nil, nil, nil, fmt.Errorf("registering the decision log upload metrics: %w", err)
	}
	// Its own context: decisions taken while the server drains are sent.
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go up.Run(uctx, 10*time.Second)
	h := opawire.NewHandler(dlog.Handler(), up, opawire.EventConfig{
		Path:   strings.ReplaceAll(pkg, ".", "/") + "/allow",
		Bundle: bundleName,
		Labels: o.labels(""),
	})
	return slog.New(h), up, func() { cancel(); <-up.Done() }, nil
}

// reportStatus sends status reports to --status-url until ctx ends: the
// bundle in force (its revision, when it was activated, why the newest
// reload failed) and the decision log upload's state.
func (o *opaWireFlags) reportStatus(ctx context.Context, w *bundles.Watcher, up *opawire.Uploader, replica string, log *slog.Logger) error {
	if o.statusURL == "" {
		return nil
	}
	cfg := opawire.StatusConfig{
		URL: o.statusURL, Interval: o.statusInterval, Labels: o.labels(replica), Log: log,
		Bundles: func() map[string]*pbundle.Status { return bundleStatus(w) },
	}
	if up != nil {
		cfg.DecisionLogs = func() *lstat.Status { return up.Status() }
	}
	r, err := opawire.NewStatusReporter(cfg)
	if err != nil {
		return err
	}
	go r.Run(ctx)
	return nil
}

// bundleStatus is the watcher's bundle in OPA's bundle status.
func bundleStatus(w *bundles.Watcher) map[string]*pbundle.Status {
	s := &pbundle.Status{Name: w.Source(), Type: "snapshot"}
	if cur := w.Current(); cur != nil {
		s.ActiveRevision = cur.Revision
		s.LastSuccessfulActivation = cur.LoadedAt.UTC()
	}
	if err := w.LastError(); err != nil {
		s.Code, s.Message = "bundle_error", err.Error()
	}
	return map[string]*pbundle.Status{s.Name: s}
}

// bundleName names the bundle in uploads and status reports as the
// watcher names its source.
func (f *serveFlags) bundleName() string {
	if f.bundle == "" {
		return "built-in glance bundle"
	}
	return f.bundle
}
