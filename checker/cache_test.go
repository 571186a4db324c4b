package checker

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oslorego/oslorego/rego"
)

// TestEngineCacheCompilesOncePerKeyInParallel: two maps compile at the
// same time (neither waits for the other's compile), callers of one map
// share its single compile, errors included, and the cache stays bounded.
func TestEngineCacheCompilesOncePerKeyInParallel(t *testing.T) {
	started := make(chan string, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	builds := map[string]int{}
	c := newEngineCache(2, func(rules string, def defaultRule) (*rego.Engine, error) {
		mu.Lock()
		builds[rules]++
		mu.Unlock()
		started <- rules
		<-release
		if rules == "bad" {
			return nil, errors.New("bad rules")
		}
		return &rego.Engine{}, nil
	})
	type result struct {
		key string
		eng *rego.Engine
		err error
	}
	results := make(chan result, 16)
	get := func(key string) {
		eng, err := c.get(key, defaultRule{})
		results <- result{key, eng, err}
	}
	go get("a")
	go get("bad")
	for seen := map[string]bool{}; len(seen) < 2; {
		select {
		case k := <-started:
			seen[k] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("only %v compiling: compiles of different maps wait for each other", seen)
		}
	}
	for range 6 {
		go get("a")
		go get("bad")
	}
	close(release)
	engs := map[*rego.Engine]bool{}
	for range 14 {
		r := <-results
		switch {
		case r.key == "a" && (r.err != nil || r.eng == nil):
			t.Errorf("a: %v, %v", r.eng, r.err)
		case r.key == "a":
			engs[r.eng] = true
		case r.key == "bad" && (r.eng != nil || r.err == nil || r.err.Error() != "bad rules"):
			t.Errorf("bad: %v, %v", r.eng, r.err)
		}
	}
	if len(engs) != 1 {
		t.Errorf("callers of one map got %d engines, want 1", len(engs))
	}
	if builds["a"] != 1 || builds["bad"] != 1 {
		t.Errorf("compiles %v, want one per map", builds)
	}
	// Bounded: a third entry drops the two kept, so "a" compiles again.
	c.get("c", defaultRule{})
	c.get("a", defaultRule{})
	if builds["a"] != 2 {
		t.Errorf("a compiled %d times after the cache was full, want 2", builds["a"])
	}
	// The default rule is part of the key.
	c.get("a", defaultRule{set: true, none: true})
	if builds["a"] != 3 {
		t.Errorf("a with no default rule compiled %d times in all, want 3", builds["a"])
	}
}
