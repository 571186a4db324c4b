package opawire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/plugins/status"
	"github.com/prometheus/client_golang/prometheus/testutil"

	pbundle "github.com/open-policy-agent/opa/v1/plugins/bundle"
	lstat "github.com/open-policy-agent/opa/v1/plugins/logs/status"
)

// sink is a decision log service: it decodes every upload with OPA's own
// event type, and answers failures while fail says so.
type sink struct {
	mu       sync.Mutex
	events   []logs.EventV1
	uploads  int
	attempts int
	fail     func(attempt int) bool
	raw      [][]byte
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.fail != nil && s.fail(s.attempts) {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want JSON", http.StatusBadRequest)
		return
	}
	batch, raw, err := ReadUpload(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.raw = append(s.raw, raw)
	s.events = append(s.events, batch...)
	s.uploads++
}

func (s *sink) got() ([]logs.EventV1, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logs.EventV1(nil), s.events...), s.uploads, s.attempts
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// logDecision logs a record shaped as the server's decision log lines.
func logDecision(l *slog.Logger, id, result string) {
	l.LogAttrs(context.Background(), slog.LevelInfo, "decision",
		slog.String("decision_id", id),
		slog.String("request_id", "req-"+id),
		slog.String("action", "download_image"),
		slog.String("route", "GET /v2/images/:id/file"),
		slog.String("image_id", "img-1"),
		slog.String("result", result),
		slog.String("bundle_revision", "sha256:abc"),
		slog.Duration("duration", 1500*time.Nanosecond),
		slog.String("evaluated_rule", "download_image"),
		slog.Group("credentials",
			slog.String("user_id", "u1"),
			slog.String("project_id", "p1"),
			slog.Any("roles", []string{"member", "reader"}),
			slog.Bool("is_admin", false),
		))
}

func TestEventsInOPAFormat(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	up, err := NewUploader(UploaderConfig{URL: srv.URL, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go up.Run(ctx, time.Second)
	var lines bytes.Buffer
	h := NewHandler(slog.NewJSONHandler(&lines, nil), up, EventConfig{Path: "oslo/policy/allow", Bundle: "glance", Labels: map[string]string{"id": "inst-1", "version": "v9"}})
	l := slog.New(h).With(slog.String("replica", "gw-a"))
	logDecision(l, "d1", "allow")
	logDecision(l, "d2", "deny")
	l.Info("not a decision")
	waitFor(t, "two events", func() bool { ev, _, _ := s.got(); return len(ev) == 2 })
	if n := strings.Count(lines.String(), "\n"); n != 3 {
		t.Errorf("the JSON lines log has %d lines, want every record:\n%s", n, lines.String())
	}
	ev, _, _ := s.got()
	e := ev[0]
	if e.DecisionID != "d1" || e.Path != "oslo/policy/allow" || e.Bundles["glance"].Revision != "sha256:abc" ||
		e.Labels["id"] != "inst-1" || e.Labels["version"] != "v9" || e.Labels["replica"] != "gw-a" ||
		e.Timestamp.IsZero() || e.Timestamp.Location() != time.UTC {
		t.Errorf("event %+v", e)
	}
	if m, ok := e.Metrics["timer_server_handler_ns"].(float64); !ok || m != 1500 {
		t.Errorf("metrics %v", e.Metrics)
	}
	in, _ := (*e.Input).(map[string]any)
	cr, _ := in["credentials"].(map[string]any)
	if in["rule"] != "download_image" || in["image_id"] != "img-1" || in["request_id"] != "req-d1" || cr["user_id"] != "u1" || cr["is_admin"] != false {
		t.Errorf("input %v", in)
	}
	res0, _ := (*ev[0].Result).(map[string]any)
	res1, _ := (*ev[1].Result).(map[string]any)
	if res0["allowed"] != true || res0["result"] != "allow" || res0["evaluated_rule"] != "download_image" || res1["allowed"] != false || res1["result"] != "deny" {
		t.Errorf("results %v, %v", res0, res1)
	}
	// The counter moves once the sink's answer is in.
	waitFor(t, "the uploaded counter at 2", func() bool { return testutil.ToFloat64(up.sentC) == 2 })
}

// With the sink down, at most Buffer events wait; the rest are dropped
// and counted; the upload is retried, and once the sink is back exactly
// the buffered events arrive, in order, once each.
func TestBoundDropsAndRetries(t *testing.T) {
	var down sync.Mutex
	isDown := true
	s := &sink{fail: func(int) bool { down.Lock(); defer down.Unlock(); return isDown }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	up, err := NewUploader(UploaderConfig{URL: srv.URL, Buffer: 5, Batch: 2, Interval: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go up.Run(ctx, time.Second)
	l := slog.New(NewHandler(slog.DiscardHandler, up, EventConfig{Path: "p", Bundle: "b"}))
	for i := range 20 {
		logDecision(l, string(rune('a'+i)), "allow")
	}
	waitFor(t, "retries", func() bool { _, _, a := s.got(); return a >= 4 })
	if up.Dropped() != 15 || testutil.ToFloat64(up.droppedC) != 15 {
		t.Errorf("dropped %d (metric %v), want 15", up.Dropped(), testutil.ToFloat64(up.droppedC))
	}
	if st := up.Status(); st.Code == "" || st.HTTPCode != "503" {
		t.Errorf("status while down: %+v", st)
	}
	if testutil.ToFloat64(up.failedC) < 3 || testutil.ToFloat64(up.bufferedG) != 5 {
		t.Errorf("failures %v, buffered %v", testutil.ToFloat64(up.failedC), testutil.ToFloat64(up.bufferedG))
	}
	down.Lock()
	isDown = false
	down.Unlock()
	waitFor(t, "the buffered events", func() bool { ev, _, _ := s.got(); return len(ev) == 5 })
	time.Sleep(50 * time.Millisecond)
	ev, uploads, _ := s.got()
	var ids []string
	for _, e := range ev {
		ids = append(ids, e.DecisionID)
	}
	if strings.Join(ids, "") != "abcde" || uploads != 3 {
		t.Errorf("delivered %v in %d uploads, want a..e in 3 (batches of 2)", ids, uploads)
	}
	if st := up.Status(); st.Code != "" {
		t.Errorf("status after recovery: %+v", st)
	}
}

// Events still buffered when Run ends are sent in a last flush.
func TestFlushOnStop(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	up, err := NewUploader(UploaderConfig{URL: srv.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go up.Run(ctx, 5*time.Second)
	l := slog.New(NewHandler(slog.DiscardHandler, up, EventConfig{}))
	logDecision(l, "x", "deny")
	cancel()
	<-up.Done()
	if ev, _, _ := s.got(); len(ev) != 1 {
		t.Errorf("%d events after stop", len(ev))
	}
}

func TestStatusReports(t *testing.T) {
	var mu sync.Mutex
	var reports []status.UpdateRequestV1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req status.UpdateRequestV1
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		reports = append(reports, req)
		mu.Unlock()
	}))
	defer srv.Close()
	var rmu sync.Mutex
	rev := "r1"
	loaded := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	r, err := NewStatusReporter(StatusConfig{
		URL: srv.URL, Poll: 5 * time.Millisecond, Interval: time.Hour,
		Labels:       map[string]string{"id": "inst-1", "version": "v9"},
		DecisionLogs: func() *lstat.Status { s := &lstat.Status{}; s.SetError(errors.New("sink down")); return s },
		Bundles: func() map[string]*pbundle.Status {
			rmu.Lock()
			defer rmu.Unlock()
			return map[string]*pbundle.Status{"glance": {Name: "glance", ActiveRevision: rev, LastSuccessfulActivation: loaded}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(reports) }
	waitFor(t, "the first report", func() bool { return count() == 1 })
	time.Sleep(50 * time.Millisecond)
	if count() != 1 {
		t.Errorf("%d reports with nothing changed", count())
	}
	rmu.Lock()
	rev = "r2"
	rmu.Unlock()
	waitFor(t, "the report of the change", func() bool { return count() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if b := reports[1].Bundles["glance"]; b == nil || b.ActiveRevision != "r2" || !b.LastSuccessfulActivation.Equal(loaded) || reports[1].Labels["id"] != "inst-1" ||
		reports[1].DecisionLogs == nil || reports[1].DecisionLogs.Code == "" || reports[1].DecisionLogs.Message != "sink down" {
		t.Errorf("report %+v", reports[1])
	}
}
