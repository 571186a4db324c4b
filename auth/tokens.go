package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/renameio/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/internal/jsonexact"
)

// TokenPrefix starts every token AddToken makes, so that a leaked one is
// easy to recognise (and to scan for).
const TokenPrefix = "osr_"

// ErrNoSuchToken means RevokeToken found no token with the given id.
var ErrNoSuchToken = errors.New("no such token")

// tokenFileVersion is the only format version this package reads and writes.
const tokenFileVersion = 1

// tokenFileJSON is the on-disk format. Only SHA-256 hashes of tokens are
// stored, never the tokens.
type tokenFileJSON struct {
	Version int              `json:"version"`
	Tokens  []tokenEntryJSON `json:"tokens"`
}

type tokenEntryJSON struct {
	ID          string    `json:"id"`
	Hash        string    `json:"hash"`
	UserID      string    `json:"user_id"`
	ProjectID   string    `json:"project_id,omitempty"`
	DomainID    string    `json:"domain_id,omitempty"`
	Roles       []string  `json:"roles"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
}

// NewToken is the identity a new local token stands for.
type NewToken struct {
	UserID    string
	ProjectID string
	Roles     []string
	// DomainID is the token's domain scope (Identity.DomainID).
	DomainID string
	// Expires is when the token stops working; zero means never.
	Expires     time.Time
	Description string
}

// TokenInfo describes a stored token without anything secret: the hash
// is never returned.
type TokenInfo struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	ProjectID   string    `json:"project_id,omitempty"`
	DomainID    string    `json:"domain_id,omitempty"`
	Roles       []string  `json:"roles"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created_at"`
	// Expires is zero for a token that never expires.
	Expires time.Time `json:"expires_at,omitzero"`
}

// TokenFile authenticates requests against a local file of hashed tokens
// (the X-Auth-Token header). It re-reads the file whenever it changes, so
// tokens added or revoked while a server runs take effect at once. While
// the file cannot be read or parsed, every token is refused unless
// WithOnError(KeepOnError) was given; each new failure is logged at ERROR
// and counted (it is a prometheus.Collector), and Status reports it. It
// is safe for concurrent use.
type TokenFile struct {
	path    string
	now     func() time.Time // tests move the clock
	log     *slog.Logger
	onError OnError

	mu        sync.Mutex
	seen      fs.FileInfo           // the file as last read (good or bad); nil when absent
	absent    bool                  // the file did not exist at the last read
	good      bool                  // some read succeeded (an absent file counts)
	tokens    map[string]tokenEntry // by Hash
	lastErr   error                 // the last read's failure, nil after a good read
	loggedErr string                // lastErr as last logged, so a failure is logged once
	lastGood  time.Time             // when the last good read was
	badSince  time.Time             // when the current run of failures began
	failures  uint64                // failed reads

	descOK, descErrors, descLastGood, descTokens *prometheus.Desc

	// snap is the state of the last read, for requests to use without
	// f.mu while the file is unchanged: the stat stays on every request,
	// the lock only when the file changed.
	snap atomic.Pointer[tokenSnapshot]
}

// tokenSnapshot is what a read put in force, with what tells whether the
// file changed since.
type tokenSnapshot struct {
	seen     fs.FileInfo
	absent   bool
	good     bool
	lastErr  error
	tokens   map[string]tokenEntry
	refusing error // refusingLocked's answer
}

// NewTokenFile returns a TokenFile reading path. The file is read on first
// use; a missing file means no tokens.
func NewTokenFile(path string, opts ...TokenFileOption) *TokenFile {
	f := &TokenFile{
		path: path, now: time.Now, log: slog.New(slog.DiscardHandler), onError: RefuseOnError,
		descOK: prometheus.NewDesc("oslorego_tokens_file_ok",
			"1 when the last read of the tokens file succeeded (or it is absent), 0 while it is unreadable or corrupt.", nil, nil),
		descErrors: prometheus.NewDesc("oslorego_tokens_file_errors_total",
			"Reads of the tokens file that failed (unreadable or corrupt).", nil, nil),
		descLastGood: prometheus.NewDesc("oslorego_tokens_file_last_success_timestamp_seconds",
			"When the tokens file was last read successfully (Unix time).", nil, nil),
		descTokens: prometheus.NewDesc("oslorego_tokens_file_tokens",
			"Tokens in force: those of the last good read, 0 while every token is refused.", nil, nil),
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Authenticate looks the request's X-Auth-Token up in the file. A missing,
// unknown or expired token is ErrUnauthenticated. A file that cannot be
// read or parsed is ErrUnavailable (the server answers 503): always when
// it has never been readable, and with RefuseOnError (the default) until
// it is fixed, so that a token removed by the edit that broke the file
// is never honoured.
func (f *TokenFile) Authenticate(ctx context.Context, r *http.Request) (*Identity, error) {
	token, err := authToken(r)
	if err != nil {
		return nil, err
	}
	tokens, err := f.current()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	// The hex digest on the stack: the lookup allocates nothing.
	var digest [2 * sha256.Size]byte
	hex.Encode(digest[:], sum[:])
	e, ok := tokens[string(digest[:])]
	// The map lookup already matched; the constant-time compare keeps the
	// check honest should the lookup ever become a prefix or fuzzy one.
	if !ok || subtle.ConstantTimeCompare(e.sum[:], sum[:]) != 1 {
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if !e.ExpiresAt.IsZero() && !f.now().Before(e.ExpiresAt) {
		return nil, fmt.Errorf("%w: token %s expired", ErrUnauthenticated, e.ID)
	}
	return &Identity{
		UserID:    e.UserID,
		ProjectID: e.ProjectID,
		DomainID:  e.DomainID,
		// A copy: the caller may change its Identity.
		Roles:          slices.Clone(e.roles),
		IsAdminProject: true, // oslo.context's default when unknown
	}, nil
}

// tokenEntry is a token in force: its entry in the file, with what every
// request needs worked out once per read of the file.
type tokenEntry struct {
	tokenEntryJSON
	sum   [sha256.Size]byte // Hash decoded
	roles []string          // normalizeRoles(Roles): never nil
}

// newTokenEntry prepares an entry that parseTokenFile accepted.
func newTokenEntry(e tokenEntryJSON) tokenEntry {
	t := tokenEntry{tokenEntryJSON: e, roles: normalizeRoles(e.Roles)}
	// parseTokenFile checked that Hash is a SHA-256 hex digest; were it
	// not, sum stays zero and matches no token's digest.
	if b, err := hex.DecodeString(e.Hash); err == nil && len(b) == sha256.Size {
		copy(t.sum[:], b)
	}
	return t
}

// Reload re-reads the file now, whether or not it changed, and returns
// the read's error. What a failed read leaves in force is the OnError
// choice, as for a failure Authenticate meets.
func (f *TokenFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.readLocked()
	f.publishLocked()
	return err
}

// current returns the tokens in force, re-reading the file first if it
// changed: the file is looked at on every call, the lock taken only when
// it changed.
func (f *TokenFile) current() (map[string]tokenEntry, error) {
	fi, err := os.Stat(f.path)
	if s := f.snap.Load(); s != nil && !fileChanged(s.seen, s.absent, s.good, s.lastErr, fi, err) {
		if s.refusing != nil {
			return nil, s.refusing
		}
		return s.tokens, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshLocked(fi, err) // fi may be older than the state now: at worst a read too many
	f.publishLocked()
	if err := f.refusingLocked(); err != nil {
		return nil, err
	}
	return f.tokens, nil
}

// publishLocked makes the state in force current's snapshot; f.mu must
// be held.
func (f *TokenFile) publishLocked() {
	f.snap.Store(&tokenSnapshot{seen: f.seen, absent: f.absent, good: f.good, lastErr: f.lastErr,
		tokens: f.tokens, refusing: f.refusingLocked()})
}

// refusingLocked returns why every token is refused now, or nil; f.mu
// must be held.
func (f *TokenFile) refusingLocked() error {
	switch {
	case !f.good:
		return fmt.Errorf("%w: tokens file unreadable: %w", ErrUnavailable, f.lastErr)
	case f.lastErr != nil && f.onError == RefuseOnError:
		return fmt.Errorf("%w: tokens file unreadable, every token refused until it is fixed: %w", ErrUnavailable, f.lastErr)
	}
	return nil
}

// refreshLocked re-reads the file if its identity, size or mtime (fi
// and err: a stat of it) changed since the last read; f.mu must be held.
func (f *TokenFile) refreshLocked(fi fs.FileInfo, err error) {
	if fileChanged(f.seen, f.absent, f.good, f.lastErr, fi, err) {
		// readLocked records, logs and counts a failure.
		_ = f.readLocked()
	}
}

// statLocked looks at the file and re-reads it if it changed; f.mu must
// be held.
func (f *TokenFile) statLocked() {
	fi, err := os.Stat(f.path)
	f.refreshLocked(fi, err)
	f.publishLocked()
}

// fileChanged tells whether a stat of the file (fi, err) differs from
// the file as last read (seen, absent) or calls for a new read.
func fileChanged(seen fs.FileInfo, absent, good bool, lastErr error, fi fs.FileInfo, err error) bool {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return !absent || !good || lastErr != nil
	case err != nil:
		return true // let readLocked report it
	}
	// Writers rename a new file into place, so the inode changes even
	// when size and mtime (coarse on some filesystems) do not.
	return seen == nil || !os.SameFile(seen, fi) ||
		!seen.ModTime().Equal(fi.ModTime()) || seen.Size() != fi.Size()
}

// readLocked reads and parses the file; f.mu must be held.
func (f *TokenFile) readLocked() error {
	data, fi, err := readStable(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		f.seen, f.absent = nil, true
		f.succeededLocked(map[string]tokenEntry{})
		return nil
	}
	if err != nil {
		f.failedLocked(fmt.Errorf("reading tokens file: %w", err))
		return f.lastErr
	}
	// Remember the bad file too, so a corrupt file is not re-parsed on
	// every request; a fixed file has a new size, mtime or inode.
	f.seen, f.absent = fi, false
	doc, err := parseTokenFile(f.path, data)
	if err != nil {
		f.failedLocked(err)
		return err
	}
	m := make(map[string]tokenEntry, len(doc.Tokens))
	for _, e := range doc.Tokens {
		m[e.Hash] = newTokenEntry(e)
	}
	f.succeededLocked(m)
	return nil
}

// succeededLocked records a good read; f.mu must be held.
func (f *TokenFile) succeededLocked(tokens map[string]tokenEntry) {
	if f.lastErr != nil {
		f.log.Info("tokens file readable again; its tokens are in force", "path", f.path, "tokens", len(tokens))
	}
	f.tokens, f.good, f.lastErr, f.loggedErr = tokens, true, nil, ""
	f.lastGood, f.badSince = f.now(), time.Time{}
}

// failedLocked records a failed read, logging it unless the same failure
// was logged last; f.mu must be held.
func (f *TokenFile) failedLocked(err error) {
	f.failures++
	if f.lastErr == nil {
		f.badSince = f.now()
	}
	f.lastErr = err
	if err.Error() == f.loggedErr {
		return
	}
	f.loggedErr = err.Error()
	f.log.Error("tokens file unreadable", "path", f.path, "error", err,
		"tokens_on_error", f.onError.String(), "effect", f.effectLocked())
}

// effectLocked says what is in force while the file is bad; f.mu must be
// held.
func (f *TokenFile) effectLocked() string {
	if !f.good || f.onError == RefuseOnError {
		return "every token is refused (503) until the file is fixed"
	}
	return fmt.Sprintf("the %d tokens of the last good read (%s) stay in force", len(f.tokens), f.lastGood.UTC().Format(time.RFC3339))
}

// readStable reads a file and returns the FileInfo of the open file, so
// that the contents and the info describe the same inode.
func readStable(path string) ([]byte, fs.FileInfo, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(fh); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), fi, nil
}

// parseTokenFile decodes and checks a tokens file.
func parseTokenFile(path string, data []byte) (*tokenFileJSON, error) {
	var doc tokenFileJSON
	// Exact names, no unknown or repeated field, nothing after the object.
	if err := jsonexact.Unmarshal(data, &doc, true); err != nil {
		return nil, fmt.Errorf("parsing tokens file %s: %w", path, err)
	}
	if doc.Version != tokenFileVersion {
		return nil, fmt.Errorf("parsing tokens file %s: unsupported version %d (want %d)", path, doc.Version, tokenFileVersion)
	}
	for i, e := range doc.Tokens {
		if b, err := hex.DecodeString(e.Hash); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("parsing tokens file %s: entry %d: hash is not a SHA-256 hex digest", path, i)
		}
		if e.UserID == "" {
			return nil, fmt.Errorf("parsing tokens file %s: entry %d: no user_id", path, i)
		}
	}
	return &doc, nil
}

// AddToken makes a new random token for t, stores its SHA-256 hash in the
// file at path (created with mode 0600 if missing) and returns the token.
// The token itself is stored nowhere: it cannot be shown again.
func AddToken(path string, t NewToken) (token string, err error) {
	if strings.TrimSpace(t.UserID) == "" {
		return "", errors.New("adding token: no user id")
	}
	now := time.Now().UTC()
	if !t.Expires.IsZero() && !t.Expires.After(now) {
		return "", fmt.Errorf("adding token: expiry %s is in the past", t.Expires.Format(time.RFC3339))
	}
	err = updateTokenFile(path, func(doc *tokenFileJSON) error {
		ids := make(map[string]bool, len(doc.Tokens))
		for _, e := range doc.Tokens {
			ids[e.ID] = true
		}
		// A clash of 8-hex-digit ids is rare but would make revoke
		// ambiguous, so draw again.
		for range 16 {
			var raw [32]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return fmt.Errorf("generating token: %w", err)
			}
			tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
			sum := sha256.Sum256([]byte(tok))
			h := hex.EncodeToString(sum[:])
			if ids[h[:8]] {
				continue
			}
			e := tokenEntryJSON{
				ID:          h[:8],
				Hash:        h,
				UserID:      strings.TrimSpace(t.UserID),
				ProjectID:   strings.TrimSpace(t.ProjectID),
				DomainID:    strings.TrimSpace(t.DomainID),
				Roles:       normalizeRoles(t.Roles),
				Description: t.Description,
				CreatedAt:   now,
			}
			if !t.Expires.IsZero() {
				e.ExpiresAt = t.Expires.UTC()
			}
			doc.Tokens = append(doc.Tokens, e)
			token = tok
			return nil
		}
		return errors.New("generating token: no unused id")
	})
	if err != nil {
		return "", fmt.Errorf("adding token: %w", err)
	}
	return token, nil
}

// TokenID returns the id under which a token is listed and revoked: the
// first 8 hex digits of its SHA-256 hash. It reveals nothing usable.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// ListTokens returns the tokens stored at path, in the order they were
// added. A missing file has no tokens.
func ListTokens(path string) ([]TokenInfo, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []TokenInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	doc, err := parseTokenFile(path, data)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(doc.Tokens))
	for _, e := range doc.Tokens {
		out = append(out, TokenInfo{
			ID:          e.ID,
			UserID:      e.UserID,
			ProjectID:   e.ProjectID,
			DomainID:    e.DomainID,
			Roles:       normalizeRoles(e.Roles),
			Description: e.Description,
			Created:     e.CreatedAt,
			Expires:     e.ExpiresAt,
		})
	}
	return out, nil
}

// RevokeToken removes the token with the given id (as ListTokens shows
// it) from the file; the token itself may be given instead of its id. An
// unknown id is ErrNoSuchToken.
func RevokeToken(path, id string) error {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, TokenPrefix) {
		id = TokenID(id)
	}
	id = strings.ToLower(id)
	// Anything else than an id is not echoed: it could be a token.
	if _, err := hex.DecodeString(id); err != nil || len(id) != 8 {
		return fmt.Errorf("revoking token: %w: an id is 8 hex digits", ErrNoSuchToken)
	}
	err := updateTokenFile(path, func(doc *tokenFileJSON) error {
		kept := doc.Tokens[:0]
		found := false
		for _, e := range doc.Tokens {
			if e.ID == id {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		if !found {
			return fmt.Errorf("%w: %q", ErrNoSuchToken, id)
		}
		doc.Tokens = kept
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoking token: %w", err)
	}
	return nil
}

// updateTokenFile applies change to the file under the lock file and
// replaces the file atomically, so that concurrent writers never lose
// each other's entries and readers never see a half-written file.
func updateTokenFile(path string, change func(*tokenFileJSON) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()

	doc := &tokenFileJSON{Version: tokenFileVersion, Tokens: []tokenEntryJSON{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading tokens file: %w", err)
	default:
		// A corrupt file is an error, never silently replaced: that would
		// drop every token in it.
		if doc, err = parseTokenFile(path, data); err != nil {
			return err
		}
	}
	if err := change(doc); err != nil {
		return err
	}
	if doc.Tokens == nil {
		doc.Tokens = []tokenEntryJSON{}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding tokens file: %w", err)
	}
	return writeAtomic(path, append(out, '\n'))
}

// writeAtomic replaces path with data (mode 0600): renameio writes and
// syncs a temporary file beside it and renames it over path.
func writeAtomic(path string, data []byte) error {
	if err := renameio.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing tokens file: %w", err)
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the data is already safe, so failures are ignored.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Lock file timing: holders keep the lock for milliseconds, so a lock
// older than lockStale was left by a crashed process and is broken.
const (
	lockStale   = 30 * time.Second
	lockTimeout = 45 * time.Second
)

// lockFile takes an exclusive lock by creating path (O_EXCL works on every
// platform and filesystem), retrying while another process holds it.
func lockFile(path string) (unlock func(), err error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("locking tokens file: %w", err)
	}
	mine := hex.EncodeToString(nonce[:])
	deadline := time.Now().Add(lockTimeout)
	wait := time.Millisecond
	for {
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := fh.WriteString(mine)
			cerr := fh.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("locking tokens file: %w", errors.Join(werr, cerr))
			}
			return func() {
				// Remove only our own lock, never one a waiter took
				// after breaking ours as stale.
				if b, err := os.ReadFile(path); err == nil && string(b) == mine {
					os.Remove(path)
				}
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking tokens file: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > lockStale {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("locking tokens file: %s is held by another process (remove it if none is running)", path)
		}
		time.Sleep(wait)
		wait = min(wait*2, 50*time.Millisecond)
	}
}
