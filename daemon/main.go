// The dev TLS keys are drawn from AunsormNativeRng; Go 1.26 ignores a
// caller's reader in ecdsa key generation unless this is set.
//go:debug cryptocustomrand=1

// Command aunsormd is the Aunsorm supervisor daemon: it serves the gateway,
// runs every service as an out-of-process plugin and offers them the host
// services (entropy, signed clock, audit, peer calls).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
