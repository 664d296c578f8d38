package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `usage: aunsormd <command> [flags]

commands:
  serve -config FILE              run the daemon in the foreground
  config validate -config FILE    check a configuration (and each plugin's block)
  reload [-config FILE]           re-read the configuration and hot-swap changed plugins
                                  (a file with any error changes nothing)
  plugin list [-config FILE]      plugins of the running daemon
  plugin reload [-config FILE] NAME
                                  hot-swap one plugin (e.g. after replacing its binary)
  plugin sha256 PATH              print a binary's digest, for the sha256 pin
  plugin verify -kind KIND PATH   run the SDK conformance suite against a plugin binary
  audit list [-config FILE] [-source S] [-action A] [-since T] [-until T] [-n N] [-json]
                                  audit records of the running daemon, oldest first
  audit tail [-config FILE] [filters] [-n N] [-f]
                                  the last N records; -f keeps printing new ones
  audit verify [-config FILE]     check the whole hash chain; names the first bad record
  version                         print the version

The commands that talk to a running daemon (reload, plugin list|reload,
audit) find its admin socket through -config, the file it was started with
(config.hcl when it exists), or take -socket PATH.
`

// run is the whole command line; it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "config.hcl", "configuration file")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		return serve(ctx, *cfgPath, os.Getenv, stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "validate" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		fs := flag.NewFlagSet("config validate", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "config.hcl", "configuration file")
		if err := fs.Parse(args[2:]); err != nil {
			return 2
		}
		return validate(ctx, *cfgPath, os.Getenv, stdout, stderr)
	case "reload":
		return runReload(ctx, args[1:], os.Getenv, stdout, stderr)
	case "plugin":
		return runPlugin(ctx, args[1:], os.Getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], os.Getenv, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "aunsormd %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "aunsormd: unknown command %q\n%s", args[0], usage)
		return 2
	}
}
