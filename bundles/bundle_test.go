package bundles

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/oslorego/oslorego/internal/testenv"
)

const example = "testdata/example"

func build(t *testing.T, dir string) *bundle.Bundle {
	t.Helper()
	b, err := Load(context.Background(), Path(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, b *bundle.Bundle, sign *SignOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, b, sign); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuildIsDeterministicAndTestsPass(t *testing.T) {
	a, b := write(t, build(t, example), nil), write(t, build(t, example), nil)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same directory differ")
	}
	bu := build(t, example)
	if !strings.HasPrefix(bu.Manifest.Revision, "sha256:") || bu.Manifest.Roots == nil || strings.Join(*bu.Manifest.Roots, ",") != "oslo,restricted_billing_codes" {
		t.Errorf("manifest: revision %q roots %v", bu.Manifest.Revision, bu.Manifest.Roots)
	}
	var out bytes.Buffer
	sum, err := Test(context.Background(), bu, TestOptions{Coverage: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 3 || sum.Failed+sum.Errors != 0 {
		t.Errorf("tests: %+v\n%s", sum, out.String())
	}
	if sum.Coverage <= 0 || sum.Coverage > 100 || !strings.Contains(out.String(), "coverage: ") || !strings.Contains(out.String(), "  restrict.rego") {
		t.Errorf("coverage %.1f:\n%s", sum.Coverage, out.String())
	}
}

func TestFailingTestIsReported(t *testing.T) {
	dir := copyDir(t, example)
	bad := "package oslo.policy_test\n\nimport data.oslo.policy\n\ntest_wrong if policy.allow with input as {\"rule\": \"download_image\", \"target\": {\"x_billing_code_ntt\": \"ntt_3251\"}, \"credentials\": {\"roles\": [\"member\"]}}\n"
	if err := os.WriteFile(filepath.Join(dir, "wrong_test.rego"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Test(context.Background(), build(t, dir), TestOptions{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || !strings.Contains(out.String(), "test_wrong: FAIL") || !strings.Contains(out.String(), "wrong_test.rego:5") {
		t.Errorf("%+v\n%s", sum, out.String())
	}
}

func TestNameInOsloAndRegoIsAnError(t *testing.T) {
	dir := copyDir(t, example)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("\"restricted\": \"@\"\n\"download_image\": \"rule:restricted\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), Path(dir), Options{})
	if err == nil || !strings.Contains(err.Error(), "restrict.rego:7") || !strings.Contains(err.Error(), "policy.yaml:1") {
		t.Errorf("want an error naming both places, got %v", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	priv, pub := rsaKeys(t)
	_, otherPub := rsaKeys(t)
	signed := write(t, build(t, example), &SignOptions{Key: priv, Alg: "RS256", KeyID: "k1"})
	unsigned := write(t, build(t, example), nil)
	dir := t.TempDir()
	path := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := path("signed.tar.gz", signed)
	if _, err := Load(context.Background(), Path(good), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k1"}}); err != nil {
		t.Errorf("verifying with the right key: %v", err)
	}
	if _, err := Load(context.Background(), Path(good), Options{Verify: &VerifyOptions{Key: otherPub, Alg: "RS256", KeyID: "k1"}}); err == nil {
		t.Error("a bundle signed with another key verified")
	}
	if _, err := Load(context.Background(), Path(path("unsigned.tar.gz", unsigned)), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k1"}}); err == nil {
		t.Error("an unsigned bundle verified")
	}
	corrupt := append([]byte(nil), signed...)
	corrupt[len(corrupt)/2] ^= 0xff
	if _, err := Load(context.Background(), Path(path("corrupt.tar.gz", corrupt)), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k1"}}); err == nil {
		t.Error("a corrupted bundle loaded")
	}
	ecPriv, ecPub := ecKeys(t)
	es := path("es.tar.gz", write(t, build(t, example), &SignOptions{Key: ecPriv, Alg: "ES256", KeyID: "k1"}))
	if _, err := Load(context.Background(), Path(es), Options{Verify: &VerifyOptions{Key: ecPub, Alg: "ES256", KeyID: "k1"}}); err != nil {
		t.Errorf("ES256: %v", err)
	}
	if _, err := Load(context.Background(), Path(es), Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k1"}}); err == nil {
		t.Error("an ES256 bundle verified with an RSA key")
	}
	hs := path("hs.tar.gz", write(t, build(t, example), &SignOptions{Key: "s3cret", Alg: "HS256", KeyID: "k1"}))
	if _, err := Load(context.Background(), Path(hs), Options{Verify: &VerifyOptions{Key: "s3cret", Alg: "HS256", KeyID: "k1"}}); err != nil {
		t.Errorf("HS256: %v", err)
	}
	if _, err := Load(context.Background(), Path(hs), Options{Verify: &VerifyOptions{Key: "wrong", Alg: "HS256", KeyID: "k1"}}); err == nil {
		t.Error("HS256 with the wrong secret verified")
	}
}

// The stock opa CLI accepts what we build and passes its tests.
func TestStockOPATest(t *testing.T) {
	testenv.Long(t)
	opa := testenv.OPA(t)
	p := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(p, write(t, build(t, example), nil), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(opa, "test", "-b", p).CombinedOutput()
	if err != nil || !strings.Contains(string(res), "PASS: 3/3") {
		t.Errorf("opa test -b: %v\n%s", err, res)
	}
}

func rsaKeys(t *testing.T) (priv, pub string) { return testenv.RSAKeys(t) }

func ecKeys(t *testing.T) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: privDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A bad property protection file is a clear error when the bundle is read.
func TestBadPropertyProtections(t *testing.T) {
	for name, conf := range map[string]string{
		"bad regex":         "[^x_.*(]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n",
		"missing operation": "[^x_.*]\ncreate = admin\nread = admin\nupdate = admin\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyDir(t, example)
			p := filepath.Join(dir, "property-protections-roles.conf")
			if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), Path(dir), Options{})
			if err == nil || !strings.Contains(err.Error(), p+":1") {
				t.Errorf("want an error at %s:1, got %v", p, err)
			}
		})
	}
}
