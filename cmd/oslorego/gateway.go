package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagecache"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/upstream"
)

// gatewayFlags are serve's gateway mode flags.
type gatewayFlags struct {
	upstream, tokenFile string
	routes              string
	metadataTTL         time.Duration
	callerViewTTL       time.Duration
	timeout             time.Duration
	cacheDir, cacheSize string
}

func (g *gatewayFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.upstream, "upstream", "", "gateway mode: the Glance to front, e.g. http://glance:9292 (default: serve the data directory's images)")
	fs.StringVar(&g.tokenFile, "upstream-token-file", "", "file holding a token for the gateway's metadata reads, re-read when it changes and never renewed (default: with --auth keystone, the server's own Keystone identity, renewed)")
	fs.DurationVar(&g.metadataTTL, "upstream-metadata-ttl", server.DefaultMetadataTTL, "how long the gateway's own read of an image serves as its policy target (negative: read on every request)")
	fs.DurationVar(&g.callerViewTTL, "upstream-caller-view-ttl", 0, "gateway mode: keep each caller's successful GET /v2/images/{id} upstream this long, per token and image (10,000 at most), instead of asking Glance as the caller on every request; dropped sooner when the gateway's own read disagrees with it or a write through the gateway touches the image; at most --upstream-metadata-ttl. A visibility or membership change then takes up to this long to reach a caller who already read the image; the policy decision is still taken on every request (0: off)")
	fs.StringVar(&g.routes, "routes", "all", "gateway mode: all (every Glance v2 route, each decided, the others proxied to --upstream) or downloads (downloads and image reads only; every other route 404)")
	fs.DurationVar(&g.timeout, "upstream-timeout", upstream.DefaultTimeout, "how long to wait for Glance's answer, and for each further part of a download, before answering 503 or breaking the download off")
	fs.StringVar(&g.cacheDir, "cache-dir", "", "gateway mode: keep downloaded images' bytes here, verified against their hash, and serve allowed downloads from it (default: no cache)")
	fs.StringVar(&g.cacheSize, "cache-size", defaultCacheSize, "the --cache-dir bound: bytes, or with K, M, G, T; least recently used images go first")
}

// defaultCacheSize is --cache-size's default.
const defaultCacheSize = "10G"

// check refuses gateway flags that cannot work, before anything starts.
func (g *gatewayFlags) check(authMode string) error {
	if g.routes != "all" && g.routes != "downloads" {
		return usageErr("--routes %q: want all or downloads", g.routes)
	}
	if g.upstream == "" {
		if g.cacheDir != "" {
			return usageErr("--cache-dir needs --upstream: the image cache is the gateway's")
		}
		if g.callerViewTTL != 0 {
			return usageErr("--upstream-caller-view-ttl needs --upstream")
		}
		return nil
	}
	if err := g.checkCallerViewTTL(); err != nil {
		return err
	}
	if _, err := imagecache.ParseSize(g.cacheSize); err != nil {
		return usageErr("--cache-size: %s", err)
	}
	if authMode == "token" {
		return usageErr("--upstream needs --auth keystone (or headers): Glance does not know the tokens file's tokens")
	}
	if g.tokenFile == "" && authMode != "keystone" {
		return usageErr("--upstream with --auth %s needs --upstream-token-file: the gateway's own identity reads the policy target", authMode)
	}
	if _, err := g.client(upstream.NewTokenFile(g.tokenFile), nil); err != nil {
		return usageErr("--upstream: %s", err)
	}
	return nil
}

// checkCallerViewTTL refuses a caller view TTL the metadata TTL does not
// cover: a kept view is checked against the gateway's own read, so that
// read must be renewed at least as often as a view is kept.
func (g *gatewayFlags) checkCallerViewTTL() error {
	meta := g.metadataTTL
	if meta == 0 {
		meta = server.DefaultMetadataTTL // as the source reads 0
	}
	switch {
	case g.callerViewTTL < 0:
		return usageErr("--upstream-caller-view-ttl %v: negative (0 turns it off)", g.callerViewTTL)
	case g.callerViewTTL > 0 && meta < 0:
		return usageErr("--upstream-caller-view-ttl %v with a negative --upstream-metadata-ttl: a kept view is checked against the gateway's own read, which is then never kept", g.callerViewTTL)
	case g.callerViewTTL > 0 && g.callerViewTTL > meta:
		return usageErr("--upstream-caller-view-ttl %v is longer than --upstream-metadata-ttl %v: a kept view is checked against the gateway's own read, which must be renewed at least as often", g.callerViewTTL, meta)
	}
	return nil
}

func (g *gatewayFlags) client(identity upstream.TokenSource, reg prometheus.Registerer) (*upstream.Client, error) {
	return upstream.New(upstream.Options{URL: g.upstream, Identity: identity, Timeout: g.timeout, Registerer: reg})
}

// source is the upstream Glance as the server's image source (the flags
// passed check), and the client the other routes are proxied through
// (nil with --routes downloads). The gateway's identity is --upstream-token-file, else
// the Keystone authenticator's own (renewed) service token.
func (g *gatewayFlags) source(reg prometheus.Registerer, authn auth.Authenticator, log *slog.Logger) (server.Source, *upstream.Client, error) {
	var identity upstream.TokenSource
	switch k, ok := authn.(*auth.Keystone); {
	case g.tokenFile != "":
		identity = upstream.NewTokenFile(g.tokenFile)
	case ok:
		identity = k.ServiceToken()
	default:
		return nil, nil, fmt.Errorf("--upstream: no identity for the gateway's metadata reads: give --upstream-token-file or --auth keystone")
	}
	c, err := g.client(identity, reg)
	if err != nil {
		return nil, nil, fmt.Errorf("--upstream: %w", err)
	}
	o := server.UpstreamOptions{MetadataTTL: g.metadataTTL, CallerViewTTL: g.callerViewTTL, Registerer: reg}
	if g.cacheDir != "" {
		size, err := imagecache.ParseSize(g.cacheSize)
		if err != nil {
			return nil, nil, fmt.Errorf("--cache-size: %w", err)
		}
		if o.Cache, err = imagecache.Open(imagecache.Options{Dir: g.cacheDir, MaxBytes: size, Registerer: reg, Log: log}); err != nil {
			return nil, nil, fmt.Errorf("--cache-dir: %w", err)
		}
	}
	src, err := server.NewUpstreamSource(c, o)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	if g.routes == "downloads" {
		c = nil
	}
	return src, c, nil
}
