package glance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	oparego "github.com/open-policy-agent/opa/v1/rego"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// evaluator evaluates allowed(property, operation) of one emitted module.
type evaluator struct {
	t    *testing.T
	pq   oparego.PreparedEvalQuery
	text string
}

// policyModules translates the tiny oslo policy the policies sample refers to.
func policyModules(t *testing.T) []translate.Module {
	t.Helper()
	l, err := oslo.ParseLayer("policy.json", []byte(`{"default": "role:member", "context_is_admin": "role:admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return tr.Modules
}

func newEvaluator(t *testing.T, path string, src []byte, format Format) *evaluator {
	t.Helper()
	f, err := Parse(path, src, format)
	if err != nil {
		t.Fatal(err)
	}
	text, err := Rego(f, "", "")
	if err != nil {
		t.Fatal(err)
	}
	lib := translate.LibModule()
	opts := []func(*oparego.Rego){
		oparego.Query("x := data.oslo.glance.property_protections.allowed(input.property, input.operation)"),
		oparego.Module("propprot.rego", text),
		oparego.Module(lib.File, lib.Text),
	}
	if format == Policies {
		for _, m := range policyModules(t) {
			opts = append(opts, oparego.Module(m.File, m.Text))
		}
	}
	pq, err := oparego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return &evaluator{t: t, pq: pq, text: text}
}

func (e *evaluator) allowed(roles []string, property, op string) bool {
	e.t.Helper()
	creds := map[string]any{"project_id": "p1"}
	if roles != nil {
		rs := make([]any, len(roles))
		for i, r := range roles {
			rs[i] = r
		}
		creds["roles"] = rs
	}
	rs, err := e.pq.Eval(context.Background(), oparego.EvalInput(map[string]any{
		"property": property, "operation": op, "credentials": creds,
	}))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(rs) != 1 {
		e.t.Fatalf("allowed(%q, %q) for %v: %d results (undefined?)\n%s", property, op, roles, len(rs), e.text)
	}
	b, ok := rs[0].Bindings["x"].(bool)
	if !ok {
		e.t.Fatalf("allowed(%q, %q) = %v, not a boolean", property, op, rs[0].Bindings["x"])
	}
	return b
}

var (
	crudOps  = []string{"create", "read", "update", "delete"}
	roleSets = map[string][]string{"admin": {"admin"}, "member": {"member"}, "_member_": {"_member_"}, "reader": {"reader"}, "none": nil}
)

// expect is the outcome per role set, property and operation; a property
// or role set missing from a table is denied for every operation.
type expect map[string]map[string]string // role -> property -> allowed ops ("crud" letters)

func (e *evaluator) check(t *testing.T, want expect, props []string) {
	t.Helper()
	for role, rs := range roleSets {
		for _, prop := range props {
			for _, op := range crudOps {
				w := strings.Contains(want[role][prop], op[:1])
				if got := e.allowed(rs, prop, op); got != w {
					t.Errorf("roles %v: allowed(%q, %q) = %v, want %v", rs, prop, op, got, w)
				}
			}
		}
	}
}

var props = []string{"test_key", "secret_key", "x_foo", "foo"}

func TestEvalRolesFile(t *testing.T) {
	const file = "property-protections-roles.conf"
	e := newEvaluator(t, file, readPeer(t, file), Roles)
	anyone := map[string]string{"x_foo": "crud", "foo": "crud"}
	with := func(m map[string]string, k, v string) map[string]string {
		n := map[string]string{k: v}
		for a, b := range m {
			n[a] = b
		}
		return n
	}
	e.check(t, expect{
		// results/propprot_roles.txt: member may not create secret_key.
		"admin":  with(with(anyone, "test_key", "crud"), "secret_key", "crud"),
		"member": with(anyone, "test_key", "crud"),
		// _member_ sees test_key but may not delete it (403 "reserved").
		"_member_": with(anyone, "test_key", "r"),
		"reader":   anyone,
		"none":     anyone,
	}, props)
	// Roles compare case-insensitively (ContextMiddleware lower-cases).
	if !e.allowed([]string{"Admin"}, "secret_key", "delete") {
		t.Error("Admin may not delete secret_key")
	}
	// Not a CRUD operation.
	if e.allowed([]string{"admin"}, "foo", "list") {
		t.Error("list allowed")
	}
}

func TestEvalRolesSample(t *testing.T) {
	const file = "property-protections-roles.conf.sample"
	e := newEvaluator(t, file, readPeer(t, file), Roles)
	e.check(t, expect{
		"admin":    {"x_foo": "crud", "foo": "crud", "test_key": "crud", "secret_key": "crud"},
		"member":   {"x_foo": "crud"},
		"_member_": {"x_foo": "crud"},
	}, props)
}

func TestEvalPoliciesSample(t *testing.T) {
	const file = "property-protections-policies.conf"
	e := newEvaluator(t, file, readPeer(t, file), Policies)
	// §4.2 [live]: member may create x_foo but not foo. (Live "admin both"
	// relies on Keystone's implied roles: a bare "admin" role does not hold
	// role:member.)
	e.check(t, expect{
		"admin":  {"foo": "crud", "test_key": "crud", "secret_key": "crud"},
		"member": {"x_foo": "crud"},
	}, props)
	if !e.allowed([]string{"admin", "member", "reader"}, "x_foo", "create") {
		t.Error("admin with implied member may not create x_foo")
	}
	// The policy is enforced with target {}: a target in the input does not leak in.
	if e.allowed([]string{"member"}, "foo", "read") {
		t.Error("member may read foo")
	}
}

func TestEvalNoMatchFile(t *testing.T) {
	const file = "property-protections-nomatch.conf"
	e := newEvaluator(t, file, readPeer(t, file), Roles)
	e.check(t, expect{
		"admin":    {"bar": "cd"},
		"member":   {"foo": "crud", "bar": "cd"},
		"_member_": {"bar": "cd"},
		"reader":   {"bar": "cd"},
		"none":     {"bar": "cd"},
	}, []string{"foo", "bar", "baz", "xfoo", "foo_x"})
	// Python's $ also matches before a final newline.
	if !e.allowed([]string{"member"}, "foo\n", "read") {
		t.Error(`member may not read "foo\n"`)
	}
	if e.allowed([]string{"member"}, "foo\nx", "read") {
		t.Error(`member may read "foo\nx"`)
	}
}

func TestEvalEdgeFiles(t *testing.T) {
	t.Run("empty file allows everything", func(t *testing.T) {
		e := newEvaluator(t, "empty.conf", []byte("# only comments\n[DEFAULT]\ncreate = admin\n"), Roles)
		e.check(t, expect{
			"admin": {"foo": "crud"}, "member": {"foo": "crud"}, "_member_": {"foo": "crud"},
			"reader": {"foo": "crud"}, "none": {"foo": "crud"},
		}, []string{"foo"})
	})
	t.Run("unanchored search, first match wins", func(t *testing.T) {
		src := "[foo]\ncreate = member\nread = @\nupdate = !\ndelete =\n[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
		e := newEvaluator(t, "p.conf", []byte(src), Roles)
		e.check(t, expect{
			"member":   {"my_foo_bar": "cr", "bar": "crud"},
			"admin":    {"my_foo_bar": "r", "bar": "crud"},
			"none":     {"my_foo_bar": "r", "bar": "crud"},
			"reader":   {"my_foo_bar": "r", "bar": "crud"},
			"_member_": {"my_foo_bar": "r", "bar": "crud"},
		}, []string{"my_foo_bar", "bar"})
	})
	t.Run("unicode classes", func(t *testing.T) {
		src := "[^\\w+$]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
		e := newEvaluator(t, "p.conf", []byte(src), Roles)
		for prop, want := range map[string]bool{"héllo": true, "x_1": true, "a-b": false, "٣": true} {
			if got := e.allowed(nil, prop, "read"); got != want {
				t.Errorf("%q: %v, want %v", prop, got, want)
			}
		}
	})
}

// TestOPACheckAndFmt runs the stock opa CLI (go tool opa) on emitted
// modules written next to the library and the translated policy.
func TestOPACheckAndFmt(t *testing.T) {
	testenv.Long(t)
	opa := testenv.OPA(t)
	dir := t.TempDir()
	lib := translate.LibModule()
	files := map[string]string{lib.File: lib.Text}
	for _, m := range policyModules(t) {
		files[m.File] = m.Text
	}
	var emitted []string
	for i, c := range []struct {
		file   string
		format Format
	}{{"property-protections-roles.conf", Roles}, {"property-protections-policies.conf", Policies}, {"property-protections-nomatch.conf", Roles}} {
		f, err := Parse(c.file, readPeer(t, c.file), c.format)
		if err != nil {
			t.Fatal(err)
		}
		text, err := Rego(f, fmt.Sprintf("oslo.glance.pp%d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("propprot%d.rego", i)
		files[name] = text
		emitted = append(emitted, filepath.Join(dir, name))
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"check", "--strict", dir},
		append([]string{"fmt", "--list", "--fail"}, emitted...),
	} {
		if out, err := exec.Command(opa, args...).CombinedOutput(); err != nil {
			t.Errorf("opa %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func ExampleRego() {
	src := "[^x_]\ncreate = admin,Member\nread = @\nupdate = !\ndelete =\n"
	f, err := Parse("p.conf", []byte(src), Roles)
	if err != nil {
		panic(err)
	}
	text, err := Rego(f, "oslo.glance.property_protections", "")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(text, `_permit(0, "create") if _any_role({"admin", "member"})`))
	// Output: true
}
