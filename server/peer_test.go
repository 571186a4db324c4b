package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/python"
)

// The peer's recording: a real Zed glance-api (Debian python3-glance
// 25.1.0) with the policy file next to it, probed by scenarios.py's core
// suite. See testdata/glance-peer/README.md.
const (
	peerDir     = "testdata/glance-peer/"
	peerResults = peerDir + "core.txt"
	peerPolicy  = peerDir + "policy.yaml"
)

// peerHeaders are the response headers scenarios.py records (its DL tuple).
var peerHeaders = []string{"Content-Type", "Content-Length", "Content-MD5", "Content-Range"}

// peerAnswer is one answer: Glance's as core.txt records it, or ours in the
// same shape. Header values are as scenarios.py prints them: "None" for an
// absent header. Body is scenarios.py's tail: Python's repr of the first 40
// bytes of a non-empty success body, the text of an error body, "" when
// nothing was printed.
type peerAnswer struct {
	Status int
	// Header is nil when the probe recorded no headers (show=()).
	Header map[string]string
	Body   string
	// bodyShown is whether the line has a " body=" tail (maybe empty).
	bodyShown bool
}

// line is the answer as scenarios.py prints it ('%-62s %s %s%s').
func (a peerAnswer) line(label string) string {
	var extra []string
	if a.Header != nil {
		for _, k := range peerHeaders {
			extra = append(extra, k+"="+a.Header[k])
		}
	}
	tail := ""
	if a.bodyShown {
		tail = " body=" + a.Body
	}
	return fmt.Sprintf("%-62s %d %s%s", label, a.Status, strings.Join(extra, " "), tail)
}

func (a peerAnswer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", a.Status)
	for _, k := range peerHeaders {
		if v, ok := a.Header[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	if a.Body != "" {
		fmt.Fprintf(&b, " body=%s", a.Body)
	}
	return b.String()
}

func peerSuccess(status int) bool { return status == 200 || status == 204 || status == 206 }

// peerNotCompared are core.txt lines that are no download answers of ours:
// mutations through Glance API routes that we do not serve. The replay
// makes the same change through the image store instead, which only
// stands in for Glance's step when Glance's step did what scenarios.py
// meant, so Glance's recorded status is pinned.
var peerNotCompared = map[string]struct {
	glance int
	why    string
}{
	"add member P2 (pending)":                {200, "POST /v2/images/{id}/members (not served): replayed as store.AddMember(P2, pending)"},
	"P2 rejects":                             {200, "PUT /v2/images/{id}/members/{member} (not served): replayed as store.AddMember(P2, rejected)"},
	"P2 accepts":                             {200, "PUT /v2/images/{id}/members/{member} (not served): replayed as store.AddMember(P2, accepted)"},
	"set shared->private (member list kept)": {200, "PATCH /v2/images/{id} (not served): replayed as store.SetVisibility(private); members are kept"},
	"member creates public image":            {403, "POST /v2/images (not served): Glance refused it (publicize_image is role:admin), so nothing is created"},
	"owner member deactivates":               {204, "POST /v2/images/{id}/actions/deactivate (not served): replayed as store.SetStatus(deactivated)"},
	"owner member reactivates":               {204, "POST /v2/images/{id}/actions/reactivate (not served): replayed as store.SetStatus(active)"},
	"delete image":                           {204, "DELETE /v2/images/{id} (not served): replayed as store.Delete"},
}

// peerDiffers are the deliberate differences: Glance's recorded status (so
// that a new recording with another answer is looked at again) and what we
// answer instead, asserted in full.
var peerDiffers = map[string]struct {
	glance int
	ours   peerAnswer
	why    string
}{
	"queued image + Range": {500, peerAnswer{Status: 204, Header: noHeaders()},
		"Glance's serializer compares the queued image's size None with the range start (TypeError) and answers 500; " +
			"we answer what Glance answers without the Range header: 204, no data (the Range is not looked at without data)"},
	"queued image download (member)": {204, peerAnswer{Status: 204, Header: noHeaders()},
		"same 204, but Glance (webob) sends Content-Length: 0 with it; we send none (the handler sets none, net/http " +
			"adds none to a 204), as RFC 9110 §8.6 says a server must not"},
	"queued image w/o test_key (_member_)": {204, peerAnswer{Status: 204, Header: noHeaders()},
		"same 204, but Glance (webob) sends Content-Length: 0 with it; we send none (the handler sets none, net/http " +
			"adds none to a 204), as RFC 9110 §8.6 says a server must not"},
	"v1 GET (removed in Rocky)": {300, peerAnswer{Status: 200, Header: map[string]string{
		"Content-Type": "application/octet-stream", "Content-Length": "10", "Content-MD5": "None", "Content-Range": "None",
	}, Body: "b'0123456789'"},
		"the v1 API was removed in Rocky, so Zed's version negotiation answers 300 (a version list); we serve " +
			"GET /v1/images/{id} as Glance ≤ Queens did: the data with x-image-meta-* headers and ETag, no Content-MD5"},
}

func noHeaders() map[string]string {
	return map[string]string{"Content-Type": "None", "Content-Length": "None", "Content-MD5": "None", "Content-Range": "None"}
}

// A real Zed glance-api and this server, given the same policy file and
// the same images, answer the same status and download headers to every
// probe of scenarios.py's core suite, replayed in the same order with the
// same identities. Error bodies are not compared: Glance's are webob
// text/plain, ours JSON.
func TestSameAnswersAsGlance(t *testing.T) {
	glance, order := parsePeerResults(t, peerResults)
	policy, err := os.ReadFile(peerPolicy)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": string(policy)}), nil)
	r := &peerReplay{t: t, h: h, glance: glance}
	peerCore(r)

	// Nothing skipped silently: the replay and the recording are the same
	// labels in the same order, and every exception names a replayed line.
	if !slices.Equal(r.order, order) {
		t.Errorf("replayed labels differ from %s:\n%s", peerResults, labelDiff(r.order, order))
	}
	replayed := map[string]bool{}
	for _, l := range r.order {
		replayed[l] = true
	}
	for l := range peerNotCompared {
		if !replayed[l] {
			t.Errorf("peerNotCompared names %q, which the replay does not have", l)
		}
	}
	for l := range peerDiffers {
		if !replayed[l] {
			t.Errorf("peerDiffers names %q, which the replay does not have", l)
		}
		if _, ok := peerNotCompared[l]; ok {
			t.Errorf("%q is both not compared and a difference", l)
		}
	}
	t.Logf("%d lines: %d compared (%d the same, %d deliberate differences), %d not compared",
		len(r.order), r.same+r.differing, r.same, r.differing, r.skipped)
}

// peerCore is scenarios.py's core(), step by step.
func peerCore(r *peerReplay) {
	h := r.h
	ctx := context.Background()
	p3 := "p3" + strings.Repeat("c", 30)
	if p1 != "p1"+strings.Repeat("a", 30) || p2 != "p2"+strings.Repeat("b", 30) {
		r.t.Fatalf("p1 %q, p2 %q: not scenarios.py's P1, P2", p1, p2)
	}
	m1 := tok(h.token(p1, "member"))
	mm1 := tok(h.token(p1, "_member_"))
	a1 := tok(h.token(p1, "admin"))
	m2 := tok(h.token(p2, "member"))
	mm2 := tok(h.token(p2, "_member_"))
	r1 := tok(h.token(p1, "reader"))
	testKey := map[string]string{"test_key": "test_key"}
	// create(): name img, raw/bare, Glance's default visibility (shared),
	// owned by the creator's project.
	create := func(owner string, visibility string, props map[string]string) imagestore.Image {
		return h.image(nil, imagestore.ImportOptions{Name: "img", Owner: sp(owner), Visibility: visibility, DiskFormat: "raw", ContainerFormat: "bare", Properties: props})
	}
	upload := func(owner string, visibility string, props map[string]string) imagestore.Image {
		return h.image(digits, imagestore.ImportOptions{Name: "img", Owner: sp(owner), Visibility: visibility, DiskFormat: "raw", ContainerFormat: "bare", Properties: props})
	}
	file := func(id string) string { return "/v2/images/" + id + "/file" }

	iid := upload(p1, "", testKey).ID
	f := file(iid)
	r.get("owner member download", f, m1)
	r.probe("owner member HEAD /file (no HEAD route?)", "HEAD", f, m1)
	r.get("owner _member_ download (restricted rule)", f, mm1)
	r.get("owner _Member_ (case) download", f, tok(h.token(p1, "_Member_")))
	r.get("owner _member_+admin download", f, tok(h.token(p1, "_member_", "admin")))
	r.get("owner reader-only download", f, r1)
	r.get("owner no-roles download", f, tok(h.token(p1)))
	r.get("admin(own project) download", f, a1)
	r.get("admin(other project) download private", f, tok(h.token(p3, "admin")))
	r.get("other-project member download private", f, m2)
	r.get("other-project _member_ download private", f, mm2)
	// fakeauth without X-Identity-Status: Confirmed is unauthenticated;
	// here, no token at all.
	r.get("no X-Identity-Status", f, nil)
	r.get("nonexistent id", file(strings.Repeat("0", 36)), m1)
	r.get("overlong id (37 chars)", file(strings.Repeat("0", 37)), m1)
	for _, rng := range []string{"bytes=0-4", "bytes=5-", "bytes=-3", "bytes=-20", "bytes=3-100",
		"bytes=9-9", "bytes=10-", "bytes=0-1,3-4", "bytes=abc", "bytes=4-2", "items=0-1"} {
		r.get("Range: "+rng, f, with(m1, "Range", rng))
	}
	for _, crng := range []string{"bytes 1-3/*", "bytes 1-3/10", "bytes 0-20/*", "bytes 10-12/*"} {
		r.get("(request) Content-Range: "+crng, f, with(m1, "Content-Range", crng))
	}
	r.get("_member_ + Range (policy before range)", f, with(mm1, "Range", "bytes=0-4"))
	r.get("member Range start>size", f, with(m1, "Range", "bytes=99-"))

	// queued images (no data)
	fq := file(create(p1, "", testKey).ID)
	r.get("queued image download (member)", fq, m1)
	r.get("queued image download (_member_ restricted)", fq, mm1)
	r.get("queued image + Range", fq, with(m1, "Range", "bytes=0-1"))
	r.get("queued image w/o test_key (_member_)", file(create(p1, "", nil).ID), mm1)

	// image without test_key
	n := upload(p1, "", nil).ID
	r.get("image w/o test_key, _member_", file(n), mm1)

	// sharing
	s := upload(p1, imagestore.Shared, testKey).ID
	fs := file(s)
	r.get("shared, P2 not a member", fs, m2)
	r.setup("add member P2 (pending)", func() error { return h.store.AddMember(ctx, s, p2, "pending") })
	r.get("shared, P2 pending member download", fs, m2)
	r.get("shared, P2 pending _member_ download", fs, mm2)
	r.get("shared, P2 pending GET image", "/v2/images/"+s, m2)
	r.setup("P2 rejects", func() error { return h.store.AddMember(ctx, s, p2, "rejected") })
	r.get("shared, P2 rejected member download", fs, m2)
	r.setup("P2 accepts", func() error { return h.store.AddMember(ctx, s, p2, "accepted") })
	r.get("shared, P2 accepted member download", fs, m2)
	r.setup("set shared->private (member list kept)", func() error { return h.store.SetVisibility(ctx, s, imagestore.Private) })
	r.get("private w/ accepted member P2 download", fs, m2)

	// community
	fc := file(upload(p1, imagestore.Community, testKey).ID)
	r.get("community, P2 member download", fc, m2)
	r.get("community, P2 _member_ download", fc, mm2)

	// public: a member may not create one; an admin of P1 does
	r.setup("member creates public image", func() error { return nil })
	fp := file(upload(p1, imagestore.Public, testKey).ID)
	r.get("public, P2 member download", fp, m2)
	r.get("public, P2 _member_ download", fp, mm2)
	r.get("public, P2 no roles download", fp, tok(h.token(p2)))

	// deactivate
	r.setup("owner member deactivates", func() error { return h.store.SetStatus(ctx, iid, imagestore.StatusDeactivated) })
	r.get("deactivated: owner member download", f, m1)
	r.get("deactivated: owner _member_ download", f, mm1)
	r.get("deactivated: admin download", f, a1)
	r.get("deactivated: other project download", f, m2)
	r.get("deactivated: owner GET image", "/v2/images/"+iid, m1)
	r.setup("owner member reactivates", func() error { return h.store.SetStatus(ctx, iid, imagestore.StatusActive) })
	r.get("reactivated: owner download", f, m1)

	// delete
	r.setup("delete image", func() error { return h.store.Delete(ctx, n) })
	r.get("deleted: owner download", file(n), m1)
	r.get("deleted: admin download", file(n), a1)

	// v1
	r.get("v1 GET (removed in Rocky)", "/v1/images/"+iid, m1)
	r.get("v2 show (direct_url hidden)", "/v2/images/"+iid, m1)
}

// peerReplay runs the steps and compares each answer with Glance's.
type peerReplay struct {
	t                        *testing.T
	h                        *harness
	glance                   map[string]peerAnswer
	order                    []string
	same, differing, skipped int
}

// recorded is Glance's answer for label (ok false, and an error, when
// core.txt has no such line).
func (r *peerReplay) recorded(label string) (peerAnswer, bool) {
	r.t.Helper()
	r.order = append(r.order, label)
	g, ok := r.glance[label]
	if !ok {
		r.t.Errorf("%q: replayed, but %s has no such line", label, peerResults)
	}
	return g, ok
}

// setup is a step that changes state through the store instead of
// Glance's API: not compared, but Glance's status is pinned.
func (r *peerReplay) setup(label string, change func() error) {
	r.t.Helper()
	g, ok := r.recorded(label)
	nc, listed := peerNotCompared[label]
	if !listed {
		r.t.Errorf("%q: a setup step missing from peerNotCompared", label)
	}
	if ok && listed && g.Status != nc.glance {
		r.t.Errorf("%q: Glance answered %d, not %d: the store change no longer stands for Glance's step", label, g.Status, nc.glance)
	}
	if err := change(); err != nil {
		r.t.Fatalf("%q: %v", label, err)
	}
	r.skipped++
}

func (r *peerReplay) get(label, path string, hdr map[string]string) {
	r.t.Helper()
	r.probe(label, "GET", path, hdr)
}

// probe sends one request and compares our answer with Glance's, or with
// the deliberate difference listed for it.
func (r *peerReplay) probe(label, method, path string, hdr map[string]string) {
	r.t.Helper()
	g, ok := r.recorded(label)
	if _, listed := peerNotCompared[label]; listed {
		r.t.Errorf("%q: listed in peerNotCompared but compared", label)
	}
	resp := r.h.do(method, path, hdr)
	ours := peerAnswer{Status: resp.Status, Header: map[string]string{}}
	for _, k := range peerHeaders {
		ours.Header[k] = "None"
		if v := resp.Header.Values(k); len(v) > 0 {
			ours.Header[k] = strings.Join(v, ", ")
		}
	}
	if peerSuccess(resp.Status) && len(resp.Body) > 0 {
		ours.Body = python.BytesRepr(resp.Body[:min(len(resp.Body), 40)])
		if n := strconv.Itoa(len(resp.Body)); ours.Header["Content-Length"] != n {
			r.t.Errorf("%q: Content-Length %s, but %s bytes came", label, ours.Header["Content-Length"], n)
		}
	}
	if !ok {
		return
	}
	want, whatFor := g, "Glance's answer"
	if d, listed := peerDiffers[label]; listed {
		if g.Status != d.glance {
			r.t.Errorf("%q: Glance answered %d, not the %d that the listed difference is about: look again", label, g.Status, d.glance)
		}
		if peerSame(g, d.ours) {
			r.t.Errorf("%q: listed as a difference, but Glance answered the same (%s): remove it from peerDiffers", label, g)
		}
		want, whatFor = d.ours, "the deliberate difference ("+d.why+")"
		r.differing++
	} else {
		r.same++
	}
	if !peerSame(want, ours) {
		r.t.Errorf("%s %s: %q\n  ours:   %s\n  wanted: %s, %s\n  Glance: %s\n  body: %q",
			method, path, label, ours, want, whatFor, g, resp.Body)
		return
	}
	r.t.Logf("%-62s %s", label, ours)
}

// peerSame compares what core.txt records: the status always; headers and
// body of success answers whose headers were recorded. Error bodies are
// not compared (webob text/plain against our JSON).
func peerSame(want, got peerAnswer) bool {
	if want.Status != got.Status {
		return false
	}
	if !peerSuccess(want.Status) || want.Header == nil || got.Header == nil {
		return true
	}
	for _, k := range peerHeaders {
		if want.Header[k] != got.Header[k] {
			return false
		}
	}
	return want.Body == got.Body
}

// parsePeerResults reads core.txt: per line, the label in the first 62
// columns, the status, then (when the probe recorded headers)
// "Content-Type=… Content-Length=… Content-MD5=… Content-Range=…", then
// optionally " body=…". Values may hold spaces ("text/plain;
// charset=UTF-8"): they run up to the next known key.
func parsePeerResults(t *testing.T, name string) (map[string]peerAnswer, []string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]peerAnswer{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		label, a, err := parsePeerLine(line)
		if err != nil {
			t.Fatalf("%s:%d: %v: %q", name, n, err, line)
		}
		if _, dup := out[label]; dup {
			t.Fatalf("%s:%d: label %q twice", name, n, label)
		}
		out[label] = a
		order = append(order, label)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(order) == 0 {
		t.Fatalf("%s: no lines", name)
	}
	return out, order
}

func parsePeerLine(line string) (string, peerAnswer, error) {
	var a peerAnswer
	if len(line) < 64 || line[62] != ' ' {
		return "", a, fmt.Errorf("no 62-column label")
	}
	label := strings.TrimRight(line[:62], " ")
	if label == "" {
		return "", a, fmt.Errorf("empty label")
	}
	status, rest, _ := strings.Cut(line[63:], " ")
	var err error
	if a.Status, err = strconv.Atoi(status); err != nil || a.Status < 100 || a.Status > 599 {
		return "", a, fmt.Errorf("status %q", status)
	}
	const bodyKey = " body="
	if strings.HasPrefix(rest, peerHeaders[0]+"=") {
		a.Header = map[string]string{}
		rest = " " + rest
		for i, k := range peerHeaders {
			key := " " + k + "="
			if !strings.HasPrefix(rest, key) {
				return "", a, fmt.Errorf("%s= expected at %q", k, rest)
			}
			rest = rest[len(key):]
			end := strings.Index(rest, bodyKey)
			if i+1 < len(peerHeaders) {
				end = strings.Index(rest, " "+peerHeaders[i+1]+"=")
				if end < 0 {
					return "", a, fmt.Errorf("no %s= after %s=", peerHeaders[i+1], k)
				}
			}
			if end < 0 {
				end = len(rest)
			}
			a.Header[k], rest = rest[:end], rest[end:]
		}
	} else {
		// No headers recorded: the status is followed by an empty field,
		// so a body tail starts with the separating blank.
		rest = " " + strings.TrimPrefix(rest, " ")
		if strings.TrimSpace(rest) == "" {
			rest = ""
		}
	}
	if rest != "" {
		if !strings.HasPrefix(rest, bodyKey) {
			return "", a, fmt.Errorf("unexpected %q", rest)
		}
		a.Body, a.bodyShown = rest[len(bodyKey):], true
	}
	// Lossless or an error: printed again, the answer is the same line.
	if again := a.line(label); again != line {
		return "", a, fmt.Errorf("parsed as %q", again)
	}
	return label, a, nil
}

// labelDiff says which labels are only on one side, or out of order.
func labelDiff(replayed, recorded []string) string {
	var b strings.Builder
	for _, l := range recorded {
		if !slices.Contains(replayed, l) {
			fmt.Fprintf(&b, "  recorded but not replayed: %q\n", l)
		}
	}
	for _, l := range replayed {
		if !slices.Contains(recorded, l) {
			fmt.Fprintf(&b, "  replayed but not recorded: %q\n", l)
		}
	}
	for i := 0; i < min(len(replayed), len(recorded)); i++ {
		if replayed[i] != recorded[i] {
			fmt.Fprintf(&b, "  first difference in order at line %d: replayed %q, recorded %q\n", i+1, replayed[i], recorded[i])
			break
		}
	}
	return b.String()
}
