package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string // prefixes, nil for an error
	}{
		{"cidrs and bare addresses", []string{"10.0.0.0/8", " 192.0.2.7 ", "", "fd00::/64", "::1"}, []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/64", "::1/128"}},
		{"host bits masked", []string{"10.1.2.3/16"}, []string{"10.1.0.0/16"}},
		{"IPv4-mapped forms unmapped", []string{"::ffff:10.0.0.0/104", "::ffff:192.0.2.9"}, []string{"10.0.0.0/8", "192.0.2.9/32"}},
		{"zone dropped", []string{"fe80::1%eth0"}, []string{"fe80::1/128"}},
		{"empty", nil, []string{}},
		{"bad cidr", []string{"10.0.0.0/33"}, nil},
		{"bad address", []string{"proxy.example"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrustedProxies(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			strs := []string{}
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !reflect.DeepEqual(strs, tc.want) {
				t.Fatalf("got %v, want %v", strs, tc.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHeaders(trusted)
	confirmed := map[string]string{
		"X-Identity-Status":   "Confirmed",
		"X-User-Id":           "u1",
		"X-User-Domain-Id":    "ud",
		"X-Project-Id":        "p1",
		"X-Project-Domain-Id": "pd",
		"X-Roles":             " Member ,reader,,ADMIN, member",
	}
	// Roles are trimmed, never lowered (the Rego library lowers as Python).
	base := &Identity{UserID: "u1", UserDomainID: "ud", ProjectID: "p1", ProjectDomainID: "pd", Roles: []string{"Member", "reader", "ADMIN", "member"}, IsAdminProject: true}
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range confirmed {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	edit := func(f func(id *Identity)) *Identity {
		id := *base
		id.Roles = append([]string{}, base.Roles...)
		f(&id)
		return &id
	}
	tests := []struct {
		name    string
		remote  string
		headers map[string]string
		want    *Identity // nil: ErrUnauthenticated
	}{
		{"trusted IPv4 proxy", "10.1.2.3:5555", confirmed, base},
		{"trusted bare address", "192.0.2.7:80", confirmed, base},
		{"trusted IPv6 proxy", "[2001:db8::5]:443", confirmed, base},
		{"IPv4-mapped IPv6 peer", "[::ffff:10.0.0.1]:80", confirmed, base},
		{"IPv6 with zone", "[2001:db8::5%eth0]:443", confirmed, base},
		{"untrusted IPv4 peer", "192.0.2.8:80", confirmed, nil},
		{"untrusted IPv6 peer", "[2001:db9::1]:80", confirmed, nil},
		{"untrusted peer naming a trusted one in X-Forwarded-For", "203.0.113.1:80", with(map[string]string{"X-Forwarded-For": "10.0.0.1"}), nil},
		{"no peer address", "", confirmed, nil},
		{"status lower-case", "10.0.0.1:1", with(map[string]string{"X-Identity-Status": "confirmed"}), nil},
		{"status Invalid", "10.0.0.1:1", with(map[string]string{"X-Identity-Status": "Invalid"}), nil},
		{"status padded", "10.0.0.1:1", with(map[string]string{"X-Identity-Status": "Confirmed "}), nil},
		{"status absent", "10.0.0.1:1", with(nil, "X-Identity-Status"), nil},
		{"no user id", "10.0.0.1:1", with(nil, "X-User-Id"), nil},
		{"X-User fallback", "10.0.0.1:1", with(map[string]string{"X-User": "legacy"}, "X-User-Id"), edit(func(id *Identity) { id.UserID = "legacy" })},
		{"X-User-Id wins over X-User", "10.0.0.1:1", with(map[string]string{"X-User": "legacy"}), base},
		{"X-Tenant-Id fallback", "10.0.0.1:1", with(map[string]string{"X-Tenant-Id": "t1", "X-Tenant": "t2"}, "X-Project-Id"), edit(func(id *Identity) { id.ProjectID = "t1" })},
		{"X-Tenant fallback", "10.0.0.1:1", with(map[string]string{"X-Tenant": "t2"}, "X-Project-Id"), edit(func(id *Identity) { id.ProjectID = "t2" })},
		{"X-Role fallback", "10.0.0.1:1", with(map[string]string{"X-Role": "Observer"}, "X-Roles"), edit(func(id *Identity) { id.Roles = []string{"Observer"} })},
		// oslo.context takes the first header present, even empty: an
		// empty new header never falls back to the legacy one.
		{"empty X-Roles: no X-Role fallback", "10.0.0.1:1", with(map[string]string{"X-Roles": "", "X-Role": "admin"}), edit(func(id *Identity) { id.Roles = []string{} })},
		{"empty X-Project-Id: no X-Tenant-Id fallback", "10.0.0.1:1", with(map[string]string{"X-Project-Id": "", "X-Tenant-Id": "t1", "X-Tenant": "t2"}), edit(func(id *Identity) { id.ProjectID = "" })},
		{"empty X-Tenant-Id: no X-Tenant fallback", "10.0.0.1:1", with(map[string]string{"X-Tenant-Id": "", "X-Tenant": "t2"}, "X-Project-Id"), edit(func(id *Identity) { id.ProjectID = "" })},
		{"empty X-User-Id: no X-User fallback", "10.0.0.1:1", with(map[string]string{"X-User-Id": "", "X-User": "legacy"}), nil},
		{"is_admin_project empty (oslo: '' != 'true')", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": ""}), edit(func(id *Identity) { id.IsAdminProject = false })},
		{"no roles", "10.0.0.1:1", with(nil, "X-Roles"), edit(func(id *Identity) { id.Roles = []string{} })},
		{"blank roles", "10.0.0.1:1", with(map[string]string{"X-Roles": " , ,"}), edit(func(id *Identity) { id.Roles = []string{} })},
		{"domain scope", "10.0.0.1:1", with(map[string]string{"X-Domain-Id": "d9"}, "X-Project-Id", "X-Project-Domain-Id"), edit(func(id *Identity) { id.DomainID, id.ProjectID, id.ProjectDomainID = "d9", "", "" })},
		{"system scope", "10.0.0.1:1", with(map[string]string{"OpenStack-System-Scope": "all"}, "X-Project-Id", "X-Project-Domain-Id"), edit(func(id *Identity) { id.SystemScope, id.ProjectID, id.ProjectDomainID = "all", "", "" })},
		{"is_admin_project False", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": "False"}), edit(func(id *Identity) { id.IsAdminProject = false })},
		{"is_admin_project false", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": "false"}), edit(func(id *Identity) { id.IsAdminProject = false })},
		{"is_admin_project True", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": "True"}), base},
		{"is_admin_project true", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": "true"}), base},
		{"is_admin_project other (oslo: lower() == 'true')", "10.0.0.1:1", with(map[string]string{"X-Is-Admin-Project": "yes"}), edit(func(id *Identity) { id.IsAdminProject = false })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got, err := h.Authenticate(context.Background(), r)
			if tc.want == nil {
				if !errors.Is(err, ErrUnauthenticated) || got != nil {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("identity %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestHeadersDuplicated(t *testing.T) {
	h := NewHeaders([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Identity-Status", "Confirmed")
	r.Header.Set("X-User-Id", "u")
	// A client's forged header that a proxy appended to rather than
	// replaced.
	r.Header.Add("X-Roles", "admin")
	r.Header.Add("X-Roles", "reader")
	if _, err := h.Authenticate(context.Background(), r); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("duplicated X-Roles: %v, want ErrUnauthenticated", err)
	}
}

func TestHeadersTrustNothing(t *testing.T) {
	h := NewHeaders(nil)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Identity-Status", "Confirmed")
	r.Header.Set("X-User-Id", "u")
	if _, err := h.Authenticate(context.Background(), r); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("no trusted proxies: %v, want ErrUnauthenticated", err)
	}
}
