package imagestore

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReservedProperty(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"locations", true}, {"direct_url", true}, {"location", true}, {"stores", true},
		{"owner", true}, {"Owner", true}, {"OWNER", true}, {"project_id", true},
		{"id", true}, {"image_id", true}, {"member", true}, {"member_id", true},
		{"min_ram", true}, {"os_hidden", true}, {"deleted", true}, {"deleted_at", true},
		{"self", true}, {"file", true}, {"schema", true}, {"is_public", true},
		{"extra_properties", true}, {"os_glance_importing_to_stores", true}, {"OS_GLANCE_x", true},
		{"x_billing_code_ntt", false}, {"os_distro", false}, {"Os_Distro", false}, {"owner_name", false},
		{"os_glanc", false}, {"hw_disk_bus", false}, {"", false},
	}
	for _, tc := range tests {
		if got := ReservedProperty(tc.name); got != tc.want {
			t.Errorf("ReservedProperty(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Reserved names are refused at import and create, naming the property,
// and nothing is stored.
func TestStoreRefusesReservedProperties(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"locations", "direct_url", "owner", "Owner", "project_id", "deleted", "os_glance_x"} {
		for _, op := range []string{"import", "create"} {
			t.Run(op+" "+name, func(t *testing.T) {
				s, dir := newStore(t)
				o := ImportOptions{ID: "img", Properties: map[string]string{name: "spoof", "os_distro": "cirros"}}
				var err error
				if op == "import" {
					_, err = s.Import(ctx, strings.NewReader("data"), o)
				} else {
					_, err = s.Create(ctx, o)
				}
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "reserved") {
					t.Fatalf("error %v, want ErrInvalid naming %q as reserved", err, name)
				}
				assertEmpty(t, s, dir)
			})
		}
	}
}

// Rows written by an older store may hold reserved names: Get and List
// never return them, and keep the other properties.
func TestStoreReadDropsReservedProperties(t *testing.T) {
	ctx := context.Background()
	owner := "p1"
	s, dir := newStore(t)
	img, err := s.Import(ctx, strings.NewReader("data"), ImportOptions{ID: "old", Owner: &owner,
		Properties: map[string]string{"os_distro": "cirros"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"owner", "locations", "direct_url", "project_id", "Owner", "os_glance_x"} {
		if _, err := s.db.Exec("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", img.ID, name, "spoof"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"os_distro": "cirros"}
	got, err := s.Get(ctx, img.ID)
	if err != nil || !reflect.DeepEqual(got.Properties, want) || *got.Owner != owner {
		t.Errorf("Get: properties %v owner %v, %v; want %v and the core owner", got.Properties, got.Owner, err, want)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0].Properties, want) {
		t.Errorf("List: %+v, %v; want properties %v", list, err, want)
	}
	// Reopening (the next server start) reads the same.
	other, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got, err := other.Get(ctx, img.ID); err != nil || !reflect.DeepEqual(got.Properties, want) {
		t.Errorf("Get from a second store: %v, %v", got.Properties, err)
	}
}
