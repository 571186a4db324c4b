package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServe runs serve with args on a free port until ctx ends; it
// returns the base URL and the exit code channel.
func startServe(t *testing.T, ctx context.Context, args ...string) (string, chan int, *lockedBuffer) {
	t.Helper()
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--decision-log", "off"}, args...), strings.NewReader(""), io.Discard, &errb)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := servingRx.FindStringSubmatch(errb.String()); m != nil {
			return m[1], done, &errb
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
	}
}

// SIGINT (the cancelled context of run) drains: downloads under way and
// requests being decided are answered whole, never cancelled into an
// empty 200. (A request whose headers are not all in when the signal
// comes is not accepted: net/http closes its connection.)
func TestServeSignalDrainsRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OSLOREGO_DATA_DIR", dir)
	data := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	img := filepath.Join(dir, "big.img")
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	id := "0c7b4c0e-0000-4000-8000-00000000000a"
	if code, _, stderr := runCLI(t, "", "image", "import", img, "--name", "big", "--owner", "demo", "--id", id); code != 0 {
		t.Fatal(stderr)
	}
	_, tokOut, _ := runCLI(t, "", "token", "add", "--user", "u", "--project", "demo", "--roles", "member,reader")
	token := strings.TrimSpace(tokOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, errb := startServe(t, ctx)

	// Downloads under way: their first bytes are in.
	var bodies []io.ReadCloser
	for range 4 {
		req, _ := http.NewRequest("GET", url+"/v2/images/"+id+"/file", nil)
		req.Header.Set("X-Auth-Token", token)
		resp, err := (&http.Transport{}).RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v %v", resp, err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
	}
	// Requests being decided when the signal comes: each is answered
	// whole or not at all (connection refused or closed), never with an
	// empty 200.
	type result struct {
		status int
		n      int
		err    error
	}
	results := make(chan result, 40)
	first := make(chan struct{}, 40)
	for range 40 {
		go func() {
			req, _ := http.NewRequest("GET", url+"/v2/images/"+id+"/file", nil)
			req.Header.Set("X-Auth-Token", token)
			resp, err := (&http.Transport{DisableKeepAlives: true}).RoundTrip(req)
			first <- struct{}{}
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && !bytes.Equal(b, data) {
				err = fmt.Errorf("the body differs")
			}
			results <- result{resp.StatusCode, len(b), err}
		}()
	}
	<-first
	cancel() // what SIGINT does
	answered := 0
	for range 40 {
		r := <-results
		switch {
		case r.status == 0: // refused or closed: not served, not misanswered
		case r.status != 200 || r.err != nil:
			t.Errorf("a request in flight at the signal: %d, %d of %d bytes, %v", r.status, r.n, len(data), r.err)
		default:
			answered++
		}
	}
	t.Logf("%d of 40 requests racing the signal were answered whole; the others were not accepted", answered)
	for i, b := range bodies {
		rest, err := io.ReadAll(b)
		if err != nil || len(rest)+1024 != len(data) {
			t.Errorf("download %d after the signal: %d more bytes, %v", i, len(rest), err)
		}
		b.Close()
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
}

func must(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}

// Connections beyond --max-connections wait to be accepted, and are
// served once one closes.
func TestServeMaxConnections(t *testing.T) {
	t.Setenv("OSLOREGO_DATA_DIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, _ := startServe(t, ctx, "--max-connections", "1")
	hold, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(hold, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(hold), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first connection: %v %v", resp, err)
	}
	// The connection stays open (keep-alive): the one slot is taken.
	answered := make(chan int, 1)
	go func() {
		resp, err := (&http.Transport{DisableKeepAlives: true}).RoundTrip(must(http.NewRequest("GET", url+"/healthz", nil)))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		t.Fatalf("a connection beyond the limit was served (%d)", code)
	case <-time.After(300 * time.Millisecond):
	}
	hold.Close()
	if code := <-answered; code != 200 {
		t.Errorf("the waiting connection: %d", code)
	}
	cancel()
	<-done
}
