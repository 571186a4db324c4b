package checker

import (
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/oslorego/oslorego/rego"
)

// engineCache keeps the engines (and compile errors) of per-request
// "rules" maps, so that a stream of requests against the same map
// compiles it once. Each map compiles once, however many workers ask for
// it at the same time, and without holding up workers that want another.
type engineCache struct {
	build func(rules string, def defaultRule) (*rego.Engine, error)
	max   int // entries kept; all are dropped when it is reached
	group singleflight.Group

	mu   sync.Mutex
	done map[string]built
}

type built struct {
	eng *rego.Engine
	err error
}

func newEngineCache(max int, build func(rules string, def defaultRule) (*rego.Engine, error)) *engineCache {
	return &engineCache{build: build, max: max, done: map[string]built{}}
}

func (c *engineCache) lookup(key string) (built, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.done[key]
	return b, ok
}

// get returns the engine of rules with def, compiling it unless it is
// kept or being compiled.
func (c *engineCache) get(rules string, def defaultRule) (*rego.Engine, error) {
	key := def.key() + "\x00" + rules
	if b, ok := c.lookup(key); ok {
		return b.eng, b.err
	}
	v, _, _ := c.group.Do(key, func() (any, error) {
		// A compile of key may have ended between lookup and Do.
		if b, ok := c.lookup(key); ok {
			return b, nil
		}
		eng, err := c.build(rules, def)
		b := built{eng, err}
		c.mu.Lock()
		if len(c.done) >= c.max {
			c.done = map[string]built{}
		}
		c.done[key] = b
		c.mu.Unlock()
		return b, nil
	})
	b := v.(built)
	return b.eng, b.err
}
