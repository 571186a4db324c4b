package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oslorego/oslorego/bundles"
)

// SIGHUP reloads the built-in bundle (a no-op, logged) instead of killing
// the server, as it did when only --bundle installed a handler.
func TestServeBuiltinSurvivesSIGHUP(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--decision-log", "off"}, strings.NewReader(""), io.Discard, &errb)
	}()
	waitFor(t, &errb, done, "serving Glance downloads on", 1)
	if !strings.Contains(errb.String(), "policy bundle loaded") || !strings.Contains(errb.String(), "bundle=\"built-in glance bundle\"") {
		t.Errorf("the built-in bundle's load is not logged:\n%s", errb.String())
	}
	for i := 0; i < 2; i++ {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &errb, done, `msg="policy bundle unchanged"`, i+1)
	}
	if n := strings.Count(errb.String(), "SIGHUP: reloading the policy bundle"); n != 2 {
		t.Errorf("%d SIGHUP log lines, want 2:\n%s", n, errb.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d: %s", code, errb.String())
	}
}

// waitFor waits until the server's output contains want n times, failing
// if the server exits first. (Not a timing assertion: the deadline only bounds a
// hung test.)
func waitFor(t *testing.T, out *lockedBuffer, done <-chan int, want string, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); strings.Count(out.String(), want) < n; time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output:\n%s", want, out.String())
		}
	}
}

// eval decides with the modules a built bundle serves, not with its
// recorded oslo sources translated again: a bundle whose translated module
// was altered is decided as altered, and --explain reports the mismatch.
func TestEvalDecidesWithServedModules(t *testing.T) {
	dir := t.TempDir()
	built := filepath.Join(dir, "b.tar.gz")
	if code, _, errOut := runCLI(t, "", "build", "../../bundles/testdata/example", "-o", built); code != 0 {
		t.Fatal(errOut)
	}
	b, err := bundles.Load(context.Background(), bundles.Path(built), bundles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const rule = `rules["download_image"] := lib.any_of([lib.role_lower("admin"), rules.restricted])`
	tampered := false
	for i, m := range b.Modules {
		if m.Path == "/oslo/policy/policy.rego" && strings.Contains(string(m.Raw), rule) {
			b.Modules[i].Raw = []byte(strings.Replace(string(m.Raw), rule, `rules["download_image"] := true`, 1))
			tampered = true
		}
	}
	if !tampered {
		t.Fatal("the translated module no longer has the rule this test alters")
	}
	var buf bytes.Buffer
	if err := bundles.Write(&buf, b, nil); err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(dir, "altered.tar.gz")
	if err := os.WriteFile(altered, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"eval", altered, "--rule", "download_image", "--creds", example + "member.json", "--target", example + "restricted-image.json"}
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"served modules decide", args, 0, "passed: download_image\n", ""},
		{"explained from other sources", append(args, "--explain"), 1, "", "the modules are not what the sources translate to"},
		{"untampered bundle", []string{"eval", built, "--rule", "download_image", "--creds", example + "member.json", "--target", example + "restricted-image.json", "--explain"}, 1, "failed: download_image", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

// SIGINT and SIGTERM both cancel the context every command runs on (serve
// then drains, TestServeSignalDrainsRequestsInFlight); neither kills the
// process outright.
func TestSignalContextCancels(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := signalContext(context.Background())
			defer stop()
			if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				t.Fatalf("%v did not cancel the context", sig)
			}
		})
	}
}
