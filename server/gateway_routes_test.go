package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oslorego/oslorego/server"
)

// metadefPolicy guards the metadef routes the namespace tests use: each
// rule reads the namespace's owner (project_id) or visibility.
const metadefPolicy = `
"context_is_admin": "role:admin"
"default": "role:admin"
"get_metadef_namespace": "project_id:%(project_id)s or 'public':%(visibility)s"
"modify_metadef_namespace": "role:member and project_id:%(project_id)s"
"get_metadef_objects": "project_id:%(project_id)s or 'public':%(visibility)s"
"add_metadef_object": "role:member and project_id:%(project_id)s"
"get_metadef_tag": "'public':%(visibility)s"
`

// namespace is a metadef namespace of the fake Glance.
type namespace struct{ owner, visibility string }

// metadefGlance answers GET /v2/metadefs/namespaces/{name} as Glance:
// a private namespace only to its owner's tokens (404 to anyone else), the
// namespace's JSON otherwise; every other request is proxyGlance's. Each
// namespace read is recorded with the token it came with.
func metadefGlance(t *testing.T, namespaces map[string]namespace, projectOf map[string]string) *proxyGlance {
	p := newProxyGlance(t)
	p.answer = func(w http.ResponseWriter, r *http.Request) bool {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v2/metadefs/namespaces/")
		if !ok || strings.Contains(rest, "/") || r.Method != http.MethodGet {
			return false
		}
		name, err := url.PathUnescape(rest)
		if err != nil {
			http.Error(w, "bad name", http.StatusBadRequest)
			return true
		}
		tok := r.Header.Get("X-Auth-Token")
		p.record(r, nil)
		ns, exists := namespaces[name]
		switch {
		case name == "broken":
			http.Error(w, "db down", http.StatusInternalServerError)
		case name == "unauthorized": // Glance refusing the token
			http.Error(w, "no", http.StatusUnauthorized)
		case !exists || ns.visibility != "public" && projectOf[tok] != ns.owner:
			http.Error(w, "not found", http.StatusNotFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"namespace": name, "owner": ns.owner, "visibility": ns.visibility, "protected": false})
		}
		return true
	}
	return p
}

// Under a metadef namespace the target is the namespace's owner and
// visibility, read from Glance as the caller: the owner's member may
// change it and others may not; a public one is readable by all; one the
// caller cannot see is 404 with no decision and nothing proxied; the
// namespace read failing is 503 (401 when Glance refuses the token), never
// a decision on a guess.
func TestGatewayMetadefNamespaceTarget(t *testing.T) {
	namespaces := map[string]namespace{
		"OS::Own":    {p1, "private"},
		"OS::Public": {p2, "public"},
		"OS::Other":  {p2, "private"},
		"with space": {p1, "private"},
	}
	projectOf := map[string]string{}
	p := metadefGlance(t, namespaces, projectOf)
	reg := prometheus.NewRegistry()
	c := p.client(t)
	src, err := server.NewUpstreamSource(c, server.UpstreamOptions{MetadataTTL: -1, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dirPolicy(t, map[string]string{"policy.yaml": metadefPolicy}), nil, func(cfg *server.Config) {
		cfg.Images, cfg.Source, cfg.Upstream, cfg.Registry = nil, src, c, reg
	})
	member, reader, other := h.token(p1, "member", "reader"), h.token(p1, "reader"), h.token(p2, "member", "reader")
	projectOf[member], projectOf[reader], projectOf[other] = p1, p1, p2
	const base = "/v2/metadefs/namespaces/"
	for _, tc := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"read own", "GET", base + "OS::Own", member, "", 200},
		{"read public of another project", "GET", base + "OS::Public", member, "", 200},
		{"read public's objects", "GET", base + "OS::Public/objects", reader, "", 200},
		{"change own", "PUT", base + "OS::Own", member, `{"namespace": "OS::Own"}`, 200},
		{"change own as reader", "PUT", base + "OS::Own", reader, `{"namespace": "OS::Own"}`, 403},
		{"change another project's public", "PUT", base + "OS::Public", member, `{}`, 403},
		{"change it as its owner", "PUT", base + "OS::Public", other, `{"namespace": "OS::Public"}`, 200},
		{"add object to own", "POST", base + "OS::Own/objects", member, `{"name": "o"}`, 200},
		{"add object to public of another project", "POST", base + "OS::Public/objects", member, `{"name": "o"}`, 403},
		{"tag of a private namespace (visibility)", "GET", base + "OS::Own/tags/t", member, "", 403},
		{"tag of a public one", "GET", base + "OS::Public/tags/t", member, "", 200},
		{"escaped name", "POST", base + "with%20space/objects", member, `{"name": "o"}`, 200},
		{"another project's private", "GET", base + "OS::Other", member, "", 404},
		{"another project's private, objects", "POST", base + "OS::Other/objects", member, `{"name": "o"}`, 404},
		{"no such namespace", "GET", base + "OS::None/tags", member, "", 404},
		{"namespace read fails", "GET", base + "broken/objects", member, "", 503},
		{"token refused upstream", "GET", base + "unauthorized/objects", member, "", 401},
	} {
		before := len(p.received())
		beforeDecisions := strings.Count(h.decisions.String(), "\n")
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		status, _, got := h.send(tc.method, tc.path, tc.token, body)
		if status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, got, tc.want)
		}
		rs := p.received()[before:]
		if len(rs) == 0 || rs[0].method != "GET" || rs[0].token != tc.token ||
			!strings.HasPrefix(rs[0].uri, base) || strings.Count(strings.TrimPrefix(rs[0].uri, base), "/") != 0 {
			t.Errorf("%s: the first upstream request is not the namespace read as the caller: %+v", tc.name, rs)
			continue
		}
		ns := strings.SplitN(strings.TrimPrefix(tc.path, base), "/", 2)[0]
		if rs[0].uri != base+ns {
			t.Errorf("%s: read %s, want %s", tc.name, rs[0].uri, base+ns)
		}
		forwarded := rs[1:]
		decisions := h.decisions.String()[len(h.decisions.String())-len(lastLines(h.decisions.String(), strings.Count(h.decisions.String(), "\n")-beforeDecisions)):]
		switch tc.want {
		case 200:
			if len(forwarded) != 1 || forwarded[0].method != tc.method || forwarded[0].uri != tc.path || string(forwarded[0].body) != tc.body || forwarded[0].token != tc.token {
				t.Errorf("%s: forwarded %+v", tc.name, forwarded)
			}
			if !strings.Contains(decisions, `"result":"allow"`) {
				t.Errorf("%s: decision log %s", tc.name, decisions)
			}
		case 403:
			if len(forwarded) != 0 || strings.TrimSpace(string(got)) != forbidden {
				t.Errorf("%s: refused, yet forwarded %+v (body %s)", tc.name, forwarded, got)
			}
			if !strings.Contains(decisions, `"result":"deny"`) {
				t.Errorf("%s: decision log %s", tc.name, decisions)
			}
		default:
			if len(forwarded) != 0 {
				t.Errorf("%s: %d, yet forwarded %+v", tc.name, tc.want, forwarded)
			}
			if strings.Contains(decisions, `"result":"allow"`) || strings.Contains(decisions, `"result":"deny"`) {
				t.Errorf("%s: decided: %s", tc.name, decisions)
			}
		}
		if tc.want == 404 && !strings.Contains(string(got), "Namespace "+ns+" not found") {
			t.Errorf("%s: 404 body %s", tc.name, got)
		}
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	if n <= 0 {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if n > len(lines) {
		n = len(lines)
	}
	return strings.Join(lines[len(lines)-n:], "") + "\n"
}
