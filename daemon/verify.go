package main

import (
	"context"
	"fmt"
	"io"
)

// runVerify runs the SDK conformance suite against a candidate plugin
// binary before anyone pins it.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "aunsormd: plugin verify is not available in this build")
	return 1
}
