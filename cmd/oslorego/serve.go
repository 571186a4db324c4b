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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/bundles"
	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/server"
)

// sweepInterval is how often serve removes killed imports' leftovers.
const sweepInterval = time.Minute

// serveFlags are `oslorego serve`'s flags.
type serveFlags struct {
	listen, dataDir, bundle           string
	key, alg, keyID                   string
	reload, shutdown                  time.Duration
	authMode, tokensFile              string
	keystoneURL, serviceTokenFile     string
	trusted                           []string
	decisionLog, logFormat, adminRule string
	policy                            policyFlags
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
reloaded every --reload-interval and on SIGHUP, and the last good bundle stays
in force when a reload fails. SIGINT/SIGTERM stop accepting connections and
let downloads in flight finish (at most --shutdown-timeout).

Every minute the server removes what killed 'oslorego image import' runs
left in the data directory (staging files, data files no image records)
once they are five minutes old and no import holds them.

Authentication (--auth):
  token     X-Auth-Token checked against the tokens file (hashes only);
            add tokens with 'oslorego token add'. The file is re-read
            when it changes.
  keystone  X-Auth-Token validated against Keystone v3 (GET /v3/auth/tokens)
            with a service token, cached until the token expires.
  headers   trust keystonemiddleware's X-Identity-Status, X-Roles,
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
	fs.StringVar(&f.bundle, "bundle", "", "policy bundle: directory, .tar.gz or http(s) URL (default: the built-in glance bundle)")
	fs.StringVar(&f.key, "verification-key", "", "PEM public key file (or HMAC secret file) to verify a signed .tar.gz bundle")
	fs.StringVar(&f.alg, "verification-alg", "RS256", "verification algorithm")
	fs.StringVar(&f.keyID, "verification-key-id", "default", "key id the signature must name")
	fs.DurationVar(&f.reload, "reload-interval", 10*time.Second, "how often to reload --bundle (0: only on SIGHUP)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 60*time.Second, "how long downloads in flight may take to finish on shutdown")
	fs.StringVar(&f.authMode, "auth", "token", "authentication: token, keystone or headers")
	fs.StringVar(&f.tokensFile, "tokens-file", "", "tokens file for --auth token (default <data-dir>/tokens.json)")
	fs.StringVar(&f.keystoneURL, "keystone-url", "", "Keystone endpoint for --auth keystone, e.g. http://keystone:5000")
	fs.StringVar(&f.serviceTokenFile, "keystone-service-token-file", "", "file holding the service token for --auth keystone (or $OSLOREGO_KEYSTONE_SERVICE_TOKEN)")
	fs.StringArrayVar(&f.trusted, "trusted-proxy", nil, "address or CIDR whose identity headers --auth headers trusts (repeatable)")
	fs.StringVar(&f.decisionLog, "decision-log", "", "decision log (JSON lines): a file to append to, - for stdout, off (default: stderr)")
	fs.StringVar(&f.logFormat, "log-format", "text", "operational log format on stderr: text or json")
	fs.StringVar(&f.adminRule, "admin-rule", "context_is_admin", "rule that decides the credentials' is_admin")
	f.policy.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return usageErr("%s", err)
	}
	if fs.NArg() != 0 {
		return usageErr("serve takes no arguments")
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

	authn, wwwAuth, err := f.authenticator()
	if err != nil {
		return err
	}
	store, err := imagestore.Open(ctx, f.dataDir)
	if err != nil {
		return err
	}
	defer store.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	policy, describe, err := f.policySource(ctx, log)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Images: store, Auth: authn, Policy: policy, AdminRule: f.adminRule,
		Log: log, DecisionLog: dlog, WWWAuthenticate: wwwAuth,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", f.listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	f.greet(stderr, "http://"+ln.Addr().String(), describe)
	log.Info("serving", "address", ln.Addr().String(), "policy", describe, "auth", f.authMode, "data_dir", f.dataDir)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(stop)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving: %w", err)
	case <-stop:
	case <-ctx.Done():
	}
	log.Info("shutting down; waiting for requests in flight", "timeout", f.shutdown)
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdown)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// authenticator builds the --auth mode.
func (f *serveFlags) authenticator() (auth.Authenticator, string, error) {
	switch f.authMode {
	case "token":
		p := f.tokensFile
		if p == "" {
			p = filepath.Join(f.dataDir, "tokens.json")
		}
		f.tokensFile = p
		return auth.NewTokenFile(p), "", nil
	case "keystone":
		if f.keystoneURL == "" {
			return nil, "", usageErr("--auth keystone needs --keystone-url")
		}
		tok := os.Getenv("OSLOREGO_KEYSTONE_SERVICE_TOKEN")
		if f.serviceTokenFile != "" {
			b, err := os.ReadFile(f.serviceTokenFile)
			if err != nil {
				return nil, "", fmt.Errorf("reading the service token: %w", err)
			}
			tok = strings.TrimSpace(string(b))
		}
		if tok == "" {
			return nil, "", usageErr("--auth keystone needs a service token: --keystone-service-token-file or $OSLOREGO_KEYSTONE_SERVICE_TOKEN")
		}
		k, err := auth.NewKeystone(auth.KeystoneOptions{URL: f.keystoneURL, ServiceToken: tok})
		if err != nil {
			return nil, "", err
		}
		return k, fmt.Sprintf("Keystone uri=%q", f.keystoneURL), nil
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

// staticPolicy is a bundle that never changes (the built-in one).
type staticPolicy struct{ l *bundles.Loaded }

func (s staticPolicy) Current() *bundles.Loaded { return s.l }

// policySource loads --bundle (watched) or the built-in glance bundle.
func (f *serveFlags) policySource(ctx context.Context, log *slog.Logger) (server.PolicySource, string, error) {
	opts := bundles.BuildOptions{Options: f.policy.options(), Package: f.policy.pkg}
	if f.bundle == "" {
		l, err := bundles.LoadBuiltin(ctx, "glance", opts)
		if err != nil {
			return nil, "", err
		}
		return staticPolicy{l}, "built-in glance bundle (revision " + short(l.Revision) + ")", nil
	}
	verify, err := verifyOptions(f.key, f.alg, f.keyID)
	if err != nil {
		return nil, "", err
	}
	w := bundles.NewWatcher(f.bundle, verify, opts, nil)
	remote := strings.HasPrefix(f.bundle, "http://") || strings.HasPrefix(f.bundle, "https://")
	if _, err := w.Reload(ctx); err != nil {
		if !remote {
			return nil, "", err
		}
		log.Error("bundle not loaded yet; not ready until it is", "bundle", f.bundle, "error", err)
	}
	if f.reload > 0 {
		go w.Run(ctx, f.reload, func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) })
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				changed, err := w.Reload(ctx)
				if err != nil {
					log.Error("bundle reload failed; the last good bundle stays in force", "bundle", f.bundle, "error", err)
				} else if changed {
					log.Info("bundle reloaded", "revision", w.Current().Revision)
				}
			}
		}
	}()
	desc := f.bundle
	if cur := w.Current(); cur != nil {
		desc += " (revision " + short(cur.Revision) + ")"
	}
	return w, desc, nil
}

// greet tells a newcomer what to do next.
func (f *serveFlags) greet(w io.Writer, url, policy string) {
	fmt.Fprintf(w, "oslorego: serving Glance downloads on %s\n  policy: %s\n  images: %s\n  auth:   %s\n", url, policy, f.dataDir, f.authMode)
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

// decisionLogger opens the --decision-log destination.
func decisionLogger(dest string, stdout, stderr io.Writer) (*slog.Logger, func(), error) {
	switch dest {
	case "":
		return slog.New(slog.NewJSONHandler(stderr, nil)), func() {}, nil
	case "-":
		return slog.New(slog.NewJSONHandler(stdout, nil)), func() {}, nil
	case "off":
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	fh, err := os.OpenFile(dest, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the decision log: %w", err)
	}
	return slog.New(slog.NewJSONHandler(fh, nil)), func() { fh.Close() }, nil
}

func runRoutes(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("routes", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: oslorego routes\n\nPrint the route → policy action table of 'oslorego serve'. Each route is\nauthorised by exactly this one action, decided once at the REST layer.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return usageErr("%s", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tACTION\tTARGET")
	for _, r := range server.Routes() {
		target := "{\"project_id\": caller's project}"
		if r.Image {
			target = "image mashup"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Method, strings.ReplaceAll(r.Path, ":id", "{id}"), r.Action, target)
	}
	return tw.Flush()
}
