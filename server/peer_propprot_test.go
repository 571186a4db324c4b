package server_test

import (
	"bufio"
	"bytes"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/imagestore"
)

// TestPropertyProtectionsAgainstGlance replays the peer's propprot suite:
// the same policy and protections, the same images, the same callers. We
// answer what Glance answered, except where Glance fails open: a
// download rule on a property the caller may not read, which Glance v2
// drops from the target (so "not (...)" holds), and we keep.
func TestPropertyProtectionsAgainstGlance(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(peerDir + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	h := newHarness(t, dirPolicy(t, map[string]string{
		"policy.yaml":                     read("policy-propprot.yaml"),
		"property-protections-roles.conf": read("property-protections-roles.conf"),
	}), nil)
	// scenarios.py propprot(): images created by P1's admin (default
	// visibility shared), 10 bytes.
	both := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Properties: map[string]string{"test_key": "test_key", "secret_key": "s"}})
	secret := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Properties: map[string]string{"secret_key": "s"}})
	m1, mm1, a1 := tok(h.token(p1, "member")), tok(h.token(p1, "_member_")), tok(h.token(p1, "admin"))

	glance := map[string]peerAnswer{}
	keysLine := ""
	sc := bufio.NewScanner(strings.NewReader(read("propprot_roles.txt")))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "_member_ sees props") {
			keysLine = strings.Join(strings.Fields(line[62:]), " ")
			continue
		}
		label, a, err := parsePeerLine(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		glance[label] = a
	}

	// GET image as _member_: only the readable marker is shown.
	v := h.do("GET", "/v2/images/"+both.ID, mm1).json(t)
	var keys []string
	for k := range v {
		if strings.HasSuffix(k, "_key") {
			keys = append(keys, "'"+k+"'")
		}
	}
	sort.Strings(keys)
	if got := "200 keys=[" + strings.Join(keys, ", ") + "]"; got != keysLine {
		t.Errorf("_member_ sees props: ours %q, Glance %q", got, keysLine)
	}

	notCompared := map[string]bool{ // mutations through API routes we do not serve
		"member creates image with secret_key":         true,
		"_member_ removes test_key (delete protected)": true,
		"member adds secret_key (create protected)":    true,
	}
	probes := []struct {
		label, id string
		hdr       map[string]string
		differs   int // our status where we differ on purpose, else 0
	}{
		{"_member_ (test_key readable) restricted", both.ID, mm1, 0},
		{"member", both.ID, m1, 0},
		{"_member_, only secret_key (unreadable)", secret.ID, mm1, 403},
		{"admin, only secret_key", secret.ID, a1, 0},
	}
	for _, p := range probes {
		g, ok := glance[p.label]
		if !ok {
			t.Errorf("%q: not in propprot_roles.txt", p.label)
			continue
		}
		delete(glance, p.label)
		r := h.do("GET", "/v2/images/"+p.id+"/file", p.hdr)
		if p.differs != 0 {
			if g.Status == p.differs || r.Status != p.differs {
				t.Errorf("%q: ours %d, Glance %d; the listed difference is ours %d", p.label, r.Status, g.Status, p.differs)
			}
			continue
		}
		if r.Status != g.Status {
			t.Errorf("%q: ours %d, Glance %d", p.label, r.Status, g.Status)
		}
		if r.Status == 200 && (!bytes.Equal(r.Body, digits) || r.Header.Get("Content-MD5") != g.Header["Content-MD5"] || r.Header.Get("Content-Length") != g.Header["Content-Length"]) {
			t.Errorf("%q: headers %v, Glance %v", p.label, r.Header, g.Header)
		}
	}
	for label := range glance {
		if !notCompared[label] {
			t.Errorf("%q: in propprot_roles.txt but not replayed", label)
		}
	}
}
