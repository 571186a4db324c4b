package server_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/server"
)

// viewGateway is a gateway over f with caller views kept for d (the
// metadata TTL an hour, so that only what a test does renews the own
// read), at most size (0: the default), every route proxied.
func (f *fakeGlance) viewGateway(t *testing.T, d time.Duration, size int) (*harness, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := f.client(t)
	src, err := server.NewUpstreamSource(c, server.UpstreamOptions{MetadataTTL: time.Hour, CallerViewTTL: d, MaxCallerViews: size, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, glancePolicy(t), nil, func(cfg *server.Config) {
		cfg.Images, cfg.Source, cfg.Upstream, cfg.Registry = nil, src, c, reg
	})
	return h, reg
}

// callerGETs is how many metadata reads callers made upstream.
func (f *fakeGlance) callerGETs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callerReads
}

// viewLookups are the caller view lookups by result.
func viewLookups(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range []string{"hit", "miss", "expired", "dropped"} {
		out[r] = metric(t, reg, "oslorego_upstream_caller_view_lookups_total", r)
	}
	return out
}

// download is one GET of path as token, which must answer want; it
// returns how many caller GETs it cost upstream.
func (f *fakeGlance) download(t *testing.T, h *harness, path, token string, want int) int {
	t.Helper()
	before := f.callerGETs()
	if r := h.do("GET", path, tok(token)); r.Status != want {
		t.Fatalf("GET %s: %d %.200s, want %d", path, r.Status, r.Body, want)
	}
	return f.callerGETs() - before
}

// Off by default: every download asks Glance as the caller, even with
// the own read kept for an hour.
func TestGatewayCallerViewOffByDefault(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	reg := prometheus.NewRegistry()
	h := f.gateway(t, time.Hour, reg)
	member := h.token(p1, "member", "reader")
	for i := range 3 {
		if n := f.download(t, h, "/v2/images/"+gwAbsent+"/file", member, 200); n != 1 {
			t.Errorf("download %d: %d caller GETs, want 1", i, n)
		}
	}
	if got := viewLookups(t, reg); got["hit"]+got["miss"] != 0 {
		t.Errorf("lookups with caller views off: %v", got)
	}
}

// A kept view stands for the caller's GET: one GET, then none, for
// downloads and image reads alike; the decision is still taken on every
// request on the own read (the marker the caller's view lacks still
// refuses, each time), and what is shown is still at most the caller's
// view. Another token is a miss of its own.
func TestGatewayCallerViewHit(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	f.add(gwPresent, digits, map[string]string{"x_billing_code_ntt": "ntt_3251", "os_distro": "cirros"})
	h, reg := f.viewGateway(t, time.Hour, 0)
	member, member2 := h.token(p1, "member", "reader"), h.token(p1, "member", "reader")
	f.hidden[member] = []string{"x_billing_code_ntt"}
	file := "/v2/images/" + gwAbsent + "/file"
	for i, want := range []int{1, 0, 0} {
		if n := f.download(t, h, file, member, 200); n != want {
			t.Errorf("download %d: %d caller GETs, want %d", i, n, want)
		}
	}
	if n := f.download(t, h, "/v1/images/"+gwAbsent, member, 200); n != 0 {
		t.Errorf("v1 download after v2: %d caller GETs, want 0 (same token, same image)", n)
	}
	if n := f.download(t, h, file, member2, 200); n != 1 {
		t.Errorf("another token: %d caller GETs, want 1", n)
	}
	if got := viewLookups(t, reg); got["hit"] != 3 || got["miss"] != 2 {
		t.Errorf("lookups %v, want 3 hits, 2 misses", got)
	}
	// Refused on every request, from the kept view too.
	before := strings.Count(h.decisions.String(), `"result":"deny"`)
	for i, want := range []int{1, 0} {
		if n := f.download(t, h, "/v2/images/"+gwPresent+"/file", member, 403); n != want {
			t.Errorf("refused download %d: %d caller GETs, want %d", i, n, want)
		}
	}
	if n := strings.Count(h.decisions.String(), `"result":"deny"`) - before; n != 2 {
		t.Errorf("%d deny decisions, want 2 (one per request)", n)
	}
	for range 2 {
		v := h.do("GET", "/v2/images/"+gwPresent, tok(member)).json(t)
		if _, ok := v["x_billing_code_ntt"]; ok || v["os_distro"] != "cirros" {
			t.Errorf("shown from a kept view: %v", v)
		}
	}
	if f.dataRequests() != 5 {
		t.Errorf("%d data requests, want 5 (the allowed downloads)", f.dataRequests())
	}
}

// A kept view expires: the next request asks again.
func TestGatewayCallerViewExpires(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	h, reg := f.viewGateway(t, time.Millisecond, 0)
	member := h.token(p1, "member", "reader")
	for i := range 2 {
		if i > 0 {
			time.Sleep(5 * time.Millisecond) // past the TTL
		}
		if n := f.download(t, h, "/v2/images/"+gwAbsent+"/file", member, 200); n != 1 {
			t.Errorf("download %d: %d caller GETs, want 1", i, n)
		}
	}
	if got := viewLookups(t, reg); got["miss"] != 1 || got["expired"] != 1 || got["hit"] != 0 {
		t.Errorf("lookups %v, want 1 miss, 1 expired", got)
	}
}

// Only 200s are kept: a not-found, an upstream failure, asks again on
// every request. And the bound of the trade-off: once kept, a view stands
// while the own read agrees, even if the caller could no longer see the
// image upstream (a membership change elsewhere), until it expires.
func TestGatewayCallerViewOnlySuccess(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	h, _ := f.viewGateway(t, time.Hour, 0)
	member := h.token(p1, "member", "reader")
	file := "/v2/images/" + gwAbsent + "/file"
	f.mu.Lock()
	f.invisible[member] = map[string]bool{gwAbsent: true}
	f.mu.Unlock()
	for i := range 2 {
		if n := f.download(t, h, file, member, 404); n != 1 {
			t.Errorf("not found %d: %d caller GETs, want 1", i, n)
		}
	}
	f.mu.Lock()
	f.invisible[member], f.failCaller = nil, true
	f.mu.Unlock()
	for i := range 2 {
		if n := f.download(t, h, file, member, 503); n != 1 {
			t.Errorf("upstream failing %d: %d caller GETs, want 1", i, n)
		}
	}
	f.mu.Lock()
	f.failCaller = false
	f.mu.Unlock()
	for i, want := range []int{1, 0} {
		if n := f.download(t, h, file, member, 200); n != want {
			t.Errorf("visible %d: %d caller GETs, want %d", i, n, want)
		}
	}
	f.mu.Lock()
	f.invisible[member] = map[string]bool{gwAbsent: true}
	f.mu.Unlock()
	// Glance still refuses the data to the caller's token (without an
	// image cache the data call is the caller's, every time).
	if n := f.download(t, h, file, member, 404); n != 0 {
		t.Errorf("kept view after the caller lost sight upstream: %d caller GETs, want 0 (the documented bound)", n)
	}
}

// A write through the gateway to an image drops every caller's view of
// it (and the own read), whatever Glance answered: the next download
// asks again, and sees the image as it is now.
func TestGatewayCallerViewDroppedByWrites(t *testing.T) {
	for _, w := range []struct{ method, path string }{
		{"POST", "/actions/deactivate"},
		{"DELETE", "/members/" + p2},
		{"PATCH", ""},
		{"DELETE", ""},
	} {
		t.Run(w.method+w.path, func(t *testing.T) {
			f := newFakeGlance(t)
			f.add(gwAbsent, digits, nil)
			h, reg := f.viewGateway(t, time.Hour, 0)
			member, admin := h.token(p1, "member", "reader"), h.token(p1, "admin", "member", "reader")
			file := "/v2/images/" + gwAbsent + "/file"
			for _, token := range []string{member, admin} {
				f.download(t, h, file, token, 200)
				if n := f.download(t, h, file, token, 200); n != 0 {
					t.Fatalf("not kept: %d caller GETs", n)
				}
			}
			f.mu.Lock()
			f.images[gwAbsent]["status"] = "deactivated" // what the write did upstream
			f.mu.Unlock()
			body := strings.NewReader("")
			if w.method == "PATCH" {
				body = strings.NewReader(`[]`)
			}
			status, _, out := h.send(w.method, "/v2/images/"+gwAbsent+w.path, admin, body)
			if status == 403 {
				t.Fatalf("the write was refused here: %s", out)
			}
			if n := f.download(t, h, file, member, 403); n != 1 {
				t.Errorf("member after the write: %d caller GETs, want 1", n)
			}
			if n := f.download(t, h, file, admin, 200); n != 1 {
				t.Errorf("admin after the write: %d caller GETs, want 1", n)
			}
			if got := viewLookups(t, reg); got["dropped"] != 0 {
				t.Errorf("lookups %v: the write should have dropped the views before any lookup", got)
			}
		})
	}
}

// A kept view is dropped when the gateway's own read disagrees with it
// (here: renewed by another caller's fresh view of a replaced image), and
// when the own read fails: the caller is asked again, and a failing own
// read is a 503, never the kept view.
func TestGatewayCallerViewDroppedOnDisagreement(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, []byte("old image bytes"), nil)
	h, reg := f.viewGateway(t, time.Hour, 0)
	alice, bob := h.token(p1, "member", "reader"), h.token(p1, "member", "reader")
	file := "/v2/images/" + gwAbsent + "/file"
	f.download(t, h, file, alice, 200)
	f.add(gwAbsent, []byte("new image bytes"), nil) // a new hash
	// Bob's fresh view disagrees with the kept own read, which is read
	// again: now the own read disagrees with alice's kept view.
	if n := f.download(t, h, file, bob, 200); n != 1 {
		t.Fatalf("bob: %d caller GETs", n)
	}
	before := f.callerGETs()
	if r := h.do("GET", file, tok(alice)); r.Status != 200 || !bytes.Equal(r.Body, []byte("new image bytes")) {
		t.Errorf("alice after the replacement: %d %q", r.Status, r.Body)
	}
	if n := f.callerGETs() - before; n != 1 {
		t.Errorf("alice after the replacement: %d caller GETs, want 1", n)
	}
	if got := viewLookups(t, reg); got["dropped"] != 1 {
		t.Errorf("lookups %v, want 1 dropped", got)
	}
	// Deactivated, seen the same way: refused, asked again.
	f.download(t, h, file, alice, 200)
	f.mu.Lock()
	f.images[gwAbsent]["status"] = "deactivated"
	f.mu.Unlock()
	f.download(t, h, file, bob, 403)
	if n := f.download(t, h, file, alice, 403); n != 1 {
		t.Errorf("alice after the deactivation: %d caller GETs, want 1", n)
	}
	// The own read failing: alice's kept view does not stand in for it.
	f.mu.Lock()
	f.images[gwAbsent]["status"] = "active"
	f.mu.Unlock()
	f.download(t, h, file, bob, 200) // bob's view differs (status): own read again
	f.download(t, h, file, alice, 200)
	if n := f.download(t, h, file, alice, 200); n != 0 {
		t.Fatalf("alice not kept: %d caller GETs", n)
	}
	f.add(gwAbsent, []byte("newer image bytes"), nil)
	f.mu.Lock()
	f.failService = true
	f.mu.Unlock()
	carol := h.token(p1, "member", "reader")
	f.download(t, h, file, carol, 503) // carol's fresh view differs: the own read is dropped and fails
	dropped := viewLookups(t, reg)["dropped"]
	if n := f.download(t, h, file, alice, 503); n != 1 {
		t.Errorf("alice with the own read failing: %d caller GETs, want 1", n)
	}
	if got := viewLookups(t, reg)["dropped"]; got != dropped+1 {
		t.Errorf("dropped %v, want %v", got, dropped+1)
	}
}

// At most MaxCallerViews views are kept, the least recently used going
// first.
func TestGatewayCallerViewBound(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	h, _ := f.viewGateway(t, time.Hour, 2)
	file := "/v2/images/" + gwAbsent + "/file"
	t1, t2, t3 := h.token(p1, "member", "reader"), h.token(p1, "member", "reader"), h.token(p1, "member", "reader")
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"t1", t1, 1}, {"t2", t2, 1}, {"t1 again", t1, 0}, {"t3, evicting t2", t3, 1},
		{"t1 kept", t1, 0}, {"t3 kept", t3, 0}, {"t2 evicted", t2, 1},
	} {
		if n := f.download(t, h, file, c.token, 200); n != c.want {
			t.Errorf("%s: %d caller GETs, want %d", c.name, n, c.want)
		}
	}
}

// A caller view TTL the metadata TTL does not cover is refused.
func TestGatewayCallerViewTTLBound(t *testing.T) {
	f := newFakeGlance(t)
	c := f.client(t)
	for _, o := range []server.UpstreamOptions{
		{MetadataTTL: time.Second, CallerViewTTL: 2 * time.Second},
		{CallerViewTTL: server.DefaultMetadataTTL + 1},
		{MetadataTTL: -1, CallerViewTTL: time.Millisecond},
		{CallerViewTTL: -1},
	} {
		if _, err := server.NewUpstreamSource(c, o); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	for _, o := range []server.UpstreamOptions{
		{CallerViewTTL: server.DefaultMetadataTTL},
		{MetadataTTL: time.Second, CallerViewTTL: time.Second},
		{MetadataTTL: -1},
	} {
		if _, err := server.NewUpstreamSource(c, o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
