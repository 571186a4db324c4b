package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/shadow"
)

// glanceDefaultDownload is the built-in glance bundle with Glance's own
// download_image instead of the blueprint's restriction: the two differ
// on that one rule.
func glanceDefaultDownload(t *testing.T) server.PolicySource {
	t.Helper()
	entries, err := os.ReadDir("../bundles/glance")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("../bundles/glance", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	restricted := `"download_image": "rule:context_is_admin or (rule:glance_download_image and rule:restricted)"`
	if !strings.Contains(files["policy.yaml"], restricted) {
		t.Fatal("the built-in policy.yaml no longer has the restriction this test removes")
	}
	files["policy.yaml"] = strings.Replace(files["policy.yaml"], restricted, `"download_image": "rule:context_is_admin or rule:glance_download_image"`, 1)
	return dirPolicy(t, files)
}

// decideUnder decides action as the server does under one bundle alone:
// is_admin from its context_is_admin, then the action.
func decideUnder(t *testing.T, p server.PolicySource, action string, target map[string]any, id *auth.Identity) bool {
	t.Helper()
	eng, _ := p.Policy()
	ctx := context.Background()
	creds := server.Credentials(id)
	a, err := eng.Decide(ctx, rego.Request{Rule: "context_is_admin", Target: creds, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	creds["is_admin"] = a.Allowed
	d, err := eng.Decide(ctx, rego.Request{Rule: action, Target: target, Credentials: creds})
	if err != nil || d.Error != "" {
		t.Fatalf("%s: %v %s", action, err, d.Error)
	}
	return d.Allowed
}

// decisionLine is what the tests read of a decision log line.
type decisionLine struct {
	Msg       string `json:"msg"`
	ID        string `json:"decision_id"`
	RequestID string `json:"request_id"`
	Action    string `json:"action"`
	ImageID   string `json:"image_id"`
	Result    string `json:"result"`
	Rule      string `json:"rule"`
	Enforced  string `json:"enforced"`
	Shadow    string `json:"shadow"`
	Revision  string `json:"bundle_revision"`
	ShadowRev string `json:"shadow_revision"`
	Creds     map[string]any
	Target    map[string]any `json:"target"`
}

func decisionLines(t *testing.T, log string) []decisionLine {
	t.Helper()
	var out []decisionLine
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var d decisionLine
		var raw struct {
			Creds map[string]any `json:"credentials"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatal(err)
		}
		d.Creds = raw.Creds
		out = append(out, d)
	}
	return out
}

// The enforced bundle is Glance's default download rule, the shadow the
// blueprint's restriction. Many requests through the real server: every
// answer is the one the same server without a shadow gives, and once the
// queue is drained the disagreement counter is the number of decisions
// the two bundles, asked directly, take differently; each disagreement
// is one decision log line with both revisions and no token.
func TestShadowBundleEndToEnd(t *testing.T) {
	ctx := context.Background()
	enforced, candidate := glanceDefaultDownload(t), glancePolicy(t)
	reg := prometheus.NewRegistry()
	var sh *shadow.Shadow
	h := newHarness(t, enforced, nil, func(c *server.Config) {
		var err error
		sh, err = shadow.New(shadow.Config{Policy: candidate, QueueSize: 4096, DecisionLog: c.DecisionLog, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sh.Close)
		c.Shadow, c.Registry = sh, reg
	})
	plain, err := server.New(server.Config{Images: h.store, Auth: auth.NewTokenFile(h.tokens), Policy: enforced})
	if err != nil {
		t.Fatal(err)
	}
	twin := &harness{t: t, srv: httptest.NewServer(plain)}
	defer twin.srv.Close()

	own := func(p string) *string { return &p }
	data := []byte("image bytes")
	var images []imagestore.Image
	for _, o := range []imagestore.ImportOptions{
		{Name: "plain", Visibility: "private", Owner: own("demo")},
		{Name: "billed", Visibility: "private", Owner: own("demo"), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}},
		{Name: "billed-public", Visibility: "public", Owner: own("other"), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}},
		{Name: "other-code-shared", Visibility: "shared", Owner: own("other"), Properties: map[string]string{"x_billing_code_ntt": "ntt_1"}},
		{Name: "billed-shared", Visibility: "shared", Owner: own("other"), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}},
	} {
		img := h.image(data, o)
		if o.Visibility == "shared" {
			if err := h.store.AddMember(ctx, img.ID, "demo", "accepted"); err != nil {
				t.Fatal(err)
			}
		}
		images = append(images, img)
	}
	tokens := []string{
		h.token("demo", "member"), h.token("other", "member"), h.token("demo", "reader"),
		h.token("demo", "admin"), h.token("demo", "member", "reader"), h.token("demo"),
	}
	var paths []string
	for _, img := range images {
		paths = append(paths, "GET /v2/images/"+img.ID+"/file", "GET /v1/images/"+img.ID, "GET /v2/images/"+img.ID, "HEAD /v1/images/"+img.ID)
	}
	paths = append(paths, "GET /v2/images")

	type sent struct {
		token, requestID string
	}
	var all []sent
	for round := 0; round < 3; round++ {
		for _, tk := range tokens {
			for _, p := range paths {
				method, path, _ := strings.Cut(p, " ")
				got := h.do(method, path, tok(tk))
				want := twin.do(method, path, tok(tk))
				if got.Status != want.Status || !bytes.Equal(got.Body, want.Body) {
					t.Fatalf("%s with the shadow: %d %s; without: %d %s", p, got.Status, got.Body, want.Status, want.Body)
				}
				all = append(all, sent{tk, got.Header.Get("X-Openstack-Request-Id")})
			}
		}
	}
	sh.Close() // drains the queue

	byRequest := map[string]decisionLine{}
	var disagreementLines []decisionLine
	for _, d := range decisionLines(t, h.decisions.String()) {
		switch d.Msg {
		case "decision":
			byRequest[d.RequestID] = d
		case "shadow_disagreement":
			disagreementLines = append(disagreementLines, d)
		}
	}
	authn := auth.NewTokenFile(h.tokens)
	decided, differ := 0, 0
	for _, s := range all {
		d, ok := byRequest[s.requestID]
		if !ok {
			t.Fatalf("no decision line for request %s", s.requestID)
		}
		if d.Result != "allow" && d.Result != "deny" {
			continue // refused before any decision (not_found, ...)
		}
		decided++
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("X-Auth-Token", s.token)
		id, err := authn.Authenticate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		target := map[string]any{"project_id": id.ProjectID}
		if d.ImageID != "" {
			img, err := h.store.Get(ctx, d.ImageID)
			if err != nil {
				t.Fatal(err)
			}
			target = img.Target(id.ProjectID)
		}
		e, c := decideUnder(t, enforced, d.Action, target, id), decideUnder(t, candidate, d.Action, target, id)
		if e != (d.Result == "allow") {
			t.Fatalf("request %s: the server decided %s, the enforced bundle alone %v", s.requestID, d.Result, e)
		}
		if e != c {
			differ++
		}
	}
	if differ == 0 || differ == decided {
		t.Fatalf("%d of %d decisions differ: the test's traffic does not tell the bundles apart", differ, decided)
	}
	if got := sumMetric(t, reg, "oslorego_shadow_disagreements_total"); got != float64(differ) {
		t.Errorf("oslorego_shadow_disagreements_total %v, want %d", got, differ)
	}
	if got := metric(t, reg, "oslorego_shadow_disagreements_total", "download_image"); got != float64(differ) {
		t.Errorf("download_image disagreements %v, want every one (%d)", got, differ)
	}
	if got := sumMetric(t, reg, "oslorego_shadow_decisions_total"); got != float64(decided) {
		t.Errorf("%v shadow decisions, want one per decision (%d)", got, decided)
	}
	if got := sumMetric(t, reg, "oslorego_shadow_dropped_total"); got != 0 {
		t.Errorf("%v dropped", got)
	}
	if len(disagreementLines) != differ {
		t.Errorf("%d disagreement lines, want %d", len(disagreementLines), differ)
	}
	_, enforcedRev := enforced.Policy()
	_, candidateRev := candidate.Policy()
	for _, l := range disagreementLines {
		if l.Revision != enforcedRev || l.ShadowRev != candidateRev || l.Rule != "download_image" || l.Enforced != "allow" || l.Shadow != "deny" ||
			l.Creds["project_id"] == nil || l.Target["x_billing_code_ntt"] != "ntt_3251" {
			t.Errorf("disagreement line %+v", l)
		}
		if d, ok := byDecisionID(byRequest, l.ID); !ok || d.Result != "allow" || d.Action != "download_image" {
			t.Errorf("disagreement %s names no allowed download decision", l.ID)
		}
	}
	for _, tk := range tokens {
		if strings.Contains(h.decisions.String(), tk) {
			t.Fatal("a token reached the decision log")
		}
	}
}

func byDecisionID(byRequest map[string]decisionLine, id string) (decisionLine, bool) {
	for _, d := range byRequest {
		if d.ID == id {
			return d, true
		}
	}
	return decisionLine{}, false
}

// sumMetric is the sum of a counter's series.
func sumMetric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// blockingEvaluator holds every shadow decision until released.
type blockingEvaluator struct {
	started chan struct{}
	release chan struct{}
}

func (b blockingEvaluator) evaluate(context.Context, shadow.Request) (shadow.Decision, error) {
	select {
	case b.started <- struct{}{}:
	default: // only the first start is awaited
	}
	<-b.release
	return shadow.Decision{}, nil
}

// A shadow that never answers delays no request: with its one worker held
// and its queue full, requests are answered as without a shadow and the
// shadow decisions dropped and counted.
func TestShadowFullQueueDelaysNothing(t *testing.T) {
	b := blockingEvaluator{started: make(chan struct{}, 1), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	sh, err := shadow.New(shadow.Config{Evaluate: b.evaluate, QueueSize: 2, Workers: 1, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	defer close(b.release) // before Close: the worker must finish
	h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) { c.Shadow, c.Registry = sh, reg })
	img := h.image([]byte("data"), imagestore.ImportOptions{Visibility: "private", Owner: sp("demo")})
	member := h.token("demo", "member")
	get := func() {
		t.Helper()
		if r := h.do("GET", "/v2/images/"+img.ID+"/file", tok(member)); r.Status != 200 || string(r.Body) != "data" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	get()
	<-b.started // the worker holds the first shadow decision
	for i := 0; i < 9; i++ {
		get() // two are queued, seven dropped
	}
	if got := sumMetric(t, reg, "oslorego_shadow_dropped_total"); got != 7 {
		t.Errorf("dropped %v, want 7", got)
	}
	if r := h.do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("/readyz %d with a full shadow queue", r.Status)
	}
}

// A shadow bundle that is not loaded changes nothing but a metric: the
// answers are the enforced ones and /readyz is 200.
func TestShadowUnloadedChangesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	sh, err := shadow.New(shadow.Config{Policy: noPolicy, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, glancePolicy(t), nil, func(c *server.Config) { c.Shadow, c.Registry = sh, reg })
	img := h.image([]byte("data"), imagestore.ImportOptions{Visibility: "private", Owner: sp("demo"), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}})
	for _, c := range []struct {
		roles  []string
		status int
	}{{[]string{"member"}, 403}, {[]string{"admin"}, 200}, {[]string{"reader"}, 403}} {
		if r := h.do("GET", "/v2/images/"+img.ID+"/file", tok(h.token("demo", c.roles...))); r.Status != c.status {
			t.Errorf("%v: %d, want %d", c.roles, r.Status, c.status)
		}
	}
	if r := h.do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("/readyz %d: %s", r.Status, r.Body)
	}
	sh.Close()
	if got := metric(t, reg, "oslorego_shadow_errors_total", "no_bundle"); got != 3 {
		t.Errorf("no_bundle errors %v, want 3", got)
	}
	if strings.Contains(h.decisions.String(), "shadow_disagreement") {
		t.Error("an unloaded shadow reported a disagreement")
	}
}

// The shadow decides on the whole target even when the enforced rule
// reads none of it: a candidate that reads a property the enforced
// rule does not must see it (a target cut to the enforced rule's
// footprint would hide the marker and miss the disagreement).
func TestShadowSeesPropertiesTheEnforcedRuleDoesNotRead(t *testing.T) {
	enforced := dirPolicy(t, map[string]string{"policy.yaml": `"download_image": "role:member"` + "\n"})
	candidate := dirPolicy(t, map[string]string{"policy.yaml": `"download_image": "role:member and not 'ntt_3251':%(x_billing_code_ntt)s"` + "\n"})
	reg := prometheus.NewRegistry()
	sh, err := shadow.New(shadow.Config{Policy: candidate, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, enforced, nil, func(c *server.Config) { c.Shadow, c.Registry = sh, reg })
	img := h.image([]byte("data"), imagestore.ImportOptions{Visibility: "private", Owner: sp("demo"), Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}})
	if r := h.do("GET", "/v2/images/"+img.ID+"/file", tok(h.token("demo", "member"))); r.Status != 200 {
		t.Fatalf("enforced answer %d, want 200: %s", r.Status, r.Body)
	}
	sh.Close()
	if got := metric(t, reg, "oslorego_shadow_decisions_total", "disagree"); got != 1 {
		t.Errorf("shadow disagreements %v, want 1 (the candidate denies the marked image)", got)
	}
}
