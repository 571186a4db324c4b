package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Cloud is one cloud of a clouds.yaml, read as the openstack CLI
// (openstacksdk's loader) reads it, reduced to what authenticating to
// Keystone needs.
type Cloud struct {
	// Name is the cloud's name; File the clouds.yaml it came from.
	Name, File string
	// AuthURL is auth.auth_url: Keystone.
	AuthURL string
	// Credentials are the password or application credential.
	Credentials ServiceCredentials
	// CACert is the cloud's cacert: the CA bundle for Keystone's TLS
	// ("" for the system's).
	CACert string
}

// CloudEnv is what LoadCloud reads from its surroundings: environment
// variables, the working and home directories (tests set them).
type CloudEnv struct {
	Getenv   func(string) string
	Dir      string // the working directory
	Home     string
	ReadFile func(string) ([]byte, error)
}

// DefaultCloudEnv is the process's environment.
func DefaultCloudEnv() CloudEnv {
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return CloudEnv{Getenv: os.Getenv, Dir: wd, Home: home, ReadFile: os.ReadFile}
}

// cloudsSearchPath lists the files openstacksdk looks for, in order,
// named base (clouds or secure): $override first, then base.yaml,
// base.yml and base.json in the working directory, the user's config
// directory ($XDG_CONFIG_HOME/openstack or ~/.config/openstack), the
// site's (/etc/xdg/openstack) and /etc/openstack.
func (e CloudEnv) cloudsSearchPath(base, override string) []string {
	var files []string
	if f := e.Getenv(override); f != "" {
		files = append(files, f)
	}
	userDir := filepath.Join(e.Home, ".config", "openstack")
	dirs := []string{e.Dir}
	if x := e.Getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "openstack"))
	}
	dirs = append(dirs, userDir)
	site := "/etc/xdg"
	if x := e.Getenv("XDG_CONFIG_DIRS"); x != "" {
		site = strings.Split(x, string(os.PathListSeparator))[0]
	}
	dirs = append(dirs, filepath.Join(site, "openstack"), "/etc/openstack")
	for _, d := range dirs {
		for _, ext := range []string{".yaml", ".yml", ".json"} {
			files = append(files, filepath.Join(d, base+ext))
		}
	}
	return files
}

// firstFile reads the first file of the list that exists and can be
// read; openstacksdk skips one it may not read, and so do we.
func (e CloudEnv) firstFile(files []string) (string, []byte, error) {
	for _, f := range files {
		data, err := e.ReadFile(f)
		switch {
		case err == nil:
			return f, data, nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
			continue
		}
		return "", nil, fmt.Errorf("reading %s: %w", f, err)
	}
	return "", nil, nil
}

// LoadCloud reads the cloud called name from the first clouds.yaml of
// the openstack CLI's search path ($OS_CLIENT_CONFIG_FILE,
// ./clouds.yaml, ~/.config/openstack/clouds.yaml,
// /etc/openstack/clouds.yaml, each also .yml and .json), merged with the
// first secure.yaml ($OS_CLIENT_SECURE_FILE first), as openstacksdk
// does: keys with "-" read as "_", top-level keys moved into auth (auth's
// own win), tenant_* for project_*, domain_* filling both user and
// project domains of a project-scoped cloud, auth_type password by
// default. Vendor profiles, regions' values and the OS_* variables other
// than these two are not read. A value that PyYAML would not read as a
// string (yes, 0x1F, 2024-01-01, null) is an error: quote it.
func LoadCloud(name string, e CloudEnv) (*Cloud, error) {
	if name == "" {
		return nil, errors.New("clouds.yaml: no cloud name")
	}
	file, data, err := e.firstFile(e.cloudsSearchPath("clouds", "OS_CLIENT_CONFIG_FILE"))
	if err != nil {
		return nil, err
	}
	if file == "" {
		return nil, fmt.Errorf("cloud %q: no clouds.yaml found (looked for $OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)", name)
	}
	clouds, err := parseClouds(file, data)
	if err != nil {
		return nil, err
	}
	cloud, ok := clouds[name]
	if !ok {
		return nil, fmt.Errorf("cloud %q not found in %s", name, file)
	}
	secFile, secData, err := e.firstFile(e.cloudsSearchPath("secure", "OS_CLIENT_SECURE_FILE"))
	if err != nil {
		return nil, err
	}
	if secFile != "" {
		secure, err := parseClouds(secFile, secData)
		if err != nil {
			return nil, err
		}
		if s, ok := secure[name]; ok {
			cloud = mergeClouds(cloud, s)
		}
	}
	if cloud.err != "" {
		return nil, fmt.Errorf("%s: %s", file, cloud.err)
	}
	c, err := cloudFromMap(cloud.m)
	if err != nil {
		return nil, fmt.Errorf("cloud %q in %s: %w", name, file, err)
	}
	c.Name, c.File = name, file
	return c, nil
}

// cloudValue is a cloud's value: a string, a map of them, or what is
// wrong with it (raised only if the value is used: a cloud's unrelated
// settings may be anything).
type cloudValue struct {
	s   string
	m   map[string]cloudValue
	err string
}

// parseClouds reads the clouds: mapping of a clouds.yaml or secure.yaml
// (JSON is YAML).
func parseClouds(file string, data []byte) (map[string]cloudValue, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := map[string]cloudValue{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a mapping", file)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "clouds" {
			continue
		}
		cl := root.Content[i+1]
		if cl.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: clouds: not a mapping", file)
		}
		for j := 0; j+1 < len(cl.Content); j += 2 {
			name := cl.Content[j].Value
			v := nodeValue(cl.Content[j+1], "clouds."+name)
			if v.m == nil && v.err == "" {
				v.err = "clouds." + name + ": not a mapping"
			}
			out[name] = v
		}
	}
	return out, nil
}

// nodeValue converts a YAML node. Mapping keys are normalised ("-" to
// "_", as openstacksdk's normalize_keys).
func nodeValue(n *yaml.Node, at string) cloudValue {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]cloudValue{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "<<" {
				return cloudValue{err: at + ": YAML merge keys (<<) are not supported"}
			}
			key := strings.ReplaceAll(n.Content[i].Value, "-", "_")
			if _, dup := m[key]; dup {
				// Which one openstacksdk takes depends on the key.
				m[key] = cloudValue{err: at + "." + key + " given twice (with - or _)"}
				continue
			}
			m[key] = nodeValue(n.Content[i+1], at+"."+key)
		}
		return cloudValue{m: m}
	case yaml.ScalarNode:
		if s, ok := pyyamlString(n); ok {
			return cloudValue{s: s}
		}
		return cloudValue{err: at + ": " + n.Value + " is not read as a string by PyYAML (the openstack CLI): quote it"}
	}
	return cloudValue{err: at + ": not a single value"}
}

// PyYAML's implicit resolvers (YAML 1.1) for plain scalars.
var (
	pyyamlBoolNull = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|)$`)
	pyyamlInt      = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	pyyamlFloat    = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	pyyamlTime     = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	plainDecimal   = regexp.MustCompile(`^(?:0|[1-9][0-9]*)$`)
)

// pyyamlString returns the string the openstack CLI sees for a scalar: a
// quoted or block scalar as is, a plain one unless PyYAML resolves it to
// a bool, null, float or date, or to an int whose str() differs from
// the text (0x1F, 017, 1_000, +1).
func pyyamlString(n *yaml.Node) (string, bool) {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, true
	}
	if n.Tag != "" && n.Tag != "!" && n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!bool" && n.Tag != "!!float" && n.Tag != "!!null" && n.Tag != "!!timestamp" {
		return "", false // an explicit tag of anything else
	}
	if n.Tag == "!!str" && n.Style&yaml.TaggedStyle != 0 {
		return n.Value, true // !!str 0123
	}
	v := n.Value
	switch {
	case pyyamlInt.MatchString(v):
		return v, plainDecimal.MatchString(v)
	case pyyamlBoolNull.MatchString(v), pyyamlFloat.MatchString(v), pyyamlTime.MatchString(v):
		return "", false
	}
	return v, true
}

// mergeClouds is openstacksdk's merge_clouds: b over a, maps merged.
func mergeClouds(a, b cloudValue) cloudValue {
	if a.m == nil || b.m == nil {
		return b
	}
	out := map[string]cloudValue{}
	for k, v := range a.m {
		out[k] = v
	}
	for k, v := range b.m {
		if old, ok := out[k]; ok {
			v = mergeClouds(old, v)
		}
		out[k] = v
	}
	return cloudValue{m: out}
}

// cloudFromMap applies openstacksdk's magic_fixes and auth plugin option
// lookup to one cloud.
func cloudFromMap(cloud map[string]cloudValue) (*Cloud, error) {
	auth := map[string]cloudValue{}
	if a, ok := cloud["auth"]; ok {
		if a.err != "" {
			return nil, errors.New(a.err)
		}
		if a.m == nil {
			return nil, errors.New("auth: not a mapping")
		}
		for k, v := range a.m {
			auth[k] = v
		}
	}
	if _, ok := cloud["profile"]; ok {
		return nil, errors.New("vendor profiles (profile:) are not supported: give auth_url and the credentials in the cloud")
	}
	if _, ok := cloud["cloud"]; ok {
		return nil, errors.New("vendor profiles (cloud:) are not supported: give auth_url and the credentials in the cloud")
	}
	// _fix_backwards_auth_plugin: auth_type, whose default is password,
	// always wins over auth_plugin.
	if _, ok := cloud["auth_plugin"]; ok {
		return nil, errors.New("auth_plugin is not read by the openstack CLI (auth_type is): use auth_type")
	}
	authType := cloudValue{s: AuthPassword}
	if v, ok := cloud["auth_type"]; ok {
		authType = v
	}
	// _fix_backwards_project: for each target, the last alias present
	// wins, auth's over the top level's.
	aliases := [][]string{
		{"domain_id", "domain_id"}, {"domain_name", "domain_name"},
		{"user_domain_id", "user_domain_id"}, {"user_domain_name", "user_domain_name"},
		{"project_domain_id", "project_domain_id"}, {"project_domain_name", "project_domain_name"},
		{"token", "auth_token", "token"},
		{"project_id", "tenant_id", "project_id"}, {"project_name", "tenant_name", "project_name"},
	}
	for _, a := range aliases {
		target, found := cloudValue{}, false
		for _, k := range a[1:] {
			if v, ok := cloud[k]; ok {
				target, found = v, true
			}
			if v, ok := auth[k]; ok {
				target, found = v, true
				delete(auth, k)
			}
		}
		switch {
		case found && target.m != nil:
			auth[a[0]] = cloudValue{err: a[0] + ": not a single value"}
		case found && (target.s != "" || target.err != ""):
			auth[a[0]] = target
		}
	}
	// _handle_domain_id: domain_* fills the user's and the project's
	// domains of a project-scoped cloud, and is then no scope itself.
	_, pid := auth["project_id"]
	_, pname := auth["project_name"]
	if pid || pname {
		for _, d := range []string{"id", "name"} {
			if v, ok := auth["domain_"+d]; ok {
				for _, k := range []string{"user_domain_" + d, "project_domain_" + d} {
					if _, set := auth[k]; !set {
						auth[k] = v
					}
				}
				delete(auth, "domain_"+d)
			}
		}
	}
	var errs []error
	get := func(key string) string {
		v, ok := auth[key]
		if !ok {
			// _validate_auth: a plugin option at the top level moves in.
			v, ok = cloud[key]
		}
		if !ok {
			return ""
		}
		if v.m != nil {
			errs = append(errs, fmt.Errorf("%s: not a single value", key))
			return ""
		}
		if v.err != "" {
			errs = append(errs, errors.New(v.err))
			return ""
		}
		return v.s
	}
	c := &Cloud{AuthURL: get("auth_url"), CACert: get("cacert")}
	at := authType.s
	if authType.err != "" || authType.m != nil {
		return nil, errors.New("auth_type: not a string")
	}
	cr := ServiceCredentials{
		UserID: get("user_id"), Username: get("username"),
		UserDomainID: get("user_domain_id"), UserDomainName: get("user_domain_name"),
	}
	switch at {
	case "password", "v3password":
		cr.Type = AuthPassword
		cr.Password = get("password")
		cr.ProjectID, cr.ProjectName = get("project_id"), get("project_name")
		cr.ProjectDomainID, cr.ProjectDomainName = get("project_domain_id"), get("project_domain_name")
		cr.DomainID, cr.DomainName = get("domain_id"), get("domain_name")
		cr.SystemScope = get("system_scope")
		if at == "password" {
			// The generic plugin's default_domain_* stand in for the
			// user's and the project's domains, id and name apart (and
			// an id wins over a name).
			ddID, ddName := get("default_domain_id"), get("default_domain_name")
			for _, f := range []struct {
				dst *string
				v   string
			}{
				{&cr.UserDomainID, ddID}, {&cr.UserDomainName, ddName},
				{&cr.ProjectDomainID, ddID}, {&cr.ProjectDomainName, ddName},
			} {
				if *f.dst == "" {
					*f.dst = f.v
				}
			}
		}
	case "v3applicationcredential":
		cr.Type = AuthApplicationCredential
		cr.ApplicationCredentialID = get("application_credential_id")
		cr.ApplicationCredentialName = get("application_credential_name")
		cr.ApplicationCredentialSecret = get("application_credential_secret")
		cr.ProjectID, cr.ProjectName = get("project_id"), get("project_name")
		cr.DomainID, cr.DomainName = get("domain_id"), get("domain_name")
		cr.SystemScope = get("system_scope")
	default:
		return nil, fmt.Errorf("auth_type %q: oslorego authenticates with password, v3password or v3applicationcredential", at)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.AuthURL == "" {
		return nil, errors.New("no auth_url")
	}
	c.Credentials = cr
	return c, nil
}
