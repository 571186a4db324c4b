package server

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/rego"
)

// decisionRecord is one line of the decision log. It holds the caller's
// identity but never a token or other secret.
type decisionRecord struct {
	ID        string
	RequestID string
	// UpstreamRequestID is the upstream Glance's X-Openstack-Request-Id
	// (gateway mode).
	UpstreamRequestID string
	Action            string
	Route             string
	ImageID           string
	Result            string // allow, deny, not_found, deactivated, unauthenticated, ...
	Reason            string
	Evaluated         string
	PolicyError       string
	Revision          string
	Credentials       *auth.Identity
	IsAdmin           bool
	// Memo is what the decision memo did for the decision.
	Memo rego.MemoOutcome
	// credsLog, when a group, is credentialsLog(Credentials, IsAdmin)
	// made once for the caller.
	credsLog slog.Value
}

// credentialsLog is the decision log's credentials group: who the caller
// is, never a secret.
func credentialsLog(id *auth.Identity, isAdmin bool) slog.Value {
	return slog.GroupValue(
		slog.String("user_id", id.UserID),
		slog.String("project_id", id.ProjectID),
		slog.String("domain_id", id.DomainID),
		slog.String("system_scope", id.SystemScope),
		slog.Any("roles", slices.Clone(id.Roles)),
		slog.Bool("is_admin", isAdmin),
	)
}

func (s *Server) logDecision(ctx context.Context, r *decisionRecord, start time.Time) {
	var buf [14]slog.Attr // on the stack: LogAttrs copies them
	attrs := append(buf[:0],
		slog.String("decision_id", r.ID),
		slog.String("request_id", r.RequestID),
		slog.String("action", r.Action),
		slog.String("route", r.Route),
		slog.String("image_id", r.ImageID),
		slog.String("result", r.Result),
		slog.String("bundle_revision", r.Revision),
		slog.Duration("duration", time.Since(start)),
	)
	if r.UpstreamRequestID != "" {
		attrs = append(attrs, slog.String("upstream_request_id", r.UpstreamRequestID))
	}
	if r.Reason != "" {
		attrs = append(attrs, slog.String("reason", r.Reason))
	}
	if r.Evaluated != "" {
		attrs = append(attrs, slog.String("evaluated_rule", r.Evaluated))
	}
	if r.PolicyError != "" {
		attrs = append(attrs, slog.String("policy_error", r.PolicyError))
	}
	if r.Memo != rego.MemoOff {
		attrs = append(attrs, slog.String("memo", r.Memo.String()))
	}
	switch {
	case r.credsLog.Kind() == slog.KindGroup:
		attrs = append(attrs, slog.Attr{Key: "credentials", Value: r.credsLog})
	case r.Credentials != nil:
		attrs = append(attrs, slog.Attr{Key: "credentials", Value: credentialsLog(r.Credentials, r.IsAdmin)})
	}
	s.cfg.DecisionLog.LogAttrs(ctx, slog.LevelInfo, "decision", attrs...)
}
