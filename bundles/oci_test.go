package bundles

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
)

// builtRevision builds the example bundle under revision rev, signed.
func builtRevision(t *testing.T, rev string, sign *SignOptions) []byte {
	t.Helper()
	b, err := Load(context.Background(), Path(example), Options{Revision: rev})
	if err != nil {
		t.Fatal(err)
	}
	return write(t, b, sign)
}

// A bundle pushed to a real registry (Debian's docker-registry) is
// served from oci://: verified as any built bundle, not fetched again
// while the tag names the same manifest, a new push to the tag picked up
// within one poll, and a wrongly signed push refused with the last good
// bundle kept.
func TestOCIRegistry(t *testing.T) {
	host := testenv.Registry(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	priv, pub := rsaKeys(t)
	otherPriv, _ := rsaKeys(t)
	sign := &SignOptions{Key: priv, Alg: "RS256", KeyID: "k"}
	ref := OCIScheme + host + "/oslorego/glance:live"
	if _, err := Push(ctx, nil, builtRevision(t, "r1", sign), ref); err != nil {
		t.Fatal(err)
	}
	opts := Options{Verify: &VerifyOptions{Key: pub, Alg: "RS256", KeyID: "k"}}
	l, err := Open(ctx, Path(ref), opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := restricted(t, l.Engine); l.Revision != "r1" || d.Allowed || d.Error != "" {
		t.Fatalf("revision %q, decision %+v", l.Revision, d)
	}
	w := NewWatcher(Path(ref), opts)
	if changed, err := w.Reload(ctx); err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	etag := w.etag
	if changed, same, err := w.reload(ctx); err != nil || changed || !same || !strings.HasPrefix(etag, "sha256:") {
		t.Fatalf("unchanged tag: changed %v, not fetched %v, %v (etag %q)", changed, same, err, etag)
	}
	const poll = 200 * time.Millisecond
	go w.Run(ctx, poll)
	if _, err := Push(ctx, nil, builtRevision(t, "r2", sign), ref); err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()
	for {
		if _, rev := w.Policy(); rev == "r2" {
			break
		}
		if time.Since(pushed) > 2*poll+time.Second {
			t.Fatalf("r2 not in force %v after the push (poll %v): %v", time.Since(pushed), poll, w.LastError())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := Push(ctx, nil, builtRevision(t, "r3", &SignOptions{Key: otherPriv, Alg: "RS256", KeyID: "k"}), ref); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Reload(ctx); err == nil || changed || !strings.Contains(err.Error(), "verif") {
		t.Fatalf("a wrongly signed bundle: changed %v, %v", changed, err)
	}
	if _, rev := w.Policy(); rev != "r2" {
		t.Errorf("in force after the refused push: %q, want r2", rev)
	}
	// Also unsigned, for a watcher that verifies nothing.
	if _, err := Push(ctx, nil, builtRevision(t, "r4", nil), OCIScheme+host+"/oslorego/glance:plain"); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(ctx, Path(OCIScheme+host+"/oslorego/glance:plain"), Options{}); err != nil || l.Revision != "r4" {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := Open(ctx, Path(OCIScheme+host+"/oslorego/glance:plain"), opts); err == nil {
		t.Error("an unsigned bundle passed verification")
	}
	for _, tc := range []struct {
		name string
		push func() error
		open string
		want string
	}{
		{"not a bundle", func() error { _, err := Push(ctx, nil, []byte("hello"), ref); return err }, "", "not a bundle"},
		{"no tag", func() error {
			_, err := Push(ctx, nil, builtRevision(t, "x", nil), OCIScheme+host+"/oslorego/glance")
			return err
		}, "", "no tag"},
		{"unknown tag", nil, OCIScheme + host + "/oslorego/glance:nope", "not found"},
		{"unknown repository", nil, OCIScheme + host + "/nope/nope:live", "not found"},
	} {
		var err error
		if tc.push != nil {
			err = tc.push()
		} else {
			_, err = Open(ctx, Path(tc.open), Options{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, rev := w.Policy(); rev != "r2" {
		t.Errorf("in force at the end: %q, want r2", rev)
	}
}
