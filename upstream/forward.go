package upstream

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// hopHeaders are the headers of one hop (RFC 9110 7.6.1), never forwarded.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// callerHeaders are never forwarded: what keystonemiddleware sets from a
// validated token, and X-Service-Token, which would add a service's roles
// (the gateway decides on the caller's token alone, so Glance must too),
// and the proxy headers that would tell Glance a URL of the caller's.
var callerHeaders = []string{
	"X-Identity-Status", "X-Service-Identity-Status", "X-Service-Token",
	"X-Roles", "X-Role", "X-Service-Roles", "X-Is-Admin-Project",
	"X-User", "X-User-Id", "X-User-Name", "X-User-Domain-Id", "X-User-Domain-Name",
	"X-Project-Id", "X-Project-Name", "X-Project-Domain-Id", "X-Project-Domain-Name",
	"X-Tenant", "X-Tenant-Id", "X-Tenant-Name", "X-Domain-Id", "X-Domain-Name",
	"X-Service-User-Id", "X-Service-User-Name", "X-Service-Project-Id", "X-Service-Project-Name",
	"X-Service-Catalog", "X-Auth-Roles", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded",
}

// Forward sends a caller's request to Glance as it came (method, path,
// query, body and end-to-end headers, the caller's X-Auth-Token among
// them), with requestID as X-Openstack-Request-Id. The body is streamed,
// never read whole; it stops (and so does the upstream request) when ctx
// ends. The answer is Glance's, whatever its status, its body bounded by
// the client's idle timeout as Data's is; the caller closes it. An error
// is ErrUnavailable or ctx's end.
func (c *Client) Forward(ctx context.Context, in *http.Request, requestID string) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + in.URL.Path
	if in.URL.RawPath != "" {
		u.RawPath = c.base.EscapedPath() + in.URL.RawPath
	}
	u.RawQuery = in.URL.RawQuery
	ctx, cancel := context.WithCancelCause(ctx)
	var body io.Reader
	if in.ContentLength != 0 && in.Body != nil && in.Body != http.NoBody {
		body = in.Body
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, u.String(), body)
	if err != nil {
		cancel(err)
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.ContentLength = in.ContentLength
	if body == nil {
		req.ContentLength = 0
	}
	req.Header = in.Header.Clone()
	for _, k := range in.Header.Values("Connection") {
		for _, name := range strings.Split(k, ",") {
			req.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, k := range append(hopHeaders, callerHeaders...) {
		req.Header.Del(k)
	}
	req.Header.Del("X-Openstack-Request-Id")
	if requestID != "" {
		req.Header.Set("X-Openstack-Request-Id", requestID)
	}
	done := c.timed(callForward)
	resp, err := c.hc.Do(req)
	done()
	if err != nil {
		// Whether the caller went away is the caller's context's to say,
		// before this one is cancelled too.
		cerr := ctx.Err()
		cancel(err)
		if cerr != nil && !isTimeout(err) {
			return nil, fmt.Errorf("upstream %s %s: %w", in.Method, in.URL.Path, cerr)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, in.Method, in.URL.Path, err)
	}
	for _, k := range resp.Header.Values("Connection") {
		for _, name := range strings.Split(k, ",") {
			resp.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, k := range hopHeaders {
		resp.Header.Del(k)
	}
	resp.Body = newIdleBody(resp.Body, c.timeout, cancel)
	return resp, nil
}

// Namespace is GET /v2/metadefs/namespaces/{name} with the caller's
// token: the namespace as the caller may see it (its owner and
// visibility are Glance's policy target for what is under it).
func (c *Client) Namespace(ctx context.Context, name, token, requestID string) (map[string]any, error) {
	m, _, err := c.getJSON(ctx, c.base.EscapedPath()+"/v2/metadefs/namespaces/"+url.PathEscape(name), token, requestID, callNamespace)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	return m, nil
}

// BasePath is the path of Glance's endpoint ("" for a host's root).
func (c *Client) BasePath() string { return c.base.Path }
