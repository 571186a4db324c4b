// Package translate emits Rego that evaluates an oslo policy (package
// translate/oslo) with oslo.policy 4.0.0's results: one module per policy
// source, an entry module with the decision rules (Translate), and the
// semantics library lib/oslo_lib.rego that they import (LibModule).
package translate
