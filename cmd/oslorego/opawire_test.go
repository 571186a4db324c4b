package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/plugins/status"

	"github.com/oslorego/oslorego/internal/testenv"
)

// sinkScript is an OPA management service in Python, a process of its
// own: decision log uploads at /logs (gunzipped) and status reports at
// /status, each body appended as one line to DIR/logs.jsonl or
// DIR/status.jsonl.
const sinkScript = `import gzip, http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path not in ("/logs", "/status"):
            self.send_response(404); self.end_headers(); return
        if self.path == "/logs":
            if self.headers.get("Content-Encoding") != "gzip":
                self.send_response(400); self.end_headers(); return
            body = gzip.decompress(body)
        json.loads(body)
        with open(out + self.path + ".jsonl", "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
`

// pySink runs sinkScript on port until stop or the test ends.
type pySink struct {
	python, dir string
	port        int
	cmd         *exec.Cmd
}

func (s *pySink) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.python, "-c", sinkScript, fmt.Sprint(s.port), s.dir)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink did not start")
		}
	}
}

// stop kills the sink: it is down.
func (s *pySink) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// lines are the bodies the sink received at path ("logs" or "status").
func (s *pySink) lines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, path+".jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// events are the uploads decoded with OPA's own event type.
func (s *pySink) events(t *testing.T) []logs.EventV1 {
	t.Helper()
	var out []logs.EventV1
	for _, l := range s.lines(t, "logs") {
		var batch []logs.EventV1
		if err := json.Unmarshal(l, &batch); err != nil {
			t.Fatalf("an upload OPA's EventV1 does not read: %v\n%s", err, l)
		}
		out = append(out, batch...)
	}
	return out
}

// reports are the status reports decoded with OPA's own type.
func (s *pySink) reports(t *testing.T) []status.UpdateRequestV1 {
	t.Helper()
	var out []status.UpdateRequestV1
	for _, l := range s.lines(t, "status") {
		var r status.UpdateRequestV1
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("a report OPA's UpdateRequestV1 does not read: %v\n%s", err, l)
		}
		out = append(out, r)
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// serve --decision-log-url and --status-url, with a real sink process:
// every decision reaches the sink as OPA's event (decoded with OPA's type), with the identity but
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
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	sink := &pySink{python: testenv.Python(t), dir: t.TempDir() + "/", port: port}
	sink.start(t)
	sinkURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx, "--replica", "gw-test",
		"--decision-log-url", sinkURL+"/logs", "--decision-log-interval", "20ms", "--decision-log-buffer", "2",
		"--status-url", sinkURL+"/status")
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
	waitUntil(t, "the decision and a status report", func() bool { return len(sink.events(t)) == 1 && len(sink.reports(t)) > 0 })
	e, rep, raw := sink.events(t)[0], sink.reports(t)[0], sink.lines(t, "logs")[0]
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
	sink.stop()
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
	// Back up: the two buffered decisions arrive, in one more upload.
	sink.start(t)
	waitUntil(t, "the buffered decisions", func() bool { return len(sink.events(t)) == 3 })
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("serve exited %d: %s", c, errb.String())
	}
	if n := len(sink.events(t)); n != 3 {
		t.Errorf("%d events after recovery, want 1 + the 2 buffered", n)
	}
	if last := sink.reports(t); last[len(last)-1].DecisionLogs == nil {
		t.Error("the status reports carry no decision log status")
	}
	if n := len(sink.lines(t, "logs")); n != 2 {
		t.Errorf("%d uploads, want 2 (the first decision, then the buffered two in one batch)", n)
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

func TestServeOPAWireUsage(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	for _, args := range [][]string{
		{"--decision-log-url", "ftp://sink/logs"},
		{"--decision-log-url", "sink/logs"},
		{"--status-url", "http://"},
		{"--decision-log-buffer", "0"},
		{"--decision-log-batch", "-1"},
		{"--decision-log-interval", "0s"},
		{"--status-interval", "0s"},
	} {
		code, _, errOut := runCLI(t, "", append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
		if code != 2 || !strings.Contains(errOut, args[0]) {
			t.Errorf("serve %v: exit %d, %s", args, code, errOut)
		}
	}
}
