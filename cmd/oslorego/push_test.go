package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

// writeRSAKeys writes a PEM key pair into dir.
func writeRSAKeys(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	privPEM, pubPEM := testenv.RSAKeys(t)
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(priv, []byte(privPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(pubPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// build, push, then eval and serve from oci:// against a real registry
// (Debian's docker-registry): the signature is verified, and serve
// picks up a new push to the tag at its next poll.
func TestPushAndServeFromOCI(t *testing.T) {
	host := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(dir, "data"))
	priv, pub := writeRSAKeys(t, dir)
	ref := "oci://" + host + "/oslorego/example:live"
	buildPush := func(rev string) {
		t.Helper()
		out := filepath.Join(dir, rev+".tar.gz")
		if code, _, errOut := runCLI(t, "", "build", "../../bundles/testdata/example", "-o", out, "--revision", rev, "--signing-key", priv); code != 0 {
			t.Fatalf("build: %s", errOut)
		}
		code, stdout, errOut := runCLI(t, "", "push", out, ref)
		if code != 0 || !strings.HasPrefix(stdout, "sha256:") {
			t.Fatalf("push: exit %d %s%s", code, stdout, errOut)
		}
	}
	buildPush("oci-r1")
	code, out, errOut := runCLI(t, "", "eval", ref, "--verification-key", pub, "--rule", "download_image", "--creds", example+"member.json", "--target", example+"restricted-image.json")
	if code != 1 || out != "failed: download_image\n" {
		t.Errorf("eval oci: exit %d\n%s%s", code, out, errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx, "--bundle", ref, "--verification-key", pub, "--reload-interval", "200ms")
	ready := func() string {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if r := ready(); !strings.Contains(r, "revision oci-r1") {
		t.Errorf("readyz: %s", r)
	}
	buildPush("oci-r2")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(ready(), "revision oci-r2"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the new push is not in force: %s\n%s", ready(), errb.String())
		}
	}
	cancel()
	if c := <-done; c != 0 {
		t.Errorf("serve exited %d: %s", c, errb.String())
	}
	for _, args := range [][]string{{"push"}, {"push", "x.tar.gz"}, {"push", "x.tar.gz", "http://h/r:t"}} {
		if code, _, _ := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
