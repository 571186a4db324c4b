package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/oslorego/oslorego/internal/jsonexact"
)

// Service credential types, keystoneauth's auth_type names.
const (
	// AuthPassword authenticates with a user's password.
	AuthPassword = "password"
	// AuthApplicationCredential authenticates with an application
	// credential (its id, or its name and its user, and its secret).
	AuthApplicationCredential = "v3applicationcredential"
)

// Service token renewal.
const (
	// renewFraction of a token's life passes before it is renewed, so a
	// Keystone that is down for a while at that moment leaves time to
	// retry before the token expires.
	renewFraction = 0.8
	// retryBackoff is how long a failed authentication is answered from
	// memory before Keystone is asked again: a storm of requests while
	// Keystone refuses or is down makes one attempt per interval.
	retryBackoff = 2 * time.Second
	// minReauthAge is how old a token must be before a 401 from Keystone
	// makes us throw it away and authenticate again: a token Keystone
	// refuses the moment it is issued will not be helped by another.
	minReauthAge = time.Second
	// expiresPrecision: Keystone gives expires_at and issued_at in whole
	// seconds, so a token may live up to a second less than their
	// difference says.
	expiresPrecision = time.Second
)

// ServiceCredentials authenticate this service to Keystone, as the
// [keystone_authtoken] section of a Glance does (auth_type password or
// v3applicationcredential). Its String never shows the secrets.
type ServiceCredentials struct {
	// Type is AuthPassword or AuthApplicationCredential.
	Type string

	// The user: an id, or a name and its domain (id or name). An
	// application credential given by id needs no user.
	UserID, Username, UserDomainID, UserDomainName string
	// Password is the user's password (AuthPassword).
	Password string

	// The scope of a password token: a project (an id, or a name and its
	// domain), a domain (DomainID or DomainName), or the system
	// (SystemScope "all"). Without one the token is unscoped, which
	// Keystone's default policy does not let validate others' tokens.
	// An application credential's token is scoped by the credential.
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
	DomainID, DomainName                                       string
	SystemScope                                                string

	// The application credential: an id, or a name (with the user), and
	// its secret (AuthApplicationCredential).
	ApplicationCredentialID, ApplicationCredentialName, ApplicationCredentialSecret string
}

// Validate reports what is missing or contradictory, without a secret.
func (c ServiceCredentials) Validate() error {
	hasUser := c.UserID != "" || c.Username != ""
	userOK := c.UserID != "" || c.Username != "" && (c.UserDomainID != "" || c.UserDomainName != "")
	switch c.Type {
	case AuthPassword:
		if !hasUser {
			return errors.New("password authentication needs a user (id, or name and domain)")
		}
		if !userOK {
			return fmt.Errorf("user %q needs its domain (user domain id or name)", c.Username)
		}
		if c.Password == "" {
			return errors.New("password authentication needs a password")
		}
		if c.ApplicationCredentialID != "" || c.ApplicationCredentialName != "" || c.ApplicationCredentialSecret != "" {
			return errors.New("password authentication takes no application credential")
		}
		scopes := 0
		if c.ProjectID != "" || c.ProjectName != "" {
			scopes++
			if c.ProjectID == "" && c.ProjectDomainID == "" && c.ProjectDomainName == "" {
				return fmt.Errorf("project %q needs its domain (project domain id or name)", c.ProjectName)
			}
		}
		if c.DomainID != "" || c.DomainName != "" {
			scopes++
		}
		if c.SystemScope != "" {
			scopes++
			if c.SystemScope != "all" {
				return fmt.Errorf("system scope %q: only \"all\" exists", c.SystemScope)
			}
		}
		if scopes > 1 {
			return errors.New("give one scope: a project, a domain or the system")
		}
	case AuthApplicationCredential:
		switch {
		case c.ApplicationCredentialID == "" && c.ApplicationCredentialName == "":
			return errors.New("application credential authentication needs the credential's id (or its name and user)")
		case c.ApplicationCredentialID == "" && !userOK:
			return errors.New("an application credential given by name needs its user (id, or name and domain)")
		case c.ApplicationCredentialSecret == "":
			return errors.New("application credential authentication needs the credential's secret")
		case c.Password != "":
			return errors.New("application credential authentication takes no password")
		case c.ProjectID != "" || c.ProjectName != "" || c.DomainID != "" || c.DomainName != "" || c.SystemScope != "":
			// Keystone: "Application credentials cannot request a scope."
			return errors.New("an application credential's token has the credential's scope: give no project, domain or system scope")
		}
	case "":
		return errors.New("no authentication type (password or v3applicationcredential)")
	default:
		return fmt.Errorf("authentication type %q: want password or v3applicationcredential", c.Type)
	}
	if !validHeaderValue(c.Password) || !validHeaderValue(c.ApplicationCredentialSecret) {
		// JSON would carry them, but a secret with a line break is
		// almost always a file read with its trailing newline and more.
		return errors.New("the secret holds control characters")
	}
	return nil
}

// String describes the credentials for logs and errors: who, how and
// which scope, never the password or secret.
func (c ServiceCredentials) String() string {
	named := func(id, name, domID, domName string) string {
		if id != "" {
			return "id " + id
		}
		s := fmt.Sprintf("%q", name)
		if domID != "" {
			s += " in domain id " + domID
		} else if domName != "" {
			s += fmt.Sprintf(" in domain %q", domName)
		}
		return s
	}
	var b strings.Builder
	b.WriteString(c.Type)
	if c.Type == AuthApplicationCredential {
		b.WriteString(" " + named(c.ApplicationCredentialID, c.ApplicationCredentialName, "", ""))
	}
	if c.UserID != "" || c.Username != "" {
		b.WriteString(", user " + named(c.UserID, c.Username, c.UserDomainID, c.UserDomainName))
	}
	if c.Type == AuthPassword {
		switch {
		case c.ProjectID != "" || c.ProjectName != "":
			b.WriteString(", project " + named(c.ProjectID, c.ProjectName, c.ProjectDomainID, c.ProjectDomainName))
		case c.DomainID != "" || c.DomainName != "":
			b.WriteString(", domain " + named(c.DomainID, c.DomainName, "", ""))
		case c.SystemScope != "":
			b.WriteString(", system scope " + c.SystemScope)
		default:
			b.WriteString(", unscoped")
		}
	}
	return b.String()
}

// GoString keeps %#v from printing the secrets.
func (c ServiceCredentials) GoString() string { return "auth.ServiceCredentials{" + c.String() + "}" }

// LogValue keeps slog from printing the secrets.
func (c ServiceCredentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// authRequest is the body of POST /v3/auth/tokens for the credentials.
func (c ServiceCredentials) authRequest() ([]byte, error) {
	type ref = map[string]any
	named := func(id, name, domID, domName string) ref {
		if id != "" {
			return ref{"id": id}
		}
		r := ref{"name": name}
		if domID != "" {
			r["domain"] = ref{"id": domID}
		} else if domName != "" {
			r["domain"] = ref{"name": domName}
		}
		return r
	}
	var identity, scope ref
	switch c.Type {
	case AuthPassword:
		user := named(c.UserID, c.Username, c.UserDomainID, c.UserDomainName)
		user["password"] = c.Password
		identity = ref{"methods": []string{"password"}, "password": ref{"user": user}}
		switch {
		case c.ProjectID != "" || c.ProjectName != "":
			scope = ref{"project": named(c.ProjectID, c.ProjectName, c.ProjectDomainID, c.ProjectDomainName)}
		case c.DomainID != "" || c.DomainName != "":
			scope = ref{"domain": named(c.DomainID, c.DomainName, "", "")}
		case c.SystemScope != "":
			scope = ref{"system": ref{c.SystemScope: true}}
		}
	case AuthApplicationCredential:
		ac := named(c.ApplicationCredentialID, c.ApplicationCredentialName, "", "")
		if c.ApplicationCredentialID == "" {
			ac["user"] = named(c.UserID, c.Username, c.UserDomainID, c.UserDomainName)
		}
		ac["secret"] = c.ApplicationCredentialSecret
		identity = ref{"methods": []string{"application_credential"}, "application_credential": ac}
	default:
		return nil, fmt.Errorf("authentication type %q: want password or v3applicationcredential", c.Type)
	}
	a := ref{"identity": identity}
	if scope != nil {
		a["scope"] = scope
	}
	return json.Marshal(ref{"auth": a})
}

// serviceTokens holds this service's own token: a static one, or one
// obtained from credentials and renewed. It is safe for concurrent use.
type serviceTokens struct {
	creds    *ServiceCredentials // nil: static token
	endpoint string              // .../v3/auth/tokens?nocatalog
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger

	flight singleflight.Group // one authentication at a time

	mu       sync.Mutex
	token    string    // "" when there is none to use
	obtained time.Time // our clock, when the request that got it was sent
	renewAt  time.Time // our clock
	expires  time.Time // our clock; zero for a static token of unknown expiry
	// lastErr is the newest authentication failure (nil after a
	// success), failedAt when it happened, retryAt when another attempt
	// may be made.
	lastErr           error
	failedAt, retryAt time.Time
	obtainedCount     int
	// refused is Keystone's newest refusal (401 after a new token, or
	// 403) of our token when validating, nil once it accepts one again.
	refused   error
	refusedAt time.Time
}

// get returns the token to send as X-Auth-Token. A token past its
// renewal time is still used while a new one is fetched in the
// background; without a usable token the caller waits for one.
func (s *serviceTokens) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
	if s.creds == nil {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	if s.token != "" && now.Before(s.expires) {
		tok := s.token
		renew := !now.Before(s.renewAt) && !now.Before(s.retryAt)
		s.mu.Unlock()
		if renew {
			// The channel is buffered: nobody needs to read it.
			s.flight.DoChan("auth", s.authenticate)
		}
		return tok, nil
	}
	if now.Before(s.retryAt) && s.lastErr != nil {
		err := s.lastErr
		s.mu.Unlock()
		return "", err
	}
	s.mu.Unlock()
	ch := s.flight.DoChan("auth", s.authenticate)
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("%w: waiting for the service token: %w", ErrUnavailable, ctx.Err())
	}
}

// drop forgets tok after Keystone answered 401 to it, so that the next
// get authenticates again. It reports whether a new token may differ: not
// for a static token, nor for one too fresh to have been revoked.
func (s *serviceTokens) drop(tok string) bool {
	if s.creds == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != tok {
		return true // already replaced by a concurrent request
	}
	if s.now().Sub(s.obtained) < minReauthAge {
		return false
	}
	s.log.Warn("keystone refused the service token; authenticating again", "credentials", s.creds, "obtained", s.obtained.UTC().Format(time.RFC3339))
	s.token = ""
	s.retryAt = time.Time{}
	return true
}

// authenticate obtains a new token (run through the singleflight group).
// The call outlives a cancelled first caller: others may wait on it.
func (s *serviceTokens) authenticate() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), keystoneTimeout)
	defer cancel()
	sent := s.now()
	tok, life, err := s.post(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err != nil {
		first := s.lastErr == nil || s.lastErr.Error() != err.Error()
		s.lastErr, s.failedAt, s.retryAt = err, now, now.Add(retryBackoff)
		if first {
			// Once per distinct failure, not once per attempt.
			s.log.Error("keystone service authentication failed", "credentials", s.creds, "error", err)
		}
		return nil, err
	}
	if s.lastErr != nil {
		s.log.Info("keystone service authentication works again", "credentials", s.creds)
	}
	if life > 2*expiresPrecision {
		life -= expiresPrecision
	}
	s.token, s.obtained = tok, sent
	s.expires = sent.Add(life)
	s.renewAt = sent.Add(time.Duration(float64(life) * renewFraction))
	s.lastErr, s.retryAt = nil, time.Time{}
	s.obtainedCount++
	s.log.Info("keystone service token obtained", "credentials", s.creds, "lifetime", life.Round(time.Second).String(),
		"renew_at", s.renewAt.UTC().Format(time.RFC3339))
	return tok, nil
}

// authResponse is the part of POST /v3/auth/tokens' answer we read.
type authResponse struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		IssuedAt  string `json:"issued_at"`
	} `json:"token"`
}

// post authenticates with the credentials and returns the token and its
// lifetime (Keystone's expires_at - issued_at, so that our clock and
// Keystone's need not agree).
func (s *serviceTokens) post(ctx context.Context) (string, time.Duration, error) {
	body, err := s.creds.authRequest()
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// The error names the URL, never the body: no secret leaks.
		return "", 0, fmt.Errorf("%w: authenticating to keystone: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// Keystone's error messages are not quoted: a 400 may echo a field
	// of the request.
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", 0, fmt.Errorf("%w: keystone refused the service credentials: HTTP 401; check the secret, the user, the scope and their domains", ErrUnavailable)
	case resp.StatusCode == http.StatusBadRequest:
		return "", 0, fmt.Errorf("%w: keystone rejected the authentication request: HTTP 400", ErrUnavailable)
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("%w: authenticating to keystone: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" || !validHeaderValue(tok) {
		return "", 0, fmt.Errorf("%w: keystone's authentication answer has no usable X-Subject-Token", ErrUnavailable)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", 0, fmt.Errorf("%w: reading keystone's authentication answer: %w", ErrUnavailable, err)
	}
	var a authResponse
	if err := jsonexact.Unmarshal(data, &a, false); err != nil {
		return "", 0, fmt.Errorf("%w: decoding keystone's authentication answer: %w", ErrUnavailable, err)
	}
	expires, err := time.Parse(time.RFC3339Nano, a.Token.ExpiresAt)
	if err != nil {
		return "", 0, fmt.Errorf("%w: keystone's service token expires_at %q: %w", ErrUnavailable, a.Token.ExpiresAt, err)
	}
	issued, err := time.Parse(time.RFC3339Nano, a.Token.IssuedAt)
	if err != nil {
		// Without issued_at, trust our clock to agree with Keystone's.
		issued = s.now()
	}
	life := expires.Sub(issued)
	if life <= 0 {
		return "", 0, fmt.Errorf("%w: keystone issued a service token that has already expired (expires_at %s)", ErrUnavailable, a.Token.ExpiresAt)
	}
	return tok, life, nil
}

// accepted records that Keystone took our token (a validation answered
// 200 or 404).
func (s *serviceTokens) accepted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != nil {
		s.log.Info("keystone accepts the service token again")
	}
	s.refused = nil
}

// refuse records that Keystone refused our token for good (403, or 401
// after authenticating again): the service identity is not usable.
func (s *serviceTokens) refuse(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.log.Error("keystone refuses the service token; every uncached token is answered 503", "error", err)
	}
	s.refused, s.refusedAt = err, s.now()
}

// setExpiry records the expiry of a static token, learnt by validating it.
func (s *serviceTokens) setExpiry(expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds == nil {
		s.expires = expires
	}
}

// status tells whether the service identity is usable, for /readyz. A
// token past its renewal time (an idle server renews only on use) is
// renewed in the background, so a readiness probe keeps it fresh.
func (s *serviceTokens) status() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if s.refused != nil {
		return false, fmt.Sprintf("not ready; keystone refuses the service token since %s: %v", at(s.refusedAt), s.refused)
	}
	if s.creds == nil {
		switch {
		case s.expires.IsZero():
			return true, "static service token (never renewed), expiry unknown"
		case !now.Before(s.expires):
			return false, fmt.Sprintf("not ready; the static service token expired at %s and cannot be renewed: restart with a new one, or give credentials", at(s.expires))
		}
		return true, fmt.Sprintf("static service token (never renewed), expires at %s", at(s.expires))
	}
	usable := s.token != "" && now.Before(s.expires)
	if !now.Before(s.renewAt) && !now.Before(s.retryAt) {
		s.flight.DoChan("auth", s.authenticate)
	}
	switch {
	case usable && s.lastErr != nil:
		return true, fmt.Sprintf("service token (%s) expires at %s; renewing it fails since %s: %v", s.creds, at(s.expires), at(s.failedAt), s.lastErr)
	case usable:
		return true, fmt.Sprintf("service token (%s) renewed at %s, expires at %s", s.creds, at(s.renewAt), at(s.expires))
	case s.lastErr != nil:
		return false, fmt.Sprintf("not ready; no service token (%s): authenticating fails since %s: %v", s.creds, at(s.failedAt), s.lastErr)
	case s.obtainedCount == 0:
		return false, fmt.Sprintf("not ready; no service token (%s) yet", s.creds)
	}
	return true, fmt.Sprintf("service token (%s) expired while idle; renewing it", s.creds)
}

// ServiceToken is this service's own Keystone token for calls other
// services authorise with it (gateway mode's metadata reads of Glance):
// the same token the validations use, renewed the same way.
type ServiceToken struct{ s *serviceTokens }

// ServiceToken returns k's own token source.
func (k *Keystone) ServiceToken() ServiceToken { return ServiceToken{k.svc} }

// Token returns the token to send as X-Auth-Token, authenticating first
// when there is none.
func (t ServiceToken) Token(ctx context.Context) (string, error) { return t.s.get(ctx) }

// Invalidate reports that a service refused tok (HTTP 401): the next
// Token authenticates again, unless tok is a static token or too fresh to
// have been revoked.
func (t ServiceToken) Invalidate(tok string) { t.s.drop(tok) }
