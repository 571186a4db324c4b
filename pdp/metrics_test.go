package pdp

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oslorego/oslorego/rego"
)

// switching is a PolicySource that a test reloads.
type switching struct {
	mu  sync.Mutex
	eng *rego.Engine
	rev string
}

func (s *switching) set(eng *rego.Engine, rev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eng, s.rev = eng, rev
}

func (s *switching) Policy() (*rego.Engine, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng, s.rev
}

// The decision counters of a rule carry on across a reload (a new
// state), and an unknown name is counted as "(unknown)" in each.
func TestDecisionCountersAcrossReload(t *testing.T) {
	src := &switching{}
	src.set(engine(t, testPolicy), "rev-1")
	p := newTestPDP(t, src)
	body := checkBody("compute:servers:create", map[string]any{"project_id": "p1"}, member)
	unknown := checkBody("compute:nothing", map[string]any{}, member)
	for _, rev := range []string{"rev-1", "rev-2"} {
		if rev == "rev-2" {
			src.set(engine(t, testPolicy), rev)
		}
		for _, b := range []string{body, unknown} {
			if code, _ := p.post(t, CheckPath, "application/json", b); code != 200 {
				t.Fatalf("%s: %d", rev, code)
			}
		}
	}
	if got := testutil.ToFloat64(p.metrics.decisions.WithLabelValues("compute:servers:create", "allow")); got != 2 {
		t.Errorf("decisions{compute:servers:create,allow} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(p.metrics.decisions.WithLabelValues("(unknown)", "deny")); got != 2 {
		t.Errorf("decisions{(unknown),deny} = %v, want 2", got)
	}
	if recs := p.records(t); recs[len(recs)-1]["bundle_revision"] != "rev-2" {
		t.Errorf("last decision on %v, want rev-2", recs[len(recs)-1]["bundle_revision"])
	}
}
