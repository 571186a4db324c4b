package glance.download_test

import data.oslo.policy

# The blueprint's matrix on every action the download server enforces:
# admin, member (with the reader role Keystone implies), a member-only token,
# reader and no role, against images with the marker property present, absent
# and set to another value, owned by the caller's project or public in another.

creds := {
	"admin": {"roles": ["admin", "member", "reader"], "project_id": "p1", "user_id": "u1"},
	"member": {"roles": ["member", "reader"], "project_id": "p1", "user_id": "u2"},
	"member_only": {"roles": ["member"], "project_id": "p1", "user_id": "u5"},
	"reader": {"roles": ["reader"], "project_id": "p1", "user_id": "u3"},
	"none": {"roles": [], "project_id": "p1", "user_id": "u4"},
}

# Targets as the server builds them (the image mashup with Glance's aliases).
images := {
	"present": {"id": "i1", "owner": "p1", "project_id": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_3251"},
	"absent": {"id": "i2", "owner": "p1", "project_id": "p1", "visibility": "private"},
	"other": {"id": "i3", "owner": "p1", "project_id": "p1", "visibility": "private", "x_billing_code_ntt": "ntt_0001"},
	"public_present": {"id": "i4", "owner": "p2", "project_id": "p2", "visibility": "public", "x_billing_code_ntt": "ntt_3252"},
	"public_absent": {"id": "i5", "owner": "p2", "project_id": "p2", "visibility": "public"},
}

all_images := {image: true | some image, _ in images}

none_of := {image: false | some image, _ in images}

# download[who][image]: Glance's registered download_image minus the
# restricted images for everyone but admins.
download := {
	"admin": all_images,
	"member": {"present": false, "absent": true, "other": true, "public_present": false, "public_absent": true},
	"member_only": {"present": false, "absent": true, "other": true, "public_present": false, "public_absent": true},
	"reader": none_of,
	"none": none_of,
}

# show[who][image]: Glance's registered get_image (reader or above).
show := {
	"admin": all_images,
	"member": all_images,
	"member_only": none_of,
	"reader": all_images,
	"none": none_of,
}

# list[who]: Glance's registered get_images on the caller's project.
list := {"admin": true, "member": true, "member_only": false, "reader": true, "none": false}

allowed(rule, who, target) := a if {
	a := policy.allow with input as {"rule": rule, "target": target, "credentials": creds[who]}
}

test_download_matrix if {
	every who, row in download {
		every image, want in row {
			allowed("download_image", who, images[image]) == want
		}
	}
}

test_get_image_matrix if {
	every who, row in show {
		every image, want in row {
			allowed("get_image", who, images[image]) == want
		}
	}
}

test_get_images_matrix if {
	every who, want in list {
		allowed("get_images", who, {"project_id": "p1"}) == want
	}
}

test_member_refused_each_listed_code if {
	every code in data.glance.restricted_billing_codes {
		not policy.allow with input as {"rule": "download_image", "target": object.union(images.absent, {"x_billing_code_ntt": code}), "credentials": creds.member}
		policy.allow with input as {"rule": "download_image", "target": object.union(images.absent, {"x_billing_code_ntt": code}), "credentials": creds.admin}
	}
}

# Registered defaults still apply: a reader of another project may not see a
# private image, nor a member download it.
test_other_projects_private_image if {
	not allowed("get_image", "reader", {"project_id": "p2", "visibility": "private", "member_id": "p9"})
	not allowed("download_image", "member", {"project_id": "p2", "visibility": "private", "member_id": "p9"})
}

# Unknown actions fall back to the operator's default: admin only.
test_unknown_action_is_admin_only if {
	policy.allow with input as {"rule": "no_such_action", "target": {}, "credentials": creds.admin}
	not policy.allow with input as {"rule": "no_such_action", "target": {}, "credentials": creds.member}
}
