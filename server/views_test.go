package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// fixedImages is an image store of fixed images, so that what the server
// renders can be compared byte for byte with golden files.
type fixedImages []imagestore.Image

func (f fixedImages) Get(_ context.Context, id string) (imagestore.Image, error) {
	for _, img := range f {
		if img.ID == id {
			return img, nil
		}
	}
	return imagestore.Image{}, imagestore.ErrNotFound
}

// ListPage lists every image, whatever the options.
func (f fixedImages) ListPage(context.Context, imagestore.ListOptions) ([]imagestore.Image, error) {
	return f, nil
}

func (f fixedImages) IsMember(context.Context, string, string) (bool, error) { return false, nil }

func (f fixedImages) Members(context.Context, string) ([]imagestore.Member, error) { return nil, nil }

func (f fixedImages) OpenData(context.Context, imagestore.Image) (*os.File, error) {
	return nil, imagestore.ErrNoData
}

// fixedAuth authenticates every request as one identity.
type fixedAuth struct{ id auth.Identity }

func (a fixedAuth) Authenticate(context.Context, *http.Request) (*auth.Identity, error) {
	id := a.id
	return &id, nil
}

// viewImages are a full image (with custom properties that clash with
// core names, HTML-special text, a header-unsafe property name and
// fractional seconds) and a queued image with every nullable attribute
// unset and zero times.
func viewImages() fixedImages {
	s := func(v string) *string { return &v }
	n := func(v int64) *int64 { return &v }
	at := time.Date(2024, 3, 5, 7, 9, 11, 123456789, time.UTC)
	return fixedImages{
		{
			ID: "5c1a9f0e-full", Name: s("cirros <b>&</b>"), Status: imagestore.StatusActive, Visibility: imagestore.Public,
			Owner: s("p1"), Checksum: s("d41d8cd98f00b204e9800998ecf8427e"), OSHashAlgo: s("sha512"), OSHashValue: s("cf83e135"),
			Size: n(70000), VirtualSize: n(1 << 30), DiskFormat: s("qcow2"), ContainerFormat: s("bare"),
			MinDisk: 1, MinRAM: 64, Protected: true, Hidden: false,
			CreatedAt: at, UpdatedAt: at.Add(time.Hour).Truncate(time.Second),
			Tags:       []string{"t1", "t2"},
			Properties: map[string]string{"os_distro": "cirros", "owner": "p2", "Mixed_Case": "M", "bad name": "x", "empty": "", "html": "<a&b>"},
		},
		{ID: "queued-empty", Status: imagestore.StatusQueued, Visibility: imagestore.Shared},
	}
}

// TestImageViewsGolden pins every rendering of an image the server makes,
// byte for byte: the v2 JSON of one image and of a listing, the v1
// x-image-meta-* headers, and the policy target (the mashup).
// OSLOREGO_UPDATE_GOLDEN=1 rewrites testdata/views.
func TestImageViewsGolden(t *testing.T) {
	imgs := viewImages()
	srv, err := server.New(server.Config{
		Images: imgs, Policy: glancePolicy(t),
		Auth: fixedAuth{auth.Identity{UserID: "u1", ProjectID: "p9", Roles: []string{"admin"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	get := func(method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, hs.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	body := func(resp *http.Response) []byte {
		t.Helper()
		defer resp.Body.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", resp.Request.URL, resp.StatusCode, b.Bytes())
		}
		return b.Bytes()
	}
	got := map[string][]byte{"v2-list.json": body(get("GET", "/v2/images?visibility=all"))}
	for _, img := range imgs {
		got["v2-"+img.ID+".json"] = body(get("GET", "/v2/images/"+img.ID))
		resp := get("HEAD", "/v1/images/"+img.ID)
		body(resp)
		var lines []string
		for k, vs := range resp.Header {
			if strings.HasPrefix(k, "X-Image-Meta-") || k == "Etag" {
				lines = append(lines, fmt.Sprintf("%s: %q", k, vs))
			}
		}
		sort.Strings(lines)
		got["v1-"+img.ID+".txt"] = []byte(strings.Join(lines, "\n") + "\n")
		for _, caller := range []string{"p1", "p9"} {
			b, err := json.MarshalIndent(img.Target(caller), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got["target-"+img.ID+"-"+caller+".json"] = append(b, '\n')
		}
	}
	for name, b := range got {
		compareGolden(t, filepath.Join("testdata", "views", name), b)
	}
}

// compareGolden compares got with the golden file path, or rewrites it
// under OSLOREGO_UPDATE_GOLDEN=1.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if os.Getenv("OSLOREGO_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (OSLOREGO_UPDATE_GOLDEN=1 writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}
