package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/oslorego/oslorego/translate/oslo"
)

// defaultPDPURL is where delegate points services by default.
const defaultPDPURL = "https://pdp:9443/v1/oslo/check"

type delegateFlags struct {
	url, output, confOutput       string
	contentType                   string
	caFile, clientCert, clientKey string
}

func runDelegate(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var f delegateFlags
	fs := newFlagSet("delegate", "DEFAULTS [-o policy.yaml] [--conf-output oslo_policy.conf] [flags]",
		`Write the policy file that makes a service delegate every rule it registers
to the policy decision point of 'oslorego serve --pdp-listen', through
oslo.policy's own http:/https: check: each registered rule, and "default",
becomes "NAME": "URL". DEFAULTS is the service's registered defaults: a
defaults file (a bundle's defaults.json or defaults.yaml, or a *.meta.json)
or a bundle directory holding one. The PDP decides with the rules in its
bundle; the service keeps only its scope check (scope_types are in its
code), so set its [oslo_policy] enforce_scope as the PDP's --enforce-scope.

With --conf-output, the [oslo_policy] lines the service needs are written
too: remote_content_type, and for https the server verification (the CA
file, or the system's) and the client certificate and key. oslo.policy's
HttpCheck has no timeout: see docs/deploy-pdp.md before rolling it out.`, stdout)
	fs.StringVar(&f.url, "url", defaultPDPURL, "the PDP's check URL as the service reaches it")
	fs.StringVarP(&f.output, "output", "o", "", "policy file to write (default: stdout)")
	fs.StringVar(&f.confOutput, "conf-output", "", "file to write the [oslo_policy] section to")
	fs.StringVar(&f.contentType, "content-type", "application/json", "remote_content_type: application/json or application/x-www-form-urlencoded (oslo's default)")
	fs.StringVar(&f.caFile, "ca-file", "", "remote_ssl_ca_crt_file: the CA that signed the PDP's certificate (default: the system's)")
	fs.StringVar(&f.clientCert, "client-cert", "", "remote_ssl_client_crt_file: the service's client certificate (for --pdp-client-ca)")
	fs.StringVar(&f.clientKey, "client-key", "", "remote_ssl_client_key_file: its private key")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("want one defaults file or bundle directory")
	}
	https, err := checkPDPURL(f.url)
	if err != nil {
		return err
	}
	if f.contentType != "application/json" && f.contentType != "application/x-www-form-urlencoded" {
		return usageErr("--content-type %q: want application/json or application/x-www-form-urlencoded", f.contentType)
	}
	if (f.clientCert == "") != (f.clientKey == "") {
		return usageErr("give --client-cert and --client-key together")
	}
	if !https && (f.caFile != "" || f.clientCert != "") {
		return usageErr("--ca-file, --client-cert and --client-key need an https --url")
	}
	path, err := defaultsPath(fs.Arg(0))
	if err != nil {
		return err
	}
	defs, err := oslo.ReadDefaults(path)
	if err != nil {
		return err
	}
	if len(defs) == 0 {
		return fmt.Errorf("%s registers no rules: nothing to delegate", path)
	}
	policy, err := delegatedPolicy(path, defs, f.url)
	if err != nil {
		return err
	}
	if f.output == "" {
		if _, err := stdout.Write(policy); err != nil {
			return err
		}
	} else if err := writeFileAtomic(f.output, policy); err != nil {
		return err
	}
	if f.confOutput != "" {
		if err := writeFileAtomic(f.confOutput, f.osloPolicyConf(https)); err != nil {
			return err
		}
	}
	if f.output != "" {
		fmt.Fprintf(stderr, "wrote %s: %d rules delegated to %s\n", f.output, len(defs), f.url)
	}
	return nil
}

// checkPDPURL refuses a URL oslo.policy would not call as written: the
// check's text is parsed as policy language (no spaces or parentheses)
// and %-formatted with the target (no '%'). It reports whether it is https.
func checkPDPURL(s string) (bool, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false, usageErr("--url %q: want an absolute http or https URL", s)
	}
	if i := strings.IndexAny(s, " \t\r\n()%'\""); i >= 0 {
		return false, usageErr("--url %q: oslo.policy cannot call a URL holding %q (policy-language syntax or %%-formatting)", s, s[i])
	}
	return u.Scheme == "https", nil
}

// defaultsPath is arg when it is a file, or the defaults file of the
// bundle directory arg.
func defaultsPath(arg string) (string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", fmt.Errorf("defaults: %w", err)
	}
	if !st.IsDir() {
		return arg, nil
	}
	var found []string
	for _, n := range []string{"defaults.json", "defaults.yaml"} {
		if _, err := os.Stat(filepath.Join(arg, n)); err == nil {
			found = append(found, filepath.Join(arg, n))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("bundle directory %s has no defaults.json or defaults.yaml: the service's registered defaults are needed", arg)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("bundle directory %s has both defaults.json and defaults.yaml", arg)
}

// delegatedPolicy is the policy file: every registered rule, then
// "default" (unless registered), checked by the PDP. Names and the URL
// are JSON strings, which YAML reads as the same strings.
func delegatedPolicy(source string, defs []oslo.RuleDefault, pdpURL string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by 'oslorego delegate' from %s.\n", filepath.Base(source))
	fmt.Fprintf(&b, "# Every rule this service registers is decided by the policy decision\n")
	fmt.Fprintf(&b, "# point at %s (oslorego serve --pdp-listen),\n", pdpURL)
	fmt.Fprintf(&b, "# on the bundle in force there. Edit the bundle, not this file.\n")
	quote := func(s string) (string, error) {
		var q bytes.Buffer
		enc := json.NewEncoder(&q)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			return "", err
		}
		return strings.TrimSuffix(q.String(), "\n"), nil
	}
	target, err := quote(pdpURL)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(defs)+1)
	for _, d := range defs {
		if !seen[d.Name] {
			seen[d.Name] = true
			names = append(names, d.Name)
		}
	}
	if !seen["default"] {
		// Names the service enforces without registering them fall back
		// to "default": the PDP decides those too, with its own default.
		names = append(names, "default")
	}
	for _, n := range names {
		k, err := quote(n)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", n, err)
		}
		fmt.Fprintf(&b, "%s: %s\n", k, target)
	}
	return b.Bytes(), nil
}

// osloPolicyConf is the [oslo_policy] section for the service.
func (f *delegateFlags) osloPolicyConf(https bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[oslo_policy]\n")
	fmt.Fprintf(&b, "# policy_file = the file 'oslorego delegate -o' wrote\n")
	fmt.Fprintf(&b, "# enforce_scope and enforce_new_defaults: as the PDP's --enforce-scope and\n# --enforce-new-defaults (the service still checks scope_types itself).\n")
	fmt.Fprintf(&b, "remote_content_type = %s\n", f.contentType)
	if !https {
		fmt.Fprintf(&b, "# Plain http: credentials and decisions travel unencrypted and unauthenticated.\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "remote_ssl_verify_server_crt = True\n")
	if f.caFile != "" {
		fmt.Fprintf(&b, "remote_ssl_ca_crt_file = %s\n", f.caFile)
	} else {
		fmt.Fprintf(&b, "# remote_ssl_ca_crt_file unset: the PDP's certificate is verified against the system's CAs.\n")
	}
	if f.clientCert != "" {
		fmt.Fprintf(&b, "remote_ssl_client_crt_file = %s\n", f.clientCert)
		fmt.Fprintf(&b, "remote_ssl_client_key_file = %s\n", f.clientKey)
	}
	return b.Bytes()
}
