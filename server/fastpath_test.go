package server_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/oslorego/oslorego/imagestore"
)

// Repeated downloads of a small image come from memory (its record and
// its data), yet every change another process makes to the image is in
// the very next answer: visibility both ways, deactivation, deletion.
// The bytes metric counts each body once.
func TestRepeatedDownloadsFollowTheStore(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	owner, other := tok(h.token(p1, "member")), tok(h.token(p2, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	path := "/v2/images/" + img.ID + "/file"
	// Another process: a Store of its own on the same directory, as an
	// `oslorego image` command.
	cli, err := imagestore.Open(context.Background(), h.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	step := func(name string, hdr map[string]string, status int, body []byte) {
		t.Helper()
		for range 2 { // the second from memory
			r := h.do("GET", path, hdr)
			if r.Status != status || (body != nil && !bytes.Equal(r.Body, body)) {
				t.Errorf("%s: %d %q, want %d %q", name, r.Status, r.Body, status, body)
			}
		}
	}
	step("owner", owner, 200, digits)
	step("other project, private", other, 404, nil)
	if err := cli.SetVisibility(ctx, img.ID, imagestore.Public); err != nil {
		t.Fatal(err)
	}
	step("other project, public", other, 200, digits)
	if r := h.do("GET", path, with(other, "Range", "bytes=2-4")); r.Status != 206 || string(r.Body) != "234" {
		t.Errorf("range from memory: %d %q", r.Status, r.Body)
	}
	if err := cli.SetVisibility(ctx, img.ID, imagestore.Private); err != nil {
		t.Fatal(err)
	}
	step("other project, private again", other, 404, nil)
	if err := cli.SetStatus(ctx, img.ID, imagestore.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	step("owner, deactivated", owner, 403, nil)
	if err := cli.Delete(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	step("owner, deleted", owner, 404, nil)

	// Four whole bodies and one range of 3 bytes.
	want := fmt.Sprintf(`oslorego_image_bytes_served_total{route="/v2/images/:id/file"} %d`, 4*len(digits)+3)
	mustContain(t, string(h.do("GET", "/metrics", nil).Body), want)
}
