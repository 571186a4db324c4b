package server

import (
	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
)

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

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
