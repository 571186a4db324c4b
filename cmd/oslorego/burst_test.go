package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procUsage is what /proc tells of a process: open descriptors, those on
// images.db, and resident memory in KiB.
type procUsage struct{ fds, dbFDs, rssKiB int }

func readProcUsage(pid int) (procUsage, error) {
	var u procUsage
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return u, err
	}
	u.fds = len(entries)
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasSuffix(target, "/images.db") {
			u.dbFDs++
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			u.rssKiB, _ = strconv.Atoi(f[1])
		}
	}
	return u, nil
}

// TestBurstFigures measures an `oslorego serve` binary under a burst of
// concurrent downloads on loopback: descriptors and RSS before, at the
// peak, and idle afterwards. It feeds docs/benchmarks.md and runs only
// when asked:
//
//	go build -o /tmp/oslorego ./cmd/oslorego
//	OSLOREGO_BURST_BIN=/tmp/oslorego go test -run TestBurstFigures -v -timeout 10m ./cmd/oslorego/
//
// OSLOREGO_BURST_N sets the number of concurrent requests (default 2000)
// and OSLOREGO_BURST_IDLE how long to wait idle afterwards (default 130s:
// database/sql checks the store's one-minute idle timeout once a minute).
func TestBurstFigures(t *testing.T) {
	bin := os.Getenv("OSLOREGO_BURST_BIN")
	if bin == "" {
		t.Skip("set OSLOREGO_BURST_BIN to an oslorego binary to measure it")
	}
	n, idle := 2000, 130*time.Second
	if v := os.Getenv("OSLOREGO_BURST_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	if v := os.Getenv("OSLOREGO_BURST_IDLE"); v != "" {
		var err error
		if idle, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", dataDir)...).Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	token := cli("token", "add", "--user", "u", "--project", "demo", "--roles", "member,reader")
	// 1 MiB, so that downloads overlap.
	img := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(img, bytes.Repeat([]byte("x"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("image", "import", img, "--name", "burst", "--owner", "demo", "--id", "burst")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--decision-log", "off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingRx.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	pid := cmd.Process.Pid
	usage := func() procUsage {
		u, err := readProcUsage(pid)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	before := usage()

	var peak procUsage
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if u, err := readProcUsage(pid); err == nil {
				peak.fds, peak.dbFDs, peak.rssKiB = max(peak.fds, u.fds), max(peak.dbFDs, u.dbFDs), max(peak.rssKiB, u.rssKiB)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("GET", url+"/v2/images/burst/file", nil)
			req.Header.Set("X-Auth-Token", token)
			key := ""
			resp, err := client.Do(req)
			if err != nil {
				key = "error"
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				key = strconv.Itoa(resp.StatusCode)
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	close(stopSampling)
	<-sampled
	tr.CloseIdleConnections()
	time.Sleep(5 * time.Second)
	after := usage()
	time.Sleep(idle - 5*time.Second)
	idleUsage := usage()

	t.Logf("%d concurrent downloads of 1 MiB in %v: %v", n, took.Round(time.Millisecond), statuses)
	t.Logf("| when | fds | fds on images.db | RSS MiB |")
	t.Logf("|---|---|---|---|")
	for _, row := range []struct {
		when string
		u    procUsage
	}{{"before the burst", before}, {"peak during the burst", peak}, {"5 s after", after}, {fmt.Sprintf("%v after", idle), idleUsage}} {
		t.Logf("| %s | %d | %d | %.0f |", row.when, row.u.fds, row.u.dbFDs, float64(row.u.rssKiB)/1024)
	}
}
