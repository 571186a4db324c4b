package server

import (
	"regexp"
	"testing"

	"github.com/google/uuid"
)

// newUUID and newRequestID make random version 4 UUIDs in uuid's
// canonical form, each different, with one allocation.
func TestNewUUIDs(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id, req := newUUID(), newRequestID()
		if !v4.MatchString(id) || len(req) != 40 || req[:4] != "req-" || !v4.MatchString(req[4:]) {
			t.Fatalf("%q, %q: want a v4 UUID and req-UUID", id, req)
		}
		if u, err := uuid.Parse(id); err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("%q: uuid reads %v %v %v", id, u.Version(), u.Variant(), err)
		}
		if seen[id] || seen[req[4:]] {
			t.Fatalf("%q or %q repeated", id, req)
		}
		seen[id], seen[req[4:]] = true, true
	}
	if n := testing.AllocsPerRun(100, func() { _ = newUUID() }); n != 1 {
		t.Errorf("newUUID: %.0f allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = newRequestID() }); n != 1 {
		t.Errorf("newRequestID: %.0f allocations, want 1", n)
	}
}
