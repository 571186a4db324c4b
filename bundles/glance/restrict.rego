# METADATA
# description: |
#   The blueprint's "restricted" rule, written in Rego: a member may not
#   download an image whose x_billing_code_ntt property is one of
#   data.glance.restricted_billing_codes. Admins are allowed by
#   download_image itself ("role:admin or rule:restricted").
package oslo.policy

import data.oslo.lib

rules["restricted"] := false if {
	input.target.x_billing_code_ntt in data.glance.restricted_billing_codes
	"member" in lib.roles
} else := true
