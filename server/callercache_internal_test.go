package server

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
)

// appendIdentityKey tells apart every two identities whose credentials
// differ, including values that would run into each other in a naive
// concatenation.
func TestIdentityKeyTellsIdentitiesApart(t *testing.T) {
	distinct := []auth.Identity{
		{},
		{IsAdminProject: true},
		{UserID: "u"},
		{UserDomainID: "u"},
		{ProjectID: "u"},
		{ProjectDomainID: "u"},
		{DomainID: "u"},
		{SystemScope: "u"},
		{UserID: "ab", ProjectID: ""},
		{UserID: "a", ProjectID: "b"},
		{Roles: []string{}},
		{Roles: []string{""}},
		{Roles: []string{"a,b"}},
		{Roles: []string{"a", "b"}},
		{Roles: []string{"b", "a"}},
		{Roles: []string{"ab"}},
		{Roles: []string{"a"}, UserID: "b"},
	}
	seen := map[string]int{}
	for i, id := range distinct {
		k := string(appendIdentityKey(nil, &id))
		if j, dup := seen[k]; dup && !reflect.DeepEqual(Credentials(&distinct[j]), Credentials(&id)) {
			t.Errorf("%+v and %+v have the same key %q", distinct[j], id, k)
		}
		seen[k] = i
	}
	// Roles nil and empty make the same credentials (an empty list), so
	// they may share a key; every other pair must not.
	if len(seen) < len(distinct)-1 {
		t.Errorf("%d keys for %d identities", len(seen), len(distinct))
	}
}

func builtinState(t *testing.T) *policyState {
	t.Helper()
	src, err := bundles.Builtin("glance")
	if err != nil {
		t.Fatal(err)
	}
	l, err := bundles.Open(context.Background(), src, bundles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := l.Policy()
	return &policyState{engine: eng}
}

// A caller's credentials are made and decided once per identity: the
// same identity (a new *Identity each request) gets the same shared
// credentials, which equal what Credentials and isAdmin give; another
// identity gets its own.
func TestCallerCredentialsCachedPerIdentity(t *testing.T) {
	p := builtinState(t)
	ctx := context.Background()
	member := func() *auth.Identity {
		return &auth.Identity{UserID: "u", ProjectID: "p1", Roles: []string{"member", "reader"}, IsAdminProject: true}
	}
	a, err := p.credentials(ctx, "context_is_admin", member())
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials(member())
	want["is_admin"] = false
	if !reflect.DeepEqual(a.creds, want) || a.isAdmin {
		t.Fatalf("member: %v (is_admin %v), want %v", a.creds, a.isAdmin, want)
	}
	b, err := p.credentials(ctx, "context_is_admin", member())
	if err != nil || b != a {
		t.Errorf("the same identity again: %p %v, want the cached %p", b, err, a)
	}
	admin := member()
	admin.Roles = []string{"admin"}
	c, err := p.credentials(ctx, "context_is_admin", admin)
	if err != nil || c == a || !c.isAdmin || c.creds["is_admin"] != true {
		t.Errorf("admin: %+v %v, want its own credentials with is_admin", c, err)
	}
	notAdminProject := member()
	notAdminProject.IsAdminProject = false
	if d, err := p.credentials(ctx, "context_is_admin", notAdminProject); err != nil || d == a || d.creds["is_admin_project"] != false {
		t.Errorf("is_admin_project false: %+v %v", d, err)
	}
	again := member()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.credentials(ctx, "context_is_admin", again); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("cached credentials: %.0f allocations, want 0", allocs)
	}
}

// A huge identity is decided but not kept: the cache holds bounded keys.
func TestCallerCredentialsHugeIdentityNotCached(t *testing.T) {
	p := builtinState(t)
	id := &auth.Identity{UserID: "u", ProjectID: "p1", Roles: []string{strings.Repeat("r", maxCallerKey)}}
	cc, err := p.credentials(context.Background(), "context_is_admin", id)
	if err != nil || cc.isAdmin {
		t.Fatalf("%+v %v", cc, err)
	}
	if len(p.callers) != 0 {
		t.Errorf("%d callers cached, want none", len(p.callers))
	}
}

// The decision log line with the caller's cached credentials group is
// the line built from the record's identity.
func TestDecisionLogCachedCredentialsSameLine(t *testing.T) {
	var fresh, cached bytes.Buffer
	line := func(buf *bytes.Buffer, rec decisionRecord) string {
		s := &Server{cfg: Config{DecisionLog: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == "duration" {
					return slog.Attr{}
				}
				return a
			}}))}}
		s.logDecision(context.Background(), &rec, time.Now())
		return buf.String()
	}
	id := &auth.Identity{UserID: "u", ProjectID: "p1", DomainID: "d", SystemScope: "all", Roles: []string{"member", "reader"}}
	rec := decisionRecord{ID: "d1", RequestID: "req-1", Action: ActionDownload, Route: "GET /v2/images/:id/file", Result: "allow", Credentials: id, IsAdmin: true}
	want := line(&fresh, rec)
	rec.credsLog = credentialsLog(id, true)
	if got := line(&cached, rec); got != want {
		t.Errorf("with the cached group:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(want, `"credentials":{"user_id":"u","project_id":"p1","domain_id":"d","system_scope":"all","roles":["member","reader"],"is_admin":true}`) {
		t.Errorf("credentials group missing or changed: %s", want)
	}
}
