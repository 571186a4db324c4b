package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/translate/oslo"
)

// opaPluginGroup is the cases of one real policy file under one
// configuration: one bundle, one stock OPA.
type opaPluginGroup struct {
	file  string
	meta  bool
	conf  map[string]bool
	cases []oracle.Case
}

// TestOsloPolicyOPAUnderStockOPA builds every real policy (and every
// registered-defaults file under each configuration the generator uses)
// with --oslo-policy-opa, starts the stock "opa run -s -b" on it, and asks
// it what the oslo.policy.opa plugin asks (POST /v1/data/PATH/allow with
// {"input": {"target", "credentials"}}) for the generated real-policy
// cases, plus variants with non-ASCII, nested and list values. Every
// answer must be the engine's decision on the same bundle; one case in
// oracleEvery is also decided by oslo.policy, which must agree.
func TestOsloPolicyOPAUnderStockOPA(t *testing.T) {
	testenv.Long(t)
	testenv.OPA(t)
	dir := testenv.Shared(t, "policies")
	testenv.Oracle(t)
	areas, err := casegen.RealPolicies(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	if len(files) != len(areas) {
		t.Fatalf("%d files, %d areas", len(files), len(areas))
	}
	var groups []*opaPluginGroup
	for i, f := range files {
		byConf := map[string]*opaPluginGroup{}
		for _, c := range areas[i].Cases {
			key := fmt.Sprint(c.Conf["enforce_scope"], c.Conf["enforce_new_defaults"])
			g := byConf[key]
			if g == nil {
				g = &opaPluginGroup{file: f, meta: strings.HasSuffix(f, ".meta.json"), conf: c.Conf}
				byConf[key] = g
				groups = append(groups, g)
			}
			g.cases = append(g.cases, c, oddValues(c))
		}
	}
	const oracleEvery = 7
	var sample []oracle.Case
	var sampleAllowed []bool
	total, allowed := 0, 0
	for _, g := range groups {
		name := fmt.Sprintf("%s/scope=%v,new=%v", filepath.Base(g.file), g.conf["enforce_scope"], g.conf["enforce_new_defaults"])
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			bundleFile := buildPluginBundle(t, g)
			eng, err := bundles.Open(ctx, bundles.Path(bundleFile), bundles.Options{})
			if err != nil {
				t.Fatal(err)
			}
			url := testenv.StockOPA(t, "-b", bundleFile)
			client := &http.Client{Timeout: 10 * time.Second}
			for i, c := range g.cases {
				target, err := json.Marshal(c.Target)
				if err != nil {
					t.Fatal(err)
				}
				creds, err := json.Marshal(c.Creds)
				if err != nil {
					t.Fatal(err)
				}
				in, err := rego.InputJSON(c.Rule, target, creds)
				if err != nil {
					t.Fatal(err)
				}
				d, err := eng.Engine.DecideInput(ctx, c.Rule, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := askPlugin(client, url, c.Rule, target, creds)
				if err != nil {
					t.Fatalf("%s: %v", c.Rule, err)
				}
				if got != d.Allowed {
					t.Errorf("%s (%s): stock OPA says %v, the engine %+v", c.Rule, c.Note, got, d)
				}
				total++
				if got {
					allowed++
				}
				if i%oracleEvery == 0 {
					sample = append(sample, c)
					sampleAllowed = append(sampleAllowed, got)
				}
			}
		})
	}
	t.Logf("%d requests to stock OPA over %d bundles, %d allowed", total, len(groups), allowed)
	if allowed == 0 || allowed == total {
		t.Errorf("%d of %d allowed: the requests do not tell allow from deny", allowed, total)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := oracle.Run(ctx, sample)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Allowed != sampleAllowed[i] {
			t.Errorf("%s: stock OPA says %v, oslo.policy %+v", sample[i].Note, sampleAllowed[i], r)
		}
	}
	t.Logf("%d of them also decided by oslo.policy", len(sample))
}

// oddValues is c with a nested target value holding a list and non-ASCII
// text, and non-ASCII credentials the rules do not read: the same
// decision, on values that stock OPA reads as the plugin sends them.
func oddValues(c oracle.Case) oracle.Case {
	c.Note += " (odd values)"
	t := map[string]any{"nested": map[string]any{"list": []any{json.Number("1"), "é", map[string]any{"ß": nil}}, "☃": true}, "name": "ünïcödé ☃ 名前"}
	if m, ok := c.Target.(map[string]any); ok {
		for k, v := range m {
			t[k] = v
		}
	}
	c.Target = t
	cr := map[string]any{"user_name": "Jürgen 名前", "extra": []any{map[string]any{"k": "ü"}}}
	if m, ok := c.Creds.(map[string]any); ok {
		for k, v := range m {
			cr[k] = v
		}
	}
	c.Creds = cr
	return c
}

// buildPluginBundle writes g's policy as a bundle directory (the file as
// policy.json, or a registered-defaults file as defaults.json alone) and
// builds it with OsloPolicyOPA and g's configuration.
func buildPluginBundle(t *testing.T, g *opaPluginGroup) string {
	t.Helper()
	src := t.TempDir()
	data, err := os.ReadFile(g.file)
	if err != nil {
		t.Fatal(err)
	}
	name := "policy.json"
	if g.meta {
		name = "defaults.json"
	}
	if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := bundles.Load(context.Background(), bundles.Path(src), bundles.Options{
		OsloPolicyOPA: true,
		Options:       oslo.Options{DefaultRule: "default", EnforceScope: g.conf["enforce_scope"], EnforceNewDefaults: g.conf["enforce_new_defaults"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bundles.Write(&buf, b, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// askPlugin asks as oslo.policy.opa's OPACheck does: the rule's path, the
// JSON body {"input": {"target", "credentials"}}, and a decision only when
// the answer is 200 with a boolean result (anything else is its deny).
func askPlugin(client *http.Client, base, rule string, target, creds json.RawMessage) (bool, error) {
	segs, err := bundles.PluginPath(rule)
	if err != nil {
		return false, err
	}
	body, err := json.Marshal(map[string]any{"input": map[string]json.RawMessage{"target": target, "credentials": creds}})
	if err != nil {
		return false, err
	}
	resp, err := client.Post(base+"/v1/data/"+strings.Join(segs, "/")+"/allow", "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	var res struct {
		Result any `json:"result"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return false, err
	}
	b, ok := res.Result.(bool)
	if !ok {
		return false, fmt.Errorf("result %s is not a boolean", raw)
	}
	return b, nil
}
