package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/oslorego/oslorego/bundles"
)

func runPush(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("push", "FILE.tar.gz oci://HOST/REPO:TAG",
		`Push a built bundle to an OCI registry, as OPA's OCI downloader reads one:
an image manifest with an empty JSON config and the bundle as its one layer
(application/vnd.oci.image.layer.v1.tar+gzip), tagged TAG. "serve --bundle
oci://HOST/REPO:TAG" (and stock OPA with an oci service) then serve it;
signatures travel inside the bundle. A registry on a loopback address is
spoken to in plain HTTP, every other over HTTPS. Prints the manifest digest.`, stdout)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 2 || !strings.HasPrefix(fs.Arg(1), bundles.OCIScheme) {
		return usageErr("want FILE.tar.gz and oci://HOST/REPO:TAG")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("reading the bundle: %w", err)
	}
	digest, err := bundles.Push(ctx, nil, data, fs.Arg(1))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, digest)
	fmt.Fprintf(stderr, "pushed %s to %s\n", fs.Arg(0), fs.Arg(1))
	return nil
}
