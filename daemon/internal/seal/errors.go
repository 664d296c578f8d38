package seal

import "errors"

// Errors returned by this package; test with errors.Is. Messages never
// carry key material.
var (
	// ErrMalformed: the key ring text does not parse.
	ErrMalformed = errors.New("seal: malformed root key ring")
	// ErrExposed: the key file may be read by group or others.
	ErrExposed = errors.New("seal: root key file readable by others")
	// ErrMissing: the configured source holds no key ring.
	ErrMissing = errors.New("seal: root key ring missing")
	// ErrNotRotatable: the source is not a key file the daemon manages.
	ErrNotRotatable = errors.New("seal: root key ring is not in a key file")
)
