# METADATA
# description: |
#   The blueprint's restriction, written in Rego: an image whose
#   x_billing_code_ntt property is one of data.glance.restricted_billing_codes
#   is restricted. download_image allows it to admins only
#   ("rule:context_is_admin or (rule:glance_download_image and rule:restricted)").
package oslo.policy

rules["restricted"] := false if {
	input.target.x_billing_code_ntt in data.glance.restricted_billing_codes
} else := true
