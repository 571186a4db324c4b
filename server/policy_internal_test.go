package server

import (
	"context"
	"testing"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
)

// appendCredsKey is injective on the shapes credentials take: values that
// could run into each other in a naive concatenation stay apart.
func TestCredsKeyTellsCredentialsApart(t *testing.T) {
	distinct := []map[string]any{
		{},
		{"roles": []any{}},
		{"roles": []any{"a,b"}},
		{"roles": []any{"a", "b"}},
		{"roles": []any{"b", "a"}},
		{"roles": []any{"ab"}},
		{"project_id": nil},
		{"project_id": ""},
		{"project_id": "true"},
		{"project_id": true},
		{"project_id": false},
		{"project_id": "x", "user_id": "y"},
		{"project_id": "xy", "user_id": ""},
		{"project_idx": "", "user_id": "y"},
		{"project_id": 1.0},
		{"project_id": "1"},
		{"project_id": map[string]any{"a": "b"}},
	}
	seen := map[string]int{}
	for i, c := range distinct {
		k, err := appendCredsKey(nil, c)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if j, dup := seen[string(k)]; dup {
			t.Errorf("%v and %v have the same key %q", distinct[j], c, k)
		}
		seen[string(k)] = i
		// The same credentials in a new map (another iteration order)
		// give the same key.
		again := map[string]any{}
		for n, v := range c {
			again[n] = v
		}
		if k2, _ := appendCredsKey(nil, again); string(k2) != string(k) {
			t.Errorf("%v: keys %q and %q", c, k, k2)
		}
	}
}

// A repeated is_admin decision is a cache hit that allocates nothing:
// the key is built on the stack (it was json.Marshal, ~24 allocations).
func TestIsAdminCachedAllocatesNothing(t *testing.T) {
	src, err := bundles.Builtin("glance")
	if err != nil {
		t.Fatal(err)
	}
	l, err := bundles.Open(context.Background(), src, bundles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := l.Policy()
	p := &policyState{engine: eng}
	creds := Credentials(&auth.Identity{UserID: "u", ProjectID: "p1", Roles: []string{"member", "reader"}, IsAdminProject: true})
	ctx := context.Background()
	if admin, err := p.isAdmin(ctx, "context_is_admin", creds); err != nil || admin {
		t.Fatalf("member: is_admin %v, %v", admin, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if admin, err := p.isAdmin(ctx, "context_is_admin", creds); err != nil || admin {
			t.Fatalf("member: is_admin %v, %v", admin, err)
		}
	})
	if allocs > 0 {
		t.Errorf("cached is_admin: %.0f allocations, want 0", allocs)
	}
	admin := Credentials(&auth.Identity{UserID: "u", ProjectID: "p1", Roles: []string{"admin"}, IsAdminProject: true})
	if ok, err := p.isAdmin(ctx, "context_is_admin", admin); err != nil || !ok {
		t.Errorf("admin: is_admin %v, %v", ok, err)
	}
}
