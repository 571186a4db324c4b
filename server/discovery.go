package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// documents are the JSON schemas a Glance Zed (25.1.0) serves under
// /v2/schemas/, captured from the peer by documents/capture.sh. Clients
// fetch them before they show or list images (glanceclient validates
// every image against the image schema).
//
//go:embed documents/*.json
var documents embed.FS

// schemaNames are the schema routes Glance Zed has, in its router's order.
var schemaNames = []string{
	"image", "images", "member", "members", "task", "tasks",
	"metadefs/namespace", "metadefs/namespaces",
	"metadefs/resource_type", "metadefs/resource_types",
	"metadefs/property", "metadefs/properties",
	"metadefs/object", "metadefs/objects",
	"metadefs/tag", "metadefs/tags",
}

// apiVersions is Glance Zed's versions document: the ids and statuses a
// multi-store Zed lists, newest first, all served at /v2/.
var apiVersions = []struct{ id, status string }{
	{"v2.16", "CURRENT"}, {"v2.15", "SUPPORTED"}, {"v2.14", "SUPPORTED"},
	{"v2.9", "SUPPORTED"}, {"v2.7", "SUPPORTED"}, {"v2.6", "SUPPORTED"},
	{"v2.5", "SUPPORTED"}, {"v2.4", "SUPPORTED"}, {"v2.3", "SUPPORTED"},
	{"v2.2", "SUPPORTED"}, {"v2.1", "SUPPORTED"}, {"v2.0", "SUPPORTED"},
}

// loadSchemas reads the embedded schemas and merges the operator's custom
// image properties (Glance's schema-image.json) into the image and images
// schemas as Glance's get_schema does.
func loadSchemas(custom []byte) (map[string][]byte, error) {
	out := make(map[string][]byte, len(schemaNames))
	for _, n := range schemaNames {
		b, err := documents.ReadFile("documents/schemas_" + strings.ReplaceAll(n, "/", "_") + ".json")
		if err != nil {
			return nil, fmt.Errorf("embedded schema %s: %w", n, err)
		}
		out[n] = b
	}
	if len(custom) == 0 {
		return out, nil
	}
	props, err := parseCustomProperties(custom)
	if err != nil {
		return nil, err
	}
	img, err := mergeProperties(out["image"], []string{"properties"}, props)
	if err != nil {
		return nil, err
	}
	imgs, err := mergeProperties(out["images"], []string{"properties", "images", "items", "properties"}, props)
	if err != nil {
		return nil, err
	}
	out["image"], out["images"] = img, imgs
	return out, nil
}

// parseCustomProperties reads schema-image.json: an object of property
// name to JSON schema object, each marked "is_base": false as Glance does.
func parseCustomProperties(data []byte) (*orderedObject, error) {
	obj, err := decodeOrdered(data)
	if err != nil {
		return nil, fmt.Errorf("custom image properties: %w", err)
	}
	for i, k := range obj.keys {
		def, err := decodeOrdered(obj.vals[i])
		if err != nil {
			return nil, fmt.Errorf("custom image property %q: its definition must be a JSON object: %w", k, err)
		}
		def.set("is_base", json.RawMessage("false"))
		if obj.vals[i], err = def.MarshalJSON(); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// mergeProperties adds props to the properties object at path in the
// schema doc. Like Glance's merge_properties, a custom property may not
// redefine a base one (after "is_base" is added, none can: Glance refuses
// to start).
func mergeProperties(doc []byte, path []string, props *orderedObject) ([]byte, error) {
	root, err := decodeOrdered(doc)
	if err != nil {
		return nil, err
	}
	// Walk down, remembering each level to re-encode on the way up.
	levels := []*orderedObject{root}
	for _, p := range path {
		cur := levels[len(levels)-1]
		raw, ok := cur.get(p)
		if !ok {
			return nil, fmt.Errorf("embedded schema has no %q", strings.Join(path, "."))
		}
		next, err := decodeOrdered(raw)
		if err != nil {
			return nil, err
		}
		levels = append(levels, next)
	}
	base := levels[len(levels)-1]
	var clash []string
	for _, k := range props.keys {
		if _, ok := base.get(k); ok {
			clash = append(clash, k)
		}
	}
	if len(clash) > 0 {
		return nil, fmt.Errorf("custom image properties (%s) conflict with base properties", strings.Join(clash, ", "))
	}
	for i, k := range props.keys {
		base.set(k, props.vals[i])
	}
	for i := len(levels) - 1; i > 0; i-- {
		b, err := levels[i].MarshalJSON()
		if err != nil {
			return nil, err
		}
		levels[i-1].set(path[i-1], b)
	}
	return root.MarshalJSON()
}

// orderedObject is a JSON object that keeps its keys' order, as Python's
// dicts (and so Glance's documents) do.
type orderedObject struct {
	keys []string
	vals []json.RawMessage
}

func decodeOrdered(data []byte) (*orderedObject, error) {
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &orderedObject{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(tok.(string), v)
	}
	return o, nil
}

func (o *orderedObject) get(k string) (json.RawMessage, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// set replaces k's value in place, or appends it: Python's dict update.
func (o *orderedObject) set(k string, v json.RawMessage) {
	for i, key := range o.keys {
		if key == k {
			o.vals[i] = v
			return
		}
	}
	o.keys, o.vals = append(o.keys, k), append(o.vals, v)
}

// MarshalJSON writes the object with its keys in order.
func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteString(": ")
		b.Write(o.vals[i])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// versionsBody is Glance's versions document, its links rooted at the
// public URL when one is configured, else at the URL the request came to
// (Glance's public_endpoint option and req.application_url).
func (s *Server) versionsBody(r *http.Request) ([]byte, error) {
	base := s.publicBase(r)
	u, err := url.Parse(strings.TrimRight(base, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("public URL %q: %w", base, err)
	}
	href := strings.TrimRight(u.JoinPath("v2").String(), "/") + "/"
	type link struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	}
	type version struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Links  []link `json:"links"`
	}
	vs := make([]version, len(apiVersions))
	for i, v := range apiVersions {
		vs[i] = version{v.id, v.status, []link{{"self", href}}}
	}
	return json.Marshal(map[string][]version{"versions": vs})
}

// versions answers GET / (300 Multiple Choices) and GET /versions (200),
// before any authentication, as Glance's version negotiation does.
// publicBase is the URL this server's links are rooted at: the public
// URL when one is configured, else the URL the request came to.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	host := r.Host
	if host == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + host
}

func (s *Server) versions(status int) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.mode == ModeAll {
			return s.proxyVersions(c, status)
		}
		body, err := s.versionsBody(c.Request())
		if err != nil {
			return err
		}
		return c.JSONBlob(status, body)
	}
}

// schema answers one of Glance's schema documents to an authenticated
// caller. Glance enforces no policy on schemas; its authtoken middleware
// still requires a valid token, and so do we.
func (s *Server) schema(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := s.cfg.Auth.Authenticate(c.Request().Context(), c.Request()); err != nil {
			return s.refuseIdentity(c, err)
		}
		return c.JSONBlob(http.StatusOK, s.schemas[name])
	}
}

// notFound answers a path no route has. Glance's version negotiation
// answers the versions document (300) for any path that does not start
// with a version it serves; under /v2/ it is a plain 404.
func (s *Server) notFound(c echo.Context) error {
	p := c.Request().URL.Path
	if p == "/v2" {
		return c.Redirect(http.StatusFound, "/v2/")
	}
	if strings.HasPrefix(p, "/v2/") {
		return writeError(c, http.StatusNotFound, "The resource could not be found.")
	}
	return s.versions(http.StatusMultipleChoices)(c)
}
