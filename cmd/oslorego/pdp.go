package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"golang.org/x/net/netutil"

	"github.com/oslorego/oslorego/pdp"
	"github.com/oslorego/oslorego/shadow"
)

// pdpFlags are serve's policy decision point flags.
type pdpFlags struct {
	listen, cert, key, clientCA string
}

func (f *pdpFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "pdp-listen", "", "serve the policy decision point for other services (POST /v1/oslo/check, POST /v1/data/RULE/allow) on this address, never the public one (default: off)")
	fs.StringVar(&f.cert, "pdp-tls-cert", "", "PEM certificate of the PDP listener (with --pdp-tls-key: HTTPS)")
	fs.StringVar(&f.key, "pdp-tls-key", "", "PEM private key of --pdp-tls-cert")
	fs.StringVar(&f.clientCA, "pdp-client-ca", "", "PEM CA certificates: the PDP requires a client certificate they verify (refused at the handshake otherwise)")
}

// check validates the flags against the public listen address and loads
// the TLS configuration (nil: plain HTTP).
func (f *pdpFlags) check(public string) (*tls.Config, error) {
	if f.listen == "" {
		if f.cert != "" || f.key != "" || f.clientCA != "" {
			return nil, usageErr("--pdp-tls-cert, --pdp-tls-key and --pdp-client-ca need --pdp-listen")
		}
		return nil, nil
	}
	if _, port, _ := net.SplitHostPort(f.listen); f.listen == public && port != "0" {
		return nil, usageErr("--pdp-listen %s is the public --listen address; the PDP needs a listener of its own", f.listen)
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usageErr("give --pdp-tls-cert and --pdp-tls-key together")
	}
	if f.cert == "" {
		if f.clientCA != "" {
			return nil, usageErr("--pdp-client-ca needs --pdp-tls-cert and --pdp-tls-key")
		}
		return nil, nil
	}
	cfg, err := pdp.TLSConfig(f.cert, f.key, f.clientCA)
	if err != nil {
		return nil, fmt.Errorf("--pdp-tls-cert: %w", err)
	}
	return cfg, nil
}

// pdpServer is the PDP's own listener and HTTP server.
type pdpServer struct {
	hs        *http.Server
	ln        net.Listener
	url, addr string
}

// start listens on --pdp-listen and builds the PDP on the policy in force;
// serve starts answering.
func (f *pdpFlags) start(ctx context.Context, public net.Addr, maxConns int, tlsCfg *tls.Config, policy pdp.PolicySource, memo int, sh *shadow.Shadow, reg prometheus.Registerer, log, dlog *slog.Logger) (*pdpServer, error) {
	handler, err := pdp.New(pdp.Config{Policy: policy, Log: log, DecisionLog: dlog, Registry: reg, Shadow: sh, DecisionMemo: memo})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("--pdp-listen %s: %w", f.listen, err)
	}
	if ln.Addr().String() == public.String() {
		ln.Close()
		return nil, usageErr("--pdp-listen %s is the public listener", f.listen)
	}
	if maxConns > 0 {
		// --max-connections bounds the PDP's connections too.
		ln = netutil.LimitListener(ln, maxConns)
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}
	// Keep-alive on: callers that reuse connections (oslo.policy.opa's
	// session, HAProxy) pay the TLS handshake once.
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: tlsCfg,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	return &pdpServer{hs: hs, ln: ln, addr: ln.Addr().String(), url: scheme + "://" + ln.Addr().String()}, nil
}

// serve answers on the listener until shutdown; the channel gets why it
// stopped otherwise.
func (p *pdpServer) serve() <-chan error {
	done := make(chan error, 1)
	go func() {
		if err := p.hs.Serve(p.ln); !errors.Is(err, http.ErrServerClosed) {
			done <- err
		}
	}()
	return done
}

// shutdown stops accepting and lets decisions in flight finish.
func (p *pdpServer) shutdown(ctx context.Context) error {
	if err := p.hs.Shutdown(ctx); err != nil {
		p.hs.Close()
		return err
	}
	return nil
}
