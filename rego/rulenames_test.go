package rego

import (
	"context"
	"reflect"
	"testing"

	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// TestRuleNames: the same names from an engine with its translation and
// from one compiled from the translated modules alone (a built bundle's).
func TestRuleNames(t *testing.T) {
	ctx := context.Background()
	l, err := oslo.ParseLayer("policy.yaml", []byte(`{"b:x-y": "@", "a": "rule:b:x-y", "default": "!"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{DefaultRule: "default"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	withTr, err := New(ctx, Translation(tr))
	if err != nil {
		t.Fatal(err)
	}
	lib := translate.LibModule()
	opts := []Option{Module(lib.File, lib.Text)}
	for _, m := range tr.Modules {
		opts = append(opts, Module(m.File, m.Text))
	}
	modulesOnly, err := New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b:x-y", "default"}
	for name, e := range map[string]*Engine{"translation": withTr, "modules": modulesOnly} {
		got, err := e.RuleNames(ctx)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: RuleNames = %q, %v; want %q", name, got, err, want)
		}
	}
	raw, err := New(ctx, Module("x.rego", "package other\n\nx := 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := raw.RuleNames(ctx); err != nil || got != nil {
		t.Errorf("raw Rego: RuleNames = %q, %v; want none", got, err)
	}
}
