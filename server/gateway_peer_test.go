package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/upstream"
)

// peers are a real Keystone (testenv.Keystone) and a real glance-api
// with Keystone authentication in front of it (testenv.Glance).
type peers struct {
	t        *testing.T
	keystone string            // base URL
	env      map[string]string // the keystone peer's env.sh
	glance   string            // base URL
	glanceP  *testenv.GlancePeer
}

// startPeers starts a glance-api in front of the keystone peer whose
// property protections make the billing marker readable by admins only.
func startPeers(t *testing.T) *peers {
	t.Helper()
	testenv.Long(t)
	ks := testenv.Keystone(t)
	g := testenv.Glance(t, ks)
	return &peers{t: t, keystone: ks.URL, env: ks.Env, glance: g.URL, glanceP: g}
}

// killGlance stops the upstream.
func (p *peers) killGlance() { p.glanceP.Kill() }

// token is a project-scoped token for user in project.
func (p *peers) token(user, project string) string {
	p.t.Helper()
	body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"id": "default"}, "password": %q}}},
		"scope": {"project": {"name": %q, "domain": {"id": "default"}}}}}`, user, p.env["KEYSTONE_PW"], project)
	resp, err := http.Post(p.keystone+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("token for %s in %s: %s %s", user, project, resp.Status, b)
	}
	return resp.Header.Get("X-Subject-Token")
}

// call makes one JSON (or raw) request and returns the status and body.
func call(t *testing.T, method, url, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// keystoneAdmin does one identity admin call; the answer's JSON.
func (p *peers) keystoneAdmin(admin, method, path string, body any) map[string]any {
	p.t.Helper()
	b, _ := json.Marshal(body)
	if body == nil {
		b = nil
	}
	status, out := call(p.t, method, p.keystone+path, admin, "application/json", b)
	if status >= 300 {
		p.t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

// noRoleUser provisions nora, whose only role on demo is one no rule
// names (a project-scoped token needs some role), and returns her token.
func (p *peers) noRoleUser(admin string) string {
	p.t.Helper()
	role := p.keystoneAdmin(admin, "POST", "/v3/roles", map[string]any{"role": map[string]any{"name": "observer-" + randomSuffix()}})
	user := p.keystoneAdmin(admin, "POST", "/v3/users", map[string]any{"user": map[string]any{"name": "nora-" + randomSuffix(), "password": p.env["KEYSTONE_PW"], "domain_id": "default"}})
	rid, uid := role["role"].(map[string]any)["id"].(string), user["user"].(map[string]any)
	p.keystoneAdmin(admin, "PUT", "/v3/projects/"+p.env["PROJECT_DEMO"]+"/users/"+uid["id"].(string)+"/roles/"+rid, nil)
	return p.token(uid["name"].(string), "demo")
}

func randomSuffix() string { return fmt.Sprintf("%d", time.Now().UnixNano()%1e9) }

// image creates an image as admin (owner, visibility, properties) and
// uploads data (nil: left queued); it returns the id.
func (p *peers) image(admin, owner string, props map[string]string, data []byte) string {
	p.t.Helper()
	return p.glanceP.Image(admin, owner, props, data)
}

// gatewayOver is oslorego in gateway mode in front of p: Keystone auth
// with the oslorego service user, the gateway's identity the admin.
func (p *peers) gatewayOver(t *testing.T, adminToken string, reg *prometheus.Registry) (*httptest.Server, *syncBuffer) {
	t.Helper()
	return p.gatewayOverWith(t, adminToken, reg, glancePolicy(t), nil, false)
}

// gatewayWith is gatewayOver, serving every route when all is set
// (--routes all).
func (p *peers) gatewayWith(t *testing.T, adminToken string, reg *prometheus.Registry, all bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	return p.gatewayOverWith(t, adminToken, reg, glancePolicy(t), nil, all)
}

// gatewayOverWith is gatewayOver with policy, an image cache (nil:
// none) and every route when all is set.
func (p *peers) gatewayOverWith(t *testing.T, adminToken string, reg *prometheus.Registry, policy server.PolicySource, cache *imagecache.Cache, all bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	return p.gatewayOverOpts(t, adminToken, policy, server.UpstreamOptions{Registerer: reg, Cache: cache}, all)
}

// gatewayOverOpts is gatewayOverWith with the source's options (their
// Registerer a *prometheus.Registry).
func (p *peers) gatewayOverOpts(t *testing.T, adminToken string, policy server.PolicySource, o server.UpstreamOptions, all bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	reg := o.Registerer.(*prometheus.Registry)
	k, err := auth.NewKeystone(auth.KeystoneOptions{URL: p.keystone, ServiceToken: p.token("oslorego", "service")})
	if err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(t.TempDir(), "gateway-token")
	if err := os.WriteFile(tf, []byte(adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := upstream.New(upstream.Options{URL: p.glance, Identity: upstream.NewTokenFile(tf), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	src, err := server.NewUpstreamSource(c, o)
	if err != nil {
		t.Fatal(err)
	}
	decisions := &syncBuffer{}
	cfg := server.Config{Source: src, Auth: k, Policy: policy, Registry: reg,
		DecisionLog: slog.New(slog.NewJSONHandler(decisions, nil))}
	if all {
		cfg.Upstream = c
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, decisions
}

// TestGatewayAgainstGlance: oslorego --upstream in front of a real Glance
// with Keystone: the blueprint matrix on v1 and v2, with the marker
// unreadable to every caller but admins (Glance's property protections)
// still restricting; other projects' private images 404 with and without
// the marker; Range, 204, deactivated; the upstream down is 503.
func TestGatewayAgainstGlance(t *testing.T) {
	p := startPeers(t)
	admin := p.token("admin", "admin") // the gateway's own identity too
	data := bytes.Repeat(digits, 1000)
	demo, other := p.env["PROJECT_DEMO"], p.env["PROJECT_OTHER"]
	images := map[string]string{
		"present": p.image(admin, demo, map[string]string{"x_billing_code_ntt": "ntt_3251"}, data),
		"absent":  p.image(admin, demo, nil, data),
		"other":   p.image(admin, demo, map[string]string{"x_billing_code_ntt": "ntt_0001"}, data),
	}
	otherMarked := p.image(admin, other, map[string]string{"x_billing_code_ntt": "ntt_3251"}, data)
	otherPlain := p.image(admin, other, nil, data)
	queued := p.image(admin, demo, nil, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	bigID := p.image(admin, demo, nil, big)
	deactivated := p.image(admin, demo, nil, data)
	if status, out := call(t, "POST", p.glance+"/v2/images/"+deactivated+"/actions/deactivate", admin, "", nil); status != 204 {
		t.Fatalf("deactivate: %d %s", status, out)
	}
	tokens := map[string]string{
		"admin":  p.token("demo-admin", "demo"),
		"member": p.token("alice", "demo"),
		"reader": p.token("rita", "demo"),
		"none":   p.noRoleUser(admin),
	}
	olga := p.token("olga", "other")

	// The marker really is unreadable to the member upstream.
	status, out := call(t, "GET", p.glance+"/v2/images/"+images["present"], tokens["member"], "", nil)
	if status != 200 || bytes.Contains(out, []byte("x_billing_code_ntt")) {
		t.Fatalf("alice's own view upstream: %d %s (want 200 without the marker)", status, out)
	}

	reg := prometheus.NewRegistry()
	gw, decisions := p.gatewayOver(t, admin, reg)
	get := func(path, token string, hdr map[string]string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", gw.URL+path, nil)
		req.Header.Set("X-Auth-Token", token)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, resp.Header, b
	}

	for who, row := range blueprintWant {
		for img, status := range row {
			for _, path := range []string{"/v2/images/%s/file", "/v1/images/%s"} {
				p := fmt.Sprintf(path, images[img])
				got, _, body := get(p, tokens[who], nil)
				if got != status {
					t.Errorf("%s, marker %s, %s: %d, want %d (%.200s)", who, img, p, got, status, body)
				}
				if status == 200 && !bytes.Equal(body, data) {
					t.Errorf("%s, marker %s, %s: %d bytes, not the image", who, img, path, len(body))
				}
			}
		}
	}
	// Other projects' private images: 404 with and without the marker,
	// both ways, never a 403 that would tell they exist.
	for _, c := range []struct{ who, token, id string }{
		{"member of demo", tokens["member"], otherMarked}, {"member of demo", tokens["member"], otherPlain},
		{"olga", olga, images["present"]}, {"olga", olga, images["absent"]},
	} {
		for _, path := range []string{"/v2/images/%s/file", "/v1/images/%s"} {
			if got, _, body := get(fmt.Sprintf(path, c.id), c.token, nil); got != 404 {
				t.Errorf("%s, %s of another project: %d, want 404 (%.200s)", c.who, fmt.Sprintf(path, c.id), got, body)
			}
		}
	}
	// Range, relayed from Glance's own answer.
	got, h, body := get("/v2/images/"+images["absent"]+"/file", tokens["member"], map[string]string{"Range": "bytes=2-4"})
	if got != 206 || string(body) != "234" || h.Get("Content-Range") != "bytes 2-4/10000" || h.Get("Content-MD5") != md5hex(data) {
		t.Errorf("Range: %d %q %v", got, body, h)
	}
	if got, _, _ := get("/v2/images/"+images["absent"]+"/file", tokens["member"], map[string]string{"Range": "bytes=20000-"}); got != 416 {
		t.Errorf("unsatisfiable Range: %d, want 416", got)
	}
	if got, _, _ := get("/v2/images/"+queued+"/file", tokens["member"], nil); got != 204 {
		t.Errorf("queued image: %d, want 204", got)
	}
	if got, _, _ := get("/v2/images/"+deactivated+"/file", tokens["member"], nil); got != 403 {
		t.Errorf("deactivated image: %d, want 403", got)
	}
	if !strings.Contains(decisions.String(), `"upstream_request_id":"req-`) {
		t.Errorf("no upstream request id in the decision log")
	}
	t.Run("cache", func(t *testing.T) {
		var paths []string
		for _, id := range []string{images["present"], images["absent"], images["other"], otherMarked, queued, deactivated} {
			paths = append(paths, "/v2/images/"+id+"/file", "/v1/images/"+id)
		}
		cachedHitAndMiss(t, p, admin, tokens, paths, images["absent"], data)
	})
	t.Run("caller views", func(t *testing.T) {
		keptCallerViews(t, p, admin, tokens, images, data)
	})
	// /readyz reports the real Glance: ready now, 503 once it is gone.
	if got, body := call(t, "GET", gw.URL+"/readyz", "", "", nil); got != 200 || !strings.Contains(string(body), "upstream: ready; Glance at "+p.glance) {
		t.Errorf("readyz, Glance up: %d %s", got, body)
	}
	// Glance killed mid-download: the client's transfer breaks, never a
	// short 200 that passes for the image.
	req, _ := http.NewRequest("GET", gw.URL+"/v2/images/"+bigID+"/file", nil)
	req.Header.Set("X-Auth-Token", tokens["member"])
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("big image: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	p.killGlance()
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("Glance killed mid-download: the client read %d more bytes and a clean end", n)
	}
	// Glance gone: 503, counted.
	if got, _, body := get("/v2/images/"+images["absent"]+"/file", tokens["member"], nil); got != 503 || !strings.Contains(string(body), "unavailable") {
		t.Errorf("upstream down: %d %s, want 503", got, body)
	}
	if n := metric(t, reg, "oslorego_source_unavailable_total", "find"); n != 1 {
		t.Errorf("oslorego_source_unavailable_total{step=find} = %v, want 1", n)
	}
	time.Sleep(1100 * time.Millisecond) // past the last probe's reuse
	if got, body := call(t, "GET", gw.URL+"/readyz", "", "", nil); got != 503 || !strings.Contains(string(body), "upstream: not ready; Glance at "+p.glance+" unreachable") {
		t.Errorf("readyz, Glance gone: %d %s", got, body)
	}
}

// cachedHitAndMiss: a gateway with an image cache in front of the real
// Glance answers the same on a miss (Glance's answer, relayed, filling
// the cache) and on a hit (the entry): the blueprint matrix on v1 and
// v2, ranges, other projects' images, queued, deactivated; a policy that
// now refuses refuses a cached image at once; a corrupted entry is never
// served.
func cachedHitAndMiss(t *testing.T, p *peers, admin string, tokens map[string]string, paths []string, absent string, data []byte) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	cache, err := imagecache.Open(imagecache.Options{Dir: dir, MaxBytes: 1 << 30, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pol := &switchPolicy{}
	pol.set(glancePolicy(t))
	gw, _ := p.gatewayOverWith(t, admin, reg, pol, cache, false)
	get := func(path, token string, hdr map[string]string) response {
		t.Helper()
		req, _ := http.NewRequest("GET", gw.URL+path, nil)
		req.Header.Set("X-Auth-Token", token)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := cache.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		return response{resp.StatusCode, resp.Header, b}
	}
	type req struct {
		who, path string
		hdr       map[string]string
	}
	var reqs []req
	for _, who := range []string{"admin", "member", "reader", "none"} {
		for _, path := range paths {
			reqs = append(reqs, req{who, path, nil})
		}
		for _, rng := range []string{"bytes=2-4", "bytes=-3", "bytes=9990-", "bytes=20000-"} {
			reqs = append(reqs, req{who, "/v2/images/" + absent + "/file", map[string]string{"Range": rng}})
		}
	}
	run := func() []string {
		var out []string
		for _, r := range reqs {
			out = append(out, answer(get(r.path, tokens[r.who], r.hdr)))
		}
		return out
	}
	miss := run()
	hits := metric(t, reg, "oslorego_image_cache_lookups_total", "hit")
	hit := run()
	for i, r := range reqs {
		if miss[i] != hit[i] {
			t.Errorf("%s %s %v:\nmiss: %.300s\nhit:  %.300s", r.who, r.path, r.hdr, miss[i], hit[i])
		}
	}
	if n := metric(t, reg, "oslorego_image_cache_lookups_total", "hit") - hits; n < 10 {
		t.Errorf("%v hits on the second run, want the allowed downloads'", n)
	}
	if n := metric(t, reg, "oslorego_image_cache_fills_total", "stored"); n != 4 {
		t.Errorf("fills stored = %v, want 4 (present, absent, other, and the other project's, which the admin sees)", n)
	}
	path := "/v2/images/" + absent + "/file"
	// A corrupted entry is never served.
	time.Sleep(20 * time.Millisecond) // past a coarse timestamp's tick
	for _, e := range cache.List() {
		if e.ID == absent {
			name := filepath.Join(dir, "data", e.ID+"."+e.Algo+"."+e.Hash)
			if err := os.WriteFile(name, bytes.Repeat([]byte("X"), int(e.Size)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := get(path, tokens["member"], nil); r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Errorf("after corrupting the entry: %d %.40q", r.Status, r.Body)
	}
	if n := metric(t, reg, "oslorego_image_cache_evictions_total", "corrupt"); n != 1 {
		t.Errorf("corrupt evictions = %v, want 1", n)
	}
	// A policy that now refuses: refused at once, cached or not.
	pol.set(dirPolicy(t, map[string]string{"policy.yaml": `"download_image": "!"` + "\n"}))
	for _, pth := range []string{path, "/v1/images/" + absent} {
		if r := get(pth, tokens["admin"], nil); r.Status != 403 {
			t.Errorf("%s after the policy refused: %d, want 403", pth, r.Status)
		}
	}
}

// keptCallerViews: a gateway keeping callers' views (an hour, the own
// read too) in front of the real Glance answers the blueprint matrix the
// same from kept views as from the callers' GETs; a deactivation and a
// reactivation through the gateway apply at once.
func keptCallerViews(t *testing.T, p *peers, admin string, tokens, images map[string]string, data []byte) {
	reg := prometheus.NewRegistry()
	gw, _ := p.gatewayOverOpts(t, admin, glancePolicy(t), server.UpstreamOptions{Registerer: reg, MetadataTTL: time.Hour, CallerViewTTL: time.Hour}, true)
	get := func(id, token string) (int, []byte) {
		t.Helper()
		return call(t, "GET", gw.URL+"/v2/images/"+id+"/file", token, "", nil)
	}
	cells := 0
	for round := range 2 {
		for who, row := range blueprintWant {
			for img, want := range row {
				cells++
				if got, body := get(images[img], tokens[who]); got != want || want == 200 && !bytes.Equal(body, data) {
					t.Errorf("round %d, %s, marker %s: %d (%d bytes), want %d", round, who, img, got, len(body), want)
				}
			}
		}
	}
	if hits := metric(t, reg, "oslorego_upstream_caller_view_lookups_total", "hit"); int(hits) != cells/2 {
		t.Errorf("%v hits, want %d (every cell of the second round)", hits, cells/2)
	}
	absent := images["absent"]
	for _, c := range []struct {
		action string
		want   int
	}{{"deactivate", 403}, {"reactivate", 200}} {
		if got, out := call(t, "POST", gw.URL+"/v2/images/"+absent+"/actions/"+c.action, tokens["admin"], "", nil); got != 204 {
			t.Fatalf("%s through the gateway: %d %s", c.action, got, out)
		}
		if got, _ := get(absent, tokens["member"]); got != c.want {
			t.Errorf("member right after the %s: %d, want %d", c.action, got, c.want)
		}
	}
}
