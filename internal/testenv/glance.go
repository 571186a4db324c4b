package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// GlancePeerScript is the glance peer's start script inside the shared
// folder: a real glance-api 25 (Zed) from Debian's python3-glance,
// unpacked privately (../shared/glance-peer/setup-root.sh) and served on
// loopback with SQLite and a file store.
const GlancePeerScript = "glance-peer/start.sh"

// GlancePeer is a real glance-api with Keystone authentication in front of
// a keystone peer, started by Glance for one test.
type GlancePeer struct {
	// URL is glance-api's root, http://127.0.0.1:PORT.
	URL string

	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
}

// Glance starts a glance-api (FLAVOR=keystone) that validates tokens at
// ks as the peer's glance service user, with property protections that
// make the billing marker x_billing_code_ntt readable, and writable, by
// admins only; it is killed at the end of the test. It is a long suite
// (Long). Starting takes some seconds; the package root must have been
// set up ($GLANCE_PEER_HOME, default ~/.cache/glance-peer; .ci/run does).
func Glance(t testing.TB, ks *KeystonePeer) *GlancePeer {
	t.Helper()
	Long(t)
	shared := SharedDir(t)
	home := peerHome("GLANCE_PEER_HOME", "glance-peer")
	if _, err := os.Stat(filepath.Join(peerPythonPath("GLANCE_PEER_HOME", "glance-peer"), "glance")); err != nil {
		Missing(t, "the glance peer is not set up (%v): run ../shared/glance-peer/setup-root.sh", err)
	}
	dir := t.TempDir()
	prot := filepath.Join(dir, "property-protections.conf")
	if err := os.WriteFile(prot, []byte("[^x_billing_code_ntt$]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n\n"+
		"[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	g := &GlancePeer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), t: t, done: make(chan struct{})}
	g.cmd = exec.Command(filepath.Join(shared, GlancePeerScript))
	g.cmd.Env = append(os.Environ(), "FLAVOR=keystone", fmt.Sprintf("PORT=%d", port), "STATE="+filepath.Join(dir, "glance"),
		"GLANCE_PEER_HOME="+home, "KEYSTONE_URL="+ks.URL,
		"GLANCE_SERVICE_USER="+ks.Env["GLANCE_SERVICE_USER"], "GLANCE_SERVICE_PW="+ks.Env["GLANCE_SERVICE_PW"],
		"EXTRA_DEFAULT=property_protection_file = "+prot+"\nproperty_protection_rule_format = roles")
	logf, err := os.Create(filepath.Join(dir, "glance.out"))
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.Kill()
		logf.Close()
	})
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if r, err := http.Get(g.URL + "/healthcheck"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case <-g.done:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("glance-api exited:\n%s", tail(b, 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("glance-api did not answer within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill stops glance-api at once (a crash, as the tests need) and waits
// for it to exit.
func (g *GlancePeer) Kill() {
	_ = g.cmd.Process.Kill()
	<-g.done
}

// Image creates an image as token (an admin's: owner may be any project)
// with visibility private, owner and props, and uploads data (nil: the
// image stays queued); it returns the image's id.
func (g *GlancePeer) Image(token, owner string, props map[string]string, data []byte) string {
	g.t.Helper()
	m := map[string]any{"name": "gw", "disk_format": "raw", "container_format": "bare", "visibility": "private", "owner": owner}
	for k, v := range props {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		g.t.Fatal(err)
	}
	status, out := g.do("POST", "/v2/images", token, "application/json", b)
	if status != http.StatusCreated {
		g.t.Fatalf("create image: %d %s", status, out)
	}
	var img struct{ ID string }
	if err := json.Unmarshal(out, &img); err != nil || img.ID == "" {
		g.t.Fatalf("create image: %v %s", err, out)
	}
	if data != nil {
		if status, out := g.do("PUT", "/v2/images/"+img.ID+"/file", token, "application/octet-stream", data); status != http.StatusNoContent {
			g.t.Fatalf("upload: %d %s", status, out)
		}
	}
	return img.ID
}

func (g *GlancePeer) do(method, path, token, ctype string, body []byte) (int, []byte) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}
