package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"golang.org/x/net/netutil"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/batchwriter"
	"github.com/oslorego/oslorego/internal/onewrite"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/shadow"
	"github.com/oslorego/oslorego/upstream"
)

// sweepInterval is how often serve removes killed imports' leftovers.
const sweepInterval = time.Minute

// serveFlags are `oslorego serve`'s flags.
type serveFlags struct {
	listen, dataDir, bundle           string
	key, alg, keyID                   string
	reload, shutdown                  time.Duration
	writeProgress                     time.Duration
	maxRequests, maxConns             int
	decisionMemo                      int
	authMode, tokensFile              string
	tokensOnError                     string
	keystone                          keystoneFlags
	trusted                           []string
	decisionLog, logFormat, adminRule string
	publicURL, imageSchema            string
	replica                           string
	shadowBundle                      string
	shadowQueue, shadowWorkers        int
	policy                            policyFlags
	gateway                           gatewayFlags
	pdp                               pdpFlags
	opa                               opaWireFlags
}

const serveHelp = `Usage: oslorego serve [flags]

Serve Glance image downloads, each authorised by one Rego decision:

  GET  /v2/images/{id}/file   download_image   image data (Range, 204 without data)
  GET  /v2/images/{id}        get_image        image metadata (JSON)
  GET  /v2/images             get_images       images the caller may see
  GET  /v1/images/{id}        download_image   image data with x-image-meta-* headers
  HEAD /v1/images/{id}        get_image        x-image-meta-* headers only

plus /healthz, /readyz (ready once a policy is loaded) and /metrics
(Prometheus). A policy refusal is always 403 with the same JSON body; an
image the caller may not see is 404; missing or invalid credentials 401.

With no flags it serves the built-in Glance bundle (the blueprint's download
restriction) from the data directory with token authentication, and prints
how to add a token and import an image.

--bundle is a bundle directory, a .tar.gz or an http(s) bundle service; it is
reloaded every --reload-interval (a directory or file only when its content
changed) and on SIGHUP (which reloads the built-in bundle too, harmlessly),
and the last good bundle stays in force when a reload fails: the failure is
logged at ERROR and counted in oslorego_bundle_reload_total. A bundle that
lacks a rule or file its .manifest requires (metadata.oslorego_requires), or
the bundle in force required, or in which a route's action raises for every
input (a rule: cycle), is refused. SIGINT/SIGTERM stop accepting connections
and let requests and downloads in flight finish (at most --shutdown-timeout);
connections still open then are closed.

--shadow-bundle (same sources, verification and reloads as --bundle) is a
candidate: every decision is taken again under it by --shadow-workers
goroutines fed by a queue of --shadow-queue, off the request's path (a full
queue drops the shadow decision and counts it; the request never waits).
The answer is always --bundle's. Each disagreement is counted in
oslorego_shadow_disagreements_total{rule,enforced,shadow} and written to
the decision log as a "shadow_disagreement" line with the input
(credentials masked) and both revisions. A shadow bundle that fails to load
is logged and counted (oslorego_shadow_bundle_reload_total) and changes
nothing else; /readyz does not report it.

Bounds: at most --max-connections connections are served at once (more
wait in the listen queue), at most --max-requests requests are in progress
(more are answered 503 with Retry-After; /healthz, /readyz and /metrics
aside), and a client that takes no data for --write-progress-timeout has
its connection closed (a long download is fine as long as it moves).
/readyz is 200 only when a policy is in force and every component (the
bundle, the tokens file with --auth token) is ready; its body has one line
per component, and says when the newest bundle reload failed.

Every minute the server removes what killed 'oslorego image import' runs
left in the data directory (staging files, data files no image records)
once they are five minutes old and no import holds them.

Gateway mode (--upstream): in front of a real Glance instead of the data
directory. Visibility and existence are the caller's own GET /v2/images/{id}
upstream (404 stays 404); the policy target is the image as the gateway's own
identity reads it (with --auth keystone the server's own Keystone identity,
renewed; or --upstream-token-file; a role that reads every property),
cached for --upstream-metadata-ttl, and a request fails 503 when that read
fails; the data is streamed from Glance with the caller's token. Downloads,
GET /v2/images/{id} and HEAD /v1/images/{id} are served here. With
--routes all (the default) every other Glance v2 route is decided here too
(its own action, on Glance's target: 'oslorego routes') and then proxied to
Glance with the caller's token, bodies streamed; locations and direct_url
are removed from image JSON and a PATCH touching locations is refused.
With --routes downloads every other route is 404. Needs --auth keystone or
headers. See docs/deploy-gateway.md.
With --cache-dir, downloads that policy allowed (decided on every request,
after the caller's own GET upstream) are served from a local cache of
image bytes keyed by id and os_hash_value, filled by whole downloads and
verified against the hash before use; see 'oslorego cache --help'.
With --upstream-caller-view-ttl D (off by default; D at most
--upstream-metadata-ttl) the caller's successful GET upstream is kept per
token and image for D and stands for the next ones while the gateway's own
read agrees with it (an active image, unchanged): a visibility or
membership change made outside this gateway then takes up to D to reach a
caller who already read the image. The decision is still taken on every
request on the own read.

Policy decision point (--pdp-listen, off by default): other OpenStack
services ask for decisions on a listener of its own, never the public one:
  POST /v1/oslo/check          oslo.policy's own http:/https: check (a policy
                               rule "https://pdp:9443/v1/oslo/check"; JSON or
                               form, [oslo_policy] remote_content_type); the
                               body of the answer is True or False
  POST /v1/data/RULE/allow     gtema/oslo.policy.opa's OPA query, RULE with
                               ':' -> '/' and '-' -> '_'; {"result": bool}
Each decides the rule on the bundle in force as oslo.policy's enforce()
would (default rule, the credentials as sent, scope per the policy flags).
A malformed request is a 400 with the reason, no policy a 503; never True.
--pdp-tls-cert/--pdp-tls-key serve HTTPS; --pdp-client-ca requires client
certificates it verifies. Every decision is in the decision log with the
caller (certificate subject or address) and the bundle revision; metrics
oslorego_pdp_decisions_total{rule,result}. 'oslorego delegate' writes the
services' policy files; see docs/deploy-pdp.md.

Authentication (--auth):
  token     X-Auth-Token checked against the tokens file (hashes only);
            add tokens with 'oslorego token add'. The file is re-read
            when it changes. While it is corrupt or unreadable every
            token is refused (503; logged at ERROR, metric
            oslorego_tokens_file_ok 0) unless --tokens-on-error keep.
` + keystoneHelp + `  headers   trust keystonemiddleware's X-Identity-Status, X-Roles,
            X-Project-Id, X-User-Id, ... only from --trusted-proxy addresses.

Flags:
`

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var f serveFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveHelp); fs.PrintDefaults() }
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9292", "address to listen on")
	fs.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "image store and tokens file directory ($OSLOREGO_DATA_DIR)")
	fs.StringVar(&f.bundle, "bundle", "", "policy bundle: directory, .tar.gz, http(s) URL or oci://HOST/REPO:TAG (default: the built-in glance bundle)")
	fs.StringVar(&f.key, "verification-key", "", "PEM public key file (or HMAC secret file) to verify a signed .tar.gz bundle")
	fs.StringVar(&f.alg, "verification-alg", "RS256", "verification algorithm")
	fs.StringVar(&f.keyID, "verification-key-id", "default", "key id the signature must name")
	fs.DurationVar(&f.reload, "reload-interval", 10*time.Second, "how often to reload --bundle, rebuilding it only when its content changed (0: only on SIGHUP)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 60*time.Second, "how long downloads in flight may take to finish on shutdown")
	fs.IntVar(&f.maxRequests, "max-requests", server.DefaultMaxRequests, "requests in progress at most; more are answered 503 (negative: no bound)")
	fs.IntVar(&f.maxConns, "max-connections", defaultMaxConns, "connections served at once (on each listener: the public one and --pdp-listen); more wait to be accepted (0: no bound)")
	fs.IntVar(&f.decisionMemo, "decision-memo", rego.DefaultMemoSize, "decisions kept per policy revision to answer repeated ones without evaluating (exact: keyed on what the rule reads; 0: off)")
	fs.DurationVar(&f.writeProgress, "write-progress-timeout", server.DefaultWriteProgressTimeout, "close the connection of a client that takes no data for this long (negative: never)")
	fs.StringVar(&f.authMode, "auth", "token", "authentication: token, keystone or headers")
	fs.StringVar(&f.tokensFile, "tokens-file", "", "tokens file for --auth token (default <data-dir>/tokens.json)")
	fs.StringVar(&f.tokensOnError, "tokens-on-error", "refuse", "while the tokens file is corrupt or unreadable: refuse every token (503, not ready) or keep the tokens of its last good read")
	f.keystone.register(fs)
	fs.StringArrayVar(&f.trusted, "trusted-proxy", nil, "address or CIDR whose identity headers --auth headers trusts (repeatable)")
	fs.StringVar(&f.decisionLog, "decision-log", "", "decision log (JSON lines): a file to append to, - for stdout, off (default: stderr)")
	fs.StringVar(&f.logFormat, "log-format", "text", "operational log format on stderr: text or json")
	fs.StringVar(&f.adminRule, "admin-rule", "context_is_admin", "rule that decides the credentials' is_admin")
	fs.StringVar(&f.publicURL, "public-url", "", "URL clients reach this server at, for the links of the versions document, e.g. https://images.example.org:9292 (default: the URL of each request, as Glance's public_endpoint)")
	fs.StringVar(&f.replica, "replica", "", "this server's name in every decision log line, to tell replicas behind a load balancer apart (default: host name/listen address)")
	fs.StringVar(&f.shadowBundle, "shadow-bundle", "", "candidate bundle (directory, .tar.gz or http(s) URL, reloaded as --bundle): every decision is taken again under it, off the request's path, and disagreements counted and logged; the answer is always --bundle's")
	fs.IntVar(&f.shadowQueue, "shadow-queue", shadow.DefaultQueueSize, "shadow decisions waiting at most; past it they are dropped and counted (the request never waits)")
	fs.IntVar(&f.shadowWorkers, "shadow-workers", shadow.DefaultWorkers, "goroutines taking the shadow decisions")
	fs.StringVar(&f.imageSchema, "image-schema", "", "Glance's schema-image.json: custom image properties added to /v2/schemas/image and /v2/schemas/images")
	f.policy.register(fs)
	f.gateway.register(fs)
	f.pdp.register(fs)
	f.opa.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return usageErr("%s", err)
	}
	if fs.NArg() != 0 {
		return usageErr("serve takes no arguments")
	}
	if f.decisionMemo < 0 {
		return usageErr("--decision-memo %d: want a number of decisions, 0 for none", f.decisionMemo)
	}
	if err := f.gateway.check(f.authMode); err != nil {
		return err
	}
	if err := f.opa.check(); err != nil {
		return err
	}
	pdpTLS, err := f.pdp.check(f.listen)
	if err != nil {
		return err
	}
	log, err := newLogger(f.logFormat, stderr)
	if err != nil {
		return err
	}
	dlog, closeLog, err := decisionLogger(f.decisionLog, stdout, stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	authn, wwwAuth, err := f.authenticator(ctx, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if c, ok := authn.(prometheus.Collector); ok {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering the authenticator's metrics: %w", err)
		}
	}
	dlog, uploads, stopUploads, err := f.opa.decisions(ctx, dlog, reg, log, f.policy.pkg, f.bundleName())
	if err != nil {
		return err
	}
	defer stopUploads()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var store *imagestore.Store
	var source server.Source
	var proxyTo *upstream.Client
	if f.gateway.upstream != "" {
		if source, proxyTo, err = f.gateway.source(reg, authn, log); err != nil {
			return err
		}
	} else {
		if store, err = imagestore.Open(ctx, f.dataDir); err != nil {
			return err
		}
		defer store.Close()
		// Killed imports' leftovers are removed while the server runs, not
		// only by the next lone start; stopped before the store closes.
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			store.SweepEvery(ctx, sweepInterval, func(sw imagestore.Swept, err error) {
				if err != nil {
					log.Error("removing import leftovers failed", "error", err)
				} else if sw.Files > 0 {
					log.Info("removed import leftovers", "files", sw.Files, "bytes", sw.Bytes)
				}
			})
		}()
		defer func() { cancel(); <-swept }()
	}
	policy, describe, err := f.policySource(ctx, log)
	if err != nil {
		return err
	}
	if err := reg.Register(policy); err != nil {
		return fmt.Errorf("registering the bundle metrics: %w", err)
	}
	watchers := []*bundles.Watcher{policy}
	var candidate *bundles.Watcher
	if f.shadowBundle != "" {
		if candidate, err = f.shadowSource(ctx, log); err != nil {
			return err
		}
		if err := reg.Register(candidate); err != nil {
			return fmt.Errorf("registering the shadow bundle metrics: %w", err)
		}
		watchers = append(watchers, candidate)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		reloadOnHUP(ctx, hup, log, watchers...)
	}()
	status := map[string]server.StatusReporter{}
	if r, ok := authn.(server.StatusReporter); ok {
		status["auth"] = r
	}
	var imageSchema []byte
	if f.imageSchema != "" {
		if imageSchema, err = os.ReadFile(f.imageSchema); err != nil {
			return fmt.Errorf("--image-schema: %w", err)
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", f.listen, err)
	}
	if f.maxConns > 0 {
		ln = netutil.LimitListener(ln, f.maxConns)
	}
	// Small images leave in one write(2) (server.sendData).
	ln = onewrite.Listener(ln)
	defer ln.Close() // when New fails; Serve closes it otherwise
	replica, err := f.replicaName(ln.Addr().String())
	if err != nil {
		return err
	}
	// Every decision names the replica that took it (bundle_revision
	// names the policy): many gateways, one log pipeline.
	dlog = dlog.With(slog.String("replica", replica))
	if err := f.opa.reportStatus(ctx, policy, uploads, replica, log); err != nil {
		return err
	}
	var sh *shadow.Shadow
	if candidate != nil {
		sh, err = shadow.New(shadow.Config{Policy: candidate, QueueSize: f.shadowQueue, Workers: f.shadowWorkers,
			DecisionLog: dlog, Log: log, Registry: reg})
		if err != nil {
			return err
		}
		// After the server's shutdown: the decisions of the last requests
		// are taken and logged before serve returns.
		defer sh.Close()
	}
	cfg := server.Config{
		Shadow:    sh,
		PublicURL: f.publicURL, ImageSchema: imageSchema,
		Source: source, Upstream: proxyTo, Auth: authn, Policy: policy, AdminRule: f.adminRule,
		Log: log, DecisionLog: dlog, WWWAuthenticate: wwwAuth,
		MaxRequests: f.maxRequests, WriteProgressTimeout: f.writeProgress, Status: status,
		DecisionMemo: f.decisionMemo,
		Registry:     reg,
	}
	if store != nil {
		cfg.Images = store // a nil *Store is no Images
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	// Requests live on a context that a signal does not cancel: a signal
	// stops the server (Shutdown) and lets requests in flight finish.
	reqCtx := context.WithoutCancel(ctx)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return reqCtx }, ConnContext: onewrite.ConnContext}
	if f.writeProgress > 0 {
		// Covers what net/http writes itself; the server moves the
		// deadline on while a response makes progress.
		hs.WriteTimeout = f.writeProgress
	}
	var pdpSrv *pdpServer
	if f.pdp.listen != "" {
		if pdpSrv, err = f.pdp.start(reqCtx, ln.Addr(), f.maxConns, pdpTLS, policy, f.decisionMemo, sh, reg, log, dlog); err != nil {
			return err
		}
		defer pdpSrv.hs.Close() // when serve returns early; harmless after Shutdown
	}
	f.greet(stderr, "http://"+ln.Addr().String(), describe)
	if pdpSrv != nil {
		fmt.Fprintf(stderr, "oslorego: policy decision point on %s (POST /v1/oslo/check, POST /v1/data/RULE/allow)\n", pdpSrv.url)
		log.Info("serving the policy decision point", "address", pdpSrv.addr, "tls", pdpTLS != nil, "client_certificates", f.pdp.clientCA != "")
	}
	if f.gateway.upstream != "" {
		log.Info("serving", "address", ln.Addr().String(), "policy", describe, "auth", f.authMode, "upstream", f.gateway.upstream)
	} else {
		log.Info("serving", "address", ln.Addr().String(), "policy", describe, "auth", f.authMode, "data_dir", f.dataDir)
	}
	if candidate != nil {
		log.Info("shadow bundle: every decision is taken again under it; the answers are the policy's", "shadow_bundle", candidate.Source(), "revision", revisionOf(candidate))
	}

	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	var pdpDone <-chan error
	if pdpSrv != nil {
		pdpDone = pdpSrv.serve()
	}
	select {
	case err := <-done:
		return fmt.Errorf("serving: %w", err)
	case err := <-pdpDone:
		return fmt.Errorf("serving the policy decision point: %w", err)
	case <-ctx.Done(): // SIGINT or SIGTERM (main's signalContext)
	}
	log.Info("shutting down; waiting for requests in flight", "timeout", f.shutdown)
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdown)
	defer scancel()
	var pdpStopped chan error
	if pdpSrv != nil {
		// The PDP drains beside the downloads.
		pdpStopped = make(chan error, 1)
		go func() { pdpStopped <- pdpSrv.shutdown(sctx) }()
	}
	if err := hs.Shutdown(sctx); err != nil {
		// Past --shutdown-timeout: close what is left rather than wait.
		hs.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	if pdpStopped != nil {
		if err := <-pdpStopped; err != nil {
			return fmt.Errorf("shutting down the policy decision point: %w", err)
		}
	}
	log.Info("stopped")
	return nil
}

// replicaName is --replica, or else host name/addr.
func (f *serveFlags) replicaName(addr string) (string, error) {
	if f.replica != "" {
		return f.replica, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("naming the replica (give --replica): %w", err)
	}
	return host + "/" + addr, nil
}

// defaultMaxConns is --max-connections' default: well under the usual
// file descriptor limits, with one data file open per download.
const defaultMaxConns = 4096

// authenticator builds the --auth mode.
func (f *serveFlags) authenticator(ctx context.Context, log *slog.Logger) (auth.Authenticator, string, error) {
	onError, err := auth.ParseOnError(f.tokensOnError)
	if err != nil {
		return nil, "", usageErr("--tokens-on-error %q: want refuse or keep", f.tokensOnError)
	}
	switch f.authMode {
	case "token":
		p := f.tokensFile
		if p == "" {
			p = filepath.Join(f.dataDir, "tokens.json")
		}
		f.tokensFile = p
		return auth.NewTokenFile(p, auth.WithLogger(log), auth.WithOnError(onError)), "", nil
	case "keystone":
		k, wwwAuth, err := f.keystone.build(ctx, log)
		if err != nil {
			return nil, "", err // not a typed nil in the interface
		}
		return k, wwwAuth, nil
	case "headers":
		if len(f.trusted) == 0 {
			return nil, "", usageErr("--auth headers needs at least one --trusted-proxy")
		}
		prefixes, err := auth.ParseTrustedProxies(f.trusted)
		if err != nil {
			return nil, "", usageErr("%s", err)
		}
		return auth.NewHeaders(prefixes), "", nil
	}
	return nil, "", usageErr("--auth %q: want token, keystone or headers", f.authMode)
}

// policySource loads --bundle or the built-in glance bundle, reloads it
// every --reload-interval (--bundle only) and on SIGHUP, and logs each
// reload: failures at ERROR, new revisions at INFO.
func (f *serveFlags) policySource(ctx context.Context, log *slog.Logger) (*bundles.Watcher, string, error) {
	opts := bundles.Options{Options: f.policy.options(), Package: f.policy.pkg, Decidable: routeActions()}
	var w *bundles.Watcher
	if f.bundle == "" {
		src, err := bundles.Builtin("glance")
		if err != nil {
			return nil, "", err
		}
		w = bundles.NewWatcher(src, opts, bundles.WithLogger(log))
		if _, err := w.Reload(ctx); err != nil {
			return nil, "", err
		}
	} else {
		var err error
		if opts.Verify, err = verifyOptions(f.key, f.alg, f.keyID); err != nil {
			return nil, "", err
		}
		w = bundles.NewWatcher(bundles.Path(f.bundle), opts, bundles.WithLogger(log))
		remote := strings.HasPrefix(f.bundle, "http://") || strings.HasPrefix(f.bundle, "https://") || strings.HasPrefix(f.bundle, bundles.OCIScheme)
		if _, err := w.Reload(ctx); err != nil {
			if !remote {
				return nil, "", err
			}
			log.Error("bundle not loaded yet; not ready until it is", "bundle", f.bundle, "error", err)
		}
		if f.reload > 0 {
			go w.Run(ctx, f.reload)
		}
	}
	desc := w.Source()
	if cur := w.Current(); cur != nil {
		desc += " (revision " + short(cur.Revision) + ")"
	}
	return w, desc, nil
}

// shadowSource loads --shadow-bundle as --bundle is loaded and reloaded.
// A shadow bundle that fails to load stops nothing: the watcher logs and
// counts the failure, and retries at every reload.
func (f *serveFlags) shadowSource(ctx context.Context, log *slog.Logger) (*bundles.Watcher, error) {
	if f.shadowQueue < 1 || f.shadowWorkers < 1 {
		return nil, usageErr("--shadow-queue and --shadow-workers must be at least 1")
	}
	opts := bundles.Options{Options: f.policy.options(), Package: f.policy.pkg, Decidable: routeActions()}
	var err error
	if opts.Verify, err = verifyOptions(f.key, f.alg, f.keyID); err != nil {
		return nil, err
	}
	w := bundles.NewWatcher(bundles.Path(f.shadowBundle), opts,
		bundles.WithLogger(log.With("bundle_role", "shadow")), bundles.WithMetricsPrefix("oslorego_shadow_bundle"))
	_, _ = w.Reload(ctx) // a failure is logged and counted by the watcher
	if f.reload > 0 {
		go w.Run(ctx, f.reload)
	}
	return w, nil
}

// reloadOnHUP reloads the policy in force (and the shadow bundle) on
// every signal from hup until ctx ends; the watchers log the outcome.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, log *slog.Logger, ws ...*bundles.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			for i, w := range ws {
				what := "policy bundle"
				if i > 0 {
					what = "shadow bundle"
				}
				log.Info("SIGHUP: reloading the "+what, "bundle", w.Source())
				if changed, err := w.Reload(ctx); err == nil && !changed {
					log.Info(what+" unchanged", "bundle", w.Source(), "revision", revisionOf(w))
				}
			}
		}
	}
}

func revisionOf(w *bundles.Watcher) string {
	if cur := w.Current(); cur != nil {
		return cur.Revision
	}
	return ""
}

// routeActions are the actions the server's routes decide: a bundle in
// which one of them can never be decided is refused.
func routeActions() []string {
	var out []string
	for _, r := range server.Routes() {
		if r.Action != "" && !slices.Contains(out, r.Action) {
			out = append(out, r.Action)
		}
	}
	return out
}

// greet tells a newcomer what to do next.
func (f *serveFlags) greet(w io.Writer, url, policy string) {
	images := f.dataDir
	if f.gateway.upstream != "" {
		images = "the Glance at " + f.gateway.upstream + " (gateway mode)"
	}
	fmt.Fprintf(w, "oslorego: serving Glance downloads on %s\n  policy: %s\n  images: %s\n  auth:   %s\n", url, policy, images, f.authMode)
	dd := ""
	if f.dataDir != defaultDataDir() {
		dd = " --data-dir " + shellQuote(f.dataDir)
	}
	if f.authMode == "token" {
		fmt.Fprintf(w, "\nNext steps (in another shell):\n")
		fmt.Fprintf(w, "  TOKEN=$(oslorego token add%s --user alice --project demo --roles member)\n", dd)
		fmt.Fprintf(w, "  oslorego image import%s FILE --name my-image --owner demo   # prints the image id\n", dd)
		fmt.Fprintf(w, "  curl -H \"X-Auth-Token: $TOKEN\" -o out.img %s/v2/images/IMAGE_ID/file\n", url)
		fmt.Fprintf(w, "(use 'go run ./cmd/oslorego' for 'oslorego' when running from a source checkout)\n\n")
	}
}

func short(rev string) string {
	rev = strings.TrimPrefix(rev, "sha256:")
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usageErr("--log-format %q: want text or json", format)
}

// decisionLogger opens the --decision-log destination. Lines reach it
// through a batchwriter: off the request path, one write(2) per batch,
// none dropped; the returned close writes what is pending.
func decisionLogger(dest string, stdout, stderr io.Writer) (*slog.Logger, func(), error) {
	var dst io.Writer
	closeDst := func() {}
	switch dest {
	case "off":
		return slog.New(slog.DiscardHandler), func() {}, nil
	case "":
		dst = stderr
	case "-":
		dst = stdout
	default:
		fh, err := os.OpenFile(dest, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the decision log: %w", err)
		}
		dst, closeDst = fh, func() { fh.Close() }
	}
	bw := batchwriter.New(dst, 0)
	return slog.New(slog.NewJSONHandler(bw, nil)), func() {
		if err := bw.Close(); err != nil {
			fmt.Fprintf(stderr, "oslorego: decision log: %v\n", err)
		}
		closeDst()
	}, nil
}

func runRoutes(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("routes", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: oslorego routes

Print the route → policy action table of 'oslorego serve'. Each route is
authorised by exactly this one action, decided once at the REST layer, on
the target shown (Glance Zed's for that route). The last three columns tell
how each route is served: with the embedded store, in gateway mode with
--routes downloads, and with --routes all ("proxied": decided here, then
sent to the upstream Glance); "-" is a 404.
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return usageErr("%s", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tACTION\tTARGET\tSTORE\tDOWNLOADS\tALL")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range server.Routes() {
		path := r.Path
		for _, p := range []string{"id", "ns", "store", "tag", "member", "task", "rt", "prop", "obj"} {
			path = strings.ReplaceAll(path, ":"+p, "{"+p+"}")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Method, path, dash(r.Action), r.Target,
			dash(r.In(server.ModeStore)), dash(r.In(server.ModeDownloads)), dash(r.In(server.ModeAll)))
	}
	return tw.Flush()
}
