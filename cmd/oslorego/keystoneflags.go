package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/oslorego/oslorego/auth"
)

// Environment variables serve reads for --auth keystone: the secrets'
// alternatives to files (never a secret in argv).
const (
	envServiceToken = "OSLOREGO_KEYSTONE_SERVICE_TOKEN"
	envPassword     = "OSLOREGO_KEYSTONE_PASSWORD"
	envAppCredSec   = "OSLOREGO_KEYSTONE_APPLICATION_CREDENTIAL_SECRET"
)

// keystoneFlags are serve's flags for --auth keystone: where Keystone is,
// the server's own identity, and the validation cache's bounds.
type keystoneFlags struct {
	url, cloud, authType, caFile                               string
	username, userID, userDomainName, userDomainID             string
	passwordFile                                               string
	projectName, projectID, projectDomainName, projectDomainID string
	systemScope                                                string
	appCredID, appCredName, appCredSecretFile                  string
	serviceTokenFile                                           string
	cacheTTL, negativeTTL                                      time.Duration
	getenv                                                     func(string) string
	cloudEnv                                                   func() auth.CloudEnv
}

const keystoneHelp = `  keystone  X-Auth-Token validated against Keystone v3 (GET /v3/auth/tokens,
            as keystonemiddleware). The server's own identity is a password
            or an application credential, from --os-cloud's clouds.yaml
            and/or the --keystone-* flags (flags win); its token is
            renewed at 80% of its life and when Keystone answers 401 to
            it. A static --keystone-service-token-file cannot be renewed:
            once it expires every uncached token is answered 503. The
            identity and Keystone are checked at start (an error exits);
            later /readyz is 503 while there is no usable service token.
            A valid token is cached --token-cache-ttl (default 5m, as
            keystonemiddleware's token_cache_time, never past its
            expires_at: a revoked token works until then), an invalid
            one --token-negative-cache-ttl. Application credentials'
            access rules are enforced (service type image, method, path),
            as keystonemiddleware does: a request they do not allow is 401.
`

func (f *keystoneFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "keystone-url", "", "Keystone endpoint for --auth keystone, e.g. http://keystone:5000 (default: --os-cloud's auth_url)")
	fs.StringVar(&f.cloud, "os-cloud", "", "cloud in clouds.yaml holding the server's Keystone identity ($OS_CLOUD; clouds.yaml from $OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/, as the openstack CLI)")
	fs.StringVar(&f.authType, "keystone-auth-type", "", "password or v3applicationcredential (default: the cloud's, else v3applicationcredential when an application credential is given, else password)")
	fs.StringVar(&f.username, "keystone-username", "", "the server's Keystone user name")
	fs.StringVar(&f.userID, "keystone-user-id", "", "the server's Keystone user id")
	fs.StringVar(&f.userDomainName, "keystone-user-domain-name", "", "domain of --keystone-username")
	fs.StringVar(&f.userDomainID, "keystone-user-domain-id", "", "domain id of --keystone-username")
	fs.StringVar(&f.passwordFile, "keystone-password-file", "", "file holding the user's password (or $"+envPassword+")")
	fs.StringVar(&f.projectName, "keystone-project-name", "", "project the server's token is scoped to")
	fs.StringVar(&f.projectID, "keystone-project-id", "", "project id the server's token is scoped to")
	fs.StringVar(&f.projectDomainName, "keystone-project-domain-name", "", "domain of --keystone-project-name")
	fs.StringVar(&f.projectDomainID, "keystone-project-domain-id", "", "domain id of --keystone-project-name")
	fs.StringVar(&f.systemScope, "keystone-system-scope", "", "scope the server's token to the system (all) instead of a project")
	fs.StringVar(&f.appCredID, "keystone-application-credential-id", "", "application credential id (v3applicationcredential)")
	fs.StringVar(&f.appCredName, "keystone-application-credential-name", "", "application credential name, with the user (v3applicationcredential)")
	fs.StringVar(&f.appCredSecretFile, "keystone-application-credential-secret-file", "", "file holding the application credential's secret (or $"+envAppCredSec+")")
	fs.StringVar(&f.serviceTokenFile, "keystone-service-token-file", "", "file holding a static service token, never renewed (or $"+envServiceToken+"); instead of credentials")
	fs.StringVar(&f.caFile, "keystone-cafile", "", "PEM CA bundle for Keystone's TLS certificate (default: the cloud's cacert, else the system's)")
	fs.DurationVar(&f.cacheTTL, "token-cache-ttl", 5*time.Minute, "--auth keystone: how long a validated token is trusted without asking Keystone again (never past its expires_at); a revoked token works this long")
	fs.DurationVar(&f.negativeTTL, "token-negative-cache-ttl", 10*time.Second, "--auth keystone: how long a token Keystone refused is refused without asking again")
}

// secret reads a secret from file, else from the environment variable.
func (f *keystoneFlags) secret(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		// A trailing line break is the editor's, not the secret's.
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return f.getenv(env), nil
}

// override sets *dst to v when v is given.
func override(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// build makes the Keystone authenticator and checks the service identity
// with Keystone (the start-up check): an error exits.
func (f *keystoneFlags) build(ctx context.Context, log *slog.Logger) (*auth.Keystone, string, error) {
	if f.getenv == nil {
		f.getenv = os.Getenv
	}
	if f.cloudEnv == nil {
		f.cloudEnv = auth.DefaultCloudEnv
	}
	if f.cacheTTL <= 0 || f.negativeTTL <= 0 {
		return nil, "", usageErr("--token-cache-ttl and --token-negative-cache-ttl must be positive")
	}
	credFlags := f.username != "" || f.userID != "" || f.appCredID != "" || f.appCredName != "" || f.passwordFile != "" || f.appCredSecretFile != ""
	token, err := f.secret(f.serviceTokenFile, envServiceToken)
	if err != nil {
		return nil, "", fmt.Errorf("the service token: %w", err)
	}
	token = strings.TrimSpace(token)
	if f.serviceTokenFile != "" && token == "" {
		return nil, "", usageErr("--keystone-service-token-file %s is empty", f.serviceTokenFile)
	}
	cloud := f.cloud
	if cloud == "" && token == "" && !credFlags {
		cloud = f.getenv("OS_CLOUD")
	}
	if token != "" && (cloud != "" || credFlags) {
		return nil, "", usageErr("--auth keystone: give the server's credentials (--os-cloud, --keystone-username, ...) or a static service token (--keystone-service-token-file, $%s), not both", envServiceToken)
	}
	if cloud == "" && f.url == "" {
		return nil, "", usageErr("--auth keystone needs --keystone-url (or --os-cloud, whose auth_url it is)")
	}
	opts := auth.KeystoneOptions{URL: f.url, CAFile: f.caFile, CacheTTL: f.cacheTTL, NegativeTTL: f.negativeTTL, Log: log}
	var who string
	if token != "" {
		opts.ServiceToken = token
		who = "a static service token (never renewed)"
	} else {
		var c auth.ServiceCredentials
		if cloud != "" {
			cl, err := auth.LoadCloud(cloud, f.cloudEnv())
			if err != nil {
				return nil, "", fmt.Errorf("--os-cloud: %w", err)
			}
			c = cl.Credentials
			if opts.URL == "" {
				opts.URL = cl.AuthURL
			}
			if opts.CAFile == "" {
				opts.CAFile = cl.CACert
			}
		} else if !credFlags {
			return nil, "", usageErr("--auth keystone needs the server's identity: --os-cloud (or $OS_CLOUD), --keystone-username/--keystone-user-id with --keystone-password-file, --keystone-application-credential-id with --keystone-application-credential-secret-file, or a static service token (--keystone-service-token-file)")
		}
		switch {
		case f.authType != "":
			c.Type = f.authType
		case cloud == "" && (f.appCredID != "" || f.appCredName != ""):
			c.Type = auth.AuthApplicationCredential
		case cloud == "":
			c.Type = auth.AuthPassword
		}
		if c.Type == "v3password" {
			c.Type = auth.AuthPassword
		}
		override(&c.Username, f.username)
		override(&c.UserID, f.userID)
		override(&c.UserDomainName, f.userDomainName)
		override(&c.UserDomainID, f.userDomainID)
		override(&c.ProjectName, f.projectName)
		override(&c.ProjectID, f.projectID)
		override(&c.ProjectDomainName, f.projectDomainName)
		override(&c.ProjectDomainID, f.projectDomainID)
		override(&c.SystemScope, f.systemScope)
		override(&c.ApplicationCredentialID, f.appCredID)
		override(&c.ApplicationCredentialName, f.appCredName)
		if c.Type == auth.AuthPassword {
			pw, err := f.secret(f.passwordFile, envPassword)
			if err != nil {
				return nil, "", fmt.Errorf("the keystone password: %w", err)
			}
			override(&c.Password, pw)
		}
		if c.Type == auth.AuthApplicationCredential {
			sec, err := f.secret(f.appCredSecretFile, envAppCredSec)
			if err != nil {
				return nil, "", fmt.Errorf("the application credential secret: %w", err)
			}
			override(&c.ApplicationCredentialSecret, sec)
		}
		if err := c.Validate(); err != nil {
			return nil, "", usageErr("--auth keystone: %s", err)
		}
		opts.Credentials = &c
		who = c.String()
		if cloud != "" {
			who += " (cloud " + cloud + ")"
		}
	}
	if opts.URL == "" {
		return nil, "", usageErr("--auth keystone needs --keystone-url (or --os-cloud's auth_url)")
	}
	k, err := auth.NewKeystone(opts)
	if err != nil {
		return nil, "", err
	}
	if err := k.Check(ctx); err != nil {
		return nil, "", fmt.Errorf("--auth keystone: the service identity (%s) at %s: %w", who, opts.URL, err)
	}
	log.Info("keystone service identity checked", "keystone", opts.URL, "identity", who,
		"token_cache_ttl", f.cacheTTL.String(), "token_negative_cache_ttl", f.negativeTTL.String())
	return k, fmt.Sprintf("Keystone uri=%q", opts.URL), nil
}
