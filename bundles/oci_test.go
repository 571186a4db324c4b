package bundles

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
	orascontent "oras.land/oras-go/v2/content"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/rego"
)

// builtRevision builds the example bundle under revision rev, signed.
func builtRevision(t *testing.T, rev string, sign *SignOptions) []byte {
	t.Helper()
	b, err := Load(context.Background(), Path(example), Options{Revision: rev})
	if err != nil {
		t.Fatal(err)
	}
	return write(t, b, sign)
}

// A bundle pushed to a real registry (Debian's docker-registry) is
// served from oci://: verified as any built bundle, not fetched again
// while the tag names the same manifest, a new push to the tag picked up
// within one poll, and a wrongly signed push refused with the last good
// bundle kept.
func TestOCIRegistry(t *testing.T) {
	host := testenv.Registry(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	priv, pub := rsaKeys(t)
	otherPriv, _ := rsaKeys(t)
	sign := &SignOptions{Key: priv, Alg: "RS256", KeyID: "k"}
	ref := OCIScheme + host + "/oslorego/glance:live"
	if _, err := Push(ctx, nil, builtRevision(t, "r1", sign), ref); err != nil {
		t.Fatal(err)
	}
	opts := Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k"}}
	l, err := Open(ctx, Path(ref), opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := restricted(t, l.Engine); l.Revision != "r1" || d.Allowed || d.Error != "" {
		t.Fatalf("revision %q, decision %+v", l.Revision, d)
	}
	w := NewWatcher(Path(ref), opts)
	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	etag := w.etag
	if changed, same, err := w.reload(ctx); err != nil || changed || !same || !strings.HasPrefix(etag, "sha256:") {
		t.Fatalf("unchanged tag: changed %v, not fetched %v, %v (etag %q)", changed, same, err, etag)
	}
	const poll = 200 * time.Millisecond
	go w.Run(ctx, poll)
	if _, err := Push(ctx, nil, builtRevision(t, "r2", sign), ref); err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()
	for {
		if _, rev := w.Policy(); rev == "r2" {
			break
		}
		if time.Since(pushed) > 2*poll+time.Second {
			t.Fatalf("r2 not in force %v after the push (poll %v): %v", time.Since(pushed), poll, w.LastError())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := Push(ctx, nil, builtRevision(t, "r3", &SignOptions{Key: otherPriv, Alg: "RS256", KeyID: "k"}), ref); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Reload(ctx); err == nil || changed || !strings.Contains(err.Error(), "verif") {
		t.Fatalf("a wrongly signed bundle: changed %v, %v", changed, err)
	}
	if _, rev := w.Policy(); rev != "r2" {
		t.Errorf("in force after the refused push: %q, want r2", rev)
	}
	// Also unsigned, for a watcher that verifies nothing.
	if _, err := Push(ctx, nil, builtRevision(t, "r4", nil), OCIScheme+host+"/oslorego/glance:plain"); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(ctx, Path(OCIScheme+host+"/oslorego/glance:plain"), Options{}); err != nil || l.Revision != "r4" {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := Open(ctx, Path(OCIScheme+host+"/oslorego/glance:plain"), opts); err == nil {
		t.Error("an unsigned bundle passed verification")
	}
	for _, tc := range []struct {
		name string
		push func() error
		open string
		want string
	}{
		{"not a bundle", func() error { _, err := Push(ctx, nil, []byte("hello"), ref); return err }, "", "not a bundle"},
		{"no tag", func() error {
			_, err := Push(ctx, nil, builtRevision(t, "x", nil), OCIScheme+host+"/oslorego/glance")
			return err
		}, "", "no tag"},
		{"unknown tag", nil, OCIScheme + host + "/oslorego/glance:nope", "not found"},
		{"unknown repository", nil, OCIScheme + host + "/nope/nope:live", "not found"},
	} {
		var err error
		if tc.push != nil {
			err = tc.push()
		} else {
			_, err = Open(ctx, Path(tc.open), Options{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	// An image index (a multi-platform image, say) is not a bundle.
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	raw, _ := json.Marshal(idx)
	repo, _, err := ociRepository(ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := orascontent.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, raw)
	if err := repo.PushReference(ctx, d, bytes.NewReader(raw), "index"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Path(OCIScheme+host+"/oslorego/glance:index"), Options{}); err == nil || !strings.Contains(err.Error(), "not an image manifest") {
		t.Errorf("an index: %v", err)
	}
	if _, rev := w.Policy(); rev != "r2" {
		t.Errorf("in force at the end: %q, want r2", rev)
	}
}

// What push writes is what stock OPA's OCI downloader reads: "opa run"
// configured with the registry as an oci service pulls a signed
// --oslo-policy-opa bundle, verifies it with its own signing config, and
// answers oslo.policy.opa's query with the engine's decisions.
func TestStockOPAPullsPushedBundle(t *testing.T) {
	host := testenv.Registry(t)
	ctx := context.Background()
	priv, pub := rsaKeys(t)
	b, err := Load(ctx, Path(example), Options{Revision: "pulled", OsloPolicyOPA: true})
	if err != nil {
		t.Fatal(err)
	}
	built := write(t, b, &SignOptions{Key: priv, Alg: "RS256", KeyID: "k"})
	if _, err := Push(ctx, nil, built, OCIScheme+host+"/oslorego/example:live"); err != nil {
		t.Fatal(err)
	}
	keyJSON, _ := json.Marshal(pub)
	cfg := fmt.Sprintf(`services:
  registry:
    url: http://%[1]s
    type: oci
keys:
  k:
    algorithm: RS256
    key: %[2]s
bundles:
  example:
    service: registry
    resource: %[1]s/oslorego/example:live
    signing:
      keyid: k
`, host, keyJSON)
	cfgFile := filepath.Join(t.TempDir(), "opa.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	url := testenv.StockOPA(t, "-c", cfgFile)
	l, err := Open(ctx, Path(OCIScheme+host+"/oslorego/example:live"), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	member := map[string]any{"roles": []any{"member", "reader"}, "project_id": "p1"}
	allowed := 0
	for _, target := range []map[string]any{
		{"x_billing_code_ntt": "ntt_3251", "project_id": "p1", "owner": "p1", "visibility": "private"},
		{"project_id": "p1", "owner": "p1", "visibility": "private"},
	} {
		body, _ := json.Marshal(map[string]any{"input": map[string]any{"target": target, "credentials": member}})
		resp, err := http.Post(url+"/v1/data/download_image/allow", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Result *bool `json:"result"`
		}
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		d, derr := l.Engine.Decide(ctx, rego.Request{Rule: "download_image", Target: target, Credentials: member})
		if err != nil || derr != nil || res.Result == nil || *res.Result != d.Allowed {
			t.Errorf("%v: stock OPA %v (%v), the engine %+v (%v)", target, res.Result, err, d, derr)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 1 {
		t.Errorf("%d of 2 allowed, want the plain image only", allowed)
	}
}

// A registry that wants a login: without credentials a push and a pull
// are refused; with docker's config file ($DOCKER_CONFIG) they work.
func TestOCIRegistryCredentials(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	host := testenv.Registry(t, "deployer:"+string(hash))
	ctx := context.Background()
	ref := OCIScheme + host + "/oslorego/glance:live"
	built := builtRevision(t, "authed", nil)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := Push(ctx, nil, built, ref); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("an anonymous push: %v", err)
	}
	cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, base64.StdEncoding.EncodeToString([]byte("deployer:s3cret")))
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, nil, built, ref); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(ctx, Path(ref), Options{}); err != nil || l.Revision != "authed" {
		t.Fatalf("a pull with credentials: %v", err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := Open(ctx, Path(ref), Options{}); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Errorf("an anonymous pull: %v", err)
	}
}
