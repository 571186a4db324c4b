package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/upstream"
)

// gatewayFlags are serve's gateway mode flags.
type gatewayFlags struct {
	upstream, tokenFile string
	metadataTTL         time.Duration
	timeout             time.Duration
}

func (g *gatewayFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.upstream, "upstream", "", "gateway mode: the Glance to front, e.g. http://glance:9292 (default: serve the data directory's images)")
	fs.StringVar(&g.tokenFile, "upstream-token-file", "", "file holding the gateway's own Keystone token for its metadata reads (re-read when it changes; renew it before it expires)")
	fs.DurationVar(&g.metadataTTL, "upstream-metadata-ttl", server.DefaultMetadataTTL, "how long the gateway's own read of an image serves as its policy target (negative: read on every request)")
	fs.DurationVar(&g.timeout, "upstream-timeout", upstream.DefaultTimeout, "how long to wait for Glance's answer, and for each further part of a download, before answering 503 or breaking the download off")
}

// check refuses gateway flags that cannot work, before anything starts.
func (g *gatewayFlags) check(authMode string) error {
	if g.upstream == "" {
		return nil
	}
	if authMode == "token" {
		return usageErr("--upstream needs --auth keystone (or headers): Glance does not know the tokens file's tokens")
	}
	if g.tokenFile == "" {
		return usageErr("--upstream needs --upstream-token-file: the gateway's own identity reads the policy target")
	}
	if _, err := g.client(); err != nil {
		return usageErr("--upstream: %s", err)
	}
	return nil
}

func (g *gatewayFlags) client() (*upstream.Client, error) {
	return upstream.New(upstream.Options{URL: g.upstream, Identity: upstream.NewTokenFile(g.tokenFile), Timeout: g.timeout})
}

// source is the upstream Glance as the server's image source (the flags
// passed check).
func (g *gatewayFlags) source(reg prometheus.Registerer) (server.Source, error) {
	c, err := g.client()
	if err != nil {
		return nil, fmt.Errorf("--upstream: %w", err)
	}
	src, err := server.NewUpstreamSource(c, server.UpstreamOptions{MetadataTTL: g.metadataTTL, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return src, nil
}
