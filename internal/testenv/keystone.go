package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KeystonePeerScript is the keystone peer's script inside the shared
// folder: a real Keystone 22 (Zed) from Debian's python3-keystone,
// unpacked privately (never installed) and served on loopback.
const KeystonePeerScript = "keystone-peer/keystone-peer.sh"

// KeystonePeer is a real Keystone run by ../shared/keystone-peer/keystone-peer.sh,
// provisioned as the script's header says (users admin, alice, rita, olga,
// oslorego, service, ... with password Env["KEYSTONE_PW"]): the one .ci/run
// started (at $KEYSTONE_PEER_HOME, default ~/.cache/keystone-peer), or
// else one this test process started in a private home on a free port.
type KeystonePeer struct {
	// URL is Keystone's root, http://127.0.0.1:PORT; the auth URL is
	// URL+"/v3".
	URL string
	// Home is the peer's KEYSTONE_PEER_HOME; State is its state/ (env.sh,
	// clouds.yaml, requests.log).
	Home, State string
	// Env is state/env.sh: ids and passwords (PROJECT_DEMO, USER_ALICE,
	// ROLE_MEMBER, KEYSTONE_PW, ...).
	Env map[string]string
	// CloudsYAML is state/clouds.yaml, one cloud per user, for the
	// openstack CLI and openstacksdk (OS_CLIENT_CONFIG_FILE).
	CloudsYAML string

	script string
}

// keystonePeer is the process's one peer: started by the first Keystone
// call, stopped by StopKeystone.
var keystonePeer struct {
	mu      sync.Mutex
	started bool
	peer    *KeystonePeer // nil if it failed to start
	err     error
	running *KeystonePeer // what StopKeystone stops, even after a failed start
}

// Keystone returns the process's keystone peer: the running one at
// $KEYSTONE_PEER_HOME (default ~/.cache/keystone-peer) if it answers,
// else one started on the first call (about a minute; the first run on a
// machine also downloads and unpacks the packages). A test binary that
// calls it stops what it started from TestMain with StopKeystone.
func Keystone(t testing.TB) *KeystonePeer {
	t.Helper()
	keystonePeer.mu.Lock()
	defer keystonePeer.mu.Unlock()
	if !keystonePeer.started {
		keystonePeer.started = true
		// One already running (.ci/run starts one) costs nothing; starting
		// one costs a minute.
		if p, err := findRunningKeystone(); err == nil {
			keystonePeer.peer = p
		} else {
			keystonePeer.running, keystonePeer.err = startKeystone()
			if keystonePeer.err == nil {
				keystonePeer.peer = keystonePeer.running
			}
		}
	}
	if keystonePeer.err != nil {
		Missing(t, "the keystone peer: %v", keystonePeer.err)
	}
	return keystonePeer.peer
}

// StopKeystone stops the peer that Keystone started, and its extra
// instances, and removes its home; a freshly downloaded package root is
// kept for the next run. It does nothing if no peer was started or the
// peer was one already running.
func StopKeystone() error {
	keystonePeer.mu.Lock()
	defer keystonePeer.mu.Unlock()
	k := keystonePeer.running
	if k == nil {
		return nil
	}
	keystonePeer.running, keystonePeer.peer = nil, nil
	keystonePeer.started, keystonePeer.err = true, errors.New("the keystone peer was stopped")
	_, err := k.run(time.Minute, nil, "stop")
	root := filepath.Join(k.Home, "root")
	if st, lerr := os.Lstat(root); lerr == nil && st.IsDir() && keystoneRootAt(root) {
		if cache, cerr := keystoneRootCache(); cerr == nil && !keystoneRootAt(cache) {
			// Best effort: a cache on another file system is not worth a copy.
			if os.MkdirAll(filepath.Dir(cache), 0o755) == nil {
				_ = os.Rename(root, cache)
			}
		}
	}
	if rerr := os.RemoveAll(k.Home); err == nil {
		err = rerr
	}
	return err
}

// keystoneRootCache is where a package root that a test run downloaded is
// kept, beside .ci/run's unpacked python3-glance.
func keystoneRootCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "oslorego-ci", "keystone-peer-root"), nil
}

// keystoneRootAt reports whether root holds an unpacked python3-keystone.
func keystoneRootAt(root string) bool {
	_, err := os.Stat(filepath.Join(root, "usr", "lib", "python3", "dist-packages", "keystone", "server", "wsgi.py"))
	return err == nil
}

// keystoneRoots are the package roots a peer may reuse: $KEYSTONE_PEER_HOME's,
// the script's default home's, and the one a test run kept.
func keystoneRoots() []string {
	var out []string
	if h := os.Getenv("KEYSTONE_PEER_HOME"); h != "" {
		out = append(out, filepath.Join(h, "root"))
	}
	if dir, err := os.UserCacheDir(); err == nil {
		out = append(out, filepath.Join(dir, "keystone-peer", "root"))
	}
	if c, err := keystoneRootCache(); err == nil {
		out = append(out, c)
	}
	return out
}

// startKeystone starts the peer. A non-nil peer may be running (and is to
// be stopped) even when the error is not nil.
func startKeystone() (*KeystonePeer, error) {
	script, err := sharedPath(strings.Split(KeystonePeerScript, "/"))
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("curl"); err != nil {
		return nil, fmt.Errorf("the keystone peer script needs curl: %w", err)
	}
	if err := checkPython(ReferencePython, nil); err != nil {
		return nil, err
	}
	kport, err := FreePort()
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "oslorego-keystone-peer-")
	if err != nil {
		return nil, fmt.Errorf("keystone peer home: %w", err)
	}
	k := &KeystonePeer{
		URL:        "http://127.0.0.1:" + strconv.Itoa(kport),
		Home:       home,
		State:      filepath.Join(home, "state"),
		CloudsYAML: filepath.Join(home, "state", "clouds.yaml"),
		script:     script,
	}
	// Reuse an unpacked root (100 MB, minutes to fetch): the script only
	// replaces $HOME/root when it cannot import keystone from it, and
	// then removes the link, not what it points to.
	for _, r := range keystoneRoots() {
		if keystoneRootAt(r) {
			if err := os.Symlink(r, filepath.Join(home, "root")); err != nil {
				return k, fmt.Errorf("keystone peer root: %w", err)
			}
			break
		}
	}
	// No image endpoint yet (port 9 is discard): SetImageURL sets it.
	out, err := k.run(10*time.Minute, []string{"PORT=" + strconv.Itoa(kport), "IMAGE_URL=" + unsetImageURL}, "start")
	if err != nil {
		return k, fmt.Errorf("%s: %w\n%s", script, err, tail(out, 30))
	}
	if k.Env, err = readEnvFile(filepath.Join(home, "state", "env.sh")); err != nil {
		return k, err
	}
	return k, nil
}

// findRunningKeystone reads the state of a peer started outside the tests
// (as .ci/run does) and checks that it answers.
func findRunningKeystone() (*KeystonePeer, error) {
	script, err := sharedPath(strings.Split(KeystonePeerScript, "/"))
	if err != nil {
		return nil, err
	}
	home := peerHome("KEYSTONE_PEER_HOME", "keystone-peer")
	state := filepath.Join(home, "state")
	env, err := readEnvFile(filepath.Join(state, "env.sh"))
	if err != nil {
		return nil, err
	}
	p := &KeystonePeer{URL: env["KEYSTONE_URL"], Home: home, State: state, Env: env,
		CloudsYAML: filepath.Join(state, "clouds.yaml"), script: script}
	if p.URL == "" {
		return nil, fmt.Errorf("keystone peer: no KEYSTONE_URL in %s/env.sh", state)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.URL + "/v3")
	if err != nil {
		return nil, fmt.Errorf("keystone peer at %s: %w", p.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("keystone peer at %s: GET /v3: HTTP %d", p.URL, resp.StatusCode)
	}
	return p, nil
}

// unsetImageURL is the catalog's image endpoint until SetImageURL.
const unsetImageURL = "http://127.0.0.1:9"

// SetImageURL points the catalog's image endpoints (public, internal and
// admin) at url, as the peer's admin user. The catalog has one image
// service: the test that serves it sets it.
func (k *KeystonePeer) SetImageURL(t testing.TB, url string) {
	t.Helper()
	admin := k.Token(t, k.URL, "admin", "admin")
	var services struct {
		Services []struct{ ID string } `json:"services"`
	}
	k.call(t, admin.ID, http.MethodGet, "/v3/services?type=image", nil, &services)
	if len(services.Services) != 1 {
		t.Fatalf("the peer's catalog has %d image services, want 1", len(services.Services))
	}
	var endpoints struct {
		Endpoints []struct{ ID string } `json:"endpoints"`
	}
	k.call(t, admin.ID, http.MethodGet, "/v3/endpoints?service_id="+services.Services[0].ID, nil, &endpoints)
	if len(endpoints.Endpoints) == 0 {
		t.Fatal("the peer's image service has no endpoints")
	}
	for _, e := range endpoints.Endpoints {
		body := map[string]map[string]string{"endpoint": {"url": url}}
		k.call(t, admin.ID, http.MethodPatch, "/v3/endpoints/"+e.ID, body, nil)
	}
}

// call is one JSON call to the peer's API with token; out may be nil.
func (k *KeystonePeer) call(t testing.TB, token, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, k.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("keystone %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("keystone %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("keystone %s %s: %v", method, path, err)
		}
	}
}

// run runs the peer script with args, in the peer's home, with env
// (NAME=VALUE) added.
func (k *KeystonePeer) run(timeout time.Duration, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{k.script}, args...)...)
	cmd.Env = append(withoutEnv(os.Environ(), "KEYSTONE_PEER_HOME", "PORT", "IMAGE_URL", "TOKEN_EXPIRATION", "FRESH_ROOT", "PW"),
		append(env, "KEYSTONE_PEER_HOME="+k.Home)...)
	return cmd.CombinedOutput()
}

// withoutEnv drops the named variables from env.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// Extra starts a second Keystone on the peer's database and keys whose
// tokens live expiration (they validate at the main one too), and
// returns its root URL and a function that stops it (also run when t
// ends) and returns once the port refuses.
func (k *KeystonePeer) Extra(t testing.TB, expiration time.Duration) (url string, stop func()) {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	secs := strconv.Itoa(int(expiration.Round(time.Second) / time.Second))
	if out, err := k.run(2*time.Minute, nil, "extra", strconv.Itoa(port), secs); err != nil {
		t.Fatalf("starting an extra keystone: %v\n%s", err, tail(out, 30))
	}
	pidfile := filepath.Join(k.State, "keystone-extra-"+strconv.Itoa(port)+".pid")
	stop = sync.OnceFunc(func() {
		if err := stopPidfile(pidfile); err != nil {
			t.Errorf("stopping the extra keystone: %v", err)
		}
	})
	t.Cleanup(stop)
	return "http://127.0.0.1:" + strconv.Itoa(port), stop
}

// stopPidfile stops the keystone whose pid the file holds, if it is still
// a keystone, and waits until it is gone.
func stopPidfile(pidfile string) error {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return fmt.Errorf("keystone pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("keystone pid in %s: %w", pidfile, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("keystone_wsgi")) {
		return nil // already gone
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping keystone %d: %w", pid, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return os.Remove(pidfile)
		}
	}
	return fmt.Errorf("keystone %d did not stop", pid)
}

// KeystoneToken is a project-scoped token and what Keystone said with it.
type KeystoneToken struct {
	ID        string
	ExpiresAt time.Time
	// ImageURL is the public image endpoint of the token's catalog (what
	// keystonemiddleware passes a service such as Nova).
	ImageURL string
}

// Token issues a token for user (password Env["KEYSTONE_PW"]) scoped to
// project (a name, domain Default) at the Keystone whose root is url:
// the peer's URL or an Extra one's.
func (k *KeystonePeer) Token(t testing.TB, url, user, project string) KeystoneToken {
	t.Helper()
	tok, err := IssueToken(context.Background(), url, user, k.Env["KEYSTONE_PW"], project)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// IssueToken asks the Keystone at url (its root) for a token of user in
// domain Default scoped to project in domain Default, by password.
func IssueToken(ctx context.Context, url, user, password, project string) (KeystoneToken, error) {
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string            `json:"name"`
						Domain   map[string]string `json:"domain"`
						Password string            `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string            `json:"name"`
					Domain map[string]string `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	id := &req.Auth.Identity
	id.Methods = []string{"password"}
	id.Password.User.Name, id.Password.User.Password = user, password
	id.Password.User.Domain = map[string]string{"id": "default"}
	req.Auth.Scope.Project.Name, req.Auth.Scope.Project.Domain = project, map[string]string{"id": "default"}
	body, err := json.Marshal(req)
	if err != nil {
		return KeystoneToken{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(url, "/")+"/v3/auth/tokens", bytes.NewReader(body))
	if err != nil {
		return KeystoneToken{}, fmt.Errorf("token for %s: %w", user, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return KeystoneToken{}, fmt.Errorf("token for %s: %w", user, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
			Catalog   []struct {
				Type      string `json:"type"`
				Endpoints []struct {
					Interface, URL string
				} `json:"endpoints"`
			} `json:"catalog"`
		} `json:"token"`
	}
	if resp.StatusCode != http.StatusCreated {
		return KeystoneToken{}, fmt.Errorf("token for %s at %s: HTTP %d", user, url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return KeystoneToken{}, fmt.Errorf("token for %s: %w", user, err)
	}
	tok := KeystoneToken{ID: resp.Header.Get("X-Subject-Token"), ExpiresAt: out.Token.ExpiresAt}
	for _, s := range out.Token.Catalog {
		for _, e := range s.Endpoints {
			if s.Type == "image" && e.Interface == "public" {
				tok.ImageURL = e.URL
			}
		}
	}
	if tok.ID == "" {
		return KeystoneToken{}, fmt.Errorf("token for %s: no X-Subject-Token", user)
	}
	return tok, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readEnvFile reads NAME=VALUE lines.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keystone peer env: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keystone peer env: %w", err)
	}
	return env, nil
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Main runs a test binary's tests, then stops the keystone peer if one of
// them started it (Keystone reuses a running one, as .ci/run starts), and
// exits: a package's TestMain is `testenv.Main(m)`.
func Main(m *testing.M) {
	code := m.Run()
	if err := StopKeystone(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the keystone peer:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}
