package imagestore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// An image is shown four ways, each as Glance shows it: the v2 API's JSON
// (V2), the v1 API's x-image-meta-* headers (V1Headers), the target oslo
// rules see (Target), and the whole record the CLI prints (Record). Each
// is a view of one list of core attributes (Core), so that an attribute
// is added in one place; the views differ only where Glance's renderings
// do: which attributes, under which names, and how times and booleans are
// written. The views live here, not in the glance package, because they
// need Image and glance ranks below the store.

// Attr is one of an image's core attributes under Glance's name.
type Attr struct {
	Name string
	// Value is nil for None (an unset nullable column), or a string,
	// int64, bool, []string (the tags) or time.Time (possibly zero).
	Value any
}

// Core returns img's core attributes, in the order Record prints them.
// It never holds a location or a filesystem path.
func (img Image) Core() []Attr {
	out := make([]Attr, len(coreNames))
	for i, n := range coreNames {
		v, _ := img.coreValue(n)
		out[i] = Attr{n, v}
	}
	return out
}

// coreNames are the core attributes in Core's order; coreValue knows each.
var coreNames = []string{"id", "name", "status", "visibility", "owner", "size", "virtual_size",
	"checksum", "os_hash_algo", "os_hash_value", "disk_format", "container_format", "min_disk",
	"min_ram", "protected", "os_hidden", "tags", "created_at", "updated_at"}

// V2 is the image as Glance's v2 API shows it (the image schema): the
// custom properties the caller may read (readable), the core attributes
// over them, times in ISO 8601 to the second, and the image's links.
func (img Image) V2(readable map[string]string) map[string]any {
	core := img.Core()
	out := make(map[string]any, len(readable)+len(core)+3)
	for k, v := range readable {
		out[k] = v
	}
	for _, a := range core {
		if t, ok := a.Value.(time.Time); ok {
			out[a.Name] = isoTime(t)
			continue
		}
		out[a.Name] = a.Value
	}
	out["self"] = "/v2/images/" + img.ID
	out["file"] = "/v2/images/" + img.ID + "/file"
	out["schema"] = "/v2/schemas/image"
	return out
}

// notInV1 are the core attributes Glance's v1 registry does not have
// (visibility shows as is_public).
var notInV1 = map[string]bool{"visibility": true, "os_hash_algo": true, "os_hash_value": true, "os_hidden": true, "tags": true}

// v1Attrs are the attributes of Glance v1's registry image (make_image_dict
// without locations): the core attributes v1 has, is_public, deleted and
// deleted_at, with times as the registry's JSON writes them (None for a
// zero time).
func (img Image) v1Attrs() []Attr {
	var out []Attr
	for _, a := range img.Core() {
		if notInV1[a.Name] {
			continue
		}
		if t, ok := a.Value.(time.Time); ok {
			a.Value = nil
			if !t.IsZero() {
				a.Value = t.UTC().Format("2006-01-02T15:04:05.000000")
			}
		}
		out = append(out, a)
	}
	return append(out, Attr{"is_public", img.Visibility == Public}, Attr{"deleted", false}, Attr{"deleted_at", nil})
}

// V1Headers are Glance v1's x-image-meta-* headers (None is left out),
// x-image-meta-property-* for the custom properties the caller may read
// (readable) whose lower-cased name can be a header name, and the
// checksum as ETag.
func (img Image) V1Headers(readable map[string]string) http.Header {
	h := http.Header{}
	for _, a := range img.v1Attrs() {
		var v string
		switch x := a.Value.(type) {
		case nil:
			continue
		case bool:
			v = pyBool(x)
		default:
			v = fmt.Sprint(x)
		}
		h.Set("X-Image-Meta-"+strings.ToUpper(a.Name[:1])+a.Name[1:], v)
	}
	if img.Checksum != nil {
		h.Set("ETag", *img.Checksum)
	}
	keys := make([]string, 0, len(readable))
	for k := range readable {
		keys = append(keys, k)
	}
	// Sorted: of two names that lower-case alike, the last one wins.
	sort.Strings(keys)
	for _, k := range keys {
		if name := strings.ToLower(k); validHeaderName(name) {
			h.Set("X-Image-Meta-Property-"+name, readable[k])
		}
	}
	return h
}

// V1 is the image as Glance v1's GET /v1/images/detail lists it: the
// registry's attributes and, under "properties", the custom properties
// the caller may read (readable). No location and no store.
func (img Image) V1(readable map[string]string) OrderedJSON {
	if readable == nil {
		readable = map[string]string{}
	}
	return append(OrderedJSON(img.v1Attrs()), Attr{"properties", readable})
}

// v1Summary are the attributes GET /v1/images lists (the registry's
// DISPLAY_FIELDS_IN_INDEX).
var v1Summary = []string{"id", "name", "size", "disk_format", "container_format", "checksum"}

// V1Summary is the image as Glance v1's GET /v1/images lists it.
func (img Image) V1Summary() OrderedJSON {
	attrs := map[string]any{}
	for _, a := range img.Core() {
		attrs[a.Name] = a.Value
	}
	out := make(OrderedJSON, 0, len(v1Summary))
	for _, name := range v1Summary {
		out = append(out, Attr{name, attrs[name]})
	}
	return out
}

// Target is the policy target for an image (Glance's "mashup"): every
// custom property, readable or not (Glance v2 drops unreadable ones and
// so fails open on "not (...)" rules), the core attributes over them
// (core wins on a clash, as the blueprint asks) with times as Python's
// str(datetime), Glance's key aliases (image_id, project_id, member_id),
// and the custom properties again under extra_properties. callerProject
// fills member/member_id as Glance does: only for a shared image the
// caller does not own.
func (img Image) Target(callerProject string) map[string]any {
	core := img.Core()
	t := make(map[string]any, len(img.Properties)+len(core)+5)
	for k, v := range img.Properties {
		t[k] = v
	}
	for _, a := range core {
		t[a.Name] = targetCore(a.Value)
	}
	for _, k := range aliases {
		t[k], _ = img.alias(callerProject, k)
	}
	return t
}

// TargetKeys is Target with only the given keys (those Target has): the
// same value for each. For a decision that can read only these keys (its
// footprint) it is the same decision, without building a map of every
// property.
func (img Image) TargetKeys(callerProject string, keys []string) map[string]any {
	t := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := img.alias(callerProject, k); ok {
			t[k] = v
		} else if v, ok := img.coreValue(k); ok {
			t[k] = targetCore(v)
		} else if v, ok := img.Properties[k]; ok {
			t[k] = v
		}
	}
	return t
}

// aliases are the target keys Target sets last, over core attributes and
// properties.
var aliases = []string{"image_id", "project_id", "member", "member_id", "extra_properties"}

// alias is the value of one of aliases, false for any other key.
func (img Image) alias(callerProject, k string) (any, bool) {
	switch k {
	case "image_id":
		return img.ID, true
	case "project_id":
		return str(img.Owner), true
	case "member", "member_id":
		if img.Visibility == Shared && callerProject != "" && (img.Owner == nil || *img.Owner != callerProject) {
			return callerProject, true
		}
		return nil, true
	case "extra_properties":
		props := make(map[string]any, len(img.Properties))
		for k, v := range img.Properties {
			props[k] = v
		}
		return props, true
	}
	return nil, false
}

// coreValue is the value Core gives the attribute named k, false for a
// name Core does not have.
func (img Image) coreValue(k string) (any, bool) {
	switch k {
	case "id":
		return img.ID, true
	case "name":
		return str(img.Name), true
	case "status":
		return img.Status, true
	case "visibility":
		return img.Visibility, true
	case "owner":
		return str(img.Owner), true
	case "size":
		return num(img.Size), true
	case "virtual_size":
		return num(img.VirtualSize), true
	case "checksum":
		return str(img.Checksum), true
	case "os_hash_algo":
		return str(img.OSHashAlgo), true
	case "os_hash_value":
		return str(img.OSHashValue), true
	case "disk_format":
		return str(img.DiskFormat), true
	case "container_format":
		return str(img.ContainerFormat), true
	case "min_disk":
		return img.MinDisk, true
	case "min_ram":
		return img.MinRAM, true
	case "protected":
		return img.Protected, true
	case "os_hidden":
		return img.Hidden, true
	case "tags":
		if img.Tags == nil {
			return []string{}, true
		}
		return img.Tags, true
	case "created_at":
		return img.CreatedAt, true
	case "updated_at":
		return img.UpdatedAt, true
	}
	return nil, false
}

// targetCore is a core attribute's value as the target holds it: times
// as Python's str(datetime), tags as a list of any.
func targetCore(v any) any {
	switch v := v.(type) {
	case time.Time:
		return pythonTime(v)
	case []string:
		tags := make([]any, len(v))
		for i, tag := range v {
			tags[i] = tag
		}
		return tags
	}
	return v
}

// Record is the whole image as `oslorego image show` prints it: the core
// attributes in order, every custom property under "properties", and,
// when members is not nil, "members" (then an empty list prints as []).
func (img Image) Record(members []Member) OrderedJSON {
	props := img.Properties
	if props == nil {
		props = map[string]string{}
	}
	o := append(OrderedJSON(img.Core()), Attr{"properties", props})
	if members != nil {
		ms := make([]memberJSON, 0, len(members))
		for _, m := range members {
			ms = append(ms, memberJSON{MemberID: m.ProjectID, Status: m.Status})
		}
		o = append(o, Attr{"members", ms})
	}
	return o
}

type memberJSON struct {
	MemberID string `json:"member_id"`
	Status   string `json:"status"`
}

// OrderedJSON is a JSON object whose members keep their order.
type OrderedJSON []Attr

// MarshalJSON writes o as one JSON object, members in order; each value
// is encoded as encoding/json encodes it (a time.Time as RFC 3339 with
// nanoseconds, in its own zone).
func (o OrderedJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(a.Name)
		if err != nil {
			return nil, fmt.Errorf("image attribute name: %w", err)
		}
		v, err := json.Marshal(a.Value)
		if err != nil {
			return nil, fmt.Errorf("image attribute %s: %w", a.Name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// isoTime is the v2 API's timestamp: ISO 8601 in UTC, to the second.
func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// pythonTime renders a time as Python's str(datetime) of Glance's naive
// UTC columns: microseconds only when there are some.
func pythonTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// validHeaderName keeps property names that can be a header name.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func num(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
