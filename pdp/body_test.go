package pdp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// unread is a body that fails the test if it is read.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body was read")
	return 0, io.EOF
}

// failing is a body whose read fails after its bytes: the caller went
// away mid-body, or the server is stopping.
type failing struct {
	r   io.Reader
	err error
}

func (f *failing) Read(p []byte) (int, error) {
	if n, _ := f.r.Read(p); n > 0 {
		return n, nil
	}
	return 0, f.err
}

// A body that cannot be read whole, or is too large (declared so, or
// longer than declared), is refused on both protocols, never decided.
func TestBodyRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	var log bytes.Buffer
	s, err := New(Config{Policy: fixed{engine(t, testPolicy), "rev-1"}, Registry: reg, MaxBody: 200,
		DecisionLog: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p := testPDP{s, &log, reg}
	ok := checkBody("compute:servers:create", map[string]any{"project_id": "p1"}, member)
	big := checkBody("compute:servers:create", map[string]any{"project_id": "p1", "pad": strings.Repeat("x", 200)}, member)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{CheckPath, "/v1/data/compute/servers/create/allow"} {
		body := func(s string) string {
			if path == CheckPath {
				return s
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatal(err)
			}
			return opaBody(m["target"], m["credentials"])
		}
		cases := []struct {
			name string
			req  func() *http.Request
			code int
		}{
			{"declared larger than MaxBody: refused unread", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, path, unread{t})
				r.ContentLength = 201
				return r
			}, http.StatusRequestEntityTooLarge},
			{"longer than MaxBody, declared shorter", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body(big)))
				r.ContentLength = 10
				return r
			}, http.StatusRequestEntityTooLarge},
			{"longer than MaxBody, length unknown", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, path, io.MultiReader(strings.NewReader(body(big))))
				r.ContentLength = -1
				return r
			}, http.StatusRequestEntityTooLarge},
			{"read fails mid-body", func() *http.Request {
				return httptest.NewRequest(http.MethodPost, path, &failing{strings.NewReader(body(ok)[:20]), io.ErrUnexpectedEOF})
			}, http.StatusBadRequest},
			{"whole body, then the read fails", func() *http.Request {
				return httptest.NewRequest(http.MethodPost, path, &failing{strings.NewReader(body(ok)), errors.New("connection reset")})
			}, http.StatusBadRequest},
			{"request cancelled while its body is read", func() *http.Request {
				return httptest.NewRequest(http.MethodPost, path, &failing{strings.NewReader(body(ok)[:20]), context.Canceled}).WithContext(ctx)
			}, http.StatusBadRequest},
			{"request cancelled after its body", func() *http.Request {
				return httptest.NewRequest(http.MethodPost, path, strings.NewReader(body(ok))).WithContext(ctx)
			}, http.StatusInternalServerError},
		}
		for _, tc := range cases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				log.Reset()
				r := tc.req()
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				p.ServeHTTP(w, r)
				if w.Code != tc.code || strings.Contains(w.Body.String(), "True") || strings.Contains(w.Body.String(), "result") {
					t.Errorf("%d %q, want %d without a decision", w.Code, w.Body.String(), tc.code)
				}
				recs := p.records(t)
				if len(recs) != 1 || recs[0]["result"] == resultAllow || recs[0]["result"] == resultDeny || recs[0]["reason"] == "" {
					t.Errorf("decision log %v, want one refusal with its reason", recs)
				}
			})
		}
		// Within the limit, after all these, decided.
		if code, got := p.post(t, path, "application/json", body(ok)); code != 200 || (got != "True" && !strings.Contains(got, `"result":true`)) {
			t.Errorf("%s: %d %q, want it allowed", path, code, got)
		}
	}
}

// Bodies of every size, one after the other and at once, on reused
// buffers: each request is decided on its own body alone.
func TestBodiesReused(t *testing.T) {
	p := newTestPDP(t, fixed{engine(t, testPolicy), "rev-1"})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				pad := strings.Repeat("y", (g*977+i*131)%(3*maxPooledBody))
				project, want := "p1", "True"
				if (g+i)%2 == 1 {
					project, want = "p2", "False"
				}
				target := map[string]any{"project_id": project, "pad": pad}
				if code, got := p.post(t, CheckPath, "application/json", checkBody("compute:servers:create", target, member)); code != 200 || got != want {
					t.Errorf("goroutine %d, request %d: %d %q, want %q", g, i, code, got, want)
					return
				}
				if code, got := p.post(t, "/v1/data/compute/servers/create/allow", "", opaBody(target, member)); code != 200 || !strings.Contains(got, strings.ToLower(want)) {
					t.Errorf("goroutine %d, OPA request %d: %d %q, want %s", g, i, code, got, strings.ToLower(want))
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(p.metrics.decisions.WithLabelValues("compute:servers:create", "allow")); got != 200 {
		t.Errorf("decisions{compute:servers:create,allow} = %v, want 200", got)
	}
}

// A decoded request holds its own bytes, not the body's buffer's, which
// the next request reuses.
func TestParsedRequestOwnsItsBytes(t *testing.T) {
	body := []byte(checkBody("compute:servers:create", map[string]any{"project_id": "p1"}, member))
	req, err := parseCheckJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	form := []byte(formBody("compute:servers:create", map[string]any{"project_id": "p1"}, member))
	freq, err := parseCheckForm(form)
	if err != nil {
		t.Fatal(err)
	}
	opa := []byte(opaBody(map[string]any{"project_id": "p1"}, member))
	target, creds, err := parseOPAInput(opa)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{body, form, opa} {
		for i := range b {
			b[i] = 'z'
		}
	}
	for _, r := range []checkRequest{req, freq, {req.rule, target, creds}} {
		if r.rule != "compute:servers:create" {
			t.Errorf("rule %q after the body changed", r.rule)
		}
		if got, _ := r.target.Get("project_id"); got.Value != "p1" {
			t.Errorf("target project_id %v after the body changed", got.Value)
		}
		if got, _ := r.credentials.Get("user_id"); got.Value != "u1" {
			t.Errorf("credentials user_id %v after the body changed", got.Value)
		}
	}
}

// oslo.policy.opa's answer is what c.JSON wrote for it, ?pretty included.
func TestOPAResult(t *testing.T) {
	for _, allowed := range []bool{true, false} {
		want, err := json.Marshal(map[string]any{"decision_id": "0b6e1a4c-6a8f-4c2e-9f0e-3c1f7f7f2d11", "result": allowed})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(opaResult("0b6e1a4c-6a8f-4c2e-9f0e-3c1f7f7f2d11", allowed)); got != string(want)+"\n" {
			t.Errorf("opaResult = %q, want %q", got, want)
		}
	}
	p := newTestPDP(t, fixed{engine(t, testPolicy), "rev-1"})
	for _, path := range []string{"/v1/data/compute/servers/create/allow", "/v1/data/compute/servers/create/allow?pretty"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(opaBody(map[string]any{"project_id": "p1"}, member)))
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got["result"] != true || got["decision_id"] == "" {
			t.Errorf("%s: %d %q (%v), want 200 with result true", path, w.Code, w.Body.String(), err)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if pretty := strings.Contains(w.Body.String(), "\n  "); pretty != strings.HasSuffix(path, "?pretty") {
			t.Errorf("%s: indented %v: %q", path, pretty, w.Body.String())
		}
	}
}

// failingLog is a decision log destination that fails every write.
type failingLog struct{ writes int }

func (f *failingLog) Write([]byte) (int, error) { f.writes++; return 0, errors.New("disk full") }

// A decision log that cannot be written does not change the answer (the
// log's writer reports its failure, serve's at shutdown), and the
// request is still counted.
func TestDecisionLogWriteFailure(t *testing.T) {
	reg := prometheus.NewRegistry()
	dst := &failingLog{}
	s, err := New(Config{Policy: fixed{engine(t, testPolicy), "rev-1"}, Registry: reg, DecisionLog: slog.New(slog.NewJSONHandler(dst, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p := testPDP{s, &bytes.Buffer{}, reg}
	for _, c := range []struct{ project, want string }{{"p1", "True"}, {"p2", "False"}} {
		if code, got := p.post(t, CheckPath, "application/json", checkBody("compute:servers:create", map[string]any{"project_id": c.project}, member)); code != 200 || got != c.want {
			t.Errorf("project %s: %d %q, want 200 %q", c.project, code, got, c.want)
		}
	}
	if code, got := p.post(t, CheckPath, "application/json", `{"rule": `); code != 400 || got == "True" {
		t.Errorf("bad body: %d %q, want 400", code, got)
	}
	if dst.writes != 3 {
		t.Errorf("%d decision log writes, want 3", dst.writes)
	}
	if got := testutil.ToFloat64(p.metrics.requests.WithLabelValues("oslo", "200")); got != 2 {
		t.Errorf("requests{oslo,200} = %v, want 2", got)
	}
}
