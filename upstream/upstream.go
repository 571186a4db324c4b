// Package upstream is a small client of a real Glance's v2 image API, for
// the server's gateway mode: an image's metadata read as a caller or as the
// gateway's own identity, and an image's data streamed with the caller's
// token. It never decides policy; it only tells what Glance answered.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Errors the client's answers wrap.
var (
	// ErrNotFound: Glance answered 404 (no such image, or one the token
	// may not see).
	ErrNotFound = errors.New("upstream: image not found")
	// ErrUnauthorized: Glance refused the token (401).
	ErrUnauthorized = errors.New("upstream: token refused")
	// ErrForbidden: Glance's own policy refused the read (403).
	ErrForbidden = errors.New("upstream: forbidden")
	// ErrUnavailable: Glance could not be reached, timed out, or answered
	// something other than the above (5xx, a body that is no image).
	ErrUnavailable = errors.New("upstream: unavailable")
)

// TokenSource gives the gateway's own Keystone token, renewing it before
// it expires. Invalidate tells it that Glance refused token, so the next
// Token gets a new one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate(token string)
}

// Options configure a Client.
type Options struct {
	// URL is Glance's endpoint, e.g. http://glance:9292.
	URL string
	// Identity is the gateway's own identity, used only for metadata
	// reads (ServiceImage), never for image data.
	Identity TokenSource
	// Timeout bounds the wait for Glance's response headers, and each
	// wait for more of a body (default DefaultTimeout).
	Timeout time.Duration
	// Transport is the HTTP transport (default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Registerer receives the client's metrics (nil: none): the time
	// Glance takes per call, as the gateway sees it.
	Registerer prometheus.Registerer
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 30 * time.Second

// maxMetadata bounds an image's JSON: Glance's own limit on all of an
// image's properties is far below it.
const maxMetadata = 4 << 20

// Client talks to one Glance.
type Client struct {
	base     *url.URL
	identity TokenSource
	timeout  time.Duration
	hc       *http.Client
	// calls times each call until Glance's answer (headers and, for a
	// metadata read, its body), by call.
	calls *prometheus.HistogramVec

	// statusMu guards the last reachability probe, which Status reuses
	// for statusMaxAge.
	statusMu     sync.Mutex
	statusAt     time.Time
	statusReady  bool
	statusDetail string
}

// The calls of the upstream duration metric.
const (
	callImage        = "image"         // a caller's metadata read
	callServiceImage = "service_image" // the gateway's own metadata read
	callNamespace    = "namespace"     // a caller's metadef namespace read
	callData         = "data"          // a download, to its headers
	callForward      = "forward"       // any other route, to its headers
)

// New checks the options and returns a Client.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("upstream url %q: want http(s)://host[:port][/path]", u.Redacted())
	}
	if o.Identity == nil {
		return nil, errors.New("upstream: no identity for metadata reads")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	tr := o.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = o.Timeout
		t.MaxIdleConnsPerHost = 64
		tr = t
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	// No redirects: a redirect would carry a token somewhere else.
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	calls := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oslorego_upstream_request_duration_seconds",
		Help:    "Time Glance took to answer the gateway's calls (metadata reads whole, downloads and proxied routes to their headers), by call.",
		Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"call"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(calls); err != nil {
			return nil, fmt.Errorf("registering the upstream client's metrics: %w", err)
		}
	}
	return &Client{base: u, identity: o.Identity, timeout: o.Timeout, hc: hc, calls: calls}, nil
}

// URL is Glance's endpoint, for logs and status lines.
func (c *Client) URL() string { return c.base.Redacted() }

// Image is Glance's v2 JSON of one image, with its X-Openstack-Request-Id.
type Image struct {
	JSON      map[string]any
	RequestID string
}

// CallerImage is GET /v2/images/{id} with the caller's token: what the
// caller may see of the image, as Glance filters it.
func (c *Client) CallerImage(ctx context.Context, id, token, requestID string) (Image, error) {
	return c.image(ctx, id, token, requestID, callImage)
}

// ServiceImage is GET /v2/images/{id} with the gateway's own token: the
// image whole, every property the identity may read. A token Glance
// refuses is invalidated and a new one tried once.
func (c *Client) ServiceImage(ctx context.Context, id, requestID string) (Image, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.identity.Token(ctx)
		if err != nil {
			return Image{}, fmt.Errorf("%w: the gateway's own token: %w", ErrUnavailable, err)
		}
		img, err := c.image(ctx, id, tok, requestID, callServiceImage)
		if errors.Is(err, ErrUnauthorized) {
			c.identity.Invalidate(tok)
			if attempt == 0 {
				continue
			}
			// Refused twice: the gateway's identity is broken, which is
			// the operator's problem, never the caller's 401.
			return Image{}, fmt.Errorf("%w: Glance refused the gateway's own token: %w", ErrUnavailable, err)
		}
		return img, err
	}
}

func (c *Client) image(ctx context.Context, id, token, requestID, call string) (Image, error) {
	m, rid, err := c.getJSON(ctx, c.imagePath(id), token, requestID, call)
	if err != nil {
		return Image{RequestID: rid}, fmt.Errorf("image %s: %w", id, err)
	}
	if got, _ := m["id"].(string); got != id {
		return Image{RequestID: rid}, fmt.Errorf("%w: asked for image %s, got %q", ErrUnavailable, id, got)
	}
	return Image{JSON: m, RequestID: rid}, nil
}

// getJSON reads one JSON object, its size bounded by maxMetadata, and
// returns it with Glance's X-Openstack-Request-Id; call names it in the
// metrics.
func (c *Client) getJSON(ctx context.Context, path, token, requestID, call string) (map[string]any, string, error) {
	// The headers' wait is bounded by the transport; the whole read,
	// body included, by this.
	ctx, cancel := context.WithTimeout(ctx, 2*c.timeout)
	defer cancel()
	defer c.timed(call)()
	resp, err := c.do(ctx, http.MethodGet, path, token, requestID, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	rid := resp.Header.Get("X-Openstack-Request-Id")
	if err := statusError(resp); err != nil {
		return nil, rid, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return nil, rid, fmt.Errorf("%w: reading: %w", ErrUnavailable, err)
	}
	if len(body) > maxMetadata {
		return nil, rid, fmt.Errorf("%w: over %d bytes", ErrUnavailable, maxMetadata)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, rid, fmt.Errorf("%w: not a JSON object: %v", ErrUnavailable, err)
	}
	return m, rid, nil
}

// Data is GET /v2/images/{id}/file with the caller's token, forwarding
// the Range and Content-Range request headers given. The response is
// Glance's, whatever its status; its body stops (with an error) when ctx
// ends or when Glance sends nothing for the client's timeout. The caller
// closes the body.
func (c *Client) Data(ctx context.Context, id, token, requestID string, ranges http.Header) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := c.timed(callData)
	resp, err := c.do(ctx, http.MethodGet, c.imagePath(id)+"/file", token, requestID, ranges)
	done()
	if err != nil {
		cancel(err)
		return nil, err
	}
	resp.Body = newIdleBody(resp.Body, c.timeout, cancel)
	return resp, nil
}

// timed starts timing one call; the function it returns records it.
func (c *Client) timed(call string) func() {
	start := time.Now()
	return func() { c.calls.WithLabelValues(call).Observe(time.Since(start).Seconds()) }
}

// imagePath is image id's path, escaped.
func (c *Client) imagePath(id string) string {
	return c.base.EscapedPath() + "/v2/images/" + url.PathEscape(id)
}

// do sends one request for path, already escaped (each name in it
// escaped once, by url.PathEscape). An error is always ErrUnavailable (or
// the context's end).
func (c *Client) do(ctx context.Context, method, path, token, requestID string, extra http.Header) (*http.Response, error) {
	u := *c.base
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("%w: path %q: %w", ErrUnavailable, path, err)
	}
	u.Path, u.RawPath = unescaped, path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("X-Auth-Token", token)
	if requestID != "" {
		// oslo.middleware takes a req-<uuid> as the global request id,
		// so one id is in both logs.
		req.Header.Set("X-Openstack-Request-Id", requestID)
	}
	for _, k := range []string{"Range", "Content-Range"} {
		if vs, ok := extra[k]; ok {
			req.Header[k] = vs
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !isTimeout(err) {
			return nil, fmt.Errorf("upstream %s %s: %w", method, path, cerr)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	return resp, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusError maps a metadata read's status to the client's errors.
func statusError(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	}
	return fmt.Errorf("%w: Glance answered %s", ErrUnavailable, resp.Status)
}

// errIdle ends a body that made no progress for the timeout.
var errIdle = fmt.Errorf("%w: no data from Glance within the timeout", ErrUnavailable)

// idleBody is a response body that cancels its request when a read waits
// longer than the timeout: a stalled upstream cannot pin a download.
type idleBody struct {
	rc      io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelCauseFunc
}

func newIdleBody(rc io.ReadCloser, d time.Duration, cancel context.CancelCauseFunc) *idleBody {
	b := &idleBody{rc: rc, timeout: d, cancel: cancel, timer: time.AfterFunc(d, func() { cancel(errIdle) })}
	b.timer.Stop()
	return b
}

// Read runs the timer only while it waits for Glance: the time the
// gateway spends writing to a slow client is not Glance's.
func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: reading image data: %w", ErrUnavailable, err)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(context.Canceled)
	return err
}

// Bounds of Status's probe: how long it waits for Glance, and how long its
// answer is reused (health checks from several balancers cost Glance one
// request per period).
const (
	statusTimeout = 2 * time.Second
	statusMaxAge  = time.Second
)

// Status tells whether Glance answers: a GET of its version document
// (no token: Glance answers it before authentication), ready on any
// answer below 500. The detail names Glance and, when it is not ready,
// why, for /readyz (no secret in it).
func (c *Client) Status() (bool, string) {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	if !c.statusAt.IsZero() && time.Since(c.statusAt) < statusMaxAge {
		return c.statusReady, c.statusDetail
	}
	c.statusReady, c.statusDetail = c.probe()
	c.statusAt = time.Now()
	return c.statusReady, c.statusDetail
}

func (c *Client) probe() (bool, string) {
	timeout := min(statusTimeout, c.timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	u := *c.base
	u.Path, u.RawPath = c.base.Path+"/versions", c.base.EscapedPath()+"/versions"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, fmt.Sprintf("not ready; Glance at %s: %v", c.URL(), err)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Sprintf("not ready; Glance at %s did not answer GET /versions within %v", c.URL(), timeout)
		}
		return false, fmt.Sprintf("not ready; Glance at %s unreachable: %v", c.URL(), errors.Unwrap(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxMetadata))
	resp.Body.Close()
	took := time.Since(start).Round(time.Millisecond)
	if resp.StatusCode >= 500 {
		return false, fmt.Sprintf("not ready; Glance at %s answered GET /versions %s", c.URL(), resp.Status)
	}
	return true, fmt.Sprintf("ready; Glance at %s answered GET /versions %d in %v", c.URL(), resp.StatusCode, took)
}
