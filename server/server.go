// Package server is the Glance download front-end: an Echo v4 server for
// image data and metadata where every route maps to exactly one oslo
// policy action, decided once, here at the REST layer, by the Rego engine
// with the image mashup as target.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/shadow"
	"github.com/oslorego/oslorego/upstream"
)

// Policy actions the routes enforce.
const (
	ActionDownload  = "download_image"
	ActionGetImage  = "get_image"
	ActionGetImages = "get_images"
)

// Images is what the server needs from an image store.
type Images interface {
	Get(ctx context.Context, id string) (imagestore.Image, error)
	ListPage(ctx context.Context, opts imagestore.ListOptions) ([]imagestore.Image, error)
	IsMember(ctx context.Context, imageID, projectID string) (bool, error)
	Members(ctx context.Context, imageID string) ([]imagestore.Member, error)
	OpenData(ctx context.Context, img imagestore.Image) (*os.File, error)
}

// PolicySource gives the policy in force: bundles.Watcher is one, and so
// is a *bundles.Loaded (a policy that never changes).
type PolicySource interface {
	// Policy returns the engine in force and its revision; a nil engine
	// before a policy is loaded.
	Policy() (engine *rego.Engine, revision string)
}

// Config is what New needs. Auth, Policy and one of Images and Source are
// required.
type Config struct {
	// Images is the embedded store: every route is served from it.
	Images Images
	// Source, when Images is nil, is where images and data come from
	// (gateway mode: NewUpstreamSource); the listing route, which needs a
	// store, is not served.
	Source Source
	// Upstream, with Source, serves every other Glance v2 route too
	// (ModeAll, --routes all): each is decided here, on Glance's target
	// for it, then proxied to this Glance with the caller's token. Nil:
	// only downloads and image reads (ModeDownloads).
	Upstream *upstream.Client
	Auth     auth.Authenticator
	Policy   PolicySource
	// AdminRule decides the credentials' is_admin (default
	// "context_is_admin", as Glance).
	AdminRule string
	// Log is the operational log; DecisionLog gets one record per
	// authorised request. Both default to discarding.
	Log         *slog.Logger
	DecisionLog *slog.Logger
	// Registry receives the metrics served on /metrics (default: a new
	// registry of the server's own).
	Registry *prometheus.Registry
	// WWWAuthenticate is sent with every 401, e.g. `Keystone uri="..."`.
	WWWAuthenticate string
	// MaxRequests bounds the requests served at once (the operational
	// endpoints /healthz, /readyz and /metrics aside); past it a request
	// is answered 503 with Retry-After. 0 means DefaultMaxRequests,
	// negative means no bound.
	MaxRequests int
	// WriteProgressTimeout is how long a response may make no progress
	// towards a slow reader before its connection is closed: each write
	// of at most progressChunk bytes must finish within it, however long
	// the whole download takes. 0 means DefaultWriteProgressTimeout,
	// negative means none.
	WriteProgressTimeout time.Duration
	// PublicURL roots the links of the versions document (Glance's
	// public_endpoint); empty means the URL each request came to.
	PublicURL string
	// ImageSchema is Glance's schema-image.json: custom image properties
	// added to the image schemas served under /v2/schemas/. Optional.
	ImageSchema []byte
	// DecisionMemo bounds the exact decision memo (rego.Memo) kept per
	// policy revision, in decisions; 0 is no memo. The serve command's
	// default is rego.DefaultMemoSize.
	DecisionMemo int
	// Shadow, when not nil, decides every request's action again under a
	// candidate bundle, off the request's path (see package shadow); the
	// answer is always Policy's. Its owner closes it.
	Shadow *shadow.Shadow
	// Status holds the components /readyz reports on, by name (e.g. the
	// tokens file). The policy source is reported as "policy", through
	// its own Status when it is a StatusReporter.
	Status map[string]StatusReporter
}

// StatusReporter is a component that /readyz reports on.
type StatusReporter interface {
	// Status tells whether the component can serve, and a one-line
	// detail for operators (never a secret).
	Status() (ready bool, detail string)
}

// Defaults of the Config bounds.
const (
	DefaultMaxRequests          = 1024
	DefaultWriteProgressTimeout = 60 * time.Second
)

// Route is one API route and the single policy action that guards it.
type Route struct {
	Method, Path, Action string
	// Image is true when the route names an image: the server looks it up
	// (404 when the caller may not see it) and the target is its mashup.
	Image bool
	// Target describes the policy target (one of the Target constants).
	Target string
	// Proxied routes are, in gateway mode with every route (Config.Upstream),
	// decided and then proxied to Glance unchanged.
	Proxied bool
	// Anonymous routes need no token and decide nothing.
	Anonymous bool
	local     bool // answered by a handler of its own outside the table
	handler   func(*Server, *call) error
	target    targetFunc // the target when it is no image's; nil: TargetProject
}

// Server is the HTTP front-end. It is an http.Handler.
type Server struct {
	cfg     Config
	source  Source
	echo    *echo.Echo
	metrics *metrics

	mu    sync.Mutex                  // serialises preparing a new state
	state atomic.Pointer[policyState] // prepared queries for the bundle in force
	// memoStats count what the decision memos of every revision did.
	memoStats rego.MemoStats

	buffers sync.Pool // *[]byte of smallBody bytes, for small bodies

	schemas map[string][]byte // /v2/schemas/NAME documents

	slots  chan struct{}   // one per request in progress; nil: no bound
	routes map[string]bool // the route patterns, the only route labels
	mode   Mode
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if (cfg.Images == nil && cfg.Source == nil) || cfg.Auth == nil || cfg.Policy == nil {
		return nil, errors.New("server: Auth, Policy and Images or Source are required")
	}
	if cfg.Images != nil && cfg.Source != nil {
		return nil, errors.New("server: Images and Source are exclusive")
	}
	if cfg.AdminRule == "" {
		cfg.AdminRule = "context_is_admin"
	}
	discard := slog.New(slog.DiscardHandler)
	if cfg.Log == nil {
		cfg.Log = discard
	}
	if cfg.DecisionLog == nil {
		cfg.DecisionLog = discard
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxRequests == 0 {
		cfg.MaxRequests = DefaultMaxRequests
	}
	if cfg.WriteProgressTimeout == 0 {
		cfg.WriteProgressTimeout = DefaultWriteProgressTimeout
	}
	s := &Server{cfg: cfg, routes: map[string]bool{}, source: cfg.Source, mode: ModeDownloads}
	switch {
	case cfg.Images != nil:
		s.source, s.mode = localSource{cfg.Images}, ModeStore
	case cfg.Upstream != nil:
		s.mode = ModeAll
	}
	if cfg.Upstream != nil && cfg.Images != nil {
		return nil, errors.New("server: Upstream needs Source, not Images")
	}
	var err error
	if s.schemas, err = loadSchemas(cfg.ImageSchema); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server: public URL %q: want an absolute http or https URL", cfg.PublicURL)
		}
	}
	if cfg.MaxRequests > 0 {
		s.slots = make(chan struct{}, cfg.MaxRequests)
	}
	s.buffers.New = func() any { b := make([]byte, smallBody); return &b }
	if s.metrics, err = newMetrics(cfg.Registry, s.memoCollector()); err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe, s.recoverPanic(), s.limit)
	// Echo answers OPTIONS itself, before any authentication; Glance has
	// no OPTIONS routes.
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method == http.MethodOptions {
				return writeError(c, http.StatusMethodNotAllowed, methodNotAllowed(c))
			}
			return next(c)
		}
	})
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	for _, rt := range Routes() {
		switch in := rt.In(s.mode); {
		case in == NotServed, in == Served && rt.local, rt.Anonymous:
			continue // served below, or not at all
		case in == Proxied:
			rt.handler = (*Server).proxy
		}
		e.Add(rt.Method, rt.Path, s.enforce(rt))
	}
	// Glance's version negotiation and schemas: what clients fetch
	// before they touch an image. No policy guards them in Glance.
	e.Any("/", s.versions(http.StatusMultipleChoices))
	e.Any("/versions", s.versions(http.StatusOK))
	if s.mode != ModeAll {
		for _, n := range schemaNames {
			e.GET("/v2/schemas/"+n, s.schema(n))
		}
	}
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	s.echo = e
	return s, nil
}

// Routes is the route → action table (what `oslorego routes` prints):
// the routes answered here, then Glance Zed's other v2 routes, which
// gateway mode proxies with --routes all. Route.In tells which are
// served in a mode.
func Routes() []Route {
	own := func(method, path, action string, image bool, h func(*Server, *call) error) Route {
		t := TargetProject
		if image {
			t = TargetImage
		}
		return Route{Method: method, Path: path, Action: action, Image: image, Target: t, handler: h}
	}
	list := own(http.MethodGet, "/v2/images", ActionGetImages, false, (*Server).listV2)
	list.Proxied = true
	return append([]Route{
		own(http.MethodGet, "/v2/images/:id/file", ActionDownload, true, (*Server).downloadV2),
		own(http.MethodGet, "/v2/images/:id", ActionGetImage, true, (*Server).showV2),
		list,
		own(http.MethodGet, "/v1/images", ActionGetImages, false, (*Server).listV1),
		own(http.MethodGet, "/v1/images/detail", ActionGetImages, false, (*Server).detailV1),
		own(http.MethodHead, "/v1/images/detail", ActionGetImages, false, (*Server).headDetailV1),
		own(http.MethodGet, "/v1/images/:id", ActionDownload, true, (*Server).downloadV1),
		own(http.MethodHead, "/v1/images/:id", ActionGetImage, true, (*Server).headV1),
	}, gatewayRoutes()...)
}

// ServeHTTP serves one request. A request is answered with the status a
// handler decided, or its connection is closed: when nothing was written
// (the request failed or its client went away before an answer) or the
// answer broke off, the handler aborts, so that net/http can never send
// an implicit 200 or let a truncated body pass for a whole one.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := s.cfg.WriteProgressTimeout; d > 0 {
		// Each request starts its own deadline: one left by the previous
		// request on this connection may have passed.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
	}
	g := &guardWriter{ResponseWriter: w}
	s.echo.ServeHTTP(g, r)
	if !g.wrote || g.broken {
		s.cfg.Log.InfoContext(r.Context(), "closing the connection without a complete answer", "path", clip(r.URL.Path), "answered", g.wrote)
		panic(http.ErrAbortHandler)
	}
}

// ready answers 200 when a policy is in force and every component of
// Config.Status is ready, 503 otherwise; the body has one line per
// component.
func (s *Server) ready(c echo.Context) error {
	var b strings.Builder
	ok := true
	line := func(name string, ready bool, detail string) {
		ok = ok && ready
		fmt.Fprintf(&b, "%s: %s\n", name, strings.ReplaceAll(detail, "\n", " "))
	}
	eng, revision := s.cfg.Policy.Policy()
	ready, detail := eng != nil, ""
	if r, isReporter := s.cfg.Policy.(StatusReporter); isReporter {
		var r2 bool
		r2, detail = r.Status()
		ready = ready && r2
	} else if eng != nil {
		detail = "ready; revision " + revision
	}
	if eng == nil {
		detail = strings.TrimSuffix("not ready; no policy loaded; "+detail, "; ")
	}
	line("policy", ready, detail)
	components := maps.Clone(s.cfg.Status)
	if r, ok := s.source.(StatusReporter); ok {
		// Gateway mode: no download can be served while Glance is down.
		if components == nil {
			components = map[string]StatusReporter{}
		}
		components["upstream"] = r
	}
	for _, n := range slices.Sorted(maps.Keys(components)) {
		ready, d := components[n].Status()
		line(n, ready, d)
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return c.String(status, b.String())
}

// call is one authorised request on its way to a route's handler.
type call struct {
	echo.Context
	id      *auth.Identity
	creds   map[string]any
	isAdmin bool
	img     imagestore.Image
	shown   map[string]string // nil, or Found.Shown
	policy  *policyState
	rec     *decisionRecord
}

// refuseIdentity answers a request whose caller could not be
// authenticated: 503 when the identity service is unavailable, else 401.
func (s *Server) refuseIdentity(c echo.Context, err error) error {
	if errors.Is(err, auth.ErrUnavailable) {
		s.cfg.Log.ErrorContext(c.Request().Context(), "identity service unavailable", "error", err)
		return writeError(c, http.StatusServiceUnavailable, "The identity service is unavailable.")
	}
	if s.cfg.WWWAuthenticate != "" {
		c.Response().Header().Set("WWW-Authenticate", s.cfg.WWWAuthenticate)
	}
	return writeError(c, http.StatusUnauthorized, "This server could not verify that you are authorized to access the document you requested.")
}

// enforce is the one place where policy is enforced: authenticate, find
// the image the caller may see, decide the route's action once, then run
// the handler. Nothing below it checks policy again.
func (s *Server) enforce(rt Route) echo.HandlerFunc {
	route := rt.Method + " " + rt.Path
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		rec := &decisionRecord{
			ID:        newUUID(),
			RequestID: requestID(c),
			Action:    rt.Action,
			Route:     route,
			ImageID:   clip(c.Param("id")),
			Result:    "error",
		}
		start := time.Now()
		defer func() { s.logDecision(ctx, rec, start) }()

		pol, err := s.policyState(ctx)
		if err != nil {
			rec.Reason = err.Error()
			s.cfg.Log.ErrorContext(ctx, "no policy in force", "error", err)
			return writeError(c, http.StatusServiceUnavailable, "No policy is loaded; the server is not ready.")
		}
		rec.Revision = pol.revision
		id, err := s.cfg.Auth.Authenticate(ctx, c.Request())
		if err != nil {
			rec.Result, rec.Reason = "unauthenticated", err.Error()
			return s.refuseIdentity(c, err)
		}
		if c.Request().Method == http.MethodGet && (c.Request().ContentLength > 0 || len(c.Request().TransferEncoding) > 0) {
			rec.Result, rec.Reason = "bad_request", "request body on GET"
			return writeError(c, http.StatusBadRequest, "A body is not expected with this request.")
		}
		cc, err := pol.credentials(ctx, s.cfg.AdminRule, id)
		if err != nil {
			return err
		}
		// Shared with the caller's other requests: read only.
		creds, isAdmin := cc.creds, cc.isAdmin
		rec.Credentials, rec.IsAdmin, rec.credsLog = id, isAdmin, cc.log
		cl := &call{Context: c, id: id, creds: creds, isAdmin: isAdmin, policy: pol, rec: rec}

		var target map[string]any
		if rt.Image {
			found, status, msg, err := s.findImage(ctx, c.Param("id"), cl.caller())
			if err != nil {
				return err
			}
			if status != 0 {
				rec.Result, rec.Reason = findResults[status], msg
				if status == http.StatusUnauthorized && s.cfg.WWWAuthenticate != "" {
					c.Response().Header().Set("WWW-Authenticate", s.cfg.WWWAuthenticate)
				}
				return writeError(c, status, msg)
			}
			img := found.Image
			cl.img, cl.shown = img, found.Shown
			// Glance refuses deactivated data to non-admins before policy.
			if rt.Action == ActionDownload && img.Status == imagestore.StatusDeactivated && !isAdmin {
				rec.Result, rec.Reason = "deactivated", "image is deactivated"
				return writeError(c, http.StatusForbidden, "The requested image has been deactivated. Image data download is forbidden.")
			}
			// Only what the rule can read: the engine converts no more
			// (rego.Engine.Input), so the decision is the one on the
			// whole target, without a map of every property. A shadow
			// bundle's rule may read other keys: it gets the whole target.
			if fp := pol.engine.Footprint(rt.Action); fp.Whole || s.cfg.Shadow != nil {
				target = img.Target(id.ProjectID)
			} else {
				target = img.TargetKeys(id.ProjectID, fp.Target)
			}
		} else if rt.target != nil {
			t, status, msg, err := rt.target(s, cl)
			if err != nil {
				return err
			}
			if status != 0 {
				rec.Result, rec.Reason = findResults[status], msg
				return writeError(c, status, msg)
			}
			target = t
		} else {
			// Glance's target for actions on no image.
			target = map[string]any{"project_id": orNil(id.ProjectID)}
		}
		if rt.Action == "" {
			// Glance enforces no policy here: a valid token is all.
			rec.Result = "unguarded"
			return rt.handler(s, cl)
		}
		d, memo, err := s.decide(ctx, pol, rec.ID, rego.Request{Rule: rt.Action, Target: target, Credentials: creds})
		if err != nil {
			return err
		}
		rec.Evaluated, rec.PolicyError, rec.Memo = d.Evaluated, d.Error, memo
		if !d.Allowed {
			rec.Result = "deny"
			return c.JSONBlob(http.StatusForbidden, forbiddenBody)
		}
		rec.Result = "allow"
		return rt.handler(s, cl)
	}
}

// decide takes a request's one decision with the policy in force and,
// with Config.Shadow, hands a copy of it to the shadow bundle without
// waiting for it. Every route's decision goes through here.
func (s *Server) decide(ctx context.Context, pol *policyState, decisionID string, req rego.Request) (rego.Decision, rego.MemoOutcome, error) {
	start := time.Now()
	d, memo, err := pol.memo.Decide(ctx, req)
	s.metrics.observeDecision(req.Rule, d.Allowed, time.Since(start))
	if err != nil {
		return d, memo, fmt.Errorf("deciding %s: %w", req.Rule, err)
	}
	creds, _ := req.Credentials.(map[string]any)
	s.cfg.Shadow.Submit(shadow.Request{ID: decisionID, Rule: req.Rule, Target: req.Target, Credentials: creds,
		AdminRule: s.cfg.AdminRule, Enforced: d.Allowed, EnforcedRevision: pol.revision})
	return d, memo, nil
}

// findResults are the decision log's results of a lookup that ended the
// request before any decision.
var findResults = map[int]string{
	http.StatusNotFound:           "not_found",
	http.StatusServiceUnavailable: "source_unavailable",
	http.StatusForbidden:          "source_refused",
	http.StatusUnauthorized:       "source_unauthenticated",
}

// caller is the request's caller as a Source sees it.
func (c *call) caller() Caller {
	return Caller{Identity: c.id, IsAdmin: c.isAdmin, Token: c.Request().Header.Get("X-Auth-Token"), RequestID: requestID(c)}
}

// forbiddenBody is the one body of every policy refusal, whatever the
// route, so that a refusal tells nothing about which rule refused. Its
// message starts with the status line, as writeError's do.
var forbiddenBody = []byte(`{"error": {"code": 403, "title": "Forbidden", "message": "403 Forbidden: Policy does not allow this request."}}` + "\n")

// findImage looks an image up in the source for the caller: absent,
// deleted, over-long ids and images the caller may not see are all the
// same 404; a source that cannot answer is 503, and one that refuses the
// caller 401 or 403, all without a decision.
func (s *Server) findImage(ctx context.Context, id string, caller Caller) (Found, int, string, error) {
	if len(id) > 36 {
		// Glance echoes the id; an id longer than any image's is not
		// worth echoing (it may be a megabyte).
		return Found{}, http.StatusNotFound, "No image found with this ID", nil
	}
	img, err := s.source.Find(ctx, caller, id)
	switch {
	case err == nil:
		return img, 0, "", nil
	case errors.Is(err, imagestore.ErrNotFound):
		return img, http.StatusNotFound, "No image found with ID " + id, nil
	case errors.Is(err, ErrSourceUnavailable):
		s.cfg.Log.ErrorContext(ctx, "image source unavailable", "image", clip(id), "error", err)
		s.metrics.sourceUnavailable.WithLabelValues("find").Inc()
		return img, http.StatusServiceUnavailable, "The image service is unavailable; try again later.", nil
	case errors.Is(err, ErrSourceForbidden):
		return img, http.StatusForbidden, "The image service refused this request.", nil
	case errors.Is(err, auth.ErrUnauthenticated):
		return img, http.StatusUnauthorized, "The image service did not accept the token.", nil
	}
	return img, 0, "", fmt.Errorf("looking up image %s: %w", id, err)
}

// findInStore looks an image up in a store as Glance's database layer
// does; an image the caller may not see is imagestore.ErrNotFound.
func findInStore(ctx context.Context, images Images, id, project string, isAdmin bool) (imagestore.Image, error) {
	img, err := images.Get(ctx, id)
	if err != nil {
		return imagestore.Image{}, err
	}
	member := false
	if !isAdmin && img.Visibility == imagestore.Shared && project != "" && img.Owner != nil && *img.Owner != project {
		if member, err = images.IsMember(ctx, img.ID, project); err != nil {
			return imagestore.Image{}, fmt.Errorf("looking up members of image %s: %w", id, err)
		}
	}
	if !visible(img, project, isAdmin, member) {
		return imagestore.Image{}, fmt.Errorf("image %s: not visible to the caller: %w", id, imagestore.ErrNotFound)
	}
	return img, nil
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers status with msg. The message starts with the status
// line ("404 Not Found: No image found with ID ..."), as Glance's error
// pages read: glanceclient prints only a JSON error's message, so the
// status must be in it for `glance` to show a refusal as one.
func writeError(c echo.Context, status int, msg string) error {
	var b errorBody
	b.Error.Code, b.Error.Title = status, http.StatusText(status)
	b.Error.Message = fmt.Sprintf("%d %s: %s", status, b.Error.Title, msg)
	return c.JSON(status, b)
}

// methodNotAllowed is the message of a 405, worded as Glance's (webob's).
func methodNotAllowed(c echo.Context) string {
	return "The method " + clip(c.Request().Method) + " is not allowed for this resource."
}

// handleError answers errors that no handler wrote: Echo's own 404/405,
// and internal failures, which are logged and never detailed to clients.
func (s *Server) handleError(err error, c echo.Context) {
	ctx, path := c.Request().Context(), clip(c.Request().URL.Path)
	if clientGone(c, err) {
		// Nothing more is written: ServeHTTP closes the connection
		// rather than let an unwritten answer become a 200.
		s.cfg.Log.InfoContext(ctx, "client went away", "error", err, "path", path)
		markBroken(c)
		return
	}
	if c.Response().Committed {
		s.cfg.Log.ErrorContext(ctx, "request failed after the response started", "error", err, "path", path)
		markBroken(c)
		return
	}
	if errors.Is(err, echo.ErrNotFound) {
		// No route has this path (handlers answer their own 404s).
		if err := s.notFound(c); err != nil {
			s.cfg.Log.ErrorContext(ctx, "request failed", "error", err, "path", path)
			_ = writeError(c, http.StatusInternalServerError, "The server failed to answer this request.")
		}
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code < 500 {
		if he.Code == http.StatusMethodNotAllowed {
			// Echo lists OPTIONS, which we refuse.
			var allow []string
			for _, m := range strings.Split(c.Response().Header().Get("Allow"), ",") {
				if m = strings.TrimSpace(m); m != "" && m != http.MethodOptions {
					allow = append(allow, m)
				}
			}
			c.Response().Header().Set("Allow", strings.Join(allow, ", "))
		}
		msg, _ := he.Message.(string)
		if he.Code == http.StatusMethodNotAllowed {
			msg = methodNotAllowed(c)
		} else if msg == "" {
			msg = http.StatusText(he.Code)
		}
		_ = writeError(c, he.Code, msg)
		return
	}
	s.cfg.Log.ErrorContext(ctx, "request failed", "error", err, "path", path)
	_ = writeError(c, http.StatusInternalServerError, "The server failed to answer this request.")
}

// clientGone reports whether err only says that the client hung up: not
// a server failure.
func clientGone(c echo.Context, err error) bool {
	return c.Request().Context().Err() != nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// requestID is the request's id, also sent as X-Openstack-Request-Id.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(headerRequestID)
}

const headerRequestID = "X-Openstack-Request-Id"
