package opawire

import (
	"context"
	"log/slog"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"
)

// EventConfig says how decision log records become OPA events.
type EventConfig struct {
	// Path is the event's path: the decision's data path, e.g.
	// "oslo/policy/allow".
	Path string
	// Bundle names the bundle in the events' bundles map.
	Bundle string
	// Labels are every event's labels (OPA's id and version, say); a
	// record's replica attribute is added as "replica".
	Labels map[string]string
}

// Handler passes every record to its next handler and, for each
// decision record (message "decision"), queues an OPA decision event
// with the uploader. The event holds what the record holds (the JSON
// lines' fields, credentials as the identity without any token):
//
//	decision_id            decision_id
//	bundle_revision        bundles[Bundle].revision
//	duration               metrics.timer_server_handler_ns
//	replica                labels.replica
//	requested_by, caller   requested_by
//	action                 input.rule
//	result, reason, evaluated_rule, policy_error
//	                       result: {"allowed": result == "allow", "result", ...}
//	anything else          input (credentials as input.credentials)
type Handler struct {
	next  slog.Handler
	up    *Uploader
	cfg   EventConfig
	attrs []slog.Attr
	group string
}

// NewHandler tees next's decision records to up.
func NewHandler(next slog.Handler, up *Uploader, cfg EventConfig) *Handler {
	return &Handler{next: next, up: up, cfg: cfg}
}

// Enabled implements slog.Handler: every decision is uploaded even when
// next discards it.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	if r.Message == "decision" && h.group == "" {
		attrs := append([]slog.Attr(nil), h.attrs...)
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
		h.up.Log(h.event(r.Time, attrs))
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	if h.group == "" {
		c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	}
	return &c
}

// WithGroup implements slog.Handler; records under a group are not
// decisions of this log's shape, so they are not uploaded.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if name != "" {
		c.group = name
	}
	return &c
}

func (h *Handler) event(at time.Time, attrs []slog.Attr) logs.EventV1 {
	ev := logs.EventV1{
		Labels:    map[string]string{},
		Path:      h.cfg.Path,
		Timestamp: at.UTC(),
	}
	for k, v := range h.cfg.Labels {
		ev.Labels[k] = v
	}
	input := map[string]any{}
	result := map[string]any{}
	for _, a := range attrs {
		v := a.Value.Resolve()
		switch a.Key {
		case "decision_id":
			ev.DecisionID = v.String()
		case "bundle_revision":
			ev.Bundles = map[string]logs.BundleInfoV1{h.cfg.Bundle: {Revision: v.String()}}
		case "duration":
			ev.Metrics = map[string]any{"timer_server_handler_ns": v.Duration().Nanoseconds()}
		case "replica":
			ev.Labels["replica"] = v.String()
		case "requested_by", "caller":
			ev.RequestedBy = v.String()
		case "action":
			input["rule"] = v.String()
		case "result":
			result["result"] = v.String()
			result["allowed"] = v.String() == "allow"
		case "reason", "evaluated_rule", "policy_error":
			result[a.Key] = v.String()
		default:
			input[a.Key] = value(v)
		}
	}
	var in, res any = input, result
	ev.Input, ev.Result = &in, &res
	return ev
}

// value is v as JSON would show it: groups are objects.
func value(v slog.Value) any {
	switch v.Kind() {
	case slog.KindGroup:
		m := map[string]any{}
		for _, a := range v.Group() {
			m[a.Key] = value(a.Value.Resolve())
		}
		return m
	case slog.KindDuration:
		return v.Duration().Nanoseconds()
	case slog.KindTime:
		return v.Time().UTC()
	}
	return v.Any()
}
