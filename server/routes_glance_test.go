package server_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/server"
)

// glanceSource is the unpacked python3-glance (Zed) the CI sets up, or ""
// when this machine has none.
func glanceSource(t *testing.T) string {
	home, _ := os.UserHomeDir()
	for _, root := range []string{"oslorego-ci/python3-glance", "glance-peer"} {
		dir := filepath.Join(home, ".cache", root, "root/usr/lib/python3/dist-packages/glance")
		if _, err := os.Stat(filepath.Join(dir, "api/v2/router.py")); err == nil {
			return dir
		}
	}
	t.Skip("no unpacked python3-glance under ~/.cache (.ci/run sets one up)")
	return ""
}

var (
	connectCall = regexp.MustCompile(`(?s)mapper\.connect\((.*?)\)\n`)
	pyString    = regexp.MustCompile(`'([^']*)'`)
	methodsKw   = regexp.MustCompile(`conditions=\{'method': \[([^\]]*)\]\}`)
	pathParam   = regexp.MustCompile(`\{[a-z_]+\}|:[a-z_]+`)
)

// glanceRoutes are the method and path of every route Glance's v2 router
// connects to a controller (its reject_method_resource entries aside).
func glanceRoutes(t *testing.T, routerPy string) map[string]bool {
	src, err := os.ReadFile(routerPy)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range connectCall.FindAllStringSubmatch(string(src), -1) {
		args := m[1]
		if strings.Contains(args, "reject_method_resource") {
			continue
		}
		head, _, _ := strings.Cut(args, "controller=")
		var path strings.Builder // Python's adjacent literals concatenate
		for _, s := range pyString.FindAllStringSubmatch(head, -1) {
			path.WriteString(s[1])
		}
		ms := methodsKw.FindStringSubmatch(args)
		if ms == nil {
			t.Fatalf("router.py: no methods in mapper.connect(%s)", args)
		}
		for _, meth := range pyString.FindAllStringSubmatch(ms[1], -1) {
			out[meth[1]+" "+pathParam.ReplaceAllString("/v2"+path.String(), "{}")] = true
		}
	}
	if len(out) < 50 {
		t.Fatalf("router.py: only %d routes parsed", len(out))
	}
	return out
}

// Every route of Glance Zed's v2 router is in the route table and served
// with --routes all, and the table has no v2 route Glance lacks.
func TestRoutesCoverGlanceRouter(t *testing.T) {
	dir := glanceSource(t)
	glance := glanceRoutes(t, filepath.Join(dir, "api/v2/router.py"))
	ours := map[string]server.Route{}
	for _, r := range server.Routes() {
		if strings.HasPrefix(r.Path, "/v2/") {
			ours[r.Method+" "+pathParam.ReplaceAllString(r.Path, "{}")] = r
		}
	}
	for k := range glance {
		r, ok := ours[k]
		switch {
		case !ok:
			t.Errorf("Glance's %s is not in the route table", k)
		case r.In(server.ModeAll) == server.NotServed:
			t.Errorf("Glance's %s is not served with --routes all", k)
		}
	}
	for k := range ours {
		if !glance[k] {
			t.Errorf("the table's %s is no route of Glance's", k)
		}
	}
}

// Every action the table decides is one Glance registers (glance/policies).
func TestRouteActionsAreGlancePolicies(t *testing.T) {
	dir := glanceSource(t)
	files, err := filepath.Glob(filepath.Join(dir, "policies", "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no glance/policies: %v", err)
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, r := range server.Routes() {
		if r.Action != "" && !regexp.MustCompile(`name="`+r.Action+`"`).MatchString(all.String()) {
			t.Errorf("%s %s decides %q, which Glance does not register", r.Method, r.Path, r.Action)
		}
	}
}
