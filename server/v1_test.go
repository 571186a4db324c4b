package server_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/oslorego/oslorego/imagestore"
)

// rawProperties writes custom properties straight into the store's
// database, bypassing the store's checks, as an older store wrote them.
func rawProperties(t *testing.T, dataDir, id string, props map[string]string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "images.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for k, v := range props {
		if _, err := db.Exec("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", id, k, v); err != nil {
			t.Fatal(err)
		}
	}
}

// The target is the whole mashup: a property the caller may not read is
// still in it (Glance v2 drops it and fails open), and a core property
// wins over a custom one of the same name.
func TestMashupTarget(t *testing.T) {
	h := newHarness(t, dirPolicy(t, map[string]string{
		"policy.yaml": `
"context_is_admin": "role:admin"
"restricted": "not ('s':%(secret_key)s and role:_member_)"
"download_image": "role:admin or (rule:restricted and project_id:%(owner)s)"
`,
		"property-protections-roles.conf": `
[^secret_key$]
create = admin
read = admin
update = admin
delete = admin

[.*]
create = admin,member,_member_
read = admin,member,_member_
update = admin,member,_member_
delete = admin,member,_member_
`,
	}), nil)
	secret := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Public,
		Properties: map[string]string{"secret_key": "s", "os_distro": "cirros"}})
	// A custom "owner" must not override the core owner. The store refuses
	// such names now, so they are written as an older store may hold them.
	spoof := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Public})
	spoofProps := map[string]string{"owner": p2, "project_id": p2}
	rawProperties(t, h.dataDir, spoof.ID, spoofProps)
	spoof.Properties = spoofProps
	if m := spoof.Target(p2); m["owner"] != p1 || m["project_id"] != p1 {
		t.Errorf("mashup owner %v project_id %v, want the core %s", m["owner"], m["project_id"], p1)
	}
	mm := tok(h.token(p1, "_member_"))
	m2 := tok(h.token(p2, "member"))
	admin := tok(h.token(p2, "admin"))

	for _, path := range []string{"/v2/images/" + secret.ID + "/file", "/v1/images/" + secret.ID} {
		if r := h.do("GET", path, mm); r.Status != 403 {
			t.Errorf("_member_ %s: %d, want 403 (unreadable marker still restricts)", path, r.Status)
		}
		if r := h.do("GET", path, admin); r.Status != 200 {
			t.Errorf("admin %s: %d", path, r.Status)
		}
	}
	for _, path := range []string{"/v2/images/" + spoof.ID + "/file", "/v1/images/" + spoof.ID} {
		if r := h.do("GET", path, m2); r.Status != 403 {
			t.Errorf("p2 member %s: %d, want 403 (core owner wins)", path, r.Status)
		}
	}
	if r := h.do("HEAD", "/v1/images/"+spoof.ID, admin); r.Header.Get("X-Image-Meta-Property-Owner") != "" || r.Header.Get("X-Image-Meta-Owner") != p1 {
		t.Errorf("v1 headers of a stored reserved property: %v", r.Header)
	}

	// What the caller sees is filtered by read protection.
	r := h.do("HEAD", "/v1/images/"+secret.ID, mm)
	if r.Status != 200 {
		t.Fatalf("HEAD v1 _member_: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("X-Image-Meta-Property-Os_distro") != "cirros" || r.Header.Get("X-Image-Meta-Property-Secret_key") != "" {
		t.Errorf("_member_ v1 property headers: %v", r.Header)
	}
	r = h.do("HEAD", "/v1/images/"+secret.ID, admin)
	if r.Header.Get("X-Image-Meta-Property-Secret_key") != "s" {
		t.Errorf("admin v1 property headers: %v", r.Header)
	}
	v := h.do("GET", "/v2/images/"+secret.ID, mm).json(t)
	if _, ok := v["secret_key"]; ok || v["os_distro"] != "cirros" {
		t.Errorf("_member_ v2 image: %v", v)
	}
	if v := h.do("GET", "/v2/images/"+secret.ID, admin).json(t); v["secret_key"] != "s" {
		t.Errorf("admin v2 image: %v", v)
	}
}

// v1: GET serves active images with x-image-meta-* headers and refuses the
// rest; HEAD answers for any status and sends no body. No location, ever.
func TestV1(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member", "reader"))
	admin := tok(h.token(p1, "admin"))
	img := h.image(digits, imagestore.ImportOptions{Name: "cirros", Owner: sp(p1), Visibility: imagestore.Public,
		Properties: map[string]string{"Os_Distro": "cirros"}})
	queued := h.image(nil, imagestore.ImportOptions{Name: "q", Owner: sp(p1)})
	deact := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	if err := h.store.SetStatus(t.Context(), deact.ID, imagestore.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/v1/images/"+img.ID, member)
	if r.Status != 200 || string(r.Body) != "0123456789" {
		t.Fatalf("GET: %d %q", r.Status, r.Body)
	}
	want := map[string]string{
		"Content-Type":                    "application/octet-stream",
		"Content-Length":                  "10",
		"Etag":                            md5hex(digits),
		"X-Image-Meta-Id":                 img.ID,
		"X-Image-Meta-Name":               "cirros",
		"X-Image-Meta-Status":             "active",
		"X-Image-Meta-Size":               "10",
		"X-Image-Meta-Is_public":          "True",
		"X-Image-Meta-Owner":              p1,
		"X-Image-Meta-Checksum":           md5hex(digits),
		"X-Image-Meta-Protected":          "False",
		"X-Image-Meta-Deleted":            "False",
		"X-Image-Meta-Disk_format":        "raw",
		"X-Image-Meta-Container_format":   "bare",
		"X-Image-Meta-Property-Os_distro": "cirros",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	for k := range r.Header {
		if k == "X-Image-Meta-Location" || k == "Location" {
			t.Errorf("location exposed: %s", k)
		}
	}
	hr := h.do("HEAD", "/v1/images/"+img.ID, member)
	if hr.Status != 200 || len(hr.Body) != 0 || hr.Header.Get("X-Image-Meta-Id") != img.ID || hr.Header.Get("Content-Length") != "10" {
		t.Errorf("HEAD: %d %v", hr.Status, hr.Header)
	}
	cases := []struct {
		method, id string
		hdr        map[string]string
		status     int
	}{
		{"GET", queued.ID, member, 404},
		{"HEAD", queued.ID, member, 200},
		{"GET", deact.ID, member, 403},
		{"GET", deact.ID, admin, 403}, // v1 refuses admins too
		{"HEAD", deact.ID, member, 200},
		{"GET", "nope", member, 404},
		{"HEAD", "nope", member, 404},
		{"GET", img.ID, nil, 401},
		{"HEAD", img.ID, nil, 401},
	}
	for _, c := range cases {
		if r := h.do(c.method, "/v1/images/"+c.id, c.hdr); r.Status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.id, r.Status, c.status)
		}
	}
}

// Visibility is Glance's: any member row makes a shared image visible by
// id; listings count only accepted members and leave community out.
func TestVisibilityAndListing(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	ctx := t.Context()
	owner := tok(h.token(p1, "member", "reader"))
	m2 := tok(h.token(p2, "member", "reader"))
	admin := tok(h.token("p9", "admin"))
	mk := func(name, vis string) imagestore.Image {
		return h.image(digits, imagestore.ImportOptions{Name: name, Owner: sp(p1), Visibility: vis})
	}
	priv, shared, comm, pub := mk("priv", imagestore.Private), mk("shared", imagestore.Shared), mk("comm", imagestore.Community), mk("pub", imagestore.Public)
	file := func(img imagestore.Image) string { return "/v2/images/" + img.ID + "/file" }
	list := func(hdr map[string]string, query string) []string {
		t.Helper()
		r := h.do("GET", "/v2/images"+query, hdr)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var names []string
		for _, i := range r.json(t)["images"].([]any) {
			names = append(names, i.(map[string]any)["name"].(string))
		}
		return names
	}
	expect := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("%s: %v, want %v", what, got, want)
			}
		}
	}
	for img, st := range map[*imagestore.Image]int{&priv: 404, &shared: 404, &comm: 200, &pub: 200} {
		if r := h.do("GET", file(*img), m2); r.Status != st {
			t.Errorf("p2 %s: %d, want %d", *img.Name, r.Status, st)
		}
	}
	expect("p2 list", list(m2, ""), "pub")
	expect("p2 list community", list(m2, "?visibility=community"), "comm")
	expect("owner list", list(owner, ""), "priv", "shared", "comm", "pub")
	// As Glance: another project's community images only when asked for,
	// admins included.
	expect("admin list", list(admin, ""), "priv", "shared", "pub")
	expect("admin list community", list(admin, "?visibility=community"), "comm")
	for _, status := range []string{"pending", "rejected", "accepted"} {
		if err := h.store.AddMember(ctx, shared.ID, p2, status); err != nil {
			t.Fatal(err)
		}
		if r := h.do("GET", file(shared), m2); r.Status != 200 {
			t.Errorf("shared, %s member: %d", status, r.Status)
		}
		if r := h.do("GET", "/v2/images/"+shared.ID, m2); r.Status != 200 {
			t.Errorf("shared, %s member, show: %d", status, r.Status)
		}
	}
	expect("p2 list, accepted", list(m2, ""), "pub", "shared")
	if err := h.store.AddMember(ctx, priv.ID, p2, "accepted"); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", file(priv), m2); r.Status != 404 {
		t.Errorf("private with a member row: %d", r.Status)
	}
	if r := h.do("GET", "/v2/images?visibility=bogus", m2); r.Status != 400 {
		t.Errorf("bad visibility filter: %d", r.Status)
	}
	hidden := h.image(digits, imagestore.ImportOptions{Name: "hidden", Owner: sp(p1), Visibility: imagestore.Public, Hidden: true})
	expect("owner list, hidden left out", list(owner, ""), "priv", "shared", "comm", "pub")
	expect("owner list, os_hidden=true", list(owner, "?os_hidden=true"), "hidden")
	if r := h.do("GET", file(hidden), m2); r.Status != 200 {
		t.Errorf("a hidden public image by id: %d", r.Status)
	}
	page := h.do("GET", "/v2/images?limit=2", owner).json(t)
	if n := len(page["images"].([]any)); n != 2 || page["next"] == nil {
		t.Errorf("limit=2: %d images, next %v", n, page["next"])
	}
	// The image JSON never carries a location.
	v := h.do("GET", "/v2/images/"+pub.ID, m2).json(t)
	for _, k := range []string{"locations", "direct_url"} {
		if _, ok := v[k]; ok {
			t.Errorf("image JSON has %s", k)
		}
	}
	if v["checksum"] != md5hex(digits) || v["size"] != float64(10) || v["file"] != "/v2/images/"+pub.ID+"/file" {
		t.Errorf("image JSON: %v", v)
	}
}
