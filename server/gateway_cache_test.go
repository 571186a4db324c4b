package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/server"
)

// cachedGateway is a gateway over f with an image cache in dir (bound
// 64 MiB) and policy.
type cachedGateway struct {
	*harness
	cache *imagecache.Cache
	reg   *prometheus.Registry
	dir   string
}

func (f *fakeGlance) cachedGateway(t testing.TB, policy server.PolicySource, ttl time.Duration) *cachedGateway {
	t.Helper()
	g := &cachedGateway{reg: prometheus.NewRegistry(), dir: t.TempDir()}
	var err error
	if g.cache, err = imagecache.Open(imagecache.Options{Dir: g.dir, MaxBytes: 64 << 20, Registerer: g.reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.cache.Close() })
	g.harness = f.gatewayWith(t, policy, server.UpstreamOptions{MetadataTTL: ttl, Registerer: g.reg, Cache: g.cache})
	return g
}

// get downloads and then waits for the fills it started.
func (g *cachedGateway) get(path string, hdr map[string]string) response {
	g.t.Helper()
	r := g.do("GET", path, hdr)
	if err := g.cache.Wait(context.Background()); err != nil {
		g.t.Fatal(err)
	}
	return r
}

func (f *fakeGlance) dataRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.dataReqs)
}

// answer is what a client sees of a download.
func answer(r response) string {
	h := []string{}
	for _, k := range []string{"Content-Length", "Content-Md5", "Content-Range", "Content-Type"} {
		h = append(h, k+"="+r.Header.Get(k))
	}
	body := r.Body
	if r.Status >= 300 {
		body = nil // the error bodies are ours on both paths
	}
	return fmt.Sprintf("%d %v %q", r.Status, h, body)
}

// A miss (the upstream's answer, relayed, filling the cache) and a hit
// (the entry, ranged here) answer the same: statuses, headers, bytes, on
// v1 and v2, whole and ranged, allowed and refused.
func TestGatewayCacheHitAndMissSameAnswers(t *testing.T) {
	// 80,000 bytes are sent from the entry's file; 4,000 from memory
	// after the first hit (imagecache.MaxSmall).
	for _, size := range []int{80000, 4000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) { testCacheHitAndMissSameAnswers(t, size) })
	}
}

func testCacheHitAndMissSameAnswers(t *testing.T, size int) {
	f := newFakeGlance(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	f.add(gwPresent, data, map[string]string{"x_billing_code_ntt": "ntt_3251"})
	f.add(gwAbsent, data, nil)
	g := f.cachedGateway(t, glancePolicy(t), 0)
	member, admin := g.token(p1, "member", "reader"), g.token(p1, "admin", "member", "reader")
	f.hidden[member] = []string{"x_billing_code_ntt"}
	type req struct {
		who, token, path string
		hdr              map[string]string
	}
	var reqs []req
	for _, id := range []string{gwPresent, gwAbsent} {
		for _, who := range []string{"member", "admin"} {
			token := map[string]string{"member": member, "admin": admin}[who]
			reqs = append(reqs, req{who, token, "/v2/images/" + id + "/file", nil}, req{who, token, "/v1/images/" + id, nil})
			for _, rng := range []string{"bytes=2-4", "bytes=-3", fmt.Sprintf("bytes=%d-", size-10), "bytes=0-0"} {
				reqs = append(reqs, req{who, token, "/v2/images/" + id + "/file", map[string]string{"Range": rng}})
			}
		}
	}
	run := func() []string {
		var out []string
		for _, r := range reqs {
			out = append(out, answer(g.get(r.path, with(r.hdr, "X-Auth-Token", r.token))))
		}
		return out
	}
	cold := run()
	fetched := f.dataRequests()
	for range 2 { // the second from memory, for a small image
		warm := run()
		for i, r := range reqs {
			if cold[i] != warm[i] {
				t.Errorf("%s %s %v:\nmiss: %.300s\nhit:  %.300s", r.who, r.path, r.hdr, cold[i], warm[i])
			}
		}
	}
	if !strings.HasPrefix(cold[0], "403") || !strings.HasPrefix(cold[len(cold)-1], "206") {
		t.Errorf("the matrix is not what it should be: %s ... %s", cold[0][:3], cold[len(cold)-1][:3])
	}
	if n := f.dataRequests() - fetched; n != 0 {
		t.Errorf("warm: %d data requests upstream, want 0", n)
	}
	if n := metric(t, g.reg, "oslorego_image_cache_fills_total", "stored"); n != 2 {
		t.Errorf("fills stored = %v, want 2 (each image, for the admin)", n)
	}
	if n := metric(t, g.reg, "oslorego_image_cache_lookups_total", "hit"); n == 0 {
		t.Error("no hits")
	}
}

// switchPolicy is a policy source the test switches.
type switchPolicy struct {
	cur atomic.Pointer[server.PolicySource]
}

func (s *switchPolicy) Policy() (*rego.Engine, string) { return (*s.cur.Load()).Policy() }

func (s *switchPolicy) set(p server.PolicySource) { s.cur.Store(&p) }

// The decision is taken on every request before the cache: a policy that
// now refuses refuses the cached image at once, and the cache is not
// even asked; the caller's visibility too (an image the caller no longer
// sees is 404, hit or not).
func TestGatewayCachePolicyAndVisibilityFirst(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	pol := &switchPolicy{}
	pol.set(glancePolicy(t))
	g := f.cachedGateway(t, pol, 0)
	member := g.token(p1, "member", "reader")
	path := "/v2/images/" + gwAbsent + "/file"
	for range 2 {
		if r := g.get(path, tok(member)); r.Status != 200 || !bytes.Equal(r.Body, digits) {
			t.Fatalf("allowed: %d %q", r.Status, r.Body)
		}
	}
	if n := metric(t, g.reg, "oslorego_image_cache_lookups_total", "hit"); n != 1 {
		t.Fatalf("hits = %v, want 1", n)
	}
	pol.set(dirPolicy(t, map[string]string{"policy.yaml": `"download_image": "!"` + "\n"}))
	for _, p := range []string{path, "/v1/images/" + gwAbsent} {
		if r := g.get(p, tok(member)); r.Status != 403 {
			t.Errorf("%s after the policy refused: %d %q, want 403", p, r.Status, r.Body)
		}
	}
	pol.set(glancePolicy(t))
	f.mu.Lock()
	f.invisible[member] = map[string]bool{gwAbsent: true}
	f.mu.Unlock()
	if r := g.get(path, tok(member)); r.Status != 404 {
		t.Errorf("an image the caller no longer sees: %d, want 404", r.Status)
	}
	if n := metric(t, g.reg, "oslorego_image_cache_lookups_total", "hit"); n != 1 {
		t.Errorf("hits = %v, want still 1: the cache was asked for a refused request", n)
	}
}

// An image whose hash changed upstream is never served from the old
// entry, even while the gateway's own read of it is cached: the caller's
// view, read on every request, shows the new hash.
func TestGatewayCacheReplacedImage(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, []byte("old image bytes"), nil)
	g := f.cachedGateway(t, glancePolicy(t), time.Hour)
	member := g.token(p1, "member", "reader")
	path := "/v2/images/" + gwAbsent + "/file"
	for range 2 {
		if r := g.get(path, tok(member)); string(r.Body) != "old image bytes" {
			t.Fatalf("before: %d %q", r.Status, r.Body)
		}
	}
	f.add(gwAbsent, []byte("new image bytes"), nil) // same size: only the hash tells
	for range 2 {
		if r := g.get(path, tok(member)); r.Status != 200 || string(r.Body) != "new image bytes" {
			t.Fatalf("after the replacement: %d %q", r.Status, r.Body)
		}
	}
	if n := metric(t, g.reg, "oslorego_image_cache_evictions_total", "replaced"); n != 1 {
		t.Errorf("replaced evictions = %v, want 1", n)
	}
	if n := metric(t, g.reg, "oslorego_image_cache_lookups_total", "hit"); n != 2 {
		t.Errorf("hits = %v, want 2 (one per version)", n)
	}
}

// A corrupted entry is never served: the download goes upstream and
// fills the cache again. Also once a small entry's bytes are kept in
// memory (after its first hit).
func TestGatewayCacheCorruptEntry(t *testing.T) {
	for _, hits := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d hits before", hits), func(t *testing.T) {
			f := newFakeGlance(t)
			data := bytes.Repeat(digits, 100)
			f.add(gwAbsent, data, nil)
			g := f.cachedGateway(t, glancePolicy(t), 0)
			member := g.token(p1, "member", "reader")
			path := "/v2/images/" + gwAbsent + "/file"
			g.get(path, tok(member))
			for range hits {
				if r := g.get(path, tok(member)); r.Status != 200 || !bytes.Equal(r.Body, data) {
					t.Fatalf("hit: %d %.40q", r.Status, r.Body)
				}
			}
			entries := g.cache.List()
			if len(entries) != 1 {
				t.Fatalf("entries: %+v", entries)
			}
			time.Sleep(20 * time.Millisecond) // past a coarse timestamp's tick
			file := filepath.Join(g.dir, "data", entries[0].ID+"."+entries[0].Algo+"."+entries[0].Hash)
			if err := os.WriteFile(file, bytes.Repeat([]byte("X"), len(data)), 0o600); err != nil {
				t.Fatal(err)
			}
			// Kept bytes are dropped once the cache's watch reads the
			// change (until then a hit gets the verified bytes).
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				if es := g.cache.List(); len(es) == 1 && !es[0].InMemory {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the kept bytes of the changed entry were not dropped")
				}
			}
			before := f.dataRequests()
			if r := g.get(path, tok(member)); r.Status != 200 || !bytes.Equal(r.Body, data) {
				t.Fatalf("after the corruption: %d %.40q", r.Status, r.Body)
			}
			if f.dataRequests() != before+1 {
				t.Error("not fetched upstream again")
			}
			if n := metric(t, g.reg, "oslorego_image_cache_evictions_total", "corrupt"); n != 1 {
				t.Errorf("corrupt evictions = %v, want 1", n)
			}
			if r := g.get(path, tok(member)); !bytes.Equal(r.Body, data) {
				t.Fatalf("refilled entry: %.40q", r.Body)
			}
		})
	}
}

// Concurrent downloads of one image: each gets the image, one fills.
func TestGatewayCacheConcurrentFillOnce(t *testing.T) {
	f := newFakeGlance(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	f.add(gwAbsent, data, nil)
	g := f.cachedGateway(t, glancePolicy(t), 0)
	member := g.token(p1, "member", "reader")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", g.srv.URL+"/v2/images/"+gwAbsent+"/file", nil)
			req.Header.Set("X-Auth-Token", member)
			resp, err := g.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(b, data) {
				t.Errorf("concurrent download: %d bytes, %v", len(b), err)
			}
		}()
	}
	wg.Wait()
	_ = g.cache.Wait(context.Background())
	if n := metric(t, g.reg, "oslorego_image_cache_fills_total", "stored"); n != 1 {
		t.Errorf("fills stored = %v, want 1", n)
	}
	if des, _ := os.ReadDir(filepath.Join(g.dir, "tmp")); len(des) != 0 {
		t.Errorf("tmp/ holds %d files", len(des))
	}
}

// Range from a complete entry also where the store cannot range upstream
// (Glance on Swift, RBD or S3 answers 400): 400 on a miss, as Glance;
// 206 once the image is cached.
func TestGatewayCacheRangeForStoresWithout(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	f.noRange = true
	g := f.cachedGateway(t, glancePolicy(t), 0)
	member := g.token(p1, "member", "reader")
	path := "/v2/images/" + gwAbsent + "/file"
	rng := with(tok(member), "Range", "bytes=2-4")
	if r := g.get(path, rng); r.Status != 400 {
		t.Errorf("Range before the image is cached: %d, want Glance's 400", r.Status)
	}
	if r := g.get(path, tok(member)); r.Status != 200 {
		t.Fatalf("whole: %d", r.Status)
	}
	if r := g.get(path, rng); r.Status != 206 || string(r.Body) != "234" || r.Header.Get("Content-Range") != "bytes 2-4/10" {
		t.Errorf("Range from the cache: %d %q %v", r.Status, r.Body, r.Header)
	}
}

// A download that breaks off, by the client hanging up or the upstream
// dying, leaves nothing servable; the next download fills.
func TestGatewayCacheBrokenFills(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	for _, c := range []string{"client hangs up", "upstream dies"} {
		t.Run(c, func(t *testing.T) {
			f := newFakeGlance(t)
			f.add(gwAbsent, big, nil)
			if c == "client hangs up" {
				f.stall = make(chan struct{})
			} else {
				f.kill = true
			}
			g := f.cachedGateway(t, glancePolicy(t), 0)
			member := g.token(p1, "member", "reader")
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", g.srv.URL+"/v2/images/"+gwAbsent+"/file", nil)
			req.Header.Set("X-Auth-Token", member)
			if resp, err := g.srv.Client().Do(req); err == nil {
				_, _ = io.ReadFull(resp.Body, make([]byte, 1000))
				cancel()
				resp.Body.Close()
			}
			cancel()
			for deadline := time.Now().Add(10 * time.Second); metric(t, g.reg, "oslorego_image_cache_fills_total", "aborted") != 1; {
				if time.Now().After(deadline) {
					t.Fatal("the fill was not aborted within 10 s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if des, _ := os.ReadDir(filepath.Join(g.dir, "tmp")); len(des) != 0 {
				t.Errorf("tmp/ holds %d files", len(des))
			}
			if es := g.cache.List(); len(es) != 0 {
				t.Errorf("entries: %+v", es)
			}
			f.mu.Lock()
			f.stall, f.kill = nil, false
			f.mu.Unlock()
			before := f.dataRequests()
			for range 2 {
				if r := g.get("/v2/images/"+gwAbsent+"/file", tok(member)); !bytes.Equal(r.Body, big) {
					t.Fatalf("after: %d, %d bytes", r.Status, len(r.Body))
				}
			}
			if f.dataRequests() != before+1 {
				t.Errorf("%d data requests after, want 1 (a miss, then a hit)", f.dataRequests()-before)
			}
		})
	}
}

// Only active images come from the cache: a deactivated one is Glance's
// to answer (403 to the member, the data to an admin).
func TestGatewayCacheOnlyActive(t *testing.T) {
	f := newFakeGlance(t)
	f.add(gwAbsent, digits, nil)
	g := f.cachedGateway(t, glancePolicy(t), time.Hour)
	admin := g.token(p1, "admin", "member", "reader")
	path := "/v2/images/" + gwAbsent + "/file"
	g.get(path, tok(admin))
	f.mu.Lock()
	f.images[gwAbsent]["status"] = "deactivated"
	f.mu.Unlock()
	before := f.dataRequests()
	g.get(path, tok(admin))
	if f.dataRequests() != before+1 {
		t.Error("a deactivated image served from the cache")
	}
}
