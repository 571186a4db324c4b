package auth

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// fakeCloudEnv serves files from a map; a value "EACCES" is unreadable.
func fakeCloudEnv(env map[string]string, files map[string]string) CloudEnv {
	return CloudEnv{
		Getenv: func(k string) string { return env[k] },
		Dir:    "/work", Home: "/home/u",
		ReadFile: func(name string) ([]byte, error) {
			data, ok := files[name]
			switch {
			case !ok:
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			case data == "EACCES":
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
			}
			return []byte(data), nil
		},
	}
}

func cloudYAML(user string) string {
	return "clouds:\n  c:\n    auth:\n      auth_url: http://k:5000\n      user_id: " + user + "\n      password: pw\n"
}

// The first file of openstacksdk's search path wins; an unreadable one
// is skipped, as there.
func TestLoadCloudSearchPath(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		user  string // "" for an error
	}{
		{"cwd first", nil, map[string]string{"/work/clouds.yaml": cloudYAML("cwd"), "/home/u/.config/openstack/clouds.yaml": cloudYAML("home")}, "cwd"},
		{"OS_CLIENT_CONFIG_FILE before cwd", map[string]string{"OS_CLIENT_CONFIG_FILE": "/x/my.yaml"},
			map[string]string{"/x/my.yaml": cloudYAML("env"), "/work/clouds.yaml": cloudYAML("cwd")}, "env"},
		{"OS_CLIENT_CONFIG_FILE missing: on down the path", map[string]string{"OS_CLIENT_CONFIG_FILE": "/x/none.yaml"},
			map[string]string{"/etc/openstack/clouds.yaml": cloudYAML("etc")}, "etc"},
		{"yaml before yml before json", nil, map[string]string{"/work/clouds.yml": cloudYAML("yml"), "/work/clouds.json": `{"clouds": {"c": {"auth": {"auth_url": "http://k", "user_id": "json", "password": "p"}}}}`}, "yml"},
		{"json", nil, map[string]string{"/work/clouds.json": `{"clouds": {"c": {"auth": {"auth_url": "http://k", "user_id": "json", "password": "p"}}}}`}, "json"},
		{"home", nil, map[string]string{"/home/u/.config/openstack/clouds.yaml": cloudYAML("home"), "/etc/openstack/clouds.yaml": cloudYAML("etc")}, "home"},
		{"XDG_CONFIG_HOME before ~/.config", map[string]string{"XDG_CONFIG_HOME": "/xdg"},
			map[string]string{"/xdg/openstack/clouds.yaml": cloudYAML("xdg"), "/home/u/.config/openstack/clouds.yaml": cloudYAML("home")}, "xdg"},
		{"site /etc/xdg before /etc", nil, map[string]string{"/etc/xdg/openstack/clouds.yaml": cloudYAML("xdgsite"), "/etc/openstack/clouds.yaml": cloudYAML("etc")}, "xdgsite"},
		{"unreadable skipped", nil, map[string]string{"/work/clouds.yaml": "EACCES", "/etc/openstack/clouds.yaml": cloudYAML("etc")}, "etc"},
		{"first file lacks the cloud: no fallback", nil, map[string]string{"/work/clouds.yaml": "clouds: {}\n", "/etc/openstack/clouds.yaml": cloudYAML("etc")}, ""},
		{"no file", nil, nil, ""},
		{"secure.yaml merged", nil, map[string]string{
			"/work/clouds.yaml":                     "clouds:\n  c:\n    auth:\n      auth_url: http://k\n      user_id: sec\n      password: clear\n",
			"/home/u/.config/openstack/secure.yaml": "clouds:\n  c:\n    auth:\n      password: from-secure\n"}, "sec"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadCloud("c", fakeCloudEnv(tc.env, tc.files))
			if tc.user == "" {
				if err == nil {
					t.Fatalf("no error: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Credentials.UserID != tc.user {
				t.Fatalf("user %q, want %q (from %s)", c.Credentials.UserID, tc.user, c.File)
			}
			if tc.name == "secure.yaml merged" && c.Credentials.Password != "from-secure" {
				t.Fatalf("password %q, want secure.yaml's", c.Credentials.Password)
			}
		})
	}
}

func TestLoadCloudErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"not found", "clouds:\n  other: {auth: {auth_url: http://k}}\n", `cloud "c" not found`},
		{"not yaml", "clouds: [\n", "yaml"},
		{"not a mapping", "- a\n", "not a mapping"},
		{"cloud not a mapping", "clouds:\n  c: 3\n", "clouds.c: not a mapping"},
		{"vendor profile", "clouds:\n  c: {profile: vexxhost, auth: {user_id: u, password: p}}\n", "vendor profiles"},
		{"vendor cloud", "clouds:\n  c: {cloud: vexxhost, auth: {user_id: u, password: p}}\n", "vendor profiles"},
		{"no auth_url", "clouds:\n  c: {auth: {user_id: u, password: p}}\n", "no auth_url"},
		{"password a list", "clouds:\n  c: {auth: {auth_url: http://k, user_id: u, password: [a]}}\n", "not a single value"},
		{"password a float", "clouds:\n  c: {auth: {auth_url: http://k, user_id: u, password: 1.5}}\n", "quote it"},
		{"password null", "clouds:\n  c: {auth: {auth_url: http://k, user_id: u, password: ~}}\n", "quote it"},
		{"merge key", "base: &b {auth_url: http://k}\nclouds:\n  c: {auth: {<<: *b, user_id: u, password: p}}\n", "merge keys"},
		{"auth_type none", "clouds:\n  c: {auth_type: none, auth: {auth_url: http://k}}\n", `auth_type "none"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCloud("c", fakeCloudEnv(nil, map[string]string{"/work/clouds.yaml": tc.yaml}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
	// A value the cloud does not use may be anything.
	c, err := LoadCloud("c", fakeCloudEnv(nil, map[string]string{"/work/clouds.yaml": "clouds:\n  c: {verify: no, regions: [a, b], auth: {auth_url: http://k, user_id: u, password: p}}\n"}))
	if err != nil || c.Credentials.UserID != "u" {
		t.Fatalf("%+v, %v", c, err)
	}
}

// openstackBodiesPy reads every cloud of a clouds.yaml with openstacksdk
// and keystoneauth, as the openstack CLI does, and prints the body of the
// POST /v3/auth/tokens it would send (captured, never sent), or the error.
const openstackBodiesPy = `
import json, sys
from openstack.config import loader
class Captured(Exception): pass
class FakeSession:
    def post(self, url, json=None, **kw): raise Captured(url, json)
cfg = loader.OpenStackConfig(config_files=[sys.argv[1]], secure_files=[sys.argv[2]], vendor_files=[], load_envvars=False)
out = {}
for name in cfg.cloud_config["clouds"]:
    try:
        r = cfg.get_one(name, validate=True)
        p = r.get_auth()
        if hasattr(p, "create_plugin"):   # the generic plugin, past discovery
            p = p.create_plugin(None, (3, 0), p.auth_url)
        p.include_catalog = False
        try:
            p.get_auth_ref(FakeSession())
            out[name] = {"error": "no request"}
        except Captured as c:
            out[name] = {"body": c.args[1], "auth_url": r.config["auth"].get("auth_url"), "cacert": r.config.get("cacert")}
    except Exception as e:
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out, default=lambda o: {"not JSON": repr(o)}))
`

// Every cloud of testdata/clouds is read as the openstack CLI reads it:
// the same authentication request, or a refusal here whose reason is one
// of the stricter ones (a value PyYAML reads as a non-string, a scope
// Keystone refuses or would not get, auth types we do not renew).
func TestLoadCloudDifferential(t *testing.T) {
	py := testenv.Python(t, "openstack.config.loader", "keystoneauth1")
	clouds, _ := filepath.Abs("testdata/clouds/clouds.yaml")
	secure, _ := filepath.Abs("testdata/clouds/secure.yaml")
	cmd := exec.Command(py, "-c", openstackBodiesPy, clouds, secure)
	cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE=", "OS_CLIENT_SECURE_FILE=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openstacksdk: %v", err)
	}
	var sdk map[string]struct {
		Body    any    `json:"body"`
		AuthURL string `json:"auth_url"`
		CACert  string `json:"cacert"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(out, &sdk); err != nil {
		t.Fatal(err)
	}
	stricter := []string{"quote it", "auth_type \"token\"", "auth_plugin", "credential's scope", "needs its domain", "one scope", "given twice"}
	env := CloudEnv{Getenv: func(k string) string {
		return map[string]string{"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLIENT_SECURE_FILE": secure}[k]
	}, Dir: t.TempDir(), Home: t.TempDir(), ReadFile: os.ReadFile}
	same, refused := 0, 0
	for name, want := range sdk {
		c, err := LoadCloud(name, env)
		if err == nil {
			err = c.Credentials.Validate()
		}
		if err != nil {
			if !slices.ContainsFunc(stricter, func(s string) bool { return strings.Contains(err.Error(), s) }) {
				t.Errorf("%s: refused (%v); the openstack CLI: %+v", name, err, want)
			}
			t.Logf("%s: refused: %v", name, err)
			refused++
			continue
		}
		if want.Error != "" {
			t.Errorf("%s: accepted (%+v); the openstack CLI fails: %s", name, c.Credentials, want.Error)
			continue
		}
		body, err := c.Credentials.authRequest()
		if err != nil {
			t.Fatal(err)
		}
		var got any
		_ = json.Unmarshal(body, &got)
		if !reflect.DeepEqual(got, want.Body) || c.AuthURL != want.AuthURL || c.CACert != want.CACert {
			wb, _ := json.Marshal(want.Body)
			t.Errorf("%s:\n got  %s %s %q\n want %s %s %q", name, body, c.AuthURL, c.CACert, wb, want.AuthURL, want.CACert)
		}
		same++
	}
	t.Logf("%d clouds: %d read alike, %d refused here with a reason", len(sdk), same, refused)
	if same < 15 || refused < 8 {
		t.Errorf("the testdata lost cases: %d alike, %d refused", same, refused)
	}
}

func FuzzLoadCloud(f *testing.F) {
	for _, name := range []string{"testdata/clouds/clouds.yaml", "testdata/clouds/secure.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(cloudYAML("u")))
	f.Fuzz(func(t *testing.T, data []byte) {
		env := fakeCloudEnv(nil, map[string]string{"/work/clouds.yaml": string(data)})
		c, err := LoadCloud("c", env)
		if err != nil {
			return
		}
		// A cloud read is a usable description: an auth URL and a known
		// type, and reading it again gives the same.
		if c.AuthURL == "" || (c.Credentials.Type != AuthPassword && c.Credentials.Type != AuthApplicationCredential) {
			t.Fatalf("%+v", c)
		}
		again, err := LoadCloud("c", env)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("read again: %+v, %v", again, err)
		}
	})
}
