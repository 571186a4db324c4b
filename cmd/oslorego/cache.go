package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/upstream"
)

// runCache manages a gateway's image cache: cache list, prefetch, evict.
func runCache(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		cacheUsage(stderr)
		return usageErr("no subcommand (list, prefetch or evict)")
	}
	switch args[0] {
	case "-h", "--help", "help":
		cacheUsage(stdout)
		return nil
	case "list":
		return runCacheList(args[1:], stdout)
	case "prefetch":
		return runCachePrefetch(ctx, args[1:], stdout)
	case "evict":
		return runCacheEvict(args[1:], stdout)
	}
	return usageErr("unknown subcommand %q (list, prefetch or evict)", args[0])
}

const cacheHelp = `The cache is the directory serve --cache-dir uses; these commands may run
beside the server. Entries are image bytes keyed by image id and
os_hash_value, each verified against the image's hash (and MD5) before it
is stored. The server serves an entry only to a request that policy
allowed and whose caller sees the image upstream, and only while the
image's hash upstream is the entry's.`

func cacheUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: oslorego cache list --cache-dir DIR [--json]
       oslorego cache prefetch --cache-dir DIR --upstream URL --token-file FILE IMAGE_ID...
       oslorego cache evict --cache-dir DIR (IMAGE_ID...|--all)

Manage the gateway's image cache (serve --upstream --cache-dir).

%s

Run 'oslorego cache SUBCOMMAND --help' for a subcommand's flags.
`, cacheHelp)
}

// openCache opens dir beside a server that may be using it, evicting
// nothing unless size is given.
func openCache(dir, size string) (*imagecache.Cache, error) {
	if dir == "" {
		return nil, usageErr("--cache-dir is required")
	}
	max := int64(math.MaxInt64)
	if size != "" {
		var err error
		if max, err = imagecache.ParseSize(size); err != nil {
			return nil, usageErr("--cache-size: %s", err)
		}
	}
	return imagecache.Open(imagecache.Options{Dir: dir, MaxBytes: max, Beside: true})
}

func runCacheList(args []string, stdout io.Writer) error {
	var dir string
	var asJSON bool
	fs := newFlagSet("cache list", "--cache-dir DIR [--json]", "List the entries, most recently used first (after a start: oldest stored last).\n\n"+cacheHelp, stdout)
	fs.StringVar(&dir, "cache-dir", "", "the cache directory (required)")
	fs.BoolVar(&asJSON, "json", false, "one JSON document")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	c, err := openCache(dir, "")
	if err != nil {
		return err
	}
	entries := c.List()
	if asJSON {
		type row struct {
			ID       string    `json:"id"`
			Algo     string    `json:"os_hash_algo"`
			Hash     string    `json:"os_hash_value"`
			Size     int64     `json:"size"`
			Modified time.Time `json:"stored_at"`
		}
		rows := make([]row, 0, len(entries))
		for _, e := range entries {
			rows = append(rows, row{e.ID, e.Algo, e.Hash, e.Size, e.Modified.UTC()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tHASH\tSTORED")
	var total int64
	for _, e := range entries {
		total += e.Size
		fmt.Fprintf(tw, "%s\t%d\t%s:%.16s…\t%s\n", e.ID, e.Size, e.Algo, e.Hash, e.Modified.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "%d entries, %d bytes\n", len(entries), total)
	return tw.Flush()
}

func runCacheEvict(args []string, stdout io.Writer) error {
	var dir string
	var all bool
	fs := newFlagSet("cache evict", "--cache-dir DIR (IMAGE_ID...|--all)", "Remove entries. A running server finds them gone at their next use and fetches the image again.\n\n"+cacheHelp, stdout)
	fs.StringVar(&dir, "cache-dir", "", "the cache directory (required)")
	fs.BoolVar(&all, "all", false, "remove every entry")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if all == (fs.NArg() > 0) {
		return usageErr("give image ids or --all")
	}
	c, err := openCache(dir, "")
	if err != nil {
		return err
	}
	ids := fs.Args()
	if all {
		for _, e := range c.List() {
			ids = append(ids, e.ID)
		}
	}
	missing := 0
	for _, id := range ids {
		if c.Evict(id) {
			fmt.Fprintf(stdout, "evicted %s\n", id)
		} else {
			fmt.Fprintf(stdout, "%s: not cached\n", id)
			missing++
		}
	}
	if missing > 0 && !all {
		return errFindings
	}
	return nil
}

func runCachePrefetch(ctx context.Context, args []string, stdout io.Writer) error {
	var dir, size, url, tokenFile string
	var timeout time.Duration
	fs := newFlagSet("cache prefetch", "--cache-dir DIR --upstream URL --token-file FILE IMAGE_ID...",
		`Fetch images into the cache, as the operator: the image's record and its
data are read from Glance with the token in --token-file (an operator's,
never the gateway's identity, which reads metadata only and never data
for anyone). Prefetching decides no policy and serves no one: each later
download from the cache is still decided, and the caller's visibility
checked upstream, on every request. Give the server's --cache-size so that
the bound holds.

`+cacheHelp, stdout)
	fs.StringVar(&dir, "cache-dir", "", "the cache directory (required)")
	fs.StringVar(&size, "cache-size", defaultCacheSize, "the cache's bound (the server's --cache-size): least recently used entries are evicted to make room")
	fs.StringVar(&url, "upstream", "", "the Glance to read from (required)")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the operator's token for Glance (required)")
	fs.DurationVar(&timeout, "upstream-timeout", upstream.DefaultTimeout, "how long to wait for Glance's answer and for each further part of the data")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr("no image ids")
	}
	if url == "" || tokenFile == "" {
		return usageErr("--upstream and --token-file are required")
	}
	c, err := openCache(dir, size)
	if err != nil {
		return err
	}
	operator := upstream.NewTokenFile(tokenFile)
	client, err := upstream.New(upstream.Options{URL: url, Identity: operator, Timeout: timeout})
	if err != nil {
		return usageErr("--upstream: %s", err)
	}
	failed := 0
	for _, id := range fs.Args() {
		msg, err := prefetch(ctx, c, client, operator, id)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", id, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", id, msg)
	}
	if failed > 0 {
		return errFindings
	}
	return nil
}

// prefetch stores image id's data, read with the operator's token.
func prefetch(ctx context.Context, c *imagecache.Cache, client *upstream.Client, operator upstream.TokenSource, id string) (string, error) {
	rec, err := client.ServiceImage(ctx, id, "")
	if err != nil {
		return "", fmt.Errorf("reading the image: %w", err)
	}
	img, err := imagestore.FromV2(rec.JSON)
	if err != nil {
		return "", fmt.Errorf("reading the image: %w", err)
	}
	exp, ok := server.CacheEntry(img)
	if !ok {
		return "", errors.New("not cacheable (not active, no data, or no os_hash_value)")
	}
	if f, ok := c.Get(exp.Key, exp.Size); ok {
		f.Close()
		return "already cached", nil
	}
	fill := c.StartFill(exp)
	if fill == nil {
		return "", errors.New("not filled: larger than the cache, being filled, or no room beside fills in progress")
	}
	tok, err := operator.Token(ctx)
	if err != nil {
		fill.Abort()
		return "", err
	}
	resp, err := client.Data(ctx, id, tok, "", nil)
	if err != nil {
		fill.Abort()
		return "", fmt.Errorf("reading the data: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fill.Abort()
		return "", fmt.Errorf("reading the data: Glance answered %s", resp.Status)
	}
	if _, err := io.Copy(fill, resp.Body); err != nil {
		fill.Abort()
		return "", fmt.Errorf("reading the data: %w", err)
	}
	if err := fill.Commit(); err != nil {
		return "", err
	}
	return fmt.Sprintf("cached %d bytes (%s verified)", exp.Size, exp.Algo), nil
}
