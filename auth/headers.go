package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Headers trusts the identity headers keystonemiddleware sets
// (X-Identity-Status, X-User-Id, X-Roles, ...) when, and only when, the
// request comes straight from a trusted proxy. It is safe for concurrent
// use.
type Headers struct {
	trusted []netip.Prefix
}

// NewHeaders returns a Headers authenticator trusting requests whose
// immediate peer (r.RemoteAddr, never X-Forwarded-For) is in one of the
// prefixes. With no prefixes nothing is trusted.
func NewHeaders(trusted []netip.Prefix) *Headers {
	h := &Headers{trusted: make([]netip.Prefix, 0, len(trusted))}
	for _, p := range trusted {
		if p.IsValid() {
			h.trusted = append(h.trusted, unmapPrefix(p.Masked()))
		}
	}
	return h
}

// ParseTrustedProxies parses CIDRs ("10.0.0.0/8", "fd00::/64") and bare
// addresses ("192.0.2.7", "::1") into prefixes; blank entries are skipped.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, unmapPrefix(p.Masked()))
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		a = a.WithZone("").Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into
// the IPv4 one, as peers' addresses are unmapped before matching.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Authenticate reads the identity from keystonemiddleware's headers, as
// oslo.context's from_environ does, if the peer is a trusted proxy and
// X-Identity-Status is exactly "Confirmed"; otherwise ErrUnauthenticated.
func (h *Headers) Authenticate(ctx context.Context, r *http.Request) (*Identity, error) {
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok {
		return nil, fmt.Errorf("%w: unknown peer address", ErrUnauthenticated)
	}
	if !h.trusts(peer) {
		return nil, fmt.Errorf("%w: identity headers from untrusted peer %s", ErrUnauthenticated, peer)
	}
	// A header given twice means a proxy appended to a client's header
	// instead of replacing it: the first could be the client's forgery.
	for _, name := range [...]string{
		"X-Identity-Status", "X-User-Id", "X-User", "X-User-Domain-Id",
		"X-Project-Id", "X-Tenant-Id", "X-Tenant", "X-Project-Domain-Id",
		"X-Domain-Id", "Openstack-System-Scope", "X-Roles", "X-Role",
		"X-Is-Admin-Project",
	} {
		if len(r.Header.Values(name)) > 1 {
			return nil, fmt.Errorf("%w: %s given more than once", ErrUnauthenticated, name)
		}
	}
	// Case-sensitive, as Glance's context middleware compares it.
	if r.Header.Get("X-Identity-Status") != "Confirmed" {
		return nil, fmt.Errorf("%w: X-Identity-Status is not Confirmed", ErrUnauthenticated)
	}
	// oslo.context takes the first of the names that is present, even if
	// empty: an empty X-Roles or X-Project-Id never falls back to the
	// legacy X-Role or X-Tenant-Id.
	get := func(names ...string) string {
		for _, n := range names {
			if vs := r.Header.Values(n); len(vs) > 0 {
				return vs[0]
			}
		}
		return ""
	}
	id := &Identity{
		UserID:          get("X-User-Id", "X-User"),
		UserDomainID:    get("X-User-Domain-Id"),
		ProjectID:       get("X-Project-Id", "X-Tenant-Id", "X-Tenant"),
		ProjectDomainID: get("X-Project-Domain-Id"),
		DomainID:        get("X-Domain-Id"),
		SystemScope:     get("Openstack-System-Scope"),
		Roles:           normalizeRoles([]string{get("X-Roles", "X-Role")}),
		IsAdminProject:  true, // oslo.context: absent means the admin project
	}
	if vs := r.Header.Values("X-Is-Admin-Project"); len(vs) > 0 {
		// Present but empty is false, as oslo.context's lower() == 'true'.
		// Only ASCII letters lower to "true" in Go and Python alike.
		id.IsAdminProject = strings.ToLower(vs[0]) == "true"
	}
	if id.UserID == "" {
		return nil, fmt.Errorf("%w: confirmed identity without a user id", ErrUnauthenticated)
	}
	return id, nil
}

func (h *Headers) trusts(a netip.Addr) bool {
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr parses r.RemoteAddr ("ip:port", or a bare ip), dropping any
// zone and unmapping IPv4-mapped IPv6 addresses.
func remoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}
