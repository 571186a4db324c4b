package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

// haproxyConfig is the shipped example that the gateway test runs.
const haproxyConfig = "../examples/gateway/haproxy.cfg"

// bundlePoll is the gateways' --reload-interval in TestGatewayReplicas.
const bundlePoll = 2 * time.Second

// bundleService is an HTTP bundle service (OPA's protocol: a GET with
// ETags) whose bundle the test replaces.
type bundleService struct {
	mu   sync.Mutex
	body []byte
	etag string
}

func (b *bundleService) set(body []byte, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body, b.etag = body, `"`+etag+`"`
}

func (b *bundleService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Header.Get("If-None-Match") == b.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", b.etag)
	_, _ = w.Write(b.body)
}

// buildBundle builds the glance bundle with revision rev, restricting
// codes (nil: the shipped data.json), with `oslorego build`.
func buildBundle(t *testing.T, bin, rev string, codes []string) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "glance")
	if err := os.CopyFS(dir, os.DirFS("../bundles/glance")); err != nil {
		t.Fatal(err)
	}
	if codes != nil {
		b, err := json.Marshal(map[string]any{"glance": map[string]any{"restricted_billing_codes": codes}})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "glance.tar.gz")
	if b, err := exec.Command(bin, "build", dir, "-o", out, "--revision", rev).CombinedOutput(); err != nil {
		t.Fatalf("oslorego build: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startHAProxy runs haproxy -f examples/gateway/haproxy.cfg in the
// foreground with env, until the end of the test.
func startHAProxy(t *testing.T, env ...string) {
	t.Helper()
	startHAProxyConfig(t, haproxyConfig, env...)
}

// startHAProxyConfig runs haproxy -f haproxyConfig in the foreground with
// env, until the end of the test.
func startHAProxyConfig(t *testing.T, haproxyConfig string, env ...string) {
	t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		testenv.Missing(t, "haproxy: %v (apt-get install -y haproxy)", err)
	}
	check := exec.Command(haproxy, "-c", "-f", haproxyConfig)
	check.Env = append(os.Environ(), env...)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c -f %s: %v\n%s", haproxyConfig, err, out)
	}
	var log testenv.SyncBuffer
	cmd := exec.Command(haproxy, "-db", "-f", haproxyConfig)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("haproxy's log:\n%s", log.String())
		}
	})
	select {
	case <-exited:
		t.Fatalf("haproxy exited:\n%s", log.String())
	case <-time.After(300 * time.Millisecond):
	}
}

// decision is what the gateway test reads of a decision log line.
type decision struct {
	Replica  string `json:"replica"`
	ImageID  string `json:"image_id"`
	Route    string `json:"route"`
	Result   string `json:"result"`
	Revision string `json:"bundle_revision"`
}

// decisions reads the decision logs at paths.
func decisions(t *testing.T, paths ...string) []decision {
	t.Helper()
	var out []decision
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var d decision
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				// A killed gateway may leave half a line.
				continue
			}
			out = append(out, d)
		}
		f.Close()
	}
	return out
}

// fetch downloads url with token: the status and body, or the error of a
// transfer that broke.
func fetch(url, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Two `oslorego serve --upstream` gateways behind a real HAProxy
// (examples/gateway/haproxy.cfg, as shipped), in front of a real Glance
// (through the same HAProxy's services frontend) and Keystone, their
// policy from an HTTP bundle service: each image's requests reach one
// gateway; a new bundle revision is in force on both within one poll;
// glance image-download and openstack image save work through the
// catalog's image endpoint (HAProxy); the services' frontend keeps
// Glance's own policy; a gateway killed during a run of downloads leaves
// every later request to the other.
func TestGatewayReplicas(t *testing.T) {
	testenv.Long(t)
	clientsNeeded(t)
	ks := testenv.Keystone(t)
	glance := testenv.Glance(t, ks)
	bin := osloregoBinary.get(t)
	admin := ks.Token(t, ks.URL, "admin", "admin").ID
	alice := ks.Token(t, ks.URL, "alice", "demo").ID
	demo := ks.Env["PROJECT_DEMO"]

	// The images: small ones for the hash and the failover, one with a
	// billing code that only the second revision restricts, one restricted
	// by both, and one for the clients.
	rng := rand.NewChaCha8([32]byte{'h', 'a'})
	small := make([]byte, 4<<10)
	_, _ = rng.Read(small)
	var smalls []string
	for range 16 {
		smalls = append(smalls, glance.Image(admin, demo, nil, small))
	}
	laterRestricted := glance.Image(admin, demo, map[string]string{"x_billing_code_ntt": "ntt_0001"}, small)
	clientData := make([]byte, 300<<10)
	_, _ = rng.Read(clientData)
	plain := glance.Image(admin, demo, nil, clientData)
	restricted := glance.Image(admin, demo, map[string]string{"x_billing_code_ntt": "ntt_3251"}, clientData)

	bundles := &bundleService{}
	bundles.set(buildBundle(t, bin, "r1", nil), "r1")
	bundleURL := httptest.NewServer(bundles)
	t.Cleanup(bundleURL.Close)
	v2 := buildBundle(t, bin, "r2", []string{"ntt_3251", "ntt_3252", "ntt_0001"})

	addr := func() string {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	users, services, gwA, gwB := addr(), addr(), addr(), addr()
	startHAProxy(t, "OSLOREGO_USERS_BIND="+users, "OSLOREGO_SERVICES_BIND="+services,
		"OSLOREGO_GW_A="+gwA, "OSLOREGO_GW_B="+gwB, "GLANCE_API_1="+glance.URL[len("http://"):],
		"OSLOREGO_CHECK_INTER=200ms")
	gateway := func(name, listen string) *served {
		return startServe(t, bin, serverSpec{keystoneURL: ks.URL, peer: ks, upstream: "http://" + services, listen: listen,
			args: []string{"--bundle", bundleURL.URL + "/glance.tar.gz", "--reload-interval", bundlePoll.String(), "--replica", name}})
	}
	gws := map[string]*served{"gw-a": gateway("gw-a", gwA), "gw-b": gateway("gw-b", gwB)}
	logs := []string{gws["gw-a"].decisions, gws["gw-b"].decisions}
	front := "http://" + users
	// HAProxy sees both gateways up (rise 2 at 200 ms) and routes; the
	// versions document has no image id, so no decision either.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if status, _, err := fetch(front+"/versions", ""); err == nil && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("HAProxy did not route to a gateway within 30 s")
		}
	}
	time.Sleep(time.Second) // both are up, not just the first

	t.Run("uri-hash", func(t *testing.T) {
		for range 3 {
			for _, id := range smalls {
				for _, path := range []string{"/v2/images/%s/file", "/v1/images/%s", "/v2/images/%s"} {
					status, body, err := fetch(front+fmt.Sprintf(path, id), alice)
					if err != nil || status != http.StatusOK {
						t.Fatalf("%s: %d %v %.200s", fmt.Sprintf(path, id), status, err, body)
					}
				}
			}
		}
		replicas := map[string]map[string]bool{} // image → replicas
		served := map[string]int{}
		for _, d := range decisions(t, logs...) {
			if d.Replica == "" || d.Revision != "r1" {
				t.Errorf("decision %+v: want its replica and revision r1", d)
			}
			if replicas[d.ImageID] == nil {
				replicas[d.ImageID] = map[string]bool{}
			}
			replicas[d.ImageID][d.Replica] = true
			served[d.Replica]++
		}
		for _, id := range smalls {
			if len(replicas[id]) != 1 {
				t.Errorf("image %s: v1 and v2 requests went to %v, want one gateway", id, replicas[id])
			}
		}
		if served["gw-a"] == 0 || served["gw-b"] == 0 {
			t.Errorf("16 images all hashed to one gateway: %v", served)
		}
	})

	t.Run("bundle", func(t *testing.T) {
		for name, g := range gws {
			if status, body, err := fetch(g.url+"/v2/images/"+laterRestricted+"/file", alice); err != nil || status != http.StatusOK {
				t.Fatalf("%s under r1: %d %v %.200s", name, status, err, body)
			}
		}
		bundles.set(v2, "r2")
		published := time.Now()
		// One poll: every watcher asks within bundlePoll of the
		// publication; the margin is for loading the bundle on a busy
		// machine.
		deadline := published.Add(bundlePoll + time.Second)
		for name, g := range gws {
			for {
				status, body, err := fetch(g.url+"/v2/images/"+laterRestricted+"/file", alice)
				if err == nil && status == http.StatusForbidden {
					t.Logf("%s: r2 in force %v after the publication", name, time.Since(published).Round(time.Millisecond))
					break
				}
				if status != http.StatusOK {
					t.Fatalf("%s: %d %v %.200s", name, status, err, body)
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: r2 not in force %v after the publication (poll %v)", name, time.Since(published), bundlePoll)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		// The decision log is written off the request path (a batch writer
		// that lingers a moment to gather lines): the refusal just answered
		// may reach the file shortly after its response.
		denied := map[string]string{} // replica → revision of its refusal
		for logDeadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			clear(denied)
			for _, d := range decisions(t, logs...) {
				if d.ImageID == laterRestricted && d.Result == "deny" {
					denied[d.Replica] = d.Revision
				}
			}
			if len(denied) == 2 || time.Now().After(logDeadline) {
				break
			}
		}
		for replica, rev := range denied {
			if rev != "r2" {
				t.Errorf("%s denied under revision %q, want r2", replica, rev)
			}
		}
		if denied["gw-a"] == "" || denied["gw-b"] == "" {
			t.Errorf("the decision logs name the refusals of %v, want gw-a and gw-b", denied)
		}
	})

	t.Run("clients", func(t *testing.T) {
		ks.SetImageURL(t, front)
		a := catalogAccess(ks)
		out := t.TempDir()
		f := func(name string) string { return filepath.Join(out, name) }
		for _, c := range []cliRun{
			{name: "glance/download", argv: append(append([]string{}, a.glance...), "image-download", "--file", f("g-plain"), plain),
				file: f("g-plain"), fileWant: clientData},
			{name: "glance/refused", argv: append(append([]string{}, a.glance...), "image-download", "--file", f("g-restricted"), restricted),
				exit: 1, want: []string{"Unable to download image '" + restricted + "'. (HTTP " + forbiddenMessage + ")"}, file: f("g-restricted")},
			{name: "openstack/save", argv: append(append([]string{}, a.openstack...), "image", "save", "--file", f("o-plain"), plain),
				file: f("o-plain"), fileWant: clientData},
			// openstacksdk 0.101 writes the refusal's body and then
			// finds that its MD5 is not the image's (TestClientsKeystone).
			{name: "openstack/refused", argv: append(append([]string{}, a.openstack...), "image", "save", "--file", f("o-restricted"), restricted),
				exit: 1, want: []string{"Unable to download image: InvalidResponse"}, file: f("o-restricted"), fileWant: []byte(forbiddenBody)},
		} {
			c.env = a.env
			t.Run(c.name, c.run)
		}
		// The services' frontend is Glance with its own policy: what
		// users are refused, Nova and Cinder still read.
		if status, body, err := fetch("http://"+services+"/v2/images/"+restricted+"/file", alice); err != nil || status != http.StatusOK || !bytes.Equal(body, clientData) {
			t.Errorf("services' frontend, restricted image: %d %v (%d bytes)", status, err, len(body))
		}
	})

	t.Run("failover", func(t *testing.T) {
		// The gateway that serves smalls[0] is the one killed.
		var victim string
		for _, d := range decisions(t, logs...) {
			if d.ImageID == smalls[0] {
				victim = d.Replica
			}
		}
		survivor := map[string]string{"gw-a": "gw-b", "gw-b": "gw-a"}[victim]
		if survivor == "" {
			t.Fatalf("no gateway served %s", smalls[0])
		}
		type result struct {
			start, end time.Time
			id         string
			status     int
			ok         bool
			err        error
		}
		var mu sync.Mutex
		var results []result
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					r := result{start: time.Now(), id: smalls[i%len(smalls)]}
					var body []byte
					r.status, body, r.err = fetch(front+"/v2/images/"+r.id+"/file", alice)
					r.end, r.ok = time.Now(), r.err == nil && r.status == http.StatusOK && bytes.Equal(body, small)
					if r.err == nil && r.status == http.StatusOK && !r.ok {
						r.err = fmt.Errorf("a 200 with %d bytes that are not the image", len(body))
					}
					mu.Lock()
					results = append(results, r)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Second)
		killed := time.Now()
		if err := gws[victim].cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		close(stop)
		wg.Wait()
		var before, after, inFlight, failed int
		for _, r := range results {
			switch {
			case r.end.Before(killed):
				before++
			case r.start.After(killed):
				after++
			default:
				inFlight++
			}
			if r.err != nil && r.status == http.StatusOK {
				t.Errorf("%s: %v", r.id, r.err) // never a wrong 200
			}
			if !r.ok && r.start.After(killed) {
				failed++
				if failed <= 5 {
					t.Errorf("%s, started %v after the kill: %d %v", r.id, r.start.Sub(killed).Round(time.Millisecond), r.status, r.err)
				}
			}
		}
		t.Logf("%s killed: %d downloads before, %d in flight, %d after (%d failed)", victim, before, inFlight, after, failed)
		if before == 0 || after < 20 {
			t.Errorf("too few downloads to tell: %d before the kill, %d after", before, after)
		}
		// The victim's images went to the survivor.
		var moved bool
		for _, d := range decisions(t, gws[survivor].decisions) {
			moved = moved || d.ImageID == smalls[0]
		}
		if !moved {
			t.Errorf("%s never served %s after %s was killed", survivor, smalls[0], victim)
		}
	})
}

// dyingServer is a gateway or glance-api that passes HAProxy's health
// checks and then dies on every other request: it reads the request and
// closes the connection without a byte of answer (HAProxy's
// "empty-response"). It counts the requests by method.
type dyingServer struct {
	mu   sync.Mutex
	seen map[string]int
}

func (d *dyingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/readyz" || r.URL.Path == "/healthcheck" {
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	d.mu.Lock()
	d.seen[r.Method]++
	d.mu.Unlock()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (d *dyingServer) count(method string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[method]
}

// HAProxy (examples/gateway/haproxy.cfg as shipped) sends a request that
// got no answer again only when it is a GET or HEAD: a POST, PUT, PATCH
// or DELETE that a gateway or glance-api may have acted on is never sent
// twice, on either frontend (with --routes all the gateways proxy them).
// HAProxy 2.6's retry-on applies to every method unless
// http-request disable-l7-retry says otherwise.
func TestGatewayReplicasNoReplay(t *testing.T) {
	addr := func() string {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	dying := func() (*dyingServer, string) {
		d := &dyingServer{seen: map[string]int{}}
		s := httptest.NewServer(d)
		t.Cleanup(s.Close)
		return d, s.Listener.Addr().String()
	}
	gwA, a := dying()
	gwB, b := dying()
	glance, g := dying()
	users, services := addr(), addr()
	startHAProxy(t, "OSLOREGO_USERS_BIND="+users, "OSLOREGO_SERVICES_BIND="+services,
		"OSLOREGO_GW_A="+a, "OSLOREGO_GW_B="+b, "GLANCE_API_1="+g, "OSLOREGO_CHECK_INTER=200ms")
	time.Sleep(time.Second) // rise 2 at 200 ms
	for _, c := range []struct {
		front   string
		servers []*dyingServer
	}{{users, []*dyingServer{gwA, gwB}}, {services, []*dyingServer{glance}}} {
		sent := func(method string) int {
			n := 0
			for _, s := range c.servers {
				n += s.count(method)
			}
			return n
		}
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			before := sent(method)
			req, err := http.NewRequest(method, "http://"+c.front+"/v2/images/11111111-0000-4000-8000-000000000001", bytes.NewReader([]byte(`{"name": "x"}`)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 500 {
					t.Errorf("%s %s: %d, want a 5xx", c.front, method, resp.StatusCode)
				}
			}
			got := sent(method) - before
			switch method {
			case "GET", "HEAD":
				if got < 2 {
					t.Errorf("%s %s reached the servers %d times, want it retried", c.front, method, got)
				}
			default:
				if got != 1 {
					t.Errorf("%s %s reached the servers %d times, want exactly once", c.front, method, got)
				}
			}
		}
	}
}
