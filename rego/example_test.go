package rego_test

import (
	"context"
	"fmt"

	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// An oslo policy, a raw Rego module beside it and the module's data, in
// one call: New declares the rule the module defines (rules.restricted),
// so the oslo rule can refer to it as rule:restricted.
func ExampleNew() {
	ctx := context.Background()
	layer, err := oslo.ParseLayer("policy.yaml", []byte(`"download_image": "role:admin or rule:restricted"`))
	if err != nil {
		panic(err)
	}
	policy, err := oslo.Build([]*oslo.Layer{layer}, nil, oslo.Options{})
	if err != nil {
		panic(err)
	}
	eng, err := rego.New(ctx,
		rego.Policy(policy),
		rego.Module("restrict.rego", `package oslo.policy

import data.oslo.lib

rules.restricted := false if {
	input.target.x_billing_code_ntt in data.restricted_billing_codes
	"member" in lib.roles
} else := true
`),
		rego.Data(map[string]any{"restricted_billing_codes": []any{"ntt_3251"}}),
	)
	if err != nil {
		panic(err)
	}
	for _, rule := range []string{"download_image", "restricted"} {
		for _, code := range []string{"ntt_3251", "ntt_0001"} {
			d, err := eng.Decide(ctx, rego.Request{
				Rule:        rule,
				Target:      map[string]any{"x_billing_code_ntt": code},
				Credentials: map[string]any{"roles": []any{"member"}},
			})
			if err != nil {
				panic(err)
			}
			fmt.Println(rule, code, d.Allowed, d.Origin)
		}
	}
	// Output:
	// download_image ntt_3251 false policy.yaml:1
	// download_image ntt_0001 true policy.yaml:1
	// restricted ntt_3251 false restrict.rego:5
	// restricted ntt_0001 true restrict.rego:5
}

// The exact form decides with the tri-state rules only; it is a second
// query prepared on the engine's one compile, and answers the same.
func ExampleEngine_Exact() {
	ctx := context.Background()
	layer, err := oslo.ParseLayer("policy.json", []byte(`{
		"admin": "role:admin",
		"cyclic": "rule:cyclic",
		"download_image": "rule:admin or project_id:%(owner)s"}`))
	if err != nil {
		panic(err)
	}
	policy, err := oslo.Build([]*oslo.Layer{layer}, nil, oslo.Options{})
	if err != nil {
		panic(err)
	}
	eng, err := rego.New(ctx, rego.Policy(policy))
	if err != nil {
		panic(err)
	}
	for _, rule := range []string{"download_image", "cyclic"} {
		req := rego.Request{Rule: rule, Target: map[string]any{"owner": "p1"}, Credentials: map[string]any{"project_id": "p1"}}
		fast, err := eng.Decide(ctx, req)
		if err != nil {
			panic(err)
		}
		exact, err := eng.Exact().Decide(ctx, req)
		if err != nil {
			panic(err)
		}
		fmt.Println(rule, fast.Allowed, exact.Allowed, fast.Error == exact.Error)
	}
	// Output:
	// download_image true true true
	// cyclic false false true
}

// Without an oslo policy, New compiles the modules it is given, such as a
// built bundle's, and decides with the result rule of Package.
func ExampleModule() {
	ctx := context.Background()
	eng, err := rego.New(ctx,
		rego.Package("myservice"),
		rego.Module("myservice.rego", `package myservice

result := input.rule in data.open_rules
`),
		rego.Data(map[string]any{"open_rules": []any{"list_images"}}),
	)
	if err != nil {
		panic(err)
	}
	for _, rule := range []string{"list_images", "delete_image"} {
		d, err := eng.Decide(ctx, rego.Request{Rule: rule})
		if err != nil {
			panic(err)
		}
		fmt.Println(rule, d.Allowed)
	}
	// Output:
	// list_images true
	// delete_image false
}
