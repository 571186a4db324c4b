// Command oslorego translates OpenStack oslo.policy rules to Rego and
// decides with OPA's embedded evaluator exactly as oslo.policy would.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"translate": {"translate oslo policy files to Rego", runTranslate},
		"check":     {"decide rules like oslopolicy-checker (one request, or JSON Lines with --batch)", runCheck},
		"lint":      {"report undefined rules, cycles, parse failures and constant rules", runLint},
		"build":     {"build an OPA bundle from a bundle directory (oslo files, raw Rego, tests, data)", runBuild},
		"test":      {"run a bundle's Rego tests with OPA's tester", runTest},
		"eval":      {"decide one rule against a bundle directory or .tar.gz, with --explain", runEval},
		"push":      {"push a built bundle to an OCI registry (oci://HOST/REPO:TAG)", runPush},
		"diff":      {"compare two policies rule by rule: who gains or loses access, with example requests", runDiff},
		"serve":     {"serve Glance image downloads, each authorised by one Rego decision", runServe},
		"routes":    {"print the server's route → policy action table", runRoutes},
		"image":     {"manage the embedded image store (import, list, show, delete, ...)", runImage},
		"token":     {"manage the tokens of --auth token (add, list, revoke)", runToken},
		"cache":     {"manage the gateway's image cache (list, prefetch, evict)", runCache},
		"delegate":  {"write the policy file that makes a service ask the PDP (serve --pdp-listen) for every rule", runDelegate},
	}
}

// errUsage marks errors that are the caller's fault: exit status 2.
var errUsage = errors.New("usage")

// errFindings makes the process exit 1 without printing more.
var errFindings = errors.New("findings")

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalContext is the one signal set-up: SIGINT and SIGTERM cancel the
// context every command runs on (serve then drains). SIGHUP is serve's
// alone (it reloads the policy), so serve registers it.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "oslorego: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	err := c.run(ctx, args[1:], stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errFindings):
		return 1
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "oslorego %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "oslorego %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "oslorego puts OpenStack oslo.policy rules on Open Policy Agent.")
	fmt.Fprintln(w, "\nUsage: oslorego COMMAND [flags] [args]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'oslorego COMMAND --help' for a command's flags.")
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// oneLine keeps multi-line error text on one output line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
