package testenv

import (
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// StockOPA runs "opa run -s" with args (a bundle with -b, or a config
// with -c) on a free loopback port until the test ends, and returns its
// URL once every bundle is active (/health?bundles is 200).
func StockOPA(t testing.TB, args ...string) string {
	t.Helper()
	opa := OPA(t)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var logs SyncBuffer
	cmd := exec.Command(opa, append([]string{"run", "-s", "--addr", addr, "--log-level", "error"}, args...)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	waitOK(t, fmt.Sprintf("opa run %v", args), url+"/health?bundles", &logs)
	return url
}

// waitOK waits up to 30 s for url to answer 200; what names the process
// and logs are its output, both for the failure.
func waitOK(t testing.TB, what, url string, logs *SyncBuffer) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %s: %v\n%s", what, url, err, logs.String())
		}
	}
}
