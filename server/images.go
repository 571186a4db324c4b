// Follows Glance 25.1.0 glance/api/v2/images.py (the index deserializer, controller and serializer) and
// glance/db/sqlalchemy/api.py (_make_conditions_from_filters; Apache-2.0); see NOTICE.

package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/python"
)

// showV2 is GET /v2/images/{id}: the image as Glance's v2 API shows it,
// with only the custom properties the caller may read and never a
// location or direct URL.
func (s *Server) showV2(c *call) error {
	return c.JSON(http.StatusOK, s.imageJSON(c, c.img))
}

// Listing limits, as Glance's defaults (limit_param_default, api_limit_max).
const (
	defaultListLimit = 25
	maxListLimit     = 1000
)

// v2SortKeys are the keys Glance's v2 API sorts by (_available_sort_keys).
var v2SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

// modelAttributes are the attributes of Glance's Image model that are no
// column of ours: a filter on one matches no image (Glance compares the
// attribute itself; for members, properties and locations it answers
// 500).
var modelAttributes = map[string]bool{
	"tags": true, "properties": true, "locations": true, "members": true,
	"delete": true, "get": true, "items": true, "iteritems": true, "keys": true, "metadata": true,
	"registry": true, "save": true, "to_dict": true, "update": true, "values": true,
	"_as_dict": true, "_extra_keys": true, "_sa_class_manager": true, "_sa_registry": true,
	"__abstract__": true, "__class__": true, "__contains__": true, "__delattr__": true, "__dict__": true,
	"__dir__": true, "__doc__": true, "__eq__": true, "__format__": true, "__ge__": true,
	"__getattribute__": true, "__getitem__": true, "__getstate__": true, "__gt__": true, "__hash__": true,
	"__init__": true, "__init_subclass__": true, "__iter__": true, "__le__": true, "__lt__": true,
	"__mapper__": true, "__module__": true, "__ne__": true, "__new__": true, "__protected_attributes__": true,
	"__reduce__": true, "__reduce_ex__": true, "__repr__": true, "__setattr__": true, "__setitem__": true,
	"__sizeof__": true, "__str__": true, "__subclasshook__": true, "__table__": true, "__table_args__": true,
	"__table_initialized__": true, "__tablename__": true, "__weakref__": true,
}

// listRequest is a parsed listing: the store's options, and what the
// answer needs.
type listRequest struct {
	opts imagestore.ListOptions
	// nothing is set by a filter no image can match: the store is not
	// asked, but the marker is still checked.
	nothing bool
	// marker is the marker parameter, when given (maybe empty).
	marker    string
	hasMarker bool
	// markerMsg answers a marker that is not found, markerTooLong one
	// longer than any id (v1 and v2 differ).
	markerMsg     func(marker string) string
	markerTooLong string
	// links is dict(request.params) without the marker: v2's first and
	// next links repeat it.
	links glanceParams
}

// parseV2List reads GET /v2/images as Glance Zed's images deserializer,
// controller and image_get_all do, in their order, so that the first
// error is Glance's; msg is the 400 message. readable tells whether the
// caller may read a property: a filter on one it may not read matches no
// image (Glance filters on it, telling its values).
func parseV2List(params glanceParams, project string, admin bool, readable func(name string) bool) (lr listRequest, msg string) {
	lr.links = params.dict()
	lr.links.pop("marker")
	lr.opts = imagestore.ListOptions{Project: project, Admin: admin, Limit: defaultListLimit}
	lr.markerMsg = func(m string) string { return "No image found with ID " + m }
	// Glance's message, with its unfilled placeholder.
	lr.markerTooLong = "Image with the given id %(image_id)s was not found"
	p := append(glanceParams(nil), params...)

	// The deserializer.
	limit, hasLimit := p.pop("limit")
	lr.marker, lr.hasMarker = p.pop("marker")
	memberStatus, ok := p.pop("member_status")
	if !ok {
		memberStatus = "accepted"
	}
	var tags []string
	for p.has("tag") {
		tag, _ := p.pop("tag")
		tags = append(tags, pyStrip(tag))
	}
	if v, _ := p.get("visibility"); v != "" {
		switch v {
		case "community", "public", "private", "shared", "all":
		default:
			return lr, "Invalid visibility value: " + clip(v)
		}
	}
	if p.has("changes-since") {
		// Glance answers 500 to an empty value.
		return lr, `The "changes-since" filter is no longer available on v2.`
	}
	switch memberStatus {
	case "pending", "accepted", "rejected", "all":
	default:
		return lr, "Invalid status: " + clip(memberStatus)
	}
	lr.opts.MemberStatus = memberStatus
	if hasLimit {
		if lr.opts.Limit, msg = glanceLimit(limit); msg != "" {
			return lr, msg
		}
	}
	if len(tags) > 0 {
		p.set(glanceParam{key: "tags", tags: tags})
	}
	keys, dirs, msg := v2Sorting(&p)
	if msg != "" {
		return lr, msg
	}

	// The controller.
	hidden, _ := p.get("os_hidden")
	if hidden == "" && !p.has("os_hidden") {
		hidden = "false"
	}
	hidden = python.Lower(hidden)
	if hidden != "true" && hidden != "false" {
		return lr, "Invalid value '" + clip(hidden) + "' for 'os_hidden' filter. Valid values are 'true' or 'false'."
	}
	p.set(glanceParam{key: "os_hidden", value: hidden})
	if protected, ok := p.get("protected"); ok {
		if protected != "true" && protected != "false" {
			return lr, "Invalid value '" + clip(protected) + "' for 'protected' filter. Valid values are 'true' or 'false'."
		}
		p.set(glanceParam{key: "protected", value: protected})
	}

	// image_get_all.
	for i, k := range keys {
		// One direction is every key's.
		dir := dirs[min(i, len(dirs)-1)]
		lr.opts.Sort = append(lr.opts.Sort, imagestore.SortKey{Column: k, Desc: dir == "desc"})
	}
	lr.opts.Sort = glanceSortDefaults(lr.opts.Sort, dirs)
	if v, ok := p.pop("visibility"); ok {
		lr.opts.Visibility = v
		if v == "" {
			lr.nothing = true
		}
	}
	if msg := lr.conditions(p, readable); msg != "" {
		return lr, msg
	}
	return lr, ""
}

// glanceLimit reads a limit as Glance does: Python's int(), not
// negative, at most api_limit_max; msg is the 400 message.
func glanceLimit(v string) (limit int, msg string) {
	n, ok := pyInt(v)
	if !ok {
		return 0, "limit param must be an integer"
	}
	if n.Sign() < 0 {
		return 0, "limit param must be positive"
	}
	if n.IsInt64() && n.Int64() < maxListLimit {
		return int(n.Int64()), ""
	}
	return maxListLimit, ""
}

// v2Sorting is the deserializer's _get_sorting_params: the new syntax
// (sort=key:dir,...) or the classic one (sort_key and sort_dir, repeated).
func v2Sorting(p *glanceParams) (keys, dirs []string, msg string) {
	validKey := func(k string) string {
		if slices.Contains(v2SortKeys, k) {
			return ""
		}
		return "Invalid sort key: " + clip(k) + ". It must be one of the following: " + strings.Join(v2SortKeys, ", ") + "."
	}
	validDir := func(d string) string {
		if d == "asc" || d == "desc" {
			return ""
		}
		return "Invalid sort direction: " + clip(d)
	}
	if p.has("sort") {
		if p.has("sort_key") || p.has("sort_dir") {
			return nil, nil, "Old and new sorting syntax cannot be combined"
		}
		sort, _ := p.pop("sort")
		for _, part := range strings.Split(pyStrip(sort), ",") {
			key, dir, _ := strings.Cut(part, ":")
			if dir == "" {
				dir = "desc"
			}
			key, dir = pyStrip(key), pyStrip(dir)
			if msg := validKey(key); msg != "" {
				return nil, nil, msg
			}
			if msg := validDir(dir); msg != "" {
				return nil, nil, msg
			}
			keys, dirs = append(keys, key), append(dirs, dir)
		}
	} else {
		for p.has("sort_key") {
			key, _ := p.pop("sort_key")
			key = pyStrip(key)
			if msg := validKey(key); msg != "" {
				return nil, nil, msg
			}
			keys = append(keys, key)
		}
		for p.has("sort_dir") {
			dir, _ := p.pop("sort_dir")
			dir = pyStrip(dir)
			if msg := validDir(dir); msg != "" {
				return nil, nil, msg
			}
			dirs = append(dirs, dir)
		}
		if len(dirs) > 1 && len(dirs) != len(keys) {
			return nil, nil, "Number of sort dirs does not match the number of sort keys"
		}
	}
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	return keys, dirs, ""
}

// glanceSortDefaults appends created_at and id, as image_get_all does, in
// the direction of a single given direction, else descending.
func glanceSortDefaults(keys []imagestore.SortKey, dirs []string) []imagestore.SortKey {
	desc := len(dirs) != 1 || dirs[0] == "desc"
	for _, extra := range []string{"created_at", "id"} {
		if !slices.ContainsFunc(keys, func(k imagestore.SortKey) bool { return k.Column == extra }) {
			keys = append(keys, imagestore.SortKey{Column: extra, Desc: desc})
		}
	}
	return keys
}

// conditions is _make_conditions_from_filters over what the deserializer
// and controller left: the filters, in the order of their first
// appearance, with their last value.
func (lr *listRequest) conditions(p glanceParams, readable func(string) bool) string {
	eq := func(col string, v any) imagestore.Cond { return imagestore.Cond{Column: col, Op: "=", Value: v} }
	if v, ok := p.pop("os_hidden"); ok {
		lr.opts.Where = append(lr.opts.Where, eq("os_hidden", v == "true"))
	}
	for _, col := range []string{"checksum", "os_hash_value"} {
		if v, ok := p.pop(col); ok {
			lr.opts.Where = append(lr.opts.Where, eq(col, v))
		}
	}
	if kv, ok := p.popParam("tags"); ok {
		lr.opts.Tags = kv.tags
		if kv.tags == nil {
			// A tags parameter (no tag ones): Glance iterates the string,
			// each character a tag.
			for _, r := range kv.value {
				lr.opts.Tags = append(lr.opts.Tags, string(r))
			}
		}
	}
	var rest glanceParams
	for _, kv := range p.dict() {
		k, v := kv.key, kv.value
		switch {
		case strings.HasSuffix(k, "_min") || strings.HasSuffix(k, "_max"):
			n, ok := pyInt(v)
			if !ok {
				return "Unable to filter on a range with a non-numeric value."
			}
			col := k[:len(k)-4]
			if !imagestore.IsColumn(col) {
				// Glance fails (500) on a range of anything but a column.
				return "Unable to filter on a range of " + clip(col) + "."
			}
			op := ">="
			if strings.HasSuffix(k, "_max") {
				op = "<="
			}
			lr.opts.Where = append(lr.opts.Where, imagestore.Cond{Column: col, Op: op, Value: clampInt(n)})
		case k == "created_at" || k == "updated_at":
			op, iso := splitFilterOp(v)
			t, ok := parseISOTime(iso)
			if !ok {
				return `Bad "` + k + `" query filter format. Use ISO 8601 DateTime notation.`
			}
			sqlOp, ok := timeOps[op]
			if !ok {
				return "Unable to filter on a unknown operator."
			}
			lr.opts.Where = append(lr.opts.Where, imagestore.Cond{Column: k, Op: sqlOp, Value: t})
		case k == "name" || k == "id" || k == "status" || k == "container_format" || k == "disk_format":
			op, value := splitFilterOp(v)
			switch op {
			case "in":
				values, msg := splitQuoted(value)
				if msg != "" {
					return msg
				}
				lr.opts.Where = append(lr.opts.Where, imagestore.Cond{Column: k, Op: "in", Value: values})
			case "eq":
				lr.opts.Where = append(lr.opts.Where, eq(k, value))
			default:
				return "Unable to filter by unknown operator '" + clip(op) + "'."
			}
		default:
			rest = append(rest, kv)
		}
	}
	for _, kv := range rest {
		switch k := kv.key; {
		case k == "deleted":
			// The controller's deleted=False: live images only.
		case k == "protected":
			lr.opts.Where = append(lr.opts.Where, eq(k, kv.value == "true"))
		case imagestore.IsColumn(k):
			lr.opts.Where = append(lr.opts.Where, eq(k, kv.value))
		case modelAttributes[k]:
			lr.nothing = true
		case !readable(k):
			lr.nothing = true
		default:
			lr.opts.Properties = append(lr.opts.Properties, imagestore.Prop{Name: k, Value: kv.value})
		}
	}
	return ""
}

// timeOps are evaluate_filter_op's operators.
var timeOps = map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "neq": "!=", "eq": "="}

// listV2 is GET /v2/images: a page of the images the caller may list, as
// Glance Zed lists them (see parseV2List), with Glance's first and next
// links.
func (s *Server) listV2(c *call) error {
	imgs, lr, answered, err := s.listImages(c, parseV2List)
	if answered || err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, s.imageJSON(c, img))
	}
	body := map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"}
	if q := lr.links.urlencode(); q != "" {
		body["first"] = "/v2/images?" + q
	}
	if len(imgs) > 0 && len(imgs) == lr.opts.Limit {
		next := append(lr.links, glanceParam{key: "marker", value: imgs[len(imgs)-1].ID})
		body["next"] = "/v2/images?" + next.urlencode()
	}
	return c.JSON(http.StatusOK, body)
}

// listParser reads a listing's query for a caller (project, admin, and
// which properties it may read); msg is the 400 message.
type listParser func(params glanceParams, project string, admin bool, readable func(string) bool) (listRequest, string)

// listImages parses the query with parse and reads the page. answered is
// true when it answered the request itself (a 400).
func (s *Server) listImages(c *call, parse listParser) (_ []imagestore.Image, _ listRequest, answered bool, _ error) {
	params, ok := parseGlanceQuery(c.Request().URL.RawQuery)
	if !ok {
		return nil, listRequest{}, true, writeError(c, http.StatusBadRequest, decodeError)
	}
	lr, msg := parse(params, c.id.ProjectID, c.isAdmin, s.propertyReadable(c))
	if msg != "" {
		c.rec.Reason = msg
		return nil, lr, true, writeError(c, http.StatusBadRequest, msg)
	}
	imgs, status, msg, err := s.listPage(c, lr)
	if err != nil {
		return nil, lr, false, err
	}
	if status != 0 {
		c.rec.Reason = msg
		return nil, lr, true, writeError(c, status, msg)
	}
	return imgs, lr, false, nil
}

// decodeError is Glance's 400 for a query that is not UTF-8.
const decodeError = "Error decoding your request. Either the URL or the request body contained characters that could not be decoded by Glance"

// listPage checks the marker and reads the page. A marker the caller may
// not see is as unknown as one that does not exist (Glance answers 403
// for it, telling that it exists): status and msg are the 400.
func (s *Server) listPage(c *call, lr listRequest) (_ []imagestore.Image, status int, msg string, err error) {
	ctx := c.Request().Context()
	if lr.hasMarker {
		if utf8.RuneCountInString(lr.marker) > 36 {
			return nil, http.StatusBadRequest, lr.markerTooLong, nil
		}
		_, st, _, err := s.findImage(ctx, lr.marker, c.caller())
		if err != nil {
			return nil, 0, "", err
		}
		if st != 0 {
			return nil, http.StatusBadRequest, lr.markerMsg(lr.marker), nil
		}
		lr.opts.Marker = lr.marker
	}
	if lr.nothing {
		return nil, 0, "", nil
	}
	imgs, err := s.cfg.Images.ListPage(ctx, lr.opts)
	if errors.Is(err, imagestore.ErrNotFound) && lr.hasMarker {
		// Visible a moment ago, gone now.
		return nil, http.StatusBadRequest, lr.markerMsg(lr.marker), nil
	}
	if err != nil {
		return nil, 0, "", fmt.Errorf("listing images: %w", err)
	}
	return imgs, 0, "", nil
}

// propertyReadable tells whether the caller may read a property of this
// name; it fails closed.
func (s *Server) propertyReadable(c *call) func(string) bool {
	return func(name string) bool {
		props, err := c.policy.readableProperties(c.Request().Context(), c.creds, map[string]string{name: ""})
		if err != nil {
			s.cfg.Log.ErrorContext(c.Request().Context(), "property protections failed; the property filter matches nothing", "error", err)
			return false
		}
		_, ok := props[name]
		return ok
	}
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
