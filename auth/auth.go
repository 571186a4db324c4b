// Package auth turns an HTTP request into the caller's identity: from a
// local file of hashed tokens, from Keystone v3, or from the headers that
// keystonemiddleware sets, trusted only from given proxies.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrUnauthenticated means the request carries no credentials or invalid
// ones: the server answers 401.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrUnavailable means the identity could not be checked (Keystone down):
// the server answers 503, never allows.
var ErrUnavailable = errors.New("identity service unavailable")

// Identity is who the caller is, in the shape of oslo.context's policy
// values. Roles are as the identity source gave them, trimmed only (as
// oslo.context does): never lower-cased here, because the policy's Rego
// library lowers them exactly as oslo.policy does (Python's str.lower),
// and lowering twice, or the Go way, changes decisions ("İ" would become
// "i" and pass role:i).
type Identity struct {
	UserID          string   `json:"user_id"`
	UserDomainID    string   `json:"user_domain_id,omitempty"`
	ProjectID       string   `json:"project_id"`
	ProjectDomainID string   `json:"project_domain_id,omitempty"`
	DomainID        string   `json:"domain_id,omitempty"`
	SystemScope     string   `json:"system_scope,omitempty"`
	Roles           []string `json:"roles"`
	// IsAdminProject is keystone's is_admin_project (true when unknown).
	IsAdminProject bool `json:"is_admin_project"`
}

// Authenticator identifies the caller of a request. It returns an error
// wrapping ErrUnauthenticated (401) or ErrUnavailable (503).
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*Identity, error)
}

// authToken returns the request's X-Auth-Token. A missing or empty one,
// or one given more than once, is ErrUnauthenticated: with two tokens,
// which one a proxy or a later hop would honour is not ours to guess.
func authToken(r *http.Request) (string, error) {
	vs := r.Header.Values("X-Auth-Token")
	switch {
	case len(vs) > 1:
		return "", fmt.Errorf("%w: X-Auth-Token given more than once", ErrUnauthenticated)
	case len(vs) == 0 || vs[0] == "":
		return "", fmt.Errorf("%w: no X-Auth-Token", ErrUnauthenticated)
	}
	return vs[0], nil
}
