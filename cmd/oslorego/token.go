package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/auth"
)

// tokenFileHelp is the part of every token subcommand's help that says
// where the tokens live and what is stored.
const tokenFileHelp = `The tokens file is --tokens-file, else <data-dir>/tokens.json, where the
data directory is --data-dir, else $OSLOREGO_DATA_DIR, else
$XDG_DATA_HOME/oslorego, else ~/.local/share/oslorego. Only the SHA-256
hash of each token is stored (mode 0600), never the token itself: a token
is shown once, when it is added. A running server re-reads the file when
it changes, so added and revoked tokens take effect without a restart.`

// tokenFileFlags locate the tokens file.
type tokenFileFlags struct {
	tokensFile string
	dataDir    string
}

func (f *tokenFileFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.tokensFile, "tokens-file", "", "tokens file (default <data-dir>/tokens.json)")
	fs.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "data directory ($OSLOREGO_DATA_DIR)")
}

func (f *tokenFileFlags) path() string {
	if f.tokensFile != "" {
		return f.tokensFile
	}
	return filepath.Join(f.dataDir, "tokens.json")
}

// runToken manages the local tokens file: token add, list and revoke.
func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		tokenUsage(stderr)
		return usageErr("no subcommand (add, list or revoke)")
	}
	switch args[0] {
	case "-h", "--help", "help":
		tokenUsage(stdout)
		return nil
	case "add":
		return runTokenAdd(args[1:], stdout, stderr)
	case "list":
		return runTokenList(args[1:], stdout, stderr)
	case "revoke":
		return runTokenRevoke(args[1:], stdout)
	}
	return usageErr("unknown subcommand %q (add, list or revoke)", args[0])
}

func tokenUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: oslorego token add --user U --project P [--roles a,b] [flags]
       oslorego token list [--json]
       oslorego token revoke ID

Manage the local tokens that serve accepts in X-Auth-Token (its default
authentication mode, without Keystone).

%s

Run 'oslorego token SUBCOMMAND --help' for a subcommand's flags.
`, tokenFileHelp)
}

func runTokenAdd(args []string, stdout, stderr io.Writer) error {
	var ff tokenFileFlags
	var nt auth.NewToken
	var expires string
	var noImplied bool
	fs := newFlagSet("token add", "--user U --project P [--roles a,b] [--no-implied-roles] [--domain D] [--expires 24h|RFC3339] [--description S]",
		`Make a new random token for the identity and print it, and only it, on
stdout, so that TOKEN=$(oslorego token add ...) works. The token's id
(for list and revoke) and its roles are printed on stderr. Roles are
stored as given (trimmed): the policy compares them case-insensitively,
as oslo.policy does.

The token carries what a Keystone token for that user carries under
Keystone's default implied roles (admin implies member, member implies
reader): --roles admin stores admin,member,reader and --roles member
stores member,reader (the given roles first, in order, then the implied
ones). --no-implied-roles stores exactly --roles.

`+tokenFileHelp, stdout)
	fs.StringVar(&nt.UserID, "user", "", "user id (required)")
	fs.StringVar(&nt.ProjectID, "project", "", "project id (required)")
	fs.StringSliceVar(&nt.Roles, "roles", nil, "roles, comma-separated or repeated")
	fs.BoolVar(&noImplied, "no-implied-roles", false, "store exactly --roles, without the roles Keystone's defaults imply (admin: member, reader; member: reader)")
	fs.StringVar(&nt.DomainID, "domain", "", "domain id (the credentials' domain_id)")
	fs.StringVar(&expires, "expires", "", "expiry: a duration from now (90m, 24h, 30d) or an RFC 3339 time; default never")
	fs.StringVar(&nt.Description, "description", "", "free text shown by list")
	ff.register(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	if strings.TrimSpace(nt.UserID) == "" {
		return usageErr("--user is required")
	}
	if strings.TrimSpace(nt.ProjectID) == "" {
		return usageErr("--project is required")
	}
	exp, err := parseExpires(expires, time.Now())
	if err != nil {
		return err
	}
	nt.Expires = exp
	if !noImplied {
		nt.Roles = auth.ImpliedRoles(nt.Roles)
	}
	path := ff.path()
	token, err := auth.AddToken(path, nt)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, token); err != nil {
		return fmt.Errorf("printing the token: %w", err)
	}
	until := "never expires"
	if !exp.IsZero() {
		until = "expires " + exp.UTC().Format(time.RFC3339)
	}
	roles := "roles as given, without implied ones"
	if !noImplied {
		roles = "roles " + dash(strings.Join(nt.Roles, ",")) + ", implied ones included"
	}
	fmt.Fprintf(stderr, "oslorego: added token %s for user %s, project %s, %s (%s) to %s.\nOnly its hash is stored: keep the token now, it cannot be shown again. Send it as X-Auth-Token.\n",
		auth.TokenID(token), nt.UserID, nt.ProjectID, roles, until, path)
	return nil
}

// parseExpires reads --expires: empty or "never", a positive duration
// (Go syntax, plus whole days as "30d"), or an RFC 3339 time in the future.
func parseExpires(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, usageErr("--expires %s is not in the future", s)
		}
		return t, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return time.Time{}, usageErr("--expires %q: want a duration (24h, 30d) or an RFC 3339 time", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return time.Time{}, usageErr("--expires %q: want a duration (24h, 30d) or an RFC 3339 time", s)
		}
	}
	if d <= 0 {
		return time.Time{}, usageErr("--expires %q: the duration must be positive", s)
	}
	return now.Add(d), nil
}

func runTokenList(args []string, stdout, stderr io.Writer) error {
	var ff tokenFileFlags
	var asJSON bool
	fs := newFlagSet("token list", "[--json]",
		`List the tokens: id, user, project, roles, creation and expiry time
(never the tokens, which are not stored, nor their hashes).

`+tokenFileHelp, stdout)
	fs.BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	ff.register(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	list, err := auth.ListTokens(ff.path())
	if err != nil {
		return err
	}
	if asJSON {
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding tokens: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(stderr, "oslorego: no tokens in %s\n", ff.path())
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tPROJECT\tROLES\tCREATED\tEXPIRES\tDESCRIPTION")
	for _, t := range list {
		exp := "never"
		if !t.Expires.IsZero() {
			exp = t.Expires.UTC().Format(time.RFC3339)
			if !now.Before(t.Expires) {
				exp += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.UserID), dash(t.ProjectID),
			dash(strings.Join(t.Roles, ",")), t.Created.UTC().Format(time.RFC3339), exp, oneLine(t.Description))
	}
	return tw.Flush()
}

// dash keeps empty table cells visible.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runTokenRevoke(args []string, stdout io.Writer) error {
	var ff tokenFileFlags
	fs := newFlagSet("token revoke", "ID",
		`Remove the token with the given id (as 'oslorego token list' shows it)
from the tokens file.

`+tokenFileHelp, stdout)
	ff.register(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("want exactly one token id, got %d arguments", fs.NArg())
	}
	id := strings.ToLower(strings.TrimSpace(fs.Arg(0)))
	if strings.HasPrefix(fs.Arg(0), auth.TokenPrefix) {
		id = auth.TokenID(fs.Arg(0)) // the token was pasted: never echo it
	}
	if err := auth.RevokeToken(ff.path(), id); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "revoked token %s\n", id)
	return err
}
