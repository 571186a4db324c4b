package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/internal/testenv"
	"github.com/oslorego/oslorego/policy_test/casegen"
	"github.com/oslorego/oslorego/policy_test/oracle"
)

// pdpService is one service of TestPDPDelegated: its registered defaults
// (shared/policies/NAME.meta.json), the operator's policy file on top
// (empty: the defaults alone), the [oslo_policy] options of the service
// and of the PDP, and how the service reaches the PDP.
type pdpService struct {
	name, original string
	conf           map[string]bool
	https          bool
	contentType    string
}

// pdpServices cover both content types, http and https with a client
// certificate, the four option sets, and defaults with and without an
// operator file.
var pdpServices = []pdpService{
	{"nova", "nova-legacy.json", nil, true, "application/json"},
	{"keystone", "", map[string]bool{"enforce_scope": true, "enforce_new_defaults": true}, false, "application/x-www-form-urlencoded"},
	{"cinder", "cinder-legacy.json", map[string]bool{"enforce_scope": true}, true, "application/x-www-form-urlencoded"},
	{"neutron", "", map[string]bool{"enforce_new_defaults": true}, false, "application/json"},
	{"glance", "glance-legacy.json", nil, true, "application/x-www-form-urlencoded"},
}

// pdpCasesPerService bounds the requests per service (CI budget: the
// whole test in about a minute on a loaded machine); a quarter of them are
// varied. Five services: 2,000 requests, each decided through oslo's
// HttpCheck and through oslo.policy.opa's protocol.
const pdpCasesPerService = 400

var pdpRx = regexp.MustCompile(`policy decision point on (https?://\S+)`)

// TestPDPDelegated is the proof of `serve --pdp-listen` and `delegate`
// with the real library: for each service, python3-oslo.policy's Enforcer
// with the registered defaults and the policy file `oslorego delegate`
// wrote (its [oslo_policy] lines loaded by oslo.config) asks a running
// `oslorego serve --pdp-listen` whose bundle holds the real policy, through
// oslo's own HttpCheck; the same Enforcer on the original policy decides
// locally. Requests are the real-policy conformance cases (personas and
// targets per rule) and variants of them with non-ASCII values, nested
// targets, lists, random JSON values in formatted keys and bare object()
// values. The delegated decision equals the local one, case by case; where
// oslo raises locally, the delegated decision is a refusal. The same holds
// for a client of oslo.policy.opa's protocol (an opa:RULE check querying
// /v1/data/PATH/allow, testdata/pdp/delegated.py) against the same PDP.
func TestPDPDelegated(t *testing.T) {
	testenv.Long(t)
	python := testenv.Python(t, "oslo_policy", "oslo_config", "requests")
	policies := testenv.Shared(t, "policies")
	bin := osloregoBinary.get(t)
	areas, err := casegen.RealPolicies(policies)
	if err != nil {
		t.Fatal(err)
	}
	byArea := map[string][]oracle.Case{}
	for _, a := range areas {
		byArea[a.Name] = a.Cases
	}
	pki := testenv.NewPKI(t)
	driver, err := filepath.Abs(filepath.Join("testdata", "pdp", "delegated.py"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	total := 0
	cases := map[string][]pdpCase{}
	for _, svc := range pdpServices {
		cases[svc.name] = pdpCases(byArea["real-"+svc.name+"-meta"], svc.name)
		if len(cases[svc.name]) < pdpCasesPerService {
			t.Fatalf("%d real-policy cases for %s, want %d", len(cases[svc.name]), svc.name, pdpCasesPerService)
		}
		total += len(cases[svc.name])
	}
	// The services side by side: each one's time is mostly oslo's
	// HttpCheck waiting on a new connection (and TLS handshake) per check.
	t.Run("services", func(t *testing.T) {
		for _, svc := range pdpServices {
			t.Run(svc.name, func(t *testing.T) {
				t.Parallel()
				runDelegated(t, bin, python, driver, policies, pki, svc, cases[svc.name])
			})
		}
	})
	t.Logf("%d requests over %d services in %v", total, len(pdpServices), time.Since(start).Round(time.Millisecond))
}

// pdpCase is one request of the driver.
type pdpCase struct {
	Rule    string   `json:"rule"`
	Target  any      `json:"target"`
	Creds   any      `json:"creds"`
	Objects []string `json:"objects,omitempty"`
	note    string
}

// pdpCases takes pdpCasesPerService of the real-policy cases, spread over
// the rules, and varies every fourth.
func pdpCases(real []oracle.Case, seed string) []pdpCase {
	r := rand.New(rand.NewPCG(uint64(len(seed)), 15))
	step := max(1, len(real)/pdpCasesPerService)
	var out []pdpCase
	for i := 0; i < len(real) && len(out) < pdpCasesPerService; i += step {
		c := real[i]
		pc := pdpCase{Rule: c.Rule, Target: c.Target, Creds: c.Creds, note: c.ID + " " + c.Note}
		if len(out)%4 == 3 {
			pc = vary(r, pc)
		}
		out = append(out, pc)
	}
	return out
}

// vary renames the case's ids consistently to non-ASCII ones (decisions
// keep their shape), adds nested and list values and a bare object(), and
// sometimes replaces one target value with a random JSON value.
func vary(r *rand.Rand, c pdpCase) pdpCase {
	rename := map[string]string{"p1": "p1-ü", "p2": "p2-Σ", "u1": "u1-ß", "d1": "d1-✓", "p-admin": "p-admïn"}
	c.Target = renamed(c.Target, rename)
	c.Creds = renamed(c.Creds, rename)
	t, _ := c.Target.(map[string]any)
	if t == nil {
		return c
	}
	t["név"] = "érték ✓"
	t["nested"] = map[string]any{"a": map[string]any{"b": []any{"x", json.Number("1"), nil, "Ω"}}}
	t["tags"] = []any{"ß", "Σ", map[string]any{"k": "v"}}
	if r.IntN(2) == 0 {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same cases on every run
		k := keys[r.IntN(len(keys))]
		t[k] = casegen.RandomValue(r)
		c.note += fmt.Sprintf(" (target %s random)", k)
	}
	c.Objects = []string{"bare_object"}
	c.note += " (varied)"
	return c
}

func renamed(v any, names map[string]string) any {
	switch x := v.(type) {
	case string:
		if n, ok := names[x]; ok {
			return n
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = renamed(e, names)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = renamed(e, names)
		}
		return out
	}
	return v
}

// pdpBundle writes the service's bundle directory: its registered
// defaults and the operator's policy file.
func pdpBundle(t *testing.T, dir, policies string, svc pdpService) string {
	t.Helper()
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(policies, svc.name+".meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	original := []byte("{}")
	if svc.original != "" {
		if original, err = os.ReadFile(filepath.Join(policies, svc.original)); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{"defaults.json": meta, "policy.json": original} {
		if err := os.WriteFile(filepath.Join(bundle, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bundle
}

// startPDP serves bundle with --pdp-listen (https with client
// certificates when svc.https) and returns the server and the PDP's URL.
func startPDP(t *testing.T, bin, bundle string, pki testenv.PKI, svc pdpService) (*served, string) {
	t.Helper()
	args := []string{"--bundle", bundle, "--pdp-listen", "127.0.0.1:0"}
	if svc.https {
		args = append(args, "--pdp-tls-cert", pki.ServerCert, "--pdp-tls-key", pki.ServerKey, "--pdp-client-ca", pki.CA)
	}
	for _, opt := range []string{"enforce_scope", "enforce_new_defaults"} {
		if svc.conf[opt] {
			args = append(args, "--"+strings.ReplaceAll(opt, "_", "-"))
		}
	}
	srv := startServe(t, bin, serverSpec{args: args})
	m := pdpRx.FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("serve did not say where the PDP is:\n%s", srv.stderr.String())
	}
	return srv, m[1]
}

// delegatedSpec runs `oslorego delegate` for the PDP at base and returns
// the driver's input for cases (with the oslo.policy.opa client too).
func delegatedSpec(t *testing.T, bin, dir, bundle, base string, pki testenv.PKI, svc pdpService, cases []pdpCase) []byte {
	t.Helper()
	delegated, confFile := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "oslo_policy.conf")
	dargs := []string{"delegate", bundle, "--url", base + "/v1/oslo/check", "-o", delegated, "--conf-output", confFile, "--content-type", svc.contentType}
	if svc.https {
		dargs = append(dargs, "--ca-file", pki.CA, "--client-cert", pki.ClientCert, "--client-key", pki.ClientKey)
	}
	if out, err := exec.Command(bin, dargs...).CombinedOutput(); err != nil {
		t.Fatalf("oslorego %s: %v\n%s", strings.Join(dargs, " "), err, out)
	}
	opa := map[string]any{"url": base}
	var refused []string
	if svc.https {
		opa["verify"], opa["cert"] = pki.CA, []string{pki.ClientCert, pki.ClientKey}
		// The same [oslo_policy] lines without the client certificate, and
		// with one of another authority: the handshake must fail.
		conf, err := os.ReadFile(confFile)
		if err != nil {
			t.Fatal(err)
		}
		var without []string
		for _, line := range strings.Split(string(conf), "\n") {
			if !strings.HasPrefix(line, "remote_ssl_client_") {
				without = append(without, line)
			}
		}
		stranger := strings.NewReplacer(pki.ClientCert, pki.StrangerCert, pki.ClientKey, pki.StrangerKey).Replace(string(conf))
		for name, text := range map[string]string{"no-client-cert.conf": strings.Join(without, "\n"), "stranger-cert.conf": stranger} {
			if text == string(conf) {
				t.Fatalf("%s: the delegated [oslo_policy] lines have no client certificate to change:\n%s", name, conf)
			}
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			refused = append(refused, p)
		}
	}
	spec, err := json.Marshal(map[string]any{
		"defaults": filepath.Join(bundle, "defaults.json"), "original": filepath.Join(bundle, "policy.json"),
		"delegated": delegated, "conf_file": confFile, "conf": svc.conf, "cases": cases, "opa": opa, "refused": refused,
	})
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// delegatedTally is what compareDelegated counted.
type delegatedTally struct {
	allowed, denied, raised int
	// refused are the handshakes refused to a wrong or missing client
	// certificate.
	refused int
	// seconds spent per enforcer of the driver.
	local, delegated, opa float64
}

// compareDelegated runs the driver on spec and checks, case by case, that
// the delegated decision (and oslo.policy.opa's) is oslo's local one.
func compareDelegated(t *testing.T, python, driver string, spec []byte, cases []pdpCase) delegatedTally {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, driver)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(spec), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("delegated.py: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(cases)+1 {
		t.Fatalf("delegated.py: %d lines for %d cases\n%s", len(lines), len(cases), stderr.String())
	}
	type result struct {
		Allowed *bool  `json:"allowed"`
		Error   string `json:"error"`
	}
	var n delegatedTally
	for i, c := range cases {
		var got struct{ Local, Delegated, OPA result }
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		l, d := got.Local, got.Delegated
		if o := got.OPA; o.Error != "" || (l.Error == "" && *o.Allowed != *l.Allowed) || (l.Error != "" && *o.Allowed) {
			t.Errorf("%s: %s: oslo.policy.opa's protocol differs from local oslo: %s", c.note, c.Rule, lines[i])
		}
		switch {
		case d.Error != "":
			t.Errorf("%s: %s: the delegated enforce raised %s (local: %+v)", c.note, c.Rule, d.Error, l)
		case l.Error != "":
			n.raised++
			if *d.Allowed {
				t.Errorf("%s: %s: oslo raises locally (%s) but the PDP allowed", c.note, c.Rule, l.Error)
			}
		case *l.Allowed != *d.Allowed:
			t.Errorf("%s: %s: local %v, delegated %v", c.note, c.Rule, *l.Allowed, *d.Allowed)
		case *l.Allowed:
			n.allowed++
		default:
			n.denied++
		}
	}
	var spent struct {
		Seconds struct{ Local, Delegated, OPA float64 }
		Refused []result
	}
	if err := json.Unmarshal([]byte(lines[len(cases)]), &spent); err != nil {
		t.Fatal(err)
	}
	for _, r := range spent.Refused {
		// requests raises SSLError when the handshake fails.
		if !strings.HasPrefix(r.Error, "SSLError") {
			t.Errorf("a wrong or missing client certificate: enforce() gave %+v, want SSLError (the handshake refused)", r)
		}
	}
	n.refused = len(spent.Refused)
	if n.allowed == 0 || n.denied == 0 {
		t.Errorf("%d allowed, %d denied: the cases do not exercise both decisions", n.allowed, n.denied)
	}
	n.local, n.delegated, n.opa = spent.Seconds.Local, spent.Seconds.Delegated, spent.Seconds.OPA
	return n
}

// pdpDecisions are the PDP's lines of a decision log; each must name
// caller and a bundle revision.
func pdpDecisions(t *testing.T, path, caller string) int {
	t.Helper()
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(log), "\n") {
		var d map[string]any
		if json.Unmarshal([]byte(line), &d) != nil || d["pdp"] == nil {
			continue
		}
		n++
		if d["caller"] != caller || d["bundle_revision"] == "" {
			t.Fatalf("decision log: caller %v, revision %v; want %s and the bundle's", d["caller"], d["bundle_revision"], caller)
		}
	}
	return n
}

// runDelegated builds the service's bundle, serves it with --pdp-listen,
// writes the delegated policy with `oslorego delegate`, and compares the
// driver's local and delegated decisions.
func runDelegated(t *testing.T, bin, python, driver, policies string, pki testenv.PKI, svc pdpService, cases []pdpCase) {
	dir := t.TempDir()
	bundle := pdpBundle(t, dir, policies, svc)
	srv, base := startPDP(t, bin, bundle, pki, svc)
	n := compareDelegated(t, python, driver, delegatedSpec(t, bin, dir, bundle, base, pki, svc, cases), cases)
	per := func(s float64) float64 { return s / float64(len(cases)) * 1e6 }
	t.Logf("%s (%s, https %v, %v): %d cases, %d allowed, %d denied, %d raised locally, %d bad client certificates refused; µs per enforce: %.0f local, %.0f delegated, %.0f oslo.policy.opa protocol",
		svc.name, svc.contentType, svc.https, svc.conf, len(cases), n.allowed, n.denied, n.raised, n.refused, per(n.local), per(n.delegated), per(n.opa))
	if svc.https && n.refused != 2 {
		t.Errorf("%d bad client certificates tried, want 2", n.refused)
	}
	caller := "127.0.0.1"
	if svc.https {
		caller = testenv.ClientSubject
	}
	pdpLines := pdpDecisions(t, srv.decisions, caller)
	// One query per enforce() and protocol, unless the service's own scope
	// check (enforce_scope, scope_types in its code) refused first.
	if pdpLines > 2*len(cases) || pdpLines == 0 || (!svc.conf["enforce_scope"] && pdpLines != 2*len(cases)) {
		t.Errorf("%d PDP decisions in the log for %d delegated requests (enforce_scope %v)", pdpLines, len(cases), svc.conf["enforce_scope"])
	}
}

// pdpHAProxyConfig is the shipped example that TestPDPBehindHAProxy runs.
const pdpHAProxyConfig = "../examples/pdp/haproxy.cfg"

// TestPDPBehindHAProxy runs examples/pdp/haproxy.cfg (TCP mode, TLS through
// to the PDPs) in front of two PDPs serving Nova's real policy: the
// delegated decisions are oslo's, both PDPs take a share, and each names
// the service by its client certificate (not HAProxy). Then one PDP stops
// (SIGINT), and the same requests still get oslo's decisions, all from
// the other, without a single error in the service.
func TestPDPBehindHAProxy(t *testing.T) {
	testenv.Long(t)
	python := testenv.Python(t, "oslo_policy", "oslo_config", "requests")
	if _, err := exec.LookPath("haproxy"); err != nil {
		testenv.Missing(t, "haproxy: %v (apt-get install -y haproxy)", err)
	}
	policies := testenv.Shared(t, "policies")
	bin := osloregoBinary.get(t)
	areas, err := casegen.RealPolicies(policies)
	if err != nil {
		t.Fatal(err)
	}
	var cases []pdpCase
	for _, a := range areas {
		if a.Name == "real-nova-meta" {
			cases = pdpCases(a.Cases, "nova")[:60]
		}
	}
	if len(cases) == 0 {
		t.Fatal("no real-policy cases for nova")
	}
	driver, err := filepath.Abs(filepath.Join("testdata", "pdp", "delegated.py"))
	if err != nil {
		t.Fatal(err)
	}
	pki := testenv.NewPKI(t)
	svc := pdpService{"nova", "nova-legacy.json", nil, true, "application/json"}
	dir := t.TempDir()
	bundle := pdpBundle(t, dir, policies, svc)
	a, urlA := startPDP(t, bin, bundle, pki, svc)
	b, urlB := startPDP(t, bin, bundle, pki, svc)

	checkCrt := filepath.Join(dir, "haproxy-check.pem")
	var pemData []byte
	for _, f := range []string{pki.ClientCert, pki.ClientKey} {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pemData = append(pemData, d...)
	}
	if err := os.WriteFile(checkCrt, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	bind := freeAddr(t)
	startHAProxyConfig(t, pdpHAProxyConfig, "OSLOREGO_PDP_BIND="+bind,
		"OSLOREGO_PDP_A="+strings.TrimPrefix(urlA, "https://"), "OSLOREGO_PDP_B="+strings.TrimPrefix(urlB, "https://"),
		"OSLOREGO_PDP_CHECK_CRT="+checkCrt, "OSLOREGO_PDP_CA="+pki.CA, "OSLOREGO_CHECK_INTER=500ms")
	spec := delegatedSpec(t, bin, dir, bundle, "https://"+bind, pki, svc, cases)

	compareDelegated(t, python, driver, spec, cases)
	inA, inB := pdpDecisions(t, a.decisions, testenv.ClientSubject), pdpDecisions(t, b.decisions, testenv.ClientSubject)
	if inA+inB != 2*len(cases) || inA == 0 || inB == 0 {
		t.Fatalf("decisions: %d on A, %d on B; want %d spread over both", inA, inB, 2*len(cases))
	}

	if err := a.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(urlA, "https://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("PDP A did not stop")
		}
	}
	compareDelegated(t, python, driver, spec, cases)
	if got := pdpDecisions(t, b.decisions, testenv.ClientSubject); got != inB+2*len(cases) {
		t.Errorf("PDP B took %d more decisions after A stopped, want %d", got-inB, 2*len(cases))
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
