package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oslorego/oslorego/upstream"
)

// Bounds of what the proxy reads whole: request bodies it must inspect
// (an image's creation, a JSON patch) and image JSON it must strip of
// locations. Image data is never read whole.
const (
	maxInspectedBody = 4 << 20
	maxImageJSON     = 64 << 20
)

// hiddenImageFields are never shown, whatever the upstream is configured
// to show (show_image_direct_url, show_multiple_locations): a location
// is a way around the gateway to the data.
var hiddenImageFields = []string{"locations", "direct_url"}

// proxy sends an authorised request to the upstream Glance unchanged, with
// the caller's token, both bodies streamed, and relays the answer. A
// client that hangs up ends the upstream request; an upstream that fails
// is a 503.
func (s *Server) proxy(c *call) error {
	req := c.Request()
	if req.Method == http.MethodPatch && c.Path() == "/v2/images/:id" {
		body, status, msg := s.inspectBody(c)
		if status == 0 {
			status, msg = checkPatch(body)
		}
		if status != 0 {
			c.rec.Reason = msg
			return writeError(c, status, msg)
		}
	}
	if req.Body != nil && req.ContentLength != 0 {
		req.Body = s.progressBody(c, req.Body)
	}
	up, err := s.cfg.Upstream.Forward(req.Context(), req, requestID(c))
	if id := c.Param("id"); id != "" && req.Method != http.MethodGet && req.Method != http.MethodHead {
		// A change made through this gateway is in force here at once
		// (other replicas: within the metadata TTL). Whatever the answer:
		// a write that failed or timed out may still have been made.
		if u, ok := s.source.(*UpstreamSource); ok {
			u.forget(id)
		}
	}
	if err != nil {
		if errors.Is(err, upstream.ErrUnavailable) {
			return s.upstreamFailed(c, "proxy", err)
		}
		return fmt.Errorf("proxying %s %s: %w", req.Method, clip(req.URL.Path), err)
	}
	return s.relayProxied(c.Context, up, strings.HasPrefix(c.Path(), "/v2/images"), c.rec)
}

// forget drops the gateway's cached read of image id, and every
// caller's kept view of it.
func (u *UpstreamSource) forget(id string) {
	u.mu.Lock()
	delete(u.cache, id)
	u.mu.Unlock()
	if u.views != nil {
		u.views.forget(id)
	}
}

// upstreamFailed answers 503 for an upstream that could not answer.
func (s *Server) upstreamFailed(c echo.Context, step string, err error) error {
	s.cfg.Log.ErrorContext(c.Request().Context(), "upstream unavailable", "path", clip(c.Request().URL.Path), "error", err)
	s.metrics.sourceUnavailable.WithLabelValues(step).Inc()
	return writeError(c, http.StatusServiceUnavailable, unavailableMsg)
}

// relayProxied passes an upstream answer on: status, end-to-end headers
// and body, streamed. Image JSON is read (bounded) to remove locations.
// An upstream 5xx is our 503.
func (s *Server) relayProxied(c echo.Context, up *http.Response, imageJSON bool, rec *decisionRecord) error {
	defer up.Body.Close()
	if rec != nil {
		rec.UpstreamRequestID = up.Header.Get(headerRequestID)
	}
	if up.StatusCode >= 500 {
		if rec != nil {
			rec.Reason = "upstream answered " + up.Status
		}
		return s.upstreamFailed(c, "proxy", fmt.Errorf("upstream answered %s", up.Status))
	}
	h := c.Response().Header()
	for k, vs := range up.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", headerRequestID, "Www-Authenticate":
			continue
		case "Location", "Content-Location":
			for i, v := range vs {
				vs[i] = s.ourURL(c.Request(), v)
			}
		}
		h[k] = vs
	}
	if up.StatusCode == http.StatusUnauthorized && s.cfg.WWWAuthenticate != "" {
		h.Set("WWW-Authenticate", s.cfg.WWWAuthenticate)
	}
	var body io.Reader = up.Body
	length := up.ContentLength
	if up.StatusCode == http.StatusNoContent || up.StatusCode == http.StatusNotModified || c.Request().Method == http.MethodHead {
		length = 0
	} else if imageJSON && strings.Contains(up.Header.Get("Content-Type"), "json") {
		b, err := io.ReadAll(io.LimitReader(up.Body, maxImageJSON+1))
		if err == nil && len(b) > maxImageJSON {
			err = fmt.Errorf("image JSON over %d bytes", maxImageJSON)
		}
		if err != nil {
			if c.Request().Context().Err() != nil {
				return err
			}
			return s.upstreamFailed(c, "proxy", fmt.Errorf("reading the upstream's image JSON: %w", err))
		}
		b = stripLocations(b)
		body, length = bytes.NewReader(b), int64(len(b))
	}
	if length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	// The write deadline may have passed while a long upload was read.
	if d := s.cfg.WriteProgressTimeout; d > 0 {
		_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(d))
	}
	c.Response().WriteHeader(up.StatusCode)
	if length == 0 {
		return nil
	}
	n, err := s.copyProgress(&call{Context: c}, body, length)
	c.Response().Size += n
	if err != nil {
		if rec != nil {
			rec.Reason = "transfer interrupted"
		}
		if c.Request().Context().Err() == nil {
			s.metrics.sourceUnavailable.WithLabelValues("transfer").Inc()
		}
		return fmt.Errorf("relaying %s (%d bytes sent): %w", clip(c.Request().URL.Path), n, err)
	}
	return nil
}

// stripLocations removes the hidden fields from an image's JSON or from
// each image of a listing. Anything else (an error page, JSON that does
// not parse) is passed as it is: it holds no image.
func stripLocations(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return b
	}
	changed := stripFields(m)
	if list, ok := m["images"].([]any); ok {
		for _, it := range list {
			if im, ok := it.(map[string]any); ok && stripFields(im) {
				changed = true
			}
		}
	}
	if !changed {
		return b
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return b // unreachable: it was decoded from JSON
	}
	return out.Bytes()
}

func stripFields(m map[string]any) bool {
	changed := false
	for _, k := range hiddenImageFields {
		if _, ok := m[k]; ok {
			delete(m, k)
			changed = true
		}
	}
	return changed
}

// inspectBody reads a request body the gateway must look at (bounded)
// and puts it back for the upstream.
func (s *Server) inspectBody(c *call) ([]byte, int, string) {
	req := c.Request()
	b, err := io.ReadAll(io.LimitReader(req.Body, maxInspectedBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, "The request body could not be read."
	}
	if len(b) > maxInspectedBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is over %d bytes.", maxInspectedBody)
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	req.TransferEncoding = nil
	return b, 0, ""
}

// checkPatch refuses a JSON patch (either of Glance's media types) that
// touches an image's locations: the gateway never shows them, and adding
// or replacing one would point an image at data the gateway never
// decided on. A body the gateway cannot read is refused too.
func checkPatch(body []byte) (int, string) {
	var ops []map[string]any
	if err := json.Unmarshal(body, &ops); err != nil {
		return http.StatusBadRequest, "The request body is not a JSON patch (a list of operations)."
	}
	for _, op := range ops {
		for k, v := range op {
			p, ok := v.(string)
			if !ok || k == "value" || !strings.HasPrefix(p, "/") {
				continue
			}
			root, _, _ := strings.Cut(p[1:], "/")
			root = strings.ReplaceAll(strings.ReplaceAll(root, "~1", "/"), "~0", "~")
			if root == "locations" {
				return http.StatusForbidden, "Image locations cannot be changed through this endpoint."
			}
		}
	}
	return 0, ""
}

// newImageTarget is Glance's target for creating an image: the owner and
// visibility the request asks for, else the caller's project and private.
func (s *Server) newImageTarget(c *call) (map[string]any, int, string, error) {
	b, status, msg := s.inspectBody(c)
	if status != 0 {
		return nil, status, msg, nil
	}
	var img map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&img); err != nil {
			return nil, http.StatusBadRequest, "The request body is not an image's JSON.", nil
		}
	}
	owner, ok := img["owner"]
	if !ok {
		owner = orNil(c.id.ProjectID)
	}
	vis, ok := img["visibility"]
	if !ok {
		vis = "private"
	}
	return map[string]any{"project_id": owner, "owner": owner, "visibility": vis}, 0, "", nil
}

// namespaceTarget is Glance's target under a metadef namespace: its owner
// and visibility, read as the caller (a namespace the caller cannot see is
// a 404 without a decision).
func (s *Server) namespaceTarget(c *call) (map[string]any, int, string, error) {
	name := c.Param("ns")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	ns, err := s.cfg.Upstream.Namespace(c.Request().Context(), name, c.caller().Token, requestID(c))
	switch {
	case err == nil:
		return map[string]any{"project_id": ns["owner"], "visibility": ns["visibility"]}, 0, "", nil
	case errors.Is(err, upstream.ErrNotFound):
		return nil, http.StatusNotFound, "Namespace " + clip(name) + " not found", nil
	case errors.Is(err, upstream.ErrUnauthorized):
		return nil, http.StatusUnauthorized, "The image service did not accept the token.", nil
	case errors.Is(err, upstream.ErrForbidden):
		return nil, http.StatusForbidden, "The image service refused this request.", nil
	case errors.Is(err, upstream.ErrUnavailable):
		s.cfg.Log.ErrorContext(c.Request().Context(), "upstream unavailable", "namespace", clip(name), "error", err)
		s.metrics.sourceUnavailable.WithLabelValues("find").Inc()
		return nil, http.StatusServiceUnavailable, unavailableMsg, nil
	}
	return nil, 0, "", fmt.Errorf("reading namespace %s: %w", clip(name), err)
}

// progressBody is an upload's body: each read must come within the write
// progress timeout (a stalled uploader cannot pin a connection), and
// while the upload moves the answer's write deadline moves with it.
func (s *Server) progressBody(c *call, body io.ReadCloser) io.ReadCloser {
	d := s.cfg.WriteProgressTimeout
	if d <= 0 {
		return body
	}
	return &uploadBody{ReadCloser: body, rc: http.NewResponseController(c.Response()), d: d}
}

type uploadBody struct {
	io.ReadCloser
	rc *http.ResponseController
	d  time.Duration
}

func (b *uploadBody) Read(p []byte) (int, error) {
	now := time.Now()
	_ = b.rc.SetReadDeadline(now.Add(b.d))
	_ = b.rc.SetWriteDeadline(now.Add(2 * b.d))
	return b.ReadCloser.Read(p)
}

// proxyVersions answers Glance's own versions document, its links moved
// to this server: a client that follows them must not be sent around the
// gateway to the upstream.
func (s *Server) proxyVersions(c echo.Context, status int) error {
	req := c.Request()
	ctx, cancel := context.WithTimeout(req.Context(), time.Minute)
	defer cancel()
	get := req.Clone(ctx)
	get.Method, get.Body, get.ContentLength = http.MethodGet, http.NoBody, 0
	up, err := s.cfg.Upstream.Forward(ctx, get, requestID(c))
	if err != nil {
		return s.upstreamFailed(c, "proxy", err)
	}
	defer up.Body.Close()
	b, err := io.ReadAll(io.LimitReader(up.Body, maxInspectedBody+1))
	if err != nil || len(b) > maxInspectedBody || up.StatusCode >= 400 {
		return s.upstreamFailed(c, "proxy", fmt.Errorf("versions: %s, %d bytes: %v", up.Status, len(b), err))
	}
	var doc struct {
		Versions []map[string]any `json:"versions"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc.Versions == nil {
		return s.upstreamFailed(c, "proxy", fmt.Errorf("versions: not a versions document: %v", err))
	}
	for _, v := range doc.Versions {
		links, _ := v["links"].([]any)
		for _, l := range links {
			if lm, ok := l.(map[string]any); ok {
				if href, ok := lm["href"].(string); ok {
					lm["href"] = s.ourURL(req, href)
				}
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	return c.JSONBlob(status, out)
}

// ourURL moves an absolute URL of the upstream's to this server (its
// public URL, or the one the request came to), keeping the path below the
// upstream's base path. Relative references are kept.
func (s *Server) ourURL(r *http.Request, v string) string {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() {
		return v
	}
	path := u.EscapedPath()
	if base := strings.TrimSuffix(s.cfg.Upstream.BasePath(), "/"); base != "" {
		path = strings.TrimPrefix(path, base)
	}
	out := strings.TrimRight(s.publicBase(r), "/") + path
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}
