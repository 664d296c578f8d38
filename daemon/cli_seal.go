package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/seal"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

const sealUsage = `usage: aunsormd seal rotate [-config FILE]

Adds a version to the root sealing key file (seal.key_file). It works on the
file directly, with or without a running daemon: plugins keep opening values
under every version and seal under the new one from their next start
(aunsormd plugin reload NAME, aunsormd reload after a change, or a restart).
Rings from key_env or credential are rotated by editing them.
`

// runSeal is `aunsormd seal ...`.
func runSeal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, sealUsage)
		return 2
	}
	fset := flag.NewFlagSet("seal rotate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "config.hcl", "configuration file (to find the seal block)")
	if err := fset.Parse(args[1:]); err != nil {
		return 2
	}
	if fset.NArg() != 0 {
		fmt.Fprint(stderr, sealUsage)
		return 2
	}
	cfg, diags := config.Load(*cfgPath, getenv)
	if err := config.Err(diags); err != nil {
		fmt.Fprintln(stderr, config.FormatDiagnostics(diags))
		return 1
	}
	// The new key comes from the same health-tested DRBG as the daemon's.
	native, err := rng.NewNative(ctx, rng.NativeConfig{ReseedInterval: cfg.RNG.ReseedInterval})
	if err != nil {
		fmt.Fprintf(stderr, "aunsormd: rng: %v\n", err)
		return 1
	}
	defer native.Close()
	ring, err := seal.Rotate(cfg.Seal, native)
	if err != nil {
		fmt.Fprintf(stderr, "aunsormd: seal rotate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: version %d added (versions %v)\n", cfg.Seal.KeyFile, ring.Current(), ring.Versions())
	fmt.Fprintln(stdout, "plugins seal with it from their next start: aunsormd plugin reload NAME, or restart aunsormd")
	return 0
}

// validateSeal reads the configured root key ring for `config validate`. A
// key file that does not exist yet is fine: the daemon creates it on its
// first start.
func validateSeal(c config.Seal, getenv func(string) string) hcl.Diagnostics {
	_, err := seal.Load(c, getenv)
	if err == nil || c.Source == config.SealFile && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Root sealing key (seal block)", Detail: err.Error()}}
}
