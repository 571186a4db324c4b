package auth

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/oslorego/oslorego/internal/jsonexact"
)

// Keystone defaults.
const (
	// accessRulesVersion is the OpenStack-Identity-Access-Rules version
	// we enforce, keystonemiddleware's ACCESS_RULES_SUPPORT.
	accessRulesVersion = "1"
	defaultMaxCache    = 10000
	defaultNegativeTTL = 10 * time.Second
	// defaultCacheTTL is keystonemiddleware's token_cache_time: how long a
	// revoked token may still be honoured.
	defaultCacheTTL = 5 * time.Minute
	// keystoneTimeout bounds one validation call even when the caller's
	// client has no timeout, so a hung Keystone cannot pin a request.
	keystoneTimeout = 10 * time.Second
	// maxTokenBody bounds the validation response read (no catalog is asked
	// for, so real bodies are a few kilobytes).
	maxTokenBody = 4 << 20
)

// KeystoneOptions configure token validation against Keystone v3.
type KeystoneOptions struct {
	// URL is Keystone's base URL, e.g. http://keystone:5000 or
	// https://cloud/identity; /v3 is appended unless the path ends in it.
	URL string
	// ServiceToken is a static token of this service's own, sent as
	// X-Auth-Token to authorise validating user tokens. It cannot be
	// renewed: once it expires every uncached token is answered 503.
	ServiceToken string
	// Credentials authenticate this service instead (a password or an
	// application credential, as keystonemiddleware's auth plugins): its
	// token is obtained with POST /v3/auth/tokens, renewed at 80% of its
	// life and when Keystone answers 401 to it. Exactly one of
	// ServiceToken and Credentials is given.
	Credentials *ServiceCredentials
	// ServiceType is this service's catalog type, which the access rules
	// of application credentials must name; default "image".
	ServiceType string
	// Log receives service token renewals and failures and access rule
	// refusals (never a secret); default: discarded.
	Log *slog.Logger
	// Client makes the calls; default: a client with a 10s timeout that
	// trusts CAFile's certificates if given, else the system's.
	Client *http.Client
	// CAFile is a PEM bundle of the CAs Keystone's TLS certificate is
	// checked against (clouds.yaml's cacert); not with Client.
	CAFile string
	// MaxCache bounds the number of cached validations; default 10000.
	MaxCache int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// NegativeTTL is how long a token Keystone called invalid (or one
	// past its expires_at) is refused without asking again; default 10s.
	NegativeTTL time.Duration
	// CacheTTL is how long a valid token is trusted without asking
	// Keystone again (never past its expires_at), so that revocations take
	// effect; default 5m, keystonemiddleware's token_cache_time.
	CacheTTL time.Duration
}

// Keystone authenticates the X-Auth-Token of requests by asking Keystone
// v3 to validate it, caching the answers. It is safe for concurrent use.
type Keystone struct {
	endpoint    string
	svc         *serviceTokens
	serviceType string
	client      *http.Client
	now         func() time.Time
	log         *slog.Logger
	maxCache    int
	negativeTTL time.Duration
	cacheTTL    time.Duration

	flight singleflight.Group

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cacheEntry // keyed by the token's hash, never the token
}

// cacheEntry is one validation answer. A nil id is a token Keystone
// refused; otherwise the identity is good until expiresAt, for the
// requests its access rules allow.
type cacheEntry struct {
	id        *Identity
	rules     *accessRules // nil: no access rules
	expiresAt time.Time    // the token's own expiry
	evictAt   time.Time    // when the answer must be asked for again
}

// NewKeystone checks the options and returns a Keystone authenticator.
func NewKeystone(o KeystoneOptions) (*Keystone, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil {
		return nil, fmt.Errorf("keystone url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("keystone url %q: want http(s)://host[:port][/path]", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("keystone url %q: credentials in the URL are not used; give service credentials", u.Redacted())
	}
	switch {
	case o.ServiceToken == "" && o.Credentials == nil:
		return nil, errors.New("keystone: no service credentials or service token")
	case o.ServiceToken != "" && o.Credentials != nil:
		return nil, errors.New("keystone: give service credentials or a service token, not both")
	case o.Credentials != nil:
		if err := o.Credentials.Validate(); err != nil {
			return nil, fmt.Errorf("keystone service credentials: %w", err)
		}
	case !validHeaderValue(o.ServiceToken):
		return nil, errors.New("keystone: service token has characters not allowed in a header")
	}
	path := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(path, "/v3") {
		path += "/v3"
	}
	u.Path = path + "/auth/tokens"
	u.RawPath = ""
	// keystonemiddleware asks for no catalog unless it forwards it; we
	// never do, and it is most of the body.
	u.RawQuery = "nocatalog"
	u.Fragment = ""
	k := &Keystone{
		endpoint:    u.String(),
		serviceType: o.ServiceType,
		client:      o.Client,
		now:         o.Now,
		log:         o.Log,
		maxCache:    o.MaxCache,
		negativeTTL: o.NegativeTTL,
		cacheTTL:    o.CacheTTL,
		cache:       map[[sha256.Size]byte]cacheEntry{},
	}
	switch {
	case k.client != nil && o.CAFile != "":
		return nil, errors.New("keystone: give a client or a CA file, not both")
	case k.client == nil && o.CAFile != "":
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("keystone CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("keystone CA file %s: no PEM certificate", o.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		k.client = &http.Client{Timeout: keystoneTimeout, Transport: tr}
	case k.client == nil:
		k.client = &http.Client{Timeout: keystoneTimeout}
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	if k.serviceType == "" {
		k.serviceType = "image"
	}
	k.svc = &serviceTokens{endpoint: k.endpoint, client: k.client, now: k.now, log: k.log, token: o.ServiceToken}
	if o.Credentials != nil {
		creds := *o.Credentials
		k.svc.creds = &creds
	}
	if k.maxCache <= 0 {
		k.maxCache = defaultMaxCache
	}
	if k.negativeTTL <= 0 {
		k.negativeTTL = defaultNegativeTTL
	}
	if k.cacheTTL <= 0 {
		k.cacheTTL = defaultCacheTTL
	}
	return k, nil
}

// Authenticate validates the request's X-Auth-Token with Keystone (or the
// cache). An invalid or expired token is ErrUnauthenticated; Keystone
// unreachable, failing, or refusing our service token is ErrUnavailable.
func (k *Keystone) Authenticate(ctx context.Context, r *http.Request) (*Identity, error) {
	token, err := authToken(r)
	if err != nil {
		return nil, err
	}
	if !validHeaderValue(token) {
		return nil, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	key := sha256.Sum256([]byte(token))
	if e, ok := k.lookup(key); ok {
		return k.answer(r, e)
	}
	// Concurrent requests with the same uncached token share one call.
	ch := k.flight.DoChan(string(key[:]), func() (any, error) {
		if e, ok := k.lookup(key); ok {
			return e, nil
		}
		// The call outlives a cancelled first caller: others may wait.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keystoneTimeout)
		defer cancel()
		e, err := k.validate(cctx, token)
		if err != nil {
			return nil, err
		}
		k.store(key, e)
		return e, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return k.answer(r, res.Val.(cacheEntry))
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// answer answers request r from a validation: the identity, unless the
// token is invalid, expired, or from an application credential whose
// access rules do not allow r (401, as keystonemiddleware's
// validate_allowed_request).
func (k *Keystone) answer(r *http.Request, e cacheEntry) (*Identity, error) {
	id, err := e.identity(k.now())
	if err != nil || e.rules == nil {
		return id, err
	}
	if !e.rules.allows(k.serviceType, r.Method, r.URL.Path) {
		why := e.rules.describe(k.serviceType, r.Method, r.URL.Path)
		k.log.InfoContext(r.Context(), "token refused by its access rules", "user_id", id.UserID, "reason", why)
		return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, why)
	}
	return id, nil
}

// identity answers from a cache entry at time now.
func (e cacheEntry) identity(now time.Time) (*Identity, error) {
	if e.id == nil {
		return nil, fmt.Errorf("%w: keystone does not know the token", ErrUnauthenticated)
	}
	if !now.Before(e.expiresAt) {
		return nil, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	id := *e.id
	id.Roles = append([]string{}, e.id.Roles...) // callers may not touch the cache
	return &id, nil
}

// lookup returns the cached answer for a token hash, if still current.
func (k *Keystone) lookup(key [sha256.Size]byte) (cacheEntry, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.cache[key]
	if !ok {
		return cacheEntry{}, false
	}
	if !k.now().Before(e.evictAt) {
		delete(k.cache, key)
		return cacheEntry{}, false
	}
	return e, true
}

// store caches an answer, making room first: expired answers go, then, if
// the cache is still full, arbitrary ones (map order is random).
func (k *Keystone) store(key [sha256.Size]byte, e cacheEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.cache[key]; !ok && len(k.cache) >= k.maxCache {
		now := k.now()
		for h, old := range k.cache {
			if !now.Before(old.evictAt) {
				delete(k.cache, h)
			}
		}
		// Evict a tenth at once so that a full cache is not swept on
		// every insert.
		for h := range k.cache {
			if len(k.cache) < k.maxCache-k.maxCache/10 {
				break
			}
			delete(k.cache, h)
		}
	}
	k.cache[key] = e
}

// keystoneToken is the part of a Keystone v3 token body we use.
type keystoneToken struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"project"`
		Domain *struct {
			ID string `json:"id"`
		} `json:"domain"`
		System map[string]any `json:"system"`
		Roles  []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"roles"`
		IsAdminProject *bool `json:"is_admin_project"`
		// ApplicationCredential is there for a token from one; its
		// AccessRules only for a restricted one (null or absent: none).
		ApplicationCredential *struct {
			ID          string        `json:"id"`
			AccessRules *[]accessRule `json:"access_rules"`
		} `json:"application_credential"`
	} `json:"token"`
}

// validate asks Keystone about one token with our service token. When
// Keystone answers 401 to a service token that can be renewed, it
// authenticates again (once for all the requests that saw it refused)
// and asks once more.
func (k *Keystone) validate(ctx context.Context, token string) (cacheEntry, error) {
	svc, err := k.svc.get(ctx)
	if err != nil {
		return cacheEntry{}, err
	}
	e, status, err := k.validateWith(ctx, svc, token)
	if status == http.StatusUnauthorized && k.svc.drop(svc) {
		if svc, err = k.svc.get(ctx); err != nil {
			return cacheEntry{}, err
		}
		e, status, err = k.validateWith(ctx, svc, token)
	}
	switch status {
	case http.StatusOK, http.StatusNotFound:
		k.svc.accepted()
	case http.StatusUnauthorized, http.StatusForbidden:
		k.svc.refuse(err)
	}
	return e, err
}

// validateWith asks Keystone about one token, authorised by svc. It
// returns a cache entry for a definite answer (valid, or 404 invalid) and
// an error otherwise, with Keystone's status (0 when there is none).
func (k *Keystone) validateWith(ctx context.Context, svc, token string) (cacheEntry, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.endpoint, nil)
	if err != nil {
		return cacheEntry{}, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("X-Auth-Token", svc)
	req.Header.Set("X-Subject-Token", token)
	req.Header.Set("Accept", "application/json")
	// We enforce application credentials' access rules (answer): without
	// this Keystone answers 404 for the tokens of restricted ones.
	req.Header.Set("OpenStack-Identity-Access-Rules", accessRulesVersion)
	resp, err := k.client.Do(req)
	if err != nil {
		// The error names the URL, never a header: no token leaks.
		return cacheEntry{}, 0, fmt.Errorf("%w: validating token with keystone: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	// Drain what is left so the connection can be reused.
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	now := k.now()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return cacheEntry{evictAt: now.Add(k.negativeTTL)}, resp.StatusCode, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// Keystone answers 404 for a bad subject token; 401/403 is about
		// our own service token (keystonemiddleware treats it alike).
		return cacheEntry{}, resp.StatusCode, fmt.Errorf("%w: keystone refused the service token (HTTP %d)", ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return cacheEntry{}, resp.StatusCode, fmt.Errorf("%w: keystone answered HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	e, err := k.decode(resp.Body, now)
	return e, resp.StatusCode, err
}

// decode reads a token validation answer.
func (k *Keystone) decode(r io.Reader, now time.Time) (cacheEntry, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTokenBody))
	if err != nil {
		return cacheEntry{}, fmt.Errorf("%w: reading keystone token: %w", ErrUnavailable, err)
	}
	// Unknown fields are Keystone's to add; a name that differs from ours
	// only in case, a repeated field or data after the body is malformed.
	var body keystoneToken
	if err := jsonexact.Unmarshal(data, &body, false); err != nil {
		return cacheEntry{}, fmt.Errorf("%w: decoding keystone token: %w", ErrUnavailable, err)
	}
	t := body.Token
	expires, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	if err != nil {
		return cacheEntry{}, fmt.Errorf("%w: keystone token expires_at %q: %w", ErrUnavailable, t.ExpiresAt, err)
	}
	if t.User.ID == "" {
		return cacheEntry{}, fmt.Errorf("%w: keystone token has no user id", ErrUnavailable)
	}
	id := &Identity{
		UserID:         t.User.ID,
		UserDomainID:   t.User.Domain.ID,
		IsAdminProject: true, // keystonemiddleware's default when absent
	}
	if t.Project != nil {
		id.ProjectID = t.Project.ID
		id.ProjectDomainID = t.Project.Domain.ID
	}
	if t.Domain != nil {
		id.DomainID = t.Domain.ID
	}
	if all, _ := t.System["all"].(bool); all {
		id.SystemScope = "all"
	}
	roles := make([]string, 0, len(t.Roles))
	for _, r := range t.Roles {
		roles = append(roles, r.Name)
	}
	// As given, trimmed only: the policy lowers them as Python does.
	id.Roles = normalizeRoles(roles)
	if t.IsAdminProject != nil {
		id.IsAdminProject = *t.IsAdminProject
	}
	e := cacheEntry{id: id, expiresAt: expires, evictAt: now.Add(k.cacheTTL)}
	if ac := t.ApplicationCredential; ac != nil && ac.AccessRules != nil {
		e.rules = compileAccessRules(ac.ID, *ac.AccessRules)
	}
	if expires.Before(e.evictAt) {
		// Trusted only until expires_at (identity checks it); after that
		// the entry answers "expired", like a refusal, for NegativeTTL.
		e.evictAt = expires.Add(k.negativeTTL)
	}
	return e, nil
}

// validHeaderValue reports whether s can be sent as a header value (no
// control characters but tab).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Check obtains the service token (authenticating with the credentials,
// if given) and has Keystone validate it, so that wrong credentials, a
// bad static token or an unreachable Keystone are reported at start. An
// identity with neither the service nor the admin role is only logged:
// whether it may validate others' tokens is Keystone's policy to say.
func (k *Keystone) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*keystoneTimeout)
	defer cancel()
	svc, err := k.svc.get(ctx)
	if err != nil {
		return fmt.Errorf("obtaining the service token: %w", err)
	}
	e, status, err := k.validateWith(ctx, svc, svc)
	switch {
	case err != nil:
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			k.svc.refuse(err)
		}
		return fmt.Errorf("checking the service token with keystone: %w", err)
	case e.id == nil:
		err := fmt.Errorf("%w: keystone does not know the service token (invalid, revoked or expired)", ErrUnavailable)
		k.svc.refuse(err)
		return err
	}
	k.svc.accepted()
	k.svc.setExpiry(e.expiresAt)
	id := e.id
	if !slices.ContainsFunc(id.Roles, func(r string) bool { return strings.EqualFold(r, "service") || strings.EqualFold(r, "admin") }) && id.SystemScope == "" {
		k.log.Warn("the service identity has neither the service nor the admin role: Keystone's default policy (identity:validate_token) lets it validate no token but its own",
			"user_id", id.UserID, "project_id", id.ProjectID, "roles", strings.Join(id.Roles, ","))
	}
	return nil
}

// Status reports whether the service identity is usable, for /readyz:
// not while there is no service token to use (authentication failing,
// a static token expired) or Keystone refuses the one we have.
func (k *Keystone) Status() (bool, string) {
	return k.svc.status()
}
