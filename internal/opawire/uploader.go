// Package opawire speaks OPA's management wire formats to OPA's own
// services: decision logs uploaded as OPA's decision log plugin uploads
// them (gzipped JSON arrays of logs.EventV1, POSTed), and status reports
// as OPA's status plugin sends them (status.UpdateRequestV1). The types
// are OPA's; nothing here redefines them.
package opawire

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"
	lstat "github.com/open-policy-agent/opa/v1/plugins/logs/status"
	"github.com/prometheus/client_golang/prometheus"
)

// UploaderConfig configures an Uploader.
type UploaderConfig struct {
	// URL receives the uploads (OPA's decision log service: POST, gzip
	// JSON array of events).
	URL string
	// Client sends them (default: one with a 30 s timeout).
	Client *http.Client
	// Buffer bounds the events waiting to be sent (default 10000); an
	// event that finds it full is dropped and counted.
	Buffer int
	// Batch is the most events in one upload (default 1000).
	Batch int
	// Interval is how often the buffer is sent (default 2 s); a full
	// batch is sent at once.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait before a failed upload is
	// retried, doubling from the one to the other (defaults 100 ms, 30 s).
	MinBackoff, MaxBackoff time.Duration
	// Log reports failed uploads (default: discarded).
	Log *slog.Logger
}

// Uploader buffers decision events and uploads them in OPA's decision log
// format, retrying a failed upload (the same events) with backoff.
type Uploader struct {
	cfg  UploaderConfig
	wake chan struct{}
	done chan struct{}

	mu       sync.Mutex
	buf      []logs.EventV1
	dropped  uint64
	sent     uint64
	failed   uint64
	lastErr  error
	lastHTTP int

	droppedC, sentC, failedC prometheus.Counter
	bufferedG                prometheus.GaugeFunc
}

// NewUploader makes an uploader; Run sends.
func NewUploader(cfg UploaderConfig) (*Uploader, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("decision log upload: no URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 10000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	u := &Uploader{cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
	u.droppedC = prometheus.NewCounter(prometheus.CounterOpts{Name: "oslorego_decision_log_dropped_total", Help: "Decision events dropped because the upload buffer was full."})
	u.sentC = prometheus.NewCounter(prometheus.CounterOpts{Name: "oslorego_decision_log_uploaded_total", Help: "Decision events uploaded to --decision-log-url."})
	u.failedC = prometheus.NewCounter(prometheus.CounterOpts{Name: "oslorego_decision_log_upload_failures_total", Help: "Decision log uploads that failed (each is retried)."})
	u.bufferedG = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oslorego_decision_log_buffered", Help: "Decision events waiting to be uploaded."}, func() float64 {
		u.mu.Lock()
		defer u.mu.Unlock()
		return float64(len(u.buf))
	})
	return u, nil
}

// Describe implements prometheus.Collector.
func (u *Uploader) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range u.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (u *Uploader) Collect(ch chan<- prometheus.Metric) {
	for _, c := range u.collectors() {
		c.Collect(ch)
	}
}

func (u *Uploader) collectors() []prometheus.Collector {
	return []prometheus.Collector{u.droppedC, u.sentC, u.failedC, u.bufferedG}
}

// Log queues ev without blocking; when the buffer is full ev is dropped
// and counted.
func (u *Uploader) Log(ev logs.EventV1) {
	u.mu.Lock()
	if len(u.buf) >= u.cfg.Buffer {
		u.dropped++
		u.mu.Unlock()
		u.droppedC.Inc()
		return
	}
	u.buf = append(u.buf, ev)
	full := len(u.buf) >= u.cfg.Batch
	u.mu.Unlock()
	if full {
		select {
		case u.wake <- struct{}{}:
		default:
		}
	}
}

// Dropped is how many events were dropped.
func (u *Uploader) Dropped() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dropped
}

// Status is the decision log status OPA's status reports carry.
func (u *Uploader) Status() *lstat.Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := &lstat.Status{}
	s.SetError(u.lastErr)
	if u.lastErr != nil && u.lastHTTP != 0 {
		s.HTTPCode = json.Number(fmt.Sprint(u.lastHTTP))
	}
	return s
}

// Run uploads until ctx ends, then makes one last attempt, bounded by
// flush, to send what is buffered. Events of a failed upload are retried
// until they are sent or Run ends.
func (u *Uploader) Run(ctx context.Context, flush time.Duration) {
	defer close(u.done)
	t := time.NewTicker(u.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), flush)
			defer cancel()
			for u.pending() > 0 && fctx.Err() == nil {
				if !u.sendBatch(fctx) {
					break
				}
			}
			return
		case <-t.C:
		case <-u.wake:
		}
		for u.pending() > 0 && ctx.Err() == nil {
			u.sendWithRetry(ctx)
		}
	}
}

// Done is closed when Run has returned.
func (u *Uploader) Done() <-chan struct{} { return u.done }

func (u *Uploader) pending() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.buf)
}

// sendWithRetry sends the oldest batch, retrying with backoff until it is
// sent or ctx ends.
func (u *Uploader) sendWithRetry(ctx context.Context) {
	wait := u.cfg.MinBackoff
	for !u.sendBatch(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, u.cfg.MaxBackoff)
	}
}

// sendBatch uploads the oldest batch; the events leave the buffer only
// when the sink accepted them.
func (u *Uploader) sendBatch(ctx context.Context) bool {
	u.mu.Lock()
	n := min(len(u.buf), u.cfg.Batch)
	batch := u.buf[:n:n]
	u.mu.Unlock()
	if n == 0 {
		return true
	}
	code, err := u.post(ctx, batch)
	if err != nil {
		err = fmt.Errorf("decision log upload: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastErr, u.lastHTTP = err, code
	if err != nil {
		u.failed++
		u.failedC.Inc()
		u.cfg.Log.Warn("decision log upload failed; retrying", "url", u.cfg.URL, "events", n, "error", err)
		return false
	}
	// Log only appends, so the batch is still the buffer's head.
	u.buf = append([]logs.EventV1(nil), u.buf[n:]...)
	u.sent += uint64(n)
	u.sentC.Add(float64(n))
	return true
}

func (u *Uploader) post(ctx context.Context, batch []logs.EventV1) (int, error) {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(batch); err != nil {
		return 0, fmt.Errorf("encoding decision events: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compressing decision events: %w", err)
	}
	return post(ctx, u.cfg.Client, u.cfg.URL, &body, "gzip")
}

// post POSTs a JSON body (gzipped when encoding says so) and wants a 2xx
// answer; it returns the answer's status code.
func post(ctx context.Context, client *http.Client, url string, body io.Reader, encoding string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return resp.StatusCode, nil
}

// ReadUpload reads one upload as a decision log service receives it:
// a POST of a gzipped JSON array of events, decoded with OPA's own event
// type. It returns the events and the JSON as sent.
func ReadUpload(r *http.Request) ([]logs.EventV1, []byte, error) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "gzip" {
		return nil, nil, fmt.Errorf("want a POST with Content-Encoding gzip, got %s with %q", r.Method, r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the upload: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the upload: %w", err)
	}
	var batch []logs.EventV1
	if err := json.Unmarshal(raw, &batch); err != nil {
		return nil, nil, fmt.Errorf("decoding the upload: %w", err)
	}
	return batch, raw, nil
}
