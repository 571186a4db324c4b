package oslo.policy

import data.oslo.lib

# restricted is false for a member asking for an image whose billing code
# is listed in data.restricted_billing_codes.
rules["restricted"] := false if {
	input.target.x_billing_code_ntt in data.restricted_billing_codes
	"member" in lib.roles
} else := true
