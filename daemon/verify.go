package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/aunsorm/aunsorm/sdk/plugintest"
)

// runVerify runs the SDK conformance suite (sdk/plugintest) against a
// candidate plugin binary before anyone pins it: describe, configure,
// health, error shape, fail-closed clock, config diagnostics, stop.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plugin verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "the kind the plugin must declare (e.g. crypto)")
	cfg := fs.String("config", "", "HCL body of the plugin's config block to test with")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *kind == "" {
		fmt.Fprintln(stderr, "usage: aunsormd plugin verify -kind KIND [-config HCL] PATH")
		return 2
	}
	results, err := plugintest.Verify(ctx, plugintest.Options{Binary: fs.Arg(0), Config: *cfg}, *kind)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd: verify:", err)
		return 1
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", r.Rule, r.Err)
		} else {
			fmt.Fprintf(stdout, "ok    %s\n", r.Rule)
		}
	}
	digest, _ := pluginDigest(fs.Arg(0))
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d checks failed: do not pin %s\n", failed, len(results), fs.Arg(0))
		return 1
	}
	fmt.Fprintf(stdout, "%d checks passed; pin it with:\n  sha256 = %q\n", len(results), digest)
	return 0
}
