// Follows Glance 25.1.0's reserved property names (glance/api/v2/images.py, glance/domain; Apache-2.0); see NOTICE.

package imagestore

import "strings"

// reservedNames are the property names that Glance keeps for itself, so a
// custom property of that name would be shown beside (or instead of) the
// real attribute, or differ from what a policy rule sees:
//   - the v2 image schema's properties (GET /v2/schemas/image, Zed), which
//     Glance maps to core attributes: a create body cannot make a custom
//     property of these names;
//   - Glance's reserved and read-only names (glance/domain ImageFactory,
//     glance/api/v2/images.py RequestDeserializer): location, locations,
//     deleted, deleted_at, direct_url, self, file, schema, stores;
//   - the v1 API's core x-image-meta-* names (is_public, location_data);
//   - the policy target's aliases and keys (Glance's ImageTarget maps
//     image_id, project_id and member_id to core values; the mashup adds
//     member and extra_properties): a property of these names is shadowed
//     in every policy decision while users would see its value.
var reservedNames = map[string]bool{
	// v2 image schema.
	"checksum": true, "container_format": true, "created_at": true, "direct_url": true,
	"disk_format": true, "file": true, "id": true, "locations": true, "min_disk": true,
	"min_ram": true, "name": true, "os_hash_algo": true, "os_hash_value": true,
	"os_hidden": true, "owner": true, "protected": true, "schema": true, "self": true,
	"size": true, "status": true, "stores": true, "tags": true, "updated_at": true,
	"virtual_size": true, "visibility": true,
	// Glance's reserved names besides the schema's.
	"location": true, "deleted": true, "deleted_at": true,
	// v1 core attributes.
	"is_public": true, "location_data": true,
	// Policy target keys.
	"image_id": true, "project_id": true, "member": true, "member_id": true,
	"extra_properties": true,
}

// reservedPrefix is Glance's reserved namespace (GLANCE_RESERVED_NS):
// Glance refuses such properties from users and sets them itself.
const reservedPrefix = "os_glance"

// ReservedProperty reports whether name may not be a custom property:
// one of Glance's core or reserved attribute names or a policy target key,
// in any letter case (v1 sends property names lower-cased), or a name in
// Glance's reserved os_glance namespace. Such properties are refused when
// an image is made, and dropped when one is read.
func ReservedProperty(name string) bool {
	lower := strings.ToLower(name)
	return reservedNames[lower] || strings.HasPrefix(lower, reservedPrefix)
}
