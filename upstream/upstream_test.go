package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRefusesBadURLs(t *testing.T) {
	id := NewTokenFile("/nonexistent")
	for _, u := range []string{"ftp://glance", "glance:9292", "http://", "http://u:p@glance", "http://glance?x=1"} {
		if _, err := New(Options{URL: u, Identity: id}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := New(Options{URL: "http://glance:9292"}); err == nil {
		t.Error("no identity accepted")
	}
	if _, err := New(Options{URL: "http://glance:9292/image/", Identity: id}); err != nil {
		t.Errorf("a path prefix: %v", err)
	}
}

// The token file is re-read when it changes; a refused token is not given
// out again until the file holds another.
func TestTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	f := NewTokenFile(p)
	ctx := context.Background()
	if _, err := f.Token(ctx); err == nil {
		t.Error("missing file: no error")
	}
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("one\n")
	if tok, err := f.Token(ctx); tok != "one" || err != nil {
		t.Errorf("Token = %q, %v", tok, err)
	}
	f.Invalidate("one")
	if tok, err := f.Token(ctx); err == nil {
		t.Errorf("refused token given out again: %q", tok)
	}
	write("second\n")
	if tok, err := f.Token(ctx); tok != "second" || err != nil {
		t.Errorf("after renewal: %q, %v", tok, err)
	}
	write("   \n")
	if _, err := f.Token(ctx); err == nil {
		t.Error("empty file: no error")
	}
	write("a\nb")
	if _, err := f.Token(ctx); err == nil {
		t.Error("two lines: no error")
	}
}

// A Glance that stops sending mid-body ends the body with ErrUnavailable
// after the timeout, and one that never answers is ErrUnavailable too.
func TestClientTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/file"), r.URL.Path == "/v2/images/body-stalls":
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("{\"id\": "))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer g.Close()
	tf := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(tf, []byte("svc"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{URL: g.URL, Identity: NewTokenFile(tf), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.ServiceImage(context.Background(), "i", ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no answer: %v, want ErrUnavailable", err)
	}
	if _, err := c.CallerImage(context.Background(), "body-stalls", "caller", ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("metadata body stalls: %v, want ErrUnavailable", err)
	}
	resp, err := c.Data(context.Background(), "i", "caller", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 7 || err == nil {
		t.Errorf("stalled body: %d bytes, %v; want 7 and an error", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// Each call's time is in oslorego_upstream_request_duration_seconds, by
// call, and includes Glance's own time.
func TestClientTimesCalls(t *testing.T) {
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		if strings.HasSuffix(r.URL.Path, "/file") {
			_, _ = w.Write([]byte("data"))
			return
		}
		_, _ = w.Write([]byte(`{"id": "i"}`))
	}))
	defer g.Close()
	tf := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(tf, []byte("svc"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c, err := New(Options{URL: g.URL, Identity: NewTokenFile(tf), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CallerImage(ctx, "i", "caller", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceImage(ctx, "i", ""); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Data(ctx, "i", "caller", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "oslorego_upstream_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetHistogram().GetSampleCount() != 1 {
				t.Errorf("%v: %d samples, want 1", m.GetLabel(), m.GetHistogram().GetSampleCount())
			}
			got[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleSum()
		}
	}
	for _, call := range []string{"image", "service_image", "data"} {
		if got[call] < 0.02 {
			t.Errorf("call %s: %v s, want at least Glance's 20 ms (all: %v)", call, got[call], got)
		}
	}
	// A second client on the same registry is refused, not a panic.
	if _, err := New(Options{URL: g.URL, Identity: NewTokenFile(tf), Registerer: reg}); err == nil {
		t.Error("registered twice")
	}
}

// Names in paths are escaped once, under the endpoint's own path: a
// namespace with a space is /image/v2/metadefs/namespaces/a%20b, never
// a%2520b; /versions is under the same prefix.
func TestClientEscapesPathsOnce(t *testing.T) {
	var got []string
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath())
		id := strings.TrimPrefix(r.URL.Path, "/image/v2/images/")
		_, _ = w.Write([]byte(`{"id": "` + id + `"}`))
	}))
	defer g.Close()
	tf := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(tf, []byte("svc"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{URL: g.URL + "/image", Identity: NewTokenFile(tf)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Namespace(ctx, "a b/c", "caller", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallerImage(ctx, "x y", "caller", ""); err != nil {
		t.Fatal(err)
	}
	if ready, detail := c.Status(); !ready {
		t.Errorf("Status: %s", detail)
	}
	want := []string{"/image/v2/metadefs/namespaces/a%20b%2Fc", "/image/v2/images/x%20y", "/image/versions"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("paths %q, want %q", got, want)
	}
}
