// Package pdp is oslorego's policy decision point for other OpenStack
// services, on a listener of its own (`oslorego serve --pdp-listen`). It
// speaks two protocols that services already have:
//
//   - POST /v1/oslo/check: what oslo.policy's own `http:`/`https:` check
//     (HttpCheck, oslo_policy/_external.py) sends, {"rule", "target",
//     "credentials"} as JSON or as a form of JSON-encoded fields; the
//     answer's body is True or False, which is all HttpCheck reads.
//   - POST /v1/data/{path}/allow: OPA's data API as gtema/oslo.policy.opa
//     queries it ({"input": {"target", "credentials"}} → {"result": bool}),
//     the path being the rule name with ':' → '/' and '-' → '_'.
//
// Each request decides one rule, as oslo.policy's Enforcer.enforce(rule,
// target, credentials) would, on the bundle in force: the default rule for
// unknown names, the credentials as sent (is_admin included), scope as the
// bundle's options say. Every decision goes through Server.decide and is
// written to the decision log with the calling service and the bundle
// revision. Anything that is not a decision is a refusal: a malformed body
// is a 400 with the reason, a missing policy a 503, an engine failure a
// 500, and no such answer is ever True.
package pdp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/shadow"
)

// PolicySource gives the policy in force (bundles.Watcher is one).
type PolicySource interface {
	// Policy returns the engine in force and its revision; a nil engine
	// before a policy is loaded.
	Policy() (engine *rego.Engine, revision string)
}

// Config is what New needs; Policy is required.
type Config struct {
	Policy PolicySource
	// Log is the operational log; DecisionLog gets one record per
	// request. Both default to discarding.
	Log         *slog.Logger
	DecisionLog *slog.Logger
	// Registry receives the PDP's metrics (default: a registry of its own).
	Registry prometheus.Registerer
	// MaxBody bounds a request body (default DefaultMaxBody); a larger one
	// is refused with 413.
	MaxBody int64
	// DecisionMemo bounds the exact decision memo (rego.Memo) kept per
	// policy revision, in decisions; 0 is none. Services ask the same
	// checks again and again: a repeated one is answered without
	// evaluating, with the same decision.
	DecisionMemo int
	// Shadow, when not nil, decides every decision again under a candidate
	// bundle, off the request's path (serve --shadow-bundle); the answer is
	// always Policy's.
	Shadow *shadow.Shadow
}

// DefaultMaxBody is Config.MaxBody's default: far above any target and
// credentials a service sends.
const DefaultMaxBody = 1 << 20

// Paths served.
const (
	CheckPath  = "/v1/oslo/check"
	dataPrefix = "/v1/data/"
	allowLeaf  = "/allow"
)

// Server is the PDP's HTTP handler.
type Server struct {
	cfg     Config
	echo    *echo.Echo
	metrics *metrics

	mu    sync.Mutex
	state atomic.Pointer[state]

	memoStats rego.MemoStats
	bodies    sync.Pool // of *bodyBuffer
}

// state is what the PDP derives from one engine, once.
type state struct {
	engine   *rego.Engine
	memo     *rego.Memo // on engine; a reload starts an empty one
	revision string
	index    *pathIndex
	// rules are the bundle's rule names, the only rule labels, and
	// their counters; unknown counts every other name.
	rules   map[string]*ruleCounters
	unknown *ruleCounters
}

// New builds the PDP's routes.
func New(cfg Config) (*Server, error) {
	if cfg.Policy == nil {
		return nil, errors.New("pdp: Policy is required")
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
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	s := &Server{cfg: cfg}
	m, err := newMetrics(cfg.Registry, &s.memoStats)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.ready)
	e.POST(CheckPath, s.check)
	e.POST(dataPrefix+"*", s.opaData)
	s.echo = e
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// current is the state for the policy in force, derived once per engine.
func (s *Server) current(ctx context.Context) (*state, error) {
	eng, revision := s.cfg.Policy.Policy()
	if eng == nil {
		return nil, errors.New("no policy bundle is loaded")
	}
	if st := s.state.Load(); st != nil && st.engine == eng {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.state.Load(); st != nil && st.engine == eng {
		return st, nil
	}
	names, err := eng.RuleNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("the rule names of bundle %s: %w", revision, err)
	}
	st := &state{engine: eng, memo: rego.NewMemo(eng, s.cfg.DecisionMemo, &s.memoStats), revision: revision, index: newPathIndex(names),
		rules: make(map[string]*ruleCounters, len(names)), unknown: &ruleCounters{label: "(unknown)"}}
	for _, n := range names {
		st.rules[n] = &ruleCounters{label: n}
	}
	s.state.Store(st)
	return st, nil
}

// ready is 200 once a policy is in force.
func (s *Server) ready(c echo.Context) error {
	st, err := s.current(c.Request().Context())
	if err != nil {
		return c.String(http.StatusServiceUnavailable, "policy: not ready; "+err.Error()+"\n")
	}
	return c.String(http.StatusOK, "policy: ready; revision "+st.revision+"\n")
}

// record is one line of the decision log. It holds what identifies the
// caller, never a credential secret.
type record struct {
	protocol               protocol
	id, rule, path         string
	result, reason         string
	evaluated, policyError string
	revision, caller       string
	creds                  rego.Ordered
	hasCreds               bool
}

// Results of the decision log and the metrics.
const (
	resultAllow       = "allow"
	resultDeny        = "deny"
	resultBadRequest  = "bad_request"
	resultUnavailable = "unavailable"
	resultError       = "error"
)

// decide is the PDP's one decision path: both protocols decide here, on
// the bundle in force, and hand a copy to the shadow bundle, if any.
func (s *Server) decide(ctx context.Context, st *state, decisionID, rule string, target, creds rego.Ordered) (rego.Decision, error) {
	start := time.Now()
	d, _, err := st.memo.Decide(ctx, rego.Request{Rule: rule, Target: target, Credentials: creds})
	if err == nil {
		// Decided while being cancelled (the caller went away, the server
		// is stopping): not an answer to trust.
		err = ctx.Err()
	}
	if err != nil {
		return rego.Decision{}, fmt.Errorf("deciding %q: %w", rule, err)
	}
	counters, ok := st.rules[rule]
	if !ok {
		counters = st.unknown
	}
	s.metrics.observe(counters, d.Allowed, time.Since(start))
	if s.cfg.Shadow == nil {
		return d, nil
	}
	// The caller's is_admin is its own (AdminRule empty). The target keeps
	// its key order; the credentials go as a map (their order matters
	// only to a str() of a dict inside them).
	cm, _ := creds.Value.(map[string]any)
	s.cfg.Shadow.Submit(shadow.Request{ID: decisionID, Rule: rule, Target: target, Credentials: cm,
		Enforced: d.Allowed, EnforcedRevision: st.revision})
	return d, nil
}

// check serves HttpCheck: True or False.
func (s *Server) check(c echo.Context) error {
	rec := s.newRecord(c, protoOslo)
	start := time.Now()
	defer func() { s.logDecision(c.Request().Context(), &rec, start) }()
	answer := func(status int, body string) error {
		s.metrics.request(rec.protocol, status)
		return c.String(status, body)
	}
	body, status, err := s.readBody(c)
	if err != nil {
		rec.result, rec.reason = resultBadRequest, err.Error()
		return answer(status, "False: "+err.Error()+"\n")
	}
	var req checkRequest
	switch ct := mediaType(c.Request()); ct {
	case "application/json", "":
		req, err = parseCheckJSON(body.Bytes())
	case "application/x-www-form-urlencoded":
		req, err = parseCheckForm(body.Bytes())
	default:
		s.release(body)
		err = fmt.Errorf("content type %q: want application/json or application/x-www-form-urlencoded (oslo's remote_content_type)", ct)
		rec.result, rec.reason = resultBadRequest, err.Error()
		return answer(http.StatusUnsupportedMediaType, "False: "+err.Error()+"\n")
	}
	s.release(body) // the request holds copies of what it keeps
	if err != nil {
		rec.result, rec.reason = resultBadRequest, err.Error()
		return answer(http.StatusBadRequest, "False: "+err.Error()+"\n")
	}
	rec.rule, rec.creds, rec.hasCreds = req.rule, req.credentials, true
	st, err := s.current(c.Request().Context())
	if err != nil {
		rec.result, rec.reason = resultUnavailable, err.Error()
		return answer(http.StatusServiceUnavailable, "False: "+err.Error()+"\n")
	}
	allowed, err := s.decideFor(c.Request().Context(), &rec, st, req.rule, req.target, req.credentials)
	if err != nil {
		return answer(http.StatusInternalServerError, "False: "+err.Error()+"\n")
	}
	if allowed {
		return answer(http.StatusOK, "True")
	}
	return answer(http.StatusOK, "False")
}

// opaData serves oslo.policy.opa's query: {"result": bool}.
func (s *Server) opaData(c echo.Context) error {
	rec := s.newRecord(c, protoOPA)
	start := time.Now()
	defer func() { s.logDecision(c.Request().Context(), &rec, start) }()
	answer := func(status int, v any) error {
		s.metrics.request(rec.protocol, status)
		return c.JSON(status, v)
	}
	refuse := func(status int, code string, err error) error {
		return answer(status, map[string]string{"code": code, "message": err.Error()})
	}
	path := strings.TrimPrefix(c.Request().URL.Path, dataPrefix)
	if !strings.HasSuffix(path, allowLeaf) || path == allowLeaf[1:] {
		err := fmt.Errorf("%w: oslo.policy.opa asks /v1/data/RULE/allow; %q is not such a path", errBadRequest, c.Request().URL.Path)
		rec.result, rec.reason = resultBadRequest, err.Error()
		return refuse(http.StatusNotFound, "resource_not_found", err)
	}
	rec.path = strings.TrimSuffix(path, allowLeaf)
	body, status, err := s.readBody(c)
	if err != nil {
		rec.result, rec.reason = resultBadRequest, err.Error()
		return refuse(status, "invalid_parameter", err)
	}
	target, creds, err := parseOPAInput(body.Bytes())
	s.release(body) // target and creds hold copies
	if err != nil {
		rec.result, rec.reason = resultBadRequest, err.Error()
		return refuse(http.StatusBadRequest, "invalid_parameter", err)
	}
	rec.creds, rec.hasCreds = creds, true
	st, err := s.current(c.Request().Context())
	if err != nil {
		rec.result, rec.reason = resultUnavailable, err.Error()
		return refuse(http.StatusServiceUnavailable, "internal_error", err)
	}
	rule, err := st.index.rule(rec.path)
	if err != nil {
		rec.result, rec.reason, rec.revision = resultBadRequest, err.Error(), st.revision
		return refuse(http.StatusBadRequest, "invalid_parameter", err)
	}
	rec.rule = rule
	allowed, err := s.decideFor(c.Request().Context(), &rec, st, rule, target, creds)
	if err != nil {
		return refuse(http.StatusInternalServerError, "internal_error", err)
	}
	if c.Request().URL.RawQuery != "" {
		// c.JSON's answer, which ?pretty indents.
		return answer(http.StatusOK, map[string]any{"decision_id": rec.id, "result": allowed})
	}
	s.metrics.request(rec.protocol, http.StatusOK)
	return c.JSONBlob(http.StatusOK, opaResult(rec.id, allowed))
}

// decideFor decides rule for a request on st, the policy in force, and
// fills rec; an error is the engine's failure (a 500), logged here.
func (s *Server) decideFor(ctx context.Context, rec *record, st *state, rule string, target, creds rego.Ordered) (bool, error) {
	rec.revision = st.revision
	d, err := s.decide(ctx, st, rec.id, rule, target, creds)
	if err != nil {
		rec.result, rec.reason = resultError, err.Error()
		s.cfg.Log.ErrorContext(ctx, "PDP decision failed", "rule", rule, "error", err)
		return false, errors.New("the decision failed")
	}
	rec.evaluated, rec.policyError = d.Evaluated, d.Error
	rec.result = resultDeny
	if d.Allowed {
		rec.result = resultAllow
	}
	return d.Allowed, nil
}

// mediaType is the request's content type without parameters.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	switch ct {
	case "", "application/json", "application/x-www-form-urlencoded":
		return ct // what ParseMediaType would give, without its map
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func (s *Server) newRecord(c echo.Context, p protocol) record {
	return record{id: uuid.NewString(), protocol: p, result: resultError, caller: Caller(c.Request())}
}

// Caller names the calling service: the subject of its verified client
// certificate, or else its address.
func Caller(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return r.TLS.VerifiedChains[0][0].Subject.String()
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// loggedCreds are the credentials' fields the decision log keeps: who
// asked, never a token.
var loggedCreds = []string{"user_id", "project_id", "domain_id", "system_scope", "roles", "is_admin"}

func (s *Server) logDecision(ctx context.Context, r *record, start time.Time) {
	var buf [12]slog.Attr // on the stack: LogAttrs copies them
	attrs := append(buf[:0],
		slog.String("decision_id", r.id),
		slog.String("pdp", r.protocol.String()),
		slog.String("rule", r.rule),
		slog.String("result", r.result),
		slog.String("bundle_revision", r.revision),
		slog.String("caller", r.caller),
		slog.Duration("duration", time.Since(start)),
	)
	if r.path != "" {
		attrs = append(attrs, slog.String("path", r.path))
	}
	if r.reason != "" {
		attrs = append(attrs, slog.String("reason", r.reason))
	}
	if r.evaluated != "" {
		attrs = append(attrs, slog.String("evaluated_rule", r.evaluated))
	}
	if r.policyError != "" {
		attrs = append(attrs, slog.String("policy_error", r.policyError))
	}
	if cm, _ := r.creds.Value.(map[string]any); r.hasCreds {
		// The group keeps its attributes: one slice, built as Attrs (a
		// slog.Group of ...any boxes each and copies them again). The
		// values are the map's (Ordered.Get would build their order
		// trees too).
		var who []slog.Attr
		for _, k := range loggedCreds {
			if v, ok := cm[k]; ok {
				if who == nil {
					who = make([]slog.Attr, 0, len(loggedCreds))
				}
				who = append(who, slog.Any(k, v))
			}
		}
		if len(who) > 0 {
			attrs = append(attrs, slog.Attr{Key: "credentials", Value: slog.GroupValue(who...)})
		}
	}
	s.cfg.DecisionLog.LogAttrs(ctx, slog.LevelInfo, "decision", attrs...)
	s.metrics.servedFor(r, time.Since(start))
}

// handleError answers what no handler did (unknown paths, wrong methods)
// and failures, never with a True.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	msg := "the PDP failed to answer"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		msg = http.StatusText(status)
	} else {
		s.cfg.Log.ErrorContext(c.Request().Context(), "PDP request failed", "error", err)
	}
	_ = c.String(status, strconv.Itoa(status)+" "+msg+"\n")
}

// TLSConfig is the PDP listener's TLS: the server certificate and key,
// and with a client CA file, client certificates required and verified
// against it (refused at the handshake otherwise).
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("PDP TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("PDP client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("PDP client CA %s: no PEM certificate in it", clientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
