package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// TestNativeRealPolicies loads every real policy file as a service does
// (a policy file; a .meta.json as the registered defaults, under the four
// option sets casegen uses) and checks that the native path compiles every
// safe rule, and that it decides casegen.RealPolicies' requests as OPA's
// evaluator does, request by request, on OPA's values and on Go's. With
// -short, every tenth request.
func TestNativeRealPolicies(t *testing.T) {
	files, areas := realFiles(t)
	ctx := context.Background()
	totalNative, total := 0, 0
	for i, f := range files {
		engines := map[oslo.Options]*rego.Engine{}
		native, n := 0, 0
		for j, c := range areas[i].Cases {
			if testing.Short() && j%10 != 0 {
				continue
			}
			opts := oslo.Options{EnforceScope: c.Conf["enforce_scope"], EnforceNewDefaults: c.Conf["enforce_new_defaults"]}
			e := engines[opts]
			if e == nil {
				e = realEngine(t, f, opts)
				engines[opts] = e
				cov := e.NativeCoverage()
				t.Logf("%s %+v: %d of %d safe rules native", filepath.Base(f), opts, cov.Native, cov.Safe)
				if cov.Native != cov.Safe || len(cov.Fallback) > 0 || cov.Disabled != "" {
					t.Errorf("%s %+v: not native: %s %v", filepath.Base(f), opts, cov.Disabled, cov.Fallback)
				}
			}
			ok, err := sameNative(ctx, e, c)
			if err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(f), c.Note, err)
			}
			n++
			if ok {
				native++
			}
		}
		t.Logf("%s: %d of %d requests decided natively", filepath.Base(f), native, n)
		totalNative += native
		total += n
	}
	t.Logf("%d of %d requests decided natively", totalNative, total)
	if totalNative < total/2 {
		t.Errorf("only %d of %d requests decided natively", totalNative, total)
	}
}

// realFiles are the real policy files, sorted, and casegen's requests
// for each (areas[i] for files[i]).
func realFiles(t *testing.T) ([]string, []casegen.Area) {
	t.Helper()
	dir := testenv.Shared(t, "policies")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	areas, err := casegen.RealPolicies(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(areas) != len(files) {
		t.Fatalf("%d areas for %d files", len(areas), len(files))
	}
	return files, areas
}

// realEngine loads a real policy file as bench/cold does.
func realEngine(t *testing.T, file string, opts oslo.Options) *rego.Engine {
	t.Helper()
	var (
		p   *oslo.Policy
		err error
	)
	if strings.HasSuffix(file, ".meta.json") {
		p, err = oslo.Load(nil, file, opts)
	} else {
		p, err = oslo.Load([]string{file}, "", opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	e, err := rego.New(context.Background(), rego.Policy(p))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sameNative decides c's request with and without the native path, on
// the input document and on Go values; it reports whether the native path
// decided it.
func sameNative(ctx context.Context, e *rego.Engine, c oracle.Case) (bool, error) {
	target, err := json.Marshal(c.Target)
	if err != nil {
		return false, err
	}
	creds, err := json.Marshal(c.Creds)
	if err != nil {
		return false, err
	}
	in, err := rego.InputJSON(c.Rule, target, creds)
	if err != nil {
		return false, err
	}
	opa := e.WithoutNative()
	want, err := opa.DecideInput(ctx, c.Rule, in)
	if err != nil {
		return false, err
	}
	got, err := e.DecideInput(ctx, c.Rule, in)
	if err != nil {
		return false, err
	}
	if got != want {
		return false, fmt.Errorf("native on %+v, off %+v", got, want)
	}
	tv, err := rego.DecodeJSON(target)
	if err != nil {
		return false, err
	}
	cv, err := rego.DecodeJSON(creds)
	if err != nil {
		return false, err
	}
	req := rego.Request{Rule: c.Rule, Target: tv, Credentials: cv}
	if got, err = e.Decide(ctx, req); err != nil {
		return false, err
	}
	if want, err = opa.Decide(ctx, req); err != nil {
		return false, err
	}
	if got != want {
		return false, fmt.Errorf("on Go values: native on %+v, off %+v", got, want)
	}
	_, ok := e.DecideNative(in)
	return ok, nil
}

// TestNativeRealPolicyBundles builds a bundle of every real policy file
// (a policy file as policy.json; a .meta.json as the registered defaults
// beside an empty policy.json, as the PDP tests do) and checks that the
// engine opened from it knows its translation, decides every safe rule
// natively, and decides casegen.RealPolicies' requests as the engine
// built from the policy itself does. With -short, every tenth request.
func TestNativeRealPolicyBundles(t *testing.T) {
	files, areas := realFiles(t)
	ctx := context.Background()
	for i, f := range files {
		type pair struct{ bundle, policy *rego.Engine }
		engines := map[oslo.Options]pair{}
		n := 0
		for j, c := range areas[i].Cases {
			if testing.Short() && j%10 != 0 {
				continue
			}
			opts := oslo.Options{EnforceScope: c.Conf["enforce_scope"], EnforceNewDefaults: c.Conf["enforce_new_defaults"]}
			e, ok := engines[opts]
			if !ok {
				e = pair{bundleEngine(t, f, opts), realEngine(t, f, opts)}
				engines[opts] = e
				cov, want := e.bundle.NativeCoverage(), e.policy.NativeCoverage()
				if e.bundle.Translation() == nil || cov.Native != want.Native || cov.Safe != want.Safe || cov.Native == 0 {
					t.Errorf("%s %+v: bundle engine native %+v, policy engine %+v", filepath.Base(f), opts, cov, want)
				}
			}
			req := rego.Request{Rule: c.Rule, Target: c.Target, Credentials: c.Creds}
			got, err := e.bundle.Decide(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.policy.Decide(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != want.Allowed || got.Evaluated != want.Evaluated || got.Error != want.Error {
				t.Errorf("%s: %s: bundle %+v, policy %+v", filepath.Base(f), c.Note, got, want)
			}
			n++
		}
		t.Logf("%s: %d requests", filepath.Base(f), n)
	}
}

// bundleEngine opens a bundle built from one real policy file.
func bundleEngine(t *testing.T, file string, opts oslo.Options) *rego.Engine {
	t.Helper()
	dir := t.TempDir()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"policy.json": text}
	if strings.HasSuffix(file, ".meta.json") {
		files = map[string][]byte{"defaults.json": text, "policy.json": []byte("{}")}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := bundles.Open(context.Background(), bundles.Path(dir), bundles.Options{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return l.Engine
}
