package imagestore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func viewImage() Image {
	s := func(v string) *string { return &v }
	n := func(v int64) *int64 { return &v }
	at := time.Date(2024, 3, 5, 7, 9, 11, 123456789, time.UTC)
	return Image{
		ID: "img", Name: s("n"), Status: StatusActive, Visibility: Shared, Owner: s("p1"),
		Checksum: s("c"), OSHashAlgo: s("sha512"), OSHashValue: s("h"), Size: n(3), VirtualSize: n(4),
		DiskFormat: s("raw"), ContainerFormat: s("bare"), MinDisk: 1, MinRAM: 2, Protected: true, Hidden: true,
		CreatedAt: at, UpdatedAt: at, Tags: []string{"t"},
		Properties: map[string]string{"owner": "spoof", "id": "spoof", "self": "spoof", "os_distro": "cirros"},
	}
}

// TestViewsShowEveryCoreAttribute: every view is a view of Core, so an
// attribute added there shows in each view that Glance shows it in.
func TestViewsShowEveryCoreAttribute(t *testing.T) {
	img := viewImage()
	core := img.Core()
	if len(core) < 19 {
		t.Fatalf("Core has %d attributes", len(core))
	}
	v2, target, v1 := img.V2(img.Properties), img.Target("p2"), img.V1Headers(nil)
	var v1JSON map[string]any
	if b, err := json.Marshal(img.V1(map[string]string{"os_distro": "cirros"})); err != nil || json.Unmarshal(b, &v1JSON) != nil {
		t.Fatalf("V1: %s %v", b, err)
	}
	var record []string
	b, err := json.Marshal(img.Record(nil))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		record = append(record, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range core {
		if a.Value == nil {
			t.Errorf("%s is None in a full image", a.Name)
		}
		if _, ok := v2[a.Name]; !ok {
			t.Errorf("V2 lacks %s", a.Name)
		}
		if _, ok := target[a.Name]; !ok {
			t.Errorf("Target lacks %s", a.Name)
		}
		if i >= len(record) || record[i] != a.Name {
			t.Errorf("Record's member %d is not %s: %q", i, a.Name, record)
		}
		h := "X-Image-Meta-" + strings.ToUpper(a.Name[:1]) + a.Name[1:]
		if got := v1.Get(h); (got == "") != notInV1[a.Name] {
			t.Errorf("V1Headers %s = %q (Glance v1 has it: %v)", h, got, !notInV1[a.Name])
		}
		if _, ok := v1JSON[a.Name]; ok == notInV1[a.Name] {
			t.Errorf("V1 has %s: %v (Glance v1 has it: %v)", a.Name, ok, !notInV1[a.Name])
		}
	}
	for k, want := range map[string]any{"is_public": false, "deleted": false, "deleted_at": nil,
		"created_at": "2024-03-05T07:09:11.123456", "properties": map[string]any{"os_distro": "cirros"}} {
		if got, ok := v1JSON[k]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("V1 %s = %v, want %v", k, got, want)
		}
	}
	if len(v1JSON) != len(core)-len(notInV1)+4 {
		t.Errorf("V1 has %d members: %v", len(v1JSON), v1JSON)
	}
	var summary map[string]any
	if b, err := json.Marshal(img.V1Summary()); err != nil || json.Unmarshal(b, &summary) != nil || len(summary) != 6 ||
		summary["id"] != "img" || summary["size"] != float64(3) || summary["checksum"] != "c" {
		t.Errorf("V1Summary: %s %v", b, err)
	}
	if want := len(core) + 1; len(record) != want || record[len(core)] != "properties" {
		t.Errorf("Record members %q, want the core attributes and properties", record)
	}
}

// TestViewsCoreWins: a custom property never hides a core attribute or a
// link, in the v2 JSON and in the policy target.
func TestViewsCoreWins(t *testing.T) {
	img := viewImage()
	v2, target := img.V2(img.Properties), img.Target("p2")
	for k, want := range map[string]any{"owner": "p1", "id": "img", "self": "/v2/images/img", "os_distro": "cirros"} {
		if v2[k] != want {
			t.Errorf("V2[%s] = %v, want %v", k, v2[k], want)
		}
	}
	for k, want := range map[string]any{"owner": "p1", "project_id": "p1", "id": "img", "image_id": "img", "self": "spoof"} {
		if target[k] != want {
			t.Errorf("Target[%s] = %v, want %v", k, target[k], want)
		}
	}
	extra := map[string]any{"owner": "spoof", "id": "spoof", "self": "spoof", "os_distro": "cirros"}
	if !reflect.DeepEqual(target["extra_properties"], extra) {
		t.Errorf("extra_properties = %v, want every custom property", target["extra_properties"])
	}
	if v1 := img.V1Headers(map[string]string{"owner": "spoof"}); v1.Get("X-Image-Meta-Owner") != "p1" || v1.Get("X-Image-Meta-Property-Owner") != "spoof" {
		t.Errorf("V1Headers: owner %q, property owner %q", v1.Get("X-Image-Meta-Owner"), v1.Get("X-Image-Meta-Property-Owner"))
	}
}

// TestTargetMember: member/member_id are the caller's project only for a
// shared image the caller does not own, as Glance fills them.
func TestTargetMember(t *testing.T) {
	p1 := "p1"
	tests := []struct {
		name       string
		visibility string
		owner      *string
		caller     string
		want       any
	}{
		{"shared, someone else's", Shared, &p1, "p2", "p2"},
		{"shared, the caller's own", Shared, &p1, "p1", nil},
		{"shared, no owner", Shared, nil, "p2", "p2"},
		{"shared, no caller project", Shared, &p1, "", nil},
		{"public", Public, &p1, "p2", nil},
		{"private", Private, &p1, "p2", nil},
		{"community", Community, &p1, "p2", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := Image{ID: "i", Visibility: tc.visibility, Owner: tc.owner}.Target(tc.caller)
			if tg["member"] != tc.want || tg["member_id"] != tc.want {
				t.Errorf("member %v member_id %v, want %v", tg["member"], tg["member_id"], tc.want)
			}
		})
	}
}

// TestViewTimes: each view writes times as its Glance rendering does,
// and an unset (zero) time is None, or no header.
func TestViewTimes(t *testing.T) {
	tests := []struct {
		at             time.Time
		v2, target, v1 any
	}{
		{time.Date(2024, 3, 5, 7, 9, 11, 0, time.FixedZone("X", 3600)), "2024-03-05T06:09:11Z", "2024-03-05 06:09:11", "2024-03-05T06:09:11.000000"},
		{time.Date(2024, 3, 5, 7, 9, 11, 1500, time.UTC), "2024-03-05T07:09:11Z", "2024-03-05 07:09:11.000001", "2024-03-05T07:09:11.000001"},
		{time.Date(2024, 3, 5, 7, 9, 11, 999, time.UTC), "2024-03-05T07:09:11Z", "2024-03-05 07:09:11", "2024-03-05T07:09:11.000000"},
		{time.Time{}, nil, nil, ""},
	}
	for _, tc := range tests {
		img := Image{ID: "i", CreatedAt: tc.at}
		if got := img.V2(nil)["created_at"]; got != tc.v2 {
			t.Errorf("V2 of %v: %v, want %v", tc.at, got, tc.v2)
		}
		if got := img.Target("")["created_at"]; got != tc.target {
			t.Errorf("Target of %v: %v, want %v", tc.at, got, tc.target)
		}
		if got := img.V1Headers(nil).Get("X-Image-Meta-Created_at"); got != tc.v1 {
			t.Errorf("V1Headers of %v: %q, want %q", tc.at, got, tc.v1)
		}
	}
}

// TestV1PropertyHeaders: property names are lower-cased, names that
// cannot be a header name are left out, and of two names that lower-case
// alike the one sorted last wins.
func TestV1PropertyHeaders(t *testing.T) {
	h := Image{ID: "i"}.V1Headers(map[string]string{"OS_Distro": "A", "os_distro": "b", "bad name": "x", "a/b": "y", "é": "z", "ok": ""})
	var got []string
	for k, vs := range h {
		if strings.HasPrefix(k, "X-Image-Meta-Property-") {
			got = append(got, k+"="+strings.Join(vs, ","))
		}
	}
	want := map[string]bool{"X-Image-Meta-Property-Os_distro=b": true, "X-Image-Meta-Property-Ok=": true}
	if len(got) != len(want) {
		t.Fatalf("property headers %q, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("property header %q, want %v", g, want)
		}
	}
}

// TargetKeys gives each key exactly Target's value, and no key Target
// lacks: for every image shape, caller and single key.
func TestTargetKeysIsTargetRestricted(t *testing.T) {
	full := viewImage()
	bare := Image{ID: "bare", Status: StatusQueued, Visibility: Private}
	noOwner := viewImage()
	noOwner.Owner, noOwner.Properties, noOwner.Tags = nil, nil, nil
	for _, img := range []Image{full, bare, noOwner} {
		for _, caller := range []string{"", "p1", "p2"} {
			whole := img.Target(caller)
			keys := []string{"no_such_key", ""}
			for k := range whole {
				keys = append(keys, k)
			}
			if got := img.TargetKeys(caller, keys); !reflect.DeepEqual(got, whole) {
				t.Errorf("%s, caller %q: TargetKeys(all keys)\n%v\nTarget\n%v", img.ID, caller, got, whole)
			}
			for _, k := range keys {
				got := img.TargetKeys(caller, []string{k})
				want := map[string]any{}
				if v, ok := whole[k]; ok {
					want[k] = v
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, caller %q, key %q: %v, want %v", img.ID, caller, k, got, want)
				}
			}
		}
	}
}
