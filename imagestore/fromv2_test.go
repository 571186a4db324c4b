package imagestore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// decodeV2 is V2's JSON as a client decodes it.
func decodeV2(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFromV2RoundTrip: FromV2 reads back what V2 shows, so the gateway's
// target for an upstream image is the store's target for the same image
// (times to the second, as Glance's API shows them).
func TestFromV2RoundTrip(t *testing.T) {
	img := viewImage()
	delete(img.Properties, "owner") // core names: Glance refuses them as properties
	delete(img.Properties, "id")
	delete(img.Properties, "self")
	m := decodeV2(t, img.V2(img.Properties))
	m["locations"] = []any{map[string]any{"url": "file:///secret"}}
	m["direct_url"] = "file:///secret"
	m["stores"] = "a,b"
	got, err := FromV2(m)
	if err != nil {
		t.Fatal(err)
	}
	want := img
	want.CreatedAt = img.CreatedAt.Truncate(time.Second)
	want.UpdatedAt = img.UpdatedAt.Truncate(time.Second)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromV2(V2(img)):\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(got.Target("p2"), want.Target("p2")) {
		t.Errorf("targets differ")
	}

	// Nulls: an image without data.
	bare := Image{ID: "q", Status: StatusQueued, Visibility: Private, Tags: []string{}, Properties: map[string]string{}}
	got, err = FromV2(decodeV2(t, bare.V2(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, bare) {
		t.Errorf("queued image:\n got %+v\nwant %+v", got, bare)
	}
}

// TestFromV2Setters: every core attribute has a parser (one list, Core).
func TestFromV2Setters(t *testing.T) {
	var img Image
	set := img.setters()
	core := img.Core()
	if len(set) != len(core) {
		t.Errorf("%d setters for %d core attributes", len(set), len(core))
	}
	for _, a := range core {
		if set[a.Name] == nil {
			t.Errorf("no setter for %s", a.Name)
		}
	}
}

// TestFromV2Refuses: a target is never guessed from a malformed record.
func TestFromV2Refuses(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"id": "i", "status": "active", "visibility": "public", "min_disk": json.Number("0"),
			"min_ram": json.Number("0"), "protected": false, "os_hidden": false, "tags": []any{}}
	}
	if _, err := FromV2(base()); err != nil {
		t.Fatalf("base: %v", err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"no id":               func(m map[string]any) { delete(m, "id") },
		"no status":           func(m map[string]any) { delete(m, "status") },
		"number property":     func(m map[string]any) { m["x_billing_code_ntt"] = json.Number("1") },
		"null property":       func(m map[string]any) { m["x_billing_code_ntt"] = nil },
		"string size":         func(m map[string]any) { m["size"] = "3" },
		"fractional min_disk": func(m map[string]any) { m["min_disk"] = json.Number("1.5") },
		"bad time":            func(m map[string]any) { m["created_at"] = "yesterday" },
		"tag not a string":    func(m map[string]any) { m["tags"] = []any{json.Number("1")} },
		"owner a number":      func(m map[string]any) { m["owner"] = json.Number("1") },
	} {
		m := base()
		edit(m)
		if img, err := FromV2(m); err == nil {
			t.Errorf("%s: accepted as %+v", name, img)
		}
	}
}
