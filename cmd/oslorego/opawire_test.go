package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/plugins/status"

	"github.com/oslorego/oslorego/internal/opawire"
)

// opaSink is an OPA management service: decision log uploads at /logs
// (refused while down) and status reports at /status.
type opaSink struct {
	mu      sync.Mutex
	down    bool
	events  []logs.EventV1
	raw     [][]byte
	reports []status.UpdateRequestV1
}

func (s *opaSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/logs":
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		batch, raw, err := opawire.ReadUpload(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.events, s.raw = append(s.events, batch...), append(s.raw, raw)
	case "/status":
		var req status.UpdateRequestV1
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.reports = append(s.reports, req)
	default:
		http.NotFound(w, r)
	}
}

func (s *opaSink) wait(t *testing.T, what string, cond func(*opaSink) bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		ok := cond(s)
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// serve --decision-log-url and --status-url: every decision reaches the
// sink as OPA's event (decoded with OPA's type), with the identity but
// never the token; the status report names the same bundle revision; with
// the sink down, decisions beyond --decision-log-buffer are dropped and
// counted in /metrics.
func TestServeUploadsDecisionsAndStatus(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	code, stdout, stderr := runCLI(t, "", "token", "add", "--user", "alice", "--project", "demo", "--roles", "member,reader")
	if code != 0 {
		t.Fatalf("token add: %s", stderr)
	}
	token := strings.TrimSpace(stdout)
	id := "0c7b4c0e-0000-4000-8000-000000000001"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "tiny", "--owner", "demo", "--id", id); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	sink := &opaSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx, "--replica", "gw-test",
		"--decision-log-url", srv.URL+"/logs", "--decision-log-interval", "20ms", "--decision-log-buffer", "2",
		"--status-url", srv.URL+"/status")
	get := func(tok, path string) int {
		req, _ := http.NewRequest("GET", url+path, nil)
		if tok != "" {
			req.Header.Set("X-Auth-Token", tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if c := get(token, "/v2/images/"+id+"/file"); c != 200 {
		t.Fatalf("download: %d", c)
	}
	sink.wait(t, "the decision and a status report", func(s *opaSink) bool { return len(s.events) == 1 && len(s.reports) > 0 })
	sink.mu.Lock()
	e, rep, raw := sink.events[0], sink.reports[0], sink.raw[0]
	sink.mu.Unlock()
	in, _ := (*e.Input).(map[string]any)
	cr, _ := in["credentials"].(map[string]any)
	res, _ := (*e.Result).(map[string]any)
	if in["rule"] != "download_image" || in["image_id"] != id || cr["user_id"] == "" || cr["project_id"] != "demo" || res["allowed"] != true {
		t.Errorf("event input %v result %v", in, res)
	}
	if e.Path != "oslo/policy/allow" || e.DecisionID == "" || e.Labels["replica"] != "gw-test" || e.Labels["id"] == "" || e.Labels["id"] != rep.Labels["id"] {
		t.Errorf("event %+v, report labels %v", e, rep.Labels)
	}
	b := rep.Bundles["built-in glance bundle"]
	if b == nil || b.ActiveRevision == "" || e.Bundles["built-in glance bundle"].Revision != b.ActiveRevision || b.LastSuccessfulActivation.IsZero() {
		t.Errorf("event bundles %v, report bundles %v", e.Bundles, rep.Bundles)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Errorf("the token reached the upload: %s", raw)
	}
	// The sink goes down: two decisions wait, the rest are dropped.
	sink.mu.Lock()
	sink.down = true
	sink.mu.Unlock()
	for range 5 {
		get(token, "/v2/images/"+id+"/file")
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "oslorego_decision_log_dropped_total 3") || !strings.Contains(string(metrics), "oslorego_decision_log_buffered 2") {
		t.Errorf("metrics:\n%s", grepLines(string(metrics), "oslorego_decision_log"))
	}
	sink.wait(t, "a status report of the failing uploads", func(s *opaSink) bool {
		last := s.reports[len(s.reports)-1]
		return last.DecisionLogs != nil && last.DecisionLogs.Code != "" && last.DecisionLogs.HTTPCode == "503"
	})
	// Back up: the two buffered decisions arrive, also when serve stops.
	sink.mu.Lock()
	sink.down = false
	sink.mu.Unlock()
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("serve exited %d: %s", c, errb.String())
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.events) != 3 {
		t.Errorf("%d events after recovery, want 1 + the 2 buffered", len(sink.events))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
