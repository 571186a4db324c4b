package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oslorego/oslorego/imagestore"
)

// TestImageJSONGolden pins the CLI's JSON of an image byte for byte: a
// full one with members (image show), and a list of a full and an empty
// one (image list --json). OSLOREGO_UPDATE_GOLDEN=1 rewrites testdata.
func TestImageJSONGolden(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int64) *int64 { return &v }
	at := time.Date(2024, 3, 5, 7, 9, 11, 123456789, time.FixedZone("X", 3600))
	full := imagestore.Image{
		ID: "img-1", Name: s("cirros <b>&</b>"), Status: imagestore.StatusActive, Visibility: imagestore.Shared,
		Owner: s("p1"), Checksum: s("d41d8cd98f00b204e9800998ecf8427e"), OSHashAlgo: s("sha512"), OSHashValue: s("cf83e135"),
		Size: n(70000), VirtualSize: n(1 << 30), DiskFormat: s("qcow2"), ContainerFormat: s("bare"),
		MinDisk: 1, MinRAM: 64, Protected: true, Hidden: true, CreatedAt: at, UpdatedAt: at.UTC(),
		Tags: []string{"t1"}, Properties: map[string]string{"os_distro": "cirros", "html": "<a&b>", "empty": ""},
	}
	empty := imagestore.Image{ID: "queued", Status: imagestore.StatusQueued, Visibility: imagestore.Private}
	members := []imagestore.Member{{ImageID: "img-1", ProjectID: "p2", Status: "accepted"}, {ImageID: "img-1", ProjectID: "p3", Status: "pending"}}
	tests := []struct {
		golden string
		v      any
	}{
		{"image-show.json", full.Record(members)},
		{"image-show-no-members.json", empty.Record([]imagestore.Member{})},
		{"image-list.json", []imagestore.OrderedJSON{full.Record(nil), empty.Record(nil)}},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := writeImageJSON(&buf, tc.v); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tc.golden)
		if os.Getenv("OSLOREGO_UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (OSLOREGO_UPDATE_GOLDEN=1 writes it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs:\n got: %s\nwant: %s", path, buf.Bytes(), want)
		}
	}
}
