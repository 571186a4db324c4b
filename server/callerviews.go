package server

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/imagestore"
)

// DefaultMaxCallerViews is UpstreamOptions.MaxCallerViews's default: at
// most this many (token, image) views are kept, least recently used
// dropped first.
const DefaultMaxCallerViews = 10000

// callerViews keeps callers' successful views of images
// (UpstreamOptions.CallerViewTTL), keyed by the SHA-256 of the caller's
// token and the image id: the token itself is never kept.
type callerViews struct {
	ttl     time.Duration
	lookups *prometheus.CounterVec
	// counted are lookups' series by result, looked up once.
	counted map[string]prometheus.Counter

	mu      sync.Mutex
	lru     *simplelru.LRU[viewKey, cachedView]
	byImage map[string]map[[sha256.Size]byte]struct{} // the keys of each image's views
	// epoch counts forgets: a view read before one is not kept after
	// it (it may be of the image before the write).
	epoch uint64
}

type viewKey struct {
	token [sha256.Size]byte
	id    string
}

type cachedView struct {
	view    imagestore.Image
	expires time.Time
}

// The results of the caller view lookups metric.
const (
	viewHit     = "hit"     // a fresh view that agreed with the own read: no caller GET
	viewMiss    = "miss"    // none kept
	viewExpired = "expired" // kept, older than the TTL
	viewDropped = "dropped" // kept, but the own read failed or disagreed with it
)

func newCallerViews(ttl time.Duration, size int) (*callerViews, error) {
	v := &callerViews{ttl: ttl, byImage: map[string]map[[sha256.Size]byte]struct{}{},
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_upstream_caller_view_lookups_total",
			Help: "Lookups of a caller's cached view of an image (--upstream-caller-view-ttl), by result: hit (no caller GET upstream), miss, expired, dropped (the gateway's own read failed or disagreed: the caller was asked again).",
		}, []string{"result"})}
	v.counted = map[string]prometheus.Counter{}
	for _, r := range []string{viewHit, viewMiss, viewExpired, viewDropped} {
		v.counted[r] = v.lookups.WithLabelValues(r)
	}
	var err error
	v.lru, err = simplelru.NewLRU(size, v.evicted)
	return v, err
}

// evicted keeps byImage in step with every removal (mu is held).
func (v *callerViews) evicted(k viewKey, _ cachedView) {
	if keys := v.byImage[k.id]; keys != nil {
		delete(keys, k.token)
		if len(keys) == 0 {
			delete(v.byImage, k.id)
		}
	}
}

func (v *callerViews) key(token, id string) viewKey {
	return viewKey{token: sha256.Sum256([]byte(token)), id: id}
}

// get returns k's view while it is fresh, and the epoch to put a new
// one with; a view that is not fresh is counted here (miss or expired),
// a fresh one by its user.
func (v *callerViews) get(k viewKey) (imagestore.Image, uint64, bool) {
	now := time.Now()
	v.mu.Lock()
	e, ok := v.lru.Get(k)
	if ok && !now.Before(e.expires) {
		v.lru.Remove(k)
	}
	epoch := v.epoch
	v.mu.Unlock()
	switch {
	case !ok:
		v.counted[viewMiss].Inc()
	case !now.Before(e.expires):
		v.counted[viewExpired].Inc()
	default:
		return e.view, epoch, true
	}
	return imagestore.Image{}, epoch, false
}

// put keeps view as k's for the TTL, unless a forget came after epoch
// (get's).
func (v *callerViews) put(k viewKey, view imagestore.Image, epoch uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if epoch != v.epoch {
		return
	}
	v.lru.Add(k, cachedView{view: view, expires: time.Now().Add(v.ttl)})
	keys := v.byImage[k.id]
	if keys == nil {
		keys = map[[sha256.Size]byte]struct{}{}
		v.byImage[k.id] = keys
	}
	keys[k.token] = struct{}{}
}

// forget drops every caller's view of image id; it returns the new
// epoch, for a view read after it.
func (v *callerViews) forget(id string) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.epoch++
	for token := range v.byImage[id] {
		v.lru.Remove(viewKey{token: token, id: id}) // evicted deletes from the map being ranged: allowed
	}
	return v.epoch
}

// agrees tells whether a cached caller view may stand for the caller's
// GET with own, the gateway's own read of the image: only for an active
// image, and only while nothing the two share says the image changed
// since the view was read (any update moves updated_at).
func agrees(own, view imagestore.Image) bool {
	return own.Status == imagestore.StatusActive && view.Status == own.Status &&
		own.Visibility == view.Visibility && sameString(own.Owner, view.Owner) &&
		sameString(own.OSHashValue, view.OSHashValue) && sameString(own.Checksum, view.Checksum) &&
		sameInt(own.Size, view.Size) && own.UpdatedAt.Equal(view.UpdatedAt)
}

func sameInt(a, b *int64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
