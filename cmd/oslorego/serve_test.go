package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingRx = regexp.MustCompile(`serving Glance downloads on (http://\S+)`)

// The README's walkthrough: serve with no policy flags, add tokens, import
// images, download as a member (200), be refused the restricted image
// (403), and stop cleanly.
func TestServeWalkthrough(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--decision-log", "off"}, strings.NewReader(""), &out, &errb)
	}()
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := servingRx.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, hint := range []string{"token add", "image import", "built-in glance bundle"} {
		if !strings.Contains(errb.String(), hint) {
			t.Errorf("the greeting lacks %q:\n%s", hint, errb.String())
		}
	}
	token := func(roles string) string {
		code, stdout, stderr := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", roles)
		if code != 0 {
			t.Fatalf("token add: %d %s", code, stderr)
		}
		return strings.TrimSpace(stdout)
	}
	member, admin := token("member,reader"), token("admin")
	plain, billed := "0c7b4c0e-0000-4000-8000-000000000001", "0c7b4c0e-0000-4000-8000-000000000002"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "tiny", "--owner", "demo", "--id", plain); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "billed", "--owner", "demo", "--id", billed, "--property", "x_billing_code_ntt=ntt_3251"); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	data, err := os.ReadFile(example + "tiny.img")
	if err != nil {
		t.Fatal(err)
	}
	get := func(tok, id string) (int, []byte) {
		req, _ := http.NewRequest("GET", url+"/v2/images/"+id+"/file", nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, c := range []struct {
		tok, id string
		status  int
	}{{member, plain, 200}, {member, billed, 403}, {admin, billed, 200}, {"", plain, 401}} {
		status, body := get(c.tok, c.id)
		if status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.id, status, c.status, body)
		}
		if status == 200 && !bytes.Equal(body, data) {
			t.Errorf("%s: body %q", c.id, body)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(errb.String(), member) || strings.Contains(errb.String(), admin) {
		t.Error("a token reached serve's output")
	}
}

func TestServeUsage(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--auth", "magic"}, "want token, keystone or headers"},
		{[]string{"serve", "--auth", "keystone"}, "--keystone-url"},
		{[]string{"serve", "--auth", "keystone", "--keystone-url", "http://127.0.0.1:1"}, "service token"},
		{[]string{"serve", "--auth", "headers"}, "--trusted-proxy"},
		{[]string{"serve", "--auth", "headers", "--trusted-proxy", "not-an-ip"}, "not-an-ip"},
		{[]string{"serve", "extra"}, "no arguments"},
		{[]string{"serve", "--log-format", "xml"}, "text or json"},
		{[]string{"serve", "--decision-memo", "-1"}, "--decision-memo -1"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if code, _, stderr := runCLI(t, "", "serve", "--bundle", "/nonexistent"); code != 1 || !strings.Contains(stderr, "/nonexistent") {
		t.Errorf("missing bundle: %d %q", code, stderr)
	}
	code, _, stderr := runCLI(t, "", "serve", "--help")
	if code != 0 || !strings.Contains(stderr, "--trusted-proxy") || !strings.Contains(stderr, "download_image") {
		t.Errorf("serve --help: %d %q", code, stderr)
	}
	for _, flag := range []string{"--max-requests int", "--max-connections int", "--write-progress-timeout duration", "(default 1024)", "(default 4096)", "(default 1m0s)", "--decision-memo int", "(default 10000)"} {
		if !strings.Contains(stderr, flag) {
			t.Errorf("serve --help lacks %q", flag)
		}
	}
}

func TestRoutes(t *testing.T) {
	code, out, _ := runCLI(t, "", "routes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// method path action store downloads all
	want := [][]string{
		{"GET", "/v2/images/{id}/file", "download_image", "served", "served", "served"},
		{"GET", "/v2/images/{id}", "get_image", "served", "served", "served"},
		{"GET", "/v2/images", "get_images", "served", "-", "proxied"},
		{"GET", "/v1/images/{id}", "download_image", "served", "served", "served"},
		{"HEAD", "/v1/images/{id}", "get_image", "served", "served", "served"},
		{"GET", "/v1/images", "get_images", "served", "-", "-"},
		{"PUT", "/v2/images/{id}/file", "upload_image", "-", "-", "proxied"},
		{"PATCH", "/v2/images/{id}", "modify_image", "-", "-", "proxied"},
		{"POST", "/v2/images/{id}/members", "add_member", "-", "-", "proxied"},
		{"DELETE", "/v2/metadefs/namespaces/{ns}/tags/{tag}", "delete_metadef_tag", "-", "-", "proxied"},
		{"GET", "/v2/schemas/image", "-", "served", "served", "proxied"},
		{"GET", "/versions", "-", "served", "served", "proxied"},
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 6 {
			rows[f[0]+" "+f[1]] = append(f[:3:3], f[len(f)-3:]...)
		}
	}
	for _, w := range want {
		if got := rows[w[0]+" "+w[1]]; !slices.Equal(got, w) {
			t.Errorf("routes: %s %s is %q, want %q", w[0], w[1], got, w)
		}
	}
}

// serve --bundle DIR reloads the directory every --reload-interval: a
// policy edit takes effect without a restart.
func TestServeReloadsBundle(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(dir, "data"))
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	defaults, err := os.ReadFile("../../bundles/glance/defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(bundle, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("defaults.json", string(defaults))
	write("policy.yaml", `"download_image": ""`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--bundle", bundle, "--reload-interval", "50ms", "--decision-log", "off"}, strings.NewReader(""), io.Discard, &errb)
	}()
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if m := servingRx.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
	}
	_, tokOut, _ := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", "member")
	member := strings.TrimSpace(tokOut)
	id := "0c7b4c0e-0000-4000-8000-000000000009"
	if code, _, stderr := runCLI(t, "", "image", "import", example+"tiny.img", "--name", "t", "--owner", "demo", "--id", id); code != 0 {
		t.Fatal(stderr)
	}
	status := func() int {
		req, _ := http.NewRequest("GET", url+"/v2/images/"+id+"/file", nil)
		req.Header.Set("X-Auth-Token", member)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("before the edit: %d", s)
	}
	write("policy.yaml", `"download_image": "role:admin"`)
	for deadline := time.Now().Add(30 * time.Second); status() != 403; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the edited policy never took effect: %s", errb.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d", code)
	}
}

// Every decision log line names the replica that decided (--replica, by
// default the host name and the address listened on) and the bundle
// revision in force: with several gateways behind a load balancer, one
// line says which machine answered under which policy.
func TestServeDecisionLogReplica(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want func(url string) string
	}{
		{"flag", []string{"--replica", "gw-a"}, func(string) string { return "gw-a" }},
		{"default", nil, func(url string) string { return host + "/" + strings.TrimPrefix(url, "http://") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("OSLOREGO_DATA_DIR", dir)
			dlog := filepath.Join(dir, "decisions.log")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			url, done, errb := startServe(t, ctx, append([]string{"--decision-log", dlog}, c.args...)...)
			_, tokOut, _ := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", "member")
			req, _ := http.NewRequest("GET", url+"/v2/images/0c7b4c0e-0000-4000-8000-00000000000a/file", nil)
			req.Header.Set("X-Auth-Token", strings.TrimSpace(tokOut))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exited %d: %s", code, errb.String())
			}
			b, err := os.ReadFile(dlog)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Replica  string `json:"replica"`
				Revision string `json:"bundle_revision"`
				Result   string `json:"result"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if rec.Replica != c.want(url) || rec.Revision == "" || rec.Result != "not_found" {
				t.Errorf("decision log line %s: replica %q, want %q; revision %q, result %q", b, rec.Replica, c.want(url), rec.Revision, rec.Result)
			}
		})
	}
}
