package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

var pdpRx = regexp.MustCompile(`policy decision point on (https?://\S+)`)

// TestServePDP: serve --pdp-listen with TLS and client certificates
// answers oslo's HttpCheck on its own listener, with the built-in bundle's
// decisions; the public listener does not serve it; the decision log names
// the caller by its certificate subject.
func TestServePDP(t *testing.T) {
	pki := testenv.NewPKI(t)
	dir := t.TempDir()
	dlog := dir + "/decisions.log"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--decision-log", dlog, "--replica", "r1",
			"--pdp-listen", "127.0.0.1:0", "--pdp-tls-cert", pki.ServerCert, "--pdp-tls-key", pki.ServerKey, "--pdp-client-ca", pki.CA},
			strings.NewReader(""), &out, &errb)
	}()
	var public, pdpURL string
	for deadline := time.Now().Add(30 * time.Second); public == "" || pdpURL == ""; time.Sleep(20 * time.Millisecond) {
		if m := servingRx.FindStringSubmatch(errb.String()); m != nil {
			public = m[1]
		}
		if m := pdpRx.FindStringSubmatch(errb.String()); m != nil {
			pdpURL = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
	}
	if !strings.HasPrefix(pdpURL, "https://") {
		t.Fatalf("PDP URL %s: want https", pdpURL)
	}
	caPEM, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// The built-in glance bundle: download_image refuses a billing code to
	// non-admins.
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	post := func(c *http.Client, base, creds string) (int, string) {
		body := `{"rule": "download_image", "target": {"x_billing_code_ntt": "ntt_3251", "project_id": "p1"}, "credentials": ` + creds + `}`
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, base+"/v1/oslo/check", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, got := post(client, pdpURL, `{"roles": ["member"], "project_id": "p1", "is_admin": false}`); code != 200 || got != "False" {
		t.Errorf("member: %d %q, want 200 False", code, got)
	}
	if code, got := post(client, pdpURL, `{"roles": ["admin"], "project_id": "p1", "is_admin": true}`); code != 200 || got != "True" {
		t.Errorf("admin: %d %q, want 200 True", code, got)
	}
	if len(reused) != 2 || !reused[1] {
		t.Errorf("connection reused: %v, want the second decision on the first connection (keep-alive)", reused)
	}
	if code, got := post(http.DefaultClient, public, `{"roles": ["admin"], "is_admin": true}`); code == 200 || got == "True" {
		t.Errorf("the public listener answered the PDP path: %d %q", code, got)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	data, err := os.ReadFile(dlog)
	if err != nil {
		t.Fatal(err)
	}
	var pdpLines int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("decision log line %q: %v", line, err)
		}
		if m["pdp"] == nil {
			continue
		}
		pdpLines++
		if m["caller"] != testenv.ClientSubject || m["replica"] != "r1" || m["rule"] != "download_image" || m["bundle_revision"] == "" {
			t.Errorf("PDP decision log line: %v", m)
		}
	}
	if pdpLines != 2 {
		t.Errorf("%d PDP decision log lines, want 2:\n%s", pdpLines, data)
	}
}

func TestServePDPFlags(t *testing.T) {
	pki := testenv.NewPKI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pdp-tls-cert", pki.ServerCert, "--pdp-tls-key", pki.ServerKey}, "need --pdp-listen"},
		{[]string{"--listen", "127.0.0.1:9999", "--pdp-listen", "127.0.0.1:9999"}, "listener of its own"},
		{[]string{"--pdp-listen", "127.0.0.1:0", "--pdp-tls-cert", pki.ServerCert}, "together"},
		{[]string{"--pdp-listen", "127.0.0.1:0", "--pdp-client-ca", pki.CA}, "--pdp-client-ca needs"},
		{[]string{"--pdp-listen", "127.0.0.1:0", "--pdp-tls-cert", pki.ServerCert, "--pdp-tls-key", pki.ClientKey}, "PDP TLS certificate"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want a failure with %q", tc.args, code, stderr, tc.want)
		}
	}
}
