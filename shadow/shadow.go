// Package shadow decides requests again under a candidate policy (a
// shadow bundle), off the request's path, and reports where the candidate
// would have decided otherwise than the policy in force.
//
// The one place that decides (the server's enforcement point, a PDP
// endpoint) calls Submit with a copy of the request and the enforced
// answer, and answers with the enforced answer whatever happens here:
// Submit never blocks. A bounded queue feeds a few workers; when it is
// full the shadow decision is dropped and counted.
package shadow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/rego"
)

// Defaults of Config.
const (
	DefaultQueueSize = 1024
	DefaultWorkers   = 2
	// maxRuleLabels bounds the rule label of the disagreement counter: a
	// PDP's rule names come from its clients. Further rules are "other".
	maxRuleLabels = 256
)

// Request is one enforced decision to decide again under the candidate.
// Submit copies Target and Credentials: the caller may reuse them.
type Request struct {
	// ID ties the disagreement's log line to the enforced decision's
	// (the decision log's decision_id).
	ID   string
	Rule string
	// Target and Credentials are the enforced decision's input.
	Target      any
	Credentials map[string]any
	// AdminRule, when not empty, is decided by the candidate on the
	// credentials (without is_admin), and its answer is the credentials'
	// is_admin, as the server decides is_admin with the policy in force.
	// Empty: the credentials' is_admin is used as given (a PDP's caller
	// gives it).
	AdminRule string
	// Enforced is the enforced decision; EnforcedRevision the revision
	// of the bundle that took it.
	Enforced         bool
	EnforcedRevision string
}

// Decision is the candidate's answer to a Request.
type Decision struct {
	rego.Decision
	// Revision is the candidate bundle's revision.
	Revision string
	// IsAdmin is the credentials' is_admin the candidate decided, when
	// Request.AdminRule was set.
	IsAdmin *bool
}

// Evaluator decides a request under the candidate. An error is an
// evaluation that failed (counted, never a disagreement); ErrNoPolicy
// when no candidate is loaded.
type Evaluator func(ctx context.Context, req Request) (Decision, error)

// ErrNoPolicy is an Evaluator's error while no candidate is loaded.
var ErrNoPolicy = errors.New("no shadow bundle is loaded")

// Policy is the candidate: bundles.Watcher is one, as for the policy in
// force (server.PolicySource).
type Policy interface {
	Policy() (engine *rego.Engine, revision string)
}

// Config is what New needs: Log, and Policy or Evaluate.
type Config struct {
	// Policy is the candidate bundle, reloaded by its owner.
	Policy Policy
	// Evaluate, when not nil, decides instead of Policy (tests).
	Evaluate Evaluator
	// QueueSize bounds the decisions waiting (0: DefaultQueueSize);
	// Workers decide them (0: DefaultWorkers).
	QueueSize, Workers int
	// DecisionLog gets one "shadow_disagreement" record per
	// disagreement; Log the evaluation errors. Both default to
	// discarding.
	DecisionLog, Log *slog.Logger
	// Registry receives the shadow's metrics (nil: none registered).
	Registry prometheus.Registerer
}

// Shadow decides submitted requests under the candidate in the
// background. Its methods are safe for concurrent use; a nil *Shadow
// drops every request.
type Shadow struct {
	cfg   Config
	queue chan Request
	wg    sync.WaitGroup

	mu     sync.RWMutex // guards closed against Submit; Close takes it
	closed bool

	labelsMu sync.Mutex
	labels   map[string]bool // the rule labels in use, at most maxRuleLabels

	disagreements *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	errs          *prometheus.CounterVec
	dropped       prometheus.Counter
}

// New starts the workers; Close stops them.
func New(cfg Config) (*Shadow, error) {
	if cfg.Evaluate == nil {
		if cfg.Policy == nil {
			return nil, errors.New("shadow: Policy or Evaluate is required")
		}
		cfg.Evaluate = EngineEvaluator(cfg.Policy)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	discard := slog.New(slog.DiscardHandler)
	if cfg.DecisionLog == nil {
		cfg.DecisionLog = discard
	}
	if cfg.Log == nil {
		cfg.Log = discard
	}
	s := &Shadow{cfg: cfg, queue: make(chan Request, cfg.QueueSize), labels: map[string]bool{}}
	s.disagreements = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oslorego_shadow_disagreements_total",
		Help: "Requests the shadow bundle decided otherwise than the policy in force, by rule (at most 256, then \"other\") and both decisions.",
	}, []string{"rule", "enforced", "shadow"})
	s.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oslorego_shadow_decisions_total",
		Help: "Shadow decisions taken, by result: agree, disagree, error (no shadow bundle loaded, or its evaluation failed).",
	}, []string{"result"})
	s.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oslorego_shadow_errors_total",
		Help: "Shadow decisions that failed, by reason: no_bundle (none loaded yet), evaluation (the engine failed); and policy: the shadow bundle denied because oslo.policy would raise (still compared, as a deny).",
	}, []string{"reason"})
	s.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oslorego_shadow_dropped_total",
		Help: "Shadow decisions dropped because the shadow queue was full (the request was answered without waiting).",
	})
	for _, r := range []string{"agree", "disagree", "error"} {
		s.decisions.WithLabelValues(r)
	}
	for _, r := range []string{"no_bundle", "evaluation", "policy"} {
		s.errs.WithLabelValues(r)
	}
	if cfg.Registry != nil {
		queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "oslorego_shadow_queue_length", Help: "Shadow decisions waiting in the queue.",
		}, func() float64 { return float64(len(s.queue)) })
		for _, c := range []prometheus.Collector{s.disagreements, s.decisions, s.errs, s.dropped, queued} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering the shadow metrics: %w", err)
			}
		}
	}
	for range cfg.Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s, nil
}

// Submit queues req for a shadow decision and returns at once: false
// when it was dropped (queue full, or the shadow closed). It copies the
// request's maps; nothing of the caller's context is kept.
func (s *Shadow) Submit(req Request) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	if len(s.queue) == cap(s.queue) {
		// Full: spare the copy. The send below still cannot block.
		s.dropped.Inc()
		return false
	}
	req.Target = clone(req.Target)
	req.Credentials, _ = clone(req.Credentials).(map[string]any)
	select {
	case s.queue <- req:
		return true
	default:
		s.dropped.Inc()
		return false
	}
}

// Close stops taking requests, decides those queued and returns when the
// workers are done. Submit after Close drops.
func (s *Shadow) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Shadow) work() {
	defer s.wg.Done()
	for req := range s.queue {
		s.decide(req)
	}
}

// decide takes one shadow decision and reports it. Shadow decisions run
// on a context of their own: the request they shadow may be long gone.
func (s *Shadow) decide(req Request) {
	ctx := context.Background()
	d, err := s.cfg.Evaluate(ctx, req)
	if err != nil {
		reason := "evaluation"
		if errors.Is(err, ErrNoPolicy) {
			reason = "no_bundle"
		} else {
			s.cfg.Log.Error("shadow decision failed", "rule", req.Rule, "decision_id", req.ID, "error", err)
		}
		s.errs.WithLabelValues(reason).Inc()
		s.decisions.WithLabelValues("error").Inc()
		return
	}
	if d.Error != "" {
		s.errs.WithLabelValues("policy").Inc()
	}
	if d.Allowed == req.Enforced {
		s.decisions.WithLabelValues("agree").Inc()
		return
	}
	s.decisions.WithLabelValues("disagree").Inc()
	s.disagreements.WithLabelValues(s.ruleLabel(req.Rule), result(req.Enforced), result(d.Allowed)).Inc()
	s.logDisagreement(ctx, req, d)
}

// ruleLabel is rule, or "other" once maxRuleLabels rules are in use.
func (s *Shadow) ruleLabel(rule string) string {
	s.labelsMu.Lock()
	defer s.labelsMu.Unlock()
	if s.labels[rule] {
		return rule
	}
	if len(s.labels) >= maxRuleLabels {
		return "other"
	}
	s.labels[rule] = true
	return rule
}

func (s *Shadow) logDisagreement(ctx context.Context, req Request, d Decision) {
	attrs := []slog.Attr{
		slog.String("decision_id", req.ID),
		slog.String("rule", req.Rule),
		slog.String("enforced", result(req.Enforced)),
		slog.String("shadow", result(d.Allowed)),
		slog.String("bundle_revision", req.EnforcedRevision),
		slog.String("shadow_revision", d.Revision),
	}
	if d.Evaluated != "" {
		attrs = append(attrs, slog.String("shadow_evaluated_rule", d.Evaluated))
	}
	if d.Error != "" {
		attrs = append(attrs, slog.String("shadow_policy_error", d.Error))
	}
	if d.IsAdmin != nil {
		attrs = append(attrs, slog.Bool("shadow_is_admin", *d.IsAdmin))
	}
	target := req.Target
	if o, ok := target.(rego.Ordered); ok {
		target = o.Value // a PDP's target: the values, not the struct
	}
	attrs = append(attrs, slog.Any("target", target), slog.Any("credentials", MaskCredentials(req.Credentials)))
	s.cfg.DecisionLog.LogAttrs(ctx, slog.LevelInfo, "shadow_disagreement", attrs...)
}

// EngineEvaluator decides with the engine p has in force, the
// credentials' is_admin first when the request names an AdminRule.
func EngineEvaluator(p Policy) Evaluator {
	return func(ctx context.Context, req Request) (Decision, error) {
		eng, revision := p.Policy()
		if eng == nil {
			return Decision{}, ErrNoPolicy
		}
		out := Decision{Revision: revision}
		creds := req.Credentials
		if req.AdminRule != "" {
			if creds == nil {
				creds = map[string]any{}
			}
			// The workers own the request's copy: no one else sees it.
			delete(creds, "is_admin")
			a, err := eng.Decide(ctx, rego.Request{Rule: req.AdminRule, Target: creds, Credentials: creds})
			if err != nil {
				return out, fmt.Errorf("deciding %s: %w", req.AdminRule, err)
			}
			creds["is_admin"] = a.Allowed
			out.IsAdmin = &a.Allowed
		}
		d, err := eng.Decide(ctx, rego.Request{Rule: req.Rule, Target: req.Target, Credentials: creds})
		if err != nil {
			return out, fmt.Errorf("deciding %s: %w", req.Rule, err)
		}
		out.Decision = d
		return out, nil
	}
}

func result(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// credentialKeys are the credentials a log may show: oslo.context's
// policy values and is_admin, none of them a secret (the decision log
// shows the same).
var credentialKeys = map[string]bool{
	"user_id": true, "user_domain_id": true, "project_id": true, "project_domain_id": true,
	"domain_id": true, "system_scope": true, "system": true, "roles": true,
	"is_admin": true, "is_admin_project": true,
	"service_user_id": true, "service_user_domain_id": true, "service_project_id": true,
	"service_project_domain_id": true, "service_roles": true,
}

// Masked replaces the value of every credential a log may not show.
const Masked = "***"

// MaskCredentials is creds with the value of every key outside oslo's
// policy values masked: a PDP's caller may send a token among them.
func MaskCredentials(creds map[string]any) map[string]any {
	out := make(map[string]any, len(creds))
	for k, v := range creds {
		if credentialKeys[k] {
			out[k] = v
		} else {
			out[k] = Masked
		}
	}
	return out
}

// clone copies the maps and slices of a JSON-like value; other values
// are immutable or the caller's own (strings, numbers, pointers the
// caller never writes through).
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = clone(e)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = clone(e)
		}
		return out
	case map[string]string:
		if v == nil {
			return v
		}
		out := make(map[string]string, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out
	case []string:
		return append([]string(nil), v...)
	}
	return v
}
