package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/oslorego/oslorego/imagestore"
)

// showV2 is GET /v2/images/{id}: the image as Glance's v2 API shows it,
// with only the custom properties the caller may read and never a
// location or direct URL.
func (s *Server) showV2(c *call) error {
	return c.JSON(http.StatusOK, s.imageJSON(c, c.img))
}

// listQuery is a parsed GET /v2/images query.
type listQuery struct {
	visibility string // "" (Glance's default filter), all, or one visibility
	hidden     bool   // os_hidden=true: only hidden images
	limit      int    // 0..maxListLimit
	marker     string // "" or the id after which the page starts
}

// Listing limits, as Glance's defaults (limit_param_default, api_limit_max).
const (
	defaultListLimit = 25
	maxListLimit     = 1000
)

// parseListQuery reads the listing query; the error is the 400 message.
func parseListQuery(q url.Values) (listQuery, string) {
	lq := listQuery{visibility: q.Get("visibility"), hidden: q.Get("os_hidden") == "true", limit: defaultListLimit, marker: q.Get("marker")}
	switch lq.visibility {
	case "", "all", imagestore.Public, imagestore.Private, imagestore.Shared, imagestore.Community:
	default:
		return listQuery{}, "Invalid visibility value: " + clip(lq.visibility)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return listQuery{}, "limit param must be a non-negative integer"
		}
		lq.limit = min(n, maxListLimit)
	}
	return lq, ""
}

// listV2 is GET /v2/images: the images the caller may see, as Glance
// lists them (own, public, shared with the caller and accepted; community
// only when asked with ?visibility=community; everything for admins).
// Query: visibility, os_hidden, limit (default 25, at most 1000), marker.
func (s *Server) listV2(c *call) error {
	ctx := c.Request().Context()
	lq, bad := parseListQuery(c.QueryParams())
	if bad != "" {
		return writeError(c, http.StatusBadRequest, bad)
	}
	project := c.id.ProjectID
	if lq.marker != "" {
		// As Glance: a marker the caller may not see is as unknown as an
		// id that does not exist, so the listing is no existence oracle.
		_, status, _, err := s.findImage(ctx, lq.marker, c.caller())
		if err != nil {
			return err
		}
		if status != 0 {
			return writeError(c, http.StatusBadRequest, "marker not found")
		}
	}
	all, err := s.cfg.Images.List(ctx)
	if err != nil {
		return err
	}
	seenMarker := lq.marker == ""
	out := []map[string]any{}
	next := ""
	for _, img := range all {
		if !seenMarker {
			seenMarker = img.ID == lq.marker
			continue
		}
		// Hidden images are listed only when asked for, as Glance.
		if img.Hidden != lq.hidden || !s.listed(c, img, project, lq.visibility) {
			continue
		}
		if len(out) == lq.limit {
			if len(out) > 0 {
				next = out[len(out)-1]["id"].(string)
			}
			break
		}
		out = append(out, s.imageJSON(c, img))
	}
	if !seenMarker {
		// Visible a moment ago, gone now.
		return writeError(c, http.StatusBadRequest, "marker not found")
	}
	body := map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"}
	if next != "" {
		body["next"] = "/v2/images?marker=" + next + "&limit=" + strconv.Itoa(lq.limit)
	}
	return c.JSON(http.StatusOK, body)
}

// listed is Glance's listing filter, which (unlike a single GET) counts
// only accepted memberships and leaves community images out by default.
func (s *Server) listed(c *call, img imagestore.Image, project, want string) bool {
	if want != "" && want != "all" && img.Visibility != want {
		return false
	}
	if c.isAdmin {
		return true
	}
	owner := img.Owner != nil && project != "" && *img.Owner == project
	switch img.Visibility {
	case imagestore.Public:
		return true
	case imagestore.Community:
		return owner || want == imagestore.Community
	case imagestore.Shared:
		if owner || img.Owner == nil {
			return true
		}
		members, err := s.cfg.Images.Members(c.Request().Context(), img.ID)
		if err != nil {
			s.cfg.Log.ErrorContext(c.Request().Context(), "listing members", "image", img.ID, "error", err)
			return false
		}
		for _, m := range members {
			if m.ProjectID == project && m.Status == "accepted" {
				return true
			}
		}
		return false
	}
	return owner || img.Owner == nil
}

// imageJSON is Glance's v2 image schema for one image, with only the
// custom properties the caller may read.
func (s *Server) imageJSON(c *call, img imagestore.Image) map[string]any {
	return img.V2(s.readable(c, img))
}

// readable returns the custom properties of img the caller may read; it
// fails closed, hiding them all, when the property protections fail.
func (s *Server) readable(c *call, img imagestore.Image) map[string]string {
	props, err := c.policy.readableProperties(c.Request().Context(), c.creds, img.Properties)
	if err != nil {
		s.cfg.Log.ErrorContext(c.Request().Context(), "property protections failed; hiding all properties", "error", err)
	}
	if c.shown == nil {
		return props
	}
	out := make(map[string]string, len(props))
	for k, v := range props {
		if _, ok := c.shown[k]; ok {
			out[k] = v
		}
	}
	return out
}
