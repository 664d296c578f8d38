package main

import (
	"errors"
	"fmt"
)

// Errors returned by the load generator. Each is wrapped with %w and a detail.
var (
	// errUsage marks a bad command line or configuration; run exits 2.
	errUsage = errors.New("loadgen: usage")
	// errFlagSyntax marks a command line the flag package rejected (and
	// already explained on stderr).
	errFlagSyntax = fmt.Errorf("%w: bad flags", errUsage)
	// errHeader marks a -header value that is not "name: value".
	errHeader = errors.New("loadgen: bad header")
	// errCACert marks a -cacert file that is unreadable or holds no PEM certificate.
	errCACert = errors.New("loadgen: bad ca certificate")
)
