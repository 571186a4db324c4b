package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// gatedAuth runs gate before authenticating, to hold a request at the
// start of its decision.
type gatedAuth struct {
	auth.Authenticator
	gate func(*http.Request)
}

func (g gatedAuth) Authenticate(ctx context.Context, r *http.Request) (*auth.Identity, error) {
	g.gate(r)
	return g.Authenticator.Authenticate(ctx, r)
}

func gated(gate func(*http.Request)) func(string) auth.Authenticator {
	return func(p string) auth.Authenticator { return gatedAuth{auth.NewTokenFile(p), gate} }
}

// rawAnswer sends req on a new connection, half-closes it when asked, and
// reads what comes back: the answer, or closed when the connection ended
// without a whole one.
func rawAnswer(t *testing.T, addr, req string, halfClose bool) (status int, body []byte, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard only
	all, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("reading the answer: %v", err)
	}
	if len(all) == 0 {
		return 0, nil, true
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(all)), nil)
	if err != nil {
		return 0, nil, true
	}
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, body, true // cut short: the client sees an error
	}
	return resp.StatusCode, body, false
}

// A client that half-closes after sending gets its real answer or a
// closed connection, never a 200 that was not decided (net/http cancels
// the request's context when it reads the EOF). The gate holds each
// request until its context is cancelled, so that the cancellation always
// lands in the middle of the decision.
func TestHalfClosedClientNeverGetsAnUndecided200(t *testing.T) {
	for _, hold := range []bool{true, false} {
		t.Run(fmt.Sprintf("held=%v", hold), func(t *testing.T) {
			gate := func(r *http.Request) {
				if hold {
					select {
					case <-r.Context().Done():
					case <-time.After(time.Minute):
					}
				}
			}
			h := newHarness(t, glancePolicy(t), gated(gate))
			member := h.token(p1, "member", "reader")
			plain := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
			restricted := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}})
			addr := strings.TrimPrefix(h.srv.URL, "http://")
			for _, c := range []struct {
				path   string
				status int    // the decided answer
				body   []byte // nil: any body the status may have
			}{
				{"/v2/images/" + restricted.ID + "/file", 403, nil},
				{"/v2/images/" + plain.ID + "/file", 200, digits},
				{"/v1/images/" + plain.ID, 200, digits},
				{"/v2/images/" + plain.ID, 200, nil},
				{"/v2/images", 200, nil},
				{"/v2/images/00000000-0000-0000-0000-000000000000", 404, nil},
			} {
				for range 10 {
					req := "GET " + c.path + " HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + member + "\r\n\r\n"
					status, body, closed := rawAnswer(t, addr, req, true)
					if closed {
						continue
					}
					if status != c.status {
						t.Fatalf("%s: %d %q, want %d or a closed connection", c.path, status, body, c.status)
					}
					if status == 200 && (len(body) == 0 || c.body != nil && !bytes.Equal(body, c.body)) {
						t.Fatalf("%s: 200 with body %q", c.path, body)
					}
				}
			}
		})
	}
}

// panicImages is a store that panics when listing.
type panicImages struct{ *imagestore.Store }

func (panicImages) ListPage(context.Context, imagestore.ListOptions) ([]imagestore.Image, error) {
	panic("listing exploded")
}

// A panicking handler is a logged 500 with the usual JSON error body, and
// the server goes on serving.
func TestPanicIsALogged500(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) { c.Images = panicImages{c.Images.(*imagestore.Store)} })
	member := tok(h.token(p1, "member", "reader"))
	for range 2 {
		r := h.do("GET", "/v2/images", member)
		if r.Status != 500 {
			t.Fatalf("panicking handler: %d %s", r.Status, r.Body)
		}
		if e, _ := r.json(t)["error"].(map[string]any); e["code"] != float64(500) {
			t.Errorf("500 body: %s", r.Body)
		}
	}
	mustContain(t, h.logs.String(), "listing exploded")
	mustContain(t, h.logs.String(), "handler panicked")
	if r := h.do("GET", "/healthz", nil); r.Status != 200 {
		t.Errorf("after a panic: %d", r.Status)
	}
}

// ?limit=0 is an empty page (Glance), not a panic.
func TestListLimitZero(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member", "reader"))
	h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	r := h.do("GET", "/v2/images?limit=0", member)
	if r.Status != 200 {
		t.Fatalf("limit=0: %d %s", r.Status, r.Body)
	}
	v := r.json(t)
	if imgs, _ := v["images"].([]any); len(imgs) != 0 || v["next"] != nil {
		t.Errorf("limit=0: %s", r.Body)
	}
}

// FuzzListImages: no query makes the listing panic or answer anything but
// 200 or 400, and a 200 lists at most limit images, each once, each one
// the caller may see.
func FuzzListImages(f *testing.F) {
	for _, q := range []string{"", "limit=0", "limit=1", "limit=-1", "limit=1001", "limit=x", "limit=99999999999999999999",
		"visibility=all", "visibility=community", "visibility=bogus", "os_hidden=true", "marker=", "marker=nonexistent",
		"limit=0&marker=%s", "marker=%s&limit=1", "limit=1&limit=0", "visibility=private&os_hidden=true&limit=2"} {
		f.Add(q)
	}
	h := newHarness(f, glancePolicy(f), nil)
	member := h.token(p1, "member", "reader")
	visible := map[string]bool{}
	for i, vis := range []string{imagestore.Private, imagestore.Public, imagestore.Shared, imagestore.Community, imagestore.Private} {
		owner := p1
		if i == 4 {
			owner = p2 // not p1's to see
		}
		img := h.image(digits, imagestore.ImportOptions{Owner: sp(owner), Visibility: vis, Hidden: i == 1})
		visible[img.ID] = owner == p1 || vis == imagestore.Public || vis == imagestore.Community
	}
	var anID string
	for id := range visible {
		anID = id
		break
	}
	f.Fuzz(func(t *testing.T, query string) {
		query = strings.ReplaceAll(query, "%s", anID)
		req, err := http.NewRequest("GET", h.srv.URL+"/v2/images?"+query, nil)
		if err != nil {
			t.Skip()
		}
		req.Header.Set("X-Auth-Token", member)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Skip() // a request the client will not send
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%q: %v (the connection was cut)", query, err)
		}
		if resp.StatusCode == 400 {
			return
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d %s", query, resp.StatusCode, body)
		}
		var page struct {
			Images []struct{ ID string } `json:"images"`
			Next   string                `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("%q: %v %s", query, err, body)
		}
		limit := 25
		if v := req.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				// Python's int() takes blanks around and underscores
				// between digits; whatever it reads is at most 1000 here.
				digits := strings.ReplaceAll(strings.TrimSpace(v), "_", "")
				if strings.Trim(digits, "0123456789") != "" || digits == "" {
					t.Fatalf("%q: a bad limit was accepted", query)
				}
				n = 1000
			}
			if n < 0 {
				t.Fatalf("%q: a bad limit was accepted", query)
			}
			limit = min(n, 1000)
		}
		if len(page.Images) > limit || page.Next != "" && len(page.Images) != limit {
			t.Fatalf("%q: %d images, next %q, limit %d", query, len(page.Images), page.Next, limit)
		}
		seen := map[string]bool{}
		for _, img := range page.Images {
			if seen[img.ID] || !visible[img.ID] {
				t.Fatalf("%q: listed %s (repeated or not visible)", query, img.ID)
			}
			seen[img.ID] = true
		}
	})
}

// A marker the caller may not see is as unknown as an id that does not
// exist: both 400, as in Glance, so the listing tells nothing about
// images the caller cannot see.
func TestMarkerIsNoExistenceOracle(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	m1, m2, admin := tok(h.token(p1, "member", "reader")), tok(h.token(p2, "member", "reader")), tok(h.token("p9", "admin"))
	private := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	shared := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Shared})
	public := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Public})
	for _, c := range []struct {
		who    string
		hdr    map[string]string
		marker string
		status int
	}{
		{"stranger, private", m2, private.ID, 400},
		{"stranger, shared without membership", m2, shared.ID, 400},
		{"stranger, unknown", m2, "00000000-0000-0000-0000-000000000000", 400},
		{"stranger, over-long", m2, strings.Repeat("0", 37), 400},
		{"stranger, public", m2, public.ID, 200},
		{"owner, private", m1, private.ID, 200},
		{"admin, private", admin, private.ID, 200},
		{"admin, unknown", admin, "00000000-0000-0000-0000-000000000000", 400},
	} {
		r := h.do("GET", "/v2/images?marker="+c.marker, c.hdr)
		if r.Status != c.status {
			t.Errorf("%s: %d %s, want %d", c.who, r.Status, r.Body, c.status)
		}
	}
	// The two refusals are the same answer (which names the marker, as
	// Glance's "No image found with ID ...").
	unknown := "00000000-0000-0000-0000-000000000000"
	a := h.do("GET", "/v2/images?marker="+private.ID, m2)
	b := h.do("GET", "/v2/images?marker="+unknown, m2)
	if !bytes.Equal(bytes.ReplaceAll(a.Body, []byte(private.ID), []byte(unknown)), b.Body) {
		t.Errorf("hidden %s vs unknown %s", a.Body, b.Body)
	}
}

// Random methods and paths do not grow /metrics: every label is from a
// bounded set (method or "other", route pattern or "unmatched").
func TestMetricsLabelsAreBounded(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	rng := rand.New(rand.NewPCG(3, 4))
	series := func() int {
		n := 0
		for _, l := range strings.Split(string(h.do("GET", "/metrics", nil).Body), "\n") {
			if strings.HasPrefix(l, "oslorego_") {
				n++
			}
		}
		return n
	}
	for i := range 400 {
		method := fmt.Sprintf("M%08X", rng.Uint32())
		if i%4 == 0 {
			method = []string{"GET", "HEAD", "DELETE", "PUT"}[i/4%4]
		}
		path := fmt.Sprintf("/%x/%x", rng.Uint32(), rng.Uint32())
		if i%3 == 0 {
			path = fmt.Sprintf("/v2/images/%x/file", rng.Uint32())
		}
		h.do(method, path, member)
		if i == 100 {
			before := series()
			defer func() {
				if after := series(); after > before+60 {
					t.Errorf("series grew from %d to %d over 300 random requests", before, after)
				}
			}()
		}
	}
	m := string(h.do("GET", "/metrics", nil).Body)
	if strings.Contains(m, `method="M`) || strings.Contains(m, `route="/`+"0") || strings.Count(m, "\n") > 1000 {
		t.Errorf("client-made labels in /metrics")
	}
	mustContain(t, m, `method="other",route="unmatched"`)
	mustContain(t, m, `route="/v2/images/:id/file"`)
}

// A megabyte id is neither logged nor echoed whole.
func TestLongIDsAreClipped(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	long := strings.Repeat("a", 512<<10)
	for _, c := range []struct {
		path string
		hdr  map[string]string
	}{
		{"/v2/images/" + long + "/file", member},
		{"/v2/images/" + long, member},
		{"/v1/images/" + long, member},
		{"/v2/images/" + long + "/file", nil},
		{"/v2/images?marker=" + long, member},
		{"/v2/images?visibility=" + long, member},
	} {
		r := h.do("GET", c.path, c.hdr)
		if r.Status < 400 || len(r.Body) > 1024 {
			t.Errorf("%.40s…: %d with a %d-byte body", c.path, r.Status, len(r.Body))
		}
	}
	// An unknown path gets Glance's versions document, which names no path.
	if r := h.do("GET", "/"+long, member); r.Status != http.StatusMultipleChoices || strings.Contains(string(r.Body), "aaaa") {
		t.Errorf("/aaaa…: %d %.200s", r.Status, r.Body)
	}
	for _, l := range strings.Split(h.decisions.String()+h.logs.String(), "\n") {
		if len(l) > 2048 {
			t.Errorf("a %d-byte log line: %.200s…", len(l), l)
		}
	}
}

// Past MaxRequests in progress a request is a 503 with a JSON body and
// Retry-After; /healthz stays answerable; a freed slot serves again.
func TestMaxRequests(t *testing.T) {
	held, release := make(chan struct{}, 2), make(chan struct{})
	gate := func(r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			held <- struct{}{}
			<-release
		}
	}
	h := newHarness(t, glancePolicy(t), gated(gate), func(c *server.Config) { c.MaxRequests = 2 })
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	path := "/v2/images/" + img.ID + "/file"
	done := make(chan response, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
			req.Header.Set("X-Auth-Token", member["X-Auth-Token"])
			req.Header.Set("X-Hold", "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- response{}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- response{resp.StatusCode, resp.Header, b}
		}()
	}
	<-held
	<-held
	r := h.do("GET", path, member)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("past the limit: %d %v %s", r.Status, r.Header, r.Body)
	}
	if e, _ := r.json(t)["error"].(map[string]any); e["code"] != float64(503) {
		t.Errorf("503 body %s", r.Body)
	}
	if r := h.do("GET", "/healthz", nil); r.Status != 200 {
		t.Errorf("healthz at the limit: %d", r.Status)
	}
	close(release)
	for range 2 {
		if r := <-done; r.Status != 200 || !bytes.Equal(r.Body, digits) {
			t.Errorf("held request: %d %q", r.Status, r.Body)
		}
	}
	if r := h.do("GET", path, member); r.Status != 200 {
		t.Errorf("after the slots are free: %d", r.Status)
	}
	mustContain(t, string(h.do("GET", "/metrics", nil).Body), "oslorego_http_requests_rejected_total 1")
}

// bigImage imports n bytes of noise owned by p1.
func bigImage(t *testing.T, h *harness, n int) (imagestore.Image, []byte) {
	t.Helper()
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return h.image(data, imagestore.ImportOptions{Owner: sp(p1)}), data
}

// A client that takes no data loses its connection after the write
// progress timeout: the server does not hold the connection and the data
// file for ever.
func TestStalledReaderIsCutOff(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) { c.WriteProgressTimeout = 200 * time.Millisecond })
	member := h.token(p1, "member")
	img, data := bigImage(t, h, 32<<20)
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n\r\n", img.ID, member)
	// Wait (reading nothing) until the server has given up on us.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(h.decisions.String(), "transfer interrupted"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server still waits for a client that reads nothing")
		}
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard only
	n, _ := io.Copy(io.Discard, conn)
	if n >= int64(len(data)) {
		t.Errorf("the stalled client got all %d bytes", n)
	}
}

// A download that keeps moving may take longer than the write progress
// timeout: the timeout bounds a stall, not a download.
func TestSlowReaderCompletes(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) { c.WriteProgressTimeout = time.Second })
	member := tok(h.token(p1, "member"))
	img, data := bigImage(t, h, 8<<20)
	req, _ := http.NewRequest("GET", h.srv.URL+"/v2/images/"+img.ID+"/file", nil)
	req.Header.Set("X-Auth-Token", member["X-Auth-Token"])
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
		time.Sleep(15 * time.Millisecond)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Errorf("slow download: %d of %d bytes", got.Len(), len(data))
	}
	t.Logf("a slow download took %v with a 1s progress timeout", time.Since(start))
}

// A Range header the server refuses is a 400 or 416, never the image.
func TestRangeRefusalsNeverSendTheImage(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	for _, c := range []struct{ k, v string }{
		{"Range", "bytes=0-1,3-4"}, {"Range", "bytes=20-"}, {"Range", "bytes=5-2"}, {"Range", "pages=1-2"}, {"Range", ""},
		{"Range", "bytes=-"}, {"Content-Range", "bytes 5-2/10"}, {"Content-Range", "bytes */10"}, {"Content-Range", "bytes 0-10/*"},
		{"Content-Range", "junk"},
	} {
		r := h.do("GET", "/v2/images/"+img.ID+"/file", with(member, c.k, c.v))
		if (r.Status != 400 && r.Status != 416) || bytes.Contains(r.Body, digits) {
			t.Errorf("%s: %q: %d %q", c.k, c.v, r.Status, r.Body)
		}
	}
}

// fakeStatus is a component /readyz reports on.
type fakeStatus struct {
	ready  bool
	detail string
}

func (f fakeStatus) Status() (bool, string) { return f.ready, f.detail }

// /readyz is 200 only when a policy is in force and every component is
// ready, with one line per component either way.
func TestReadyzReportsEveryComponent(t *testing.T) {
	rev := builtinRevision(t)
	for _, c := range []struct {
		name   string
		policy server.PolicySource
		status map[string]server.StatusReporter
		code   int
		lines  []string
	}{
		{"policy only", glancePolicy(t), nil, 200, []string{"policy: ready; revision " + rev}},
		{"all ready", glancePolicy(t), map[string]server.StatusReporter{"tokens": fakeStatus{true, "ready; 3 tokens"}}, 200,
			[]string{"policy: ready; revision " + rev, "tokens: ready; 3 tokens"}},
		{"tokens corrupt", glancePolicy(t), map[string]server.StatusReporter{"tokens": fakeStatus{false, "not ready; tokens.json is corrupt"}, "b": fakeStatus{true, "fine"}}, 503,
			[]string{"b: fine", "policy: ready", "tokens: not ready; tokens.json is corrupt"}},
		{"no policy", noPolicy, map[string]server.StatusReporter{"tokens": fakeStatus{true, "ready"}}, 503,
			[]string{"policy: not ready; no policy loaded", "tokens: ready"}},
		{"policy reports itself", reportingPolicy{glancePolicy(t), fakeStatus{true, "ready; revision x; last reload failed: broken"}}, nil, 200,
			[]string{"policy: ready; revision x; last reload failed: broken"}},
		{"policy says not ready", reportingPolicy{glancePolicy(t), fakeStatus{false, "stale"}}, nil, 503, []string{"policy: stale"}},
	} {
		h := newHarness(t, c.policy, nil, func(cfg *server.Config) { cfg.Status = c.status })
		r := h.do("GET", "/readyz", nil)
		if r.Status != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.code)
		}
		for _, l := range c.lines {
			mustContain(t, string(r.Body), l)
		}
	}
}

// reportingPolicy is a policy source that is its own StatusReporter, as
// bundles.Watcher.
type reportingPolicy struct {
	server.PolicySource
	fakeStatus
}
