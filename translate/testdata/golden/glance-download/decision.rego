# Decision rules for the oslo policy translated by oslorego.
#
# Ask for data.oslo.policy.decision (or .allow, or .result) with input
#   {"rule": NAME, "target": {...}, "credentials": {...}}
package oslo.policy

import data.oslo.lib

# default_rule is the rule unknown names and undefined rule: references fall
# back to (oslo's policy_default_rule); null when there is none.
default_rule := "default"

# enforce_scope is oslo's [oslo_policy] enforce_scope.
enforce_scope := false

# enforce_new_defaults is oslo's [oslo_policy] enforce_new_defaults (it was
# applied when the rules were translated).
enforce_new_defaults := false

# scope_types are the scopes registered rules accept.
scope_types := {}

# rule_names are the names of every rule this policy defines.
rule_names := {"context_is_admin", "default", "download_image", "get_image", "restricted"}

# safe_rules are the rules whose holds form (plain boolean Rego) decides
# sane input exactly: nothing in them can raise.
safe_rules := {"context_is_admin", "default", "download_image", "get_image", "restricted"}

# guarded_rules have a holds form too, exact for sane input on which every
# walk of a dot path into the credentials (lib.creds_path) indexes objects
# alone, so that oslo cannot raise. result does not use it; oslorego's
# native path checks the walks and decides them.
guarded_rules := set()

# evaluated is the rule input.rule resolves to: itself, or the default rule.
evaluated := input.rule if {
	input.rule in rule_names
} else := default_rule

# invalid_creds is oslo's InvalidContextObject: credentials that are not
# an object.
invalid_creds := lib.error(sprintf("InvalidContextObject: credentials must be an object, got %s", [lib.py_type(json.marshal(lib.creds))])) if {
	not is_object(lib.creds)
}

# result is oslo's Enforcer.enforce(input.rule, target, credentials): true,
# false, or {"error": MESSAGE} where oslo.policy raises (always a deny).
# Sane input to a safe rule is decided first, by the holds form.
result if {
	lib.sane
	input.rule in safe_rules
	holds[input.rule]
} else := false if {
	lib.sane
	input.rule in safe_rules
} else := invalid_creds if {
	invalid_creds
} else := false if {
	not evaluated
} else := rules[evaluated]

# exact_result is result decided by rules[] alone, without the holds
# shortcut: the conformance tests check that both agree.
exact_result := invalid_creds if {
	invalid_creds
} else := false if {
	not evaluated
} else := rules[evaluated]

# scope_denied is oslo's scope check for a registered rule.
scope_denied if {
	enforce_scope
	scopes := scope_types[input.rule]
	not lib.token_scope in scopes
}

# allow is true only when oslo.policy would allow.
allow := result == true

# decision is the whole answer: allowed, the rule evaluated, and why a
# decision failed closed.
decision := {"allowed": allow, "rule": input.rule, "evaluated": object.get({"r": evaluated}, "r", null), "error": failure}

# failure is why the decision failed closed, or null.
failure := result.error if {
	is_object(result)
} else := null
