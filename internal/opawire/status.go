package opawire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	pbundle "github.com/open-policy-agent/opa/v1/plugins/bundle"
	lstat "github.com/open-policy-agent/opa/v1/plugins/logs/status"
	"github.com/open-policy-agent/opa/v1/plugins/status"
)

// StatusConfig configures a StatusReporter.
type StatusConfig struct {
	// URL receives the reports (POST, JSON status.UpdateRequestV1).
	URL    string
	Client *http.Client
	// Interval is how often a report is sent even when nothing changed
	// (default 30 s); a change of the bundles' or the decision log's
	// status is reported within Poll (default 1 s).
	Interval, Poll time.Duration
	Labels         map[string]string
	// Bundles is the bundles' status now.
	Bundles func() map[string]*pbundle.Status
	// DecisionLogs is the decision log upload's status now (nil: none).
	DecisionLogs func() *lstat.Status
	Log          *slog.Logger
}

// StatusReporter sends OPA status reports.
type StatusReporter struct{ cfg StatusConfig }

// NewStatusReporter makes a reporter; Run sends.
func NewStatusReporter(cfg StatusConfig) (*StatusReporter, error) {
	if cfg.URL == "" || cfg.Bundles == nil {
		return nil, fmt.Errorf("status reports: no URL or no bundle status")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &StatusReporter{cfg: cfg}, nil
}

// Report is the status now.
func (r *StatusReporter) Report() *status.UpdateRequestV1 {
	req := &status.UpdateRequestV1{Labels: r.cfg.Labels, Bundles: r.cfg.Bundles()}
	if r.cfg.DecisionLogs != nil {
		req.DecisionLogs = r.cfg.DecisionLogs()
	}
	return req
}

// Run reports at once, on every change and every Interval, until ctx
// ends. A failed report is tried again at the next poll.
func (r *StatusReporter) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	var last *status.UpdateRequestV1
	var lastAt time.Time
	for {
		now := r.Report()
		if last == nil || !reflect.DeepEqual(now, last) || time.Since(lastAt) >= r.cfg.Interval {
			if err := r.send(ctx, now); err != nil {
				r.cfg.Log.Warn("status report failed", "url", r.cfg.URL, "error", err)
			} else {
				last, lastAt = now, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *StatusReporter) send(ctx context.Context, req *status.UpdateRequestV1) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding the status report: %w", err)
	}
	if _, err := post(ctx, r.cfg.Client, r.cfg.URL, bytes.NewReader(body), ""); err != nil {
		return fmt.Errorf("status report: %w", err)
	}
	return nil
}
