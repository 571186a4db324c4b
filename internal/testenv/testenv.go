// Package testenv is for the module's tests only. It finds what they need
// from outside Go: the shared ground-truth folder beside the repository
// (../shared), the reference Python (Debian bookworm's /usr/bin/python3,
// 3.11) with the Debian packages the tests compare against, the oslo.policy
// oracle, the stock opa CLI, Glance's own code and a running real Keystone
// (../shared/keystone-peer). It also marks the long suites that `go test
// -short` leaves out.
//
// A helper that cannot find its resource skips the test and says how to
// get it, except under CI=true, where the test fails: in CI a missing
// resource is a broken set-up, never a reason to pass.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ReferencePython is the interpreter oslo.policy 4.0.0 runs on in Debian
// bookworm (3.11.2); the tests compare with it, not with the first python3
// on PATH.
const ReferencePython = "/usr/bin/python3"

// CI reports whether the tests run in CI ($CI set, and not "false" or "0"),
// where a missing resource fails the test instead of skipping it.
func CI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Missing skips t because a resource is missing, or fails it under CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true requires it: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}

// Long marks t as one of the long suites (a corpus, a differential against
// a reference, the stock opa CLI, a big random sweep): -short skips it.
// Call it first, before looking for resources.
func Long(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("a long suite: runs without -short (and in .ci/run)")
	}
}

// findShared returns the first <dir>/shared holding policies/, walking up
// from the working directory: ../shared beside the repository (or beside
// a worktree of it).
func findShared() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("shared folder: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared")
		if st, err := os.Stat(filepath.Join(cand, "policies")); err == nil && st.IsDir() {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no shared/policies in any parent of %s (the ground truth, ../shared beside the repository)", wd)
		}
	}
}

// SharedDir returns the shared ground-truth folder (../shared).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := findShared()
	if err != nil {
		Missing(t, "%v", err)
	}
	return dir
}

// Shared returns the path of elem inside the shared folder, which must
// exist.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p, err := sharedPath(elem)
	if err != nil {
		Missing(t, "%v", err)
	}
	return p
}

// MaybeShared is Shared for a test that still has work to do without the
// file: outside CI it logs the absence and returns false.
func MaybeShared(t testing.TB, elem ...string) (string, bool) {
	t.Helper()
	p, err := sharedPath(elem)
	if err != nil {
		if CI() {
			t.Fatalf("CI=true requires it: %v", err)
			return "", false
		}
		t.Logf("%v: checking without it", err)
		return "", false
	}
	return p, true
}

func sharedPath(elem []string) (string, error) {
	dir, err := findShared()
	if err != nil {
		return "", err
	}
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shared folder: %w", err)
	}
	return p, nil
}

// pythonChecks memoises checkPython per interpreter and module list: a fact
// about the machine, the same for every test of the process.
var pythonChecks sync.Map // string -> error

// checkPython reports whether python is a 3.11 that imports every module.
func checkPython(python string, modules []string) error {
	key := python + "\x00" + strings.Join(modules, ",")
	if v, ok := pythonChecks.Load(key); ok {
		err, _ := v.(error)
		return err
	}
	script := "import sys\nassert sys.version_info[:2] == (3, 11), 'Python %s, not 3.11' % sys.version.split()[0]\n"
	for _, m := range modules {
		script += "import " + m + "\n"
	}
	var err error
	if _, serr := os.Stat(python); serr != nil {
		err = fmt.Errorf("reference interpreter: %w", serr)
	} else if out, rerr := exec.Command(python, "-c", script).CombinedOutput(); rerr != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		err = fmt.Errorf("%s cannot run the tests' Python (needs 3.11 and %s): %v: %s",
			python, strings.Join(modules, ", "), rerr, lines[len(lines)-1])
	}
	pythonChecks.Store(key, err)
	return err
}

// Python returns ReferencePython after checking that it is a 3.11 that
// imports every module (Debian names them python3-<module>; for example
// oslo_policy is python3-oslo.policy, yaml python3-yaml).
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	if err := checkPython(ReferencePython, modules); err != nil {
		pkgs := []string{"python3"}
		for _, m := range modules {
			pkgs = append(pkgs, debianPackage(m))
		}
		Missing(t, "%v (apt-get install -y %s)", err, strings.Join(pkgs, " "))
	}
	return ReferencePython
}

// debianPackage names the Debian package of a Python module:
// oslo_serialization.jsonutils is in python3-oslo.serialization.
func debianPackage(module string) string {
	top, _, _ := strings.Cut(module, ".")
	return "python3-" + strings.ReplaceAll(top, "_", ".")
}

// OracleScript is where the oracle script lives inside the shared folder.
const OracleScript = "oracle/oslo_oracle.py"

// FindOracle locates the oslo.policy oracle: the script is $OSLO_ORACLE if
// set, otherwise ../shared/oracle/oslo_oracle.py; the interpreter is
// $OSLO_ORACLE_PYTHON if set, otherwise ReferencePython, and it must import
// oslo_policy and oslo_config. The error says why the oracle is unusable.
func FindOracle() (python, script string, err error) {
	python = ReferencePython
	if p := os.Getenv("OSLO_ORACLE_PYTHON"); p != "" {
		python = p
	}
	if script = os.Getenv("OSLO_ORACLE"); script != "" {
		if _, err := os.Stat(script); err != nil {
			return "", "", fmt.Errorf("oracle: $OSLO_ORACLE: %w", err)
		}
	} else if script, err = sharedPath(strings.Split(OracleScript, "/")); err != nil {
		return "", "", fmt.Errorf("oracle: %w (or set OSLO_ORACLE)", err)
	}
	if err := checkPython(python, []string{"oslo_policy", "oslo_config"}); err != nil {
		return "", "", fmt.Errorf("oracle: %w", err)
	}
	return python, script, nil
}

// Oracle returns the oslo.policy oracle's interpreter and script.
func Oracle(t testing.TB) (python, script string) {
	t.Helper()
	python, script, err := FindOracle()
	if err != nil {
		Missing(t, "%v (apt-get install -y python3-oslo.policy)", err)
	}
	return python, script
}

var opaOnce = sync.OnceValues(func() (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "-n", "opa")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n opa: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go tool -n opa: %w", err)
	}
	return path, nil
})

// OPA returns the stock opa CLI, a go tool of this module (built once by
// `go tool -n opa` and cached by the go command).
func OPA(t testing.TB) string {
	t.Helper()
	path, err := opaOnce()
	if err != nil {
		Missing(t, "the stock opa CLI: %v", err)
	}
	return path
}

// GlanceSource returns a Python path directory that holds Glance's own
// code (glance/common/wsgi.py, glance/api/v2/image_data.py, from Debian's
// python3-glance 2:25.1.0, Zed): $GLANCE_PYTHONPATH if set, otherwise the
// glance peer's unpacked root ($GLANCE_PEER_HOME, default
// ~/.cache/glance-peer; ../shared/glance-peer/setup-root.sh), otherwise an
// installed python3-glance. Only the files are read; nothing is imported.
func GlanceSource(t testing.TB) string {
	t.Helper()
	var cands []string
	if p := os.Getenv("GLANCE_PYTHONPATH"); p != "" {
		cands = []string{p}
	} else {
		cands = append(cands, peerPythonPath("GLANCE_PEER_HOME", "glance-peer"), "/usr/lib/python3/dist-packages")
	}
	for _, c := range cands {
		if glanceAt(c) {
			return c
		}
	}
	Missing(t, "Glance's code is not in %s (apt-get download python3-glance && dpkg -x python3-glance_*.deb DIR, then GLANCE_PYTHONPATH=DIR/usr/lib/python3/dist-packages, as .ci/run does)",
		strings.Join(cands, " or "))
	return ""
}

// glanceAt reports whether dir holds the Glance files the tests read.
func glanceAt(dir string) bool {
	for _, f := range []string{"glance/common/wsgi.py", "glance/api/v2/image_data.py"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// peerHome is where a peer of ../shared keeps its state: $env, default
// ~/.cache/name.
func peerHome(env, name string) string {
	if h := os.Getenv(env); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", name)
}

// peerPythonPath is the Python path of the Debian packages a peer
// unpacked into its root.
func peerPythonPath(env, name string) string {
	return filepath.Join(peerHome(env, name), "root", "usr", "lib", "python3", "dist-packages")
}

// KeystonemiddlewareSource returns a Python path directory that holds
// keystonemiddleware's code (keystonemiddleware/auth_token/__init__.py,
// Debian's python3-keystonemiddleware 10.1.0, Zed):
// $KEYSTONEMIDDLEWARE_PYTHONPATH if set, otherwise the keystone peer's
// unpacked root (keystone-peer.sh unpacks it with python3-keystone), the
// glance peer's, or an installed one. Only the files are read.
func KeystonemiddlewareSource(t testing.TB) string {
	t.Helper()
	var cands []string
	if p := os.Getenv("KEYSTONEMIDDLEWARE_PYTHONPATH"); p != "" {
		cands = []string{p}
	} else {
		cands = append(cands, peerPythonPath("KEYSTONE_PEER_HOME", "keystone-peer"),
			peerPythonPath("GLANCE_PEER_HOME", "glance-peer"), "/usr/lib/python3/dist-packages")
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "keystonemiddleware", "auth_token", "__init__.py")); err == nil {
			return c
		}
	}
	Missing(t, "keystonemiddleware's code is not in %s (../shared/keystone-peer/keystone-peer.sh unpacks it, as .ci/run does)",
		strings.Join(cands, " or "))
	return ""
}

// SyncBuffer is a bytes.Buffer that a process's output and a test may use
// at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
