package server

import (
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
)

// Mashup is the policy target for an image: its custom properties with
// the core properties laid over them (core wins on a clash, as the
// blueprint asks), Glance's key aliases (id/image_id, owner/project_id,
// member/member_id), and every custom property, readable or not: Glance
// v2 drops unreadable ones and so fails open on "not (...)" rules.
// callerProject fills member/member_id as Glance does: only for a shared
// image that the caller does not own.
func Mashup(img imagestore.Image, callerProject string) map[string]any {
	t := make(map[string]any, len(img.Properties)+28)
	props := make(map[string]any, len(img.Properties))
	for k, v := range img.Properties {
		t[k] = v
		props[k] = v
	}
	var member any
	if img.Visibility == imagestore.Shared && callerProject != "" && (img.Owner == nil || *img.Owner != callerProject) {
		member = callerProject
	}
	tags := make([]any, len(img.Tags))
	for i, tag := range img.Tags {
		tags[i] = tag
	}
	core := map[string]any{
		"id":               img.ID,
		"image_id":         img.ID,
		"name":             str(img.Name),
		"status":           img.Status,
		"visibility":       img.Visibility,
		"owner":            str(img.Owner),
		"project_id":       str(img.Owner),
		"member":           member,
		"member_id":        member,
		"checksum":         str(img.Checksum),
		"os_hash_algo":     str(img.OSHashAlgo),
		"os_hash_value":    str(img.OSHashValue),
		"size":             num(img.Size),
		"virtual_size":     num(img.VirtualSize),
		"disk_format":      str(img.DiskFormat),
		"container_format": str(img.ContainerFormat),
		"min_disk":         img.MinDisk,
		"min_ram":          img.MinRAM,
		"protected":        img.Protected,
		"os_hidden":        img.Hidden,
		"created_at":       pythonTime(img.CreatedAt),
		"updated_at":       pythonTime(img.UpdatedAt),
		"tags":             tags,
		"extra_properties": props,
	}
	for k, v := range core {
		t[k] = v
	}
	return t
}

// Credentials are the caller's policy values in oslo.context's shape
// (to_policy_values), with is_admin added from the context_is_admin rule.
// Absent values are None, as in oslo.
func Credentials(id *auth.Identity) map[string]any {
	roles := make([]any, len(id.Roles))
	for i, r := range id.Roles {
		roles[i] = r
	}
	return map[string]any{
		"user_id":           orNil(id.UserID),
		"user_domain_id":    orNil(id.UserDomainID),
		"project_id":        orNil(id.ProjectID),
		"project_domain_id": orNil(id.ProjectDomainID),
		"domain_id":         orNil(id.DomainID),
		"system_scope":      orNil(id.SystemScope),
		"system":            orNil(id.SystemScope),
		"roles":             roles,
		"is_admin_project":  id.IsAdminProject,
	}
}

// visible is Glance's database visibility rule for one image
// (glance/db/utils.py is_image_visible): member status does not matter
// for a single image.
func visible(img imagestore.Image, project string, isAdmin, member bool) bool {
	switch {
	case isAdmin, img.Owner == nil:
		return true
	case img.Visibility == imagestore.Public || img.Visibility == imagestore.Community:
		return true
	case project == "":
		return false
	case *img.Owner == project:
		return true
	}
	return img.Visibility == imagestore.Shared && member
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

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
