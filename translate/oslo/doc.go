// Package oslo is oslo.policy 4.0.0's policy model, read exactly as
// oslo.policy reads it: the rule grammar (ParseRule and the Check tree),
// %-formatted MATCH strings (ParseFormat), policy files and policy.d
// overlays (ReadLayers), registered defaults (ReadDefaults), the merge
// Enforcer.load_rules does (Build, Load), rules that raw Rego beside the
// files defines (DeclareRego), and what can be known before any request:
// Lint and Raises.
//
// It does not know how rules become Rego; package translate does.
package oslo
