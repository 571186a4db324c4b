package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/imagestore"
)

const (
	p1 = "p1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	p2 = "p2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var digits = []byte("0123456789")

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// blueprintWant is the blueprint's matrix with the built-in bundle: the
// download status by caller (admin, member, reader, no role) and billing
// marker (restricted code present, absent, another code).
var blueprintWant = map[string]map[string]int{
	"admin":  {"present": 200, "absent": 200, "other": 200},
	"member": {"present": 403, "absent": 200, "other": 200},
	"reader": {"present": 403, "absent": 403, "other": 403},
	"none":   {"present": 403, "absent": 403, "other": 403},
}

// The blueprint's matrix over real HTTP, v2 and v1, with the built-in
// bundle: Glance's registered download rule (a member of the project) minus
// the restricted billing codes for everyone but admins. Reader and no-role
// tokens download nothing; an absent or other marker does not restrict.
func TestBlueprintMatrix(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	images := map[string]string{}
	for name, props := range map[string]map[string]string{
		"present": {"x_billing_code_ntt": "ntt_3251"},
		"absent":  {},
		"other":   {"x_billing_code_ntt": "ntt_0001"},
	} {
		images[name] = h.image(digits, imagestore.ImportOptions{Name: name, Owner: sp(p1), Visibility: imagestore.Private, Properties: props}).ID
	}
	roles := map[string][]string{
		"admin":  {"admin", "member", "reader"},
		"member": {"member", "reader"},
		"reader": {"reader"},
		"none":   nil,
	}
	want := blueprintWant
	for who, rs := range roles {
		token := h.token(p1, rs...)
		for img, status := range want[who] {
			for _, path := range []string{"/v2/images/%s/file", "/v1/images/%s"} {
				r := h.do("GET", fmt.Sprintf(path, images[img]), tok(token))
				if r.Status != status {
					t.Errorf("%s %s %s: status %d, want %d (%s)", who, img, path, r.Status, status, r.Body)
				}
				if status == 200 && !bytes.Equal(r.Body, digits) {
					t.Errorf("%s %s %s: body %q", who, img, path, r.Body)
				}
			}
		}
	}
}

// Every status of the v2 download route, in Glance's order: 401, 404,
// 403 deactivated, policy 403, 400/416 range, 204, 200/206.
func TestDownloadV2Statuses(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member", "reader"))
	admin := tok(h.token(p2, "admin"))
	other := tok(h.token(p2, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	restricted := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private, Properties: map[string]string{"x_billing_code_ntt": "ntt_3252"}})
	queued := h.image(nil, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	queuedRestricted := h.image(nil, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private, Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}})
	deact := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	if err := h.store.SetStatus(context.Background(), deact.ID, imagestore.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	deleted := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	if err := h.store.Delete(context.Background(), deleted.ID); err != nil {
		t.Fatal(err)
	}
	file := func(id string) string { return "/v2/images/" + id + "/file" }
	cases := []struct {
		name, path string
		hdr        map[string]string
		status     int
		body       string
		crange     string
	}{
		{"whole", file(img.ID), member, 200, "0123456789", ""},
		{"no token", file(img.ID), nil, 401, "", ""},
		{"bad token", file(img.ID), tok("osr_nope"), 401, "", ""},
		{"nonexistent", file("00000000-0000-0000-0000-000000000000"), member, 404, "", ""},
		{"overlong id", file(strings.Repeat("0", 37)), member, 404, "", ""},
		{"other project private", file(img.ID), other, 404, "", ""},
		{"admin other project", file(img.ID), admin, 200, "0123456789", ""},
		{"deleted", file(deleted.ID), member, 404, "", ""},
		{"deleted admin", file(deleted.ID), admin, 404, "", ""},
		{"deactivated member", file(deact.ID), member, 403, "", ""},
		{"deactivated admin", file(deact.ID), admin, 200, "0123456789", ""},
		{"restricted member", file(restricted.ID), member, 403, "", ""},
		{"restricted member range", file(restricted.ID), with(member, "Range", "bytes=0-1,3-4"), 403, "", ""},
		{"queued", file(queued.ID), member, 204, "", ""},
		{"queued range", file(queued.ID), with(member, "Range", "bytes=0-4"), 204, "", ""},
		{"queued restricted", file(queuedRestricted.ID), member, 403, "", ""},
		{"range 0-4", file(img.ID), with(member, "Range", "bytes=0-4"), 206, "01234", "bytes 0-4/10"},
		{"range 5-", file(img.ID), with(member, "Range", "bytes=5-"), 206, "56789", "bytes 5-9/10"},
		{"range -3", file(img.ID), with(member, "Range", "bytes=-3"), 206, "789", "bytes 7-9/10"},
		{"range -20", file(img.ID), with(member, "Range", "bytes=-20"), 206, "0123456789", "bytes 0-9/10"},
		{"range 3-100", file(img.ID), with(member, "Range", "bytes=3-100"), 206, "3456789", "bytes 3-9/10"},
		{"range 9-9", file(img.ID), with(member, "Range", "bytes=9-9"), 206, "9", "bytes 9-9/10"},
		{"range 10-", file(img.ID), with(member, "Range", "bytes=10-"), 416, "", ""},
		{"range multi", file(img.ID), with(member, "Range", "bytes=0-1,3-4"), 400, "", ""},
		{"range abc", file(img.ID), with(member, "Range", "bytes=abc"), 416, "", ""},
		{"range 4-2", file(img.ID), with(member, "Range", "bytes=4-2"), 416, "", ""},
		{"range items", file(img.ID), with(member, "Range", "items=0-1"), 416, "", ""},
		{"content-range 1-3/*", file(img.ID), with(member, "Content-Range", "bytes 1-3/*"), 206, "123", "bytes 1-3/10"},
		{"content-range 1-3/10", file(img.ID), with(member, "Content-Range", "bytes 1-3/10"), 206, "123", "bytes 1-3/10"},
		{"content-range 0-20/*", file(img.ID), with(member, "Content-Range", "bytes 0-20/*"), 416, "", ""},
		{"content-range 10-12/*", file(img.ID), with(member, "Content-Range", "bytes 10-12/*"), 416, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("GET", c.path, c.hdr)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if got := r.Header.Get("X-Openstack-Request-Id"); !strings.HasPrefix(got, "req-") {
				t.Errorf("X-Openstack-Request-Id %q", got)
			}
			switch {
			case c.status == 200 || c.status == 206:
				if string(r.Body) != c.body {
					t.Errorf("body %q, want %q", r.Body, c.body)
				}
				if got := r.Header.Get("Content-Type"); got != "application/octet-stream" {
					t.Errorf("Content-Type %q", got)
				}
				if got := r.Header.Get("Content-MD5"); got != md5hex(digits) {
					t.Errorf("Content-MD5 %q (the whole image's MD5 even on 206)", got)
				}
				if got := r.Header.Get("Content-Length"); got != fmt.Sprint(len(c.body)) {
					t.Errorf("Content-Length %q", got)
				}
				if got := r.Header.Get("Content-Range"); got != c.crange {
					t.Errorf("Content-Range %q, want %q", got, c.crange)
				}
			case c.status == 204:
				if len(r.Body) != 0 || r.Header.Get("Content-MD5") != "" {
					t.Errorf("204 with body %q / MD5 %q", r.Body, r.Header.Get("Content-MD5"))
				}
			default:
				v := r.json(t)
				e, _ := v["error"].(map[string]any)
				if e == nil || e["code"] != float64(c.status) || e["message"] == "" {
					t.Errorf("error body %s", r.Body)
				}
				if strings.Contains(string(r.Body), "/images/") || strings.Contains(string(r.Body), "file://") {
					t.Errorf("error body exposes a location: %s", r.Body)
				}
			}
		})
	}
}

// A policy refusal has one body, whatever the route or rule.
func TestForbiddenBodyIsAlwaysTheSame(t *testing.T) {
	h := newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": `
"download_image": "!"
"get_image": "!"
"get_images": "!"
`}), nil)
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	var bodies []string
	for _, rq := range [][2]string{
		{"GET", "/v2/images/" + img.ID + "/file"},
		{"GET", "/v2/images/" + img.ID},
		{"GET", "/v2/images"},
		{"GET", "/v1/images/" + img.ID},
	} {
		r := h.do(rq[0], rq[1], member)
		if r.Status != 403 {
			t.Fatalf("%v: %d %s", rq, r.Status, r.Body)
		}
		bodies = append(bodies, string(r.Body))
	}
	r := h.do("HEAD", "/v1/images/"+img.ID, member)
	if r.Status != 403 {
		t.Errorf("HEAD v1: %d", r.Status)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("refusal bodies differ: %q vs %q", b, bodies[0])
		}
	}
	mustContain(t, bodies[0], `"code": 403`)
}

// Methods a route does not have are 405; GET with a body is 400.
func TestMethodsAndBodies(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := h.token(p1, "member")
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	r := h.do("HEAD", "/v2/images/"+img.ID+"/file", tok(member))
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
		t.Errorf("HEAD /file: %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r := h.do("OPTIONS", "/v2/images/"+img.ID+"/file", nil); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS /file: %d", r.Status)
	}
	r = h.do("DELETE", "/v1/images/"+img.ID, tok(member))
	if r.Status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE v1: %d", r.Status)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/v2/images/"+img.ID+"/file", strings.NewReader("x"))
	req.Header.Set("X-Auth-Token", member)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("GET with a body: %d", resp.StatusCode)
	}
	if r := h.do("GET", "/v2/nope", nil); r.Status != 404 {
		t.Errorf("unknown path under /v2/: %d", r.Status)
	}
	// Outside /v2/, Glance's version negotiation answers the versions.
	if r := h.do("GET", "/nope", nil); r.Status != http.StatusMultipleChoices {
		t.Errorf("unknown path: %d", r.Status)
	}
}

// Bodies above the small-body buffer go out with sendfile: whole and in
// ranges, the bytes are the image's.
func TestLargeBodies(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	img := h.image(data, imagestore.ImportOptions{Owner: sp(p1)})
	path := "/v2/images/" + img.ID + "/file"
	if r := h.do("GET", path, member); r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Errorf("whole: %d, %d bytes", r.Status, len(r.Body))
	}
	for _, c := range []struct {
		rng         string
		first, last int
	}{{"bytes=100000-250000", 100000, 250000}, {"bytes=-70000", len(data) - 70000, len(data) - 1}, {"bytes=5-9", 5, 9}} {
		r := h.do("GET", path, with(member, "Range", c.rng))
		if r.Status != 206 || !bytes.Equal(r.Body, data[c.first:c.last+1]) {
			t.Errorf("%s: %d, %d bytes", c.rng, r.Status, len(r.Body))
		}
		if want := fmt.Sprintf("bytes %d-%d/%d", c.first, c.last, len(data)); r.Header.Get("Content-Range") != want {
			t.Errorf("%s: Content-Range %q, want %q", c.rng, r.Header.Get("Content-Range"), want)
		}
	}
	if r := h.do("GET", "/v1/images/"+img.ID, member); r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Errorf("v1: %d, %d bytes", r.Status, len(r.Body))
	}
}

// A data file that is not the size recorded at import is never served:
// 500, logged, and no byte of it sent.
func TestCorruptDataIsNotServed(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member"))
	img := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	if err := os.Truncate(filepath.Join(h.dataDir, "images", img.ID), 4); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2/images/" + img.ID + "/file", "/v1/images/" + img.ID} {
		r := h.do("GET", path, member)
		if r.Status != 500 || bytes.Contains(r.Body, []byte("0123")) {
			t.Errorf("%s: %d %q", path, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), h.dataDir) {
			t.Errorf("%s: the error names a file path: %s", path, r.Body)
		}
	}
	mustContain(t, h.logs.String(), "request failed")
}
