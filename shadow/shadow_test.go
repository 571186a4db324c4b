package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// blocking is an evaluator that holds every decision until released,
// telling each start on started.
type blocking struct {
	started chan Request
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{started: make(chan Request, 16), release: make(chan struct{})}
}

func (b *blocking) evaluate(_ context.Context, req Request) (Decision, error) {
	b.started <- req
	<-b.release
	return Decision{Decision: rego.Decision{Allowed: req.Enforced}, Revision: "shadow-rev"}, nil
}

func newShadow(t *testing.T, cfg Config) (*Shadow, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, reg
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// With the one worker busy and the queue full, Submit drops and counts
// instead of waiting: the caller is never held by the shadow.
func TestSubmitDropsWhenFull(t *testing.T) {
	b := newBlocking()
	s, reg := newShadow(t, Config{Evaluate: b.evaluate, QueueSize: 2, Workers: 1})
	if !s.Submit(Request{ID: "1", Rule: "r"}) {
		t.Fatal("the first request was dropped")
	}
	<-b.started // the worker holds request 1; the queue is empty
	for _, id := range []string{"2", "3"} {
		if !s.Submit(Request{ID: id, Rule: "r"}) {
			t.Fatalf("request %s dropped with room in the queue", id)
		}
	}
	if got := counter(t, reg, "oslorego_shadow_queue_length"); got != 2 {
		t.Errorf("queue length %v, want 2", got)
	}
	for i := 0; i < 5; i++ {
		if s.Submit(Request{ID: "x", Rule: "r"}) {
			t.Fatal("a request was queued past the bound")
		}
	}
	if got := counter(t, reg, "oslorego_shadow_dropped_total"); got != 5 {
		t.Errorf("dropped %v, want 5", got)
	}
	close(b.release)
	s.Close()
	if got := counter(t, reg, "oslorego_shadow_decisions_total", "result", "agree"); got != 3 {
		t.Errorf("%v decisions taken, want the 3 queued", got)
	}
	if s.Submit(Request{Rule: "r"}) {
		t.Error("Submit after Close queued")
	}
	var none *Shadow
	if none.Submit(Request{Rule: "r"}) {
		t.Error("a nil Shadow queued")
	}
	none.Close()
}

// Submit copies the input: the caller's later changes to its maps are not
// what the shadow decides on.
func TestSubmitCopiesInput(t *testing.T) {
	b := newBlocking()
	s, _ := newShadow(t, Config{Evaluate: b.evaluate, Workers: 1})
	target := map[string]any{"tags": []any{"a"}, "props": map[string]any{"k": "v"}}
	creds := map[string]any{"roles": []any{"member"}}
	s.Submit(Request{Rule: "r", Target: target, Credentials: creds})
	target["tags"].([]any)[0] = "changed"
	target["props"].(map[string]any)["k"] = "changed"
	creds["roles"].([]any)[0] = "admin"
	creds["is_admin"] = true
	got := <-b.started
	close(b.release)
	want := `{"Target":{"props":{"k":"v"},"tags":["a"]},"Credentials":{"roles":["member"]}}`
	j, _ := json.Marshal(struct{ Target, Credentials any }{got.Target, got.Credentials})
	if string(j) != want {
		t.Errorf("the shadow decided on %s, want %s", j, want)
	}
}

// Each disagreement is counted by rule and both decisions and logged with
// the input (credentials masked) and both revisions; agreements are only
// counted; errors are counted apart and never disagreements.
func TestDisagreementsAndErrors(t *testing.T) {
	// The candidate allows rule "open", denies "closed", raises on
	// "raises", fails on "fails" and has nothing loaded for "unloaded".
	eval := func(_ context.Context, req Request) (Decision, error) {
		switch req.Rule {
		case "fails":
			return Decision{}, errors.New("engine broke")
		case "unloaded":
			return Decision{}, ErrNoPolicy
		case "raises":
			return Decision{Decision: rego.Decision{Error: "oslo raises"}, Revision: "new"}, nil
		}
		return Decision{Decision: rego.Decision{Allowed: req.Rule == "open", Evaluated: req.Rule}, Revision: "new"}, nil
	}
	var dlog, log bytes.Buffer
	s, reg := newShadow(t, Config{Evaluate: eval, DecisionLog: slog.New(slog.NewJSONHandler(&dlog, nil)), Log: slog.New(slog.NewTextHandler(&log, nil))})
	creds := map[string]any{"user_id": "u1", "project_id": "p1", "roles": []any{"member"}, "is_admin": false, "auth_token": "secret-token"}
	for _, c := range []struct {
		rule     string
		enforced bool
	}{
		{"open", true}, {"open", false}, {"open", false},
		{"closed", false}, {"closed", true},
		{"raises", true}, {"raises", false},
		{"fails", true}, {"unloaded", true}, {"unloaded", false},
	} {
		if !s.Submit(Request{ID: "d-" + c.rule, Rule: c.rule, Target: map[string]any{"project_id": "p1"}, Credentials: creds, Enforced: c.enforced, EnforcedRevision: "old"}) {
			t.Fatal("dropped")
		}
	}
	s.Close()
	want := `
# HELP oslorego_shadow_disagreements_total Requests the shadow bundle decided otherwise than the policy in force, by rule (at most 256, then "other") and both decisions.
# TYPE oslorego_shadow_disagreements_total counter
oslorego_shadow_disagreements_total{enforced="allow",rule="closed",shadow="deny"} 1
oslorego_shadow_disagreements_total{enforced="allow",rule="raises",shadow="deny"} 1
oslorego_shadow_disagreements_total{enforced="deny",rule="open",shadow="allow"} 2
# HELP oslorego_shadow_decisions_total Shadow decisions taken, by result: agree, disagree, error (no shadow bundle loaded, or its evaluation failed).
# TYPE oslorego_shadow_decisions_total counter
oslorego_shadow_decisions_total{result="agree"} 3
oslorego_shadow_decisions_total{result="disagree"} 4
oslorego_shadow_decisions_total{result="error"} 3
# HELP oslorego_shadow_errors_total Shadow decisions that failed, by reason: no_bundle (none loaded yet), evaluation (the engine failed); and policy: the shadow bundle denied because oslo.policy would raise (still compared, as a deny).
# TYPE oslorego_shadow_errors_total counter
oslorego_shadow_errors_total{reason="evaluation"} 1
oslorego_shadow_errors_total{reason="no_bundle"} 2
oslorego_shadow_errors_total{reason="policy"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "oslorego_shadow_disagreements_total", "oslorego_shadow_decisions_total", "oslorego_shadow_errors_total"); err != nil {
		t.Error(err)
	}
	lines := strings.Split(strings.TrimSpace(dlog.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d disagreement lines, want 4:\n%s", len(lines), dlog.String())
	}
	if strings.Contains(dlog.String(), "secret-token") {
		t.Error("an unmasked credential reached the decision log")
	}
	var rec struct {
		Msg         string         `json:"msg"`
		ID          string         `json:"decision_id"`
		Rule        string         `json:"rule"`
		Enforced    string         `json:"enforced"`
		Shadow      string         `json:"shadow"`
		Revision    string         `json:"bundle_revision"`
		ShadowRev   string         `json:"shadow_revision"`
		Target      map[string]any `json:"target"`
		Credentials map[string]any `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != "shadow_disagreement" || rec.ID != "d-"+rec.Rule || rec.Revision != "old" || rec.ShadowRev != "new" ||
		rec.Target["project_id"] != "p1" || rec.Credentials["user_id"] != "u1" || rec.Credentials["auth_token"] != Masked ||
		rec.Enforced == rec.Shadow {
		t.Errorf("disagreement line %s", lines[0])
	}
	if !strings.Contains(dlog.String(), `"shadow_policy_error":"oslo raises"`) {
		t.Errorf("the shadow's policy error is not logged:\n%s", dlog.String())
	}
	if !strings.Contains(log.String(), "engine broke") || strings.Contains(log.String(), "no shadow bundle") {
		t.Errorf("operational log: an engine failure is logged, an unloaded bundle only counted:\n%s", log.String())
	}
}

// A PDP's clients choose rule names: the rule label takes at most
// maxRuleLabels values, then "other".
func TestRuleLabelsBounded(t *testing.T) {
	eval := func(context.Context, Request) (Decision, error) { return Decision{}, nil }
	s, reg := newShadow(t, Config{Evaluate: eval, QueueSize: maxRuleLabels + 50})
	for i := 0; i < maxRuleLabels+50; i++ {
		s.Submit(Request{Rule: fmt.Sprintf("rule%d", i), Enforced: true})
	}
	s.Close()
	if n := testutil.CollectAndCount(s.disagreements); n != maxRuleLabels+1 {
		t.Errorf("%d series, want %d", n, maxRuleLabels+1)
	}
	if got := counter(t, reg, "oslorego_shadow_disagreements_total", "rule", "other"); got != 50 {
		t.Errorf("other: %v, want 50", got)
	}
}

// staticPolicy is a candidate that never changes.
type staticPolicy struct {
	eng *rego.Engine
	rev string
}

func (p staticPolicy) Policy() (*rego.Engine, string) { return p.eng, p.rev }

// The engine evaluator decides is_admin with the candidate's own admin
// rule when asked to (the server's routes), and uses the given one
// otherwise (a PDP's input).
func TestEngineEvaluatorAdminRule(t *testing.T) {
	ctx := context.Background()
	layer, err := oslo.ParseLayer("policy.yaml", []byte(`
"context_is_admin": "role:operator"
"act": "is_admin:True"
`))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := oslo.Build([]*oslo.Layer{layer}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := rego.New(ctx, rego.Policy(pol))
	if err != nil {
		t.Fatal(err)
	}
	eval := EngineEvaluator(staticPolicy{eng, "r1"})
	for _, c := range []struct {
		roles     []any
		given     bool
		adminRule string
		want      bool
	}{
		{[]any{"operator"}, false, "context_is_admin", true},
		{[]any{"admin"}, true, "context_is_admin", false},
		{[]any{"admin"}, true, "", true},
		{[]any{"operator"}, false, "", false},
	} {
		d, err := eval(ctx, Request{Rule: "act", AdminRule: c.adminRule, Credentials: map[string]any{"roles": c.roles, "is_admin": c.given}})
		if err != nil || d.Error != "" {
			t.Fatalf("%v: %v %s", c, err, d.Error)
		}
		if d.Allowed != c.want || d.Revision != "r1" || (c.adminRule != "") != (d.IsAdmin != nil) {
			t.Errorf("%v: allowed %v (is_admin %v), revision %q", c, d.Allowed, d.IsAdmin, d.Revision)
		}
	}
	if _, err := EngineEvaluator(staticPolicy{})(ctx, Request{Rule: "act"}); !errors.Is(err, ErrNoPolicy) {
		t.Errorf("no candidate loaded: %v", err)
	}
}

// Many submitters at once, with Close racing them: no panic, and every
// request is either dropped or decided.
func TestConcurrentSubmitAndClose(t *testing.T) {
	eval := func(context.Context, Request) (Decision, error) { return Decision{}, nil }
	s, reg := newShadow(t, Config{Evaluate: eval, QueueSize: 8, Workers: 2})
	var wg sync.WaitGroup
	var mu sync.Mutex
	queued := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if s.Submit(Request{Rule: "r"}) {
					mu.Lock()
					queued++
					mu.Unlock()
				}
			}
		}()
	}
	s.Close()
	wg.Wait()
	if got := counter(t, reg, "oslorego_shadow_decisions_total", "result", "agree"); got != float64(queued) {
		t.Errorf("%v decided, %d queued", got, queued)
	}
}
