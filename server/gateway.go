package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/upstream"
)

// UpstreamSource is a real Glance as a Source (gateway mode). Visibility
// and existence are the caller's own GET /v2/images/{id}; the policy
// target is the image as the gateway's own identity reads it, unfiltered,
// cached for a short time; data is streamed with the caller's token, so
// the gateway's identity never fetches data for anyone.
type UpstreamSource struct {
	client *upstream.Client
	ttl    time.Duration

	group singleflight.Group
	mu    sync.Mutex
	cache map[string]cachedImage

	lookups *prometheus.CounterVec
	// hits is lookups' hit series, looked up once.
	hits prometheus.Counter

	images *imagecache.Cache // nil: no cache
	views  *callerViews      // nil: the caller's GET on every request
}

type cachedImage struct {
	img     imagestore.Image
	expires time.Time
}

// UpstreamOptions configure an UpstreamSource.
type UpstreamOptions struct {
	// MetadataTTL is how long the gateway's own read of an image serves
	// as its policy target (0: DefaultMetadataTTL; negative: every
	// request reads it again).
	MetadataTTL time.Duration
	// Registerer receives the source's metrics (nil: none).
	Registerer prometheus.Registerer
	// Cache, when not nil, keeps downloaded images' bytes: a download
	// that policy allowed and the caller may see is served from it when
	// the image's current hash is there, and a whole download fills it.
	Cache *imagecache.Cache
	// CallerViewTTL, when positive, keeps each caller's successful (200)
	// GET /v2/images/{id} for that long, per SHA-256 of the token and
	// image, and uses it instead of asking Glance again while the
	// gateway's own read agrees with it (see Find). 0: the caller's GET on
	// every request. It may not exceed MetadataTTL (nor be set with a
	// negative one).
	CallerViewTTL time.Duration
	// MaxCallerViews bounds the caller views kept, least recently used
	// dropped first (0: DefaultMaxCallerViews).
	MaxCallerViews int
}

// DefaultMetadataTTL is UpstreamOptions.MetadataTTL's default: a property
// change upstream is in force within it.
const DefaultMetadataTTL = 5 * time.Second

// maxCachedImages bounds the metadata cache; it starts over when full.
const maxCachedImages = 10000

// NewUpstreamSource returns the source for the Glance client talks to.
func NewUpstreamSource(client *upstream.Client, o UpstreamOptions) (*UpstreamSource, error) {
	if o.MetadataTTL == 0 {
		o.MetadataTTL = DefaultMetadataTTL
	}
	u := &UpstreamSource{client: client, ttl: o.MetadataTTL, cache: map[string]cachedImage{}, images: o.Cache,
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oslorego_upstream_metadata_lookups_total",
			Help: "The gateway's own reads of image metadata (the policy target), by result: hit (cached), miss (read upstream), error.",
		}, []string{"result"})}
	u.hits = u.lookups.WithLabelValues("hit")
	collectors := []prometheus.Collector{u.lookups}
	switch {
	case o.CallerViewTTL < 0:
		return nil, fmt.Errorf("caller view TTL %v: negative", o.CallerViewTTL)
	case o.CallerViewTTL > 0 && o.MetadataTTL < 0:
		return nil, fmt.Errorf("caller view TTL %v with a metadata TTL that keeps nothing", o.CallerViewTTL)
	case o.CallerViewTTL > 0 && o.CallerViewTTL > o.MetadataTTL:
		// The own read is what tells a kept view is out of date: it must
		// be read again at least as often as a view is kept.
		return nil, fmt.Errorf("caller view TTL %v: longer than the metadata TTL %v", o.CallerViewTTL, o.MetadataTTL)
	case o.CallerViewTTL > 0:
		if o.MaxCallerViews <= 0 {
			o.MaxCallerViews = DefaultMaxCallerViews
		}
		var err error
		if u.views, err = newCallerViews(o.CallerViewTTL, o.MaxCallerViews); err != nil {
			return nil, fmt.Errorf("caller views: %w", err)
		}
		collectors = append(collectors, u.views.lookups)
	}
	if o.Registerer != nil {
		for _, c := range collectors {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering the upstream metrics: %w", err)
			}
		}
	}
	return u, nil
}

// Find asks Glance as the caller and reads the target with the gateway's
// own identity at the same time, so that a fresh own read costs no round
// trip of its own. The caller's answer comes first: an image the caller
// cannot see is never decided, and its answer does not wait for the own
// read. The target is only ever the own, unfiltered read: when that
// fails the request fails (503), never falling back to the caller's
// filtered view.
//
// With caller views (UpstreamOptions.CallerViewTTL) a fresh kept view
// of the caller's stands for the caller's GET, but only once the own read
// is in and agrees with it (an active image, unchanged since the view
// was read); otherwise the view is dropped and the caller asked again.
// The target is the own read either way, and only 200s are kept.
func (u *UpstreamSource) Find(ctx context.Context, caller Caller, id string) (Found, error) {
	if caller.Token == "" {
		return Found{}, fmt.Errorf("%w: no X-Auth-Token to send upstream", auth.ErrUnauthenticated)
	}
	own := u.whole(ctx, id, caller.RequestID)
	var key viewKey
	var epoch uint64
	if u.views != nil {
		key = u.views.key(caller.Token, id)
		var kept imagestore.Image
		var ok bool
		if kept, epoch, ok = u.views.get(key); ok {
			img, err := own(ctx)
			if err == nil && agrees(img, kept) {
				u.views.counted[viewHit].Inc()
				return Found{Image: img, Shown: kept.Properties}, nil
			}
			// Changed, or unknown: no one's kept view of it holds.
			u.views.counted[viewDropped].Inc()
			epoch = u.views.forget(id)
			if ctx.Err() != nil {
				return Found{}, ctx.Err()
			}
			own = func(context.Context) (imagestore.Image, error) { return img, err }
		}
	}
	view, err := u.client.CallerImage(ctx, id, caller.Token, caller.RequestID)
	if err != nil {
		return Found{}, fromUpstream(err)
	}
	caller2, err := imagestore.FromV2(view.JSON)
	if err != nil {
		return Found{}, fmt.Errorf("%w: the caller's view of image %s: %w", ErrSourceUnavailable, id, err)
	}
	img, err := own(ctx)
	if err != nil {
		return Found{}, err
	}
	if !sameString(img.OSHashValue, caller2.OSHashValue) || img.Status != caller2.Status {
		// The caller's view, read just now, says the image changed since
		// the cached read: decide on (and serve the cache entry of) the
		// image as it is, not as it was.
		u.mu.Lock()
		delete(u.cache, id)
		u.mu.Unlock()
		if img, err = u.whole(ctx, id, caller.RequestID)(ctx); err != nil {
			return Found{}, err
		}
	}
	if u.views != nil && agrees(img, caller2) {
		u.views.put(key, caller2, epoch)
	}
	return Found{Image: img, Shown: caller2.Properties}, nil
}

// whole starts the gateway's own read of image id, from the cache while
// it is fresh, one read per image at a time; the function it returns
// waits for it (or for its ctx's end).
func (u *UpstreamSource) whole(ctx context.Context, id, requestID string) func(context.Context) (imagestore.Image, error) {
	now := time.Now()
	u.mu.Lock()
	e, ok := u.cache[id]
	u.mu.Unlock()
	if ok && now.Before(e.expires) {
		return func(context.Context) (imagestore.Image, error) {
			u.hits.Inc()
			return e.img, nil
		}
	}
	ch := u.group.DoChan(id, func() (any, error) {
		// Not the caller's cancellation: a caller that hangs up (or
		// that may not see the image) must not fail the others waiting
		// on the same read. The client's timeouts bound it.
		v, err := u.client.ServiceImage(context.WithoutCancel(ctx), id, requestID)
		if err != nil {
			return nil, err
		}
		img, err := imagestore.FromV2(v.JSON)
		if err != nil {
			return nil, err
		}
		if u.ttl > 0 {
			u.mu.Lock()
			if len(u.cache) >= maxCachedImages {
				u.cache = map[string]cachedImage{}
			}
			u.cache[id] = cachedImage{img: img, expires: time.Now().Add(u.ttl)}
			u.mu.Unlock()
		}
		return img, nil
	})
	return func(ctx context.Context) (imagestore.Image, error) {
		select {
		case <-ctx.Done():
			return imagestore.Image{}, ctx.Err()
		case r := <-ch:
			if r.Err != nil {
				u.lookups.WithLabelValues("error").Inc()
				// Whatever Glance said to the gateway's own identity (even a
				// 404 for an image the caller sees), the target is unknown.
				return imagestore.Image{}, fmt.Errorf("%w: the gateway's own read of image %s: %w", ErrSourceUnavailable, id, r.Err)
			}
			u.lookups.WithLabelValues("miss").Inc()
			return r.Val.(imagestore.Image), nil
		}
	}
}

// Open serves the data from the cache when it holds the image's current
// hash (the server then ranges it itself, also for stores that cannot
// range upstream); otherwise it asks Glance with the caller's token and
// the caller's Range, and the answer is Glance's, relayed. A whole 200
// download fills the cache as it streams.
func (u *UpstreamSource) Open(ctx context.Context, caller Caller, img imagestore.Image, want DataRequest) (Data, error) {
	exp, cacheable := CacheEntry(img)
	cacheable = cacheable && u.images != nil
	switch {
	case cacheable && exp.Size <= imagecache.MaxSmall:
		// Small entries from memory, as the embedded store's.
		if b, ok := u.images.GetSmall(exp.Key, exp.Size); ok {
			return Data{Bytes: b}, nil
		}
	case cacheable:
		if f, ok := u.images.Get(exp.Key, exp.Size); ok {
			return Data{File: f}, nil
		}
	}
	resp, err := u.client.Data(ctx, img.ID, caller.Token, caller.RequestID, want.Header)
	if err != nil {
		return Data{}, fromUpstream(err)
	}
	_, ranged := want.Header["Range"]
	_, ranged2 := want.Header["Content-Range"]
	if cacheable && !ranged && !ranged2 && resp.StatusCode == http.StatusOK && resp.ContentLength == exp.Size {
		if fill := u.images.StartFill(exp); fill != nil {
			resp.Body = u.images.Tee(resp.Body, fill)
		}
	}
	return Data{Answer: resp}, nil
}

// Status is the upstream Glance's, for /readyz: not ready while it
// cannot be reached or answers 5xx.
func (u *UpstreamSource) Status() (bool, string) { return u.client.Status() }

// CacheEntry is the image cache entry img's data would be: only an active
// image with data and a hash is cached (anything else, Glance answers
// itself).
func CacheEntry(img imagestore.Image) (imagecache.Expect, bool) {
	if img.Status != imagestore.StatusActive || img.Size == nil || *img.Size <= 0 || img.OSHashAlgo == nil || img.OSHashValue == nil {
		return imagecache.Expect{}, false
	}
	exp := imagecache.Expect{Key: imagecache.Key{ID: img.ID, Algo: *img.OSHashAlgo, Hash: *img.OSHashValue}, Size: *img.Size}
	if img.Checksum != nil {
		exp.MD5 = *img.Checksum
	}
	return exp, true
}

func sameString(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// fromUpstream maps the client's errors to a Source's.
func fromUpstream(err error) error {
	switch {
	case errors.Is(err, upstream.ErrNotFound):
		return fmt.Errorf("%w: %w", imagestore.ErrNotFound, err)
	case errors.Is(err, upstream.ErrUnauthorized):
		return fmt.Errorf("%w: %w", auth.ErrUnauthenticated, err)
	case errors.Is(err, upstream.ErrForbidden):
		return fmt.Errorf("%w: %w", ErrSourceForbidden, err)
	case errors.Is(err, upstream.ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrSourceUnavailable, err)
	}
	return err
}

// unavailableMsg is the body of every 503 for a failing image source.
const unavailableMsg = "The image service is unavailable; try again later."

// openFailed answers a download whose data could not be opened.
func (s *Server) openFailed(c *call, err error) error {
	if errors.Is(err, ErrSourceUnavailable) {
		s.cfg.Log.ErrorContext(c.Request().Context(), "image source unavailable", "image", c.img.ID, "error", err)
		s.metrics.sourceUnavailable.WithLabelValues("open").Inc()
		c.rec.Reason = "image source unavailable"
		return writeError(c, http.StatusServiceUnavailable, unavailableMsg)
	}
	return fmt.Errorf("opening data of image %s: %w", c.img.ID, err)
}

// relayedHeaders are the headers of an upstream download answer that the
// client gets (Content-Length aside, which is the body's real length).
// v1 never sent Content-MD5 or Content-Range.
var relayedHeaders = map[bool][]string{
	false: {"Content-Type", "Content-MD5", "Content-Range"},
	true:  {"Content-Type"},
}

// relay passes an upstream download answer on: its status and headers,
// then its body, streamed; a body that breaks off breaks the client's
// answer too, never a short one. A 5xx upstream is a 503 here.
func (s *Server) relay(c *call, up *http.Response, v1 bool) error {
	defer up.Body.Close()
	if rid := up.Header.Get(headerRequestID); rid != "" {
		c.rec.UpstreamRequestID = rid
	}
	if up.StatusCode >= 500 {
		s.cfg.Log.ErrorContext(c.Request().Context(), "upstream download failed", "image", c.img.ID, "status", up.StatusCode, "upstream_request_id", c.rec.UpstreamRequestID)
		s.metrics.sourceUnavailable.WithLabelValues("open").Inc()
		c.rec.Reason = "upstream answered " + up.Status
		return writeError(c, http.StatusServiceUnavailable, unavailableMsg)
	}
	resp := c.Response()
	h := resp.Header()
	for _, k := range relayedHeaders[v1] {
		if vs := up.Header.Values(k); len(vs) > 0 {
			h[k] = vs
		} else {
			h.Del(k)
		}
	}
	if up.StatusCode == http.StatusUnauthorized && s.cfg.WWWAuthenticate != "" {
		h.Set("WWW-Authenticate", s.cfg.WWWAuthenticate)
	}
	if up.StatusCode != http.StatusOK && up.StatusCode != http.StatusPartialContent {
		c.rec.Reason = "upstream answered " + up.Status
	}
	length := up.ContentLength
	if up.StatusCode == http.StatusNoContent || up.StatusCode == http.StatusNotModified {
		length = 0
	} else if length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	resp.WriteHeader(up.StatusCode)
	if length == 0 {
		return nil
	}
	n, err := s.copyProgress(c, up.Body, length)
	resp.Size += n
	s.metrics.bytes.WithLabelValues(s.routeLabel(c)).Add(float64(n))
	if err != nil {
		c.rec.Reason = "transfer interrupted"
		if c.Request().Context().Err() == nil {
			s.metrics.sourceUnavailable.WithLabelValues("transfer").Inc()
		}
		return fmt.Errorf("relaying image %s (%d of %d bytes): %w", c.img.ID, n, length, err)
	}
	return nil
}
