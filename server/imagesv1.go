// Follows Glance 16.0.1 (Queens, the last release with the v1 API) glance/api/v1/images.py,
// glance/api/v1/filters.py and glance/registry/api/v1/images.py (index, detail, query
// parameters; Apache-2.0); see NOTICE.

package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/python"
)

// v1Filters are the v1 API's filters (SUPPORTED_FILTERS), besides the
// property-NAME ones.
var v1Filters = []string{"name", "status", "container_format", "disk_format", "min_ram", "min_disk",
	"size_min", "size_max", "is_public", "changes-since", "protected"}

// v1SortKeys are the registry's SUPPORTED_SORT_KEYS.
var v1SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

// parseV1List reads GET /v1/images[/detail] as Glance v1 did, the API
// then its registry: filters (the API validates some, then the registry
// reads them), limit, sort_key, sort_dir, marker, and is_public for
// admins; msg is the 400 message. Every membership status lists a shared
// image, hidden images are listed (v1 has no os_hidden), and an admin
// lists as a user unless is_public is none or false.
func parseV1List(params glanceParams, project string, admin bool, readable func(string) bool) (lr listRequest, msg string) {
	lr.opts = imagestore.ListOptions{Project: project, Admin: admin, MemberStatus: "all", Limit: defaultListLimit}
	const badMarker = "Invalid marker. Image could not be found."
	lr.markerMsg = func(string) string { return badMarker }
	lr.markerTooLong = badMarker

	// The API: the filters it forwards, validated, each with its last
	// value, in the order of their first appearance.
	var filters glanceParams
	for _, kv := range params.dict() {
		k, v := kv.key, kv.value
		if !slices.Contains(v1Filters, k) && !strings.HasPrefix(k, "property-") {
			continue
		}
		bad := false
		switch k {
		case "size_max", "size_min", "min_ram":
			n, ok := pyInt(v)
			bad = !ok || n.Sign() < 0
		case "protected", "is_public":
			bad = !slices.Contains([]string{"none", "true", "false", "1", "0"}, python.Lower(v))
		}
		if bad {
			return lr, "Bad value passed to filter " + clip(k) + " got " + clip(v)
		}
		filters = append(filters, kv)
	}

	// The registry.
	var where glanceParams
	for _, kv := range filters {
		switch k, v := kv.key, kv.value; {
		case k == "is_public":
		case strings.HasPrefix(k, "property-"):
			if name := k[len("property-"):]; readable(name) {
				lr.opts.Properties = append(lr.opts.Properties, imagestore.Prop{Name: name, Value: v})
			} else {
				lr.nothing = true
			}
		default:
			where = append(where, kv)
		}
	}
	if v, ok := where.get("changes-since"); ok {
		t, ok := parseISOTime(v)
		if !ok {
			return lr, "Unrecognized changes-since value"
		}
		// Glance lists deleted images too; we list live ones only.
		lr.opts.Where = append(lr.opts.Where, imagestore.Cond{Column: "updated_at", Op: ">", Value: t})
		where.pop("changes-since")
	}
	if v, ok := where.get("protected"); ok {
		switch python.Lower(v) {
		case "true", "1":
			where.set(glanceParam{key: "protected", value: "true"})
		case "false", "0":
			where.set(glanceParam{key: "protected", value: "false"})
		default:
			return lr, "protected must be True, or False"
		}
	}
	if v, ok := params.get("limit"); ok {
		if lr.opts.Limit, msg = glanceLimit(v); msg != "" {
			return lr, msg
		}
	}
	key, ok := params.get("sort_key")
	if !ok {
		key = "created_at"
	}
	if !slices.Contains(v1SortKeys, key) {
		return lr, "Unsupported sort_key. Acceptable values: " + strings.Join(v1SortKeys, ", ")
	}
	dir, ok := params.get("sort_dir")
	if !ok {
		dir = "desc"
	}
	if dir != "asc" && dir != "desc" {
		return lr, "Unsupported sort_dir. Acceptable values: asc, desc"
	}
	lr.opts.Sort = glanceSortDefaults([]imagestore.SortKey{{Column: key, Desc: dir == "desc"}}, []string{dir})
	if lr.marker, lr.hasMarker = params.get("marker"); lr.hasMarker && lr.marker != "" && !uuidLike(lr.marker) {
		return lr, "Invalid marker format"
	}
	if admin {
		isPublic, ok := params.get("is_public")
		switch v := python.Lower(isPublic); {
		case !ok, v == "true", v == "1":
			// Glance's admin_as_user: the admin lists as a user.
			lr.opts.Admin = false
		case v == "none":
		case v == "false", v == "0":
			lr.opts.Where = append(lr.opts.Where, imagestore.Cond{Column: "visibility", Op: "!=", Value: imagestore.Public})
		default:
			return lr, "is_public must be None, True, or False"
		}
	}

	// image_get_all, as for v2 (no os_hidden condition in v1 mode).
	if msg := lr.conditions(where, readable); msg != "" {
		return lr, msg
	}
	return lr, ""
}

// uuidLike is oslo's uuidutils.is_uuid_like: 32 hex digits, in any case,
// with dashes anywhere, in braces or after "urn:" or "uuid:".
func uuidLike(s string) bool {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	s = strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(s) != 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// listV1 is GET /v1/images: {"images": [...]} with each image's id, name,
// size, disk_format, container_format and checksum.
func (s *Server) listV1(c *call) error {
	return s.v1Listing(c, func(img imagestore.Image) any { return img.V1Summary() })
}

// detailV1 is GET /v1/images/detail, what glanceclient's v1 image-list
// reads: every attribute of the v1 registry and the properties the caller
// may read.
func (s *Server) detailV1(c *call) error {
	return s.v1Listing(c, func(img imagestore.Image) any { return img.V1(s.readable(c, img)) })
}

// headDetailV1 is HEAD /v1/images/detail, which Glance v1 refused.
func (s *Server) headDetailV1(c *call) error {
	c.Response().Header().Set("Allow", http.MethodGet)
	return writeError(c, http.StatusMethodNotAllowed, "This operation is currently not permitted on Glance images details.")
}

func (s *Server) v1Listing(c *call, render func(imagestore.Image) any) error {
	imgs, _, answered, err := s.listImages(c, parseV1List)
	if answered || err != nil {
		return err
	}
	out := make([]any, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, render(img))
	}
	return c.JSON(http.StatusOK, map[string]any{"images": out})
}
