package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/imagestore"
)

// imageSub is one subcommand of "oslorego image".
type imageSub struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error
}

func imageSubs() map[string]imageSub {
	return map[string]imageSub{
		"import":     {"import a file (or stdin) as a new active image", runImageImport},
		"create":     {"record a queued image without data", runImageCreate},
		"list":       {"list the images", runImageList},
		"show":       {"show one image as JSON, with its members", runImageShow},
		"delete":     {"delete an image and its data", runImageDelete},
		"deactivate": {"deactivate an active image (Glance's deactivate action)", imageStatusSub(imagestore.StatusDeactivated)},
		"reactivate": {"reactivate a deactivated image", imageStatusSub(imagestore.StatusActive)},
		"share":      {"make a project a member of an image", runImageShare},
		"visibility": {"set an image's visibility", runImageVisibility},
		"verify":     {"re-hash an image's data and compare it with its checksums", runImageVerify},
	}
}

// runImage manages the embedded image store in --data-dir.
func runImage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	subs := imageSubs()
	if len(args) == 0 {
		imageUsage(stderr, subs)
		return usageErr("missing subcommand (one of %s)", strings.Join(sortedImageSubs(subs), ", "))
	}
	switch args[0] {
	case "-h", "--help", "help":
		imageUsage(stdout, subs)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usageErr("unknown subcommand %q (one of %s)", args[0], strings.Join(sortedImageSubs(subs), ", "))
	}
	return sub.run(ctx, args[1:], stdin, stdout)
}

func sortedImageSubs(subs map[string]imageSub) []string {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func imageUsage(w io.Writer, subs map[string]imageSub) {
	fmt.Fprintln(w, `Manage the embedded image store: image metadata in DATA_DIR/images.db
(SQLite), image data in DATA_DIR/images/. A server may keep the store open
while these commands run.

Usage: oslorego image SUBCOMMAND [flags] [args]

Subcommands:`)
	for _, n := range sortedImageSubs(subs) {
		fmt.Fprintf(w, "  %-11s %s\n", n, subs[n].summary)
	}
	fmt.Fprintln(w, "\nEvery subcommand takes --data-dir (default $OSLOREGO_DATA_DIR, else\n$XDG_DATA_HOME/oslorego, else ~/.local/share/oslorego).\nRun 'oslorego image SUBCOMMAND --help' for its flags.")
}

// imageFlagSet makes a subcommand's flag set; call addImageDataDir after the
// subcommand's own flags so that --data-dir is listed last.
func imageFlagSet(name, synopsis, description string, stdout io.Writer) *pflag.FlagSet {
	return newFlagSet("image "+name, synopsis, description, stdout)
}

func addImageDataDir(fs *pflag.FlagSet) *string {
	return fs.String("data-dir", defaultDataDir(), "directory of the image store")
}

// imageArgs parses flags and wants exactly the named positional arguments.
func imageArgs(fs *pflag.FlagSet, args []string, names ...string) (pos []string, help bool, err error) {
	if help, err := parse(fs, args); help || err != nil {
		return nil, help, err
	}
	if fs.NArg() != len(names) {
		return nil, false, usageErr("want %s, got %d arguments %q", strings.Join(names, " "), fs.NArg(), fs.Args())
	}
	return fs.Args(), false, nil
}

// withImageStore opens the store in dir for f, and closes it.
func withImageStore(ctx context.Context, dir string, f func(*imagestore.Store) error) (err error) {
	s, err := imagestore.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	return imageStoreErr(f(s))
}

// imageStoreErr makes the store's invalid-argument errors usage errors (exit 2).
func imageStoreErr(err error) error {
	if errors.Is(err, imagestore.ErrInvalid) && !errors.Is(err, errUsage) {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return err
}

// imageMetaFlags are the metadata flags of import and create.
type imageMetaFlags struct {
	id, name, visibility, owner string
	diskFormat, containerFormat string
	properties, tags            []string
	protected, hidden           bool
	minDisk, minRAM             int64
}

// register adds the flags; withData tells import (formats default to raw
// and bare) from create (formats stay unset).
func (m *imageMetaFlags) register(fs *pflag.FlagSet, withData bool) {
	diskDefault, containerDefault := " (default unset)", " (default unset)"
	if withData {
		diskDefault, containerDefault = " (default raw)", " (default bare)"
	}
	fs.StringVar(&m.name, "name", "", "image name (required)")
	fs.StringVar(&m.visibility, "visibility", "", "private, shared, community or public (default shared, as Glance)")
	fs.StringVar(&m.owner, "owner", "", "owner project ID (default none)")
	fs.StringArrayVar(&m.properties, "property", nil, "custom property NAME=VALUE (repeatable; reserved names such as owner or locations are refused)")
	fs.StringArrayVar(&m.tags, "tag", nil, "tag (repeatable)")
	fs.StringVar(&m.id, "id", "", "image ID, at most 36 characters of letters, digits, '-', '_', '.' (default a new UUID)")
	fs.StringVar(&m.diskFormat, "disk-format", "", "disk format, e.g. raw, qcow2, iso"+diskDefault)
	fs.StringVar(&m.containerFormat, "container-format", "", "container format, e.g. bare, ovf"+containerDefault)
	fs.BoolVar(&m.protected, "protected", false, "mark the image protected")
	fs.BoolVar(&m.hidden, "hidden", false, "hide the image from default listings (os_hidden)")
	fs.Int64Var(&m.minDisk, "min-disk", 0, "minimum disk size in GiB to boot the image")
	fs.Int64Var(&m.minRAM, "min-ram", 0, "minimum RAM in MiB to boot the image")
}

// options turns the flags into store options; bad values are usage errors.
func (m *imageMetaFlags) options(fs *pflag.FlagSet) (imagestore.ImportOptions, error) {
	if m.name == "" {
		return imagestore.ImportOptions{}, usageErr("--name is required")
	}
	o := imagestore.ImportOptions{
		ID: m.id, Name: m.name, Visibility: m.visibility,
		DiskFormat: m.diskFormat, ContainerFormat: m.containerFormat,
		Tags: m.tags, Protected: m.protected, Hidden: m.hidden, MinDisk: m.minDisk, MinRAM: m.minRAM,
	}
	if fs.Changed("owner") {
		if m.owner == "" {
			return imagestore.ImportOptions{}, usageErr("--owner must not be empty")
		}
		o.Owner = &m.owner
	}
	if len(m.properties) > 0 {
		o.Properties = map[string]string{}
	}
	for _, p := range m.properties {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return imagestore.ImportOptions{}, usageErr("--property %q: want NAME=VALUE", p)
		}
		if _, dup := o.Properties[k]; dup {
			return imagestore.ImportOptions{}, usageErr("--property %q: %s given twice", p, k)
		}
		o.Properties[k] = v
	}
	return o, nil
}

func runImageImport(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	var m imageMetaFlags
	fs := imageFlagSet("import", "FILE --name NAME [flags]",
		`Import FILE ("-" for stdin) as a new active image and print it as JSON.
The data is streamed to a staging file while its size, MD5 (checksum) and
SHA-512 (os_hash_value) are computed, made durable, and only then is the
image recorded: if the import fails or is interrupted, no image and no data
is left behind (a killed import's files are removed by the next import or a
running server once they are five minutes old). A property may not use a reserved name: a Glance core
attribute (owner, locations, direct_url, ...), a policy target key
(project_id, member, ...) or the os_glance namespace, in any letter case.`, stdout)
	m.register(fs, true)
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "FILE")
	if help || err != nil {
		return err
	}
	o, err := m.options(fs)
	if err != nil {
		return err
	}
	var r io.Reader = stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("opening image data: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return usageErr("%s is a directory, want a file", pos[0])
		}
		r = f
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		img, err := s.Import(ctx, r, o)
		if err != nil {
			return err
		}
		return writeImageJSON(stdout, img.Record(nil))
	})
}

func runImageCreate(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var m imageMetaFlags
	fs := imageFlagSet("create", "--name NAME [flags]",
		`Record a queued image without data and print it as JSON: size, checksum
and hash are null, and so are the formats unless given (as Glance does for
a queued image).`, stdout)
	m.register(fs, false)
	dataDir := addImageDataDir(fs)
	_, help, err := imageArgs(fs, args)
	if help || err != nil {
		return err
	}
	o, err := m.options(fs)
	if err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		img, err := s.Create(ctx, o)
		if err != nil {
			return err
		}
		return writeImageJSON(stdout, img.Record(nil))
	})
}

func runImageList(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var asJSON bool
	fs := imageFlagSet("list", "[--json]",
		`List the images (deleted ones excluded), oldest first: a table of ID,
NAME, STATUS, VISIBILITY, OWNER and SIZE ("-" for unset), or with --json an
array of the images as "image show" prints them, without members.`, stdout)
	fs.BoolVar(&asJSON, "json", false, "print a JSON array")
	dataDir := addImageDataDir(fs)
	_, help, err := imageArgs(fs, args)
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		imgs, err := s.List(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]imagestore.OrderedJSON, 0, len(imgs))
			for _, img := range imgs {
				out = append(out, img.Record(nil))
			}
			return writeImageJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tVISIBILITY\tOWNER\tSIZE")
		for _, img := range imgs {
			size := "-"
			if img.Size != nil {
				size = strconv.FormatInt(*img.Size, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", img.ID, imageCell(img.Name), img.Status, img.Visibility, imageCell(img.Owner), size)
		}
		return tw.Flush()
	})
}

func runImageShow(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	fs := imageFlagSet("show", "ID",
		`Print an image as JSON, with "members": the projects it is shared with
and their status.`, stdout)
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "ID")
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		img, err := s.Get(ctx, pos[0])
		if err != nil {
			return err
		}
		members, err := s.Members(ctx, img.ID)
		if err != nil {
			return err
		}
		return writeImageJSON(stdout, img.Record(members))
	})
}

func runImageDelete(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	fs := imageFlagSet("delete", "ID",
		`Delete an image and its data. As in Glance the record is kept, marked
deleted, so the ID cannot be reused. Protected images are deleted too: this
is the store's administration tool, not the API.`, stdout)
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "ID")
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		return s.Delete(ctx, pos[0])
	})
}

// imageStatusSub is deactivate (to StatusDeactivated) or reactivate.
func imageStatusSub(status string) func(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	name, description := "deactivate", `Deactivate an active image, as Glance's deactivate action: its data can no
longer be downloaded (except by admins) until it is reactivated. Only active
and deactivated images can change; setting the current status does nothing.`
	if status == imagestore.StatusActive {
		name, description = "reactivate", `Reactivate a deactivated image, as Glance's reactivate action. Only active
and deactivated images can change; setting the current status does nothing.`
	}
	return func(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
		fs := imageFlagSet(name, "ID", description, stdout)
		dataDir := addImageDataDir(fs)
		pos, help, err := imageArgs(fs, args, "ID")
		if help || err != nil {
			return err
		}
		return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
			return s.SetStatus(ctx, pos[0], status)
		})
	}
}

func runImageShare(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var status string
	fs := imageFlagSet("share", "ID PROJECT [--status accepted|pending|rejected]",
		`Make PROJECT a member of the image, or change its member status. This
only adds the member: it does not change the visibility, and members only
count while the image's visibility is shared (see "image visibility").
Glance lets members see a shared image whatever their status; the status
only decides whether it is in their default listings.`, stdout)
	fs.StringVar(&status, "status", "accepted", "member status: accepted, pending or rejected")
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "ID", "PROJECT")
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		return s.AddMember(ctx, pos[0], pos[1], status)
	})
}

func runImageVisibility(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	fs := imageFlagSet("visibility", "ID private|shared|community|public",
		`Set an image's visibility. Members are kept when it is not shared, and
count again when it is.`, stdout)
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "ID", "VISIBILITY")
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		return s.SetVisibility(ctx, pos[0], pos[1])
	})
}

func runImageVerify(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	fs := imageFlagSet("verify", "ID",
		`Re-read an image's data and compare its size, MD5 and SHA-512 with the
recorded ones. Prints "ok ID" and exits 0 when they match; exits 1 naming
the mismatch when the data is corrupt or missing.`, stdout)
	dataDir := addImageDataDir(fs)
	pos, help, err := imageArgs(fs, args, "ID")
	if help || err != nil {
		return err
	}
	return withImageStore(ctx, *dataDir, func(s *imagestore.Store) error {
		if err := s.Verify(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ok %s\n", pos[0])
		return nil
	})
}

func writeImageJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// imageCell renders a nullable value for the table: "-" when unset, quoted when
// it holds control characters that would break the columns.
func imageCell(s *string) string {
	switch {
	case s == nil:
		return "-"
	case *s == "" || strings.ContainsFunc(*s, unicode.IsControl):
		return strconv.Quote(*s)
	}
	return *s
}
