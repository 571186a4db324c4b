package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/upstream"
)

// fakeGlance is a stand-in upstream Glance for the gateway's failure
// paths: images as Glance's v2 JSON, each token's view of them, data with
// Range (net/http's), and knobs to fail. The real Glance is in
// gateway_peer_test.go.
type fakeGlance struct {
	t       testing.TB
	srv     *httptest.Server
	service string // the gateway's own token

	mu           sync.Mutex
	images       map[string]map[string]any
	data         map[string][]byte
	hidden       map[string][]string        // token → properties its view lacks
	invisible    map[string]map[string]bool // token → images it cannot see
	failService  bool
	refused      map[string]bool // tokens answered 401
	refusedReqs  int
	serviceReads int
	callerReads  int
	dataReqs     []http.Header
	kill         bool          // data: half the body, then the connection dies
	stall        chan struct{} // data: some bytes, then wait for the request to end, then close stall
	noRange      bool          // data: 400 to a Range, as Glance on Swift, RBD or S3
	// beforeService and beforeCaller, when set, run before a metadata read
	// as the gateway, or as a caller, is answered (outside mu).
	beforeService, beforeCaller func()
	failCaller                  bool // callers' metadata reads: 500
}

func newFakeGlance(t testing.TB) *fakeGlance {
	f := &fakeGlance{t: t, service: "gateway-own-token", images: map[string]map[string]any{}, data: map[string][]byte{},
		hidden: map[string][]string{}, invisible: map[string]map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add adds an image owned by p1 with data and custom properties.
func (f *fakeGlance) add(id string, data []byte, props map[string]string) {
	sum, sha := md5.Sum(data), sha512.Sum512(data)
	m := map[string]any{
		"id": id, "name": id, "status": "active", "visibility": "private", "owner": p1,
		"size": len(data), "virtual_size": nil, "checksum": hex.EncodeToString(sum[:]), "os_hash_algo": "sha512", "os_hash_value": hex.EncodeToString(sha[:]),
		"disk_format": "raw", "container_format": "bare", "min_disk": 0, "min_ram": 0, "protected": false, "os_hidden": false,
		"tags": []string{}, "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
		"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image",
		"locations":  []any{map[string]any{"url": "file:///var/lib/glance/images/" + id, "metadata": map[string]any{}}},
		"direct_url": "file:///var/lib/glance/images/" + id,
	}
	for k, v := range props {
		m[k] = v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[id], f.data[id] = m, data
}

func (f *fakeGlance) serve(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("X-Auth-Token")
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/images/")
	f.mu.Lock()
	refused := f.refused[tok]
	if refused {
		f.refusedReqs++
	}
	f.mu.Unlock()
	if !ok || tok == "" || refused {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	id, file := strings.CutSuffix(rest, "/file")
	f.mu.Lock()
	img, exists := f.images[id]
	visible := exists && (tok == f.service || !f.invisible[tok][id])
	w.Header().Set("X-Openstack-Request-Id", "req-upstream-"+id)
	if !file {
		if tok == f.service {
			f.serviceReads++
		} else {
			f.callerReads++
		}
		fail := tok == f.service && f.failService || tok != f.service && f.failCaller
		hook := f.beforeCaller
		if tok == f.service {
			hook = f.beforeService
		}
		view := map[string]any{}
		for k, v := range img {
			view[k] = v
		}
		for _, k := range f.hidden[tok] {
			delete(view, k)
		}
		f.mu.Unlock()
		if hook != nil {
			hook()
		}
		switch {
		case fail:
			http.Error(w, "boom", http.StatusInternalServerError)
		case !visible:
			http.Error(w, "not found", http.StatusNotFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(view)
		}
		return
	}
	f.dataReqs = append(f.dataReqs, r.Header.Clone())
	data, kill, stall, noRange := f.data[id], f.kill, f.stall, f.noRange
	f.mu.Unlock()
	if tok == f.service {
		f.t.Errorf("the gateway's own token fetched data of %s", id)
	}
	if !visible {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-MD5", img["checksum"].(string))
	switch {
	case noRange && r.Header.Get("Range") != "":
		http.Error(w, "Range not supported by the store", http.StatusBadRequest)
		return
	case kill:
		w.Header().Set("Content-Length", itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case stall != nil:
		w.Header().Set("Content-Length", itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(stall)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func itoa(n int) string { return strconv.Itoa(n) }

// gateway is a harness whose server fronts f with the built-in policy.
func (f *fakeGlance) gateway(t *testing.T, ttl time.Duration, reg *prometheus.Registry) *harness {
	t.Helper()
	return f.gatewayWith(t, glancePolicy(t), server.UpstreamOptions{MetadataTTL: ttl, Registerer: reg})
}

// gatewayWith is gateway with policy and o (a nil o.Registerer: a new
// registry).
func (f *fakeGlance) gatewayWith(t testing.TB, policy server.PolicySource, o server.UpstreamOptions) *harness {
	t.Helper()
	c := f.client(t)
	reg, _ := o.Registerer.(*prometheus.Registry)
	if reg == nil {
		reg = prometheus.NewRegistry()
		o.Registerer = reg
	}
	src, err := server.NewUpstreamSource(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, policy, nil, func(cfg *server.Config) {
		cfg.Images, cfg.Source, cfg.Registry = nil, src, reg
	})
}

// client is a client of f whose own identity is f's service token.
func (f *fakeGlance) client(t testing.TB) *upstream.Client {
	t.Helper()
	tf := filepath.Join(t.TempDir(), "gateway-token")
	if err := os.WriteFile(tf, []byte(f.service+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := upstream.New(upstream.Options{URL: f.srv.URL, Identity: upstream.NewTokenFile(tf), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	gwPresent = "11111111-0000-4000-8000-000000000001"
	gwAbsent  = "11111111-0000-4000-8000-000000000002"
)

// The target is the gateway's own, unfiltered read: a marker the
// caller's view lacks still restricts; the data is never fetched for a
// refusal; what is shown is at most the caller's view, never a location.
func TestGatewayDecidesOnTheWholeRecord(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwPresent, digits, map[string]string{"x_billing_code_ntt": "ntt_3251", "os_distro": "cirros"})
	f.add(gwAbsent, digits, nil)
	h := f.gateway(t, 0, nil)
	member, admin := h.token(p1, "member", "reader"), h.token(p1, "admin", "member", "reader")
	f.hidden[member] = []string{"x_billing_code_ntt"}
	for _, path := range []string{"/v2/images/%s/file", "/v1/images/%s"} {
		for _, c := range []struct {
			who, token, id string
			want           int
		}{
			{"member", member, gwPresent, 403},
			{"member", member, gwAbsent, 200},
			{"admin", admin, gwPresent, 200},
		} {
			p := strings.Replace(path, "%s", c.id, 1)
			f.mu.Lock()
			before := len(f.dataReqs)
			f.mu.Unlock()
			r := h.do("GET", p, tok(c.token))
			if r.Status != c.want {
				t.Errorf("%s %s: %d, want %d (%s)", c.who, p, r.Status, c.want, r.Body)
			}
			f.mu.Lock()
			fetched := len(f.dataReqs) - before
			f.mu.Unlock()
			if c.want == 200 && (!bytes.Equal(r.Body, digits) || fetched != 1) {
				t.Errorf("%s %s: body %q, %d data requests", c.who, p, r.Body, fetched)
			}
			if c.want == 403 && fetched != 0 {
				t.Errorf("%s %s: refused, but the data was fetched", c.who, p)
			}
		}
	}
	r := h.do("GET", "/v2/images/"+gwPresent, tok(member))
	v := r.json(t)
	if _, ok := v["x_billing_code_ntt"]; ok {
		t.Errorf("shown a property the caller's view lacks: %v", v)
	}
	if v["os_distro"] != "cirros" {
		t.Errorf("os_distro not shown: %v", v)
	}
	for _, k := range []string{"locations", "direct_url"} {
		if _, ok := v[k]; ok {
			t.Errorf("shown %s", k)
		}
	}
	r = h.do("HEAD", "/v1/images/"+gwPresent, tok(admin))
	if r.Status != 200 || r.Header.Get("X-Image-Meta-Property-X_billing_code_ntt") != "ntt_3251" {
		t.Errorf("HEAD v1 as admin: %d %v", r.Status, r.Header)
	}
	if strings.Contains(strings.ToLower(h.do("HEAD", "/v1/images/"+gwPresent, tok(member)).Header.Get("X-Image-Meta-Property-X_billing_code_ntt")), "ntt") {
		t.Errorf("HEAD v1 as member shows the hidden marker")
	}
	if r := h.do("GET", "/v2/images", tok(admin)); r.Status != 404 {
		t.Errorf("listing in gateway mode: %d, want 404 (not served)", r.Status)
	}
}

// An image the caller cannot see upstream is 404, decided by no one, and
// answered without waiting for the gateway's own read (made beside the
// caller's, here never answered): neither its result nor its time tells
// the caller anything.
func TestGatewayNotFoundWithoutDeciding(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwPresent, digits, map[string]string{"x_billing_code_ntt": "ntt_3251"})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.beforeService = func() { <-release }
	h := f.gateway(t, 0, nil)
	olga := h.token(p2, "member", "reader")
	f.invisible[olga] = map[string]bool{gwPresent: true}
	for _, p := range []string{"/v2/images/" + gwPresent + "/file", "/v1/images/" + gwPresent, "/v2/images/" + gwAbsent + "/file"} {
		start := time.Now()
		if r := h.do("GET", p, tok(olga)); r.Status != 404 {
			t.Errorf("%s: %d, want 404", p, r.Status)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: answered after %v: waited for the gateway's own read", p, d)
		}
	}
	if strings.Contains(h.decisions.String(), `"result":"deny"`) || strings.Contains(h.decisions.String(), `"result":"allow"`) ||
		!strings.Contains(h.decisions.String(), `"result":"not_found"`) {
		t.Errorf("decision log: %s", h.decisions.String())
	}
}

// The caller's read and the gateway's own are in flight together: here
// Glance answers neither until both have arrived, which a gateway making
// them one after the other never sees (its download would time out).
func TestGatewayReadsInParallel(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	wait := func() {
		arrived.Done()
		select {
		case <-both:
		case <-time.After(2 * time.Second):
		}
	}
	f.beforeService, f.beforeCaller = wait, wait
	h := f.gateway(t, 0, nil)
	member := h.token(p1, "member", "reader")
	start := time.Now()
	r := h.do("GET", "/v2/images/"+gwAbsent+"/file", tok(member))
	if r.Status != 200 || !bytes.Equal(r.Body, digits) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("download took %v: the two reads were not in flight together", d)
	}
}

// Either read failing fails the request, with no decision: the caller's
// failing is 503 even while the gateway's own read would allow.
func TestGatewayCallerReadFailsClosed(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	f.failCaller = true
	h := f.gateway(t, 0, nil)
	member := h.token(p1, "member", "reader")
	if r := h.do("GET", "/v2/images/"+gwAbsent+"/file", tok(member)); r.Status != 503 {
		t.Errorf("%d %s, want 503", r.Status, r.Body)
	}
	if len(f.dataReqs) != 0 || strings.Contains(h.decisions.String(), `"result":"allow"`) {
		t.Errorf("decided or fetched data: %d data requests; %s", len(f.dataReqs), h.decisions.String())
	}
}

// The gateway's own read failing is a 503, never the caller's view: the
// caller's view here would allow (the marker is hidden from it).
func TestGatewayServiceReadFailsClosed(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwPresent, digits, map[string]string{"x_billing_code_ntt": "ntt_3251"})
	f.failService = true
	reg := prometheus.NewRegistry()
	h := f.gateway(t, 0, reg)
	member := h.token(p1, "member", "reader")
	f.hidden[member] = []string{"x_billing_code_ntt"}
	r := h.do("GET", "/v2/images/"+gwPresent+"/file", tok(member))
	if r.Status != 503 || !strings.Contains(string(r.Body), "unavailable") {
		t.Errorf("%d %s, want 503", r.Status, r.Body)
	}
	if len(f.dataReqs) != 0 {
		t.Errorf("data fetched")
	}
	if got := metric(t, reg, "oslorego_source_unavailable_total", "find"); got != 1 {
		t.Errorf("oslorego_source_unavailable_total{step=find} = %v", got)
	}
	mustContain(t, h.logs.String(), "level=ERROR")
	// The gateway's token refused: a new one is tried once, then 503.
	f.mu.Lock()
	f.failService = false
	f.refused = map[string]bool{f.service: true}
	f.mu.Unlock()
	if r := h.do("GET", "/v2/images/"+gwPresent+"/file", tok(member)); r.Status != 503 {
		t.Errorf("gateway token refused: %d, want 503", r.Status)
	}
	if f.refusedReqs != 1 {
		t.Errorf("%d reads with a refused token, want 1 (then the token file must change)", f.refusedReqs)
	}
}

// metric is a counter's value for one label value.
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Data goes with the caller's token and our request id; Range answers,
// Content-MD5 and the statuses are Glance's, relayed.
func TestGatewayRelaysData(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	reg := prometheus.NewRegistry()
	h := f.gateway(t, time.Hour, reg)
	member := h.token(p1, "member", "reader")
	r := h.do("GET", "/v2/images/"+gwAbsent+"/file", tok(member))
	if r.Status != 200 || !bytes.Equal(r.Body, digits) || r.Header.Get("Content-MD5") != md5hex(digits) || r.Header.Get("Content-Length") != "10" {
		t.Fatalf("%d %v %q", r.Status, r.Header, r.Body)
	}
	got := f.dataReqs[0]
	if got.Get("X-Auth-Token") != member {
		t.Errorf("data fetched with token %q, not the caller's", got.Get("X-Auth-Token"))
	}
	if id := got.Get("X-Openstack-Request-Id"); id == "" || id != r.Header.Get("X-Openstack-Request-Id") {
		t.Errorf("request id upstream %q, ours %q", id, r.Header.Get("X-Openstack-Request-Id"))
	}
	mustContain(t, h.decisions.String(), `"upstream_request_id":"req-upstream-`+gwAbsent+`"`)
	for _, c := range []struct {
		rng, cr string
		status  int
		body    string
	}{
		{"bytes=2-4", "bytes 2-4/10", 206, "234"},
		{"bytes=-3", "bytes 7-9/10", 206, "789"},
		{"bytes=20-", "bytes */10", 416, ""},
	} {
		r := h.do("GET", "/v2/images/"+gwAbsent+"/file", with(tok(member), "Range", c.rng))
		if r.Status != c.status || r.Header.Get("Content-Range") != c.cr || (c.body != "" && string(r.Body) != c.body) {
			t.Errorf("Range %s: %d %q %q", c.rng, r.Status, r.Header.Get("Content-Range"), r.Body)
		}
	}
	if f.serviceReads != 1 {
		t.Errorf("%d reads as the gateway within the metadata TTL, want 1", f.serviceReads)
	}
	if hits := metric(t, reg, "oslorego_upstream_metadata_lookups_total", "hit"); hits != 3 {
		t.Errorf("metadata cache hits %v, want 3", hits)
	}
}

// The upstream dying mid-download breaks the client's transfer: never a
// short 200 that passes for a whole image.
func TestGatewayUpstreamKilledMidDownload(t *testing.T) {
	f := newFakeGlance(t)
	big := bytes.Repeat([]byte("x"), 1<<20)
	f.add(gwAbsent, big, nil)
	f.kill = true
	reg := prometheus.NewRegistry()
	h := f.gateway(t, 0, reg)
	member := h.token(p1, "member", "reader")
	for _, p := range []string{"/v2/images/" + gwAbsent + "/file", "/v1/images/" + gwAbsent} {
		req, _ := http.NewRequest("GET", h.srv.URL+p, nil)
		req.Header.Set("X-Auth-Token", member)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			continue // broken before the headers: fine
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%s: a clean %d with %d of %d bytes", p, resp.StatusCode, n, len(big))
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("%s: broken transfer: %v", p, err)
		}
	}
	if got := metric(t, reg, "oslorego_source_unavailable_total", "transfer"); got != 2 {
		t.Errorf("oslorego_source_unavailable_total{step=transfer} = %v, want 2", got)
	}
}

// A client that hangs up stops the upstream transfer.
func TestGatewayHangUpCancelsUpstream(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, bytes.Repeat([]byte("x"), 1<<20), nil)
	f.stall = make(chan struct{})
	h := f.gateway(t, 0, nil)
	member := h.token(p1, "member", "reader")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/v2/images/"+gwAbsent+"/file", nil)
	req.Header.Set("X-Auth-Token", member)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-f.stall:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request still runs 10 s after the client hung up")
	}
}

// Upstream down: 503 with a clear body, counted.
func TestGatewayUpstreamDown(t *testing.T) {
	f := newFakeGlance(t)
	reg := prometheus.NewRegistry()
	h := f.gateway(t, 0, reg)
	member := h.token(p1, "member", "reader")
	f.srv.Close()
	r := h.do("GET", "/v2/images/"+gwAbsent+"/file", tok(member))
	if r.Status != 503 || !strings.Contains(string(r.Body), "The image service is unavailable") {
		t.Errorf("%d %s, want 503", r.Status, r.Body)
	}
	if got := metric(t, reg, "oslorego_source_unavailable_total", "find"); got != 1 {
		t.Errorf("oslorego_source_unavailable_total{step=find} = %v, want 1", got)
	}
}

// /readyz in gateway mode reports the upstream: ready while Glance
// answers, 503 with the reason while it cannot be reached, and ready
// again when it is back; the other conditions still count.
func TestGatewayReadyzReportsUpstream(t *testing.T) {
	f := newFakeGlance(t)
	h := f.gateway(t, 0, nil)
	r := h.do("GET", "/readyz", nil)
	if r.Status != 200 {
		t.Fatalf("Glance up: %d %s", r.Status, r.Body)
	}
	mustContain(t, string(r.Body), "upstream: ready; Glance at "+f.srv.URL+" answered GET /versions")
	mustContain(t, string(r.Body), "policy: ready")
	addr := f.srv.Listener.Addr().String()
	f.srv.Close()
	time.Sleep(1100 * time.Millisecond) // past the probe's reuse
	r = h.do("GET", "/readyz", nil)
	if r.Status != 503 {
		t.Fatalf("Glance down: %d %s", r.Status, r.Body)
	}
	mustContain(t, string(r.Body), "upstream: not ready; Glance at "+f.srv.URL+" unreachable: ")
	mustContain(t, string(r.Body), "connection refused")
	// Back (same address), answering 5xx: still not ready; then fine.
	var fail atomic.Bool
	fail.Store(true)
	back := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "db down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"versions": []}`))
	})}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the fake Glance's port was taken meanwhile: %v", err)
	}
	go func() { _ = back.Serve(l) }()
	t.Cleanup(func() { _ = back.Close() })
	time.Sleep(1100 * time.Millisecond)
	if r = h.do("GET", "/readyz", nil); r.Status != 503 || !strings.Contains(string(r.Body), "answered GET /versions 500 Internal Server Error") {
		t.Errorf("Glance answering 500: %d %s", r.Status, r.Body)
	}
	fail.Store(false)
	time.Sleep(1100 * time.Millisecond)
	if r = h.do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("Glance back: %d %s", r.Status, r.Body)
	}
	// The embedded store has no upstream line.
	local := newHarness(t, glancePolicy(t), nil)
	if r := local.do("GET", "/readyz", nil); r.Status != 200 || strings.Contains(string(r.Body), "upstream") {
		t.Errorf("embedded store: %d %s", r.Status, r.Body)
	}
}
