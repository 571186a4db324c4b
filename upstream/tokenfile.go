package upstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenFile is a TokenSource that reads the token from a file, for an
// operator (or a sidecar) that renews it there. The file is re-read when
// it changes and after Glance refused its token; a token that was refused
// is not given out again until the file holds another one.
type TokenFile struct {
	path string

	mu      sync.Mutex
	token   string
	mod     time.Time
	size    int64
	refused string
}

// NewTokenFile returns a TokenFile reading path.
func NewTokenFile(path string) *TokenFile { return &TokenFile{path: path} }

// Token returns the file's token.
func (f *TokenFile) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if f.token == "" || !st.ModTime().Equal(f.mod) || st.Size() != f.size {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		f.token, f.mod, f.size = strings.TrimSpace(string(b)), st.ModTime(), st.Size()
	}
	switch {
	case f.token == "":
		return "", fmt.Errorf("token file %s is empty", f.path)
	case strings.ContainsAny(f.token, "\r\n\x00"):
		return "", errors.New("token file: the token has characters not allowed in a header")
	case f.token == f.refused:
		return "", fmt.Errorf("token file %s: its token was refused by Glance; waiting for a new one", f.path)
	}
	return f.token, nil
}

// Invalidate marks token as refused.
func (f *TokenFile) Invalidate(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = token
}
