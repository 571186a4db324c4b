// Package auth turns an HTTP request into the caller's identity: from a
// local file of hashed tokens, from Keystone v3, or from the headers that
// keystonemiddleware sets, trusted only from given proxies.
package auth

import (
	"context"
	"errors"
	"net/http"
)

// ErrUnauthenticated means the request carries no credentials or invalid
// ones: the server answers 401.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrUnavailable means the identity could not be checked (Keystone down):
// the server answers 503, never allows.
var ErrUnavailable = errors.New("identity service unavailable")

// Identity is who the caller is, in the shape of oslo.context's policy
// values. Roles are lower-cased, as Glance's context middleware does.
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
