package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/server"
)

// proxyPolicy guards the proxied routes the tests use.
const proxyPolicy = `
"context_is_admin": "role:admin"
"default": "role:admin"
"get_image": "role:reader and project_id:%(project_id)s"
"get_images": "role:reader and project_id:%(project_id)s"
"add_image": "role:member and project_id:%(project_id)s and not 'public':%(visibility)s"
"modify_image": "role:member and project_id:%(project_id)s"
"upload_image": "role:member and project_id:%(project_id)s"
"delete_image": "role:member and project_id:%(project_id)s and not 'restricted':%(x_billing_code_ntt)s"
"add_member": "role:member and project_id:%(project_id)s"
"tasks_api_access": "role:admin"
"get_metadef_namespace": "project_id:%(project_id)s or 'public':%(visibility)s"
`

// proxied is what the fake upstream received on a route it does not
// serve itself.
type proxied struct {
	method, uri, token, requestID string
	identity                      string // an X-Roles that came through
	body                          []byte
}

// proxyGlance is fakeGlance with the other routes: each is recorded and
// answered by answer (default 200 with {"ok": true}).
type proxyGlance struct {
	*fakeGlance
	mu     sync.Mutex
	got    []proxied
	answer func(w http.ResponseWriter, r *http.Request) bool // true: answered
}

func newProxyGlance(t *testing.T) *proxyGlance {
	p := &proxyGlance{fakeGlance: newFakeGlance(t)}
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/images/") && strings.Count(r.URL.Path, "/") <= 4 &&
			!strings.HasSuffix(r.URL.Path, "/tasks") && !strings.HasSuffix(r.URL.Path, "/members") {
			p.fakeGlance.serve(w, r) // the gateway's reads and downloads
			return
		}
		p.mu.Lock()
		answer := p.answer
		p.mu.Unlock()
		if answer != nil && answer(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		p.record(r, body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	})
	return p
}

func (p *proxyGlance) record(r *http.Request, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, proxied{r.Method, r.URL.RequestURI(), r.Header.Get("X-Auth-Token"), r.Header.Get("X-Openstack-Request-Id"), r.Header.Get("X-Roles"), body})
}

func (p *proxyGlance) received() []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxied(nil), p.got...)
}

// gatewayAll is a gateway over p serving every route (--routes all).
func (p *proxyGlance) gatewayAll(t *testing.T, reg *prometheus.Registry, ttl time.Duration, configure ...func(*server.Config)) *harness {
	t.Helper()
	c := p.client(t)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	src, err := server.NewUpstreamSource(c, server.UpstreamOptions{MetadataTTL: ttl, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": proxyPolicy}), nil, append([]func(*server.Config){func(cfg *server.Config) {
		cfg.Images, cfg.Source, cfg.Upstream, cfg.Registry = nil, src, c, reg
	}}, configure...)...)
}

// send is one request with a body.
func (h *harness) send(method, path, token string, body io.Reader) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Roles", "admin") // never passed on
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

const forbidden = `{"error": {"code": 403, "title": "Forbidden", "message": "403 Forbidden: Policy does not allow this request."}}`

// Each proxied route is decided first, on Glance's target for it; an
// allowed request reaches Glance unchanged with the caller's token, a
// refused one never does and gets the one 403 body; an image the caller
// cannot see is 404 without a decision.
func TestProxyDecidesThenForwards(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwPresent, digits, map[string]string{"x_billing_code_ntt": "restricted"})
	p.add(gwAbsent, digits, nil)
	h := p.gatewayAll(t, nil, -1)
	member, reader, other := h.token(p1, "member", "reader"), h.token(p1, "reader"), h.token(p2, "member", "reader")
	admin := h.token(p1, "admin", "member", "reader")
	p.invisible[other] = map[string]bool{gwAbsent: true, gwPresent: true}
	img := "/v2/images/" + gwAbsent
	for _, c := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"patch", "PATCH", img, member, `[{"op": "replace", "path": "/name", "value": "n"}]`, 200},
		{"patch as reader", "PATCH", img, reader, `[]`, 403},
		{"patch unseen", "PATCH", img, other, `[]`, 404},
		{"delete restricted", "DELETE", "/v2/images/" + gwPresent, member, "", 403},
		{"delete", "DELETE", img, member, "", 200},
		{"tag", "PUT", img + "/tags/blue", member, "", 200},
		{"tag as reader", "PUT", img + "/tags/blue", reader, "", 403},
		{"member add", "POST", img + "/members", member, `{"member": "` + p2 + `"}`, 200},
		{"member add as reader", "POST", img + "/members", reader, `{"member": "` + p2 + `"}`, 403},
		{"create", "POST", "/v2/images", member, `{"name": "x"}`, 200},
		{"create public", "POST", "/v2/images", member, `{"name": "x", "visibility": "public"}`, 403},
		{"create for another project", "POST", "/v2/images", member, `{"owner": "` + p2 + `"}`, 403},
		{"tasks", "GET", "/v2/tasks?limit=1", admin, "", 200},
		{"tasks as member", "GET", "/v2/tasks", member, "", 403},
		{"list", "GET", "/v2/images?limit=2&visibility=shared", reader, "", 200},
		{"info import (no policy)", "GET", "/v2/info/import", reader, "", 200},
		{"schema proxied", "GET", "/v2/schemas/image", reader, "", 200},
	} {
		before := len(p.received())
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		status, _, got := h.send(c.method, c.path, c.token, body)
		if status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, status, got, c.want)
		}
		rs := p.received()[before:]
		switch {
		case c.want != 200 && len(rs) != 0:
			t.Errorf("%s: refused, yet Glance got %+v", c.name, rs)
		case c.want == 403 && strings.TrimSpace(string(got)) != forbidden:
			t.Errorf("%s: 403 body %s", c.name, got)
		case c.want == 200 && len(rs) != 1:
			t.Errorf("%s: Glance got %d requests, want 1", c.name, len(rs))
		case c.want == 200:
			r := rs[0]
			if r.method != c.method || r.uri != c.path || r.token != c.token || string(r.body) != c.body || r.identity != "" || !strings.HasPrefix(r.requestID, "req-") {
				t.Errorf("%s: Glance got %+v", c.name, r)
			}
		}
	}
}

// A location is never shown (an image's JSON, a listing's) and never
// changed through the gateway.
func TestProxyHidesLocations(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwAbsent, digits, nil)
	loc := `"locations": [{"url": "file:///x", "metadata": {}}], "direct_url": "file:///x"`
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			_, _ = io.WriteString(w, `{"images": [{"id": "a", "name": "<b>", "size": 12345678901234567890, `+loc+`}], "first": "/v2/images"}`)
		case http.MethodPatch:
			p.record(r, nil)
			_, _ = io.WriteString(w, `{"id": "a", `+loc+`}`)
		}
		return true
	}
	h := p.gatewayAll(t, nil, -1)
	member := h.token(p1, "member", "reader")
	status, _, b := h.send("GET", "/v2/images", member, nil)
	if status != 200 || bytes.Contains(b, []byte("locations")) || bytes.Contains(b, []byte("direct_url")) ||
		!bytes.Contains(b, []byte(`"name":"<b>"`)) || !bytes.Contains(b, []byte("12345678901234567890")) {
		t.Errorf("listing: %d %s", status, b)
	}
	status, _, b = h.send("PATCH", "/v2/images/"+gwAbsent, member, strings.NewReader(`[{"op": "replace", "path": "/name", "value": "x"}]`))
	if status != 200 || bytes.Contains(b, []byte("file://")) {
		t.Errorf("patch: %d %s", status, b)
	}
	for _, patch := range []string{
		`[{"op": "add", "path": "/locations/-", "value": {"url": "http://evil/", "metadata": {}}}]`,
		`[{"op": "replace", "path": "/locations", "value": []}]`,
		`[{"op": "remove", "path": "/locations/0"}]`,
		`[{"add": "/locations/-", "value": {"url": "http://evil/", "metadata": {}}}]`, // the v2.0 media type
		`[{"op": "add", "path": "/loc\u0061tions/-", "value": {}}]`,
		`{"op": "add"}`,
		`not json`,
	} {
		before := len(p.received())
		status, _, b := h.send("PATCH", "/v2/images/"+gwAbsent, member, strings.NewReader(patch))
		if status != 403 && status != 400 || len(p.received()) != before {
			t.Errorf("patch %s: %d %s, Glance got %d requests", patch, status, b, len(p.received())-before)
		}
	}
}

// An upload streams: Glance has the first bytes before the client sent
// the rest; a client that hangs up mid-upload ends Glance's request.
func TestProxyStreamsUploads(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwAbsent, digits, nil)
	firstSeen, done := make(chan struct{}), make(chan error, 1)
	var total int64
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		buf := make([]byte, 4096)
		n, err := io.ReadAtLeast(r.Body, buf, 1)
		if err != nil {
			done <- err
			return true
		}
		close(firstSeen)
		m, err := io.Copy(io.Discard, r.Body)
		total = int64(n) + m
		done <- err
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
		return true
	}
	h := p.gatewayAll(t, nil, -1)
	member := h.token(p1, "member", "reader")
	for _, hangUp := range []bool{false, true} {
		firstSeen, done = make(chan struct{}), make(chan error, 1)
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "PUT", h.srv.URL+"/v2/images/"+gwAbsent+"/file", pr)
		req.Header.Set("X-Auth-Token", member)
		req.Header.Set("Content-Type", "application/octet-stream")
		answered := make(chan *http.Response, 1)
		go func() {
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				answered <- nil
				return
			}
			answered <- resp
		}()
		chunk := bytes.Repeat([]byte("y"), 1<<20)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case <-firstSeen: // the client has not finished: nothing was buffered whole
		case <-time.After(10 * time.Second):
			t.Fatal("Glance saw nothing of an upload in progress")
		}
		if hangUp {
			cancel()
			// net/http's client waits for its body writer to stop.
			pw.CloseWithError(context.Canceled)
			select {
			case err := <-done:
				if err == nil {
					t.Error("Glance read a whole upload that the client broke off")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Glance's request still runs 10 s after the client hung up")
			}
			<-answered
			continue
		}
		for i := 0; i < 15; i++ {
			_, _ = pw.Write(chunk)
		}
		pw.Close()
		resp := <-answered
		if resp == nil || resp.StatusCode != 204 {
			t.Fatalf("upload: %v", resp)
		}
		resp.Body.Close()
		if err := <-done; err != nil || total != 16<<20 {
			t.Errorf("Glance got %d bytes, %v", total, err)
		}
		cancel()
	}
}

// Glance down or failing: 503 with a clear body, counted; a refused
// upload body is never read.
func TestProxyFailsClosed(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwAbsent, digits, nil)
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/tasks" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}
		return false
	}
	reg := prometheus.NewRegistry()
	h := p.gatewayAll(t, reg, -1)
	admin := h.token(p1, "admin", "member", "reader")
	if status, _, b := h.send("GET", "/v2/tasks", admin, nil); status != 503 || !bytes.Contains(b, []byte("The image service is unavailable")) {
		t.Errorf("Glance 500: %d %s", status, b)
	}
	p.failService = true
	if status, _, b := h.send("PATCH", "/v2/images/"+gwAbsent, admin, strings.NewReader("[]")); status != 503 {
		t.Errorf("the gateway's own read failing: %d %s", status, b)
	}
	p.srv.Close()
	if status, _, b := h.send("GET", "/v2/tasks", admin, nil); status != 503 {
		t.Errorf("Glance down: %d %s\n%s", status, b, h.logs.String())
	}
	if status, _, b := h.send("GET", "/versions", "", nil); status != 503 {
		t.Errorf("versions, Glance down: %d %s", status, b)
	}
	if got := metric(t, reg, "oslorego_source_unavailable_total", "proxy"); got != 3 {
		t.Errorf("oslorego_source_unavailable_total{step=proxy} = %v, want 3", got)
	}
}

// Version discovery is Glance's, its links moved to the gateway.
func TestProxyVersions(t *testing.T) {
	p := newProxyGlance(t)
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMultipleChoices)
		_, _ = io.WriteString(w, `{"versions": [{"id": "v2.99", "status": "CURRENT", "links": [{"rel": "self", "href": "http://glance.internal:9292/v2/"}]}]}`)
		return true
	}
	h := p.gatewayAll(t, nil, -1, func(cfg *server.Config) { cfg.PublicURL = "https://images.example.com" })
	for path, want := range map[string]int{"/": 300, "/versions": 200} {
		status, _, b := h.send("GET", path, "", nil)
		var doc struct {
			Versions []struct {
				ID    string
				Links []struct{ Href string }
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil || status != want || len(doc.Versions) != 1 || doc.Versions[0].ID != "v2.99" ||
			doc.Versions[0].Links[0].Href != "https://images.example.com/v2/" {
			t.Errorf("%s: %d %s", path, status, b)
		}
	}
}

// --routes downloads: every route but downloads and image reads is 404.
func TestProxyDownloadsOnly(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwAbsent, digits, nil)
	h := p.fakeGlance.gateway(t, 0, nil)
	member := h.token(p1, "member", "reader")
	for _, c := range [][2]string{{"PATCH", "/v2/images/" + gwAbsent}, {"PUT", "/v2/images/" + gwAbsent + "/file"}, {"GET", "/v2/images"}, {"GET", "/v2/tasks"}, {"GET", "/v2/metadefs/namespaces"}} {
		if status, _, b := h.send(c[0], c[1], member, nil); status != 404 && status != 405 {
			t.Errorf("%s %s: %d %s, want 404", c[0], c[1], status, b)
		}
	}
	if len(p.received()) != 0 {
		t.Errorf("Glance got %+v", p.received())
	}
	if status, _, _ := h.send("GET", "/v2/images/"+gwAbsent+"/file", member, nil); status != 200 {
		t.Errorf("download: %d", status)
	}
}

// A change made through the gateway is in force at once: the gateway's
// cached read of the image is dropped.
func TestProxyWriteForgetsCachedRead(t *testing.T) {
	p := newProxyGlance(t)
	p.add(gwAbsent, digits, nil)
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPatch {
			return false
		}
		p.fakeGlance.mu.Lock()
		p.images[gwAbsent]["name"] = "renamed"
		p.fakeGlance.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": "`+gwAbsent+`", "name": "renamed"}`)
		return true
	}
	h := p.gatewayAll(t, nil, time.Hour)
	member := h.token(p1, "member", "reader")
	if _, _, b := h.send("GET", "/v2/images/"+gwAbsent, member, nil); !bytes.Contains(b, []byte(`"name": "`+gwAbsent)) && !bytes.Contains(b, []byte(`"name":"`+gwAbsent)) {
		t.Fatalf("show: %s", b)
	}
	if status, _, b := h.send("PATCH", "/v2/images/"+gwAbsent, member, strings.NewReader(`[]`)); status != 200 {
		t.Fatalf("patch: %d %s", status, b)
	}
	if _, _, b := h.send("GET", "/v2/images/"+gwAbsent, member, nil); !bytes.Contains(b, []byte("renamed")) {
		t.Errorf("show after a change through the gateway: %s", b)
	}
}
