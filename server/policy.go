package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/rego"
)

// protectionsRef is where bundles put Glance's property protections.
const protectionsRef = "data.oslo.glance.property_protections.allowed"

// policyState is the policy in force with the queries prepared for it.
type policyState struct {
	engine   *rego.Engine
	revision string
	// memo answers repeated decisions of this revision (off when
	// Config.DecisionMemo is 0); a reload makes a new, empty one.
	memo *rego.Memo
	// readable is nil when the bundle has no property protections: every
	// property is readable, as in Glance without a protection file.
	readable *rego.Query

	// admins caches context_is_admin per credentials: the decision is a
	// function of the credentials and this bundle alone, and callers
	// repeat. callers caches a caller's credentials per identity.
	adminMu sync.Mutex
	admins  map[string]bool
	callers map[string]*callerCreds
}

// maxAdminCache bounds the is_admin and caller caches; each starts over
// when full.
const maxAdminCache = 4096

// maxCallerKey bounds the identity key of a cached caller: a longer
// identity (a header-authenticated caller with a huge role list) is
// worked out again on every request rather than held.
const maxCallerKey = 4096

// callerCreds are one caller's policy credentials under one policy: what
// Credentials makes, with is_admin decided. Requests of the same identity
// share them, so nothing may change them once made.
type callerCreds struct {
	creds   map[string]any
	isAdmin bool
	// log is the decision log's credentials group.
	log slog.Value
}

// credentials returns the caller's credentials with is_admin decided by
// rule (context_is_admin), cached per identity: they are a function of
// the identity and this bundle alone. A failed decision is an error and
// is not cached.
func (p *policyState) credentials(ctx context.Context, rule string, id *auth.Identity) (*callerCreds, error) {
	var buf [512]byte
	key := appendIdentityKey(buf[:0], id)
	p.adminMu.Lock()
	cc, ok := p.callers[string(key)]
	p.adminMu.Unlock()
	if ok {
		return cc, nil
	}
	creds := Credentials(id)
	isAdmin, err := p.isAdmin(ctx, rule, creds)
	if err != nil {
		return nil, err
	}
	creds["is_admin"] = isAdmin
	cc = &callerCreds{creds: creds, isAdmin: isAdmin, log: credentialsLog(id, isAdmin)}
	if len(key) > maxCallerKey {
		return cc, nil
	}
	p.adminMu.Lock()
	if p.callers == nil || len(p.callers) >= maxAdminCache {
		p.callers = map[string]*callerCreds{}
	}
	p.callers[string(key)] = cc
	p.adminMu.Unlock()
	return cc, nil
}

// appendIdentityKey appends an encoding of every Identity field that
// Credentials reads: equal keys are identities with equal credentials.
// Strings are length-prefixed, so no value can spell another's boundary.
func appendIdentityKey(b []byte, id *auth.Identity) []byte {
	for _, s := range [...]string{id.UserID, id.UserDomainID, id.ProjectID, id.ProjectDomainID, id.DomainID, id.SystemScope} {
		b = appendKeyString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(id.Roles)))
	for _, r := range id.Roles {
		b = appendKeyString(b, r)
	}
	if id.IsAdminProject {
		return append(b, 't')
	}
	return append(b, 'f')
}

// policyState returns the prepared state for the policy in force,
// preparing it once per engine (a reload makes a new one).
func (s *Server) policyState(ctx context.Context) (*policyState, error) {
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
	st := &policyState{engine: eng, revision: revision, memo: rego.NewMemo(eng, s.cfg.DecisionMemo, &s.memoStats)}
	if eng.Defines(protectionsRef) {
		q, err := eng.PrepareQuery(ctx, `{p | some p in input.properties; `+protectionsRef+`(p, "read")}`)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", revision, err)
		}
		st.readable = q
	}
	s.state.Store(st)
	return st, nil
}

// isAdmin decides the credentials' is_admin with the context_is_admin
// rule, as Glance's RequestContext does (target: the credentials).
func (p *policyState) isAdmin(ctx context.Context, rule string, creds map[string]any) (bool, error) {
	var buf [512]byte
	key, err := appendCredsKey(buf[:0], creds)
	if err != nil {
		return false, fmt.Errorf("credentials: %w", err)
	}
	p.adminMu.Lock()
	admin, ok := p.admins[string(key)]
	p.adminMu.Unlock()
	if ok {
		return admin, nil
	}
	d, err := p.engine.Decide(ctx, rego.Request{Rule: rule, Target: creds, Credentials: creds})
	if err != nil {
		return false, fmt.Errorf("deciding %s: %w", rule, err)
	}
	p.adminMu.Lock()
	if p.admins == nil || len(p.admins) >= maxAdminCache {
		p.admins = map[string]bool{}
	}
	p.admins[string(key)] = d.Allowed
	p.adminMu.Unlock()
	return d.Allowed, nil
}

// maxCredsKeys is how many credential names appendCredsKey sorts without
// allocating: Credentials makes nine.
const maxCredsKeys = 16

// appendCredsKey appends a canonical encoding of creds to b: equal
// credentials give equal keys and different ones different keys. Names
// are sorted and every string is length-prefixed, so no value can spell
// another's boundary. Values other than nil, strings, booleans and lists
// of those are encoded as JSON (as the whole key once was).
func appendCredsKey(b []byte, creds map[string]any) ([]byte, error) {
	var arr [maxCredsKeys]string
	names := arr[:0]
	for k := range creds {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b = appendKeyString(b, k)
		var err error
		if b, err = appendKeyValue(b, creds[k]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendKeyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendKeyValue is one value of appendCredsKey: a type letter, then the
// value.
func appendKeyValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, 'n'), nil
	case bool:
		if v {
			return append(b, 't'), nil
		}
		return append(b, 'f'), nil
	case string:
		return appendKeyString(append(b, 's'), v), nil
	case []any:
		b = binary.AppendUvarint(append(b, 'l'), uint64(len(v)))
		for _, e := range v {
			var err error
			if b, err = appendKeyValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendKeyString(append(b, 'j'), string(j)), nil
}

// readableProperties returns the custom properties the caller may read.
// It fails closed: on an evaluation error no property is readable.
func (p *policyState) readableProperties(ctx context.Context, creds map[string]any, props map[string]string) (map[string]string, error) {
	if p.readable == nil || len(props) == 0 {
		return props, nil
	}
	names := make([]*ast.Term, 0, len(props))
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names = append(names, ast.StringTerm(k))
	}
	cv, err := ast.InterfaceToValue(creds)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	in := ast.NewObject(
		ast.Item(ast.StringTerm("properties"), ast.ArrayTerm(names...)),
		ast.Item(ast.StringTerm("credentials"), ast.NewTerm(cv)),
	)
	v, ok, err := p.readable.Eval(ctx, in)
	if err != nil {
		return map[string]string{}, err
	}
	out := map[string]string{}
	if !ok {
		return out, nil
	}
	list, _ := v.([]any)
	for _, n := range list {
		if name, ok := n.(string); ok {
			out[name] = props[name]
		}
	}
	return out, nil
}
