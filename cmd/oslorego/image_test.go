package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oslorego/oslorego/imagestore"
)

// runImageCLI runs "oslorego image ARGS" in-process.
func runImageCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runImage(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// imageJSON is how the tests read an image the CLI prints (the golden
// files in testdata pin the exact bytes).
type imageJSON struct {
	ID              string             `json:"id"`
	Name            *string            `json:"name"`
	Status          string             `json:"status"`
	Visibility      string             `json:"visibility"`
	Owner           *string            `json:"owner"`
	Size            *int64             `json:"size"`
	VirtualSize     *int64             `json:"virtual_size"`
	Checksum        *string            `json:"checksum"`
	OSHashAlgo      *string            `json:"os_hash_algo"`
	OSHashValue     *string            `json:"os_hash_value"`
	DiskFormat      *string            `json:"disk_format"`
	ContainerFormat *string            `json:"container_format"`
	MinDisk         int64              `json:"min_disk"`
	MinRAM          int64              `json:"min_ram"`
	Protected       bool               `json:"protected"`
	Hidden          bool               `json:"os_hidden"`
	Tags            []string           `json:"tags"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	Properties      map[string]string  `json:"properties"`
	Members         *[]imageMemberJSON `json:"members,omitempty"`
}

type imageMemberJSON struct {
	MemberID string `json:"member_id"`
	Status   string `json:"status"`
}

// mustImage runs a command that prints one image and decodes it.
func mustImage(t *testing.T, stdin string, args ...string) imageJSON {
	t.Helper()
	out, _, err := runImageCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("image %v: %v", args, err)
	}
	var img imageJSON
	if err := json.Unmarshal([]byte(out), &img); err != nil {
		t.Fatalf("image %v printed %q: %v", args, out, err)
	}
	return img
}

func TestImageImportShowListDelete(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	data := bytes.Repeat([]byte("cirros "), 10000)
	file := filepath.Join(dir, "cirros.img")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runImageCLI(t, "", "import", file, "--name", "cirros", "--visibility", "private", "--owner", "p1",
		"--property", "x_billing_code_ntt=ntt_3251", "--property", "os_distro=cirros", "--property", "empty=", "--property", "eq=a=b",
		"--tag", "t1", "--id", "img-1", "--disk-format", "qcow2", "--container-format", "bare", "--protected",
		"--min-disk", "1", "--min-ram", "64", "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, dataDir) || strings.Contains(out, "images/") {
		t.Errorf("import printed a filesystem path:\n%s", out)
	}
	var img imageJSON
	if err := json.Unmarshal([]byte(out), &img); err != nil {
		t.Fatalf("import output is not JSON: %v\n%s", err, out)
	}
	md5sum, shasum := md5.Sum(data), sha512.Sum512(data)
	if img.ID != "img-1" || *img.Name != "cirros" || img.Status != "active" || img.Visibility != "private" || *img.Owner != "p1" ||
		*img.Size != int64(len(data)) || *img.Checksum != hex.EncodeToString(md5sum[:]) ||
		*img.OSHashAlgo != "sha512" || *img.OSHashValue != hex.EncodeToString(shasum[:]) ||
		*img.DiskFormat != "qcow2" || *img.ContainerFormat != "bare" || !img.Protected || img.MinDisk != 1 || img.MinRAM != 64 ||
		!reflect.DeepEqual(img.Tags, []string{"t1"}) || img.Members != nil {
		t.Errorf("imported image:\n%s", out)
	}
	wantProps := map[string]string{"x_billing_code_ntt": "ntt_3251", "os_distro": "cirros", "empty": "", "eq": "a=b"}
	if !reflect.DeepEqual(img.Properties, wantProps) {
		t.Errorf("properties %v, want %v", img.Properties, wantProps)
	}
	for _, key := range []string{`"id"`, `"name"`, `"status"`, `"visibility"`, `"owner"`, `"size"`, `"checksum"`, `"os_hash_algo"`, `"os_hash_value"`, `"properties"`} {
		if !strings.Contains(out, key) {
			t.Errorf("import output lacks %s", key)
		}
	}

	shown := mustImage(t, "", "show", "img-1", "--data-dir", dataDir)
	if shown.Members == nil || len(*shown.Members) != 0 {
		t.Errorf("show: members %v, want []", shown.Members)
	}
	shown.Members = nil
	if !reflect.DeepEqual(shown, img) {
		t.Errorf("show differs from import:\n%+v\n%+v", shown, img)
	}

	queued := mustImage(t, "", "create", "--name", "later", "--data-dir", dataDir)
	out, _, err = runImageCLI(t, "", "list", "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME STATUS VISIBILITY OWNER SIZE" {
		t.Fatalf("list:\n%s", out)
	}
	if got := strings.Fields(lines[1]); !reflect.DeepEqual(got, []string{"img-1", "cirros", "active", "private", "p1", "70000"}) {
		t.Errorf("list row %q", lines[1])
	}
	if got := strings.Fields(lines[2]); !reflect.DeepEqual(got, []string{queued.ID, "later", "queued", "shared", "-", "-"}) {
		t.Errorf("list row %q", lines[2])
	}
	out, _, err = runImageCLI(t, "", "list", "--json", "--data-dir", dataDir)
	var list []imageJSON
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || !reflect.DeepEqual(list[0], img) || list[1].ID != queued.ID {
		t.Errorf("list --json: %v\n%s", err, out)
	}

	if out, _, err := runImageCLI(t, "", "delete", "img-1", "--data-dir", dataDir); err != nil || out != "" {
		t.Fatalf("delete: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "images", "img-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data file after delete: %v", err)
	}
	for _, args := range [][]string{{"show", "img-1"}, {"delete", "img-1"}, {"verify", "img-1"}} {
		_, _, err := runImageCLI(t, "", append(args, "--data-dir", dataDir)...)
		if !errors.Is(err, imagestore.ErrNotFound) || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "img-1") {
			t.Errorf("%v after delete: %v, want not found (exit 1) naming the ID", args, err)
		}
	}
	out, _, err = runImageCLI(t, "", "list", "--json", "--data-dir", dataDir)
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].ID != queued.ID {
		t.Errorf("list after delete: %v\n%s", err, out)
	}
}

func TestImageImportStdinAndDefaults(t *testing.T) {
	dataDir := t.TempDir()
	// --data-dir defaults to $OSLOREGO_DATA_DIR.
	t.Setenv("OSLOREGO_DATA_DIR", dataDir)
	img := mustImage(t, "from stdin", "import", "-", "--name", "piped")
	sum := md5.Sum([]byte("from stdin"))
	if *img.Size != 10 || *img.Checksum != hex.EncodeToString(sum[:]) || img.Visibility != "shared" || img.Owner != nil ||
		*img.DiskFormat != "raw" || *img.ContainerFormat != "bare" || len(img.ID) != 36 ||
		img.Tags == nil || img.Properties == nil || img.CreatedAt.IsZero() {
		t.Errorf("stdin import: %+v", img)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "images.db")); err != nil {
		t.Errorf("default data dir not used: %v", err)
	}
	queued := mustImage(t, "", "create", "--name", "q")
	if queued.Status != "queued" || queued.Size != nil || queued.Checksum != nil || queued.OSHashValue != nil || queued.DiskFormat != nil {
		t.Errorf("create: %+v", queued)
	}
	out, _, err := runImageCLI(t, "", "verify", img.ID)
	if err != nil || out != "ok "+img.ID+"\n" {
		t.Errorf("verify: %q, %v", out, err)
	}
	if _, _, err := runImageCLI(t, "", "verify", queued.ID); !errors.Is(err, imagestore.ErrNoData) {
		t.Errorf("verify of a queued image: %v, want ErrNoData", err)
	}
}

func TestImageLifecycle(t *testing.T) {
	dataDir := t.TempDir()
	dd := []string{"--data-dir", dataDir}
	img := mustImage(t, "data", append([]string{"import", "-", "--name", "n", "--id", "img"}, dd...)...)
	steps := []struct {
		args  []string
		check func(imageJSON) bool
	}{
		{[]string{"deactivate", "img"}, func(i imageJSON) bool { return i.Status == "deactivated" }},
		{[]string{"deactivate", "img"}, func(i imageJSON) bool { return i.Status == "deactivated" }},
		{[]string{"reactivate", "img"}, func(i imageJSON) bool { return i.Status == "active" }},
		{[]string{"share", "img", "p2"}, func(i imageJSON) bool {
			return reflect.DeepEqual(*i.Members, []imageMemberJSON{{"p2", "accepted"}}) && i.Visibility == "shared"
		}},
		{[]string{"share", "img", "p1", "--status", "pending"}, func(i imageJSON) bool {
			return reflect.DeepEqual(*i.Members, []imageMemberJSON{{"p1", "pending"}, {"p2", "accepted"}})
		}},
		{[]string{"share", "img", "p1", "--status", "rejected"}, func(i imageJSON) bool {
			return reflect.DeepEqual(*i.Members, []imageMemberJSON{{"p1", "rejected"}, {"p2", "accepted"}})
		}},
		{[]string{"visibility", "img", "private"}, func(i imageJSON) bool { return i.Visibility == "private" && len(*i.Members) == 2 }},
		{[]string{"visibility", "img", "public"}, func(i imageJSON) bool { return i.Visibility == "public" }},
	}
	for _, st := range steps {
		out, _, err := runImageCLI(t, "", append(st.args, dd...)...)
		if err != nil || out != "" {
			t.Fatalf("%v: %q, %v", st.args, out, err)
		}
		shown := mustImage(t, "", append([]string{"show", "img"}, dd...)...)
		if !st.check(shown) || shown.CreatedAt != img.CreatedAt || shown.UpdatedAt.Before(img.UpdatedAt) {
			t.Errorf("after %v: %+v", st.args, shown)
		}
	}

	// Corrupt data: verify fails (exit 1, not a usage error) naming it.
	if err := os.WriteFile(filepath.Join(dataDir, "images", "img"), []byte("dat4"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runImageCLI(t, "", append([]string{"verify", "img"}, dd...)...)
	if !errors.Is(err, imagestore.ErrCorrupt) || errors.Is(err, errUsage) || out != "" || !strings.Contains(err.Error(), "MD5") {
		t.Errorf("verify of corrupt data: %q, %v", out, err)
	}

	// A queued image cannot be deactivated: the store's refusal is a
	// usage error naming the status.
	mustImage(t, "", append([]string{"create", "--name", "q", "--id", "q"}, dd...)...)
	if _, _, err := runImageCLI(t, "", append([]string{"deactivate", "q"}, dd...)...); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "queued") {
		t.Errorf("deactivate a queued image: %v", err)
	}
}

func TestImageUsageErrors(t *testing.T) {
	dataDir := t.TempDir()
	file := filepath.Join(dataDir, "f.img")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runImageCLI(t, "", "create", "--name", "existing", "--id", "existing", "--data-dir", dataDir); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		mention []string
	}{
		{"no subcommand", nil, []string{"missing subcommand", "import", "verify"}},
		{"unknown subcommand", []string{"upload"}, []string{`"upload"`, "import, list, reactivate, share, show, verify, visibility"}},
		{"import without FILE", []string{"import", "--name", "n"}, []string{"want FILE"}},
		{"import with two files", []string{"import", file, file, "--name", "n"}, []string{"want FILE"}},
		{"import without --name", []string{"import", file}, []string{"--name is required"}},
		{"import a directory", []string{"import", dataDir, "--name", "n"}, []string{"is a directory"}},
		{"property without =", []string{"import", file, "--name", "n", "--property", "novalue"}, []string{`"novalue"`, "NAME=VALUE"}},
		{"property without name", []string{"create", "--name", "n", "--property", "=v"}, []string{`"=v"`}},
		{"property twice", []string{"create", "--name", "n", "--property", "k=1", "--property", "k=2"}, []string{`"k=2"`, "twice"}},
		{"reserved property on import", []string{"import", file, "--name", "n", "--property", "locations=x"}, []string{`"locations"`, "reserved"}},
		{"reserved property on create", []string{"create", "--name", "n", "--property", "Owner=p2"}, []string{`"Owner"`, "reserved"}},
		{"empty owner", []string{"create", "--name", "n", "--owner", ""}, []string{"--owner"}},
		{"bad visibility", []string{"import", file, "--name", "n", "--visibility", "everyone"}, []string{`"everyone"`}},
		{"ID too long", []string{"create", "--name", "n", "--id", strings.Repeat("x", 37)}, []string{strings.Repeat("x", 37)}},
		{"negative min-ram", []string{"create", "--name", "n", "--min-ram", "-5"}, []string{"-5"}},
		{"unknown flag", []string{"list", "--colour"}, []string{"colour"}},
		{"list with an argument", []string{"list", "extra"}, []string{"extra"}},
		{"show without ID", []string{"show"}, []string{"want ID"}},
		{"share without project", []string{"share", "existing"}, []string{"want ID PROJECT"}},
		{"share with a bad status", []string{"share", "existing", "p1", "--status", "maybe"}, []string{`"maybe"`}},
		{"visibility bad value", []string{"visibility", "existing", "hidden"}, []string{`"hidden"`}},
		{"visibility without value", []string{"visibility", "existing"}, []string{"want ID VISIBILITY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) > 0 {
				args = append(args, "--data-dir", dataDir)
			}
			out, _, err := runImageCLI(t, "", args...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("error %v, want a usage error", err)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if out != "" {
				t.Errorf("printed %q", out)
			}
		})
	}
	// Only the one image exists: nothing was created by the failures.
	out, _, err := runImageCLI(t, "", "list", "--json", "--data-dir", dataDir)
	var list []imageJSON
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
		t.Errorf("list after usage errors: %v\n%s", err, out)
	}
	if n, _ := os.ReadDir(filepath.Join(dataDir, "images")); len(n) != 0 {
		t.Errorf("images/ holds %v", n)
	}
}

func TestImageHelp(t *testing.T) {
	out, _, err := runImageCLI(t, "", "--help")
	if err != nil || !strings.Contains(out, "Usage: oslorego image SUBCOMMAND") {
		t.Errorf("image --help: %v\n%s", err, out)
	}
	for _, sub := range sortedImageSubs(imageSubs()) {
		t.Run(sub, func(t *testing.T) {
			if !strings.Contains(out, "  "+sub+" ") {
				t.Errorf("image --help does not list %s", sub)
			}
			// --help works without a data directory and creates none.
			t.Setenv("OSLOREGO_DATA_DIR", filepath.Join(t.TempDir(), "none"))
			help, _, err := runImageCLI(t, "", sub, "--help")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Usage: oslorego image " + sub, "--data-dir", "Flags:"} {
				if !strings.Contains(help, want) {
					t.Errorf("%s --help lacks %q:\n%s", sub, want, help)
				}
			}
			if _, err := os.Stat(os.Getenv("OSLOREGO_DATA_DIR")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("--help created the data directory: %v", err)
			}
		})
	}
	share, _, _ := runImageCLI(t, "", "share", "--help")
	if !strings.Contains(share, "does not change the visibility") {
		t.Errorf("share --help does not say it leaves the visibility alone:\n%s", share)
	}
}

// TestImageExitCodes runs the registered "image" command through run:
// usage errors exit 2, failures 1, success 0.
func TestImageExitCodes(t *testing.T) {
	dataDir := t.TempDir()
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"image", "list", "--data-dir", dataDir}, 0, ""},
		{[]string{"image", "--help"}, 0, ""},
		{[]string{"image", "frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"image", "create", "--name", "n", "--visibility", "nope", "--data-dir", dataDir}, 2, `"nope"`},
		{[]string{"image", "show", "missing", "--data-dir", dataDir}, 1, "image not found: missing"},
	}
	for _, tc := range tests {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.stderr)
		}
	}
}
