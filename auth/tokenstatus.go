package auth

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OnError is what a TokenFile does while its file cannot be read or
// parsed (a hand edit that broke the JSON, a permission change).
type OnError int

const (
	// RefuseOnError refuses every token (ErrUnavailable, 503) until the
	// file is fixed: the edit that broke it may have been a revocation.
	// The default.
	RefuseOnError OnError = iota
	// KeepOnError keeps the tokens of the last good read in force, revoked
	// ones included, as the operator chose. A file that was never good
	// still refuses every token.
	KeepOnError
)

// String is the flag value: "refuse" or "keep".
func (o OnError) String() string {
	if o == KeepOnError {
		return "keep"
	}
	return "refuse"
}

// ParseOnError reads "refuse" or "keep".
func ParseOnError(s string) (OnError, error) {
	switch s {
	case "refuse":
		return RefuseOnError, nil
	case "keep":
		return KeepOnError, nil
	}
	return RefuseOnError, fmt.Errorf("tokens on error %q: want refuse or keep", s)
}

// TokenFileOption configures NewTokenFile.
type TokenFileOption func(*TokenFile)

// WithLogger logs read failures (ERROR) and recoveries (INFO) to l; the
// default discards them.
func WithLogger(l *slog.Logger) TokenFileOption {
	return func(f *TokenFile) {
		if l != nil {
			f.log = l
		}
	}
}

// WithOnError chooses what is in force while the file is bad; the default
// is RefuseOnError.
func WithOnError(o OnError) TokenFileOption {
	return func(f *TokenFile) { f.onError = o }
}

// Status re-reads the file if it changed and reports whether tokens can be
// checked: false while every token is refused because the file is bad.
// With KeepOnError a bad file after a good read is ready, and detail says
// so. It is the server's readiness hook.
func (f *TokenFile) Status() (ready bool, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statLocked()
	switch {
	case f.lastErr == nil && f.absent:
		return true, fmt.Sprintf("tokens file %s absent: no token is valid", f.path)
	case f.lastErr == nil:
		return true, fmt.Sprintf("tokens file %s: %d tokens, read %s", f.path, len(f.tokens), f.lastGood.UTC().Format(time.RFC3339))
	}
	detail = fmt.Sprintf("tokens file unreadable since %s: %v; %s (--tokens-on-error %s)",
		f.badSince.UTC().Format(time.RFC3339), f.lastErr, f.effectLocked(), f.onError)
	return f.refusingLocked() == nil, detail
}

// Describe implements prometheus.Collector.
func (f *TokenFile) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.descOK
	ch <- f.descErrors
	ch <- f.descLastGood
	ch <- f.descTokens
}

// Collect implements prometheus.Collector. It re-reads the file first if
// it changed, so a scrape sees a file broken since the last request.
func (f *TokenFile) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statLocked()
	ok, inForce := 0.0, 0.0
	if f.lastErr == nil && f.good {
		ok = 1
	}
	if f.refusingLocked() == nil {
		inForce = float64(len(f.tokens))
	}
	ch <- prometheus.MustNewConstMetric(f.descOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(f.descErrors, prometheus.CounterValue, float64(f.failures))
	if !f.lastGood.IsZero() {
		ch <- prometheus.MustNewConstMetric(f.descLastGood, prometheus.GaugeValue, float64(f.lastGood.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(f.descTokens, prometheus.GaugeValue, inForce)
}
