package server_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/translate/oslo"
)

// TestDefaultsAgainstGlance replays the peer's defaults suite against
// Glance's registered defaults alone, in legacy mode and with
// enforce_new_defaults (Glance's secure RBAC).
func TestDefaultsAgainstGlance(t *testing.T) {
	for _, mode := range []struct {
		file string
		opts oslo.Options
	}{
		{"defaults_legacy.txt", oslo.Options{}},
		{"defaults_srbac.txt", oslo.Options{EnforceNewDefaults: true}},
	} {
		t.Run(mode.file, func(t *testing.T) {
			glance := readDefaultsResults(t, peerDir+mode.file)
			// Glance's registered defaults alone: dirPolicy adds them.
			w := dirPolicyWith(t, map[string]string{}, bundles.Options{Options: mode.opts})
			h := newHarness(t, w, nil)
			who := func(project, roles string) map[string]string {
				var rs []string
				if roles != "" {
					rs = strings.Split(roles, ",")
				}
				return tok(h.token(project, rs...))
			}
			// scenarios.py defaults(): P1's member creates a (shared, by
			// default) image; P1's admin creates public, community and
			// shared ones; P2 is made a member of the shared one.
			own := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
			vis := map[string]imagestore.Image{}
			for _, v := range []string{imagestore.Public, imagestore.Community, imagestore.Shared} {
				vis[v] = h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: v})
			}
			if err := h.store.AddMember(t.Context(), vis[imagestore.Shared].ID, p2, "pending"); err != nil {
				t.Fatal(err)
			}
			type probe struct {
				label string
				id    string
				hdr   map[string]string
			}
			var probes []probe
			for _, roles := range []string{"member,reader", "reader", "", "admin"} {
				probes = append(probes, probe{"private, owner project roles='" + roles + "'", own.ID, who(p1, roles)})
			}
			probes = append(probes,
				probe{"private, other project member", own.ID, who(p2, "member,reader")},
				probe{"private, other project admin", own.ID, who(p2, "admin")})
			for _, v := range []string{imagestore.Public, imagestore.Community, imagestore.Shared} {
				for _, roles := range []string{"member,reader", "reader", ""} {
					probes = append(probes, probe{v + ", other project roles='" + roles + "'", vis[v].ID, who(p2, roles)})
				}
			}
			for _, p := range probes {
				compareDefaults(t, h, glance, p.label, p.id, p.hdr)
			}
			if err := h.store.SetStatus(t.Context(), own.ID, imagestore.StatusDeactivated); err != nil {
				t.Fatal(err)
			}
			compareDefaults(t, h, glance, "deactivated, owner member", own.ID, who(p1, "member,reader"))
			compareDefaults(t, h, glance, "deactivated, admin (other project)", own.ID, who(p2, "admin"))
			delete(glance, "add member P2") // setup through the store
			delete(glance, "owner deactivates")
			for label := range glance {
				t.Errorf("%q: recorded but not replayed", label)
			}
		})
	}
}

// compareDefaults asks for the data and compares with Glance's answer. A
// Glance 404 on a visible image is its "get_image is refused too": ours is
// the route's one refusal, 403.
func compareDefaults(t *testing.T, h *harness, glance map[string]defaultsAnswer, label, id string, hdr map[string]string) {
	t.Helper()
	g, ok := glance[label]
	if !ok {
		t.Errorf("%q: not recorded", label)
		return
	}
	delete(glance, label)
	r := h.do("GET", "/v2/images/"+id+"/file", hdr)
	want := g.status
	if g.status == 404 && strings.Contains(g.body, "The resource could not be found.") {
		want = 403 // deliberate: one action per route
	}
	if r.Status != want {
		t.Errorf("%q: ours %d, want %d (Glance %d)", label, r.Status, want, g.status)
		return
	}
	if r.Status == 200 && (string(r.Body) != "0123456789" || r.Header.Get("Content-Length") != g.length) {
		t.Errorf("%q: Content-Length %s body %q; Glance %s", label, r.Header.Get("Content-Length"), r.Body, g.length)
	}
}

type defaultsAnswer struct {
	status       int
	length, body string
}

// readDefaultsResults reads lines of label (62 columns), status, and
// "Content-Length=N body=..." as scenarios.py prints the defaults suite.
func readDefaultsResults(t *testing.T, name string) map[string]defaultsAnswer {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]defaultsAnswer{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 66 {
			t.Fatalf("%s: short line %q", name, line)
		}
		label := strings.TrimRight(line[:62], " ")
		status, rest, _ := strings.Cut(line[63:], " ")
		n, err := strconv.Atoi(status)
		if err != nil {
			t.Fatalf("%s: status in %q", name, line)
		}
		a := defaultsAnswer{status: n}
		if l, ok := strings.CutPrefix(rest, "Content-Length="); ok {
			a.length, a.body, _ = strings.Cut(l, " body=")
		}
		out[label] = a
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLegacyTenantAgainstGlance replays the peer's legacy_tenant suite: a
// "tenant:%(owner)s" rule refuses even the owner and admins, because the
// credentials have project_id and no tenant, in Zed as here.
func TestLegacyTenantAgainstGlance(t *testing.T) {
	policy, err := os.ReadFile(peerDir + "policy-legacy-tenant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	glance := map[string]peerAnswer{}
	data, err := os.ReadFile(peerDir + "legacy_tenant.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		label, a, err := parsePeerLine(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		glance[label] = a
	}
	h := newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": string(policy)}), nil)
	own := h.image(digits, imagestore.ImportOptions{Owner: sp(p1)})
	comm := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Community})
	m1 := tok(h.token(p1, "member"))
	for _, p := range []struct {
		label, id string
		hdr       map[string]string
	}{
		{`download_image="tenant:%(owner)s" owner`, own.ID, m1},
		{`download_image="tenant:%(owner)s" admin`, own.ID, tok(h.token(p1, "admin"))},
		{"get_image=!: community other project dl", comm.ID, tok(h.token(p2, "member"))},
		{"get_image=!: owner dl (download rule false)", comm.ID, m1},
	} {
		g, ok := glance[p.label]
		if !ok {
			t.Errorf("%q: not recorded", p.label)
			continue
		}
		delete(glance, p.label)
		r := h.do("GET", "/v2/images/"+p.id+"/file", p.hdr)
		want := g.Status
		if g.Status == 404 && strings.Contains(g.Body, "The resource could not be found.") {
			want = 403 // Glance's "get_image refused too": one action per route here
		}
		if r.Status != want {
			t.Errorf("%q: ours %d, want %d (Glance %d)", p.label, r.Status, want, g.Status)
		}
		if r.Status == 200 && (r.Header.Get("Content-MD5") != g.Header["Content-MD5"] || r.Header.Get("Content-Length") != g.Header["Content-Length"]) {
			t.Errorf("%q: headers %v; Glance %v", p.label, r.Header, g.Header)
		}
	}
	for label := range glance {
		t.Errorf("%q: recorded but not replayed", label)
	}
}
