package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// listNames lists path as hdr and returns the images' names in order, or
// fails unless the status is 200.
func listNames(t *testing.T, h *harness, path string, hdr map[string]string) []string {
	t.Helper()
	r := h.do("GET", path, hdr)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var body struct {
		Images []struct{ Name *string } `json:"images"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, r.Body)
	}
	names := []string{}
	for _, img := range body.Images {
		if img.Name == nil {
			names = append(names, "<none>")
			continue
		}
		names = append(names, *img.Name)
	}
	return names
}

// v1Fixture is a store seen through Glance v1's listing: p1's member is
// the caller.
func v1Fixture(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, glancePolicy(t), nil)
	ctx := t.Context()
	mk := func(data []byte, o imagestore.ImportOptions) imagestore.Image {
		if o.Owner == nil {
			o.Owner = sp(p1)
		}
		return h.image(data, o)
	}
	mk([]byte("0123456789"), imagestore.ImportOptions{Name: "cirros", Visibility: imagestore.Private, DiskFormat: "qcow2", MinRAM: 64,
		Properties: map[string]string{"os_distro": "cirros"}})
	mk([]byte("0123"), imagestore.ImportOptions{Name: "debian", Visibility: imagestore.Public, Protected: true,
		Properties: map[string]string{"os_distro": "debian"}})
	mk([]byte("01234567"), imagestore.ImportOptions{Name: "hidden", Visibility: imagestore.Public, Hidden: true})
	pending := mk([]byte("01"), imagestore.ImportOptions{Name: "pending", Owner: sp(p2), Visibility: imagestore.Shared, ContainerFormat: "ovf"})
	if err := h.store.AddMember(ctx, pending.ID, p1, "pending"); err != nil {
		t.Fatal(err)
	}
	mk(nil, imagestore.ImportOptions{Name: "queued", Visibility: imagestore.Shared})
	mk([]byte("x"), imagestore.ImportOptions{Name: "theirs", Owner: sp(p2), Visibility: imagestore.Private})
	mk([]byte("xy"), imagestore.ImportOptions{Name: "community", Owner: sp(p2), Visibility: imagestore.Community})
	return h
}

// GET /v1/images and /v1/images/detail list as Glance v1 did (newest
// first; hidden images and shared ones of any membership status; not
// others' community images), with its filters, sort, limit and marker,
// and its 400s.
func TestV1Listing(t *testing.T) {
	h := v1Fixture(t)
	m1 := tok(h.token(p1, "member", "reader"))
	admin := tok(h.token("p9", "admin"))
	for _, c := range []struct {
		query string
		hdr   map[string]string
		want  string
	}{
		{"", m1, "queued pending hidden debian cirros"},
		{"name=cirros", m1, "cirros"},
		{"name=in:cirros,debian", m1, "debian cirros"},
		{"status=queued", m1, "queued"},
		{"container_format=ovf", m1, "pending"},
		{"disk_format=qcow2", m1, "cirros"},
		{"size_min=4&size_max=8", m1, "hidden debian"},
		{"min_ram=64", m1, "cirros"},
		{"property-os_distro=debian", m1, "debian"},
		{"property-os_distro=nope", m1, ""},
		{"protected=1", m1, "debian"},
		{"protected=FALSE", m1, "queued pending hidden cirros"},
		{"is_public=false", m1, "queued pending hidden debian cirros"}, // ignored for non-admins
		{"os_hidden=false&visibility=public&tag=x", m1, "queued pending hidden debian cirros"},
		{"sort_key=name&sort_dir=asc", m1, "cirros debian hidden pending queued"},
		{"sort_key=size&sort_dir=asc", m1, "queued pending debian hidden cirros"},
		{"limit=2", m1, "queued pending"},
		{"limit=0", m1, ""},
		{"", admin, "hidden debian"}, // is_public defaults to true: an admin lists as a user
		{"is_public=none", admin, "theirs queued pending hidden debian cirros"},
		{"is_public=False", admin, "theirs queued pending cirros"},
		{"is_public=true", admin, "hidden debian"},
	} {
		for _, path := range []string{"/v1/images/detail", "/v1/images"} {
			got := strings.Join(listNames(t, h, path+"?"+c.query, c.hdr), " ")
			if got != c.want {
				t.Errorf("GET %s?%s: %q, want %q", path, c.query, got, c.want)
			}
		}
	}
	for _, c := range []struct{ query, msg string }{
		{"size_min=x", "Bad value passed to filter size_min got x"},
		{"min_ram=-1", "Bad value passed to filter min_ram got -1"},
		{"protected=maybe", "Bad value passed to filter protected got maybe"},
		{"protected=none", "protected must be True, or False"},
		{"is_public=nope", "Bad value passed to filter is_public got nope"},
		{"changes-since=yesterday", "Unrecognized changes-since value"},
		{"limit=x", "limit param must be an integer"},
		{"limit=-1", "limit param must be positive"},
		{"sort_key=owner", "Unsupported sort_key. Acceptable values: name, status, container_format, disk_format, size, id, created_at, updated_at"},
		{"sort_dir=up", "Unsupported sort_dir. Acceptable values: asc, desc"},
		{"marker=nope", "Invalid marker format"},
		{"marker=00000000-0000-0000-0000-000000000000", "Invalid marker. Image could not be found."},
		{"name=foo:bar", "Unable to filter by unknown operator 'foo'."},
		{"size_min=x&limit=x&sort_key=x", "Bad value passed to filter size_min got x"},
		{"limit=x&sort_key=x", "limit param must be an integer"},
	} {
		r := h.do("GET", "/v1/images/detail?"+c.query, m1)
		var e errorJSON
		if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != 400 || e.Error.Message != "400 Bad Request: "+c.msg {
			t.Errorf("%s: %d %s, want 400 %q", c.query, r.Status, r.Body, c.msg)
		}
	}
	// Another project's private image as a marker is as unknown as an
	// image that does not exist.
	theirs := h.do("GET", "/v1/images/detail?is_public=none", admin)
	var all struct{ Images []map[string]any }
	if err := json.Unmarshal(theirs.Body, &all); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/v1/images/detail?marker="+all.Images[0]["id"].(string), m1)
	if r.Status != 400 || !strings.Contains(string(r.Body), "Invalid marker. Image could not be found.") {
		t.Errorf("hidden marker: %d %s", r.Status, r.Body)
	}
	// changes-since lists the live images changed since then (Glance's
	// deleted ones too).
	h.image(digits, imagestore.ImportOptions{Name: "gone", Owner: sp(p1), ID: "33333333-0000-4000-8000-000000000001"})
	if err := h.store.Delete(t.Context(), "33333333-0000-4000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, h, "/v1/images/detail?changes-since=2000-01-01T00:00:00Z&sort_key=name", m1); strings.Join(got, " ") != "queued pending hidden debian cirros" {
		t.Errorf("changes-since: %v", got)
	}
	if got := listNames(t, h, "/v1/images/detail?changes-since=2999-01-01", m1); len(got) != 0 {
		t.Errorf("changes-since in the future: %v", got)
	}
	r = h.do("HEAD", "/v1/images/detail", m1)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
		t.Errorf("HEAD detail: %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r := h.do("GET", "/v1/images/detail", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}
}

type errorJSON struct {
	Error struct{ Message string }
}

// What glanceclient's v1 image-list does: pages of /v1/images/detail
// with the last id as marker, until a short page. Every image comes once.
func TestV1ListingPages(t *testing.T) {
	h := v1Fixture(t)
	m1 := tok(h.token(p1, "member", "reader"))
	var seen []string
	marker := ""
	for range 10 {
		r := h.do("GET", "/v1/images/detail?limit=2&sort_key=name&sort_dir=asc"+marker, m1)
		var page struct{ Images []struct{ ID, Name string } }
		if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		for _, img := range page.Images {
			seen = append(seen, img.Name)
		}
		if len(page.Images) < 2 {
			break
		}
		marker = "&marker=" + page.Images[len(page.Images)-1].ID
	}
	if got := strings.Join(seen, " "); got != "cirros debian hidden pending queued" {
		t.Errorf("pages: %s", got)
	}
}

// The v1 detail JSON is the registry's image: every v1 attribute, times
// as the registry wrote them, is_public, deleted, and the properties the
// caller may read; the summary has the six index fields. No location and
// no store, ever.
func TestV1ListingShapes(t *testing.T) {
	h := newHarness(t, dirPolicy(t, map[string]string{
		"policy.yaml":                     readTestdata(t, "glance-peer/policy-propprot.yaml"),
		"property-protections-roles.conf": readTestdata(t, "glance-peer/property-protections-roles.conf"),
	}), nil)
	img := h.image(digits, imagestore.ImportOptions{Name: "cirros", Owner: sp(p1), Visibility: imagestore.Public,
		Properties: map[string]string{"secret_key": "s", "os_distro": "cirros"}})
	mm1 := tok(h.token(p1, "_member_"))
	var detail struct{ Images []map[string]any }
	if err := json.Unmarshal(h.do("GET", "/v1/images/detail", mm1).Body, &detail); err != nil || len(detail.Images) != 1 {
		t.Fatalf("%v %v", err, detail)
	}
	got := detail.Images[0]
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := "checksum container_format created_at deleted deleted_at disk_format id is_public min_disk min_ram name owner properties protected size status updated_at virtual_size"
	if strings.Join(keys, " ") != want {
		t.Errorf("detail keys: %s\nwant %s", strings.Join(keys, " "), want)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)
	if !stamp.MatchString(got["created_at"].(string)) || !stamp.MatchString(got["updated_at"].(string)) {
		t.Errorf("times: %v %v", got["created_at"], got["updated_at"])
	}
	if got["id"] != img.ID || got["is_public"] != true || got["deleted"] != false || got["deleted_at"] != nil ||
		got["size"] != float64(10) || got["checksum"] != md5hex(digits) || got["owner"] != p1 {
		t.Errorf("detail: %v", got)
	}
	if props := got["properties"].(map[string]any); len(props) != 1 || props["os_distro"] != "cirros" {
		t.Errorf("properties for _member_ (secret_key is admin-only): %v", props)
	}
	var index struct{ Images []map[string]any }
	if err := json.Unmarshal(h.do("GET", "/v1/images", mm1).Body, &index); err != nil || len(index.Images) != 1 {
		t.Fatalf("%v %v", err, index)
	}
	keys = nil
	for k := range index.Images[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, " ") != "checksum container_format disk_format id name size" {
		t.Errorf("index keys: %v", keys)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A filter on a property the caller may not read matches no image, in
// v2 and v1: Glance filters on it, which tells its values to a caller
// who may not read them.
func TestListingFiltersOnlyReadableProperties(t *testing.T) {
	h := newHarness(t, dirPolicy(t, map[string]string{
		"policy.yaml":                     readTestdata(t, "glance-peer/policy-propprot.yaml"),
		"property-protections-roles.conf": readTestdata(t, "glance-peer/property-protections-roles.conf"),
	}), nil)
	h.image(digits, imagestore.ImportOptions{Name: "secret", Owner: sp(p1), Properties: map[string]string{"secret_key": "s", "os_distro": "x"}})
	mm1, a1 := tok(h.token(p1, "_member_")), tok(h.token(p1, "admin"))
	for _, c := range []struct {
		path string
		hdr  map[string]string
		want []string
	}{
		{"/v2/images?secret_key=s", a1, []string{"secret"}},
		{"/v2/images?secret_key=s", mm1, []string{}},
		{"/v2/images?secret_key=wrong", mm1, []string{}},
		{"/v2/images?os_distro=x", mm1, []string{"secret"}},
		{"/v1/images/detail?property-secret_key=s", a1, []string{"secret"}},
		{"/v1/images/detail?property-secret_key=s", mm1, []string{}},
		{"/v1/images/detail?property-os_distro=x", mm1, []string{"secret"}},
	} {
		if got := listNames(t, h, c.path, c.hdr); !slices.Equal(got, c.want) {
			t.Errorf("GET %s: %v, want %v", c.path, got, c.want)
		}
	}
}

// Filtered, sorted and paged, the v2 listing still validates against the
// images schema we serve, and so does every image in it.
func TestFilteredListingValidates(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member", "reader"))
	for i, name := range []string{"a", "b", "c"} {
		h.image(bytes.Repeat([]byte("x"), i+1), imagestore.ImportOptions{Name: name, Owner: sp(p1), Tags: []string{"t"},
			Properties: map[string]string{"os_distro": "d"}})
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(h.do("GET", "/v2/schemas/images", member).Body))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource("images.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("images.json")
	if err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/v2/images?tag=t&os_distro=d&sort=name:asc&limit=2&size_min=1", member)
	page, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(page); err != nil {
		t.Errorf("page does not validate: %v\n%s", err, r.Body)
	}
	var body struct {
		Images      []struct{ Name string }
		First, Next string
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Images) != 2 || body.Images[0].Name != "a" || !strings.Contains(body.Next, "tag=t") || !strings.Contains(body.Next, "marker=") {
		t.Errorf("page: %s", r.Body)
	}
}

// get_images is decided before the query is read, and the images listed
// are not filtered through get_image one by one (Glance's listing is).
func TestListingPolicyOrder(t *testing.T) {
	for _, c := range []struct {
		policy, path string
		status       int
		names        []string
	}{
		{`"get_images": "!"`, "/v2/images?limit=x", http.StatusForbidden, nil},
		{`"get_images": "!"`, "/v1/images/detail?limit=x", http.StatusForbidden, nil},
		{`"get_image": "role:admin"`, "/v2/images", http.StatusOK, []string{"mine"}},
	} {
		h := newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": c.policy + "\n"}), nil)
		h.image(digits, imagestore.ImportOptions{Name: "mine", Owner: sp(p1)})
		member := tok(h.token(p1, "member", "reader"))
		if c.names != nil {
			if got := listNames(t, h, c.path, member); !slices.Equal(got, c.names) {
				t.Errorf("%s, %s: %v, want %v", c.policy, c.path, got, c.names)
			}
			continue
		}
		if r := h.do("GET", c.path, member); r.Status != c.status {
			t.Errorf("%s, %s: %d %s, want %d", c.policy, c.path, r.Status, r.Body, c.status)
		}
	}
}

// countingImages counts the store calls a request makes.
type countingImages struct {
	*imagestore.Store
	calls *atomic.Int64
}

func (c countingImages) Get(ctx context.Context, id string) (imagestore.Image, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, id)
}

func (c countingImages) IsMember(ctx context.Context, image, project string) (bool, error) {
	c.calls.Add(1)
	return c.Store.IsMember(ctx, image, project)
}

func (c countingImages) Members(ctx context.Context, image string) ([]imagestore.Member, error) {
	c.calls.Add(1)
	return c.Store.Members(ctx, image)
}

func (c countingImages) List(ctx context.Context) ([]imagestore.Image, error) {
	c.calls.Add(1)
	return c.Store.List(ctx)
}

func (c countingImages) ListPage(ctx context.Context, o imagestore.ListOptions) ([]imagestore.Image, error) {
	c.calls.Add(1)
	return c.Store.ListPage(ctx, o)
}

// A listing asks the store a fixed number of times however many shared
// images the caller is a member of (the store answers a page in two
// statements: imagestore/TestListPageStatementsDoNotGrow).
func TestListingStoreCallsDoNotGrow(t *testing.T) {
	calls := func(shared int) int64 {
		var n atomic.Int64
		h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) {
			c.Images = countingImages{c.Images.(*imagestore.Store), &n}
		})
		var last string
		for range shared {
			img := h.image(digits, imagestore.ImportOptions{Owner: sp(p2), Visibility: imagestore.Shared})
			if err := h.store.AddMember(t.Context(), img.ID, p1, "accepted"); err != nil {
				t.Fatal(err)
			}
			last = img.ID
		}
		member := tok(h.token(p1, "member", "reader"))
		n.Store(0)
		r := h.do("GET", "/v2/images?limit=1000&marker="+last, member)
		if r.Status != 200 || strings.Count(string(r.Body), `"visibility": "shared"`)+strings.Count(string(r.Body), `"visibility":"shared"`) != shared-1 {
			t.Fatalf("%d shared: %d %.300s", shared, r.Status, r.Body)
		}
		return n.Load()
	}
	few, many := calls(3), calls(40)
	if few != many || many > 3 {
		t.Errorf("store calls for one listing: %d with 3 shared images, %d with 40; want the same, at most 3 (marker lookup and page)", few, many)
	}
}

// BenchmarkListing is one GET /v2/images (the first page of 25, and a
// page filtered by a tag) over 1,000 images, half of them shared with the
// caller's project.
func BenchmarkListing(b *testing.B) {
	h := newHarness(b, glancePolicy(b), nil)
	for i := range 1000 {
		owner, vis := p1, imagestore.Private
		if i%2 == 0 {
			owner, vis = p2, imagestore.Shared
		}
		img, err := h.store.Create(b.Context(), imagestore.ImportOptions{Owner: sp(owner), Visibility: vis,
			Tags: []string{[]string{"a", "b", "c"}[i%3]}, Properties: map[string]string{"os_distro": "x"}})
		if err != nil {
			b.Fatal(err)
		}
		if vis == imagestore.Shared {
			if err := h.store.AddMember(b.Context(), img.ID, p1, "accepted"); err != nil {
				b.Fatal(err)
			}
		}
	}
	member := tok(h.token(p1, "member", "reader"))
	for _, query := range []string{"", "?tag=b&sort=name:asc"} {
		b.Run("query="+query, func(b *testing.B) {
			for b.Loop() {
				if r := h.do("GET", "/v2/images"+query, member); r.Status != 200 {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
		})
	}
}
