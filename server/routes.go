package server

import "net/http"

// Policy targets as `oslorego routes` shows them: Glance Zed's targets
// (glance/api/v2/policy.py), one per route.
const (
	TargetImage     = "image mashup"
	TargetProject   = `{"project_id": caller's project}`
	TargetEmpty     = "{}"
	TargetNewImage  = `{"project_id", "owner", "visibility"} of the image in the request body`
	TargetNamespace = `{"project_id": the namespace's owner, "visibility": its visibility}`
	TargetNone      = "none: a valid token, no decision"
	TargetAnonymous = "none: no token needed"
)

// Mode is how the server serves images: the embedded store, or in front
// of a Glance (gateway mode) with --routes downloads or all.
type Mode int

// The modes.
const (
	ModeStore Mode = iota
	ModeDownloads
	ModeAll
)

// How a route is served in a mode (Route.In).
const (
	NotServed = ""
	Served    = "served"  // answered here
	Proxied   = "proxied" // decided here, then proxied to Glance
)

// In tells how the route is served in mode m.
func (r Route) In(m Mode) string {
	switch {
	case m == ModeAll && r.Proxied:
		return Proxied
	case r.local && (m != ModeAll || !r.Proxied):
		return Served
	case r.handler != nil && (m == ModeStore || r.Image):
		return Served
	}
	return NotServed
}

// gatewayRoutes are Glance Zed's v2 routes (glance/api/v2/router.py) that
// the gateway decides and then proxies: each one action, the one the
// route's controller method enforces first in Glance, on Glance's target.
// Where Glance checks more than one action the gateway decides the first
// and Glance itself still checks every one (see the README's table).
func gatewayRoutes() []Route {
	img := func(method, path, action string) Route {
		return Route{Method: method, Path: path, Action: action, Image: true, Target: TargetImage, Proxied: true}
	}
	with := func(method, path, action, desc string, target targetFunc) Route {
		return Route{Method: method, Path: path, Action: action, Target: desc, Proxied: true, target: target}
	}
	project := func(method, path, action string) Route {
		return Route{Method: method, Path: path, Action: action, Target: TargetProject, Proxied: true}
	}
	ns := func(method, path, action string) Route {
		return with(method, "/v2/metadefs/namespaces/:ns"+path, action, TargetNamespace, (*Server).namespaceTarget)
	}
	empty := func(method, path, action string) Route {
		return with(method, path, action, TargetEmpty, emptyTarget)
	}
	none := func(path string) Route {
		return Route{Method: http.MethodGet, Path: path, Target: TargetNone, Proxied: true}
	}
	rs := []Route{
		// Images.
		with(http.MethodPost, "/v2/images", "add_image", TargetNewImage, (*Server).newImageTarget),
		img(http.MethodPatch, "/v2/images/:id", "modify_image"),
		img(http.MethodDelete, "/v2/images/:id", "delete_image"),
		img(http.MethodGet, "/v2/images/:id/tasks", ActionGetImage),
		// Glance checks copy_image instead for the copy-image method:
		// one action per route, so copying needs modify_image here.
		img(http.MethodPost, "/v2/images/:id/import", "modify_image"),
		img(http.MethodDelete, "/v2/stores/:store/:id", "delete_image_location"),
		img(http.MethodPost, "/v2/images/:id/actions/deactivate", "deactivate"),
		img(http.MethodPost, "/v2/images/:id/actions/reactivate", "reactivate"),
		img(http.MethodPut, "/v2/images/:id/file", "upload_image"),
		img(http.MethodPut, "/v2/images/:id/stage", "modify_image"),
		img(http.MethodPut, "/v2/images/:id/tags/:tag", "modify_image"),
		img(http.MethodDelete, "/v2/images/:id/tags/:tag", "modify_image"),
		img(http.MethodGet, "/v2/images/:id/members", "get_members"),
		img(http.MethodPost, "/v2/images/:id/members", "add_member"),
		img(http.MethodGet, "/v2/images/:id/members/:member", "get_member"),
		img(http.MethodPut, "/v2/images/:id/members/:member", "modify_member"),
		img(http.MethodDelete, "/v2/images/:id/members/:member", "delete_member"),
		// Tasks: one action for the whole API, on an empty target.
		empty(http.MethodPost, "/v2/tasks", "tasks_api_access"),
		empty(http.MethodGet, "/v2/tasks", "tasks_api_access"),
		empty(http.MethodGet, "/v2/tasks/:task", "tasks_api_access"),
		empty(http.MethodDelete, "/v2/tasks/:task", "tasks_api_access"),
		// Discovery: Glance enforces no policy but the stores' detail.
		none("/v2/info/import"),
		none("/v2/info/stores"),
		none("/v2/info/usage"),
		empty(http.MethodGet, "/v2/info/stores/detail", "stores_info_detail"),
		// Glance's own image cache (its cache_manage API).
		empty(http.MethodGet, "/v2/cache", "cache_list"),
		empty(http.MethodDelete, "/v2/cache", "cache_delete"),
		img(http.MethodDelete, "/v2/cache/:id", "cache_delete"),
		img(http.MethodPut, "/v2/cache/:id", "cache_image"),
		// Metadefs: the caller's project, or the namespace's owner and
		// visibility under a namespace.
		project(http.MethodGet, "/v2/metadefs/resource_types", "list_metadef_resource_types"),
		project(http.MethodGet, "/v2/metadefs/namespaces", "get_metadef_namespaces"),
		project(http.MethodPost, "/v2/metadefs/namespaces", "add_metadef_namespace"),
		ns(http.MethodGet, "", "get_metadef_namespace"),
		ns(http.MethodPut, "", "modify_metadef_namespace"),
		ns(http.MethodDelete, "", "delete_metadef_namespace"),
		ns(http.MethodGet, "/resource_types", "list_metadef_resource_types"),
		ns(http.MethodPost, "/resource_types", "add_metadef_resource_type_association"),
		ns(http.MethodDelete, "/resource_types/:rt", "remove_metadef_resource_type_association"),
		ns(http.MethodGet, "/properties", "get_metadef_properties"),
		ns(http.MethodPost, "/properties", "add_metadef_property"),
		ns(http.MethodDelete, "/properties", "delete_metadef_namespace"),
		ns(http.MethodGet, "/properties/:prop", "get_metadef_property"),
		ns(http.MethodPut, "/properties/:prop", "modify_metadef_property"),
		ns(http.MethodDelete, "/properties/:prop", "remove_metadef_property"),
		ns(http.MethodGet, "/objects", "get_metadef_objects"),
		ns(http.MethodPost, "/objects", "add_metadef_object"),
		ns(http.MethodDelete, "/objects", "delete_metadef_namespace"),
		ns(http.MethodGet, "/objects/:obj", "get_metadef_object"),
		ns(http.MethodPut, "/objects/:obj", "modify_metadef_object"),
		ns(http.MethodDelete, "/objects/:obj", "delete_metadef_object"),
		ns(http.MethodGet, "/tags", "get_metadef_tags"),
		ns(http.MethodPost, "/tags", "add_metadef_tags"),
		ns(http.MethodDelete, "/tags", "delete_metadef_namespace"),
		ns(http.MethodGet, "/tags/:tag", "get_metadef_tag"),
		ns(http.MethodPost, "/tags/:tag", "add_metadef_tag"),
		ns(http.MethodPut, "/tags/:tag", "modify_metadef_tag"),
		ns(http.MethodDelete, "/tags/:tag", "delete_metadef_tag"),
	}
	// Schemas: no policy in Glance; served from the embedded documents
	// unless every route is proxied.
	for _, n := range schemaNames {
		r := none("/v2/schemas/" + n)
		r.local = true
		rs = append(rs, r)
	}
	// Version discovery: no token.
	for _, p := range []string{"/", "/versions"} {
		rs = append(rs, Route{Method: http.MethodGet, Path: p, Target: TargetAnonymous, Proxied: true, Anonymous: true, local: true})
	}
	return rs
}

// targetFunc builds a route's target when it names no image. A non-zero
// status ends the request with msg, without a decision.
type targetFunc func(*Server, *call) (target map[string]any, status int, msg string, err error)

func emptyTarget(*Server, *call) (map[string]any, int, string, error) {
	return map[string]any{}, 0, "", nil
}
